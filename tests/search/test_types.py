"""Each search parameter type with its modifiers and prefixes, against the real Postgres."""

from __future__ import annotations

import pytest

from fhirsrv.store.search import SearchError


@pytest.fixture()
def patients(loader):
    L = loader
    L.put({"resourceType": "Patient", "id": L.id("a"), "active": True, "gender": "female",
           "birthDate": "1970-03-25",
           "name": [{"family": "Müller", "given": ["Anna", "Maria"]}],
           "identifier": [{"system": "urn:oid:1.2.3", "value": "A-1",
                           "type": {"text": "National ID", "coding": [
                               {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "NI"}]}}],
           "telecom": [{"system": "phone", "value": "555-0101"}, {"system": "email", "value": "anna@example.org"}],
           "address": [{"city": "Brussels", "postalCode": "1000"}]})
    L.put({"resourceType": "Patient", "id": L.id("b"), "active": False, "gender": "male",
           "birthDate": "1985", "name": [{"family": "Muller", "given": ["Bert"]}],
           "identifier": [{"system": "urn:oid:9.9", "value": "A-1"}]})
    L.put({"resourceType": "Patient", "id": L.id("c"), "gender": "male", "birthDate": "2001-12-31T23:00:00+01:00",
           "name": [{"family": "Smith", "given": ["Carl"], "text": "Dr Carl Smith"}],
           "deceasedDateTime": "2020-01-01"})
    return L


def ids(loader, rtype, query, **kw):
    return sorted(i.split("-", 1)[1] for i in loader.ids(rtype, query, **kw))


def test_string_default_is_case_and_accent_insensitive_prefix(patients):
    assert ids(patients, "Patient", "family=muller") == ["a", "b"]
    assert ids(patients, "Patient", "name=MÜL") == ["a", "b"]
    assert ids(patients, "Patient", "given=ann") == ["a"]
    assert ids(patients, "Patient", "name=carl smith") == ["c"]


def test_string_exact_and_contains(patients):
    assert ids(patients, "Patient", "family:exact=Müller") == ["a"]
    assert ids(patients, "Patient", "family:exact=müller") == []
    assert ids(patients, "Patient", "family:contains=ulle") == ["a", "b"]
    assert ids(patients, "Patient", "address-city:contains=USS") == ["a"]


def test_string_or_and_and(patients):
    assert ids(patients, "Patient", "family=smith,muller") == ["a", "b", "c"]
    assert ids(patients, "Patient", "family=muller&given=bert") == ["b"]


def test_token_forms(patients):
    assert ids(patients, "Patient", "identifier=A-1") == ["a", "b"]
    assert ids(patients, "Patient", "identifier=urn:oid:1.2.3|A-1") == ["a"]
    assert ids(patients, "Patient", "identifier=urn:oid:9.9|") == ["b"]
    assert ids(patients, "Patient", "identifier=|A-1") == []
    assert ids(patients, "Patient", "gender=male") == ["b", "c"]
    assert ids(patients, "Patient", "active=true") == ["a"]
    assert ids(patients, "Patient", "phone=555-0101") == ["a"]
    assert ids(patients, "Patient", "email=anna@example.org") == ["a"]


def test_token_not_and_text(patients):
    assert ids(patients, "Patient", "gender:not=male") == ["a"]
    assert ids(patients, "Patient", "active:not=true") == ["b", "c"]
    assert ids(patients, "Patient", "identifier:text=national") == ["a"]
    assert ids(patients, "Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|NI|A-1") == ["a"]
    assert ids(patients, "Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|A-1") == []


def test_missing(patients):
    assert ids(patients, "Patient", "active:missing=true") == ["c"]
    assert ids(patients, "Patient", "active:missing=false") == ["a", "b"]
    assert ids(patients, "Patient", "death-date:missing=false") == ["c"]


