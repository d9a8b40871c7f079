"""Audit: exactly one IHE BALP AuditEvent per request, stored as a FHIR resource.

The middleware opens an :class:`AuditRecord` when a FHIR request starts; the checks note the
patients they decided about, break-the-glass, and whether the request writes. The record
becomes AuditEvent(s) exactly once:

* for a **write**, inside the very database transaction that stores the data (a commit hook
  of ``Services.transaction()``): the data and its audit trail commit or roll back together;
* for everything else (read, search, history, operation, a refusal, a write that failed),
  built when the response is, then stored by the batched background writer
  (:mod:`.audit_writer`, FHIRSRV_AUDIT_READS=async, the default) — or, with
  FHIRSRV_AUDIT_READS=sync, before the response leaves (a granted read / vread inside the
  read's own transaction, the rest in a short transaction of its own).

Read and refusal audit commits are asynchronous either way (``synchronous_commit = off``):
a crash may lose the last fraction of a second of them, never a write's audit. When the
audit cannot be stored the server answers 500 (sync) or 503 (async backlog) instead of
serving data it could not audit (fail closed).

BALP (https://profiles.ihe.net/ITI/BALP/) shapes the event: ``type`` rest, ``subtype`` the
RESTful interaction, client agent = Source Role ID (DCM 110153), server = Destination Role
ID (DCM 110152), the user as requestor, entities for the patient, the data, the query and
the X-Request-Id. A request that touches several patients (a search by a professional)
names each of them as a patient entity; the event is indexed under every one of them, so
each patient's access log is complete, and a patient who reads it sees only their own
entity (:func:`fhirsrv.security.enforce.as_seen_by`). Events are stored by
:mod:`.audit_store` (bulk insert, index rows without FHIRPath).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g, has_request_context, request

from ..rest.checks import ID_PATTERN
from ..store.repository import format_instant, now
from .audit_store import store_events
from .context import NIHDI_SYSTEM, AccessContext

_log = logging.getLogger("fhirsrv.security.audit")

BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."
DCM = "http://dicom.nema.org/resources/ontology/DCM"
ACTIONS = {"read": "R", "vread": "R", "history-instance": "R", "history-type": "R", "history-system": "R",
           "search-type": "E", "search-system": "E", "create": "C", "update": "U", "patch": "U", "delete": "D",
           "operation": "E", "transaction": "E", "batch": "E"}
BALP_PROFILES = {"read": "Read", "vread": "Read", "history-instance": "Read", "search-type": "Query",
                 "search-system": "Query", "history-type": "Query", "history-system": "Query", "create": "Create",
                 "update": "Update", "delete": "Delete"}
BTG_LABEL = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "BTG",
             "display": "break the glass"}
ETREAT = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "ETREAT",
          "display": "Emergency Treatment"}


@dataclass
class AuditRecord:
    interaction: str  # restful-interaction code (read, search-type, create, operation, …)
    rtype: str | None = None
    rid: str | None = None
    operation: str | None = None
    query: str = ""
    patients: list[str] = field(default_factory=list)
    break_glass: str | None = None  # the reason given, when break-the-glass was used
    durable: bool = False  # a write: audit inside the data transaction, committed as durably as the data
    with_read: bool = False  # a single read decided inside its transaction: audit there too (cheaper)
    written: bool = False
    in_transaction: list[str] = field(default_factory=list)  # ids written by the commit hook
    ctx: AccessContext | None = None
    failure: str | None = None  # why the request was refused, for outcomeDesc


def begin(record: AuditRecord) -> None:
    g.fhirsrv_audit = record


def record() -> AuditRecord | None:
    return g.get("fhirsrv_audit") if has_request_context() else None


def note_patient(patient_id: str) -> None:
    rec = record()
    if rec is not None and patient_id not in rec.patients and ID_PATTERN.match(patient_id):
        rec.patients.append(patient_id)


def note_break_glass(reason: str) -> None:
    rec = record()
    if rec is not None and rec.ctx is not None and rec.ctx.break_glass:
        rec.break_glass = rec.ctx.break_glass


def mark_write() -> None:
    rec = record()
    if rec is not None:
        rec.durable = True


def mark_read_decided() -> None:
    """read / vread: the access is decided; with synchronous read audit, the AuditEvent may
    join the read's own transaction (one transaction instead of two)."""
    rec = record()
    if rec is not None and rec.interaction in ("read", "vread"):
        rec.with_read = True


# -- writing --------------------------------------------------------------------------------
def before_commit(cur: Any) -> None:
    """Commit hook of Services.transaction(): a write's audit joins the write's transaction."""
    rec = record()
    if rec is None or rec.written or not (rec.durable or (rec.with_read and not _asynchronous())):
        return
    if not rec.durable:
        cur.execute("SET LOCAL synchronous_commit TO OFF")
    rec.in_transaction = _store(cur, rec, 200)


def after_request(status: int) -> None:
    """Write the audit of a request that did not write it already (reads, refusals, failures)."""
    rec = record()
    if rec is None:
        return
    services = current_app.extensions["fhirsrv"]
    if rec.written and status >= 400 and rec.in_transaction:
        # the write's transaction failed after the hook ran: did its audit commit?
        with services.pool.connection() as conn:
            found = conn.execute("SELECT count(*) FROM resource WHERE rtype = 'AuditEvent' AND id = ANY(%s)",
                                 (rec.in_transaction,)).fetchone()[0]
        rec.written = found > 0
    if rec.written:
        return
    if _asynchronous():
        current_app.extensions["fhirsrv.security"].audit_writer.submit(_events(rec, status))
        rec.written = True
        return
    with services.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit TO OFF")
        _store(cur, rec, status)


