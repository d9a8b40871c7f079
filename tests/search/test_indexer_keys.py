"""The indexer's shortcut: a search parameter whose top-level elements a resource lacks is
not evaluated. It must never change the rows (checked over the official R4 examples)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhirsrv import fhirjson
from fhirsrv.store import fhirpath_mini
from fhirsrv.store.indexer import TABLE_COLUMNS, Indexer

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "r4-examples"


def keys(indexer: Indexer, model, expression: str, root: str) -> frozenset[str] | None:
    return fhirpath_mini.compile_with_keys(expression, model.resource_types, indexer._choice_types, root)[1]


def test_keys_of_paths_choices_and_pruned_branches(indexer, model):
    assert keys(indexer, model, "Observation.status", "Observation") == {"status"}
    value = keys(indexer, model, "(Observation.value as Quantity) | (Observation.value as SampledData)", "Observation")
    assert {"value", "valueQuantity", "valueSampledData", "valueString"} <= value
    # the branches of other types are pruned; paths inside where() start at the focus, not the root
    assert keys(indexer, model, "Condition.code | Observation.subject.where(resolve() is Patient)",
                "Observation") == {"subject", "subjectReference", "subjectCodeableConcept"}
    assert keys(indexer, model, "Bundle.entry[0].resource", "Bundle") == {"entry"}
    assert keys(indexer, model, "Resource.meta.profile", "Patient") == {"meta"}


def test_keys_unknown_when_the_root_itself_is_used(indexer, model):
    assert keys(indexer, model, "Observation", "Observation") is None  # a composite's base
    assert keys(indexer, model, "Patient.extension('http://example.org/x')", "Patient") is None
    assert keys(indexer, model, "%resource.id", "Patient") is None


class _NoShortcut(Indexer):
    """The same indexer with every plan evaluated."""

    def plans(self, rtype):
        return [plan.__class__(**{**plan.__dict__, "keys": None}) for plan in super().plans(rtype)]


@pytest.fixture(scope="module")
def plain_indexer(model) -> Indexer:
    return _NoShortcut(model)


def test_shortcut_gives_the_same_rows_for_every_r4_example(indexer, plain_indexer):
    files = sorted(EXAMPLES.glob("*.json"))
    assert len(files) > 300
    for path in files:
        resource = fhirjson.loads(path.read_bytes())
        rtype = resource["resourceType"]
        fast, full = indexer.extract(rtype, resource), plain_indexer.extract(rtype, resource)
        for attribute in TABLE_COLUMNS:
            assert getattr(fast, attribute) == getattr(full, attribute), (path.name, attribute)
        assert fast.patient_ids == full.patient_ids, path.name
