"""FHIRSRV_REQUIRED_PROFILES: a configuration can require a profile per resource type (issue 3).

A write of that type that does not conform is a 422 with the validator's OperationOutcome,
over real HTTP; other types are not affected; a transaction entry is held to the same rule.
"""

from __future__ import annotations

import pytest
import requests

from fhirsrv.app import create_app
from fhirsrv.config import Settings

from ..serving import serve_with

IPS_PATIENT = "http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips|2.0.0"
HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}


@pytest.fixture(scope="module")
def strict_url(conninfo: str):
    yield from serve_with(conninfo, required_profiles=(("Patient", IPS_PATIENT),))


def test_non_conforming_write_is_422(strict_url: str) -> None:
    # IPS Patient: name and birthDate are required; base R4 accepts this Patient.
    response = requests.post(f"{strict_url}/Patient", json={"resourceType": "Patient", "gender": "female"}, headers=HEADERS, timeout=60)
    assert response.status_code == 422, response.text
    outcome = response.json()
    errors = [i for i in outcome["issue"] if i["severity"] == "error"]
    assert {(i["code"], i["expression"][0]) for i in errors} >= {("required", "Patient.birthDate")}, outcome


def test_conforming_write_is_stored(strict_url: str) -> None:
    patient = {"resourceType": "Patient", "name": [{"family": "Peeters", "given": ["An"]}], "birthDate": "1985-07-30", "gender": "female"}
    response = requests.post(f"{strict_url}/Patient", json=patient, headers=HEADERS, timeout=60)
    assert response.status_code == 201, response.text
    assert requests.get(response.headers["Location"], headers=HEADERS, timeout=60).json()["birthDate"] == "1985-07-30"


def test_other_types_are_not_affected(strict_url: str) -> None:
    organization = {"resourceType": "Organization", "name": "Clinic"}
    assert requests.post(f"{strict_url}/Organization", json=organization, headers=HEADERS, timeout=60).status_code == 201


def test_transaction_entries_are_held_to_it(strict_url: str) -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0b7f4e8e-1f4e-4e57-9c2b-9f0e4c1f2a11", "resource": {"resourceType": "Patient", "gender": "male"},
         "request": {"method": "POST", "url": "Patient"}}]}
    response = requests.post(strict_url, json=bundle, headers=HEADERS, timeout=60)
    assert response.status_code == 422, response.text
    errors = {(i["code"], i["expression"][0]) for i in response.json()["issue"] if i["severity"] == "error"}
    assert ("required", "Bundle.entry[0].resource.birthDate") in errors, response.text


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FHIRSRV_REQUIRED_PROFILES", "Patient=ips-patient-url, Observation=http://x/y|1")
    assert Settings.from_env().required_profiles == (("Patient", "ips-patient-url"), ("Observation", "http://x/y|1"))
    monkeypatch.setenv("FHIRSRV_REQUIRED_PROFILES", "Patient")
    with pytest.raises(ValueError, match="Type=profile"):
        Settings.from_env()


def test_unknown_required_profile_stops_the_server(conninfo: str) -> None:
    settings = Settings.from_env().with_(database_url=conninfo, auth="off", required_profiles=(("Patient", "http://example.org/nope"),))
    application = create_app(settings, conninfo=conninfo)
    try:
        with pytest.raises(ValueError, match="not in the loaded packages"):
            _ = application.extensions["fhirsrv"].write_validator
    finally:
        application.extensions["fhirsrv"].close()
