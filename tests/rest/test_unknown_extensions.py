"""FHIRSRV_UNKNOWN_EXTENSIONS / FHIRSRV_ALLOWED_EXTENSION_DOMAINS: what the write path does
with an extension whose definition the server does not have (issue 3: a warning by default)."""

from __future__ import annotations

import pytest
import requests

from fhirsrv.config import Settings

from ..documents.examples import example, fresh, unique_ssin
from ..serving import serve_with

HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
UNKNOWN = "https://fhir.vendor.test/StructureDefinition/shoe-size"
ALLOWED = "https://fhir.partner.test/StructureDefinition/"


def _patient(url: str) -> dict:
    return {"resourceType": "Patient", "gender": "female", "extension": [{"url": url, "valueInteger": 38}]}


@pytest.fixture(scope="module")
def strict_url(conninfo: str):
    yield from serve_with(conninfo, unknown_extensions="error", allowed_extension_domains=(ALLOWED,))


def test_unknown_extension_is_accepted_with_a_warning_by_default(base_url: str) -> None:
    response = requests.post(f"{base_url}/Patient/$validate", json=_patient(UNKNOWN), headers=HEADERS, timeout=60)
    assert response.status_code == 200, response.text
    issues = [(i["severity"], i["expression"][0]) for i in response.json()["issue"] if "extension" in i["expression"][0]]
    assert issues == [("warning", "Patient.extension[0]")], response.text
    assert requests.post(f"{base_url}/Patient", json=_patient(UNKNOWN), headers=HEADERS, timeout=60).status_code == 201


def test_unknown_extension_is_rejected_when_configured(strict_url: str) -> None:
    response = requests.post(f"{strict_url}/Patient", json=_patient(UNKNOWN), headers=HEADERS, timeout=60)
    assert response.status_code == 422, response.text
    errors = [(i["code"], i["expression"][0]) for i in response.json()["issue"] if i["severity"] == "error"]
    assert errors == [("structure", "Patient.extension[0]")], response.text


def test_allowed_domain_is_accepted(strict_url: str) -> None:
    response = requests.post(f"{strict_url}/Patient", json=_patient(ALLOWED + "shoe-size"), headers=HEADERS, timeout=60)
    assert response.status_code == 201, response.text


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().unknown_extensions == "warning"
    monkeypatch.setenv("FHIRSRV_UNKNOWN_EXTENSIONS", "Error")
    monkeypatch.setenv("FHIRSRV_ALLOWED_EXTENSION_DOMAINS", "https://a.test/, https://b.test/")
    settings = Settings.from_env()
    assert (settings.unknown_extensions, settings.allowed_extension_domains) == ("error", ("https://a.test/", "https://b.test/"))
    monkeypatch.setenv("FHIRSRV_UNKNOWN_EXTENSIONS", "ignore")
    with pytest.raises(ValueError, match="FHIRSRV_UNKNOWN_EXTENSIONS must be one of warning, error"):
        Settings.from_env()


@pytest.fixture(scope="module")
def strict_documents_url(conninfo: str):
    """A server of its own whose first validation is a document ingest (the configured
    validator is then built by ingest itself, not by an earlier REST write)."""
    yield from serve_with(conninfo, unknown_extensions="error")


def test_document_ingest_honours_the_setting(strict_documents_url: str) -> None:
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    at = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "Patient")
    bundle["entry"][at]["resource"].setdefault("extension", []).append({"url": UNKNOWN, "valueInteger": 38})
    response = requests.post(f"{strict_documents_url}/Bundle", json=bundle, headers=HEADERS, timeout=60)
    assert response.status_code == 422, response.text
    errors = [(i["code"], i["expression"][0]) for i in response.json()["issue"] if i["severity"] == "error"]
    where = f"Bundle.entry[{at}].resource.extension[{len(bundle['entry'][at]['resource']['extension']) - 1}]"
    assert errors == [("structure", where)], response.text
