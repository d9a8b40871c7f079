"""Which Questionnaire does a QuestionnaireResponse answer? (``QuestionnaireResponse.questionnaire``)

The reference is a canonical (``url`` or ``url|version``, or ``#id`` for a contained one). It
is looked for where the HL7 Java validator looks, nearest first:

1. the response's own contained resources (``#id``, or a contained Questionnaire with that url);
2. the resources around it: the resources containing it and the Bundle(s) it is an entry of;
3. the definition registry (shipped packages; the conformance runner adds a case's own files);
4. Questionnaires users stored on the server (``Run.stored``, looked up by ``url``).

A canonical that names something else (a ValueSet, say) is an error — the response claims to
answer something that is not a questionnaire (fhir-test-cases qr-bad-ref2). One that names
nothing we can find is a warning: the response may be fine, it just cannot be checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhirsrv.conformance.registry import split_canonical, version_matches

from .context import Run
from .outcome import Issue


@dataclass(frozen=True)
class Resolved:
    """A Questionnaire and the resources whose ``contained`` can answer its ``#id`` references."""

    questionnaire: dict[str, Any]
    containers: tuple[dict[str, Any], ...]
    where: str  # a phrase for messages: "contained", "in the Bundle", "the registry", "stored"

    @property
    def label(self) -> str:
        q = self.questionnaire
        return str(q.get("url") or (f"#{q.get('id')}" if q.get("id") else "the questionnaire"))


def _contained(resource: dict[str, Any]) -> list[dict[str, Any]]:
    contained = resource.get("contained")
    return [c for c in contained if isinstance(c, dict)] if isinstance(contained, list) else []


def _bundle_resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return []
    return [e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)]


def _nearby(run: Run, qr: dict[str, Any]) -> list[tuple[dict[str, Any], tuple[dict[str, Any], ...]]]:
    """(candidate, its containers) around the response, nearest first."""
    found = [(c, (c, qr)) for c in _contained(qr)]
    for outer in reversed(run.resources):  # the resources and Bundles being walked around it
        if outer is qr:
            continue
        found.extend((c, (c, outer)) for c in _contained(outer))
        if outer.get("resourceType") == "Bundle":
            found.extend((r, (r,)) for r in _bundle_resources(outer))
    return found


def resolve_questionnaire(run: Run, qr: dict[str, Any], path: str, out: list[Issue]) -> Resolved | None:
    """The Questionnaire ``qr`` answers, or None (with the issue that says why, if any)."""
    reference = qr.get("questionnaire")
    if not isinstance(reference, str) or not reference.strip():
        return None  # optional in R4; a wrong JSON type is the base walk's to report
    here = f"{path}.questionnaire"
    if reference.startswith("#"):
        for candidate in _contained(qr):
            if candidate.get("id") == reference[1:]:
                return _typed(candidate, (candidate, qr), "contained", reference, here, out)
        out.append(Issue("error", "not-found", "questionnaire-contained-missing", f"{here} {reference!r} names no contained resource; add the Questionnaire to contained or fix the id.", here))
        return None
    url, version = split_canonical(reference)
    for candidate, containers in _nearby(run, qr):
        if candidate.get("url") == url and (version is None or version_matches(candidate.get("version"), version)):
            return _typed(candidate, containers, "contained" if containers[-1] is qr else "in the enclosing resource", reference, here, out)
    registered = run.defs.registry.get(url, version)
    if registered is not None:
        return _typed(registered, (registered,), "registry", reference, here, out)
    if run.stored is not None:
        stored = run.stored.find("Questionnaire", url, version)
        if stored is not None:
            return Resolved(stored, (stored,), "stored")
    out.append(Issue("warning", "not-found", "questionnaire-not-found", f"The questionnaire {reference} could not be found (not contained, not in the Bundle, not a known or stored Questionnaire), so the answers were not checked against it.", here))
    return None


def _typed(resource: dict[str, Any], containers: tuple[dict[str, Any], ...], where: str, reference: str, here: str, out: list[Issue]) -> Resolved | None:
    rtype = resource.get("resourceType")
    if rtype != "Questionnaire":
        out.append(Issue("error", "invalid", "questionnaire-wrong-type", f"{here} {reference!r} refers to a {rtype}, not a Questionnaire; a QuestionnaireResponse must name the Questionnaire it answers.", here))
        return None
    return Resolved(resource, containers, where)
