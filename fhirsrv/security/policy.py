"""Who may see whom: the Belgian access rules as explicit, pluggable policy rules.

A professional reads a patient's shared data only when (DOMAIN §3.4–3.5):

* ``role-ban`` — they are not an insurer, occupational or control physician;
* ``consent`` — the patient's informed consent to sharing is active;
* ``therapeutic-relationship`` — a therapeutic relationship with the patient is active now;
* ``exclusion`` — the patient has not excluded them by NIHDI number.

Each rule is an object behind the :class:`Rule` protocol; the facts they need come from
three small services (:class:`ConsentService`, :class:`TherapeuticLinkService`,
:class:`ExclusionService`) so the eHealth Consent / Therlink / Exclusion web services can
replace the local FHIR-backed ones (:mod:`.facts`) without touching the rules. Which rules
run is configuration (FHIRSRV_POLICY_RULES): a deployment behind a hub that already checks
consent and relationships switches those off, and the server says so at start-up.

Break-the-glass waives ``consent`` and ``therapeutic-relationship`` (and ``exclusion`` only
when FHIRSRV_EXCLUSION_BLOCKS_BREAK_GLASS=false); ``role-ban`` is never waived.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .context import BANNED_ROLES, AccessContext

Cursor = Any  # a psycopg cursor in the caller's transaction


@dataclass(frozen=True)
class Relationship:
    """An active therapeutic relationship (therlink) between a professional and a patient."""

    trigger: str  # eid-read | referral | gmd | hospitalisation | emergency | declared
    start: datetime
    end: datetime
    source: str  # where it is recorded, e.g. "CareTeam/123"


class ConsentService(Protocol):
    def consent_active(self, cur: Cursor, patient_id: str, at: datetime) -> bool: ...


class TherapeuticLinkService(Protocol):
    def relationship(self, cur: Cursor, patient_id: str, nihdi: str, at: datetime) -> Relationship | None: ...


class ExclusionService(Protocol):
    def excluded(self, cur: Cursor, patient_id: str, nihdi: str, at: datetime) -> bool: ...


@dataclass(frozen=True)
class Question:
    """One access question: may ``ctx`` access ``patient_id``'s data at ``at``?"""

    ctx: AccessContext
    patient_id: str
    at: datetime
    cur: Cursor
    purpose: str = "read"  # read | write | link (record a relationship) | consent (record a consent)


@dataclass(frozen=True)
class Verdict:
    """A rule's objection."""

    rule: str
    reason: str
    waivable: bool  # break-the-glass may override it


class Rule(Protocol):
    name: str

    def check(self, q: Question) -> Verdict | None:
        """An objection, or None when this rule does not object."""


@dataclass(frozen=True)
class RoleBan:
    name: str = "role-ban"

    def check(self, q: Question) -> Verdict | None:
        role = q.ctx.role
        if role in BANNED_ROLES:
            return Verdict(self.name, f"a {role} never has access to shared patient data", waivable=False)
        return None


@dataclass(frozen=True)
class ConsentRule:
    service: ConsentService
    name: str = "consent"

    def check(self, q: Question) -> Verdict | None:
        if q.purpose == "consent" or self.service.consent_active(q.cur, q.patient_id, q.at):
            return None
        return Verdict(self.name, f"Patient/{q.patient_id} has no active informed consent to data sharing",
                       waivable=True)


@dataclass(frozen=True)
class TherapeuticRelationshipRule:
    service: TherapeuticLinkService
    name: str = "therapeutic-relationship"

    def check(self, q: Question) -> Verdict | None:
        user = q.ctx.user
        if user is None or q.purpose in ("link", "consent"):  # systems have none; recording one needs none
            return None
        if not user.nihdi:
            return Verdict(self.name, "the token carries no NIHDI number to check a therapeutic relationship",
                           waivable=True)
        if self.service.relationship(q.cur, q.patient_id, user.nihdi, q.at) is not None:
            return None
        return Verdict(self.name, f"no active therapeutic relationship between NIHDI {user.nihdi} and "
                       f"Patient/{q.patient_id}", waivable=True)


@dataclass(frozen=True)
class ExclusionRule:
    service: ExclusionService
    waivable: bool = False
    name: str = "exclusion"

    def check(self, q: Question) -> Verdict | None:
        user = q.ctx.user
        if user is None or not user.nihdi:
            return None
        if self.service.excluded(q.cur, q.patient_id, user.nihdi, q.at):
            return Verdict(self.name, f"Patient/{q.patient_id} has excluded NIHDI {user.nihdi}",
                           waivable=self.waivable)
        return None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    verdicts: tuple[Verdict, ...] = ()
    break_glass: bool = False  # allowed only because break-the-glass waived objections

    @property
    def reason(self) -> str:
        return "; ".join(v.reason for v in self.verdicts)


ALLOW = Decision(True)


class Policy:
    """The enabled rules, applied in order; the patient's own access bypasses them."""

    def __init__(self, rules: Sequence[Rule], *, break_glass: bool = True) -> None:
        self.rules = tuple(rules)
        self.break_glass = break_glass

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rules]

    def decide(self, q: Question) -> Decision:
        ctx = q.ctx
        if ctx.development:
            return ALLOW
        if ctx.patient is not None:
            if ctx.patient == q.patient_id:
                return ALLOW
            return Decision(False, (Verdict("compartment", "a patient's token gives access to their own data only",
                                            False),))
        verdicts = tuple(v for v in (rule.check(q) for rule in self.rules) if v is not None)
        if not verdicts:
            return ALLOW
        if self.break_glass and ctx.break_glass and ctx.user is not None and all(v.waivable for v in verdicts):
            return Decision(True, verdicts, break_glass=True)
        return Decision(False, verdicts)


def build_policy(names: Sequence[str], *, consent: ConsentService, links: TherapeuticLinkService,
                 exclusions: ExclusionService, break_glass: bool = True,
                 exclusion_blocks_break_glass: bool = True) -> Policy:
    """The Policy for FHIRSRV_POLICY_RULES (unknown names are a configuration error)."""
    factories = {
        "role-ban": lambda: RoleBan(),
        "consent": lambda: ConsentRule(consent),
        "therapeutic-relationship": lambda: TherapeuticRelationshipRule(links),
        "exclusion": lambda: ExclusionRule(exclusions, waivable=not exclusion_blocks_break_glass),
    }
    unknown = [n for n in names if n not in factories and n != "sensitivity"]
    if unknown:
        raise ValueError(f"FHIRSRV_POLICY_RULES: unknown rule(s) {unknown}; known: {sorted(factories)} + sensitivity")
    return Policy([factories[n]() for n in names if n in factories], break_glass=break_glass)
