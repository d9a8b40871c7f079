"""Generate a patient-summary document from the stored data (``$summary``) and assemble a
stored Composition into a document (``$document``).

The summary is built from the patient's *current* data (the Patient compartment, minus what
a newer summary of the same source has replaced — see :mod:`.ingest`), not copied from the
last received document. Shape, per IPS and FHIR documents:

* ``Bundle.type = document``, a fresh ``identifier`` (urn:uuid), ``timestamp``, ``fullUrl``
  on every entry (the stored resource's URL, or ``urn:uuid:`` for what is generated);
* the Composition first (LOINC 60591-5, subject, date, author = this server as a Device,
  custodian = the configured Organization (:class:`Custodian`), title), then the Patient,
  the section entries, and every resource they reference, transitively, each exactly once;
* every section the profile defines that has content, and every required section always
  (entries, else the known absence, else ``emptyReason`` — or, in IPS 1.1.0 where
  ``emptyReason`` is 0..0, the 1.1.0 "no information" resource), each with a LOINC code, a
  title and a generated narrative.

Stored resources are spliced into the output as their stored JSON text (``orjson.Fragment``):
no re-serialisation, decimals exactly as received, and a 100-resource patient costs one
parse for the decisions and one write of the envelope.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
from psycopg import Cursor

from .. import __version__, fhirjson
from ..config import Settings
from ..conformance.registry import Registry
from ..store.repository import format_instant, now
from . import absent, narrative, records, selection
from .docref import PATIENT_SUMMARY
from .pending import Pending
from .profiles import DocumentProfile
from .references import iter_references, split_relative
from .sections import SectionDef, section_definitions


@dataclass(frozen=True)
class Custodian:
    """The organisation that keeps the generated summaries (``Composition.custodian``), from
    FHIRSRV_SUMMARY_CUSTODIAN and FHIRSRV_SUMMARY_CUSTODIAN_IDENTIFIER (``system|value``)."""

    name: str = Settings.summary_custodian
    identifier: str | None = None  # system|value

    def organization(self, base: str) -> dict[str, Any]:
        """The Organization entry; its id is stable for one server and custodian."""
        org: dict[str, Any] = {"resourceType": "Organization",
                               "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}#custodian#{self.name}"))}
        if self.identifier:
            system, _, value = self.identifier.partition("|")
            org["identifier"] = [{"system": system, "value": value}]
        org["name"] = self.name
        return org


TITLES = {
    "11450-4": "Active Problems", "48765-2": "Allergies and Intolerances", "10160-0": "Medication Summary",
    "11369-6": "Immunizations", "30954-2": "Results", "47519-4": "History of Procedures",
    "46264-8": "Medical Devices", "42348-3": "Advance Directives", "104605-1": "Alerts",
    "47420-5": "Functional Status", "11348-0": "History of Past Problems", "10162-6": "History of Pregnancy",
    "81338-6": "Patient Story", "18776-5": "Plan of Care", "29762-2": "Social History", "8716-3": "Vital Signs",
    "10182-4": "Travel History", "11329-0": "Medical History",
}
# Authorisation seam (branch ``security``): may this caller see this resource in a document?
# (rtype, parsed resource) -> bool; None admits everything.
Admit = Callable[[str, dict[str, Any]], bool]
# Stored types that are about documents, not clinical content of the patient.
_NOT_CONTENT = ["Bundle", "Composition", "DocumentReference", "Provenance", "AuditEvent"]


@dataclass
class Item:
    """One resource of the output: stored text, parsed data for decisions, or a generated body."""

    rtype: str
    id: str
    data: dict[str, Any]
    text: str | None = None  # stored JSON text, emitted as is
    body: dict[str, Any] | None = None  # emitted instead of ``text`` (generated or translated)
    full_url: str = ""

    @property
    def key(self) -> str:
        return f"{self.rtype}/{self.id}"

    def entry(self) -> dict[str, Any]:
        resource = self.body if self.body is not None else orjson.Fragment(self.text)
        return {"fullUrl": self.full_url, "resource": resource}

    @cached_property
    def targets(self) -> tuple[tuple[str, str], ...]:
        """(type, id) of every relative reference in the resource (walked once per item)."""
        found = (split_relative(ref["reference"]) for ref in iter_references(self.data))
        return tuple(t for t in found if t is not None)


def _item(row: tuple[str, str, str], base: str) -> Item:
    rtype, rid, text = row
    return Item(rtype, rid, orjson.loads(text), text=text, full_url=f"{base}/{rtype}/{rid}")


def load_patient(cur: Cursor, patient_id: str, base: str) -> Pending[list[Item]]:
    """The patient's current resources (the Patient first), minus superseded-in-source ones:
    one query, sent at once (a :class:`Pending`) so that it can share a round trip."""
    return Pending(
        cur,
        "SELECT r.rtype, r.id, r.body::text FROM resource r WHERE r.patient_id = %s AND r.current"
        " AND NOT r.deleted AND r.rtype <> ALL (%s) AND " + records.CURRENT_FOR_SOURCE
        + " ORDER BY r.rtype <> 'Patient', r.last_updated, r.id",
        (patient_id, _NOT_CONTENT),
        lambda rows: [_item(row, base) for row in rows],
    )


def fetch(cur: Cursor, keys: Iterable[tuple[str, str]], base: str) -> list[Item]:
    keys = list(keys)
    if not keys:
        return []
    cur.execute(
        "SELECT rtype, id, body::text FROM resource WHERE current AND NOT deleted AND (rtype, id) IN"
        " (SELECT * FROM unnest(%s::text[], %s::text[]))",
        ([k[0] for k in keys], [k[1] for k in keys]),
    )
    return [_item(row, base) for row in cur.fetchall()]


def _referenced(item: Item, base: str) -> Iterable[tuple[str, str]]:
    """What ``item`` points at: relative references (stored resources use them), and absolute
    ones into this server's ``base``."""
    yield from item.targets
    prefix = base + "/"
    if item.text is not None and prefix not in item.text:  # the common case: a substring search
        return
    for ref in iter_references(item.data):
        if ref["reference"].startswith(prefix) and (target := split_relative(ref["reference"][len(prefix):])):
            yield target


