"""Is a received document acceptable? Its shape (what ingest needs) and its claimed profile.

Two layers, both answered as one OperationOutcome:

1. the facts ingest itself relies on (bdl-9/10/11 and a resolvable Patient subject, unique
   ``fullUrl``s) — checked here because without them there is nothing to decompose;
2. base R4 plus the claimed profile, by the project's validator (:func:`run_validator`). A
   claim without a version is met by any published version of that profile: IPS 1.1.0
   documents that claim plain ``Bundle-uv-ips`` are still valid IPS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..conformance.registry import Registry
from ..errors import Issue, Unprocessable, has_errors, operation_outcome
from ..jsonshape import items, obj, text
from ..validation import validate
from .profiles import DocumentProfile, claimed
from .references import BundleReferences


def run_validator(resource: dict[str, Any], profiles: list[str], registry: Registry) -> dict[str, Any]:
    """Base R4 + ``profiles`` (+ ``meta.profile``) by the project validator with its default
    options and the registry's own value sets: for callers without a server (the server
    passes its configured validation, ``Services.validate``, to :func:`check_profiles`)."""
    return validate(resource, profiles, registry=registry)


#: ``(resource, profiles) -> OperationOutcome``: the validation a document is checked with.
Validate = Callable[[dict[str, Any], list[str]], dict[str, Any]]


def shape_issues(bundle: dict[str, Any]) -> list[Issue]:
    """What ingest cannot do without; each issue points at the element at fault."""
    issues: list[Issue] = []

    def error(code: str, sentence: str, where: str) -> None:
        issues.append(Issue("error", code, sentence, [where]))

    identifier = bundle.get("identifier")
    if not isinstance(identifier, dict) or not text(identifier.get("system")) or not text(identifier.get("value")):
        error("required", "a document Bundle needs identifier.system and identifier.value (bdl-9)",
              "Bundle.identifier")
    if not bundle.get("timestamp"):
        error("required", "a document Bundle needs a timestamp (bdl-10)", "Bundle.timestamp")
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        error("required", "a document Bundle needs entries, the Composition first", "Bundle.entry")
        return issues
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        where = f"Bundle.entry[{i}]"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            error("required", "every entry of a document carries a resource", f"{where}.resource")
            continue
        full_url = entry.get("fullUrl")
        if not isinstance(full_url, str) or not full_url:
            error("required", "every entry of a document needs a fullUrl so that references resolve",
                  f"{where}.fullUrl")
        elif full_url in seen:
            error("invalid", f"fullUrl {full_url} is used by entry {seen[full_url]} too (bdl-7)", f"{where}.fullUrl")
        else:
            seen[full_url] = i
        if i > 0 and resource.get("resourceType") == "Composition":
            error("invalid", "a document holds exactly one Composition, as its first entry (bdl-ips-1)",
                  f"{where}.resource")
    first = entries[0].get("resource") if isinstance(entries[0], dict) else None
    if not isinstance(first, dict) or first.get("resourceType") != "Composition":
        error("invalid", "the first entry of a document must be its Composition (bdl-11)", "Bundle.entry[0].resource")
        return issues
    subject = first.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    target = BundleReferences(entries).resolve(reference, 0) if isinstance(reference, str) else None
    found = entries[target].get("resource") if target is not None else None
    if not isinstance(found, dict) or found.get("resourceType") != "Patient":
        error("invalid", "Composition.subject must reference the Patient entry of this document",
              "Bundle.entry[0].resource.subject")
    return issues


def check_document(
    bundle: dict[str, Any], registry: Registry, default_profile: str, *, validate_profiles: bool = True
) -> DocumentProfile:
    """The profile version the document conforms to; 422 with the OperationOutcome otherwise.

    ``validate_profiles=False`` (FHIRSRV_VALIDATE_ON_WRITE=false) keeps the shape checks only.
    """
    check_shape(bundle)
    return check_profiles(bundle, registry, default_profile, validate_profiles=validate_profiles)


def check_shape(bundle: dict[str, Any]) -> None:
    """422 unless the document has what ingest needs (see :func:`shape_issues`)."""
    issues = shape_issues(bundle)
    if issues:
        raise Unprocessable(issues[0].diagnostics, outcome=operation_outcome(issues))


def check_profiles(
    bundle: dict[str, Any], registry: Registry, default_profile: str, *, validate_profiles: bool = True,
    validate: Validate | None = None,
) -> DocumentProfile:
    """Base R4 + the claimed profile (any version of an unversioned claim); 422 on an error.

    ``validate``: the server's configured validation (its options, terminology and stored
    canonicals, as every other write); without it, :func:`run_validator`."""
    if validate is None:
        def validate(resource: dict[str, Any], profiles: list[str]) -> dict[str, Any]:
            return run_validator(resource, profiles, registry)
    if not validate_profiles:
        return claimed(bundle, registry, default_profile)[0][0]
    chosen: DocumentProfile | None = None
    in_meta = {p for p in items(obj(bundle.get("meta")).get("profile")) if isinstance(p, str)}
    for versions in claimed(bundle, registry, default_profile):
        first_failure: dict[str, Any] | None = None
        for profile in versions:
            # the validator checks meta.profile itself (unversioned: the newest version)
            unversioned = profile.bundle.split("|")[0]
            covered = profile.bundle in in_meta or (profile is versions[0] and unversioned in in_meta)
            outcome = validate(bundle, [] if covered else [profile.bundle])
            if not has_errors(outcome):
                chosen = chosen or profile
                break
            first_failure = first_failure or outcome
        else:
            assert first_failure is not None
            first = next(i for i in first_failure["issue"] if i.get("severity") in {"error", "fatal"})
            raise Unprocessable(first.get("diagnostics", "the document is not valid"), outcome=first_failure)
    assert chosen is not None
    return chosen
