"""The native invariant predicates give fhirpathpy's verdict wherever they give one.

Random JSON instances (hypothesis) are built from the names each expression reads, with
values of every JSON kind — including the odd ones (arrays, nulls, primitive extensions,
dates of mixed precision) for which a predicate must fall back rather than guess. The
``validator`` fixture is requested for its side effect: the choice-type names the
predicates read are filled in when the definitions load.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhirsrv.validation import fastpath, invariants
from fhirsrv.validation.native_invariants import PREDICATES

DATES = st.sampled_from([
    "2020", "2021", "2020-01", "2020-02", "2020-01-01", "2020-01-02", "2019-12-31",
    "2020-01-01T10:00:00Z", "2020-01-01T09:00:00Z", "2020-01-01T10:00:00+01:00",
    "2020-01-01T10:00:00.123Z", "2020-01-01T10:00:00.5Z", "2020-01-01T11:00:00+01:00",
])
SCALARS = st.one_of(st.sampled_from(["x", "", "http://a/b/_history/1", "urn:uuid:1", "batch", "transaction",
                                     "history", "document", "batch-response", "transaction-response", "1"]),
                    st.integers(-2, 2), st.booleans(), DATES)


def _values(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(SCALARS, children, st.lists(st.one_of(children, SCALARS, st.none()), max_size=3), st.none())


def _objects(names: list[str], depth: int) -> st.SearchStrategy:
    inner = _objects(names, depth - 1) if depth else st.just({"id": "x"})
    keys = st.sampled_from(names + ["_" + n for n in names[:4]])
    return st.dictionaries(keys, _values(inner), max_size=5)


NAMES = ["entry", "type", "fullUrl", "resource", "request", "response", "meta", "versionId", "text", "div",
         "dataAbsentReason", "valueQuantity", "valueString", "start", "end", "status", "resourceType"]


def _entry() -> st.SearchStrategy:
    return st.fixed_dictionaries(
        {},
        optional={
            "fullUrl": st.sampled_from(["urn:uuid:1", "urn:uuid:2", "http://a/Patient/1", "http://a/Patient/1/_history/2"]),
            "resource": st.fixed_dictionaries({"resourceType": st.just("Patient")}, optional={
                "meta": st.fixed_dictionaries({}, optional={"versionId": st.sampled_from(["1", "2"])}),
                "text": st.fixed_dictionaries({}, optional={"div": st.just("<div/>"), "status": st.just("generated")})}),
            "request": st.just({"method": "POST", "url": "Patient"}),
            "response": st.just({"status": "201"}),
            "_fullUrl": st.just({"extension": []}),
        },
    )


def _realistic_bundle() -> st.SearchStrategy:
    entry = _entry()
    return st.fixed_dictionaries({"resourceType": st.just("Bundle")}, optional={
        "type": st.sampled_from(["document", "transaction", "batch", "history", "searchset", "batch-response"]),
        "entry": st.lists(entry, min_size=1, max_size=4),
    })


def _verdicts(expression: str, data: dict, type_name: str | None) -> tuple[bool | None, bool | None]:
    try:
        native = PREDICATES[expression](data, data, data)
    except fastpath.Fallback:
        native = None
    try:
        slow = invariants._truth(invariants.evaluate_typed(expression, data, type_name, data, data))
    except invariants.InvariantError:
        slow = None
    return native, slow


# expression → the FHIR type fhirpathpy is told the data has (as the walk tells it)
TYPES = {
    "text.`div`.exists()": "Patient",
    "resource.exists() or request.exists() or response.exists()": "Bundle.entry",
    "fullUrl.exists() implies fullUrl.contains('/_history/').not()": "Bundle.entry",
    "dataAbsentReason.empty() or value.empty()": "Observation",
    "start.hasValue().not() or end.hasValue().not() or (start <= end)": "Period",
}


def _observation() -> st.SearchStrategy:
    return st.fixed_dictionaries({"resourceType": st.just("Observation")}, optional={
        "dataAbsentReason": st.just({"text": "unknown"}),
        "valueQuantity": st.just({"value": 1}),
        "valueString": st.sampled_from(["x", ""]),
        "_valueString": st.just({"extension": []}),
        "text": st.fixed_dictionaries({}, optional={"div": st.just("<div/>"), "_div": st.just({})}),
    })


INSTANCES = st.one_of(
    _objects(NAMES, 2), _realistic_bundle(), _entry(), _observation(),
    st.fixed_dictionaries({}, optional={"start": DATES, "end": DATES, "_start": st.just({"extension": []})}),
)


@pytest.mark.parametrize("expression", sorted(PREDICATES))
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=INSTANCES)
def test_predicate_agrees_with_fhirpathpy(validator, expression, data):
    native, slow = _verdicts(expression, data, TYPES.get(expression, "Bundle"))
    if native is not None and slow is not None:
        assert native == slow, (expression, data)


@pytest.mark.parametrize(("expression", "data", "expected"), [
    ("text.`div`.exists()", {"resourceType": "Patient"}, False),
    ("text.`div`.exists()", {"resourceType": "Patient", "text": {"status": "generated", "div": "<div/>"}}, True),
    ("fullUrl.exists() implies fullUrl.contains('/_history/').not()", {"fullUrl": "http://a/Patient/1/_history/1"}, False),
    ("start.hasValue().not() or end.hasValue().not() or (start <= end)", {"start": "2020-02", "end": "2020-01"}, False),
    ("start.hasValue().not() or end.hasValue().not() or (start <= end)", {"start": "2020-01-01", "end": "2020-01-02"}, True),
    ("dataAbsentReason.empty() or value.empty()", {"dataAbsentReason": {"text": "x"}, "valueString": "x"}, False),
])
def test_known_answers_and_fhirpathpy_agree(validator, expression, data, expected):
    native, slow = _verdicts(expression, data, TYPES.get(expression, "Bundle"))
    assert native is expected and slow is expected


def test_bundle_rules_on_realistic_bundles(validator):
    """bdl-3/4/7 on the cases that matter: a document, a transaction, duplicate fullUrls."""
    entry = {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient"}}
    document = {"resourceType": "Bundle", "type": "document", "entry": [entry, dict(entry)]}
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [{**entry, "request": {"method": "POST"}}]}
    for expression in PREDICATES:
        if expression.startswith(("entry.all", "(type")):
            for bundle in (document, transaction, {**document, "type": "history"}, {"resourceType": "Bundle", "entry": [entry]}):
                native, slow = _verdicts(expression, bundle, "Bundle")
                assert native is not None and native == slow, (expression, bundle)


@pytest.mark.parametrize("resource_type", [None, 1, [None], "x"])
def test_a_resource_type_other_than_observation_is_left_to_fhirpathpy(validator, resource_type):
    """Found by the property test above: fhirpathpy finds no choice value in a resource
    whose ``resourceType`` is not Observation's, so the native predicate must not answer."""
    data = {"resourceType": resource_type, "dataAbsentReason": {"id": "x"}, "valueString": "x"}
    native, slow = _verdicts("dataAbsentReason.empty() or value.empty()", data, "Observation")
    assert native is None and slow is True
