"""Document ingest: a valid document Bundle is stored whole and decomposed, in one transaction.

``ingest_document(cur, bundle)`` is called by ``POST [base]/Bundle`` (see
:mod:`fhirsrv.documents.rest`) and by the transaction processor for a document inside a
transaction. It never commits: the caller's transaction holds everything or nothing.

What is stored:

* the Bundle as received (server id/meta only): the legal artefact, returned by
  ``GET Bundle/{id}`` and by the DocumentReference's attachment URL;
* each entry as its own resource under a server id, every ``urn:uuid:``/``fullUrl``
  reference rewritten to ``Type/id``, ``meta.source`` naming the document it came from,
  and local-only codes (CNK, ICPC-2, local lab) given their SNOMED CT / LOINC coding beside
  them (:func:`fhirsrv.terminology.enrich.enrich`; the sender's codings are untouched);
  the Patient is matched by identifier instead of duplicated;
* a DocumentReference (LOINC 60591-5, status ``current``) pointing at the Bundle;
* a row in the document registry (:mod:`.records`) with the resources it contributed.

Idempotence: Bundle.identifier is unique. The same document again → the stored one, 200;
another document under an identifier already used → 409 (FHIR forbids reusing a document
identifier, and silently dropping changed content would lose clinical data).

Supersession: a newer document of the same patient from the same source (the custodian)
supersedes the current one: its DocumentReference becomes ``superseded`` and the new one
``relatesTo.replaces`` it. Resources of the old document that the newer summary no longer
contains stop being current *for that source*: they are not changed clinically (a problem
left out of a GP's new summary is not thereby resolved, and was not entered in error), but
they are excluded from ``$summary`` and carry the tag :data:`SUPERSEDED_TAG`, so a search
client can leave them out with ``_tag:not``. History and the old document stay readable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg import Cursor

from .. import fhirjson
from ..errors import Conflict, Unprocessable
from ..services import Services
from ..store.repository import Stored, new_id, now
from ..terminology.enrich import enrich, enrichment_enabled
from ..terminology.service import terminology_for
from . import fhirtime, records
from .conformance import check_profiles, check_shape
from .docref import document_reference
from .patients import find_patients, lock_identifiers, matchable_identifiers
from .profiles import DocumentProfile
from .references import BundleReferences, rewrite

SUPERSEDED_TAG = {
    "system": "https://fhirsrv.dev/CodeSystem/document-currency",
    "code": "superseded-in-source",
    "display": "Not in the newest summary of the source that recorded it",
}


@dataclass
class IngestResult:
    bundle: Stored  # the stored document Bundle (exact stored text in .body)
    created: bool  # False: the same document was already stored
    patient_id: str
    docref_id: str
    entries: dict[str, str] = field(default_factory=dict)  # fullUrl → Type/id
    replaced: str | None = None  # id of the DocumentReference this document superseded
    profile: DocumentProfile | None = None


def _services() -> Services:
    from ..rest.http import services

    return services()


def ingest_document(
    cur: Cursor, bundle: dict[str, Any], *, svc: Services | None = None, bundle_id: str | None = None
) -> IngestResult:
    """Validate, then store ``bundle`` and its entries in the caller's transaction.

    ``bundle_id``: the id a transaction already designated for the document (else a new one).
    """
    svc = svc or _services()
    enrich_codes = _enricher(svc)
    check_shape(bundle)
    identifier = (bundle["identifier"]["system"], bundle["identifier"]["value"])
    records.lock_key(cur, f"document|{identifier[0]}|{identifier[1]}")
    existing = records.by_identifier(cur, *identifier)
    if existing is not None:  # a retry: the stored copy was validated when it came
        return _already_stored(cur, svc, existing, bundle)
    profile = check_profiles(bundle, svc.registry, svc.settings.document_profile,
                             validate_profiles=svc.settings.validate_on_write)
    return _store_new(cur, svc, bundle, identifier, profile, enrich_codes, bundle_id or new_id())


def _comparable(bundle: dict[str, Any]) -> bytes:
    return fhirjson.dumps({k: v for k, v in bundle.items() if k not in {"id", "meta"}})


def _already_stored(cur: Cursor, svc: Services, record: records.DocumentRecord, bundle: dict) -> IngestResult:
    stored = svc.store.read(cur, "Bundle", record.bundle_id)
    if _comparable(fhirjson.loads(stored.body or "{}")) != _comparable(bundle):
        raise Conflict(
            f"a different document with identifier {bundle['identifier'].get('system')}|"
            f"{bundle['identifier'].get('value')} is already stored as Bundle/{record.bundle_id}; "
            "a new version of a document needs a new Bundle.identifier",
            expression="Bundle.identifier",
        )
    return IngestResult(stored, False, record.patient_id, record.docref_id)


def _enricher(svc: Services) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Terminology enrichment of decomposed entries (Settings.enrich_codes, on by default)."""
    if not enrichment_enabled(svc.settings):
        return lambda resource: resource
    session = terminology_for(svc.settings).session()
    return lambda resource: enrich(resource, session)


