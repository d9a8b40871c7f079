"""Checks a resource type needs beyond its StructureDefinition, run after its base walk.

Some rules live outside the definitions: a QuestionnaireResponse must fit the Questionnaire it
answers; a Questionnaire's enableWhen must name an earlier question. Each rule gets the run (for the registry, the terminology and the stored resources),
the resource and its path. A rule that breaks on content it did not foresee must not turn a
validation into a server error: the failure is logged and reported as a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .context import Run
from .outcome import Issue
from .questionnaire_definition import check_questionnaire
from .questionnaire_response import check_questionnaire_response

_log = logging.getLogger("fhirsrv.validation")

Rule = Callable[[Run, dict[str, Any], str, list[Issue]], None]

RULES: dict[str, Rule] = {
    "Questionnaire": check_questionnaire,
    "QuestionnaireResponse": check_questionnaire_response,
}


def check_resource_rules(run: Run, data: dict[str, Any], path: str, out: list[Issue]) -> None:
    rule = RULES.get(data.get("resourceType"))  # type: ignore[arg-type]
    if rule is None:
        return
    try:
        rule(run, data, path, out)
    except Exception:  # a rule bug must not become a 500; the base verdict still stands
        _log.exception("the %s rules failed on %s", data.get("resourceType"), path)
        out.append(Issue("warning", "exception", "resource-rules-failed", f"The {data.get('resourceType')}-specific checks could not be completed on {path} (an internal error, logged); the rest of the validation is complete.", path))
