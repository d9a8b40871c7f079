"""Fixtures for the terminology tests: the process-wide service over the shipped content."""

from __future__ import annotations

import pytest

from fhirsrv.config import Settings
from fhirsrv.terminology.service import TerminologyService, terminology_for

ATC = "http://www.whocc.no/atc"
CNK = "https://www.ehealth.fgov.be/standards/fhir/medication/NamingSystem/cnk-codes"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICPC2 = "http://hl7.org/fhir/sid/icpc-2"
LOCAL_LAB = "https://fhirsrv.dev/CodeSystem/local-lab"
IPS_ABSENT = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"


@pytest.fixture(scope="session")
def service() -> TerminologyService:
    return terminology_for(Settings())


@pytest.fixture()
def session(service):
    return service.session()


def params(body: dict) -> dict:
    """Parameters -> {name: value or [values]} (parts as lists of such dicts) for assertions."""
    out: dict = {}
    for p in body.get("parameter", []):
        if "part" in p:
            value = params({"parameter": p["part"]})
        else:
            value = next((v for k, v in p.items() if k.startswith("value")), None)
        out.setdefault(p["name"], []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


def matches(body: dict) -> list[dict]:
    found = params(body).get("match", [])
    return found if isinstance(found, list) else [found]
