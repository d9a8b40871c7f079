"""Generated documents validate, with no error, against Bundle-uv-ips of the requested version,
for every patient of the test data: each IPS example document (1.1.0 and 2.0.0), the EU PS and
Sumehr-like examples here; the patient written resource by resource in test_summary.py and the
Synthea patients in test_synthea_summary.py.
"""

from __future__ import annotations

import pytest

from fhirsrv import fhirjson, validation

from .examples import document_bundles, example, fresh, unique_ssin

BUNDLE = "http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips"
# every example document of the IPS packages, the EU PS package and our Sumehr-like package
CASES = [(p, k) for p in ("2.0.0", "1.1.0", "eps", "sumehr") for k in document_bundles(p)]


def _errors(outcome: dict) -> list[dict]:
    return [i for i in outcome.get("issue", []) if i.get("severity") in {"error", "fatal"}]


def summary_errors(fhir, patient: str, version: str) -> list[dict]:
    """Errors of ``patient``'s $summary (IPS ``version``) against Bundle-uv-ips|``version``."""
    response = fhir.get(f"{patient}/$summary",
                        params={"profile": f"http://hl7.org/fhir/uv/ips/StructureDefinition/Composition-uv-ips|{version}"})
    assert response.status_code == 200, response.text[:500]
    return _errors(validation.validate(fhirjson.loads(response.content), profiles=[f"{BUNDLE}|{version}"]))


@pytest.mark.parametrize(("package", "key"), CASES)
@pytest.mark.parametrize("version", ["2.0.0", "1.1.0"])
def test_summary_validates(fhir, post_document, package, key, version):
    posted = post_document(fresh(example(package, key), patient_value=unique_ssin()))
    assert posted.status == 201, posted.body
    errors = summary_errors(fhir, posted.patient, version)
    assert not errors, errors


def test_document_breaking_its_profile_is_422_with_the_outcome(fhir, post_document):
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    bundle["entry"][0]["resource"]["section"][0].pop("code")  # section.code is 1..1 in IPS 2.0
    rejected = post_document(bundle)
    assert rejected.status == 422
    assert rejected.body["resourceType"] == "OperationOutcome"
    assert _errors(rejected.body)
