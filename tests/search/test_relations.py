"""Chaining, reverse chaining (_has), _include/_revinclude (with :iterate), _sort and paging."""

from __future__ import annotations

import pytest

from fhirsrv.store.repository import now
from fhirsrv.store.search import SearchRequest, execute

from .conftest import TAG_SYSTEM


@pytest.fixture()
def family(loader):
    """Org <- Practitioner <- Patient(s) <- Observations, Encounter; Provenance -> Observation."""
    L = loader
    org = L.put({"resourceType": "Organization", "id": L.id("org"), "name": "Saint Luc"})
    doc = L.put({"resourceType": "Practitioner", "id": L.id("doc"), "name": [{"family": "House"}],
                 "identifier": [{"system": "urn:npi", "value": "N1"}]})
    role = L.put({"resourceType": "PractitionerRole", "id": L.id("role"), "practitioner": {"reference": f"Practitioner/{doc}"},
                  "organization": {"reference": f"Organization/{org}"}})
    p1 = L.put({"resourceType": "Patient", "id": L.id("p1"), "name": [{"family": "Alpha"}],
                "identifier": [{"system": "urn:mrn", "value": "M1"}],
                "generalPractitioner": [{"reference": f"Practitioner/{doc}"}],
                "managingOrganization": {"reference": f"Organization/{org}"}})
    p2 = L.put({"resourceType": "Patient", "id": L.id("p2"), "name": [{"family": "Beta"}],
                "identifier": [{"system": "urn:mrn", "value": "M2"}]})
    for pid, code, value in [(p1, "8867-4", 70), (p1, "8310-5", 37), (p2, "8867-4", 90)]:
        L.put({"resourceType": "Observation", "id": L.id(f"obs-{pid[-2:]}-{code}"), "status": "final",
               "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
               "subject": {"reference": f"Patient/{pid}"}, "performer": [{"reference": f"PractitionerRole/{role}"}],
               "valueQuantity": {"value": value}})
    L.put({"resourceType": "Provenance", "id": L.id("prov"), "recorded": "2024-01-01T00:00:00Z",
           "target": [{"reference": f"Observation/{L.id(f'obs-{p1[-2:]}-8867-4')}"}],
           "agent": [{"who": {"reference": f"Practitioner/{doc}"}}]})
    return L


def local(loader, result_ids):
    return sorted(i.split("-", 1)[1] for i in result_ids)


def test_chain_one_level(family):
    L = family
    assert local(L, L.ids("Observation", "subject:Patient.identifier=urn:mrn|M1")) == ["obs-p1-8310-5", "obs-p1-8867-4"]
    assert local(L, L.ids("Observation", "patient.name=beta")) == ["obs-p2-8867-4"]
    assert local(L, L.ids("Observation", "subject.name=beta&code=8867-4")) == ["obs-p2-8867-4"]


def test_chain_two_levels(family):
    L = family
    assert local(L, L.ids("Observation", "patient.general-practitioner:Practitioner.identifier=N1")) == [
        "obs-p1-8310-5", "obs-p1-8867-4"]
    assert local(L, L.ids("Observation", "performer:PractitionerRole.organization.name=saint")) == [
        "obs-p1-8310-5", "obs-p1-8867-4", "obs-p2-8867-4"]


def test_reverse_chain(family):
    L = family
    assert local(L, L.ids("Patient", "_has:Observation:patient:code=8310-5")) == ["p1"]
    assert local(L, L.ids("Patient", "_has:Observation:patient:code=8867-4")) == ["p1", "p2"]
    assert local(L, L.ids("Patient", "_has:Observation:subject:_has:Provenance:target:agent.identifier=N1")) == [
        "p1"]


def test_include_and_revinclude(family):
    L = family
    result = L.search("Observation", "code=8867-4&_include=Observation:patient")
    assert local(L, [m.id for m in result.matches]) == ["obs-p1-8867-4", "obs-p2-8867-4"]
    assert local(L, [m.id for m in result.includes]) == ["p1", "p2"]
    result = L.search("Patient", "name=alpha&_revinclude=Observation:subject")
    assert local(L, [m.id for m in result.includes]) == ["obs-p1-8310-5", "obs-p1-8867-4"]
    result = L.search("Patient", "name=alpha&_include=*")
    assert local(L, [m.id for m in result.includes]) == ["doc", "org"]


def test_include_iterate(family):
    L = family
    plain = L.search("Observation", "code=8310-5&_include=Observation:performer")
    assert local(L, [m.id for m in plain.includes]) == ["role"]
    iterated = L.search("Observation",
                        "code=8310-5&_include=Observation:performer&_include:iterate=PractitionerRole:organization")
    assert local(L, [m.id for m in iterated.includes]) == ["org", "role"]
    rev = L.search("Patient", "name=alpha&_revinclude=Observation:subject&_revinclude:iterate=Provenance:target")
    assert "prov" in local(L, [m.id for m in rev.includes])


def test_sort_several_keys(family):
    L = family
    result = L.ids("Observation", "_sort=-value-quantity")
    assert local(L, result) == local(L, result)  # deterministic
    assert [i.split("-", 1)[1] for i in result] == ["obs-p2-8867-4", "obs-p1-8867-4", "obs-p1-8310-5"]
    result = L.ids("Observation", "_sort=code,-value-quantity")
    assert [i.split("-", 1)[1] for i in result] == ["obs-p1-8310-5", "obs-p2-8867-4", "obs-p1-8867-4"]
    result = L.ids("Patient", "_sort=-family")
    assert [i.split("-", 1)[1] for i in result] == ["p2", "p1"]
    result = L.ids("Patient", "_sort=_id")
    assert result == sorted(result)