def close_references(
    cur: Cursor, included: dict[str, Item], start: list[Item], base: str, admit: Admit | None = None
) -> list[Item]:
    """Every resource reachable by reference from ``start`` that is not yet ``included``
    (and that ``admit`` lets through: a withheld resource is left a dangling reference)."""
    added: list[Item] = []
    frontier = start
    while frontier:
        wanted = {t for item in frontier for t in _referenced(item, base) if f"{t[0]}/{t[1]}" not in included}
        frontier = []
        for item in fetch(cur, sorted(wanted), base):
            if item.key not in included and (admit is None or admit(item.rtype, item.data)):
                included[item.key] = item
                added.append(item)
                frontier.append(item)
    return added


def _generated(resource: dict[str, Any]) -> Item:
    rid = resource["id"]
    return Item(resource["resourceType"], rid, resource, body=resource, full_url=f"urn:uuid:{rid}")


def _translated(item: Item, profile: DocumentProfile) -> Item:
    """In a 2.0-style document, a stored 1.1.0 "no known …" resource also carries the SNOMED code."""
    if profile.is_ips_1 or item.text is None or not absent.uses_absent_unknown(item.data):
        return item
    changed = absent.with_snomed(fhirjson.loads(item.text))
    if changed is None:
        return item
    return Item(item.rtype, item.id, item.data, body=changed, full_url=item.full_url)


def _section_entries(sd: SectionDef, candidates: list[Item], profile: DocumentProfile) -> list[Item]:
    """Statements win over a section-wide absence; a known absence over "no information"."""
    by_class: dict[str | None, list[Item]] = {None: [], "no-known": [], "no-info": []}
    chosen = {id(r) for r in selection.select(sd.code, [c.data for c in candidates])}
    for item in candidates:
        if id(item.data) in chosen:
            by_class[absent.classify(item.data)].append(item)
    found = by_class[None] or by_class["no-known"] or (by_class["no-info"] if profile.is_ips_1 else [])
    return [_translated(i, profile) for i in _without_parts(found)]


def _without_parts(items: list[Item]) -> list[Item]:
    """Drop entries another entry of the section references (a panel's members, a report's
    results): they come into the document with their panel, listed once, under it."""
    referenced = {f"{t}/{i}" for item in items for t, i in item.targets}
    return [item for item in items if item.key not in referenced]


