"""Rules on whole resources that no StructureDefinition can express, by resource type.

The base walk looks a resource's type up here once (one dict lookup) and runs its rule
after the definition-driven checks; each rule lives in a module of its own. A
QuestionnaireResponse must fit the Questionnaire it answers; a Questionnaire's enableWhen
must name an earlier question; Bundle, SearchParameter, CapabilityStatement and
MeasureReport rules are those of their R4 pages (bundle_rules, definition_rules,
measure_rules); a StructureDefinition must apply to its base (structure_definition_rules).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .bundle_rules import check_bundle
from .definition_rules import check_capability_statement, check_search_parameter
from .measure_rules import check_measure_report
from .outcome import Issue
from .questionnaire_definition import check_questionnaire
from .questionnaire_response import check_questionnaire_response
from .structure_definition_rules import check_structure_definition

if TYPE_CHECKING:
    from .context import Run

_log = logging.getLogger("fhirsrv.validation")

Rule = Callable[["Run", dict[str, Any], str, list[Issue]], None]


def _guarded(rule: Rule) -> Rule:
    """A rule that reads user-written content or definitions (a Questionnaire, a Measure)
    must not turn content it did not foresee into a server error: the failure is logged and
    reported as a warning."""

    def run_rule(run: Run, data: dict[str, Any], path: str, out: list[Issue]) -> None:
        try:
            rule(run, data, path, out)
        except Exception:  # the base verdict still stands
            _log.exception("the %s rules failed on %s", data.get("resourceType"), path)
            out.append(Issue("warning", "exception", "resource-rules-failed", f"The {data.get('resourceType')}-specific checks could not be completed on {path} (an internal error, logged); the rest of the validation is complete.", path))

    return run_rule


RESOURCE_RULES: dict[str, Rule] = {
    "Questionnaire": _guarded(check_questionnaire),
    "QuestionnaireResponse": _guarded(check_questionnaire_response),
    "Bundle": _guarded(check_bundle),
    "SearchParameter": _guarded(check_search_parameter),
    "CapabilityStatement": _guarded(check_capability_statement),
    "MeasureReport": _guarded(check_measure_report),
    "StructureDefinition": _guarded(check_structure_definition),
}