def _store_new(
    cur: Cursor,
    svc: Services,
    bundle: dict[str, Any],
    identifier: tuple[str, str],
    profile: DocumentProfile,
    enrich_codes: Callable[[dict[str, Any]], dict[str, Any]],
    bundle_id: str,
) -> IngestResult:
    entries: list[dict[str, Any]] = bundle["entry"]
    refs = BundleReferences(entries)
    composition = entries[0]["resource"]
    patient_at = refs.resolve(composition["subject"]["reference"], 0)
    assert patient_at is not None  # shape_issues checked it
    patient_id, patient_is_new = _match_patient(cur, svc, entries[patient_at]["resource"], patient_at)

    targets = [(e["resource"]["resourceType"], new_id()) for e in entries]
    targets[patient_at] = ("Patient", patient_id)
    moment = now()
    source = f"Bundle/{bundle_id}"

    def replacer(context: int):
        def replace(reference: str) -> str | None:
            at = refs.resolve(reference, context)
            return None if at is None else f"{targets[at][0]}/{targets[at][1]}"

        return replace

    writes: list[tuple[str, str, dict[str, Any]]] = [("Bundle", bundle_id, bundle)]
    for at, entry in enumerate(entries):
        if at != patient_at or patient_is_new:
            resource = _with_source(rewrite(entry["resource"], replacer(at)), source)
            writes.append((*targets[at], enrich_codes(resource)))
    rewritten_composition = writes[1][2]

    source_key = _source_key(composition, entries, refs, identifier)
    records.lock_key(cur, f"document-source|{patient_id}|{source_key}")
    previous = records.current_from_source(cur, patient_id, source_key)
    document_date = fhirtime.parse(composition.get("date")) or fhirtime.parse(bundle.get("timestamp")) or moment
    newer = previous is None or document_date >= previous.document_date
    replaced = previous.docref_id if previous is not None and newer else None
    docref_id = new_id()
    writes.append(("DocumentReference", docref_id, document_reference(
        bundle=bundle, bundle_id=bundle_id, composition=rewritten_composition, composition_id=targets[0][1],
        patient_id=patient_id, moment=moment, replaces=replaced, superseded=not newer)))
    stored_bundle = _create_all(cur, svc, writes, moment)[0]

    record = records.DocumentRecord(
        bundle_id, patient_id, source_key, targets[0][1], docref_id, document_date,
        None if newer or previous is None else previous.bundle_id,
    )
    records.insert(cur, record, identifier, moment, targets)
    if previous is not None and newer:
        _supersede(cur, svc, previous, bundle_id)
    return IngestResult(
        stored_bundle, True, patient_id, docref_id,
        entries={e.get("fullUrl", ""): f"{t[0]}/{t[1]}" for e, t in zip(entries, targets, strict=True)},
        replaced=replaced,
        profile=profile,
    )


