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


# Examples the validator refuses on write (measured with the server's validator, 24 of 5,306):
# each breaks an R4 rule. Storage handles them (the round trip above runs without validation);
# a validating server answers 422 (checked below).
REFUSED_BY_THE_VALIDATOR = {
    "package/Bundle-dataelements.json":
        "bdl-7: FullUrl must be unique in a bundle, or else entries with the same fullUrl must have diff",
    "package/DeviceMetric-example.json":
        "DeviceMetric.parent refers to a DeviceDefinition, but only Device may be referenced here.",
    "package/DeviceUseStatement-example.json":
        "DeviceUseStatement.reasonReference[0] refers to a Procedure, but only Condition, DiagnosticRepo",
    "package/ig-r4.json":
        "ImplementationGuide.name is required (minimum 1) but missing.",
    "package/ImplementationGuide-fhir.json":
        "ImplementationGuide.name is required (minimum 1) but missing.",
    "package/MedicationRequest-medrx0301.json":
        "MedicationRequest.dispenseRequest.performer refers to a Practitioner, but only Organization may",
    "package/Observation-clinical-gender.json":
        "Observation.performer[0] refers to a Encounter, but only CareTeam, Organization, Patient, Pract",
    "package/OrganizationAffiliation-orgrole1.json":
        "OrganizationAffiliation.network[0] refers to a Network, but only Organization may be referenced",
    "package/Questionnaire-qs1.json":
        "Questionnaire.item[0].item[0].linkId is required (minimum 1) but missing.",
    "package/SearchParameter-codesystem-extensions-CodeSystem-author.json":
        "SearchParameter.base is required (minimum 1) but missing.",
    "package/SearchParameter-codesystem-extensions-CodeSystem-effective.json":
        "SearchParameter.base is required (minimum 1) but missing.",
    "package/SearchParameter-codesystem-extensions-CodeSystem-end.json":
        "SearchParameter.base is required (minimum 1) but missing.",
    "package/SearchParameter-codesystem-extensions-CodeSystem-keyword.json":
        "SearchParameter.base is required (minimum 1) but missing.",
    "package/SearchParameter-codesystem-extensions-CodeSystem-workflow.json":
        "SearchParameter.base is required (minimum 1) but missing.",
    "package/SearchParameter-valueset-extensions-ValueSet-author.json":
        "SearchParameter.base is required (minimum 1) but missing.",
    "package/SearchParameter-valueset-extensions-ValueSet-effective.json":
        "SearchParameter.base is required (minimum 1) but missing.",
    "package/SearchParameter-valueset-extensions-ValueSet-end.json":
        "SearchParameter.base is required (minimum 1) but missing.",
    "package/SearchParameter-valueset-extensions-ValueSet-keyword.json":
        "SearchParameter.base is required (minimum 1) but missing.",
    "package/SearchParameter-valueset-extensions-ValueSet-workflow.json":
        "SearchParameter.base is required (minimum 1) but missing.",
    "package/StructureDefinition-Definition.json":
        "sdf-4: If the structure is not abstract, then there SHALL be a baseDefinition",
    "package/StructureDefinition-Event.json":
        "sdf-4: If the structure is not abstract, then there SHALL be a baseDefinition",
    "package/StructureDefinition-FiveWs.json":
        "sdf-4: If the structure is not abstract, then there SHALL be a baseDefinition",
    "package/StructureDefinition-Request.json":
        "sdf-4: If the structure is not abstract, then there SHALL be a baseDefinition",
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


@pytest.mark.slow
def test_the_invalid_examples_are_refused_by_a_validating_server(large_body_base_url):
    from tests.conftest import FhirClient

    wanted = set(REFUSED_BY_THE_VALIDATOR) | set(NOT_STORABLE)
    with FhirClient(large_body_base_url) as fhir:
        for name, raw in _examples():
            if name not in wanted or len(raw) > 5_000_000:
                continue  # (validating the 20 MB Bundle-dataelements alone takes most of a minute)
            sent = orjson.loads(raw)
            answer = fhir.put(f"{sent['resourceType']}/{sent['id']}", data=raw)
            assert answer.status_code in {400, 422}, (name, answer.status_code)
