"""The indexer alone (pure: no database): typed rows from FHIRPath over the definitions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from fhirsrv import fhirjson
from fhirsrv.store import fhirpath_mini
from fhirsrv.store.search_values import MAX_TIME, MIN_TIME, implicit_range, normalize_string, parse_date_range


def rows(index, kind, param):
    return [r for r in getattr(index, kind) if r[0] == param]


def test_every_r4_expression_compiles_in_the_fast_subset_but_one(indexer, model):
    slow = set()
    for params in model.search_params.values():
        for param in params.values():
            for expression in [param.expression, *(e for _, e in param.components)]:
                if not expression:
                    continue
                try:
                    fhirpath_mini.compile_expression(expression, model.resource_types, indexer._choice_types)
                except fhirpath_mini.Unsupported:
                    slow.add(expression)
    assert slow == {"Patient.deceased.exists() and Patient.deceased != false"}  # fhirpathpy handles it


def test_dates_keep_their_precision():
    assert parse_date_range("2024") == (datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    assert parse_date_range("2024-02") == (datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))
    low, high = parse_date_range("2024-02-29T10:00:00+02:00")
    assert low == datetime(2024, 2, 29, 8, tzinfo=UTC) and (high - low).total_seconds() == 1
    assert parse_date_range("2024-13") is None and parse_date_range("24") is None


def test_implicit_precision_and_normalisation():
    assert implicit_range(Decimal("100")) == (Decimal("99.5"), Decimal("100.5"))
    assert implicit_range(Decimal("1.50")) == (Decimal("1.495"), Decimal("1.505"))
    assert normalize_string("  Éric   DUPONT ") == "eric dupont"


def test_period_timing_range_money(indexer):
    encounter = {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
                 "period": {"start": "2024-01-01"}}
    assert rows(indexer.extract("Encounter", encounter), "dates", "date") == [
        ("date", datetime(2024, 1, 1, tzinfo=UTC), MAX_TIME, 0)]
    request = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
               "subject": {"reference": "Patient/1"}, "occurrenceTiming": {"event": ["2024-03-01", "2024-03-05"]}}
    assert rows(indexer.extract("ServiceRequest", request), "dates", "occurrence") == [
        ("occurrence", datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 6, tzinfo=UTC), 0)]
    library = fhirjson.loads('{"resourceType": "Library", "status": "active", "type": {"text": "x"}, "useContext": ['
                             '{"code": {"code": "age"}, "valueRange": {"high": {"value": 65, "code": "a"}}}]}')
    assert rows(indexer.extract("Library", library), "quantities", "context-quantity") == [
        ("context-quantity", Decimal("-Infinity"), Decimal(65), None, "a", None, 0)]
    item = fhirjson.loads('{"resourceType": "ChargeItem", "status": "billed", "code": {"text": "x"},'
                          ' "subject": {"reference": "Patient/1"}, "priceOverride": {"value": 12.50, "currency": "EUR"}}')
    [(param, low, high, system, code, _unit, _grp)] = rows(indexer.extract("ChargeItem", item), "quantities",
                                                           "price-override")
    assert (low, system, code) == (Decimal("12.50"), "urn:iso:std:iso:4217", "EUR")


def test_references_canonicals_and_compartment(indexer):
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                   "subject": {"reference": "Patient/42/_history/3"},
                   "performer": [{"reference": "http://other/fhir/Practitioner/7"}, {"reference": "#contained"}],
                   "basedOn": [{"identifier": {"system": "urn:x", "value": "9"}}]}
    index = indexer.extract("Observation", observation)
    assert ("subject", "Patient", "42", None, 0) in index.references
    assert ("patient", "Patient", "42", None, 0) in index.references
    assert rows(index, "references", "performer") == [("performer", None, None, "http://other/fhir/Practitioner/7", 0)]
    assert ("based-on:identifier", "urn:x", "9", None, 0) in index.tokens
    assert index.patient_ids == ["42"]
    response = {"resourceType": "QuestionnaireResponse", "status": "completed",
                "questionnaire": "http://acme.org/Questionnaire/q|2.0"}
    assert rows(indexer.extract("QuestionnaireResponse", response), "references", "questionnaire") == [
        ("questionnaire", None, None, "http://acme.org/Questionnaire/q", 0)]
    assert indexer.extract("Patient", {"resourceType": "Patient", "id": "me"}).patient_ids == ["me"]


def test_composite_rows_share_the_instance_number(indexer):
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "bp"},
                   "component": [
                       {"code": {"coding": [{"code": "a"}]}, "valueQuantity": {"value": 1}},
                       {"code": {"coding": [{"code": "b"}]}, "valueQuantity": {"value": 2}},
                       {"code": {"coding": [{"code": "c"}]}, "valueString": "no quantity"}]}
    index = indexer.extract("Observation", observation)
    codes = {r[4]: r[2] for r in rows(index, "tokens", "component-code-value-quantity$0")}
    values = {r[6]: r[1] for r in rows(index, "quantities", "component-code-value-quantity$1")}
    assert codes == {1: "a", 2: "b"} and values == {1: Decimal(1), 2: Decimal(2)}


def test_unbounded_period_start(indexer):
    consent = {"resourceType": "Consent", "status": "active", "scope": {"text": "x"}, "category": [{"text": "x"}],
               "provision": {"period": {"end": "2030-01-01"}}}
    [(_, low, high, _grp)] = rows(indexer.extract("Consent", consent), "dates", "period")
    assert low == MIN_TIME and high == datetime(2030, 1, 2, tzinfo=UTC)


def test_write_many_replaces_rows_of_several_resources(indexer, db):
    first = indexer.extract("Patient", {"resourceType": "Patient", "id": "wm1", "gender": "male"})
    second = indexer.extract("Patient", {"resourceType": "Patient", "id": "wm2", "gender": "female",
                                         "name": [{"family": "Batch"}]})
    rids = [-1001, -1002]  # never handed out by the sequence: no clash with stored resources
    with db.transaction(), db.cursor() as cur:
        indexer.write_many(cur, list(zip(rids, [first, second], strict=True)), replace=False)
        indexer.write_many(cur, list(zip(rids, [first, second], strict=True)))  # replace: no duplicates
        counts = cur.execute("SELECT rid, count(*) FROM idx_token WHERE rid = ANY(%s) AND param = 'gender' "
                             "GROUP BY rid ORDER BY rid DESC", [rids]).fetchall()
        assert counts == [(-1001, 1), (-1002, 1)]
        indexer.remove(cur, -1001)
        indexer.remove(cur, -1002)
        assert cur.execute("SELECT count(*) FROM idx_string WHERE rid = ANY(%s)", [rids]).fetchone()[0] == 0


def test_supported_parameters_for_the_capability_statement(model):
    from fhirsrv.store.search import is_supported

    patient = model.params_for("Patient")
    assert is_supported(patient["name"]) and is_supported(patient["_id"]) and is_supported(patient["_lastUpdated"])
    assert not is_supported(patient["_text"]) and not is_supported(patient["_content"])
    assert not is_supported(model.params_for("Location")["near"])
