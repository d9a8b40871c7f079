"""EU Patient Summary and the Belgian Sumehr-like documents: ingest, and $summary in EPS."""

from __future__ import annotations

import pytest

from fhirsrv import fhirjson

from .document_checks import check_document, section
from .examples import document_bundles, example, fresh, unique_ssin

EPS_BUNDLE = "http://hl7.eu/fhir/eps/StructureDefinition/bundle-eu-eps|1.0.0-xtehr"
CASES = [(p, k) for p in ("eps", "sumehr") for k in document_bundles(p)]


def _errors(outcome: dict) -> list[dict]:
    return [i for i in outcome.get("issue", []) if i.get("severity") in {"error", "fatal"}]


def _consent_spec_bug(issue: dict, bundle: dict) -> bool:
    """EPS 1.0.0-xtehr ``eps-bundle-subject-ref`` demands ``subject.reference`` of every Consent,
    but an R4 Consent has no ``subject`` (it has ``patient``): no advance directive can pass it.
    We keep the patient's will in the document (dropping a DNR to please a spec bug would be
    unsafe) and accept exactly this error when every other resource it names has a subject."""
    if "eps-bundle-subject-ref" not in issue.get("diagnostics", ""):
        return False
    named = {"Composition", "CarePlan", "ClinicalImpression", "Condition", "DeviceUseStatement", "DiagnosticReport",
             "DocumentReference", "Flag", "ImagingStudy", "MedicationRequest", "MedicationStatement", "Procedure",
             "Observation"}
    resources = [e["resource"] for e in bundle["entry"]]
    return any(r["resourceType"] == "Consent" for r in resources) and all(
        (r.get("subject") or {}).get("reference") for r in resources if r["resourceType"] in named)


@pytest.mark.parametrize(("package", "key"), CASES)
def test_example_is_ingested_and_summarised(fhir, post_document, package, key):
    bundle = fresh(example(package, key), patient_value=unique_ssin())
    posted = post_document(bundle)
    assert posted.status == 201, posted.body
    for profile in ("ips", "eps", "sumehr"):
        response = fhir.get(f"{posted.patient}/$summary", params={"profile": profile})
        assert response.status_code == 200, response.text
        check_document(response.json())


@pytest.mark.parametrize(("package", "key"), CASES)
def test_eps_summary_validates(fhir, post_document, package, key):
    from fhirsrv.validation import validate

    posted = post_document(fresh(example(package, key), patient_value=unique_ssin()))
    response = fhir.get(f"{posted.patient}/$summary", params={"profile": "eps"})
    composition = check_document(response.json())
    for code in ("47519-4", "46264-8"):  # required in EPS, recommended in IPS
        assert section(composition, code) is not None
    document = fhirjson.loads(response.content)
    errors = [i for i in _errors(validate(document, [EPS_BUNDLE])) if not _consent_spec_bug(i, document)]
    assert not errors, errors


def test_sumehr_document_with_a_bis_number_matches_its_patient(fhir, post_document):
    bundle = example("sumehr", "Bundle/sumehr-example-bis-no-known")
    first = post_document(fresh(bundle))
    second = post_document(fresh(bundle))
    assert (first.status, second.status) == (201, 201)
    assert first.patient == second.patient
