"""``fhirsrv import`` end to end: into the test server over HTTP, and in-process into its database."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from fhirsrv.cli import main
from fhirsrv.importer.cli import run

DATA = Path(__file__).resolve().parents[1] / "data" / "importer" / "synthea"
PATIENT_ID = "3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b"


def console() -> Console:
    return Console(file=io.StringIO(), width=240, force_terminal=False)


def output(con: Console) -> str:
    return con.file.getvalue()  # type: ignore[attr-defined]


def ids_of(fhir, rtype: str) -> set[str]:
    """Every id of ``rtype`` the server has ever stored (from the type history)."""
    answer = fhir.get(f"{rtype}/_history", params={"_count": 1000})
    assert answer.status_code == 200, answer.text
    return {e["resource"]["id"] for e in answer.json().get("entry", []) if "resource" in e}


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    """The Synthea subset, plus an unreadable file, an NDJSON with one bad line, a single resource."""
    folder = tmp_path / "corpus"
    shutil.copytree(DATA, folder, ignore=shutil.ignore_patterns("LICENSE"))
    (folder / "broken.json").write_text('{"resourceType": "Patient", "id": ')
    lines = [{"resourceType": "Observation", "id": f"imp-obs-{n}", "status": "final",
              "code": {"text": "weight"}} for n in range(3)]
    lines.insert(1, {"resourceType": "NotAType", "id": "x"})
    (folder / "extra").mkdir()
    (folder / "extra" / "observations.ndjson").write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    (folder / "extra" / "patient.json").write_text(json.dumps(
        {"resourceType": "Patient", "id": "imp-single", "name": [{"family": "Single"}]}))
    return folder


def test_http_import_progress_summary_exit_code_and_idempotence(corpus: Path, base_url: str, fhir) -> None:
    con = console()
    code = run([str(corpus), "--url", base_url, "--progress", "plain"], console=con)
    text = output(con)
    assert code == 1, text  # something was rejected
    lines = text.splitlines()
    # progress: one line per file, Synthea's shared files first, with counts, rate and ETA
    assert lines[0].startswith("[1/6] hospitalInformation") and "resources/s" in lines[0] and "ETA" in lines[0]
    assert lines[1].startswith("[2/6] practitionerInformation")
    assert any(line.startswith("[6/6]") for line in lines)
    # the summary names each rejected file with its reason, and the rest was stored anyway
    assert "Rejected 2 resources in 2 files:" in text
    assert "broken.json: 1 rejected" in text and "not JSON" in text
    assert "observations.ndjson: 1 rejected" in text and "NotAType" in text
    assert fhir.get(f"Patient/{PATIENT_ID}").status_code == 200
    assert fhir.get("Patient/imp-single").status_code == 200
    assert fhir.get("Observation/imp-obs-2").status_code == 200
    stored = int(text.split("Imported ")[1].split(" ")[0])
    assert stored == 238 + 4 + 4 + 3 + 1
    before = {t: ids_of(fhir, t) for t in ("Patient", "Observation", "Encounter", "Practitioner")}

    con = console()
    assert run([str(corpus), "--url", base_url, "--progress", "none"], console=con) == 1
    assert f"Imported {stored} resources" in output(con)
    after = {t: ids_of(fhir, t) for t in before}
    assert after == before  # a second run stores new versions of the same resources, no new ones


def test_exit_codes(tmp_path: Path, base_url: str) -> None:
    good = tmp_path / "ok.json"
    good.write_text(json.dumps({"resourceType": "Patient", "id": "imp-ok"}))
    con = console()
    assert run([str(good), "--url", base_url], console=con) == 0
    assert "Imported 1 resources from 1 files" in output(con)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run([str(empty), "--url", base_url], console=console()) == 2
    missing = tmp_path / "missing.json"
    con = console()
    assert run([str(missing), "--url", base_url], console=con) == 1
    assert "cannot read the file" in output(con)


def test_unreachable_server_rejects_with_reason(tmp_path: Path) -> None:
    good = tmp_path / "ok.json"
    good.write_text(json.dumps({"resourceType": "Patient", "id": "imp-x"}))
    con = console()
    assert run([str(good), "--url", "http://127.0.0.1:9/fhir"], console=con) == 1
    assert "cannot reach" in output(con)


def test_progress_bar_on_a_terminal(tmp_path: Path, base_url: str) -> None:
    ndjson = tmp_path / "p.ndjson"
    ndjson.write_text("\n".join(json.dumps({"resourceType": "Patient", "id": f"imp-bar-{n}"}) for n in range(30)))
    con = Console(file=io.StringIO(), width=160, force_terminal=True)
    assert run([str(ndjson), "--url", base_url, "--batch-size", "10"], console=con) == 0
    text = output(con)
    assert "1/1 files" in text and "30/30" in text and "res/s" in text and "ETA" in text


def test_in_process_import_into_the_configured_database(tmp_path: Path, conninfo: str, fhir,
                                                         monkeypatch, capsys) -> None:
    """Without --url the command opens the server's own database (here DATABASE_URL) in-process."""
    monkeypatch.setenv("DATABASE_URL", conninfo)
    doc = tmp_path / "patient.json"
    doc.write_text(json.dumps({"resourceType": "Patient", "id": "imp-in-process", "gender": "female"}))
    assert main(["import", str(doc), str(DATA / "hospitalInformation1633536936158.json")]) == 0
    out = capsys.readouterr().out
    assert "Imported 5 resources from 2 files" in out
    assert fhir.get("Patient/imp-in-process").status_code == 200


def test_parallel_jobs_store_the_same(tmp_path: Path, base_url: str, fhir) -> None:
    for n in range(6):
        (tmp_path / f"p{n}.ndjson").write_text("\n".join(
            json.dumps({"resourceType": "Patient", "id": f"imp-par-{n}-{k}"}) for k in range(5)))
    con = console()
    assert run([str(tmp_path), "--url", base_url, "--jobs", "3", "--progress", "plain"], console=con) == 0
    text = output(con)
    assert "Imported 30 resources from 6 files" in text
    assert sorted(line.split("]")[0] for line in text.splitlines() if line.startswith("[")) == \
        sorted(f"[{n}/6" for n in range(1, 7))
    assert all(fhir.get(f"Patient/imp-par-{n}-4").status_code == 200 for n in range(6))
