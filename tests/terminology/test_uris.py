"""System-URI normalisation: every spelling in the wild matches the preferred URI."""

from __future__ import annotations

import pytest

from fhirsrv.terminology.uris import Aliases

from .conftest import ATC, CNK, ICPC2, LOINC, SNOMED

SSIN = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"


@pytest.mark.parametrize(
    "spelling, preferred",
    [
        ("http://whocc.no/atc", ATC),
        ("http://www.whocc.no/atc", ATC),
        ("urn:oid:2.16.840.1.113883.6.73", ATC),
        ("CD-ATC", ATC),
        ("https://www.ehealth.fgov.be/standards/fhir/medication/NamingSystem/be-ns-cnk-codes", CNK),
        ("http://www.ehealth.fgov.be/standards/fhir/medication/NamingSystem/cnk-codes", CNK),
        ("https://cnk.apb.be/codings/cnk_product_codes", CNK),
        ("CD-DRUG-CNK", CNK),
        (CNK, CNK),
        ("https://www.ehealth.fgov.be/standards/fhir/NamingSystem/ssin", SSIN),
        ("urn:oid:2.16.840.1.113883.3.6777.5.1", SSIN),
        (SSIN, SSIN),
        ("urn:oid:2.16.840.1.113883.6.96", SNOMED),
        ("urn:oid:2.16.840.1.113883.6.1", LOINC),
        ("urn:oid:2.16.840.1.113883.6.139", ICPC2),
        ("ICPC", ICPC2),
        ("CD-HCPARTY", "https://www.ehealth.fgov.be/standards/fhir/core/CodeSystem/cd-hcparty"),
        ("CD-CIVILSTATE", "https://www.ehealth.fgov.be/standards/fhir/core/CodeSystem/cd-civilstate"),
        ("https://www.ehealth.fgov.be/standards/fhir/core/CodeSystem/CD-CIVILSTATE",
         "https://www.ehealth.fgov.be/standards/fhir/core/CodeSystem/cd-civilstate"),
        ("http://example.org/unknown", "http://example.org/unknown"),
    ],
)
def test_normalise(service, spelling, preferred):
    assert service.aliases.normalise(spelling) == preferred


@pytest.mark.parametrize(
    "edition",
    ["http://snomed.info/sct/11000172109", "http://snomed.info/sct/900000000000207008",
     "http://snomed.info/sct/11000172109/version/20250315"],
)
def test_snomed_edition_uri_becomes_the_version(service, edition):
    assert service.aliases.split(edition) == (SNOMED, edition)


def test_our_naming_systems_win_over_package_ones():
    aliases = Aliases()
    aliases.add_naming_system({"uniqueId": [{"type": "uri", "value": "http://a", "preferred": True},
                                            {"type": "uri", "value": "http://old"}]}, authoritative=True)
    aliases.add_naming_system({"uniqueId": [{"type": "uri", "value": "http://b", "preferred": True},
                                            {"type": "uri", "value": "http://old"}]})
    assert aliases.normalise("http://old") == "http://a"
    assert aliases.normalise("http://b") == "http://b"


def test_oid_unique_ids_become_urn_oid():
    aliases = Aliases()
    aliases.add_naming_system({"uniqueId": [{"type": "uri", "value": "http://x", "preferred": True},
                                            {"type": "oid", "value": "1.2.3"}]})
    assert aliases.normalise("urn:oid:1.2.3") == "http://x"
