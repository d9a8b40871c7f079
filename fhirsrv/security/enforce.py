"""The calls the interactions make: authorize_read / authorize_write / filter_visible / restrict_sql.

Every function takes the caller's :class:`AccessContext` (``security.current()``), raises
:class:`Forbidden` (403 OperationOutcome) when the answer is no, and tells the audit record
which patients the request touched, so the one AuditEvent of the request names them.
They accept the interaction's cursor so the access facts are read in the same transaction
(no second connection); without one they open a short transaction of their own.

The unit of access is the patient compartment (``resource.patient_id``): resources outside
any compartment (Practitioner, Organization, Medication, …) are governed by scopes only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import orjson
from flask import current_app, g, has_request_context

from .. import fhirjson
from ..errors import FhirError
from ..store.repository import Stored
from . import audit, facts
from .audit_store import patient_references
from .context import AccessContext
from .policy import Cursor, Decision, Question

# meta.security codes that make a resource sensitive (v3-ActCode / v3-Confidentiality).
SENSITIVE_CODES = frozenset({"PSY", "PSYTHPN", "HIV", "SUD", "ETH", "SDV", "SEX", "STD", "GDIS", "R", "V"})
SENSITIVE_READERS = frozenset({"gp", "specialist"})  # plus the patient themself
AUDIT_TYPE = "AuditEvent"
PROTECTED_TYPES = frozenset({AUDIT_TYPE})  # written by the server only


class StoredLike(Protocol):
    """What the checks read of a stored resource (``Stored``, search's ``Match``)."""

    rtype: str
    id: str
    body: str | None
    patient_id: str | None


S = TypeVar("S", bound=StoredLike)


class Forbidden(FhirError):
    status = 403

    def __init__(self, diagnostics: str, **kwargs: Any) -> None:
        kwargs.setdefault("code", "forbidden")
        super().__init__(diagnostics, **kwargs)


def _security() -> Any:
    return current_app.extensions["fhirsrv.security"]


@contextmanager
def _cursor(cur: Cursor | None) -> Iterator[Cursor]:
    if cur is not None:
        yield cur
        return
    with current_app.extensions["fhirsrv"].transaction() as own:
        yield own


# -- scopes -------------------------------------------------------------------------------
def require_scope(ctx: AccessContext, rtype: str, letter: str) -> None:
    """403 unless a granted scope covers ``letter`` (c r u d s) on ``rtype``."""
    if not ctx.scopes.allows(rtype, letter):
        verb = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}[letter]
        raise Forbidden(f"the access token's scopes do not allow {verb} on {rtype} "
                        f"(needs e.g. system/{rtype}.{letter} or the v1 equivalent)")


# -- patients -------------------------------------------------------------------------------
def decide(ctx: AccessContext, patient_id: str, cur: Cursor | None = None, purpose: str = "read") -> Decision:
    """The policy's answer for one patient, without raising (search uses it to filter)."""
    if ctx.development:
        return Decision(True)
    with _cursor(cur) as c:
        return _security().policy.decide(Question(ctx, patient_id, datetime.now(UTC), c, purpose))


def authorize_patient(ctx: AccessContext, patient_id: str, cur: Cursor | None = None,
                      purpose: str = "read") -> Decision:
    """403 unless ``ctx`` may access ``patient_id``'s compartment; records it for the audit."""
    decision = decide(ctx, patient_id, cur, purpose)
    audit.note_patient(patient_id)
    if decision.break_glass:
        audit.note_break_glass(decision.reason)
    if not decision.allowed:
        raise Forbidden(f"access to Patient/{patient_id}'s data refused: {decision.reason}")
    return decision


def _is_sensitive(body: str | None) -> bool:
    if body is None or '"security"' not in body:  # the common case costs a substring search
        return False
    meta = orjson.loads(body).get("meta") or {}
    return any(isinstance(c, dict) and c.get("code") in SENSITIVE_CODES for c in meta.get("security", []) or [])


def _may_see_sensitive(ctx: AccessContext) -> bool:
    if ctx.development or ctx.patient is not None:
        return True
    if "sensitivity" not in _security().rule_names:
        return True
    return ctx.user is not None and ctx.user.role in SENSITIVE_READERS


def visible(ctx: AccessContext, stored: StoredLike, cur: Cursor | None = None) -> tuple[bool, str]:
    """(may ``ctx`` see this stored resource, why not) — the one place the read rules live."""
    if ctx.development:
        return True, ""
    if stored.rtype == AUDIT_TYPE:
        if ctx.patient is not None:
            ok = stored.patient_id == ctx.patient or ctx.patient in _event_patients(stored.body)
            return ok, "a patient may list only their own access log"
        if ctx.user is not None:
            return False, "access logs are shown to the patient and to auditing systems only"
        return True, ""
    if stored.patient_id is None:
        return True, ""  # outside every compartment: scopes decide
    decision = decide(ctx, stored.patient_id, cur)
    if decision.break_glass:
        audit.note_break_glass(decision.reason)
    if not decision.allowed:
        return False, f"access to Patient/{stored.patient_id}'s data refused: {decision.reason}"
    if _is_sensitive(stored.body) and not _may_see_sensitive(ctx):
        return False, f"{stored.rtype}/{stored.id} is labelled sensitive and is not shown to this caller"
    return True, ""


