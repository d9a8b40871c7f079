"""User-stored CodeSystems, ValueSets and NamingSystems take part in the validator's binding
checks (issue 5), on the write path and in ``$validate``, and a change is seen at once.

R4 core binds ``MolecularSequence.structureVariant.variantType`` (required) to the LOINC
answer list ``http://loinc.org/vs/LL379-9|4.0.1``, which no package ships: the server can
only say "cannot check" until someone stores a ValueSet under that canonical. The stored one
here draws on a stored CodeSystem (with a hierarchy and an is-a filter) — test content, not
LOINC's — so that the stored CodeSystem, the stored ValueSet and cache invalidation are all
exercised through one real binding.
"""

from __future__ import annotations

import copy

VS_URL = "http://loinc.org/vs/LL379-9"
CS_URL = "https://fhirsrv.dev/test/CodeSystem/variant-kind"
EXPRESSION = "MolecularSequence.structureVariant[0].variantType.coding[0]"

CODESYSTEM = {
    "resourceType": "CodeSystem", "id": "test-variant-kind", "url": CS_URL, "status": "active",
    "content": "complete", "hierarchyMeaning": "is-a",
    "concept": [
        {"code": "structural", "display": "Structural variant", "concept": [
            {"code": "deletion", "display": "Deletion"},
            {"code": "duplication", "display": "Duplication"},
        ]},
        {"code": "snv", "display": "Single nucleotide variant"},
    ],
}
VALUESET = {
    "resourceType": "ValueSet", "id": "test-ll379-9", "url": VS_URL, "status": "active",
    "compose": {"include": [{"system": CS_URL, "filter": [{"property": "concept", "op": "is-a", "value": "structural"}]}]},
}


def _sequence(code: str, system: str = CS_URL) -> dict:
    return {"resourceType": "MolecularSequence", "coordinateSystem": 0,
            "structureVariant": [{"variantType": {"coding": [{"system": system, "code": code}]}}]}


def _issues(outcome: dict, severity: str) -> list[dict]:
    return [i for i in outcome["issue"] if i["severity"] == severity]


def _validate(fhir, resource: dict) -> dict:
    response = fhir.post("MolecularSequence/$validate", json=resource)
    assert response.status_code == 200, response.text
    return response.json()


def test_stored_valueset_and_codesystem_drive_a_required_binding(fhir):
    # nothing stored: the binding cannot be checked (a warning), the write is accepted
    before = _validate(fhir, _sequence("deletion"))
    assert not _issues(before, "error")
    assert any(i["code"] == "not-supported" and VS_URL in i["diagnostics"] for i in _issues(before, "warning"))

    assert fhir.put("CodeSystem/test-variant-kind", json=CODESYSTEM).status_code in (200, 201)
    assert fhir.put("ValueSet/test-ll379-9", json=VALUESET).status_code in (200, 201)

    # a code under "structural" is in the stored value set: valid, stored
    valid = _validate(fhir, _sequence("duplication"))
    assert not _issues(valid, "error"), valid
    assert not [w for w in _issues(valid, "warning") if VS_URL in w["diagnostics"]], valid
    assert fhir.post("MolecularSequence", json=_sequence("deletion")).status_code == 201

    # a code of the code system outside the is-a filter: an error with the exact place
    outside = _validate(fhir, _sequence("snv"))
    errors = _issues(outside, "error")
    assert [(e["code"], e["expression"]) for e in errors] == [("code-invalid", [EXPRESSION])], outside
    assert VS_URL in errors[0]["diagnostics"]
    rejected = fhir.post("MolecularSequence", json=_sequence("snv"))
    assert rejected.status_code == 422
    assert rejected.json()["issue"][0]["expression"] == [EXPRESSION]

    # the value set is widened: the next request sees it (the cache follows the write)
    widened = copy.deepcopy(VALUESET)
    widened["compose"]["include"].append({"system": CS_URL, "concept": [{"code": "snv"}]})
    assert fhir.put("ValueSet/test-ll379-9", json=widened).status_code == 200
    assert not _issues(_validate(fhir, _sequence("snv")), "error")
    assert fhir.post("MolecularSequence", json=_sequence("snv")).status_code == 201

    # the code system loses a concept: the filter no longer reaches it
    narrowed = copy.deepcopy(CODESYSTEM)
    narrowed["concept"][0]["concept"] = [{"code": "deletion", "display": "Deletion"}]
    assert fhir.put("CodeSystem/test-variant-kind", json=narrowed).status_code == 200
    gone = _issues(_validate(fhir, _sequence("duplication")), "error")
    assert [e["expression"] for e in gone] == [[EXPRESSION]]

    # deleted: back to "cannot check"
    assert fhir.delete("ValueSet/test-ll379-9").status_code in (200, 204)
    after = _validate(fhir, _sequence("snv", system="https://example.org/anything"))
    assert not _issues(after, "error")
    assert any(VS_URL in i["diagnostics"] for i in _issues(after, "warning"))


