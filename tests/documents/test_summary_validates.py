"""Generated documents validate, with no error, against Bundle-uv-ips of the requested version.

Runs once the validator (branch ``validator``: ``fhirsrv.validation.validate``) is on main;
until then it is skipped, and the structural checks in test_summary.py stand in.
"""

from __future__ import annotations

import pytest

from fhirsrv import fhirjson

from .examples import document_bundles, example, fresh, unique_ssin

validation = pytest.importorskip("fhirsrv.validation")

BUNDLE = "http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips"
CASES = [(v, k) for v in ("2.0.0", "1.1.0") for k in document_bundles(v)]


def _errors(outcome: dict) -> list[dict]:
    return [i for i in outcome.get("issue", []) if i.get("severity") in {"error", "fatal"}]


@pytest.mark.parametrize(("source_version", "key"), CASES)
@pytest.mark.parametrize("version", ["2.0.0", "1.1.0"])
def test_summary_validates(fhir, post_document, source_version, key, version):
    posted = post_document(fresh(example(source_version, key), patient_value=unique_ssin()))
    assert posted.status == 201, posted.body
    response = fhir.get(f"{posted.patient}/$summary",
                        params={"profile": f"http://hl7.org/fhir/uv/ips/StructureDefinition/Composition-uv-ips|{version}"})
    assert response.status_code == 200
    outcome = validation.validate(fhirjson.loads(response.content), profiles=[f"{BUNDLE}|{version}"])
    assert not _errors(outcome), _errors(outcome)


def test_document_breaking_its_profile_is_422_with_the_outcome(fhir, post_document):
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    bundle["entry"][0]["resource"]["section"][0].pop("code")  # section.code is 1..1 in IPS 2.0
    rejected = post_document(bundle)
    assert rejected.status == 422
    assert rejected.body["resourceType"] == "OperationOutcome"
    assert _errors(rejected.body)
