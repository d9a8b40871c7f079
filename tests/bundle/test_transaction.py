"""transaction Bundles through HTTP: atomicity, order, reference rewriting, conditionals, answers."""

from __future__ import annotations

import json
import uuid


def _uid() -> str:
    return str(uuid.uuid4())


def _transaction(*entries: dict) -> str:
    return json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": list(entries)})


def _post(resource: dict, full_url: str | None = None, **request) -> dict:
    entry = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"], **request}}
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def _patient(mrn: str, **extra) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": "https://example.org/mrn", "value": mrn}], **extra}


def _statuses(response) -> list[str]:
    return [e["response"]["status"] for e in response.json()["entry"]]


def _id_of(entry: dict) -> str:
    return entry["response"]["location"].split("/_history/")[0].rsplit("/", 1)[1]


def test_urn_uuid_references_are_rewritten_everywhere(fhir):
    p_url, enc_url = f"urn:uuid:{_uid()}", f"urn:uuid:{_uid()}"
    observation = {
        "resourceType": "Observation",
        "text": {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><a href="{p_url}">p</a></div>'},
        "contained": [{"resourceType": "Provenance", "id": "prov", "target": [{"reference": p_url}],
                       "recorded": "2024-01-01T00:00:00Z", "agent": [{"who": {"reference": p_url}}]}],
        "extension": [{"url": "https://example.org/ext/about", "valueReference": {"reference": p_url}}],
        "status": "final",
        "code": {"text": "weight"},
        "subject": {"reference": p_url, "display": "the patient"},
        "encounter": {"reference": enc_url},
        "valueQuantity": {"value": "DECIMAL", "unit": "kg"},
        "focus": [{"reference": "#prov"}],
    }
    # The Observation comes first: ids of later entries must already be known when it is stored.
    answer = fhir.post("", data=_transaction(
        _post(observation, f"urn:uuid:{_uid()}"),
        _post({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
               "subject": {"reference": p_url}}, enc_url),
        _post(_patient(_uid()), p_url),
    ).replace('"DECIMAL"', "72.50"))
    assert answer.status_code == 200, answer.text
    entries = answer.json()["entry"]
    obs_id, enc_id, pat_id = (_id_of(e) for e in entries)
    stored = fhir.get(f"Observation/{obs_id}")
    assert '"value":72.50' in stored.text  # lossless through the rewrite
    obs = stored.json()
    assert obs["subject"] == {"reference": f"Patient/{pat_id}", "display": "the patient"}
    assert obs["encounter"]["reference"] == f"Encounter/{enc_id}"
    assert obs["extension"][0]["valueReference"]["reference"] == f"Patient/{pat_id}"
    assert obs["contained"][0]["target"][0]["reference"] == f"Patient/{pat_id}"
    assert obs["contained"][0]["agent"][0]["who"]["reference"] == f"Patient/{pat_id}"
    assert obs["focus"][0]["reference"] == "#prov"
    assert f'href="Patient/{pat_id}"' in obs["text"]["div"]
    assert fhir.get(f"Encounter/{enc_id}").json()["subject"]["reference"] == f"Patient/{pat_id}"


def test_absolute_full_urls_and_relative_references_resolve_against_them(fhir):
    base = "http://elsewhere.example/fhir"
    patient = _patient(_uid(), id="p1")
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                   "subject": {"reference": "Patient/p1"}, "focus": [{"reference": f"{base}/Patient/p1"}]}
    answer = fhir.post("", data=_transaction(_post(patient, f"{base}/Patient/p1"),
                                             _post(observation, f"{base}/Observation/o1")))
    assert answer.status_code == 200, answer.text
    pat_id, obs_id = (_id_of(e) for e in answer.json()["entry"])
    assert pat_id != "p1"  # a POST gets a server id whatever the body says
    obs = fhir.get(f"Observation/{obs_id}").json()
    assert obs["subject"]["reference"] == f"Patient/{pat_id}"
    assert obs["focus"][0]["reference"] == f"Patient/{pat_id}"


