"""CRUD, versioning and headers through HTTP against the real Postgres."""

from __future__ import annotations

PATIENT = (
    '{"resourceType":"Patient","identifier":[{"system":"https://example.org/mrn","value":"A-1"}],'
    '"extension":[{"url":"https://example.org/ext/weight","valueDecimal":132.50}],'
    '"name":[{"family":"Peeters","given":["An"]}],"gender":"female","birthDate":"1980-02-03"}'
)


def _without_meta(text: str) -> str:
    import json

    data = json.loads(text)
    data.pop("meta", None)
    data.pop("id", None)
    return json.dumps(data)


def test_create_read_is_lossless(fhir):
    created = fhir.post("Patient", data=PATIENT)
    assert created.status_code == 201
    rid = created.json()["id"]
    assert created.headers["Location"].endswith(f"/Patient/{rid}/_history/1")
    assert created.headers["ETag"] == 'W/"1"'
    read = fhir.get(f"Patient/{rid}")
    assert read.status_code == 200
    assert read.headers["Content-Type"].startswith("application/fhir+json")
    assert "132.50" in read.text  # decimal text kept exactly
    body = read.json()
    assert list(body) == ["resourceType", "id", "meta", "identifier", "extension", "name", "gender", "birthDate"]
    assert body["meta"]["versionId"] == "1"
    assert _without_meta(read.text) == _without_meta(PATIENT)


def test_update_versions_and_vread(fhir):
    rid = fhir.post("Patient", data=PATIENT).json()["id"]
    updated = fhir.put(f"Patient/{rid}", data=PATIENT.replace('"female"', '"other"').replace("{", f'{{"id":"{rid}",', 1))
    assert updated.status_code == 200
    assert updated.headers["ETag"] == 'W/"2"'
    assert fhir.get(f"Patient/{rid}").json()["gender"] == "other"
    assert fhir.get(f"Patient/{rid}/_history/1").json()["gender"] == "female"
    assert fhir.get(f"Patient/{rid}/_history/2").json()["meta"]["versionId"] == "2"
    missing = fhir.get(f"Patient/{rid}/_history/9")
    assert missing.status_code == 404
    assert missing.json()["issue"][0]["code"] == "not-found"


def test_update_as_create_with_client_id(fhir):
    body = PATIENT.replace("{", '{"id":"client-chosen-1",', 1)
    first = fhir.put("Patient/client-chosen-1", data=body)
    assert first.status_code == 201
    second = fhir.put("Patient/client-chosen-1", data=body)
    assert second.status_code == 200
    assert second.headers["ETag"] == 'W/"2"'


def test_if_match_stale_version_is_412(fhir):
    rid = fhir.post("Patient", data=PATIENT).json()["id"]
    body = PATIENT.replace("{", f'{{"id":"{rid}",', 1)
    ok = fhir.put(f"Patient/{rid}", data=body, headers={"If-Match": 'W/"1"'})
    assert ok.status_code == 200
    stale = fhir.put(f"Patient/{rid}", data=body, headers={"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    assert fhir.get(f"Patient/{rid}").headers["ETag"] == 'W/"2"'


def test_delete_then_read_is_410_and_history_keeps_versions(fhir):
    rid = fhir.post("Patient", data=PATIENT).json()["id"]
    deleted = fhir.delete(f"Patient/{rid}")
    assert deleted.status_code == 200
    gone = fhir.get(f"Patient/{rid}")
    assert gone.status_code == 410
    assert gone.json()["issue"][0]["code"] == "deleted"
    history = fhir.get(f"Patient/{rid}/_history").json()
    assert history["type"] == "history"
    assert history["total"] == 2
    assert history["entry"][0]["request"]["method"] == "DELETE"
    assert "resource" not in history["entry"][0]
    assert history["entry"][1]["resource"]["id"] == rid
    assert fhir.get(f"Patient/{rid}/_history/1").status_code == 200
    again = fhir.put(f"Patient/{rid}", data=PATIENT.replace("{", f'{{"id":"{rid}",', 1))
    assert again.status_code == 201
    assert again.headers["ETag"] == 'W/"3"'


def test_prefer_return(fhir):
    minimal = fhir.post("Patient", data=PATIENT, headers={"Prefer": "return=minimal"})
    assert minimal.status_code == 201 and minimal.text == ""
    assert "Location" in minimal.headers
    outcome = fhir.post("Patient", data=PATIENT, headers={"Prefer": "return=OperationOutcome"})
    assert outcome.json()["resourceType"] == "OperationOutcome"


def test_conditional_read_not_modified(fhir):
    rid = fhir.post("Patient", data=PATIENT).json()["id"]
    first = fhir.get(f"Patient/{rid}")
    again = fhir.get(f"Patient/{rid}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_history_type_and_system_with_since_and_paging(fhir):
    before = fhir.post("Organization", data='{"resourceType":"Organization","name":"x"}').json()
    since = before["meta"]["lastUpdated"]
    for i in range(3):
        fhir.post("Organization", data=f'{{"resourceType":"Organization","name":"org{i}"}}')
    page = fhir.get("Organization/_history", params={"_since": since, "_count": 2}).json()
    assert "total" not in page  # counting a type's whole history is not free: only with _total
    assert len(page["entry"]) == 2
    relations = {link["relation"]: link["url"] for link in page["link"]}
    assert "last" not in relations  # needs the total
    nxt = fhir.get(relations["next"]).json()
    assert len(nxt["entry"]) == 2
    assert nxt["total"] == 4  # the page that reaches the end knows the total for free
    assert "next" not in {link["relation"] for link in nxt["link"]}
    ids = {e["resource"]["id"] for e in page["entry"]} | {e["resource"]["id"] for e in nxt["entry"]}
    assert before["id"] in ids and len(ids) == 4
    counted = fhir.get("Organization/_history", params={"_since": since, "_count": 2, "_total": "accurate"}).json()
    assert counted["total"] == 4
    assert {link["relation"] for link in counted["link"]} >= {"next", "last"}
    system = fhir.get("_history", params={"_count": 1, "_total": "accurate"}).json()
    assert system["total"] >= 4 and len(system["entry"]) == 1
    assert "total" not in fhir.get("_history", params={"_count": 1}).json()


def test_history_total_modes(fhir):
    rid = fhir.post("Patient", data=PATIENT).json()["id"]
    fhir.put(f"Patient/{rid}", data=PATIENT.replace('"resourceType"', f'"id":"{rid}","resourceType"', 1))
    own = fhir.get(f"Patient/{rid}/_history", params={"_count": 1}).json()
    assert own["total"] == 2  # a resource's own history is always counted (it is short)
    assert "total" not in fhir.get(f"Patient/{rid}/_history", params={"_total": "none"}).json()
    bad = fhir.get("Patient/_history", params={"_total": "maybe"})
    assert bad.status_code == 400
    assert bad.json()["issue"][0]["code"] == "value"
    assert bad.json()["issue"][0]["expression"] == ["_total"]


def test_summary_and_elements_on_read(fhir):
    rid = fhir.post("Patient", data=PATIENT).json()["id"]
    subset = fhir.get(f"Patient/{rid}", params={"_elements": "gender"}).json()
    assert set(subset) == {"resourceType", "id", "meta", "gender"}
    assert any(t["code"] == "SUBSETTED" for t in subset["meta"]["tag"])
    summary = fhir.get(f"Patient/{rid}", params={"_summary": "true"}).json()
    assert "extension" not in summary and summary["birthDate"] == "1980-02-03"
