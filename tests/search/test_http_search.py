"""Search over HTTP: searchset Bundles, links and paging, includes, POST _search, errors."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture()
def seeded(fhir):
    tag = uuid.uuid4().hex[:8]
    pid = f"{tag}-p"
    assert fhir.put(f"Patient/{pid}", json={"resourceType": "Patient", "id": pid,
                                          "name": [{"family": f"Zed{tag}", "given": ["Amy"]}]}).status_code == 201
    for n in range(5):
        oid = f"{tag}-o{n}"
        body = {"resourceType": "Observation", "id": oid, "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                "subject": {"reference": f"Patient/{pid}"}, "valueQuantity": {"value": 60 + n}}
        assert fhir.put(f"Observation/{oid}", json=body).status_code == 201
    return tag, pid


def test_search_type_returns_a_searchset(fhir, seeded):
    tag, pid = seeded
    response = fhir.get(f"Patient?name=zed{tag}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
    assert body["total"] == 1
    entry = body["entry"][0]
    assert entry["fullUrl"].endswith(f"/Patient/{pid}")
    assert entry["search"]["mode"] == "match"
    assert entry["resource"]["id"] == pid
    assert any(link["relation"] == "self" for link in body["link"])


def test_paging_follows_next_links(fhir, seeded):
    tag, pid = seeded
    body = fhir.get(f"Observation?patient={pid}&_count=2").json()
    seen = [e["resource"]["id"] for e in body["entry"]]
    pages = 1
    while (nxt := next((link["url"] for link in body["link"] if link["relation"] == "next"), None)):
        body = fhir.get(nxt).json()
        seen += [e["resource"]["id"] for e in body["entry"]]
        pages += 1
    assert pages == 3
    assert seen == [f"{tag}-o{n}" for n in range(5)]
    prev = next(link["url"] for link in body["link"] if link["relation"] == "previous")
    assert [e["resource"]["id"] for e in fhir.get(prev).json()["entry"]] == [f"{tag}-o2", f"{tag}-o3"]


def test_include_entries_are_marked(fhir, seeded):
    tag, pid = seeded
    body = fhir.get(f"Observation?patient={pid}&_include=Observation:subject&_count=10").json()
    modes = [(e["search"]["mode"], e["resource"]["resourceType"]) for e in body["entry"]]
    assert modes.count(("match", "Observation")) == 5
    assert modes.count(("include", "Patient")) == 1


def test_post_search_reads_the_form(fhir, seeded):
    tag, pid = seeded
    response = fhir.post("Observation/_search", data={"patient": pid, "value-quantity": "gt62"},
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert sorted(e["resource"]["id"] for e in response.json()["entry"]) == [f"{tag}-o3", f"{tag}-o4"]


def test_system_search_with_type(fhir, seeded):
    tag, pid = seeded
    body = fhir.get(f"?_type=Patient,Observation&_id={pid},{tag}-o1").json()
    assert sorted(e["resource"]["id"] for e in body["entry"]) == [f"{tag}-o1", pid]


def test_summary_count_and_elements(fhir, seeded):
    tag, pid = seeded
    body = fhir.get(f"Observation?patient={pid}&_summary=count").json()
    assert body["total"] == 5 and not body.get("entry")
    body = fhir.get(f"Observation?patient={pid}&_elements=status&_count=1").json()
    resource = body["entry"][0]["resource"]
    assert "status" in resource and "valueQuantity" not in resource
    assert any(t.get("code") == "SUBSETTED" for t in resource["meta"]["tag"])


def test_unknown_parameter_is_400_unless_lenient(fhir, seeded):
    tag, pid = seeded
    response = fhir.get(f"Patient?name=zed{tag}&shoe-size=44")
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "shoe-size" in outcome["issue"][0]["diagnostics"]
    response = fhir.get(f"Patient?name=zed{tag}&shoe-size=44", headers={"Prefer": "handling=lenient"})
    assert response.status_code == 200
    body = response.json()
    assert [e["search"]["mode"] for e in body["entry"]] == ["match", "outcome"]
    assert body["entry"][1]["resource"]["issue"][0]["severity"] == "warning"


@pytest.mark.parametrize("query", ["Patient?birthdate=xx2020", "Patient?birthdate=2020-02-30",
                                   "Patient?gender:exact=male", "Observation?_sort=nonsense"])
def test_bad_searches_are_400_with_an_outcome(fhir, query):
    response = fhir.get(query)
    assert response.status_code == 400
    assert response.json()["issue"][0]["code"] in {"invalid", "not-supported"}


def test_conditional_create_uses_search(fhir):
    tag = uuid.uuid4().hex[:8]
    body = {"resourceType": "Patient", "identifier": [{"system": "urn:t", "value": tag}]}
    first = fhir.post("Patient", json=body, headers={"If-None-Exist": f"identifier=urn:t|{tag}"})
    second = fhir.post("Patient", json=body, headers={"If-None-Exist": f"identifier=urn:t|{tag}"})
    assert first.status_code == 201 and second.status_code == 200
    bad = fhir.post("Patient", json=body, headers={"If-None-Exist": "nonsense=1"})
    assert bad.status_code == 400


def test_absolute_reference_to_this_server_matches(fhir, seeded, base_url):
    tag, pid = seeded
    body = fhir.get(f"Observation?subject={base_url}/Patient/{pid}&_summary=count").json()
    assert body["total"] == 5


def test_in_and_not_in_a_value_set(fhir):
    tag = uuid.uuid4().hex[:8]
    for gender in ("male", "female"):
        fhir.put(f"Patient/{tag}-{gender}", json={"resourceType": "Patient", "id": f"{tag}-{gender}",
                                                  "gender": gender, "name": [{"family": f"Vs{tag}"}]})
    vs = "http://hl7.org/fhir/ValueSet/administrative-gender"
    body = fhir.get(f"Patient?name=vs{tag}&gender:in={vs}").json()
    assert sorted(e["resource"]["id"] for e in body["entry"]) == [f"{tag}-female", f"{tag}-male"]
    body = fhir.get(f"Patient?name=vs{tag}&gender:not-in={vs}").json()
    assert not body.get("entry")
    response = fhir.get("Patient?gender:in=http://example.org/no-such-valueset")
    assert response.status_code == 400


def test_in_a_value_set_a_user_stored(fhir):
    """:in expands ValueSets users stored (over their stored CodeSystem), not only shipped ones."""
    tag = uuid.uuid4().hex[:8]
    system = f"https://fhirsrv.dev/test/CodeSystem/colour-{tag}"
    vs = f"https://fhirsrv.dev/test/ValueSet/warm-{tag}"
    assert fhir.put(f"CodeSystem/colour-{tag}", json={
        "resourceType": "CodeSystem", "id": f"colour-{tag}", "url": system, "status": "active",
        "content": "complete", "concept": [{"code": "red"}, {"code": "orange"}, {"code": "blue"}]}).status_code == 201
    assert fhir.put(f"ValueSet/warm-{tag}", json={
        "resourceType": "ValueSet", "id": f"warm-{tag}", "url": vs, "status": "active",
        "compose": {"include": [{"system": system, "concept": [{"code": "red"}, {"code": "orange"}]}]}}).status_code == 201
    for colour in ("red", "orange", "blue"):
        assert fhir.put(f"Observation/{tag}-{colour}", json={
            "resourceType": "Observation", "id": f"{tag}-{colour}", "status": "final",
            "code": {"coding": [{"system": system, "code": colour}]}}).status_code == 201
    body = fhir.get(f"Observation?code:in={vs}").json()
    assert sorted(e["resource"]["id"] for e in body["entry"]) == [f"{tag}-orange", f"{tag}-red"]
    body = fhir.get(f"Observation?code:not-in={vs}&code={system}|").json()
    assert [e["resource"]["id"] for e in body["entry"]] == [f"{tag}-blue"]


def _hierarchy_seed(fhir, content: str = "complete") -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    system = f"https://fhirsrv.dev/test/CodeSystem/shapes-{tag}"
    concepts = [{"code": "shape", "concept": [{"code": "polygon", "concept": [{"code": "square"}]}, {"code": "circle"}]},
                {"code": "colour"}]
    assert fhir.put(f"CodeSystem/shapes-{tag}", json={
        "resourceType": "CodeSystem", "id": f"shapes-{tag}", "url": system, "status": "active",
        "hierarchyMeaning": "is-a", "content": content, "concept": concepts}).status_code == 201
    for code in ("shape", "polygon", "square", "circle", "colour"):
        assert fhir.put(f"Observation/{tag}-{code}", json={
            "resourceType": "Observation", "id": f"{tag}-{code}", "status": "final",
            "code": {"coding": [{"system": system, "code": code}]}}).status_code == 201
    return tag, system


def _ids(fhir, query: str) -> list[str]:
    response = fhir.get(query)
    assert response.status_code == 200, response.text
    return sorted(e["resource"]["id"].split("-", 1)[1] for e in response.json().get("entry", []))


def test_token_below_and_above_follow_the_code_system_hierarchy(fhir):
    tag, system = _hierarchy_seed(fhir)
    assert _ids(fhir, f"Observation?code:below={system}|polygon") == ["polygon", "square"]
    assert _ids(fhir, f"Observation?code:below={system}|shape") == ["circle", "polygon", "shape", "square"]
    assert _ids(fhir, f"Observation?code:above={system}|square") == ["polygon", "shape", "square"]
    assert _ids(fhir, f"Observation?code:above={system}|colour") == ["colour"]


@pytest.mark.parametrize("value, why", [
    ("polygon", "needs a system and a code"),
    ("https://fhirsrv.dev/test/CodeSystem/unknown|polygon", "not known to this server"),
    ("{system}|hexagon", "is not a code of"),
])
def test_token_below_errors(fhir, value, why):
    tag, system = _hierarchy_seed(fhir)
    response = fhir.get(f"Observation?code:below={value.format(system=system)}")
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["code"] in ("invalid", "not-supported", "value", "processing")
    assert why in issue["diagnostics"]


def test_token_below_refuses_a_code_system_known_only_in_part(fhir):
    tag, system = _hierarchy_seed(fhir, content="fragment")
    response = fhir.get(f"Observation?code:below={system}|polygon")
    assert response.status_code == 400
    assert "only partly known" in response.json()["issue"][0]["diagnostics"]