def _create_all(cur: Cursor, svc: Services, writes: list[tuple[str, str, dict]], moment) -> list[Stored]:
    """Create every resource of the document under its pre-assigned id.

    One place for the writes, so that the pipelined creates of branch ``bundle``
    (``allocate_surrogates`` + ``cur.connection.pipeline()``) are a local change here.
    """
    return [svc.store.create(cur, rtype, resource, moment=moment, rid=rid)[0] for rtype, rid, resource in writes]


def _match_patient(cur: Cursor, svc: Services, patient: dict[str, Any], at: int) -> tuple[str, bool]:
    """(id, is_new): the stored Patient with one of the document Patient's identifiers, or a new id."""
    identifiers = matchable_identifiers(patient)
    lock_identifiers(cur, identifiers)
    found = find_patients(cur, svc.model, identifiers)
    if len(found) > 1:
        raise Unprocessable(
            f"the document's Patient matches {len(found)} stored patients by identifier "
            f"({', '.join('Patient/' + f for f in found)}); resolve the duplicate before sending documents",
            code="multiple-matches",
            expression=f"Bundle.entry[{at}].resource.identifier",
        )
    return (found[0], False) if found else (new_id(), True)


def _with_source(resource: dict[str, Any], source: str) -> dict[str, Any]:
    """``meta.source`` = the stored document, unless the sender named a source itself."""
    meta = resource.get("meta")
    if isinstance(meta, dict):
        return resource if meta.get("source") else {**resource, "meta": {**meta, "source": source}}
    out: dict[str, Any] = {}
    for key, value in resource.items():
        out[key] = value
        if key == ("id" if "id" in resource else "resourceType"):
            out["meta"] = {"source": source}
    return out


def _party_key(party: Any, entries: list[dict], refs: BundleReferences) -> str | None:
    """A stable name for an organisation or person: identifier, else name, else display."""
    if not isinstance(party, dict):
        return None
    ident = party.get("identifier")
    if isinstance(ident, dict) and ident.get("system") and ident.get("value"):
        return f"{ident['system']}|{ident['value']}"
    at = refs.resolve(party["reference"], 0) if isinstance(party.get("reference"), str) else None
    resource = entries[at]["resource"] if at is not None else {}
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") and ident.get("value"):
            return f"{ident['system']}|{ident['value']}"
    name = resource.get("name")
    if isinstance(name, str) and name:
        return f"{resource['resourceType']}:{name}"
    if isinstance(party.get("display"), str):
        return f"display:{party['display']}"
    return None


def _source_key(composition: dict, entries: list[dict], refs: BundleReferences, identifier: tuple[str, str]) -> str:
    """Who is the source of this summary: its custodian, else its first author.

    With neither identifiable, the document is its own source and supersedes nothing.
    """
    for party in [composition.get("custodian"), *(composition.get("author") or [])]:
        key = _party_key(party, entries, refs)
        if key:
            return key
    return f"document:{identifier[0]}|{identifier[1]}"


def _supersede(cur: Cursor, svc: Services, old: records.DocumentRecord, by_bundle: str) -> None:
    records.mark_superseded(cur, old.bundle_id, by_bundle)
    _patch(cur, svc, "DocumentReference", old.docref_id, lambda r: {**r, "status": "superseded"})
    for rtype, rid in records.orphaned_members(cur, old.bundle_id):
        if rtype != "Patient":
            _patch(cur, svc, rtype, rid, _tag_superseded)


def _tag_superseded(resource: dict[str, Any]) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    tags = list(meta.get("tag") or [])
    if not any(t.get("system") == SUPERSEDED_TAG["system"] for t in tags if isinstance(t, dict)):
        tags.append(SUPERSEDED_TAG)
    meta["tag"] = tags
    return {**resource, "meta": meta}


def _patch(cur: Cursor, svc: Services, rtype: str, rid: str, change) -> None:
    stored = svc.store.find_current(cur, rtype, rid)
    if stored is not None and stored.body is not None:
        svc.store.update(cur, rtype, rid, change(fhirjson.loads(stored.body)))
