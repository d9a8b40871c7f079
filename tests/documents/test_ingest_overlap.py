"""Document ingest sends its writes before it validates (Postgres stores while Python validates)
and commits only a valid document: these tests catch the server between the two.

A spy in place of the validator waits until the ingesting connection has executed the last of
its writes (``pg_stat_activity``: a transaction id assigned, the registry's member INSERT
running or done), looks at the database from other connections, then lets validation run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import fhirsrv.documents.ingest as ingest_module

from .conftest import count
from .examples import SSIN, example, fresh, patient_of, unique_ssin

TABLES = ("resource", "idx_string", "idx_token", "idx_date", "idx_quantity", "idx_reference", "idx_uri",
          "document", "document_member")
LAST_WRITE = "INSERT INTO document_member"  # records.insert: the last statement of a new document


def _rows(conninfo: str) -> dict[str, int]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _writes_executed(conninfo: str, timeout: float = 20.0) -> bool:
    """Wait until another backend of this database holds a writing transaction whose latest
    statement is the document's last write (everything before it has been executed)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while time.monotonic() < deadline:
            found = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL AND query LIKE %s",
                (LAST_WRITE + "%",),
            ).fetchone()[0]
            if found:
                return True
            time.sleep(0.01)
    return False


@pytest.fixture()
def spy_on_validation(monkeypatch, conninfo):
    """Replace the document validator by one that first runs ``look()`` once the writes are
    executed; returns the list the observations go to."""

    def install(look: Callable[[], Any]) -> list[Any]:
        seen: list[Any] = []
        real = ingest_module.check_profiles

        def spy(*args: Any, **kwargs: Any) -> Any:
            seen.append(("writes executed", _writes_executed(conninfo)))
            seen.append(look())
            return real(*args, **kwargs)

        monkeypatch.setattr(ingest_module, "check_profiles", spy)
        return seen

    return install


def _document(ssin: str) -> dict:
    return fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=ssin)


def test_invalid_document_rolled_back_after_its_writes_leaves_no_row(fhir, post_document, conninfo,
                                                                      spy_on_validation):
    ssin = unique_ssin()
    bundle = _document(ssin)
    patient_of(bundle)["gender"] = "yes"  # not in the required AdministrativeGender value set
    before = _rows(conninfo)
    seen = spy_on_validation(lambda: _rows(conninfo))
    rejected = post_document(bundle)
    assert rejected.status == 422, rejected.body
    assert seen[0] == ("writes executed", True)  # the document's rows existed, uncommitted
    assert seen[1] == before  # … and no other connection saw them
    errors = [i for i in rejected.body["issue"] if i["severity"] == "error"]
    assert errors[0]["code"] == "code-invalid"
    assert any("gender" in e for i in errors for e in i.get("expression", [])), errors
    assert _rows(conninfo) == before  # rolled back: no resource, index, registry or member row
    assert fhir.get("Patient", params={"identifier": f"{SSIN}|{ssin}"}).json().get("total", 0) == 0


def test_concurrent_reader_never_sees_an_uncommitted_entry(fhir, post_document, conninfo, spy_on_validation):
    ssin = unique_ssin()
    bundle = _document(ssin)
    before = _rows(conninfo)

    def look() -> tuple[dict[str, int], int, int]:
        # a reader through the server's own pool (another HTTP request) and one in SQL
        found = fhir.get("Patient", params={"identifier": f"{SSIN}|{ssin}"}).json()
        return _rows(conninfo), len(found.get("entry", [])), count(fhir, "Composition")

    compositions = count(fhir, "Composition")
    seen = spy_on_validation(look)
    posted = post_document(bundle)
    assert posted.status == 201, posted.body
    assert seen[0] == ("writes executed", True)
    assert seen[1] == (before, 0, compositions)
    after = _rows(conninfo)
    assert after["resource"] == before["resource"] + len(bundle["entry"]) + 2  # + the Bundle and its DocumentReference
    assert (after["document"], after["document_member"]) == (before["document"] + 1,
                                                             before["document_member"] + len(bundle["entry"]))
    assert after["idx_token"] > before["idx_token"]
    found = fhir.get("Patient", params={"identifier": f"{SSIN}|{ssin}"}).json()
    assert [f"Patient/{e['resource']['id']}" for e in found["entry"]] == [posted.patient]


def _two_stored_patients(fhir, ssin: str) -> None:
    for family in ("Peeters", "Janssens"):
        created = fhir.post("Patient", data=json.dumps({
            "resourceType": "Patient", "identifier": [{"system": SSIN, "value": ssin}], "name": [{"family": family}]}))
        assert created.status_code == 201


def test_document_patient_matching_two_stored_patients_is_422_and_stores_nothing(fhir, post_document, conninfo):
    ssin = unique_ssin()
    _two_stored_patients(fhir, ssin)
    before = _rows(conninfo)
    rejected = post_document(_document(ssin))
    assert rejected.status == 422
    [issue] = rejected.body["issue"]
    assert issue["code"] == "multiple-matches"
    assert issue["expression"] == ["Bundle.entry[1].resource.identifier"]
    assert _rows(conninfo) == before


def test_an_invalid_document_is_told_what_is_invalid_before_anything_else(fhir, post_document, conninfo):
    """Validation ran first before the writes were overlapped with it: an invalid document
    whose Patient also matches two stored ones still gets its validation outcome."""
    ssin = unique_ssin()
    _two_stored_patients(fhir, ssin)
    bundle = _document(ssin)
    patient_of(bundle)["gender"] = "yes"
    rejected = post_document(bundle)
    assert rejected.status == 422
    codes = {i["code"] for i in rejected.body["issue"] if i["severity"] == "error"}
    assert "code-invalid" in codes and "multiple-matches" not in codes, rejected.body


def test_writes_that_fail_on_an_invalid_document_still_answer_with_its_validation(
        fhir, post_document, conninfo, monkeypatch):
    """Building the writes runs before validation now: when it breaks on an invalid document,
    the client still gets the document's 422 OperationOutcome, not a 500."""
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the writes could not be built")

    monkeypatch.setattr(ingest_module, "document_reference", broken)
    bundle = _document(unique_ssin())
    patient_of(bundle)["gender"] = "yes"
    before = _rows(conninfo)
    rejected = post_document(bundle)
    assert rejected.status == 422
    assert any(i["code"] == "code-invalid" for i in rejected.body["issue"]), rejected.body
    assert _rows(conninfo) == before


def test_profile_invalid_document_in_a_transaction_fails_it_and_stores_nothing(fhir, conninfo, spy_on_validation):
    """Inside a transaction Bundle the document's writes go out before its validation too; the
    422 rolls back the whole transaction, the first document's rows included."""
    import uuid

    good, bad = _document(unique_ssin()), _document(unique_ssin())
    patient_of(bad)["gender"] = "yes"
    before = _rows(conninfo)
    seen = spy_on_validation(lambda: _rows(conninfo))
    response = fhir.post("", data=json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": d, "request": {"method": "POST", "url": "Bundle"}}
        for d in (good, bad)]}))
    assert response.status_code == 422, response.text
    assert seen[0] == seen[2] == ("writes executed", True) and seen[1] == seen[3] == before
    assert any(e.startswith("Bundle.entry[1]") for i in response.json()["issue"] for e in i.get("expression", []))
    assert _rows(conninfo) == before