def _event_patients(body: str | None) -> list[str]:
    """Every patient an AuditEvent names (agent or entity), not only its compartment column's."""
    if body is None:
        return []
    return [ref["reference"].removeprefix("Patient/") for ref in patient_references(orjson.loads(body))]


def as_seen_by(ctx: AccessContext, stored: S) -> S:
    """What ``ctx`` is shown of a resource it may see. An AuditEvent of a request that touched
    several patients names all of them; a patient reading their access log sees who accessed
    their data and how, but neither the other patients nor the query that found them."""
    if ctx.patient is None or stored.rtype != AUDIT_TYPE or stored.body is None:
        return stored
    event = orjson.loads(stored.body)
    own = f"Patient/{ctx.patient}"
    entities = event.get("entity") or []
    kept = [e for e in entities if not _names_other_patient(e, own)]
    if len(kept) == len(entities):
        return stored
    event["entity"] = [{k: v for k, v in e.items() if k != "query"} for e in kept]
    return replace(stored, body=fhirjson.dumps_str(event))


def _names_other_patient(entity: dict[str, Any], own: str) -> bool:
    reference = (entity.get("what") or {}).get("reference")
    return isinstance(reference, str) and reference.startswith("Patient/") and reference != own


def document_admit(ctx: AccessContext, patient_id: str | None, cur: Cursor | None = None) -> Callable[
        [str, dict[str, Any]], bool]:
    """The ``admit(rtype, resource)`` predicate document assembly ($summary, $document) applies
    to every resource it would include, after :func:`authorize_patient` for ``patient_id``:
    access logs never, sensitive ones only for who may see them, another patient's data only
    if the caller may see that patient too."""
    own = f"Patient/{patient_id}" if patient_id else None

    def admit(rtype: str, resource: dict[str, Any]) -> bool:
        if ctx.development:
            return True
        if rtype == AUDIT_TYPE:
            return False
        labels = (resource.get("meta") or {}).get("security") or []
        if any(isinstance(c, dict) and c.get("code") in SENSITIVE_CODES for c in labels) \
                and not _may_see_sensitive(ctx):
            return False
        if rtype == "Patient":
            others = [] if resource.get("id") == patient_id else [resource.get("id")]
        elif own is not None and any(isinstance(resource.get(k), dict) and resource[k].get("reference") == own
                                     for k in ("subject", "patient")):
            others = []  # the common case, decided without extracting the compartment
        else:
            others = [p for p in _patients_of(rtype, resource) if p != patient_id]
        return all(isinstance(p, str) and decide(ctx, p, cur).allowed for p in others)

    return admit


def authorize_read(ctx: AccessContext, stored: S, cur: Cursor | None = None) -> S:
    """read / vread: 403 unless the caller may see ``stored``; returns what the caller is
    shown of it (:func:`as_seen_by`)."""
    if stored.patient_id is not None:
        audit.note_patient(stored.patient_id)
    ok, why = visible(ctx, stored, cur)
    if not ok:
        raise Forbidden(why)
    audit.mark_read_decided()
    return as_seen_by(ctx, stored)


def read_current(ctx: AccessContext, cur: Cursor, rtype: str, rid: str) -> Stored:
    """read: the current version of ``rtype/rid``, authorised (:func:`authorize_read`). When
    the access rules will need the patient's facts, they come in the read's own statement."""
    store = current_app.extensions["fhirsrv"].store
    read_with_facts = getattr(_security().facts, "read_with_facts", None) if not ctx.development else None
    stored = None
    if read_with_facts is not None and ctx.patient is None and rtype != AUDIT_TYPE:
        stored = read_with_facts(cur, rtype, rid)
    if stored is None:  # not needed, or missing/deleted: the store's read answers (404/410)
        stored = store.read(cur, rtype, rid)
    return authorize_read(ctx, stored, cur)


def filter_visible(ctx: AccessContext, results: Iterable[S], cur: Cursor | None = None) -> list[S]:
    """The results the caller may see (search, _include, history, $summary, $everything)."""
    if ctx.development:
        return list(results)
    results = list(results)
    prefetch = getattr(_security().facts, "prefetch", None)
    if prefetch is not None and cur is not None and ctx.patient is None:
        prefetch(cur, [s.patient_id for s in results if s.patient_id is not None])
    kept: list[S] = []
    for stored in results:
        if visible(ctx, stored, cur)[0]:
            kept.append(as_seen_by(ctx, stored))
            if stored.patient_id is not None:
                audit.note_patient(stored.patient_id)
    return kept


