"""Ingest enrichment as a function: local codings gain SNOMED CT / LOINC codings beside them."""

from __future__ import annotations

import copy

from fhirsrv.terminology.enrich import EnrichmentPolicy, enrich, enrichment_enabled

from .conftest import ATC, CNK, ICPC2, LOCAL_LAB, LOINC, SNOMED

MED_STATEMENT = {
    "resourceType": "MedicationStatement",
    "status": "active",
    "contained": [{"resourceType": "Medication", "id": "m1", "code": {
        "coding": [{"system": "https://cnk.apb.be/codings/cnk_product_codes", "code": "2374429",
                    "display": "BOOSTRIX POLIO"}],
        "text": "Boostrix Polio"}}],
    "medicationReference": {"reference": "#m1"},
    "subject": {"reference": "Patient/p1"},
}


def test_cnk_medication_gets_snomed_beside_the_original(session):
    before = copy.deepcopy(MED_STATEMENT)
    out = enrich(MED_STATEMENT, session)
    assert before == MED_STATEMENT  # the input is not mutated
    codings = out["contained"][0]["code"]["coding"]
    assert codings[0] == before["contained"][0]["code"]["coding"][0]  # original untouched, first
    assert codings[1:] == [{"system": SNOMED, "code": "871878002", "userSelected": False}]
    assert out["contained"][0]["code"]["text"] == "Boostrix Polio"


def test_local_lab_gets_loinc(session):
    obs = {"resourceType": "Observation", "status": "final",
           "code": {"coding": [{"system": LOCAL_LAB, "code": "HBA1C"}]}}
    assert enrich(obs, session)["code"]["coding"][1] == {"system": LOINC, "code": "4548-4", "userSelected": False}


def test_concept_already_carrying_another_system_is_left_alone(session):
    cc = {"coding": [{"system": CNK, "code": "2374429"}, {"system": ATC, "code": "J07CA02"}]}
    resource = {"resourceType": "Medication", "code": cc}
    assert enrich(resource, session) is resource


def test_unmapped_local_code_is_left_alone(session):
    resource = {"resourceType": "Medication", "code": {"coding": [{"system": CNK, "code": "0000000"}]}}
    assert enrich(resource, session) is resource


def test_icpc2_uses_unverified_map_only_when_asked(session):
    condition = {"resourceType": "Condition", "code": {"coding": [{"system": ICPC2, "code": "T90"}]}}
    assert enrich(condition, session) is condition
    out = enrich(condition, session, EnrichmentPolicy(use_experimental_maps=True))
    assert out["code"]["coding"][1] == {"system": SNOMED, "code": "44054006", "userSelected": False}


def test_unsafe_equivalences_are_not_added(session):
    """K78 -> atrial fibrillation is 'narrower': adding it would claim more than the author did."""
    condition = {"resourceType": "Condition", "code": {"coding": [{"system": ICPC2, "code": "K78"}]}}
    assert enrich(condition, session, EnrichmentPolicy(use_experimental_maps=True)) is condition


def test_disabled_policy_changes_nothing(session):
    assert enrich(MED_STATEMENT, session, EnrichmentPolicy(enabled=False)) is MED_STATEMENT


def test_enabled_by_default_and_switched_by_the_environment(monkeypatch):
    from fhirsrv.config import Settings

    assert enrichment_enabled(Settings()) is True
    monkeypatch.delenv("FHIRSRV_ENRICH_CODES", raising=False)
    assert enrichment_enabled(Settings.from_env()) is True
    monkeypatch.setenv("FHIRSRV_ENRICH_CODES", "false")
    assert enrichment_enabled(Settings.from_env()) is False


def test_document_bundle_is_enriched_entry_by_entry(session):
    bundle = {"resourceType": "Bundle", "type": "document", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Composition", "status": "final",
                                               "type": {"coding": [{"system": LOINC, "code": "60591-5"}]}}},
        {"fullUrl": "urn:uuid:2", "resource": copy.deepcopy(MED_STATEMENT)},
        {"fullUrl": "urn:uuid:3", "resource": {"resourceType": "Observation", "status": "final",
                                               "code": {"coding": [{"system": LOCAL_LAB, "code": "CREA"}]},
                                               "valueQuantity": {"value": 0.90, "unit": "mg/dL"}}}]}
    out = enrich(bundle, session)
    assert out["entry"][0] is bundle["entry"][0]  # untouched entries are shared, not copied
    assert out["entry"][1]["resource"]["contained"][0]["code"]["coding"][-1]["code"] == "871878002"
    assert out["entry"][2]["resource"]["code"]["coding"][-1] == {"system": LOINC, "code": "2160-0",
                                                                 "userSelected": False}
    assert out["entry"][2]["resource"]["valueQuantity"] is bundle["entry"][2]["resource"]["valueQuantity"]


def test_one_enricher_serves_many_resources_and_copies_only_what_changes(session):
    """``enricher`` (what document ingest uses): one walker for every entry of a document;
    a branch with nothing to add is shared with the input, not copied."""
    from fhirsrv.terminology.enrich import enricher

    obs = {"resourceType": "Observation", "status": "final",
           "category": [{"coding": [{"system": SNOMED, "code": "108252007"}]}],
           "code": {"coding": [{"system": LOCAL_LAB, "code": "HBA1C"}]}}
    before = copy.deepcopy(obs)
    enrich_one = enricher(session)
    out = enrich_one(obs)
    assert obs == before
    assert out["code"]["coding"] == [*before["code"]["coding"],
                                     {"system": LOINC, "code": "4548-4", "userSelected": False}]
    assert out["category"] is obs["category"]  # unchanged: shared, not copied
    assert enrich_one(copy.deepcopy(MED_STATEMENT)) == enrich(MED_STATEMENT, session)
    assert enricher(session, EnrichmentPolicy(enabled=False))(obs) is obs
