"""A MeasureReport against the Measure it reports on (R4 measurereport.html, measure.html).

When ``MeasureReport.measure`` resolves in the registry:

* a ``cohort`` measure has no score ("cohort: the measure score is not applicable"), so a
  group with a ``measureScore`` is an error;
* the stratifiers of a reported group are linked to the Measure's by ``code``: each
  reported stratifier must carry the code of one of the measure group's stratifiers, and
  each stratifier of the measure must be reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .outcome import Issue

if TYPE_CHECKING:
    from .context import Run


def _codes(concept: Any) -> set[tuple[Any, Any]]:
    concepts = concept if isinstance(concept, list) else [concept]
    return {(c.get("system"), c.get("code")) for cc in concepts if isinstance(cc, dict) for c in cc.get("coding") or () if isinstance(c, dict)}


def _measure_group(measure: dict[str, Any], group: dict[str, Any], index: int) -> dict[str, Any] | None:
    groups = [g for g in measure.get("group") or () if isinstance(g, dict)]
    wanted = _codes(group.get("code"))
    for candidate in groups:
        if wanted and wanted & _codes(candidate.get("code")):
            return candidate
    return groups[index] if not wanted and index < len(groups) else None


def check_measure_report(run: Run, report: dict[str, Any], path: str, out: list[Issue]) -> None:
    url = report.get("measure")
    measure = run.defs.registry.get(url) if isinstance(url, str) else None
    if measure is None or measure.get("resourceType") != "Measure":
        return
    cohort = ("http://terminology.hl7.org/CodeSystem/measure-scoring", "cohort") in _codes(measure.get("scoring"))
    for g, group in enumerate(report.get("group") or ()):
        if not isinstance(group, dict):
            continue
        here = f"{path}.group[{g}]"
        if cohort and "measureScore" in group:
            out.append(Issue("error", "business-rule", "measurereport-score-cohort", f"{here}.measureScore: the measure {url} is scored 'cohort', which has no measure score; remove it.", f"{here}.measureScore"))
        definition = _measure_group(measure, group, g)
        if definition is None:
            continue
        defined = [s for s in definition.get("stratifier") or () if isinstance(s, dict)]
        reported = [s for s in group.get("stratifier") or () if isinstance(s, dict)]
        for s, stratifier in enumerate(reported):
            codes = _codes(stratifier.get("code"))
            if not any(codes & _codes(d.get("code")) for d in defined):
                out.append(Issue("error", "business-rule", "measurereport-stratifier-unknown", f"{here}.stratifier[{s}] has no code matching a stratifier of the measure's group; a reported stratifier carries the code of the stratifier it reports.", f"{here}.stratifier[{s}]"))
        for d in defined:
            codes = _codes(d.get("code"))
            if not any(codes & _codes(s.get("code")) for s in reported):
                label = ", ".join(f"{system}#{code}" for system, code in sorted(codes, key=str)) or f"(no code; id {d.get('id')!r})"
                out.append(Issue("error", "business-rule", "measurereport-stratifier-missing", f"{here} does not report the measure's stratifier {label}.", here))