def test_paging_is_stable_under_concurrent_creates(loader, model):
    L = loader
    for n in range(7):
        L.put({"resourceType": "Patient", "id": L.id(f"q{n}"), "name": [{"family": f"Pager{n}"}]})
    query = [("_tag", f"urn:fhirsrv:test|{L.tag}"), ("_count", "3")]
    first = execute(L.conn, SearchRequest.parse("Patient", query, model))
    assert len(first.matches) == 3 and first.total == 7 and first.next_page
    # a resource created between pages must not shift the pages already planned
    L.put({"resourceType": "Patient", "id": L.id("late"), "name": [{"family": "Late"}]})
    second = execute(L.conn, SearchRequest.parse("Patient", [*query, ("_page", first.next_page)], model))
    third = execute(L.conn, SearchRequest.parse("Patient", [*query, ("_page", second.next_page)], model))
    seen = [m.id for page in (first, second, third) for m in page.matches]
    assert seen == [L.id(f"q{n}") for n in range(7)]
    assert third.next_page is None
    back = execute(L.conn, SearchRequest.parse("Patient", [*query, ("_page", second.prev_page)], model))
    assert [m.id for m in back.matches] == [m.id for m in first.matches]


def test_summary_count_and_total_modes(family):
    L = family
    assert L.search("Observation", "_summary=count").total == 3
    assert L.search("Observation", "_summary=count").matches == []
    assert L.search("Observation", "_total=none&_count=1").total is None
    assert L.search("Observation", "_count=1").total == 3
    assert L.search("Observation", "_total=accurate&_count=1").total == 3


def test_include_with_target_type_and_wildcard_revinclude(family):
    L = family
    typed = L.search("Observation", "code=8310-5&_include=Observation:performer:PractitionerRole")
    assert local(L, [m.id for m in typed.includes]) == ["role"]
    wrong = L.search("Observation", "code=8310-5&_include=Observation:subject:Group")
    assert wrong.includes == []
    anything = L.search("Observation", f"_id={L.id('obs-p1-8867-4')}&_revinclude=*")
    assert local(L, [m.id for m in anything.includes]) == ["prov"]


def test_sort_by_last_updated_descending(family):
    L = family
    ids = L.ids("Observation", "_sort=-_lastUpdated")
    assert [i.split("-", 1)[1] for i in ids] == ["obs-p2-8867-4", "obs-p1-8310-5", "obs-p1-8867-4"]


def test_sort_by_last_updated_within_one_millisecond_follows_the_write_order(loader, store):
    """Times are stored to the millisecond, so writes can tie (a document's entries always do):
    they are listed in the order they were written, newest first for ``-_lastUpdated``."""
    L = loader
    tag = {"system": TAG_SYSTEM, "code": L.tag}
    names = ["first", "second", "third"]
    items = [("Basic", L.id(n), {"resourceType": "Basic", "id": L.id(n), "meta": {"tag": [tag]},
                                 "code": {"text": n}}) for n in names]
    with L.conn.transaction(), L.conn.cursor() as cur:
        store.create_many(cur, items, surrogates=store.allocate_surrogates(cur, 3), moment=now())
    def in_order(query: str) -> list[str]:
        return [i.split("-", 1)[1] for i in L.ids("Basic", query)]

    assert in_order("_sort=-_lastUpdated") == ["third", "second", "first"]
    assert in_order("_sort=_lastUpdated") == names


def test_chain_into_the_composition_a_document_bundle_carries(loader):
    L = loader
    pid = L.id("doc-patient")
    document = {"resourceType": "Bundle", "id": L.id("ips"), "type": "document",
                "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{L.tag}"},
                "timestamp": "2024-05-01T10:00:00Z",
                "entry": [{"fullUrl": f"urn:uuid:{L.tag}-c", "resource": {
                    "resourceType": "Composition", "status": "final",
                    "type": {"coding": [{"system": "http://loinc.org", "code": "60591-5"}]},
                    "subject": {"reference": f"Patient/{pid}"}, "date": "2024-05-01",
                    "author": [{"display": "x"}], "title": "Patient Summary"}}]}
    L.put(document)
    assert local(L, L.ids("Bundle", f"composition.subject=Patient/{pid}")) == ["ips"]
    assert local(L, L.ids("Bundle", "composition.type=http://loinc.org|60591-5")) == ["ips"]
    assert L.ids("Bundle", "composition.subject=Patient/nobody") == []


def test_sorted_paging_covers_every_match_once(loader, model):
    L = loader
    for n, family_name in enumerate(["delta", "alpha", "echo", "bravo", "charlie", "alpha"]):
        L.put({"resourceType": "Patient", "id": L.id(f"s{n}"), "name": [{"family": family_name}]})
    query = [("_tag", f"urn:fhirsrv:test|{L.tag}"), ("_sort", "family,-_id"), ("_count", "4")]
    first = execute(L.conn, SearchRequest.parse("Patient", query, model))
    second = execute(L.conn, SearchRequest.parse("Patient", [*query, ("_page", first.next_page)], model))
    names = [m.id.split("-", 1)[1] for m in first.matches + second.matches]
    assert names == ["s5", "s1", "s3", "s4", "s0", "s2"]  # alpha (s5 before s1: -_id), bravo, charlie …
    assert second.next_page is None
