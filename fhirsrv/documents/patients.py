"""Find a stored Patient by business identifier (``system|value``).

Documents from different EHRs name the same person by the same national identifier; the
Belgian SSIN has been published under three system URIs (DOMAIN §3.2 #5), which count as one.
The lookup is one query on the search index (``Patient.identifier`` token rows, every
``system|value`` and alias at once) — the rows ``Patient?identifier=`` searches — sent as a
:class:`~.pending.Pending` so that ingest can send it beside its other lookups.
"""

from __future__ import annotations

from typing import Any

from psycopg import Cursor

from ..errors import FhirError, NotFound
from ..store.advisory_locks import lock_keys
from .pending import Pending

SSIN = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"
SSIN_ALIASES = (
    SSIN,
    "https://www.ehealth.fgov.be/standards/fhir/NamingSystem/ssin",
    "urn:oid:2.16.840.1.113883.3.6777.5.1",
)


def equivalent_systems(system: str) -> tuple[str, ...]:
    return SSIN_ALIASES if system in SSIN_ALIASES else (system,)


def matchable_identifiers(patient: dict[str, Any]) -> list[tuple[str, str]]:
    """(system, value) pairs that identify the person: both parts present, not ``use=old``."""
    out: list[tuple[str, str]] = []
    for identifier in patient.get("identifier") or []:
        if not isinstance(identifier, dict) or identifier.get("use") == "old":
            continue
        system, value = identifier.get("system"), identifier.get("value")
        if isinstance(system, str) and isinstance(value, str) and system and value:
            out.append((system, value))
    return out


def lock_identifiers(cur: Cursor, identifiers: list[tuple[str, str]]) -> None:
    """Serialise concurrent ingests of one person so that they do not create two Patients
    (one statement, the keys in a fixed order)."""
    lock_keys(cur, (f"Patient.identifier|{equivalent_systems(s)[0]}|{v}" for s, v in identifiers))


_MAX_MATCHES = 10  # enough to tell none, one or several


def find_patients(cur: Cursor, identifiers: list[tuple[str, str]]) -> Pending[list[str]]:
    """Ids of current Patients carrying any of ``identifiers`` (SSIN aliases count as one)."""
    pairs = sorted({(alias, value) for system, value in identifiers for alias in equivalent_systems(system)})
    return Pending(
        cur,
        "SELECT DISTINCT r.id FROM idx_token t JOIN resource r ON r.rid = t.rid AND r.current AND NOT r.deleted"
        " WHERE t.rtype = 'Patient' AND t.param = 'identifier'"
        " AND (t.code, t.system) IN (SELECT * FROM unnest(%s::text[], %s::text[])) ORDER BY r.id LIMIT %s",
        ([v for _, v in pairs], [s for s, _ in pairs], _MAX_MATCHES),
        lambda rows: [row[0] for row in rows],
    )


def parse_token(token: str, parameter: str = "identifier") -> tuple[str, str]:
    """``system|value`` → (system, value); 400 when either part is missing."""
    system, sep, value = token.partition("|")
    if not sep or not system or not value:
        raise FhirError(
            f"{parameter} must be given as system|value (e.g. {SSIN}|85073003328), got {token!r}",
            code="invalid",
            expression=parameter,
        )
    return system, value


def patient_by_identifier(cur: Cursor, system: str, value: str) -> str:
    """The one Patient with that identifier: 404 for none, 422 for several."""
    found = find_patients(cur, [(system, value)]).result()
    if not found:
        raise NotFound(f"no Patient has identifier {system}|{value}")
    if len(found) > 1:
        raise FhirError(
            f"identifier {system}|{value} matches {len(found)} patients; use Patient/[id]/$summary",
            status=422,
            code="multiple-matches",
            expression="identifier",
        )
    return found[0]
