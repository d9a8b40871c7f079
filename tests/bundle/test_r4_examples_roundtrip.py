"""Every official R4 example is stored and read back as sent (the lossless-storage proof).

Each example is PUT to ``[type]/[id]`` and read back; the two texts must be the same JSON
apart from the server-owned ``meta.versionId``/``meta.lastUpdated``: same keys in the same
order, decimals with the same digits, nothing added, nothing dropped. Both sides are parsed
with the server's own lossless parser and re-serialised compactly, so only the whitespace
of the pretty-printed files is ignored.

This is the proof of lossless *storage*, so the server used does not validate on write:
whether each official example passes the validator is the validator's proof (with
validation on, the server refuses some of them with 422), and with validation the run takes
about four times as long.
"""

from __future__ import annotations

import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest

from fhirsrv import fhirjson

PACKAGE = Path(__file__).resolve().parent.parent / "data" / "hl7.fhir.r4.examples-4.0.1.tgz"
SERVER_META = ("versionId", "lastUpdated")
# Examples the server must refuse, and why. Everything else must round-trip.
NOT_STORABLE = {
    "package/SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json":
        "its id has 70 characters; a FHIR id has at most 64 (http://hl7.org/fhir/R4/datatypes.html#id)",
}


def _examples():
    with tarfile.open(PACKAGE) as archive:
        for member in archive:
            if member.isfile() and member.name.endswith(".json") and member.name != "package/package.json":
                yield member.name, archive.extractfile(member).read()


def _comparable(resource: dict) -> bytes:
    meta = resource.get("meta")
    if isinstance(meta, dict):
        kept = {k: v for k, v in meta.items() if k not in SERVER_META}
        resource = {k: v for k, v in resource.items() if k != "meta" or kept}
        if kept:
            resource["meta"] = kept
    return fhirjson.dumps(resource)


def _round_trip(base: str, files: list[tuple[str, bytes]]) -> list[tuple[str, str]]:
    """PUT and read back the files that share one ``[type]/[id]`` (in order); the problems."""
    from tests.conftest import FhirClient

    problems = []
    with FhirClient(base) as fhir:
        for name, raw in files:
            sent = fhirjson.loads(raw)
            path = f"{sent['resourceType']}/{sent['id']}"
            answer = fhir.put(path, data=raw)
            if sent["resourceType"] == "AuditEvent":  # written by the server only (docs/security.md)
                if answer.status_code != 405:
                    problems.append((name, f"an AuditEvent PUT should be 405, got {answer.status_code}"))
                continue
            if name in NOT_STORABLE:
                if answer.status_code not in {400, 422}:
                    problems.append((name, f"should be refused ({NOT_STORABLE[name]}), got {answer.status_code}"))
                continue
            if answer.status_code not in {200, 201}:
                problems.append((name, f"PUT answered {answer.status_code}: {answer.text[:300]}"))
                continue
            back = fhir.get(path)
            if _comparable(fhirjson.loads(back.content)) != _comparable(sent):
                problems.append((name, "read back differs from what was sent"))
    return problems


@pytest.mark.slow
def test_every_r4_example_round_trips(storage_base_url):
    """Four clients at once (the time is mostly database round trips, which overlap); files
    with the same ``[type]/[id]`` (``ImplementationGuide/fhir`` twice) go through one client."""
    groups: dict[str, list[tuple[str, bytes]]] = {}
    for name, raw in _examples():
        head = orjson.loads(raw)  # only for the type and id: fast, and the text is kept as is
        groups.setdefault(f"{head['resourceType']}/{head['id']}", []).append((name, raw))
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda files: _round_trip(storage_base_url, files), groups.values()))
    problems = [p for result in results for p in result]
    files = sum(len(g) for g in groups.values())
    print(f"\nR4 examples: {files} files in {time.perf_counter() - started:.1f} s")
    assert files == 5306
    assert not problems, problems[:10]
