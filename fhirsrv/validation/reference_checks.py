"""Checks on a Reference value: does it resolve, and to the right kind of resource?

* ``#id`` must name a contained resource of the containing resource;
* inside a ``document`` Bundle every reference must resolve to an entry (a document is
  self-contained: FHIR R4 documents.html); elsewhere an unresolved reference is fine;
* the target's type must be one of the element's ``targetProfile`` types; in a profile walk,
  a resolved target must also conform to one of the target profiles.
"""

from __future__ import annotations

from typing import Any

from . import walker  # the walk calls these checks, which ask the walk about profiles
from .compiler import CORE_PREFIX
from .context import Run
from .model import Elem
from .outcome import Issue
from .references import type_of_reference


def _contained(run: Run, reference: str) -> tuple[dict[str, Any], str] | None:
    wanted = reference[1:]
    for resource in reversed(run.resources):
        contained = resource.get("contained")
        if isinstance(contained, list):
            for i, item in enumerate(contained):
                if isinstance(item, dict) and item.get("id") == wanted:
                    return item, f"contained[{i}]"
            return None
    return None


def _must_resolve(run: Run, reference: str) -> bool:
    """With ``references_must_resolve``, a relative ``Type/id`` reference must resolve locally
    (absolute URLs name other servers, which an offline validator does not fetch)."""
    return run.options.references_must_resolve and "://" not in reference and not reference.startswith("urn:") and type_of_reference(reference) is not None


def _unresolved(reference: str, path: str, where: str) -> Issue:
    return Issue("error", "not-found", "reference-unresolved", f"{path}.reference {reference!r} cannot be resolved {where}; the validation asks every reference to resolve.", f"{path}.reference")


def _check_target_profiles_known(run: Run, elem: Elem, targets: tuple[str, ...], path: str, out: list[Issue]) -> None:
    """A profile that restricts a reference to a target profile we do not have cannot be
    checked: an error, as in the Java validator ("Unable to resolve the profile reference"),
    since what the reference must point to is unknown (fhir-test-cases res-inv-example-good)."""
    unknown = elem.index_cache.get("unknown-target-profiles")  # worked out once per element
    if unknown is None:
        unknown = elem.index_cache["unknown-target-profiles"] = [url for url in targets if not url.startswith(CORE_PREFIX) and run.defs.structure(url) is None]
    if unknown:
        owner = f" by the profile {elem.model.label}" if elem.model is not None else ""
        out.append(Issue("error", "not-found", "reference-target-profile-unknown", f"{path} must refer to a resource conforming to {' or '.join(unknown)}{owner}, which this server does not know; load the package that defines it.", path))


def _format_problem(run: Run, reference: str) -> str | None:
    """Why a literal reference cannot be one (R4 references.html: a relative ``Type/id``, an
    absolute URL, a ``urn:`` or a ``#id``), or None: whitespace never belongs in one, and a
    relative ``Type/id`` must name an R4 resource type. An absolute URL may be any server's
    (the R4 examples point at ``…/vhdir/Network/…``), so its path is not judged here."""
    if reference.split() != [reference]:  # white space anywhere (str.split splits on what isspace() is)
        return "is not a valid reference (it contains white space)"
    rtype = type_of_reference(reference) if "://" not in reference else None
    if rtype is not None and rtype not in run.defs.resource_types:
        return f"names the resource type {rtype}, which is not a FHIR R4 resource type"
    return None


def _profiled_targets(run: Run, elem: Elem, targets: tuple[str, ...], rtype: str | None) -> list[str]:
    """The known, non-core target profiles for a resource of type ``rtype`` (the definitions
    do not change: worked out once per element and target type)."""
    key = ("profiled-targets", rtype)
    found = elem.index_cache.get(key)
    if found is None:
        profiled = [url for url in targets if "/StructureDefinition/" in url and run.defs.structure(url) is not None and not run.defs.structure(url).is_core]
        found = elem.index_cache[key] = [url for url in profiled if run.defs.structure(url).type == rtype]
    return found