def test_another_worker_sees_a_write_at_once(fhir, conninfo):
    """A second process (its own caches, the same database) answers from its cache while
    nothing changed and sees a write with its next call: no stale per-process cache."""
    import uuid

    import psycopg

    from fhirsrv.config import Settings
    from fhirsrv.terminology.service import bound_terminology

    queries: list[str] = []

    def connect():
        queries.append("connect")
        return psycopg.connect(conninfo, autocommit=True)

    other = bound_terminology(Settings(), connect)
    url, system = f"https://fhirsrv.dev/test/ValueSet/worker-{uuid.uuid4().hex[:8]}", "https://example.org/cs"
    valueset = {"resourceType": "ValueSet", "id": url.rsplit("/", 1)[1], "url": url, "status": "active",
                "compose": {"include": [{"system": system, "concept": [{"code": "a"}]}]}}
    assert other.validate_code(url, system=system, code="a").valid is None  # not stored yet

    generation = other.stored.generation()
    assert fhir.put(f"ValueSet/{valueset['id']}", json=valueset).status_code == 201
    assert other.stored.generation() == generation + 1
    assert other.validate_code(url, system=system, code="a").valid is True
    assert other.validate_code(url, system=system, code="b").valid is False

    before = len(queries)
    assert other.validate_code(url, system=system, code="a").valid is True
    assert len(queries) == before + 1, "a warm cache costs one generation read, not a value-set read"

    valueset["compose"]["include"][0]["concept"].append({"code": "b"})
    assert fhir.put(f"ValueSet/{valueset['id']}", json=valueset).status_code == 200
    assert other.validate_code(url, system=system, code="b").valid is True

    # writes of other types do not invalidate anything
    generation = other.stored.generation()
    assert fhir.post("Patient", json={"resourceType": "Patient"}).status_code == 201
    assert other.stored.generation() == generation

    # shipped value sets are answered without the database
    before = len(queries)
    gender = "http://hl7.org/fhir/ValueSet/administrative-gender"
    assert other.validate_code(gender, system="http://hl7.org/fhir/administrative-gender", code="female").valid
    assert len(queries) == before


def test_answers_that_depend_on_stored_content_are_remembered_per_generation(fhir, conninfo, monkeypatch):
    """What shipped content cannot answer (a value set drawing on LOINC, which a user could
    store) is worked out by a Session once per stored-terminology generation and then read
    from the snapshot; a terminology write starts a new generation, which asks again."""
    import uuid

    import psycopg

    from fhirsrv.config import Settings
    from fhirsrv.terminology import service as terminology_service
    from fhirsrv.terminology.service import bound_terminology

    bound = bound_terminology(Settings(), lambda: psycopg.connect(conninfo, autocommit=True))
    valueset, system, code = "http://hl7.org/fhir/uv/ips/ValueSet/pregnancies-summary-uv-ips", "http://loinc.org", "882-1"
    assert bound.service.shipped_answer(valueset, system, code) is None  # the stored side must answer

    asked: list[tuple] = []
    real = terminology_service.Session.validate_code

    def counted(self, *args, **kwargs):
        asked.append((args, kwargs))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(terminology_service.Session, "validate_code", counted)
    first = bound.validate_code(valueset, system=system, code=code)
    assert first.valid is False  # 882-1 is not one of the value set's codes
    assert bound.validate_code(valueset, system=system, code=code) is first
    assert len(asked) == 1, "one Session per question and generation"
    assert bound.stored.current().answers[(valueset, system, code)] is first

    codesystem = {"resourceType": "CodeSystem", "id": f"gen-{uuid.uuid4().hex[:8]}", "status": "active",
                  "url": f"https://fhirsrv.dev/test/CodeSystem/{uuid.uuid4().hex[:8]}", "content": "complete",
                  "concept": [{"code": "x"}]}
    assert fhir.put(f"CodeSystem/{codesystem['id']}", json=codesystem).status_code == 201
    again = bound.validate_code(valueset, system=system, code=code)
    assert again == first and len(asked) == 2, "a new generation asks again"
