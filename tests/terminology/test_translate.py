"""ConceptMap/$translate over HTTP (R4): aliases, reverse, targetsystem, non-matches, errors."""

from __future__ import annotations

import pytest

from .conftest import ATC, CNK, IPS_ABSENT, SNOMED, matches, params

R5_CODES = {"source-is-narrower-than-target", "source-is-broader-than-target", "related-to", "not-related-to"}


def test_seed_atc_alias_to_snomed(fhir):
    """DOMAIN §4.5 seed 1: the Belgian ATC URI finds the map written with the IPS URI."""
    response = fhir.get("ConceptMap/$translate", params={"system": "http://whocc.no/atc", "code": "J07CA02",
                                                         "targetsystem": SNOMED})
    assert response.status_code == 200, response.text
    out = params(response.json())
    assert out["result"] is True
    [match] = matches(response.json())
    assert match["concept"] == {"system": SNOMED, "code": "871878002"}
    assert match["equivalence"] == "equivalent"
    assert match["source"] == "https://fhirsrv.dev/ConceptMap/cnk-atc-to-snomed"


def test_unmapped_code_is_result_false(fhir):
    out = params(fhir.get("ConceptMap/$translate", params={"system": ATC, "code": "A01AA01"}).json())
    assert out["result"] is False and "match" not in out and "no mapping" in out["message"]


def test_explicitly_unmatched_is_listed_but_result_false(fhir):
    body = fhir.get("ConceptMap/$translate", params={
        "url": "http://hl7.org/fhir/uv/ips/ConceptMap/absence-to-snomed-uv-ips",
        "system": IPS_ABSENT, "code": "no-allergy-info"}).json()
    out = params(body)
    assert out["result"] is False
    assert [m["equivalence"] for m in matches(body)] == ["unmatched"]


def test_targetsystem_restricts(fhir):
    body = fhir.get("ConceptMap/$translate", params={"system": CNK, "code": "2374429", "targetsystem": ATC}).json()
    assert [m["concept"]["code"] for m in matches(body)] == ["J07CA02"]


def test_reverse_flips_direction_and_equivalence(fhir):
    body = fhir.get("ConceptMap/$translate", params={"system": SNOMED, "code": "871878002", "reverse": "true",
                                                     "targetsystem": CNK}).json()
    [match] = matches(body)
    assert match["concept"] == {"system": CNK, "code": "2374429"}
    assert match["equivalence"] == "narrower"  # the map says the SNOMED product is wider than the pack


def test_codeable_concept_post_and_instance_level(fhir):
    cm = {"resourceType": "ConceptMap", "id": "tx-translate-toy", "url": "http://example.org/cm/toy",
          "status": "active",
          "group": [{"source": "http://example.org/a", "target": "http://example.org/b",
                     "element": [{"code": "1", "target": [{"code": "one", "equivalence": "equivalent"}]},
                                 {"code": "2", "target": [{"equivalence": "disjoint"}]}],
                     "unmapped": {"mode": "fixed", "code": "other"}}]}
    assert fhir.put("ConceptMap/tx-translate-toy", json=cm).status_code in (200, 201)
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "codeableConcept", "valueCodeableConcept": {"coding": [{"system": "http://example.org/a",
                                                                         "code": "1"}]}}]}
    out = fhir.post("ConceptMap/tx-translate-toy/$translate", json=body).json()
    assert params(out)["result"] is True
    assert matches(out)[0]["concept"]["code"] == "one"
    # stored maps take part in a type-level translate too
    out = fhir.get("ConceptMap/$translate", params={"system": "http://example.org/a", "code": "1"}).json()
    assert params(out)["result"] is True
    # disjoint: listed, result false
    out = fhir.get("ConceptMap/$translate", params={"url": cm["url"], "system": "http://example.org/a",
                                                    "code": "2"}).json()
    assert params(out)["result"] is False and matches(out)[0]["equivalence"] == "disjoint"
    # unmapped mode fixed
    out = fhir.get("ConceptMap/$translate", params={"url": cm["url"], "system": "http://example.org/a",
                                                    "code": "9"}).json()
    assert matches(out)[0]["concept"] == {"system": "http://example.org/b", "code": "other"}


def test_only_r4_equivalences_leave_the_server(fhir):
    for system, code in ((ATC, "J01CA"), (CNK, "2374429"), (IPS_ABSENT, "no-known-devices")):
        body = fhir.get("ConceptMap/$translate", params={"system": system, "code": code}).json()
        assert not {m["equivalence"] for m in matches(body)} & R5_CODES


def test_code_and_coding_is_400(fhir):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "code", "valueCode": "J07CA02"}, {"name": "system", "valueUri": ATC},
        {"name": "coding", "valueCoding": {"system": ATC, "code": "J07CA02"}}]}
    response = fhir.post("ConceptMap/$translate", json=body)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("query", [
    {"system": "http://example.org/never-heard-of", "code": "x"},
    {"code": "J07CA02"},
    {"system": ATC},
    {"system": ATC, "code": "J07CA02", "reverse": "maybe"},
    {"url": "http://example.org/cm/none", "system": ATC, "code": "J07CA02"},
])
def test_bad_parameters_are_400(fhir, query):
    response = fhir.get("ConceptMap/$translate", params=query)
    assert response.status_code == 400, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


def test_unknown_instance_is_404(fhir):
    response = fhir.get("ConceptMap/does-not-exist/$translate", params={"system": ATC, "code": "J07CA02"})
    assert response.status_code == 404


def test_unmapped_other_map_and_provided(service):
    from fhirsrv.terminology.conceptmaps import MapIndex, translate

    second = {"resourceType": "ConceptMap", "url": "http://example.org/cm/second", "group": [
        {"source": "http://example.org/a", "target": "http://example.org/c",
         "element": [{"code": "7", "target": [{"code": "seven", "equivalence": "equal"}]}]}]}
    first = {"resourceType": "ConceptMap", "url": "http://example.org/cm/first", "group": [
        {"source": "http://example.org/a", "target": "http://example.org/c", "element": [],
         "unmapped": {"mode": "other-map", "url": second["url"]}},
        {"source": "http://example.org/a", "target": "http://example.org/d", "element": [],
         "unmapped": {"mode": "provided"}}]}
    index = MapIndex([first], service.aliases)
    result = translate(index, "http://example.org/a", "7", other_map={second["url"]: second}.get)
    assert [(m.system, m.code, m.equivalence) for m in result.matches] == [
        ("http://example.org/c", "seven", "equal"), ("http://example.org/d", "7", "equal")]
    assert result.result is True
