"""The local access facts: consent, exclusions and therapeutic relationships as FHIR resources.

There is no official Belgian FHIR profile for these (DOMAIN §3.5), so this is our mapping,
documented in docs/security.md:

* informed consent  -> ``Consent`` scope ``consentscope#patient-privacy``, ``provision.type``
  permit, no ``provision.actor``; revocation = ``status`` inactive (or a deny without actor:
  an opt-out);
* exclusion         -> ``Consent`` scope patient-privacy, ``provision.type`` deny,
  ``provision.actor.reference.identifier`` = the professional's NIHDI number;
* therapeutic link  -> ``CareTeam`` with ``subject`` the patient, ``category`` from
  :data:`THERLINK_SYSTEM` (the trigger), ``participant.member.identifier`` the NIHDI number,
  ``participant.period`` (or ``CareTeam.period``) its start and, optionally, an earlier end.
  The end is never later than start + the trigger's legal duration.

One indexed query per patient and request loads every Consent and CareTeam of the patient
(``resource.patient_id``); the result is cached for the rest of the request. A read by id
gets them in the statement that reads the resource (:meth:`LocalFhirFacts.read_with_facts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson
from flask import g, has_request_context

from ..store.repository import Stored
from .context import NIHDI_SYSTEM
from .policy import Cursor, Relationship

CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
THERLINK_SYSTEM = "https://fhirsrv.dev/CodeSystem/therapeutic-relationship"
# trigger -> maximum duration in months (DOMAIN §3.4, CM professional page)
THERLINK_MONTHS = {"eid-read": 15, "referral": 3, "gmd": 12, "hospitalisation": 3, "emergency": 1}


def parse_datetime(value: Any) -> datetime | None:
    """A FHIR date or dateTime as an aware datetime (a bare date is midnight UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) <= 10:
            parts = [int(p) for p in value.split("-")] + [1, 1]
            return datetime(parts[0], parts[1], parts[2], tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = moment.day
    while day > 28:
        try:
            date(year, month, day)
            break
        except ValueError:
            day -= 1
    return moment.replace(year=year, month=month, day=day)


def _codes(concepts: Any) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for concept in concepts if isinstance(concepts, list) else [concepts]:
        if isinstance(concept, dict):
            for coding in concept.get("coding", []) or []:
                if isinstance(coding, dict):
                    out.add((str(coding.get("system")), str(coding.get("code"))))
    return out


def _nihdi_of(reference: Any) -> str | None:
    if not isinstance(reference, dict):
        return None
    ident = reference.get("identifier")
    if isinstance(ident, dict) and ident.get("system") == NIHDI_SYSTEM and isinstance(ident.get("value"), str):
        return ident["value"]
    return None


def _covers(period: Any, at: datetime) -> bool:
    if not isinstance(period, dict):
        return True
    start, end = parse_datetime(period.get("start")), parse_datetime(period.get("end"))
    return (start is None or start <= at) and (end is None or at <= end)


def is_privacy_consent(consent: dict[str, Any]) -> bool:
    return (CONSENT_SCOPE_SYSTEM, "patient-privacy") in _codes(consent.get("scope"))


def exclusion_nihdis(consent: dict[str, Any]) -> list[str]:
    """The NIHDI numbers a deny Consent excludes ([] when it is not an exclusion)."""
    provision = consent.get("provision")
    if not isinstance(provision, dict) or provision.get("type") != "deny":
        return []
    actors = provision.get("actor") or []
    return [n for a in actors if isinstance(a, dict) and (n := _nihdi_of(a.get("reference")))]


@dataclass
class PatientFacts:
    """What the Consent and CareTeam resources of one patient say."""

    consents: list[dict[str, Any]] = field(default_factory=list)
    care_teams: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def add(self, rtype: str, ident: str, resource: dict[str, Any]) -> None:
        if rtype == "Consent":
            self.consents.append(resource)
        else:
            self.care_teams.append((ident, resource))

    def _active_privacy(self, at: datetime) -> list[dict[str, Any]]:
        return [c for c in self.consents if c.get("status") == "active" and is_privacy_consent(c)
                and _covers((c.get("provision") or {}).get("period"), at)]

    def consent_active(self, at: datetime) -> bool:
        permit = opt_out = False
        for consent in self._active_privacy(at):
            provision = consent.get("provision") or {}
            if provision.get("actor"):
                continue  # a per-professional provision is an exclusion, not the sharing consent
            if provision.get("type", "permit") == "permit":
                permit = True
            else:
                opt_out = True
        return permit and not opt_out

    def excluded(self, nihdi: str, at: datetime) -> bool:
        return any(nihdi in exclusion_nihdis(c) for c in self._active_privacy(at))

    def relationship(self, nihdi: str, at: datetime) -> Relationship | None:
        for ident, team in self.care_teams:
            if team.get("status", "active") != "active":
                continue
            triggers = [code for system, code in _codes(team.get("category")) if system == THERLINK_SYSTEM]
            months = max((THERLINK_MONTHS[t] for t in triggers if t in THERLINK_MONTHS), default=None)
            if months is None:
                continue
            for participant in team.get("participant", []) or []:
                if not isinstance(participant, dict) or _nihdi_of(participant.get("member")) != nihdi:
                    continue
                period = participant.get("period") or team.get("period") or {}
                start = parse_datetime(period.get("start"))
                if start is None:
                    continue
                end = add_months(start, months)
                explicit_end = parse_datetime(period.get("end"))
                if explicit_end is not None and explicit_end < end:
                    end = explicit_end
                if start <= at <= end:
                    return Relationship(triggers[0], start, end, f"CareTeam/{ident}")
        return None


_FACT_ROWS = "current AND NOT deleted AND rtype IN ('Consent', 'CareTeam')"  # = resource_access_facts' predicate
_READ_WITH_FACTS = (
    "WITH target AS (SELECT rtype, id, version, last_updated, deleted, method, body::text AS body, patient_id"
    " FROM resource WHERE rtype = %s AND id = %s AND current)"
    " SELECT false, * FROM target"
    " UNION ALL SELECT true, f.rtype, f.id, f.version, f.last_updated, f.deleted, f.method, f.body::text, f.patient_id"
    " FROM resource f WHERE f.patient_id = (SELECT patient_id FROM target) AND f.current AND NOT f.deleted"
    " AND f.rtype IN ('Consent', 'CareTeam')"
)


class LocalFhirFacts:
    """ConsentService, TherapeuticLinkService and ExclusionService over the stored resources."""

    def facts(self, cur: Cursor, patient_id: str) -> PatientFacts:
        cache = g.setdefault("fhirsrv_facts", {}) if has_request_context() else {}
        if patient_id not in cache:
            self.prefetch(cur, [patient_id], cache)
        return cache[patient_id]

    def prefetch(self, cur: Cursor, patient_ids: list[str], cache: dict[str, PatientFacts] | None = None) -> None:
        """Load the facts of several patients in one query (a search page spans many)."""
        if cache is None:
            if not has_request_context():
                return
            cache = g.setdefault("fhirsrv_facts", {})
        wanted = [p for p in dict.fromkeys(patient_ids) if p not in cache]
        if not wanted:
            return
        for patient_id in wanted:
            cache[patient_id] = PatientFacts()
        cur.execute(
            f"SELECT patient_id, rtype, id, body::text FROM resource WHERE patient_id = ANY(%s) AND {_FACT_ROWS}",
            (wanted,),
        )
        for patient_id, rtype, ident, body in cur.fetchall():
            cache[patient_id].add(rtype, ident, orjson.loads(body))

    def read_with_facts(self, cur: Cursor, rtype: str, rid: str) -> Stored | None:
        """The current version of ``rtype/rid`` and, in the same statement, the access facts of
        its patient (cached for the request): a read by a professional or a system costs one
        round trip, not two. None when it is missing or deleted (the caller's own read then
        says which)."""
        cur.execute(_READ_WITH_FACTS, (rtype, rid))
        rows = cur.fetchall()
        target = next((row[1:] for row in rows if not row[0]), None)
        if target is None or target[4]:
            return None
        stored = Stored(*target)
        if stored.patient_id is not None and has_request_context():
            cache = g.setdefault("fhirsrv_facts", {})
            found = cache[stored.patient_id] = PatientFacts()
            for row in rows:
                if row[0]:
                    found.add(row[1], row[2], orjson.loads(row[7]))
        return stored

    def consent_active(self, cur: Cursor, patient_id: str, at: datetime) -> bool:
        return self.facts(cur, patient_id).consent_active(at)

    def excluded(self, cur: Cursor, patient_id: str, nihdi: str, at: datetime) -> bool:
        return self.facts(cur, patient_id).excluded(nihdi, at)

    def relationship(self, cur: Cursor, patient_id: str, nihdi: str, at: datetime) -> Relationship | None:
        return self.facts(cur, patient_id).relationship(nihdi, at)


def forget(patient_id: str | None = None) -> None:
    """Drop cached facts (after a write to Consent/CareTeam in the same request)."""
    if has_request_context():
        cache = g.get("fhirsrv_facts")
        if cache is not None:
            cache.pop(patient_id, None) if patient_id else cache.clear()
