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
another document under an identifier already used, or any document under the identifier of a
withdrawn one (:mod:`.withdraw`) → 409 (FHIR forbids reusing a document
identifier, and silently dropping changed content would lose clinical data).

Supersession: a newer document of the same patient from the same source (the custodian)
supersedes the current one: its DocumentReference becomes ``superseded`` and the new one
``relatesTo.replaces`` it. Resources of the old document that the newer summary no longer
contains stop being current *for that source*: they are not changed clinically (a problem
left out of a GP's new summary is not thereby resolved, and was not entered in error), but
they are excluded from ``$summary`` and carry the tag :data:`.currency.SUPERSEDED_TAG`, so a search
client can leave them out with ``_tag:not``. History and the old document stay readable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from psycopg import Cursor, pq

from .. import fhirjson
from ..errors import Conflict, Unprocessable
from ..services import Services
from ..store.repository import SURROGATES_SQL, Current, Stored, new_id, now
from ..terminology.enrich import enricher, enrichment_enabled
from ..terminology.stored import GENERATION_SQL
from . import currency, fhirtime, records
from .conformance import check_profiles, check_shape
from .docref import document_reference
from .patients import find_patients, lock_identifiers, matchable_identifiers
from .pending import Pending
from .profiles import DocumentProfile
from .references import BundleReferences, rewrite


@dataclass
class IngestResult:
    bundle: Stored  # the stored document Bundle (exact stored text in .body)
    created: bool  # False: the same document was already stored
    patient_id: str
    docref_id: str
    entries: dict[str, str] = field(default_factory=dict)  # fullUrl → Type/id
    replaced: str | None = None  # id of the DocumentReference this document superseded
    profile: DocumentProfile | None = None


@dataclass(frozen=True)
class _Plan:
    """What storing one new document writes, decided before anything is sent."""

    targets: list[tuple[str, str]]  # per entry: (type, id) it is stored as
    writes: list[tuple[str, str, dict[str, Any]]]  # new resources: the document, its entries, the DocumentReference
    revisions: list[tuple[Current, dict[str, Any]]]  # new versions of what a superseded document changes
    record: records.DocumentRecord
    replaced: records.DocumentRecord | None  # the current document this one supersedes


def _services() -> Services:
    from ..rest.http import services

    return services()


def ingest_document(
    cur: Cursor, bundle: dict[str, Any], *, svc: Services | None = None, bundle_id: str | None = None
) -> IngestResult:
    """Validate, then store ``bundle`` and its entries in the caller's transaction.

    ``bundle_id``: the id a transaction already designated for the document (else a new one).
    The database work is a few round trips whatever the document's size (see :class:`_Ingest`).
    """
    svc = svc or _services()
    check_shape(bundle)
    return _Ingest(cur, svc, bundle, bundle_id or new_id()).run()


def _comparable(bundle: dict[str, Any]) -> bytes:
    return fhirjson.dumps({k: v for k, v in bundle.items() if k not in {"id", "meta"}})


def _already_stored(cur: Cursor, svc: Services, record: records.DocumentRecord, bundle: dict) -> IngestResult:
    if record.withdrawn_at is not None:  # its identifier stays taken: FHIR forbids reusing one
        raise Conflict(
            f"the document with identifier {bundle['identifier'].get('system')}|{bundle['identifier'].get('value')}"
            f" (Bundle/{record.bundle_id}) was withdrawn; a corrected document needs a new Bundle.identifier",
            expression="Bundle.identifier",
        )
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
    return enricher(svc.terminology.session())


class _Ingest:
    """One document's ingest, in as few round trips as the decisions allow, with the database
    working while Python validates.

    1. locks and lookups, pipelined: the document identifier's lock and its stored copy, the
       patient identifiers' locks and the matching Patients, the surrogate keys, the stored
       terminology's change counter (which enrichment and validation would otherwise read on a
       connection of their own) — one wait;
    2. (only for a known patient) the source's lock and its current document — one wait;
    3. (only when that document is superseded) its resources no other current document
       holds, then their current versions under their write locks — two waits;
    4. every write pipelined: all new resources in one INSERT with one statement for their
       index rows, the registry rows, the superseded versions — sent, not awaited;
    5. validation (the document's profile), while Postgres executes step 4 on its own core.
       The caller commits only when it passes; a 422 rolls the transaction back, and nothing
       uncommitted is ever visible to anyone else, so an invalid document still stores nothing.

    An invalid document is answered with its validation outcome whatever else fails for it: a
    failure in steps 2–4 (a document Patient matching two stored ones, data the writes choke
    on) is reported only once validation has passed — the order of answers validating first
    gave. A document already stored (step 1) is answered at once, as before, unvalidated.
    """

    def __init__(self, cur: Cursor, svc: Services, bundle: dict[str, Any], bundle_id: str) -> None:
        self.cur, self.svc, self.bundle, self.bundle_id = cur, svc, bundle, bundle_id
        self.identifier = (bundle["identifier"]["system"], bundle["identifier"]["value"])
        self.entries: list[dict[str, Any]] = bundle["entry"]
        self.refs = BundleReferences(self.entries)
        self.composition = self.entries[0]["resource"]
        patient_at = self.refs.resolve(self.composition["subject"]["reference"], 0)
        assert patient_at is not None  # check_shape checked it
        self.patient_at = patient_at
        self.moment = now()
        self.profile: DocumentProfile | None = None

    def run(self) -> IngestResult:
        cur, svc = self.cur, self.svc
        patient_identifiers = matchable_identifiers(self.entries[self.patient_at]["resource"])
        with cur.connection.pipeline():
            records.lock_identifier(cur, *self.identifier)
            existing = records.by_identifier(cur, *self.identifier)
            lock_identifiers(cur, patient_identifiers)
            matches = find_patients(cur, patient_identifiers)
            surrogates = Pending(cur, SURROGATES_SQL, (len(self.entries) + 2,),  # + Bundle, DocumentReference
                                 lambda rows: [row[0] for row in rows])
            generation = Pending(cur, GENERATION_SQL, (), lambda rows: int(rows[0][0]) if rows else 0)
        svc.terminology.stored.remember(generation.result())
        if existing.result() is not None:  # a retry: the stored copy was validated when it came
            return _already_stored(cur, svc, existing.result(), self.bundle)
        with self._validated_first():
            plan = self._plan(matches.result())
        with _pipeline(cur):
            with self._validated_first():
                stored = self._send(plan, surrogates.result())
            self._validate()  # Postgres executes the writes meanwhile
        return IngestResult(
            stored[0], True, plan.record.patient_id, plan.record.docref_id,
            entries={e.get("fullUrl", ""): f"{t[0]}/{t[1]}" for e, t in zip(self.entries, plan.targets, strict=True)},
            replaced=plan.replaced.docref_id if plan.replaced else None,
            profile=self.profile,
        )

    def _validate(self) -> DocumentProfile:
        """Base R4 + the claimed profile, once per document; 422 when the document is invalid."""
        if self.profile is None:
            svc = self.svc
            self.profile = check_profiles(self.bundle, svc.registry, svc.settings.document_profile,
                                          validate_profiles=svc.settings.validate_on_write,
                                          validate=svc.validate)
        return self.profile

    @contextmanager
    def _validated_first(self) -> Iterator[None]:
        """A failure in here is answered by validation when the document is invalid (its 422
        OperationOutcome), else raised as it is: ingest must never tell an invalid document
        anything but what is wrong with it, as when validation ran before everything else."""
        try:
            yield
        except Exception:
            self._validate()
            raise

    def _plan(self, found_patients: list[str]) -> _Plan:
        """Every decision and every new version, before anything is written."""
        patient_id, patient_is_new = self._patient(found_patients)
        targets = [(e["resource"]["resourceType"], new_id()) for e in self.entries]
        targets[self.patient_at] = ("Patient", patient_id)
        writes = self._entry_writes(targets, patient_is_new)

        source_key = _source_key(self.composition, self.entries, self.refs, self.identifier)
        previous = None if patient_is_new else self._current_document(patient_id, source_key)
        document_date = (fhirtime.parse(self.composition.get("date")) or fhirtime.parse(self.bundle.get("timestamp"))
                         or self.moment)
        newer = previous is None or document_date >= previous.document_date
        replaced = previous if previous is not None and newer else None
        revisions = self._supersession(replaced) if replaced is not None else []
        docref_id = new_id()
        writes.append(("DocumentReference", docref_id, document_reference(
            bundle=self.bundle, bundle_id=self.bundle_id, composition=writes[1][2], composition_id=targets[0][1],
            patient_id=patient_id, moment=self.moment, replaces=replaced.docref_id if replaced else None,
            superseded=not newer)))
        record = records.DocumentRecord(
            self.bundle_id, patient_id, source_key, targets[0][1], docref_id, document_date,
            None if newer or previous is None else previous.bundle_id,
        )
        return _Plan(targets, writes, revisions, record, replaced)

    def _send(self, plan: _Plan, surrogates: list[int]) -> list[Stored]:
        """Every write of ``plan``, pipelined: sent to Postgres, not awaited."""
        cur, store = self.cur, self.svc.store
        stored = store.create_many(cur, plan.writes, surrogates=surrogates[:len(plan.writes)], moment=self.moment)
        records.insert(cur, plan.record, self.identifier, self.moment, plan.targets)
        if plan.replaced is not None:
            records.mark_superseded(cur, plan.replaced.bundle_id, self.bundle_id)
        store.revise_many(cur, plan.revisions, moment=self.moment)
        return stored

    def _patient(self, found: list[str]) -> tuple[str, bool]:
        """(id, is_new): the stored Patient with one of the document Patient's identifiers, or a new id."""
        if len(found) > 1:
            raise Unprocessable(
                f"the document's Patient matches {len(found)} stored patients by identifier "
                f"({', '.join('Patient/' + f for f in found)}); resolve the duplicate before sending documents",
                code="multiple-matches",
                expression=f"Bundle.entry[{self.patient_at}].resource.identifier",
            )
        return (found[0], False) if found else (new_id(), True)

    def _entry_writes(self, targets: list[tuple[str, str]], patient_is_new: bool) -> list[tuple[str, str, dict]]:
        """The document as received, then each entry rewritten, sourced and enriched (the
        Patient only when it is new: a stored Patient is not overwritten by a document's copy)."""
        enrich_codes = _enricher(self.svc)
        source = f"Bundle/{self.bundle_id}"

        def replacer(context: int) -> Callable[[str], str | None]:
            def replace(reference: str) -> str | None:
                at = self.refs.resolve(reference, context)
                return None if at is None else f"{targets[at][0]}/{targets[at][1]}"

            return replace

        writes: list[tuple[str, str, dict[str, Any]]] = [("Bundle", self.bundle_id, self.bundle)]
        for at, entry in enumerate(self.entries):
            if at != self.patient_at or patient_is_new:
                resource = _with_source(rewrite(entry["resource"], replacer(at)), source)
                writes.append((*targets[at], enrich_codes(resource)))
        return writes

    def _current_document(self, patient_id: str, source_key: str) -> records.DocumentRecord | None:
        """The known patient's current document from this source, under the source's lock."""
        with self.cur.connection.pipeline():
            records.lock_source(self.cur, patient_id, source_key)
            return records.current_from_source(self.cur, patient_id, source_key).result()

    def _supersession(self, old: records.DocumentRecord) -> list[tuple[Current, dict[str, Any]]]:
        """New versions for what ``old`` being superseded changes: its DocumentReference becomes
        ``superseded``; its resources that no current document holds get the superseded tag."""
        orphans = [(t, i) for t, i in records.orphaned_members(self.cur, old.bundle_id).result() if t != "Patient"]
        return currency.revisions(self.cur, self.svc.store, [
            (("DocumentReference", old.docref_id), currency.with_status("superseded")),
            *((key, currency.tag_superseded) for key in orphans),
        ])


def _pipeline(cur: Cursor) -> AbstractContextManager[Any]:
    """Pipeline mode for the writes: a block of its own, or none when the caller's pipeline is
    open (``Services.transaction(pipelined=True)``) — then they travel with the COMMIT."""
    if cur.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF:
        return nullcontext()
    return cur.connection.pipeline()


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