@pytest.mark.parametrize(("query", "expected"), [
    ("birthdate=1970", ["a"]),
    ("birthdate=1970-03", ["a"]),
    ("birthdate=1970-03-25", ["a"]),
    ("birthdate=1970-03-26", []),
    ("birthdate=ne1970", ["b", "c"]),
    ("birthdate=gt1980", ["b", "c"]),
    ("birthdate=ge1985", ["b", "c"]),
    ("birthdate=lt1985", ["a"]),
    ("birthdate=le1985", ["a", "b"]),
    ("birthdate=sa1985-06", ["c"]),
    ("birthdate=eb1985-06", ["a"]),
    ("birthdate=lt1985-06", ["a", "b"]),
    ("birthdate=2001-12-31", ["c"]),
    ("birthdate=2001-12-31T22:00:00Z", ["c"]),
    ("birthdate=ap1970-03-20", ["a"]),
    ("birthdate=ge1980&birthdate=lt2000", ["b"]),
])
def test_date_prefixes(patients, query, expected):
    assert ids(patients, "Patient", query) == expected


def test_quantity_and_number(loader):
    L = loader
    L.put({"resourceType": "Observation", "id": L.id("o1"), "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
           "valueQuantity": {"value": 120.5, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}})
    L.put({"resourceType": "Observation", "id": L.id("o2"), "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
           "valueQuantity": {"value": 100, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}})
    assert ids(L, "Observation", "value-quantity=120.5") == ["o1"]
    assert ids(L, "Observation", "value-quantity=120") == []
    assert ids(L, "Observation", "value-quantity=1.2e2") == ["o1"]
    assert ids(L, "Observation", "value-quantity=100") == ["o2"]
    assert ids(L, "Observation", "value-quantity=gt100") == ["o1"]
    assert ids(L, "Observation", "value-quantity=ge100") == ["o1", "o2"]
    assert ids(L, "Observation", "value-quantity=lt100") == []
    assert ids(L, "Observation", "value-quantity=ne100") == ["o1"]
    assert ids(L, "Observation", "value-quantity=ap105") == ["o2"]
    assert ids(L, "Observation", "value-quantity=120.5|http://unitsofmeasure.org|mm[Hg]") == ["o1"]
    assert ids(L, "Observation", "value-quantity=120.5||mmHg") == ["o1"]
    assert ids(L, "Observation", "value-quantity=120.5|http://unitsofmeasure.org|kg") == []


def test_number(loader):
    L = loader
    L.put({"resourceType": "RiskAssessment", "id": L.id("r1"), "status": "final",
           "subject": {"reference": "Patient/x"}, "prediction": [{"probabilityDecimal": 0.25}]})
    assert ids(L, "RiskAssessment", "probability=0.25") == ["r1"]
    assert ids(L, "RiskAssessment", "probability=gt0.2") == ["r1"]
    assert ids(L, "RiskAssessment", "probability=lt0.2") == []


def test_reference_forms(loader):
    L = loader
    pid = L.put({"resourceType": "Patient", "id": L.id("p")})
    L.put({"resourceType": "Observation", "id": L.id("o"), "status": "final", "code": {"text": "x"},
           "subject": {"reference": f"Patient/{pid}"}})
    L.put({"resourceType": "Observation", "id": L.id("g"), "status": "final", "code": {"text": "x"},
           "subject": {"reference": f"Group/{pid}"}})
    L.put({"resourceType": "Observation", "id": L.id("abs"), "status": "final", "code": {"text": "x"},
           "subject": {"reference": "http://other.org/fhir/Patient/9"}})
    L.put({"resourceType": "Observation", "id": L.id("i"), "status": "final", "code": {"text": "x"},
           "subject": {"identifier": {"system": "urn:ssn", "value": "123"}}})
    assert ids(L, "Observation", f"subject=Patient/{pid}") == ["o"]
    assert ids(L, "Observation", f"patient={pid}") == ["o"]
    assert ids(L, "Observation", f"subject={pid}") == ["g", "o"]
    assert ids(L, "Observation", f"subject:Group={pid}") == ["g"]
    assert ids(L, "Observation", "subject=http://other.org/fhir/Patient/9") == ["abs"]
    assert ids(L, "Observation", "subject:identifier=urn:ssn|123") == ["i"]
    assert ids(L, "Observation", "subject:missing=true") == []