def exact_in_sql(ctx: AccessContext) -> bool:
    """True when :func:`restrict_sql` alone decides what a search may return (development or
    a patient's token): then counts and paging are exact. Otherwise pages are post-filtered
    by :func:`filter_visible` and a total would count what the caller may not see."""
    return ctx.development or ctx.patient is not None


def restrict_sql(ctx: AccessContext, column: str = "patient_id") -> tuple[str, list[Any]]:
    """A SQL condition (and its parameters) search ANDs into its WHERE clause.

    A patient's token is confined to its compartment (plus non-compartment resources)
    in SQL, so paging and totals stay exact. For professionals and systems the consent /
    relationship rules cannot be expressed over all patients in SQL: search keeps
    ``TRUE`` here and runs :func:`filter_visible` on each page (see docs/security.md).
    """
    if ctx.development or ctx.patient is None:
        return "TRUE", []
    alias = column.rpartition(".")[0] + "." if "." in column else ""
    # an AuditEvent is in the log of every patient it names (its compartment column holds the first)
    return (f"({column} = %s OR ({column} IS NULL AND {alias}rtype <> '{AUDIT_TYPE}')"
            f" OR ({alias}rtype = '{AUDIT_TYPE}' AND {alias}rid IN (SELECT rid FROM idx_reference"
            f" WHERE rtype = '{AUDIT_TYPE}' AND param = 'patient' AND target_id = %s AND target_type = 'Patient')))",
            [ctx.patient, ctx.patient])


# -- writes ---------------------------------------------------------------------------------
def _patients_of(rtype: str, resource: dict[str, Any]) -> list[str]:
    if rtype == "Patient":
        return [resource["id"]] if isinstance(resource.get("id"), str) else []
    return current_app.extensions["fhirsrv"].indexer.extract(rtype, resource).patient_ids


def refuse_protected(rtype: str) -> None:
    if rtype in PROTECTED_TYPES:
        raise FhirError(f"{rtype} resources are written by the server only: they cannot be created, updated "
                        "or deleted through the API", status=405, code="not-supported")


def authorize_write(ctx: AccessContext, rtype: str, resource: dict[str, Any] | None, cur: Cursor | None = None,
                    *, existing: Stored | Callable[[], Stored | None] | None = None,
                    letter: str = "c") -> None:
    """create / update / delete (``resource`` None) of ``rtype``: 403/405 unless allowed.

    Checks the new content's compartment and, for update and delete, the existing one's, so
    a resource can neither be written into nor moved out of a compartment the caller may
    not touch. Consent and CareTeam (the access facts themselves) have rules of their own.
    """
    refuse_protected(rtype)
    audit.mark_write()
    if ctx.development:
        return
    require_scope(ctx, rtype, letter)
    if callable(existing):  # read only when a rule needs it: no extra round trip otherwise
        existing = existing()
    patients = list(_patients_of(rtype, resource)) if resource is not None else []
    if existing is not None and existing.patient_id and existing.patient_id not in patients:
        patients.append(existing.patient_id)
    if ctx.patient is not None:
        if not patients or any(p != ctx.patient for p in patients):
            raise Forbidden("a patient's token may write only resources of their own compartment")
        for p in patients:
            audit.note_patient(p)
        return
    purpose = _write_purpose(ctx, rtype, resource, existing)
    registered = _registered_here()
    for patient_id in patients:
        if rtype == "Patient" and existing is None and not _exists(patient_id, cur):
            registered.add(patient_id)  # registering a new patient: no data to protect yet
        if patient_id in registered:  # its content, written in the request that registers it
            audit.note_patient(patient_id)
            continue
        if not decide(ctx, patient_id, cur, purpose).allowed and not _exists(patient_id, cur):
            registered.add(patient_id)  # a patient this request is about to register (document ingest
            audit.note_patient(patient_id)  # stores the Composition before the Patient): nothing to protect
            continue
        authorize_patient(ctx, patient_id, cur, purpose)
    if rtype in ("Consent", "CareTeam"):
        facts.forget()


def _write_purpose(ctx: AccessContext, rtype: str, resource: dict[str, Any] | None,
                   existing: Stored | None) -> str:
    """'consent' / 'link' for the access facts themselves, 'write' for clinical data."""
    if rtype == "Consent":
        bodies = [resource] if resource is not None else []
        if existing is not None and existing.body:
            bodies.append(orjson.loads(existing.body))
        if any(facts.exclusion_nihdis(b) for b in bodies) and ctx.user is not None:
            raise Forbidden("only the patient (or the patient's portal) may record or lift an exclusion")
        return "consent"
    if rtype == "CareTeam":
        return "link"
    return "write"


def _registered_here() -> set[str]:
    """Patients this request registered (a document for a patient new to the server)."""
    return g.setdefault("fhirsrv_registered_patients", set()) if has_request_context() else set()


def _exists(patient_id: str, cur: Cursor | None) -> bool:
    with _cursor(cur) as c:
        return current_app.extensions["fhirsrv"].store.exists(c, "Patient", patient_id)
