"""Value-set membership (the validator's ValueSetChecker) and expansion over the registry."""

from __future__ import annotations

import time

from fhirsrv.config import Settings
from fhirsrv.conformance.loader import load_registry
from fhirsrv.terminology import CodeCheck, ValueSetChecker
from fhirsrv.terminology.service import TerminologyService

from .conftest import IPS_ABSENT, SNOMED

GENDER_VS = "http://hl7.org/fhir/ValueSet/administrative-gender"
GENDER = "http://hl7.org/fhir/administrative-gender"
IPS_ALLERGY_VS = "http://hl7.org/fhir/uv/ips/ValueSet/allergy-intolerance-uv-ips"

TOY_CS = {
    "resourceType": "CodeSystem", "url": "http://example.org/cs/toy", "version": "1", "status": "active",
    "content": "complete", "copyright": "test", "hierarchyMeaning": "is-a",
    "concept": [
        {"code": "animal", "display": "Animal", "concept": [
            {"code": "mammal", "display": "Mammal", "concept": [
                {"code": "dog", "display": "Dog"}, {"code": "cat", "display": "Cat"}]},
            {"code": "bird", "display": "Bird"}]},
        {"code": "plant", "display": "Plant"},
        {"code": "fern", "display": "Fern", "property": [{"code": "parent", "valueCode": "plant"}]},
    ],
}


def _vs(url, *, include, exclude=None):
    compose = {"include": include}
    if exclude:
        compose["exclude"] = exclude
    return {"resourceType": "ValueSet", "url": url, "status": "active", "copyright": "test", "compose": compose}


def _toy_service():
    shipped = [
        TOY_CS,
        _vs("http://example.org/vs/mammals", include=[{"system": TOY_CS["url"], "filter": [
            {"property": "concept", "op": "is-a", "value": "mammal"}]}]),
        _vs("http://example.org/vs/below-animal", include=[{"system": TOY_CS["url"], "filter": [
            {"property": "concept", "op": "descendent-of", "value": "animal"}]}],
            exclude=[{"system": TOY_CS["url"], "concept": [{"code": "bird"}]}]),
        _vs("http://example.org/vs/not-animal", include=[{"system": TOY_CS["url"], "filter": [
            {"property": "concept", "op": "is-not-a", "value": "animal"}]}]),
        _vs("http://example.org/vs/union", include=[{"valueSet": ["http://example.org/vs/mammals"]},
                                                   {"system": SNOMED, "concept": [{"code": "716186003"}]}]),
        _vs("http://example.org/vs/snomed-filter", include=[{"system": SNOMED, "filter": [
            {"property": "concept", "op": "is-a", "value": "404684003"}]}]),
        _vs("http://example.org/vs/mixed-exclude", include=[{"system": TOY_CS["url"]}],
            exclude=[{"valueSet": ["http://example.org/vs/missing"]}]),
    ]
    return TerminologyService(load_registry(Settings().profiles_dir), shipped)


def test_service_is_a_valueset_checker(service):
    checker: ValueSetChecker = service
    assert checker.validate_code(GENDER_VS, system=GENDER, code="male") == CodeCheck(True, display="Male")


def test_code_not_in_enumerated_valueset_is_false(service):
    check = service.validate_code(GENDER_VS, system=GENDER, code="xx")
    assert check.valid is False and "not in the value set" in check.message


def test_versioned_valueset_reference(service):
    assert service.validate_code(GENDER_VS + "|4.0.1", system=GENDER, code="female").valid is True


def test_snomed_filter_valueset_says_cannot_check(service):
    check = service.validate_code(IPS_ALLERGY_VS, system=SNOMED, code="716186003")
    assert check.valid is None
    assert "http://snomed.info/sct" in check.message


def test_include_valueset_enumerated_part_is_decided(service):
    assert service.validate_code(IPS_ALLERGY_VS, system=IPS_ABSENT, code="no-known-allergies").valid is True
    assert service.validate_code(IPS_ALLERGY_VS, system=IPS_ABSENT, code="no-known-devices").valid is False