def test_uri_below_above(loader):
    L = loader
    L.put({"resourceType": "ValueSet", "id": L.id("v"), "status": "active", "url": "http://acme.org/fhir/ValueSet/a"})
    assert ids(L, "ValueSet", "url=http://acme.org/fhir/ValueSet/a") == ["v"]
    assert ids(L, "ValueSet", "url=http://acme.org/fhir") == []
    assert ids(L, "ValueSet", "url:below=http://acme.org/fhir") == ["v"]
    assert ids(L, "ValueSet", "url:above=http://acme.org/fhir/ValueSet/a/extra") == ["v"]


def test_composite_matches_components_of_the_same_instance(loader):
    L = loader
    L.put({"resourceType": "Observation", "id": L.id("bp"), "status": "final", "code": {"text": "bp"},
           "component": [
               {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": 120, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
               {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                "valueQuantity": {"value": 80, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]})
    assert ids(L, "Observation", "component-code-value-quantity=http://loinc.org|8480-6$120") == ["bp"]
    assert ids(L, "Observation", "component-code-value-quantity=http://loinc.org|8480-6$gt100") == ["bp"]
    assert ids(L, "Observation", "component-code-value-quantity=http://loinc.org|8480-6$80") == []
    assert ids(L, "Observation", "component-code-value-quantity=8462-4$80") == ["bp"]


def test_id_and_last_updated(patients):
    a = patients.id("a")
    assert ids(patients, "Patient", f"_id={a}") == ["a"]
    assert ids(patients, "Patient", f"_id={a},{patients.id('c')}") == ["a", "c"]
    assert ids(patients, "Patient", "_lastUpdated=gt2020-01-01") == ["a", "b", "c"]
    assert ids(patients, "Patient", "_lastUpdated=lt2020-01-01") == []


@pytest.mark.parametrize(("query", "fragment"), [
    ("foo=bar", "unknown search parameter 'foo'"),
    ("birthdate=xx2020", "'xx' is not a prefix"),
    ("birthdate=2020-13-01", "is not a date"),
    ("birthdate=yesterday", "is not a prefix"),
    ("family:text=x", "not a valid modifier"),
    ("gender:exact=x", "not a valid modifier"),
    ("gender:in=http://vs", "need the terminology service"),
    ("language:below=en", "needs a system and a code"),
    ("language:below=urn:ietf:bcp:47|en", ":below needs the terminology service"),
    ("general-practitioner:below=Practitioner/1", "not supported"),
    ("active:missing=maybe", "expected true or false"),
    ("_count=-1", "must not be negative"),
    ("_sort=foo", "unknown search parameter"),
    ("_include=Observation:subject", "not the type searched"),
    ("_include=Patient:name", "no reference parameter"),
    ("general-practitioner.foo=1", "no type"),
    ("name.family=x", "not a reference parameter"),
    ("_total=sometimes", "not one of"),
])
def test_bad_requests_are_errors(patients, query, fragment):
    with pytest.raises(SearchError) as caught:
        patients.search("Patient", query)
    assert fragment in caught.value.message


def test_lenient_ignores_unknown_parameters(patients):
    result = patients.search("Patient", "foo=bar&family=smith", lenient=True)
    assert [m.id for m in result.matches] == [patients.id("c")]
    assert result.ignored and result.ignored[0][0] == "foo"


def test_profile_with_or_without_version(loader):
    L = loader
    L.put({"resourceType": "Patient", "id": L.id("prof"),
           "meta": {"profile": ["http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips|1.1.0"]}})
    assert ids(L, "Patient", "_profile=http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips") == ["prof"]
    assert ids(L, "Patient", "_profile=http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips|1.1.0") == ["prof"]