def test_processing_order_and_response_order(fhir):
    keep, drop = f"ord-{_uid()[:8]}", f"ord-{_uid()[:8]}"
    assert fhir.put(f"Patient/{drop}", data=json.dumps(_patient("d", id=drop))).status_code == 201
    answer = fhir.post("", data=_transaction(
        {"request": {"method": "GET", "url": f"Patient/{keep}"}},  # GETs run last: sees the PUT
        {"resource": _patient("k", id=keep, gender="other"), "request": {"method": "PUT", "url": f"Patient/{keep}"}},
        {"request": {"method": "DELETE", "url": f"Patient/{drop}"}},
        _post(_patient("n")),
    ))
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    assert bundle["type"] == "transaction-response"
    assert _statuses(answer) == ["200 OK", "201 Created", "204 No Content", "201 Created"]
    assert bundle["entry"][0]["resource"]["gender"] == "other"
    assert fhir.get(f"Patient/{drop}").status_code == 410


def test_response_entries_carry_location_etag_last_modified_and_prefer(fhir):
    body = _transaction(_post(_patient(_uid())), _post({"resourceType": "Organization", "name": "o"}))
    full = fhir.post("", data=body).json()["entry"]
    for entry in full:
        response = entry["response"]
        assert response["status"] == "201 Created"
        assert "/_history/1" in response["location"] and response["location"].startswith("http")
        assert response["etag"] == 'W/"1"'
        assert response["lastModified"].endswith("Z")
        assert entry["resource"]["meta"]["versionId"] == "1"
        assert entry["fullUrl"] == response["location"].split("/_history/")[0]
    minimal = fhir.post("", data=body, headers={"Prefer": "return=minimal"}).json()["entry"]
    assert all("resource" not in e and "location" in e["response"] for e in minimal)
    outcome = fhir.post("", data=body, headers={"Prefer": "return=OperationOutcome"}).json()["entry"]
    assert all(e["response"]["outcome"]["resourceType"] == "OperationOutcome" for e in outcome)


def test_failing_fifth_entry_leaves_no_trace_of_the_first_four(fhir):
    existing = f"rb-{_uid()[:8]}"
    fhir.put(f"Patient/{existing}", data=json.dumps(_patient("orig", id=existing, gender="male")))
    fresh, stale = f"rb-{_uid()[:8]}", f"rb-{_uid()[:8]}"
    fhir.put(f"Patient/{stale}", data=json.dumps(_patient("s", id=stale)))
    fhir.put(f"Patient/{stale}", data=json.dumps(_patient("s", id=stale, active=True)))
    org_mark = _uid()
    before = fhir.get("Organization/_history", params={"_total": "accurate"}).json()["total"]
    p_url = f"urn:uuid:{_uid()}"
    answer = fhir.post("", data=_transaction(
        _post({"resourceType": "Organization", "name": org_mark}),
        _post(_patient(_uid()), p_url),
        {"resource": _patient("upd", id=existing, gender="female"),
         "request": {"method": "PUT", "url": f"Patient/{existing}"}},
        {"resource": _patient("new", id=fresh), "request": {"method": "PUT", "url": f"Patient/{fresh}"}},
        {"resource": _patient("s", id=stale), "request": {"method": "PUT", "url": f"Patient/{stale}", "ifMatch": 'W/"1"'}},
    ))
    assert answer.status_code == 412, answer.text
    issue = answer.json()["issue"][0]
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert issue["expression"] == ["Bundle.entry[4].request.ifMatch"]
    assert "entry 4" in issue["diagnostics"]
    # read: nothing of entries 0-3 is visible
    assert fhir.get(f"Patient/{existing}").json()["gender"] == "male"
    assert fhir.get(f"Patient/{fresh}").status_code == 404
    # history: no version was written, not even a rolled-back one
    assert fhir.get(f"Patient/{existing}/_history").json()["total"] == 1
    assert fhir.get(f"Patient/{fresh}/_history").status_code == 404
    assert fhir.get(f"Patient/{stale}/_history").json()["total"] == 2
    assert fhir.get("Organization/_history", params={"_total": "accurate"}).json()["total"] == before


def test_invalid_resource_is_422_pointing_into_the_bundle(fhir):
    answer = fhir.post("", data=_transaction(_post(_patient("a")), _post(_patient("b", id="not valid!"))))
    assert answer.status_code == 422
    assert answer.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.id"]


