"""Rules on whole resources that no StructureDefinition can express, by resource type.

The base walk looks a resource's type up here once (one dict lookup) and runs its rule
after the definition-driven checks; each rule lives in a module of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .bundle_rules import check_bundle
from .definition_rules import check_capability_statement, check_search_parameter
from .measure_rules import check_measure_report

if TYPE_CHECKING:
    from .context import Run
    from .outcome import Issue

RESOURCE_RULES: dict[str, Callable[[Run, dict[str, Any], str, list[Issue]], None]] = {
    "Bundle": check_bundle,
    "SearchParameter": check_search_parameter,
    "CapabilityStatement": check_capability_statement,
    "MeasureReport": check_measure_report,
}