def check_reference(run: Run, elem: Elem, item: dict[str, Any], path: str, base: bool, out: list[Issue]) -> None:
    reference = item.get("reference")
    if not isinstance(reference, str) or not reference:
        return
    if base:
        problem = _format_problem(run, reference)
        if problem is not None:
            out.append(Issue("error", "value", "reference-format", f"{path}.reference {reference!r} {problem}.", f"{path}.reference"))
            return
    type_ref = elem.type_ref("Reference")
    targets = type_ref.target_profiles if type_ref else ()
    resolved: tuple[dict[str, Any], str] | None = None
    if reference.startswith("#"):
        if reference == "#":
            return
        resolved = _contained(run, reference)
        if resolved is None:
            if base:
                out.append(Issue("error", "not-found", "reference-contained-missing", f"{path}.reference {reference!r} points to a contained resource that does not exist; add it to contained or fix the id.", f"{path}.reference"))
            return
    elif run.bundles:
        bundle = run.bundles[-1]
        found = bundle.candidates(reference, run.full_urls[-1] if run.full_urls else None)
        resolved = found[0] if found else None
        inside_entry = len(run.resources) > 1  # Bundle.signature may name a signer outside
        if resolved is None and base and inside_entry and bundle.bundle_type == "document":
            out.append(Issue("error", "not-found", "reference-dangling", f"{path}.reference {reference!r} does not resolve to any entry of this document Bundle; a document must contain every resource it refers to (add the entry, or make the reference match its fullUrl).", f"{path}.reference"))
        elif resolved is None and base and inside_entry and _must_resolve(run, reference):
            out.append(_unresolved(reference, path, "inside this " + ("Parameters resource" if bundle.bundle_type == "parameters" else "Bundle")))
        elif len(found) > 1 and base and bundle.bundle_type != "history":
            where = ", ".join(f[1] for f in found)
            out.append(Issue("error", "invalid", "reference-ambiguous", f"{path}.reference {reference!r} matches {len(found)} entries of the Bundle ({where}); a reference must identify one resource (give the entries distinct fullUrls or version the reference).", f"{path}.reference"))
    elif base and _must_resolve(run, reference):
        out.append(_unresolved(reference, path, "here (there is no Bundle or Parameters to resolve it in)"))
    if not targets:
        return
    allowed = walker.target_types(run, targets)
    if not base:
        _check_target_profiles_known(run, elem, targets, path, out)
    rtype = resolved[0].get("resourceType") if resolved else type_of_reference(reference)
    if not isinstance(rtype, str):  # a resolved entry without a usable resourceType: reported where it is
        rtype = None
    if rtype and allowed and "Resource" not in allowed and rtype not in allowed:
        out.append(Issue("error", "structure", "reference-target-type", f"{path} refers to a {rtype}, but only {', '.join(sorted(allowed))} may be referenced here.", f"{path}.reference"))
        return
    if base or resolved is None or reference.startswith("#"):
        return
    candidates = _profiled_targets(run, elem, targets, rtype)
    if not candidates:
        return
    first_error: Issue | None = None
    for url in candidates:
        # The target's own reference-target errors would cascade along chains of
        # references (Composition → Condition → Patient); conforms() ignores them.
        ok, error = walker.conforms(run, resolved[0], resolved[1], url)
        if ok or ok is None:
            return
        first_error = first_error or error
    said = (id(resolved[0]), "|".join(candidates))
    if said in run.reported_targets:
        return  # one sentence per non-conforming target, not one per reference to it
    if not isinstance(out, walker.FailFast):  # a fail-fast walk's issues are thrown away
        run.reported_targets.add(said)
    names = " or ".join(run.defs.structure(u).label for u in candidates)
    why = f" ({first_error.diagnostics.rstrip('.')})" if first_error else ""
    out.append(Issue("error", "structure", "reference-target-profile", f"{path} refers to {resolved[1]}, which does not conform to {names}{why}.", f"{path}.reference"))