def test_conditional_create_matches_existing_and_links_follow(fhir):
    mrn = _uid()
    first = fhir.post("Patient", data=json.dumps(_patient(mrn))).json()["id"]
    p_url = f"urn:uuid:{_uid()}"
    answer = fhir.post("", data=_transaction(
        _post(_patient(mrn, gender="female"), p_url, ifNoneExist=f"identifier=https://example.org/mrn|{mrn}"),
        _post({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": p_url}}),
    ))
    assert answer.status_code == 200, answer.text
    entries = answer.json()["entry"]
    assert _statuses(answer) == ["200 OK", "201 Created"]
    assert _id_of(entries[0]) == first
    assert "gender" not in fhir.get(f"Patient/{first}").json()  # not overwritten
    assert fhir.get(f"Observation/{_id_of(entries[1])}").json()["subject"]["reference"] == f"Patient/{first}"
    # no match: created once, and a second entry with the same criteria is the same resource
    mrn2 = _uid()
    again = fhir.post("", data=_transaction(
        _post(_patient(mrn2), ifNoneExist=f"identifier=https://example.org/mrn|{mrn2}"),
        _post(_patient(mrn2), ifNoneExist=f"identifier=https://example.org/mrn|{mrn2}"),
    ))
    assert _statuses(again) == ["201 Created", "200 OK"]
    assert len({_id_of(e) for e in again.json()["entry"]}) == 1


def test_conditional_update_and_delete(fhir):
    mrn = _uid()
    rid = fhir.post("Patient", data=json.dumps(_patient(mrn))).json()["id"]
    criteria = f"Patient?identifier=https://example.org/mrn|{mrn}"
    answer = fhir.post("", data=_transaction(
        {"resource": _patient(mrn, gender="unknown"), "request": {"method": "PUT", "url": criteria}}))
    assert answer.status_code == 200, answer.text
    assert _statuses(answer) == ["200 OK"]
    assert _id_of(answer.json()["entry"][0]) == rid
    assert fhir.get(f"Patient/{rid}").json()["gender"] == "unknown"
    mrn_new = _uid()
    created = fhir.post("", data=_transaction(
        {"resource": _patient(mrn_new), "request": {"method": "PUT",
                                                    "url": f"Patient?identifier=https://example.org/mrn|{mrn_new}"}}))
    assert _statuses(created) == ["201 Created"]
    gone = fhir.post("", data=_transaction({"request": {"method": "DELETE", "url": criteria}}))
    assert gone.status_code == 200 and fhir.get(f"Patient/{rid}").status_code == 410


def test_conditional_references(fhir):
    mrn = _uid()
    rid = fhir.post("Patient", data=json.dumps(_patient(mrn))).json()["id"]
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                   "subject": {"reference": f"Patient?identifier=https://example.org/mrn|{mrn}"}}
    answer = fhir.post("", data=_transaction(_post(observation)))
    assert answer.status_code == 200, answer.text
    stored = fhir.get(f"Observation/{_id_of(answer.json()['entry'][0])}").json()
    assert stored["subject"]["reference"] == f"Patient/{rid}"
    # no match, several matches: 412 and nothing stored
    before = fhir.get("Observation/_history", params={"_total": "accurate"}).json()["total"]
    none = dict(observation, subject={"reference": f"Patient?identifier=https://example.org/mrn|{_uid()}"})
    missing = fhir.post("", data=_transaction(_post(_patient(_uid())), _post(none)))
    assert missing.status_code == 412
    assert missing.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.subject.reference"]
    twice = _uid()
    fhir.post("Patient", data=json.dumps(_patient(twice)))
    fhir.post("Patient", data=json.dumps(_patient(twice)))
    several = dict(observation, subject={"reference": f"Patient?identifier=https://example.org/mrn|{twice}"})
    ambiguous = fhir.post("", data=_transaction(_post(several)))
    assert ambiguous.status_code == 412
    assert ambiguous.json()["issue"][0]["code"] == "multiple-matches"
    assert fhir.get("Observation/_history", params={"_total": "accurate"}).json()["total"] == before


def test_same_resource_twice_is_refused(fhir):
    rid = f"twice-{_uid()[:8]}"
    put = {"resource": _patient("x", id=rid), "request": {"method": "PUT", "url": f"Patient/{rid}"}}
    answer = fhir.post("", data=_transaction(put, put))
    assert answer.status_code == 400
    assert fhir.get(f"Patient/{rid}").status_code == 404


def test_get_entries_read_vread_and_missing(fhir):
    rid = fhir.post("Patient", data=json.dumps(_patient(_uid()))).json()["id"]
    answer = fhir.post("", data=_transaction(
        {"request": {"method": "GET", "url": f"Patient/{rid}"}},
        {"request": {"method": "GET", "url": f"Patient/{rid}/_history/1"}},
    ))
    assert _statuses(answer) == ["200 OK", "200 OK"]
    assert all(e["resource"]["id"] == rid for e in answer.json()["entry"])
    missing = fhir.post("", data=_transaction({"request": {"method": "GET", "url": "Patient/does-not-exist"}}))
    assert missing.status_code == 404
    assert missing.json()["issue"][0]["expression"] == ["Bundle.entry[0]"]


def test_get_search_entry_sees_the_transactions_own_writes(fhir):
    mrn = _uid()
    answer = fhir.post("", data=_transaction(
        {"request": {"method": "GET", "url": f"Patient?identifier=https://example.org/mrn|{mrn}"}},
        _post(_patient(mrn)),
    ), headers={"Prefer": "return=minimal"})
    assert answer.status_code == 200, answer.text
    found, created = answer.json()["entry"]
    assert found["resource"]["type"] == "searchset" and found["resource"]["total"] == 1
    assert found["resource"]["entry"][0]["resource"]["id"] == _id_of(created)
    assert "resource" not in created  # Prefer: return=minimal applies to writes, not to reads


def test_bad_criteria_point_at_the_request(fhir):
    answer = fhir.post("", data=_transaction(_post(_patient("x"), ifNoneExist="no-such-param=1")))
    assert answer.status_code == 400, answer.text
    issue = answer.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[0].request.ifNoneExist"]
    assert "no-such-param" in issue["diagnostics"]
    search = fhir.post("", data=_transaction({"request": {"method": "GET", "url": "Patient?no-such-param=1"}}))
    assert search.status_code == 400
    assert search.json()["issue"][0]["expression"] == ["Bundle.entry[0].request.url"]


def test_delete_and_update_of_the_same_resource_overlap(fhir):
    rid = f"ov-{_uid()[:8]}"
    fhir.put(f"Patient/{rid}", data=json.dumps(_patient("o", id=rid)))
    answer = fhir.post("", data=_transaction(
        {"request": {"method": "DELETE", "url": f"Patient/{rid}"}},
        {"resource": _patient("o", id=rid), "request": {"method": "PUT", "url": f"Patient/{rid}"}},
    ))
    assert answer.status_code == 400
    assert "both change" in answer.json()["issue"][0]["diagnostics"]
    assert fhir.get(f"Patient/{rid}").status_code == 200  # the delete was rolled back too
    nothing = fhir.post("", data=_transaction(
        {"request": {"method": "DELETE", "url": f"Patient?identifier=https://example.org/mrn|{_uid()}"}},
        _post(_patient("z")),
    ))
    assert nothing.status_code == 200, nothing.text
    assert _statuses(nothing) == ["200 OK", "201 Created"]


def test_a_document_inside_a_transaction_is_ingested(fhir):
    """The same document Bundle as POST [base]/Bundle takes, but inside a transaction: stored as
    received and decomposed, and other entries can point at it by its fullUrl."""
    from tests.documents.examples import document_bundles, example, fresh, unique_ssin

    document = fresh(example("2.0.0", document_bundles("2.0.0")[0]), patient_value=unique_ssin())
    doc_url = f"urn:uuid:{_uid()}"
    note = {"resourceType": "Communication", "status": "completed",
            "payload": [{"contentReference": {"reference": doc_url}}]}
    answer = fhir.post("", data=_transaction(
        {"fullUrl": doc_url, "resource": document, "request": {"method": "POST", "url": "Bundle"}},
        _post(note),
    ))
    assert answer.status_code == 200, answer.text[:2000]
    doc_entry, note_entry = answer.json()["entry"]
    assert _statuses(answer) == ["201 Created", "201 Created"]
    bundle_id = _id_of(doc_entry)
    stored = fhir.get(f"Bundle/{bundle_id}").json()
    def sans_server(body: dict) -> dict:
        return {k: v for k, v in body.items() if k not in {"id", "meta"}}

    assert sans_server(stored) == sans_server(document)
    refs = fhir.get("DocumentReference", params={"_sort": "-_lastUpdated", "_count": 10}).json()
    assert any(e["resource"]["content"][0]["attachment"].get("url") == f"Bundle/{bundle_id}" for e in refs["entry"])
    payload = fhir.get(f"Communication/{_id_of(note_entry)}").json()["payload"][0]
    assert payload["contentReference"]["reference"] == f"Bundle/{bundle_id}"
    # the same document again: the stored one (200), nothing stored twice, and links follow it
    again = fhir.post("", data=_transaction(
        {"fullUrl": doc_url, "resource": document, "request": {"method": "POST", "url": "Bundle"}},
        _post(note),
    ))
    assert _statuses(again) == ["200 OK", "201 Created"] and _id_of(again.json()["entry"][0]) == bundle_id
    second_note = fhir.get(f"Communication/{_id_of(again.json()['entry'][1])}").json()
    assert second_note["payload"][0]["contentReference"]["reference"] == f"Bundle/{bundle_id}"


def test_an_invalid_document_fails_the_transaction_pointing_inside_it(fhir):
    from tests.documents.examples import document_bundles, example, fresh, unique_ssin

    document = fresh(example("2.0.0", document_bundles("2.0.0")[0]), patient_value=unique_ssin())
    del document["entry"][0]["resource"]["subject"]
    mark = _uid()
    answer = fhir.post("", data=_transaction(
        _post({"resourceType": "Organization", "name": mark}),
        {"resource": document, "request": {"method": "POST", "url": "Bundle"}},
    ))
    assert answer.status_code == 422, answer.text[:1000]
    expressions = [e for i in answer.json()["issue"] for e in i.get("expression", [])]
    assert expressions and all(e.startswith("Bundle.entry[1].resource") for e in expressions), expressions
    assert any(e.startswith("Bundle.entry[1].resource.entry[0].resource") for e in expressions), expressions


def test_concurrent_conditional_creates_store_one_resource(fhir, base_url):
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import FhirClient

    mrn = _uid()
    body = _transaction(_post(_patient(mrn), ifNoneExist=f"identifier=https://example.org/mrn|{mrn}"))

    def post(_: int) -> str:
        with FhirClient(base_url) as client:
            return client.post("", data=body).json()["entry"][0]["response"]["status"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(post, range(4)))
    assert statuses == ["200 OK", "200 OK", "200 OK", "201 Created"]
    found = fhir.get("Patient", params={"identifier": f"https://example.org/mrn|{mrn}"}).json()
    assert found["total"] == 1


def test_canonical_urls_are_not_rewritten(fhir):
    """Conformance resources often use their canonical as fullUrl: that is no link to rewrite."""
    vid = f"vs-{_uid()[:8]}"
    canonical = f"http://example.org/fhir/ValueSet/{vid}"
    value_set = {"resourceType": "ValueSet", "id": vid, "url": canonical, "status": "draft",
                 "compose": {"include": [{"valueSet": [canonical]}]}}
    binary_url = f"urn:uuid:{_uid()}"
    answer = fhir.post("", data=_transaction(
        {"fullUrl": canonical, "resource": value_set, "request": {"method": "PUT", "url": f"ValueSet/{vid}"}},
        {"fullUrl": binary_url, "resource": {"resourceType": "Binary", "contentType": "text/plain", "data": "aGk="},
         "request": {"method": "POST", "url": "Binary"}},
        _post({"resourceType": "DocumentReference", "status": "current",
               "content": [{"attachment": {"contentType": "text/plain", "url": binary_url}}]}),
    ))
    assert answer.status_code == 200, answer.text
    assert fhir.get(f"ValueSet/{vid}").json()["url"] == canonical
    _, binary, docref = answer.json()["entry"]
    stored = fhir.get(f"DocumentReference/{_id_of(docref)}").json()
    assert stored["content"][0]["attachment"]["url"] == f"Binary/{_id_of(binary)}"
