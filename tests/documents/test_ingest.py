"""Document ingest through POST /Bundle (real HTTP, real Postgres)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime

import pytest

from .conftest import count
from .examples import SSIN, document_bundles, example, fresh, patient_of, summary_of, unique_ssin

IPS_BUNDLE = "http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips"


def _sans_server_fields(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in {"id", "meta"}}


@pytest.mark.parametrize(
    ("version", "key"), [(v, k) for v in ("2.0.0", "1.1.0") for k in document_bundles(v)]
)
def test_every_ips_example_document_is_stored_and_decomposed(fhir, post_document, version, key):
    bundle = fresh(example(version, key), patient_value=unique_ssin())
    posted = post_document(bundle)
    assert posted.status == 201, posted.body
    stored = fhir.get(f"Bundle/{posted.body['id']}")
    # the document exactly as received, apart from id/meta: same keys, same order, same text
    assert json.dumps(_sans_server_fields(stored.json())) == json.dumps(_sans_server_fields(bundle))
    docref = posted.docref
    assert docref["status"] == "current"
    assert docref["type"]["coding"][0] == {"system": "http://loinc.org", "code": "60591-5",
                                           "display": "Patient summary Document"}
    assert docref["content"][0]["attachment"]["url"] == f"Bundle/{posted.body['id']}"
    assert docref["masterIdentifier"] == bundle["identifier"]
    composition = fhir.get(posted.composition).json()
    assert composition["subject"]["reference"] == posted.patient
    assert composition["meta"]["source"] == f"Bundle/{posted.body['id']}"
    # the DocumentReference names the document's author (as stored) and when it was registered
    assert docref["author"] == composition["author"]
    assert datetime.fromisoformat(docref["date"]) <= datetime.now(UTC)
    assert docref["content"][0]["attachment"]["creation"] == bundle["entry"][0]["resource"]["date"]
    references = [e["reference"] for s in composition["section"] for e in s.get("entry", [])]
    references += [a["reference"] for a in composition.get("author", []) if "reference" in a]
    for reference in references:
        assert not reference.startswith(("urn:", "http")), reference
        assert fhir.get(reference).status_code == 200, reference


def test_same_document_twice_is_stored_once(fhir, post_document):
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    first = post_document(bundle)
    before = (count(fhir, "Bundle"), count(fhir, "Condition"), count(fhir, "DocumentReference"))
    second = post_document(copy.deepcopy(bundle))
    assert (first.status, second.status) == (201, 200)
    assert second.body["id"] == first.body["id"]
    assert second.docref["id"] == first.docref["id"]
    assert (count(fhir, "Bundle"), count(fhir, "Condition"), count(fhir, "DocumentReference")) == before


def test_other_content_under_a_used_identifier_is_a_conflict(fhir, post_document):
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    assert post_document(bundle).status == 201
    changed = copy.deepcopy(bundle)
    changed["timestamp"] = "2018-01-01T00:00:00Z"
    before = count(fhir, "Bundle")
    conflict = post_document(changed)
    assert conflict.status == 409
    assert conflict.body["issue"][0]["expression"] == ["Bundle.identifier"]
    assert count(fhir, "Bundle") == before


def test_patient_is_matched_by_identifier_not_duplicated(fhir, post_document):
    ssin = unique_ssin()
    existing = fhir.post("Patient", data=json.dumps({
        "resourceType": "Patient", "identifier": [{"system": SSIN, "value": ssin}],
        "name": [{"family": "Peeters", "given": ["An"]}], "birthDate": "1985-07-30"})).json()
    first = post_document(fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=ssin))
    assert first.patient == f"Patient/{existing['id']}"
    # the older SSIN NamingSystem URI names the same person
    second_bundle = fresh(example("2.0.0", "Bundle/bundle-minimal"), patient_value=ssin)
    patient_of(second_bundle)["identifier"][0]["system"] = "https://www.ehealth.fgov.be/standards/fhir/NamingSystem/ssin"
    second = post_document(second_bundle)
    assert second.status == 201
    assert second.patient == first.patient
    # the stored Patient was not overwritten by the documents' copies
    assert fhir.get(first.patient).json()["name"][0]["family"] == "Peeters"


def test_new_patient_is_created_once_for_two_documents(post_document):
    ssin = unique_ssin()
    a = post_document(fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=ssin))
    b = post_document(fresh(example("2.0.0", "Bundle/bundle-minimal"), patient_value=ssin))
    assert a.patient == b.patient


def _broken(change) -> dict:
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    change(bundle)
    return bundle


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        (lambda b: b.pop("identifier"), "Bundle.identifier"),
        (lambda b: b.pop("timestamp"), "Bundle.timestamp"),
        (lambda b: b["entry"].reverse(), "Bundle.entry[0].resource"),
        (lambda b: b["entry"][3].pop("fullUrl"), "Bundle.entry[3].fullUrl"),
        (lambda b: b["entry"][0]["resource"]["subject"].update(reference="urn:uuid:nowhere"),
         "Bundle.entry[0].resource.subject"),
        # JSON of the wrong shape, which ingest meets before validation: a 422 naming it, never a 500
        (lambda b: b["entry"].insert(1, "Patient"), "Bundle.entry[1].resource"),
        (lambda b: b["identifier"].update(system={"value": "x"}), "Bundle.identifier"),
        (lambda b: b["entry"][0]["resource"].update(subject="Patient/1"), "Bundle.entry[0].resource.subject"),
        (lambda b: b.setdefault("meta", {}).update(profile=IPS_BUNDLE), "Bundle.meta.profile"),
        (lambda b: b.setdefault("meta", {}).update(profile=[{"url": IPS_BUNDLE}]), "Bundle.meta.profile[0]"),
        (lambda b: patient_of(b)["identifier"][0].update(system={"resourceType": "Patient"}),
         "Bundle.entry[1].resource.identifier[0].system"),
        (lambda b: b["entry"][0]["resource"]["text"].update(extension=1.5), "Bundle.entry[0].resource.text.extension"),
        (lambda b: b["entry"][4]["resource"].update(identifier=[{"system": ["x"], "value": {"v": 1}}]),
         "Bundle.entry[4].resource.identifier[0].system"),
    ],
    ids=["no-identifier", "no-timestamp", "composition-not-first", "no-fullUrl", "subject-unresolved",
         "entry-not-an-object", "identifier-system-object", "subject-a-string", "meta-profile-a-string", "meta-profile-objects",
         "patient-identifier-system-object", "narrative-extension-a-number", "condition-identifier-arrays"],
)
def test_invalid_document_is_422_and_nothing_is_stored(fhir, post_document, change, expression):
    types = ("Bundle", "Patient", "Composition", "Condition", "DocumentReference")
    before = [count(fhir, t) for t in types]
    rejected = post_document(_broken(change))
    assert rejected.status == 422
    assert rejected.body["resourceType"] == "OperationOutcome"
    assert any(expression in issue.get("expression", []) for issue in rejected.body["issue"]), rejected.body
    assert [count(fhir, t) for t in types] == before


def test_newer_summary_of_the_same_source_supersedes(fhir, post_document):
    base = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    old = post_document(summary_of(base, date="2024-01-10T10:00:00+01:00"))
    new = post_document(summary_of(base, date="2024-06-10T10:00:00+01:00", drop_food_allergy=True))
    assert (old.status, new.status) == (201, 201)
    assert new.patient == old.patient
    assert fhir.get(f"DocumentReference/{old.docref['id']}").json()["status"] == "superseded"
    assert new.docref["status"] == "current"
    assert new.docref["relatesTo"] == [{"code": "replaces",
                                        "target": {"reference": f"DocumentReference/{old.docref['id']}"}}]
    # the old document's resources stay readable but are marked and left out of $summary
    old_composition = fhir.get(old.composition).json()
    assert any(t["code"] == "superseded-in-source" for t in old_composition["meta"].get("tag", []))
    summary = fhir.get(f"{new.patient}/$summary").json()
    allergies = next(s for s in summary["entry"][0]["resource"]["section"] if s["code"]["coding"][0]["code"] == "48765-2")
    assert len(allergies["entry"]) == 1  # penicillin from the new document only
    new_allergies = [r["reference"] for s in fhir.get(new.composition).json()["section"] for r in s.get("entry", [])
                     if r["reference"].startswith("AllergyIntolerance/")]
    assert allergies["entry"][0]["reference"].endswith(new_allergies[0])


def test_older_summary_arriving_late_is_stored_superseded(fhir, post_document):
    base = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    newer = post_document(summary_of(base, date="2024-06-10T10:00:00+01:00"))
    late = post_document(summary_of(base, date="2023-01-10T10:00:00+01:00"))
    assert late.status == 201
    assert late.docref["status"] == "superseded"
    assert fhir.get(f"DocumentReference/{newer.docref['id']}").json()["status"] == "current"


def test_other_source_does_not_supersede(fhir, post_document):
    base = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    first = post_document(summary_of(base, date="2024-01-10T10:00:00+01:00"))
    other = summary_of(base, date="2024-06-10T10:00:00+01:00")
    custodian = next(e["resource"] for e in other["entry"] if e["fullUrl"] == other["entry"][0]["resource"]["custodian"]["reference"])
    custodian["identifier"] = [{"system": "https://example.org/org", "value": "another-hospital"}]
    second = post_document(other)
    assert second.status == 201
    assert fhir.get(f"DocumentReference/{first.docref['id']}").json()["status"] == "current"
    assert "relatesTo" not in second.docref


def test_ips_1_1_absent_unknown_codes_are_kept(fhir, post_document):
    bundle = fresh(example("1.1.0", "Bundle/bundle-no-info-required-sections"), patient_value=unique_ssin())
    posted = post_document(bundle)
    assert posted.status == 201
    composition = fhir.get(posted.composition).json()
    allergies = next(s for s in composition["section"] if s["code"]["coding"][0]["code"] == "48765-2")
    allergy = fhir.get(allergies["entry"][0]["reference"]).json()
    assert allergy["code"]["coding"][0]["code"] == "no-allergy-info"


def test_ips_2_empty_reason_document_is_kept(fhir, post_document):
    bundle = fresh(example("2.0.0", "Bundle/bundle-no-info-required-sections"), patient_value=unique_ssin())
    posted = post_document(bundle)
    assert posted.status == 201
    composition = fhir.get(posted.composition).json()
    reasons = [s.get("emptyReason", {}).get("coding", [{}])[0].get("code") for s in composition["section"]]
    assert reasons.count("unavailable") >= 3


def test_concurrent_posts_of_one_document_store_it_once(fhir, post_document):
    from concurrent.futures import ThreadPoolExecutor

    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: post_document(copy.deepcopy(bundle)), range(4)))
    assert sorted(r.status for r in results) == [200, 200, 200, 201]
    assert len({r.body["id"] for r in results}) == 1
    assert len({r.patient for r in results}) == 1


def test_documents_are_found_the_eu_health_data_api_way(fhir, post_document):
    ssin = unique_ssin()
    base = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=ssin)
    old = post_document(summary_of(base, date="2024-01-10T10:00:00+01:00"))
    new = post_document(summary_of(base, date="2024-06-10T10:00:00+01:00"))
    patient = fhir.get("Patient", params={"identifier": f"{SSIN}|{ssin}"}).json()
    assert [e["resource"]["id"] for e in patient["entry"]] == [new.patient.split("/")[1]]
    for params in ({"patient": new.patient}, {"patient.identifier": f"{SSIN}|{ssin}"}):
        found = fhir.get("DocumentReference", params={**params, "type": "http://loinc.org|60591-5",
                                                       "status": "current"}).json()
        assert [e["resource"]["id"] for e in found.get("entry", [])] == [new.docref["id"]], params
    document = fhir.get(new.docref["content"][0]["attachment"]["url"])
    assert document.status_code == 200 and document.json()["type"] == "document"
    assert old.docref["id"] != new.docref["id"]


def test_local_codes_get_their_loinc_coding_beside_them_in_the_stored_entries(fhir, post_document):
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    observation = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation")
    local = {"system": "https://fhirsrv.dev/CodeSystem/local-lab", "code": "HBA1C"}
    observation["code"] = {"coding": [local], "text": "HbA1c (local)"}
    posted = post_document(bundle)
    assert posted.status == 201, posted.body
    stored_document = fhir.get(f"Bundle/{posted.body['id']}").json()
    assert _sans_server_fields(stored_document) == _sans_server_fields(bundle)  # as sent
    found = fhir.get("Observation", params={"patient": posted.patient,
                                            "code": "https://fhirsrv.dev/CodeSystem/local-lab|HBA1C"}).json()
    [enriched] = [e["resource"] for e in found["entry"]]
    assert enriched["code"]["coding"][0] == local
    assert {"system": "http://loinc.org", "code": "4548-4"}.items() <= enriched["code"]["coding"][1].items()
    assert enriched["code"]["coding"][1]["userSelected"] is False


def _transaction(*documents: dict) -> str:
    return json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": d, "request": {"method": "POST", "url": "Bundle"}}
        for d in documents]})


def test_document_inside_a_transaction_is_ingested(fhir):
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    response = fhir.post("", data=_transaction(bundle))
    assert response.status_code == 200, response.text
    [entry] = response.json()["entry"]
    assert entry["response"]["status"].startswith("201")
    bid = entry["response"]["location"].split("/Bundle/")[1].split("/")[0]
    assert _sans_server_fields(fhir.get(f"Bundle/{bid}").json()) == _sans_server_fields(bundle)
    ssin = bundle["entry"][1]["resource"]["identifier"][0]["value"]
    found = fhir.get("DocumentReference", params={"patient.identifier": f"{SSIN}|{ssin}"}).json()
    [docref] = [e["resource"] for e in found["entry"]]
    assert docref["content"][0]["attachment"]["url"] == f"Bundle/{bid}"


def test_invalid_document_fails_the_whole_transaction(fhir):
    good = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    bad = fresh(example("2.0.0", "Bundle/bundle-minimal"), patient_value=unique_ssin())
    bad.pop("timestamp")
    before = count(fhir, "Bundle")
    response = fhir.post("", data=_transaction(good, bad))
    assert response.status_code == 422, response.text
    assert any(e.startswith("Bundle.entry[1]") for i in response.json()["issue"] for e in i.get("expression", []))
    assert count(fhir, "Bundle") == before


def test_patient_is_matched_by_any_system_value(fhir, post_document):
    mrn = {"system": "https://hospital.example.org/mrn", "value": f"MRN-{unique_ssin()}"}
    existing = fhir.post("Patient", data=json.dumps({
        "resourceType": "Patient", "identifier": [mrn], "name": [{"family": "Peeters"}]})).json()
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"))
    patient_of(bundle)["identifier"] = [mrn]  # no SSIN: the hospital's own number only
    posted = post_document(bundle)
    assert posted.status == 201, posted.body
    assert posted.patient == f"Patient/{existing['id']}"
    token = f"{mrn['system']}|{mrn['value']}"
    assert [e["resource"]["id"] for e in fhir.get("Patient", params={"identifier": token}).json()["entry"]] == \
        [existing["id"]]
    summary = fhir.get("Patient/$summary", params={"identifier": token})
    assert summary.status_code == 200 and summary.json()["entry"][1]["fullUrl"].endswith(posted.patient)
