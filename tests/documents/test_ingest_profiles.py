"""Ingest validates a document against the profile it claims (IPS 1.1.0, IPS 2.0, EU PS, our
Sumehr-like profile) and, when it claims none, against FHIRSRV_DOCUMENT_PROFILE: an error is a
422 with the OperationOutcome, and nothing is stored."""

from __future__ import annotations

import json

import pytest

from fhirsrv.app import create_app
from fhirsrv.config import Settings
from tests.conftest import FhirClient
from tests.serving import serving

from .conftest import count
from .examples import example, fresh, patient_of, unique_ssin

IPS_BUNDLE = "http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips"
PROCEDURES = "47519-4"  # required by the EU PS, only recommended by the IPS


def _without_procedures(bundle: dict) -> dict:
    composition = bundle["entry"][0]["resource"]
    composition["section"] = [s for s in composition["section"] if s["code"]["coding"][0]["code"] != PROCEDURES]
    return bundle


def _ips_1_1_without_a_section_code() -> dict:
    bundle = fresh(example("1.1.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    bundle["meta"] = {"profile": [f"{IPS_BUNDLE}|1.1.0"]}
    bundle["entry"][0]["resource"]["section"][0].pop("code")
    return bundle


def _eps_without_procedures() -> dict:
    return _without_procedures(fresh(example("eps", "Bundle/EPSExampleBundle01NoProblemsMedicationAllergies"),
                                     patient_value=unique_ssin()))


def _sumehr_without_gender() -> dict:
    bundle = fresh(example("sumehr", "Bundle/sumehr-example-1"))
    patient_of(bundle).pop("gender")  # 1..1 in SumehrPatient, 0..1 in R4 and the IPS
    return bundle


@pytest.mark.parametrize(
    ("broken", "expression"),
    [(_ips_1_1_without_a_section_code, "Bundle.entry[0].resource.section[0].code"),
     (_eps_without_procedures, "Bundle.entry[0].resource.section"),
     (_sumehr_without_gender, "Bundle.entry[1].resource.gender")],
    ids=["ips-1.1.0", "eps", "sumehr"],
)
def test_document_breaking_the_profile_it_claims_is_422_and_stores_nothing(fhir, post_document, broken, expression):
    types = ("Bundle", "Patient", "Composition", "DocumentReference")
    before = [count(fhir, t) for t in types]
    rejected = post_document(broken())
    assert rejected.status == 422, rejected.body
    errors = [i for i in rejected.body["issue"] if i["severity"] == "error"]
    assert any(i["code"] == "required" and i.get("expression") == [expression] for i in errors), errors
    assert [count(fhir, t) for t in types] == before


def test_claimed_profile_decides_not_the_content(fhir, post_document):
    # the EU PS document without procedures is a valid IPS 2.0 document once it claims only that
    bundle = _eps_without_procedures()
    bundle["meta"] = {"profile": [f"{IPS_BUNDLE}|2.0.0"]}
    bundle["entry"][0]["resource"].pop("meta")
    assert post_document(bundle).status == 201


def _unclaimed_ips_document() -> dict:
    """IPS example 01 claiming no profile, lacking the EU PS's required procedures section."""
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    bundle.pop("meta")
    assert all(s["code"]["coding"][0]["code"] != PROCEDURES for s in bundle["entry"][0]["resource"]["section"])
    return bundle


def test_unclaimed_document_meets_the_default_profile_ips(fhir, post_document):
    assert post_document(_unclaimed_ips_document()).status == 201
    broken = _unclaimed_ips_document()
    patient_of(broken).pop("birthDate")  # 1..1 in the IPS Patient, 0..1 in R4
    rejected = post_document(broken)
    assert rejected.status == 422, rejected.body
    assert any("PatientUvIps" in i["diagnostics"] for i in rejected.body["issue"] if i["severity"] == "error")


def test_default_profile_comes_from_the_configuration(conninfo, monkeypatch):
    monkeypatch.setenv("FHIRSRV_DOCUMENT_PROFILE", "eps")
    settings = Settings.from_env().with_(database_url=conninfo, auth="off")
    assert settings.document_profile == "eps"
    app = create_app(settings, conninfo=conninfo)
    try:
        with serving(app) as base, FhirClient(base) as client:
            bundles = count(client, "Bundle")
            unclaimed = client.post("Bundle", data=json.dumps(_unclaimed_ips_document()))
            assert unclaimed.status_code == 422, unclaimed.text
            errors = [i for i in unclaimed.json()["issue"] if i["severity"] == "error"]
            assert any(i.get("expression") == ["Bundle.entry[0].resource.section"]
                       and "sectionProceduresHx" in i["diagnostics"] for i in errors), errors
            assert count(client, "Bundle") == bundles
            claimed = _unclaimed_ips_document()
            claimed["meta"] = {"profile": [f"{IPS_BUNDLE}|2.0.0"]}  # a claim wins over the default
            assert client.post("Bundle", data=json.dumps(claimed)).status_code == 201
    finally:
        app.extensions["fhirsrv"].close()
