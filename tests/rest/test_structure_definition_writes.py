"""POST /StructureDefinition: shipped profiles are accepted; a profile whose differential
does not apply to its base is a 422 naming the element (structure_definition_rules, issue 3).

Shipped profiles carry their own ids and urls; the server stores them as they are (a new id
is assigned on create)."""

from __future__ import annotations

import copy

import pytest

from fhirsrv.validation import default_validator

SHIPPED = [
    ("http://hl7.org/fhir/uv/ips/StructureDefinition/Composition-uv-ips", "2.0.0"),
    ("http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips", "1.1.0"),
    ("http://hl7.eu/fhir/eps/StructureDefinition/composition-eu-eps", None),
    ("https://fhirsrv.dev/fhir/be-sumehr/StructureDefinition/sumehr-bundle", None),
    ("https://www.ehealth.fgov.be/standards/fhir/core/StructureDefinition/be-patient", None),
    ("https://www.ehealth.fgov.be/standards/fhir/medication/StructureDefinition/be-medicationline", "1.1.0"),
    ("http://hl7.org/fhir/StructureDefinition/vitalsigns", None),
]


@pytest.mark.parametrize(("url", "version"), SHIPPED)
def test_shipped_profile_is_accepted(fhir, url: str, version: str | None) -> None:
    sd = copy.deepcopy(default_validator().registry.get(url, version))
    assert sd is not None
    response = fhir.post("StructureDefinition", json=sd)
    assert response.status_code == 201, response.text[:2000]
    assert fhir.get(response.headers["Location"]).json()["url"] == url


def test_profile_renaming_a_choice_after_no_type_is_422(fhir) -> None:
    profile = {
        "resourceType": "StructureDefinition", "url": "http://example.org/fhir/StructureDefinition/obs-mz", "name": "ObsMz",
        "status": "draft", "kind": "resource", "abstract": False, "type": "Observation", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation",
        "differential": {"element": [{"id": "Observation.valueQuantity", "path": "Observation.valueBla"}]},
    }
    response = fhir.post("StructureDefinition", json=profile)
    assert response.status_code == 422, response.text
    errors = [(i["code"], i["details"]["coding"][0]["code"], i["expression"][0]) for i in response.json()["issue"] if i["severity"] == "error"]
    assert errors == [("invalid", "sd-differential-path", "StructureDefinition.differential.element[0].path")], response.text
    search = fhir.get("StructureDefinition", params={"url": profile["url"]}).json()
    assert search.get("total", len(search.get("entry", []))) == 0