class SummaryBuilder:
    """Builds one document for one patient and profile."""

    def __init__(
        self, cur: Cursor, registry: Registry, profile: DocumentProfile, base: str, admit: Admit | None = None,
        custodian: Custodian | None = None,
    ) -> None:
        self.cur, self.registry, self.profile, self.base, self.admit = cur, registry, profile, base, admit
        self.custodian = custodian or Custodian()
        self.moment = format_instant(now())
        self.included: dict[str, Item] = {}

    def lookup(self, reference: str) -> dict[str, Any] | None:
        reference = reference[len(self.base) + 1:] if reference.startswith(self.base + "/") else reference
        item = self.included.get(reference)
        return item.data if item else None

    def build(self, patient_id: str, loaded: list[Item] | None = None) -> dict[str, Any]:
        """The document; ``loaded``: what :func:`load_patient` answered, if already asked."""
        items = loaded if loaded is not None else load_patient(self.cur, patient_id, self.base).result()
        if not items or items[0].rtype != "Patient":
            raise LookupError(f"Patient/{patient_id}")
        patient, content = items[0], items[1:]
        if self.admit is not None:
            content = [i for i in content if self.admit(i.rtype, i.data)]
        self.included[patient.key] = patient
        plan: list[tuple[SectionDef, list[Item]]] = []
        placed: list[Item] = []
        for sd in section_definitions(self.registry, self.profile.composition):
            candidates = [i for i in content if i.rtype in sd.entry_types and i.key not in self.included]
            entries = _section_entries(sd, candidates, self.profile)
            if not entries and sd.required and not sd.empty_reason_allowed:
                generated = absent.no_information_resource(sd.code, patient.full_url)
                entries = [_generated(generated)] if generated is not None else []
            plan.append((sd, entries))
            placed.extend(entries)
            self.included.update((e.key, e) for e in entries)
        referenced = close_references(self.cur, self.included, [patient, *placed], self.base, self.admit)
        sections = [s for sd, entries in plan if (s := self._section(sd, entries)) is not None]
        device, custodian = self._service_parties()
        composition = self._composition(patient, sections, device, custodian)
        entries = [_generated(composition), patient, *placed, *referenced, _generated(device), _generated(custodian)]
        return self._bundle(entries)

    def _section(self, sd: SectionDef, entries: list[Item]) -> dict[str, Any] | None:
        title = TITLES.get(sd.code, sd.short)
        section: dict[str, Any] = {"title": title, "code": {"coding": [{"system": sd.system, "code": sd.code}]}}
        if entries:
            div = narrative.section_div(title, [e.body or e.data for e in entries], self.lookup)
            section["text"] = narrative.narrative(div)
            section["entry"] = [{"reference": e.full_url} for e in entries]
            return section
        if not sd.required:
            return None
        section["text"] = narrative.narrative(narrative.text_div(f"{title}: no information available."))
        section["emptyReason"] = absent.empty_reason()
        return section

    def _service_parties(self) -> tuple[dict[str, Any], dict[str, Any]]:
        device_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.base}#device"))
        device = {"resourceType": "Device", "id": device_id,
                  "deviceName": [{"name": "fhirsrv", "type": "manufacturer-name"}],
                  "version": [{"value": __version__}]}
        return device, self.custodian.organization(self.base)

    def _composition(self, patient: Item, sections: list[dict], device: dict, custodian: dict) -> dict[str, Any]:
        cid = str(uuid.uuid4())
        name = narrative.person_name(patient.data)
        title = f"Patient Summary as of {self.moment[:10]}"
        return {
            "resourceType": "Composition",
            "id": cid,
            "meta": {"profile": [self.profile.composition]},
            "text": narrative.narrative(narrative.text_div(
                title, f"Patient: {name}", f"Generated by fhirsrv from the data held on {self.moment}.")),
            "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{cid}"},
            "status": "final",
            "type": {"coding": [PATIENT_SUMMARY]},
            "subject": {"reference": patient.full_url, "display": name},
            "date": self.moment,
            "author": [{"reference": f"urn:uuid:{device['id']}", "display": "fhirsrv"}],
            "title": title,
            "custodian": {"reference": f"urn:uuid:{custodian['id']}", "display": custodian["name"]},
            "section": sections,
        }

    def _bundle(self, entries: list[Item]) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "meta": {"profile": [self.profile.bundle]},
            "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
            "type": "document",
            "timestamp": self.moment,
            "entry": [e.entry() for e in entries],
        }


def build_summary(
    cur: Cursor, registry: Registry, patient_id: str, profile: DocumentProfile, base: str, admit: Admit | None = None,
    loaded: list[Item] | None = None, custodian: Custodian | None = None,
) -> dict:
    """The document Bundle (stored resources spliced in as ``orjson.Fragment``)."""
    return SummaryBuilder(cur, registry, profile, base, admit, custodian).build(patient_id, loaded)


def build_document(cur: Cursor, composition_id: str, base: str, admit: Admit | None = None) -> dict[str, Any] | None:
    """``Composition/{id}/$document``: the stored Composition and everything it references."""
    found = fetch(cur, [("Composition", composition_id)], base)
    if not found:
        return None
    composition = found[0]
    included = {composition.key: composition}
    others = close_references(cur, included, [composition], base, admit)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "type": "document",
        "timestamp": format_instant(now()),
        "entry": [composition.entry(), *(i.entry() for i in others)],
    }