def store_now(event: dict[str, Any]) -> None:
    """Store an event that belongs to no FHIR request (the token endpoint), as reads are."""
    if _asynchronous():
        current_app.extensions["fhirsrv.security"].audit_writer.submit([event])
        return
    with current_app.extensions["fhirsrv"].pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit TO OFF")
        store_events(cur, [event])


def _asynchronous() -> bool:
    return current_app.extensions["fhirsrv"].settings.audit_reads == "async"


def _events(rec: AuditRecord, status: int) -> list[dict[str, Any]]:
    """Exactly one event per request, naming every patient the request touched."""
    return [build_event(rec, status, rec.patients)]


def _store(cur: Any, rec: AuditRecord, status: int) -> list[str]:
    ids = store_events(cur, _events(rec, status))
    rec.written = True
    return ids


# -- the BALP event ---------------------------------------------------------------------------
def _outcome(status: int) -> str:
    return "0" if status < 400 else ("4" if status < 500 else "8")


def build_event(rec: AuditRecord, status: int, patients: list[str]) -> dict[str, Any]:
    """The BALP AuditEvent of one request. BALP's Patient* profiles describe an event about one
    patient; a request that touched several (a search page) names each as a patient entity and
    claims the general profile."""
    outcome = _outcome(status)
    event: dict[str, Any] = {"resourceType": "AuditEvent"}
    meta: dict[str, Any] = {}
    profile = BALP_PROFILES.get(rec.interaction)
    if profile and outcome == "0":
        meta["profile"] = [BALP + ("Patient" + profile if len(patients) == 1 else profile)]
    if rec.break_glass:
        meta["security"] = [BTG_LABEL]
    if meta:
        event["meta"] = meta
    event["type"] = {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest",
                     "display": "Restful Operation"}
    event["subtype"] = [{"system": "http://hl7.org/fhir/restful-interaction", "code": rec.interaction}]
    event["action"] = ACTIONS.get(rec.interaction, "E")
    event["recorded"] = format_instant(now())
    event["outcome"] = outcome
    if outcome != "0":
        event["outcomeDesc"] = f"HTTP {status}" + (f": {rec.failure}" if rec.failure else "")
    if rec.break_glass:
        event["purposeOfEvent"] = [{"coding": [ETREAT], "text": rec.break_glass}]
    event["agent"] = _agents(rec)
    event["source"] = {"observer": {"display": "fhirsrv"},
                       "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                                 "code": "4", "display": "Application Server"}]}
    event["entity"] = _entities(rec, patients)
    return event


def _agents(rec: AuditRecord) -> list[dict[str, Any]]:
    ctx = rec.ctx
    client_who: dict[str, Any] = {"display": "unauthenticated client"}
    if ctx is not None and ctx.client_id:
        client_who = {"identifier": {"system": ctx.issuer or "urn:fhirsrv:client", "value": ctx.client_id}}
    agents = [
        {"type": {"coding": [{"system": DCM, "code": "110153", "display": "Source Role ID"}]},
         "who": client_who, "requestor": ctx is not None and ctx.user is None and ctx.patient is None,
         "network": {"address": request.remote_addr or "unknown", "type": "2"}},
        {"type": {"coding": [{"system": DCM, "code": "110152", "display": "Destination Role ID"}]},
         "who": {"display": "fhirsrv"}, "requestor": False,
         "network": {"address": f"{request.scheme}://{request.host}", "type": "5"}},  # host_url costs 0.1 ms
    ]
    if ctx is not None and (ctx.user is not None or ctx.patient is not None):
        user: dict[str, Any] = {
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                 "code": "IRCP", "display": "information recipient"}]},
            "requestor": True,
        }
        if ctx.patient is not None:
            user["who"] = {"reference": f"Patient/{ctx.patient}"}
            user["role"] = [{"text": "patient"}]
        else:
            assert ctx.user is not None
            who: dict[str, Any] = {"display": ctx.user.name or ctx.subject or "professional"}
            if ctx.user.nihdi:
                who["identifier"] = {"system": NIHDI_SYSTEM, "value": ctx.user.nihdi}
            user["who"] = who
            user["role"] = [{"text": ctx.user.role}]
        if rec.break_glass:
            user["purposeOfUse"] = [{"coding": [ETREAT]}]
        agents.append(user)
    return agents


def _entities(rec: AuditRecord, patients: list[str]) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    object_type = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
    object_role = "http://terminology.hl7.org/CodeSystem/object-role"
    for patient in patients:
        entities.append({"what": {"reference": f"Patient/{patient}"},
                         "type": {"system": object_type, "code": "1", "display": "Person"},
                         "role": {"system": object_role, "code": "1", "display": "Patient"}})
    if rec.rtype and rec.rid and ID_PATTERN.match(rec.rid):
        entities.append({"what": {"reference": f"{rec.rtype}/{rec.rid}"},
                         "type": {"system": object_type, "code": "2", "display": "System Object"},
                         "role": {"system": object_role, "code": "4", "display": "Domain Resource"}})
    if rec.query or rec.interaction.startswith("search") or rec.operation:
        description = f"${rec.operation}" if rec.operation else (rec.rtype or "system")
        entities.append({"type": {"system": object_type, "code": "2", "display": "System Object"},
                         "role": {"system": object_role, "code": "24", "display": "Query"},
                         "description": description,
                         "query": base64.b64encode(rec.query.encode("utf-8")).decode("ascii")})
    request_id = request.headers.get("X-Request-Id")
    if request_id:
        entities.append({"what": {"identifier": {"value": request_id[:200]}},
                         "type": {"system": "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType",
                                  "code": "XrequestId"}})
    return entities
