"""Code-system and identifier-system URI normalisation.

The same system travels under several names (ATC as ``http://www.whocc.no/atc`` in IPS and
``http://whocc.no/atc`` in the Belgian guides; three CNK URIs; an old SSIN URI and an OID;
KMEHR table names), and a string comparison then fails silently: a code is "not in" a value
set that does contain it, a map is "missing". Every system the terminology service sees goes
through :meth:`Aliases.split` first, so matching is always done on the preferred URI.

The table is built from NamingSystem resources (ours in ``terminology/`` win over those in
the packages), plus two rules a NamingSystem cannot express: SNOMED CT edition URIs, and the
KMEHR ``CD-*`` table names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"

# SNOMED CT URI specification: http://snomed.info/sct/[module] and …/[module]/version/[date]
# name an edition (a version), not another code system.
_SNOMED_EDITION = re.compile(r"^https?://snomed\.info/sct/(\d+)(/version/\d{8})?/?$")
# KMEHR table names (CD-HCPARTY) and upper-case spellings of the Belgian core CodeSystem URIs.
_KMEHR_TABLE = re.compile(r"^(?:CD-[A-Z0-9-]+)$")
_BE_CORE_CS = "https://www.ehealth.fgov.be/standards/fhir/core/CodeSystem/"


def _unique_id_value(unique_id: dict[str, Any]) -> str | None:
    value = unique_id.get("value")
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if unique_id.get("type") == "oid" and not value.startswith("urn:oid:"):
        return f"urn:oid:{value}"
    return value


def preferred_uri(naming_system: dict[str, Any]) -> str | None:
    """The identifier a NamingSystem says to use: its preferred ``uri`` (else any uri)."""
    uris = [u for u in naming_system.get("uniqueId", ()) if isinstance(u, dict) and u.get("type") == "uri"]
    for candidate in sorted(uris, key=lambda u: not u.get("preferred")):
        value = _unique_id_value(candidate)
        if value:
            return value
    return None


class Aliases:
    """Maps every known spelling of a system to its preferred URI."""

    def __init__(self) -> None:
        self._to_preferred: dict[str, str] = {}
        self._authoritative: set[str] = set()  # spellings fixed by our own NamingSystems
        self._memo: dict[str, tuple[str, str | None]] = {}  # split() answers (the hot path)

    def add_naming_system(self, naming_system: dict[str, Any], *, authoritative: bool = False) -> None:
        """Record every uniqueId of ``naming_system`` as an alias of its preferred URI.

        ``authoritative`` entries (ours) replace what a package said; package entries never
        replace an authoritative one, and the first package entry for a spelling wins.
        """
        preferred = preferred_uri(naming_system)
        if preferred is None:
            return
        for unique_id in naming_system.get("uniqueId", ()):
            if not isinstance(unique_id, dict):
                continue
            value = _unique_id_value(unique_id)
            if value is None or value == preferred:
                continue
            self._set(value, preferred, authoritative)
        self._set(preferred, preferred, authoritative)

    def _set(self, alias: str, preferred: str, authoritative: bool) -> None:
        self._memo.clear()
        if authoritative:
            self._to_preferred[alias] = preferred
            self._authoritative.add(alias)
        elif alias not in self._authoritative:
            self._to_preferred.setdefault(alias, preferred)

    def add_all(self, naming_systems: Iterable[dict[str, Any]], *, authoritative: bool = False) -> None:
        for naming_system in naming_systems:
            if naming_system.get("kind") in ("codesystem", "identifier"):
                self.add_naming_system(naming_system, authoritative=authoritative)

    def extended(
        self, naming_systems: Iterable[dict[str, Any]], known: Callable[[str], bool] | None = None
    ) -> Aliases:
        """A copy that also knows the spellings of ``naming_systems`` (user-stored ones).

        They only add: a spelling this table already maps (or ``known`` says is a code system
        of its own) keeps its meaning, so what was built from the shipped table stays valid. Their preferred URI is itself normalised
        (a stored NamingSystem preferring ``http://whocc.no/atc`` adds to ATC).
        """
        out = Aliases()
        out._to_preferred = dict(self._to_preferred)
        out._authoritative = set(self._to_preferred)  # nothing known may be redirected
        for naming_system in naming_systems:
            if naming_system.get("kind") not in ("codesystem", "identifier"):
                continue
            preferred = preferred_uri(naming_system)
            if preferred is None:
                continue
            preferred = self.normalise(preferred) or preferred
            for unique_id in naming_system.get("uniqueId", ()):
                value = _unique_id_value(unique_id) if isinstance(unique_id, dict) else None
                if value is not None and unique_id.get("type") in ("uri", "oid") and not (known and known(value)):
                    out._set(value, preferred, authoritative=False)
        return out

    def split(self, system: str) -> tuple[str, str | None]:
        """``(preferred system, version implied by the spelling or None)``."""
        answer = self._memo.get(system)
        if answer is None:
            answer = self._split(system)
            if len(self._memo) < 100_000:
                self._memo[system] = answer
        return answer

    def _split(self, system: str) -> tuple[str, str | None]:
        preferred = self._to_preferred.get(system)
        if preferred is not None:
            edition = _SNOMED_EDITION.match(system)
            return preferred, (system if edition else None)
        edition = _SNOMED_EDITION.match(system)
        if edition:
            return SNOMED, system
        if _KMEHR_TABLE.match(system):
            return _BE_CORE_CS + system.lower(), None
        if system.startswith(_BE_CORE_CS) and system != system.lower():
            tail = system[len(_BE_CORE_CS):]
            if _KMEHR_TABLE.match(tail):
                return _BE_CORE_CS + tail.lower(), None
        return system, None

    def normalise(self, system: str | None) -> str | None:
        """The preferred URI for ``system`` (unchanged when it has no known alias)."""
        if system is None:
            return None
        return self.split(system)[0]

    def aliases_of(self, preferred: str) -> list[str]:
        """Every other spelling known for ``preferred`` (for documentation and tests)."""
        return sorted(a for a, p in self._to_preferred.items() if p == preferred and a != preferred)

    def __contains__(self, system: str) -> bool:
        return system in self._to_preferred

    def __len__(self) -> int:
        return len(self._to_preferred)
