"""User-stored NamingSystems join the URI alias table (issue 5): their ``uri`` and ``oid``
uniqueIds become aliases of their preferred URI for $lookup, $validate-code and $translate;
they add spellings but never redirect one the server already knows."""

from __future__ import annotations

import uuid

from .conftest import CNK, SNOMED, matches, params


def _naming_system(nsid: str, preferred: str, *others: tuple[str, str]) -> dict:
    return {
        "resourceType": "NamingSystem", "id": nsid, "name": nsid.replace("-", ""), "status": "active",
        "kind": "codesystem", "date": "2026-11-23",
        "uniqueId": [{"type": "uri", "value": preferred, "preferred": True}]
        + [{"type": kind, "value": value} for kind, value in others],
    }


def test_stored_aliases_reach_lookup_validate_code_and_translate(fhir):
    tag = uuid.uuid4().hex[:8]
    preferred = f"https://fhirsrv.dev/test/CodeSystem/ns-{tag}"
    alias = f"http://example.org/legacy/ns-{tag}"
    oid = f"1.3.6.1.4.1.99999.{int(tag, 16)}"
    codesystem = {"resourceType": "CodeSystem", "id": f"ns-{tag}", "url": preferred, "status": "active",
                  "content": "complete", "concept": [{"code": "A", "display": "Alpha"}]}
    conceptmap = {"resourceType": "ConceptMap", "id": f"ns-map-{tag}", "url": f"{preferred}/map", "status": "active",
                  "group": [{"source": preferred, "target": SNOMED,
                             "element": [{"code": "A", "target": [{"code": "404684003", "equivalence": "equivalent"}]}]}]}
    for resource in (codesystem, conceptmap):
        assert fhir.put(f"{resource['resourceType']}/{resource['id']}", json=resource).status_code == 201

    # before the NamingSystem, the legacy spelling is unknown: 400 naming the parameter
    unknown = fhir.get("CodeSystem/$lookup", params={"system": alias, "code": "A"})
    assert unknown.status_code == 400
    assert unknown.json()["issue"][0]["expression"] == ["system"]

    ns = _naming_system(f"ns-{tag}", preferred, ("uri", alias), ("oid", oid))
    assert fhir.put(f"NamingSystem/ns-{tag}", json=ns).status_code == 201

    looked_up = fhir.get("CodeSystem/$lookup", params={"system": alias, "code": "A"})
    assert looked_up.status_code == 200, looked_up.text
    assert params(looked_up.json())["display"] == "Alpha"

    valid = params(fhir.get("CodeSystem/$validate-code", params={"url": f"urn:oid:{oid}", "code": "A"}).json())
    assert valid["result"] is True
    invalid = params(fhir.get("CodeSystem/$validate-code", params={"url": f"urn:oid:{oid}", "code": "Z"}).json())
    assert invalid["result"] is False

    translated = fhir.get("ConceptMap/$translate", params={"system": f"urn:oid:{oid}", "code": "A",
                                                           "targetsystem": SNOMED})
    assert params(translated.json())["result"] is True
    assert [m["concept"] for m in matches(translated.json())] == [{"system": SNOMED, "code": "404684003"}]


def test_a_stored_alias_of_a_shipped_system_uses_the_shipped_maps(fhir):
    """A user's OID for CNK translates with our CNK map; the known spellings keep their meaning."""
    tag = uuid.uuid4().hex[:8]
    oid = f"1.3.6.1.4.1.99998.{int(tag, 16)}"
    ns = _naming_system(f"cnk-{tag}", "http://www.ehealth.fgov.be/standards/fhir/medication/NamingSystem/cnk-codes",
                        ("oid", oid), ("uri", SNOMED))  # the second one must not redirect SNOMED CT
    assert fhir.put(f"NamingSystem/cnk-{tag}", json=ns).status_code == 201
    out = fhir.get("ConceptMap/$translate", params={"system": f"urn:oid:{oid}", "code": "2374429",
                                                    "targetsystem": SNOMED}).json()
    assert params(out)["result"] is True
    assert {"system": SNOMED, "code": "871878002"} in [m["concept"] for m in matches(out)]
    reverse = fhir.get("ConceptMap/$translate", params={"system": SNOMED, "code": "871878002", "reverse": "true",
                                                        "targetsystem": CNK}).json()
    assert params(reverse)["result"] is True
