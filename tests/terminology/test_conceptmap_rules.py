"""R4 ConceptMap rules: as a function, and on create/update (422)."""

from __future__ import annotations

import copy

import pytest

from fhirsrv.terminology.conceptmap_rules import check_conceptmap

GOOD = {
    "resourceType": "ConceptMap", "url": "http://example.org/cm/rules", "status": "active",
    "group": [{"source": "http://example.org/a", "target": "http://example.org/b", "element": [
        {"code": "1", "target": [{"code": "x", "equivalence": "equivalent"}]},
        {"code": "2", "target": [{"code": "y", "equivalence": "narrower", "comment": "y is only part of 2"}]},
    ]}],
}


def _with_target(**target):
    cm = copy.deepcopy(GOOD)
    cm["group"][0]["element"][1]["target"][0] = {"code": "y", **target}
    return cm


def test_good_map_has_no_issues():
    assert check_conceptmap(GOOD) == []


@pytest.mark.parametrize("equivalence", ["narrower", "inexact"])
def test_cmd1_comment_required(equivalence):
    [issue] = check_conceptmap(_with_target(equivalence=equivalence))
    assert issue.message_id == "cmd-1"
    assert issue.expression == ["ConceptMap.group[0].element[1].target[0].comment"]


def test_r5_relationship_code_rejected_with_r4_hint():
    [issue] = check_conceptmap(_with_target(equivalence="source-is-narrower-than-target"))
    assert issue.code == "code-invalid" and "'wider'" in issue.diagnostics


def test_r5_relationship_element_rejected():
    issues = check_conceptmap(_with_target(relationship="source-is-broader-than-target"))
    assert [i.message_id for i in issues] == ["conceptmap-r5-relationship"]
    assert "'narrower'" in issues[0].diagnostics


def test_missing_equivalence():
    [issue] = check_conceptmap(_with_target())
    assert issue.code == "required"


@pytest.mark.parametrize("unmapped, rule", [({"mode": "fixed"}, "cmd-2"), ({"mode": "other-map"}, "cmd-3")])
def test_unmapped_rules(unmapped, rule):
    cm = copy.deepcopy(GOOD)
    cm["group"][0]["unmapped"] = unmapped
    assert [i.message_id for i in check_conceptmap(cm)] == [rule]


def test_create_rejects_cmd1_with_422(fhir):
    response = fhir.post("ConceptMap", json=_with_target(equivalence="narrower"))
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["ConceptMap.group[0].element[1].target[0].comment"]
    assert "cmd-1" in issue["diagnostics"]


def test_update_rejects_r5_codes_with_422_and_stores_nothing(fhir):
    cm = _with_target(equivalence="source-is-broader-than-target")
    response = fhir.put("ConceptMap/tx-rules-r5", json={**cm, "id": "tx-rules-r5"})
    assert response.status_code == 422
    assert fhir.get("ConceptMap/tx-rules-r5").status_code == 404


def test_good_map_is_stored(fhir):
    response = fhir.post("ConceptMap", json=GOOD)
    assert response.status_code == 201, response.text
