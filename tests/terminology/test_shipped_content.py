"""The content in terminology/: licences, and every verified row of every shipped ConceptMap."""

from __future__ import annotations

import pytest

from fhirsrv.terminology.conceptmap_rules import check_conceptmap

from .conftest import ATC, CNK, ICPC2, IPS_ABSENT, LOCAL_LAB, LOINC, SNOMED

CNK_ATC_MAP = "https://fhirsrv.dev/ConceptMap/cnk-atc-to-snomed"
ICPC_MAP = "https://fhirsrv.dev/ConceptMap/icpc2-to-snomed"
LAB_MAP = "https://fhirsrv.dev/ConceptMap/local-lab-to-loinc"
ABSENT_MAP = "https://fhirsrv.dev/ConceptMap/ips-absent-unknown-to-snomed"
EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"


def _shipped(service, rtype=None):
    return [r for r in service.sources.shipped_resources if rtype is None or r["resourceType"] == rtype]


def test_every_shipped_codesystem_valueset_conceptmap_has_a_copyright_naming_the_owner(service):
    for resource in _shipped(service):
        if resource["resourceType"] == "NamingSystem":
            # R4 NamingSystem has no copyright element: the owner and terms are in description.
            assert resource.get("responsible") and "Identifiers only" in resource["description"], resource["id"]
            continue
        text = resource.get("copyright", "")
        # the owner of the resource itself and its licence; third-party owners are checked below
        assert "fhirsrv" in text and "CC0" in text, resource["url"]
    owners = {"cnk-atc-to-snomed": ["SNOMED International", "WHO Collaborating Centre", "APB"],
              "icpc2-to-snomed": ["WONCA", "SNOMED International"],
              "local-lab-to-loinc": ["Regenstrief", "loinc.org/license"],
              "ips-absent-unknown-to-snomed": ["SNOMED International", "HL7"]}
    for resource in _shipped(service, "ConceptMap"):
        for owner in owners[resource["id"]]:
            assert owner in resource["copyright"], (resource["id"], owner)


def test_shipped_maps_keep_the_r4_rules(service):
    for resource in _shipped(service, "ConceptMap"):
        assert check_conceptmap(resource) == [], resource["id"]


def test_no_third_party_displays_are_shipped_in_maps(service):
    """Licences: no SNOMED CT descriptions, LOINC names, ATC or ICPC-2 rubrics in our maps."""
    for resource in _shipped(service, "ConceptMap"):
        for group in resource["group"]:
            for element in group["element"]:
                assert "display" not in element
                assert all("display" not in t for t in element["target"])


VERIFIED = [
    # (map, source system as written in the wild, code, target system, target code, equivalence)
    (CNK_ATC_MAP, "https://cnk.apb.be/codings/cnk_product_codes", "2374429", SNOMED, "871878002", "wider"),
    (CNK_ATC_MAP, CNK, "2374429", ATC, "J07CA02", "wider"),
    (CNK_ATC_MAP, "http://whocc.no/atc", "J07CA02", SNOMED, "871878002", "equivalent"),
    (CNK_ATC_MAP, ATC, "L02BG03", SNOMED, "108774000", "wider"),
    (CNK_ATC_MAP, ATC, "J01CA", SNOMED, "764146007", "wider"),
    (LAB_MAP, LOCAL_LAB, "HB", LOINC, "718-7", "equivalent"),
    (LAB_MAP, LOCAL_LAB, "HBA1C", LOINC, "4548-4", "equivalent"),
    (LAB_MAP, LOCAL_LAB, "CHOL", LOINC, "2093-3", "equivalent"),
    (LAB_MAP, LOCAL_LAB, "LDL", LOINC, "13457-7", "equivalent"),
    (LAB_MAP, LOCAL_LAB, "HDL", LOINC, "2085-9", "equivalent"),
    (LAB_MAP, LOCAL_LAB, "TG", LOINC, "2571-8", "equivalent"),
    (LAB_MAP, LOCAL_LAB, "CREA", LOINC, "2160-0", "equivalent"),
    (LAB_MAP, LOCAL_LAB, "UMALB", LOINC, "14957-5", "equivalent"),
    (LAB_MAP, LOCAL_LAB, "ACR", LOINC, "14959-1", "equivalent"),
    (ABSENT_MAP, IPS_ABSENT, "no-known-allergies", SNOMED, "716186003", "equivalent"),
    (ABSENT_MAP, IPS_ABSENT, "no-known-medication-allergies", SNOMED, "409137002", "equivalent"),
    (ABSENT_MAP, IPS_ABSENT, "no-known-food-allergies", SNOMED, "429625007", "equivalent"),
    (ABSENT_MAP, IPS_ABSENT, "no-known-environmental-allergies", SNOMED, "428607008", "equivalent"),
    (ABSENT_MAP, IPS_ABSENT, "no-known-medications", SNOMED, "787481004", "narrower"),
    (ABSENT_MAP, IPS_ABSENT, "no-known-problems", SNOMED, "160245001", "narrower"),
    (ABSENT_MAP, IPS_ABSENT, "no-known-immunizations", SNOMED, "787482006", "narrower"),
    (ABSENT_MAP, IPS_ABSENT, "no-known-procedures", SNOMED, "787480003", "narrower"),
    (ABSENT_MAP, IPS_ABSENT, "no-known-devices", SNOMED, "787483001", "narrower"),
    (ABSENT_MAP, IPS_ABSENT, "no-allergy-info", SNOMED, "1287211007", "wider"),
    (ABSENT_MAP, IPS_ABSENT, "no-medication-info", SNOMED, "1287211007", "wider"),
    (ABSENT_MAP, IPS_ABSENT, "no-problem-info", EMPTY_REASON, "unavailable", "equivalent"),
    # ICPC-2: domain knowledge, shipped as a draft/experimental map (see its description).
    (ICPC_MAP, ICPC2, "T90", SNOMED, "44054006", "equivalent"),
    (ICPC_MAP, ICPC2, "R96", SNOMED, "195967001", "equivalent"),
    (ICPC_MAP, "ICPC", "K86", SNOMED, "59621000", "inexact"),
    (ICPC_MAP, ICPC2, "K78", SNOMED, "49436004", "narrower"),
    (ICPC_MAP, ICPC2, "T93", SNOMED, "55822004", "narrower"),
]


@pytest.mark.parametrize("map_url, system, code, target_system, target_code, equivalence", VERIFIED)
def test_verified_rows(session, map_url, system, code, target_system, target_code, equivalence):
    result = session.translate(system, code, target_system=target_system)
    found = [(m.system, m.code, m.equivalence) for m in result.matches if m.source == map_url]
    assert found == [(target_system, target_code, equivalence)]
    assert result.result is True


def test_icpc_map_is_marked_unverified(service):
    cm = service.sources.get("ConceptMap", ICPC_MAP)
    assert cm["status"] == "draft" and cm["experimental"] is True


def test_ips_110_absent_unknown_codesystem_comes_from_the_ips_package(session):
    index = session.codesystem(IPS_ABSENT)
    assert index is not None and index.version == "1.1.0"
    assert index.subsumes("no-known-allergies", "no-known-food-allergies") == "subsumes"
