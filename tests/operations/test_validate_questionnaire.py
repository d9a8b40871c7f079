"""QuestionnaireResponses over HTTP, checked against a Questionnaire (and a ValueSet) users stored.

The server's validation looks a canonical up among the stored resources when nothing shipped
answers it: ``$validate`` reports the located issue, the write path rejects with 422 and
stores nothing.
"""

from __future__ import annotations

import json
import uuid

import pytest


@pytest.fixture()
def stored_questionnaire(fhir) -> str:
    """A stored Questionnaire (with a stored ValueSet for one item); returns its url."""
    suffix = uuid.uuid4().hex[:12]
    vs_url = f"https://fhirsrv.test/ValueSet/smoking-{suffix}"
    valueset = {"resourceType": "ValueSet", "url": vs_url, "status": "active", "compose": {"include": [
        {"system": "https://fhirsrv.test/CodeSystem/smoking", "concept": [{"code": "never"}, {"code": "current"}]}]}}
    assert fhir.post("ValueSet", data=json.dumps(valueset)).status_code == 201
    url = f"https://fhirsrv.test/Questionnaire/intake-{suffix}"
    questionnaire = {"resourceType": "Questionnaire", "url": url, "status": "active", "item": [
        {"linkId": "age", "type": "integer", "required": True},
        {"linkId": "smoking", "type": "choice", "answerValueSet": vs_url}]}
    created = fhir.post("Questionnaire", data=json.dumps(questionnaire))
    assert created.status_code == 201, created.text
    return url


def _response(url: str, age: dict, smoking: str = "never") -> dict:
    return {"resourceType": "QuestionnaireResponse", "questionnaire": url, "status": "completed", "item": [
        {"linkId": "age", "answer": [age]},
        {"linkId": "smoking", "answer": [{"valueCoding": {"system": "https://fhirsrv.test/CodeSystem/smoking", "code": smoking}}]}]}


def _errors(outcome: dict) -> list[dict]:
    return [i for i in outcome["issue"] if i["severity"] in ("error", "fatal")]


def test_validate_finds_the_stored_questionnaire_and_locates_the_issue(fhir, stored_questionnaire):
    ok = fhir.post("QuestionnaireResponse/$validate", data=json.dumps(_response(stored_questionnaire, {"valueInteger": 42})))
    assert ok.status_code == 200
    assert _errors(ok.json()) == []
    assert not [i for i in ok.json()["issue"] if "questionnaire" in i["details"]["coding"][0]["code"]], ok.json()

    bad = fhir.post("QuestionnaireResponse/$validate", data=json.dumps(_response(stored_questionnaire, {"valueString": "42"}, "sometimes")))
    assert bad.status_code == 200
    found = {(i["details"]["coding"][0]["code"], i["code"], i["expression"][0]) for i in _errors(bad.json())}
    assert found == {
        ("questionnaire-answer-type", "structure", "QuestionnaireResponse.item[0].answer[0].valueString"),
        ("questionnaire-answer-valueset", "code-invalid", "QuestionnaireResponse.item[1].answer[0].valueCoding"),
    }


def test_create_of_a_response_that_breaks_the_stored_questionnaire_is_422(fhir, stored_questionnaire):
    invalid = _response(stored_questionnaire, {"valueString": "forty"})
    response = fhir.post("QuestionnaireResponse", data=json.dumps(invalid))
    assert response.status_code == 422, response.text
    issue = _errors(response.json())[0]
    assert issue["details"]["coding"][0]["code"] == "questionnaire-answer-type"
    assert issue["expression"] == ["QuestionnaireResponse.item[0].answer[0].valueString"]
    assert _stored_responses(fhir, stored_questionnaire) == 0

    valid = fhir.post("QuestionnaireResponse", data=json.dumps(_response(stored_questionnaire, {"valueInteger": 40})))
    assert valid.status_code == 201, valid.text
    assert _stored_responses(fhir, stored_questionnaire) == 1


def _stored_responses(fhir, url: str) -> int:
    search = fhir.get("QuestionnaireResponse", params={"questionnaire": url})
    assert search.status_code == 200, search.text
    return len(search.json().get("entry", []))


def test_a_questionnaire_nobody_stored_is_only_a_warning(fhir):
    url = f"https://fhirsrv.test/Questionnaire/absent-{uuid.uuid4().hex[:8]}"
    response = fhir.post("QuestionnaireResponse", data=json.dumps(_response(url, {"valueString": "anything"})))
    assert response.status_code == 201, response.text
    outcome = fhir.post("QuestionnaireResponse/$validate", data=json.dumps(_response(url, {"valueString": "x"}))).json()
    warnings = [i for i in outcome["issue"] if i["details"]["coding"][0]["code"] == "questionnaire-not-found"]
    assert [(w["severity"], w["expression"]) for w in warnings] == [("warning", ["QuestionnaireResponse.questionnaire"])]