def test_unknown_valueset_is_cannot_check(service):
    check = service.validate_code("http://example.org/nope", system=GENDER, code="male")
    assert check.valid is None and check.system_known is False


def test_aliased_system_matches(service):
    vs = "https://fhirsrv.dev/ValueSet/local-lab"
    assert service.validate_code(vs, system="https://fhirsrv.dev/CodeSystem/local-lab", code="hba1c").valid is True


def test_display_mismatch_is_valid_with_message(service):
    check = service.validate_code(GENDER_VS, system=GENDER, code="male", display="Man")
    assert check.valid is True and "does not match" in check.message and check.display == "Male"


def test_hierarchy_filters():
    session = _toy_service().session()
    mammals = session.expansion("http://example.org/vs/mammals")
    assert [m.code for m in mammals.listing()] == ["mammal", "dog", "cat"]
    below = session.expansion("http://example.org/vs/below-animal")
    assert {m.code for m in below.listing()} == {"mammal", "dog", "cat"}
    not_animal = session.expansion("http://example.org/vs/not-animal")
    assert {m.code for m in not_animal.listing()} == {"plant", "fern"}


def test_include_valueset_union_with_enumerated_snomed():
    session = _toy_service().session()
    assert session.validate_code("http://example.org/vs/union", system=SNOMED, code="716186003").valid is True
    assert session.validate_code("http://example.org/vs/union", system=SNOMED, code="1").valid is False
    assert session.validate_code("http://example.org/vs/union", system=TOY_CS["url"], code="dog").valid is True


def test_snomed_filter_cannot_check_and_cannot_expand():
    session = _toy_service().session()
    assert session.validate_code("http://example.org/vs/snomed-filter", system=SNOMED, code="1").valid is None
    assert session.expansion("http://example.org/vs/snomed-filter").complete is False


def test_unevaluable_exclude_makes_members_doubtful():
    session = _toy_service().session()
    check = session.validate_code("http://example.org/vs/mixed-exclude", system=TOY_CS["url"], code="dog")
    assert check.valid is None and "exclude" in check.message


def test_subsumption_uses_nesting_and_parent_property():
    index = _toy_service().session().codesystem(TOY_CS["url"])
    assert index.subsumes("animal", "dog") == "subsumes"
    assert index.subsumes("dog", "mammal") == "subsumed-by"
    assert index.subsumes("plant", "fern") == "subsumes"
    assert index.subsumes("dog", "cat") == "not-subsumed"


def test_membership_is_fast_once_warm(service):
    service.validate_code(GENDER_VS, system=GENDER, code="male")
    service.validate_code(IPS_ALLERGY_VS, system=SNOMED, code="716186003")
    n = 20000
    start = time.perf_counter()
    for _ in range(n):
        service.validate_code(GENDER_VS, system=GENDER, code="male")
        service.validate_code(IPS_ALLERGY_VS, system=SNOMED, code="716186003")
    per_call = (time.perf_counter() - start) / (2 * n)
    assert per_call < 50e-6, f"{per_call * 1e6:.1f} µs per membership test"


def test_every_registry_valueset_expands_without_error(service):
    session = service.session()
    for vs in service.sources.all_of_type("ValueSet"):
        reference = vs["url"] + (f"|{vs['version']}" if vs.get("version") else "")
        assert session.expansion(reference) is not None, reference


def test_concurrent_first_use_never_caches_a_half_built_expansion():
    """Threads racing on a cold cache must all get the complete answer."""
    from concurrent.futures import ThreadPoolExecutor

    service = _toy_service()

    def check(_):
        return service.validate_code("http://example.org/vs/union", system=TOY_CS["url"], code="dog").valid

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(check, range(64))) == {True}
    assert service.session().expansion("http://example.org/vs/union").complete is True  # SNOMED codes enumerated
    assert service.session().expansion("http://example.org/vs/mammals").complete is True
