"""ISO 3166 (urn:iso:std:iso:3166, urn:iso:std:iso:3166:-2), generated from pycountry
(fhirsrv/terminology/generated.py): the packages carry only a not-present stub of it."""

from __future__ import annotations

from .conftest import params

ISO_3166 = "urn:iso:std:iso:3166"
ISO_3166_2 = "urn:iso:std:iso:3166:-2"
JURISDICTION = "http://hl7.org/fhir/ValueSet/jurisdiction"


def test_alpha_2_alpha_3_and_numeric_codes_are_members_of_jurisdiction(session):
    for code in ("BE", "BEL", "056"):
        answer = session.validate_code(JURISDICTION, system=ISO_3166, code=code)
        assert (answer.valid, answer.display) == (True, "Belgium"), code
    assert session.validate_code(JURISDICTION, system=ISO_3166, code="XX").valid is False
    assert session.validate_code(JURISDICTION, system=ISO_3166_2, code="BE-VAN").valid is True


def test_a_display_naming_another_country_is_wrong_for_certain(session):
    answer = session.validate_code(JURISDICTION, system=ISO_3166, code="BD", display="Australia")
    assert (answer.valid, answer.wrong_display, answer.display_unsure) == (True, True, False)
    assert "'Bangladesh'" in answer.message
    doubtful = session.validate_code(JURISDICTION, system=ISO_3166, code="US", display="United States of America (the)")
    assert (doubtful.wrong_display, doubtful.display_unsure) == (True, True)
    assert not session.validate_code(JURISDICTION, system=ISO_3166, code="US", display="united states of america").wrong_display


def test_codesystem_validate_code_over_http(fhir):
    out = params(fhir.get("CodeSystem/$validate-code", params={"url": ISO_3166, "code": "BD"}).json())
    assert (out["result"], out["display"]) == (True, "Bangladesh")
    out = params(fhir.get("CodeSystem/$validate-code", params={"url": ISO_3166, "code": "ZZ"}).json())
    assert out["result"] is False and "not a code" in out["message"]


def test_valueset_validate_code_over_http(fhir):
    out = params(fhir.get("ValueSet/$validate-code", params={"url": JURISDICTION, "system": ISO_3166, "code": "BD",
                                                             "display": "Australia"}).json())
    assert out["result"] is True and "does not match the display 'Bangladesh'" in out["message"]
    out = params(fhir.get("ValueSet/$validate-code", params={"url": JURISDICTION, "system": ISO_3166_2, "code": "BE-VAN"}).json())
    assert (out["result"], out["display"]) == (True, "Antwerpen")
