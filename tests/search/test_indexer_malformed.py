"""The indexer reads what a sender wrote before validation has judged it (document ingest
indexes while it validates; FHIRSRV_VALIDATE_ON_WRITE=false never validates): a value of the
wrong JSON type is left out of the index, it never makes the write fail."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings

from fhirsrv.store.indexer import Indexer

from ..malformed import mutated_examples


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resource=mutated_examples())
def test_malformed_values_never_raise(indexer: Indexer, resource: dict) -> None:
    index = indexer.extract(resource["resourceType"], resource)
    for rows in (index.strings, index.tokens, index.quantities, index.references, index.uris):
        for row in rows:
            hash(row)  # every row can be deduplicated and sent to Postgres
            assert all(v is None or isinstance(v, str | int | Decimal) for v in row), row


def test_wrongly_typed_parts_are_left_out_and_the_rest_indexed(indexer: Indexer) -> None:
    observation = {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": ["http://loinc.org"], "code": "718-7"}], "text": {"t": 1}},
        "valueQuantity": {"value": 7.5, "unit": [], "system": "http://unitsofmeasure.org", "code": "%"},
        "subject": {"identifier": {"system": "urn:x", "value": ["a"]}},
        "identifier": [{"system": {"resourceType": "Patient"}, "value": "id-1"}],
    }
    index = indexer.extract("Observation", observation)
    assert ("code", None, "718-7", None, 0) in index.tokens
    assert ("identifier", None, "id-1", None, 0) in index.tokens
    assert ("value-quantity", Decimal("7.5"), Decimal("7.5"), "http://unitsofmeasure.org", "%", None, 0) \
        in index.quantities
    assert not [row for row in index.tokens if row[0] == "subject:identifier"]
