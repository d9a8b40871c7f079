"""Ingest enrichment: give locally coded concepts the international coding a reader abroad knows.

A CodeableConcept coded only in a Belgian/local system (CNK, ICPC-2, local lab codes) gets,
beside its original coding, the SNOMED CT or LOINC coding our ConceptMaps give for it, marked
``userSelected: false`` (the author did not choose it). The original codings are never
changed, reordered or dropped, and the input resource is not mutated.

Only safe translations are added: ``equivalent``, ``equal`` and ``wider`` (the added code
means the same or something more general — true, if less precise). ``narrower``,
``specializes``, ``inexact`` and ``relatedto`` would make the record say more, or something
else, than the author did, so they are left out. Maps marked ``experimental`` (unverified
rows, e.g. our ICPC-2 starter map) are only used when asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .service import Session
from .uris import LOINC, SNOMED

if TYPE_CHECKING:
    from ..config import Settings

CNK = "https://www.ehealth.fgov.be/standards/fhir/medication/NamingSystem/cnk-codes"
ICPC2 = "http://hl7.org/fhir/sid/icpc-2"
LOCAL_LAB = "https://fhirsrv.dev/CodeSystem/local-lab"

SAFE_EQUIVALENCES = frozenset({"equivalent", "equal", "wider"})


@dataclass(frozen=True)
class EnrichmentPolicy:
    """Which local systems are enriched, into which target system; on by default."""

    enabled: bool = True
    targets: Mapping[str, str] = field(
        default_factory=lambda: {CNK: SNOMED, ICPC2: SNOMED, LOCAL_LAB: LOINC}
    )
    use_experimental_maps: bool = False


def enrich(resource: dict[str, Any], session: Session | None = None,
           policy: EnrichmentPolicy | None = None) -> dict[str, Any]:
    """``resource`` with mapped codings added beside local ones (a new object when anything changed).

    ``session`` defaults to the process-wide service over the default settings (shipped
    content); pass a request session to use stored ConceptMaps too.
    """
    return enricher(session, policy)(resource)


def enricher(session: Session | None = None,
             policy: EnrichmentPolicy | None = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """:func:`enrich` for many resources of one request (a document's entries): the policy's
    targets and each system's spelling are looked up once for all of them."""
    policy = policy or EnrichmentPolicy()
    if not policy.enabled:
        return lambda resource: resource
    if session is None:
        from ..config import Settings
        from .service import terminology_for

        session = terminology_for(Settings.from_env()).session()
    return _Walker(session, policy).walk


def enrichment_enabled(settings: Settings) -> bool:
    """The switch the ingest path reads: ``Settings.enrich_codes`` (``FHIRSRV_ENRICH_CODES``, on by default)."""
    return settings.enrich_codes


class _Walker:
    """One resource's walk. Copy-on-write: a dict or list is copied only when something under
    it changed, so an entry with nothing to enrich costs a read of it and no allocation."""

    def __init__(self, session: Session, policy: EnrichmentPolicy) -> None:
        self.session = session
        self.policy = policy
        self.targets = {session.aliases.normalise(k) or k: v for k, v in policy.targets.items()}
        self._normalised: dict[Any, str | None] = {}  # system as sent → its preferred spelling

    def normalise(self, system: Any) -> str | None:
        """``session.aliases.normalise``, asked once per system spelling of the walk."""
        try:
            return self._normalised[system]
        except KeyError:
            found = self._normalised[system] = self.session.aliases.normalise(system)
            return found
        except TypeError:  # not hashable: not a system anyway
            return self.session.aliases.normalise(system)

    def walk(self, node: Any) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] | None = None
            for key, value in node.items():
                if isinstance(value, dict | list):
                    new = self.walk(value)
                    if new is not value:
                        if out is None:
                            out = dict(node)
                        out[key] = new
            codings = (out or node).get("coding")
            if isinstance(codings, list):
                enriched = self._enriched(codings)
                if enriched is not None:
                    if out is None:
                        out = dict(node)
                    out["coding"] = enriched
            return node if out is None else out
        if isinstance(node, list):
            items: list[Any] | None = None
            for at, value in enumerate(node):
                if isinstance(value, dict | list):
                    new = self.walk(value)
                    if new is not value:
                        if items is None:
                            items = list(node)
                        items[at] = new
            return node if items is None else items
        return node

    def _enriched(self, codings: list[Any]) -> list[Any] | None:
        """The codings plus the mapped ones, or None when nothing is to be added."""
        systems = [self.normalise(c.get("system")) for c in codings if isinstance(c, dict)]
        if not systems or any(s not in self.targets for s in systems):
            return None  # not coded *only* in local systems (or already carries another system)
        present = {(self.normalise(c.get("system")), c.get("code")) for c in codings if isinstance(c, dict)}
        added: list[dict[str, Any]] = []
        for coding in codings:
            if not isinstance(coding, dict) or not isinstance(coding.get("code"), str):
                continue
            system = self.normalise(coding.get("system")) or ""
            target = self.targets[system]
            for match in self.session.translate(system, coding["code"], target_system=target).matches:
                if match.equivalence not in SAFE_EQUIVALENCES or match.code is None:
                    continue
                if not self.policy.use_experimental_maps and self._experimental(match.source):
                    continue
                if (match.system, match.code) in present:
                    continue
                present.add((match.system, match.code))
                new: dict[str, Any] = {"system": match.system, "code": match.code}
                if match.display:
                    new["display"] = match.display
                new["userSelected"] = False
                added.append(new)
        return codings + added if added else None

    def _experimental(self, map_url: str) -> bool:
        cm = self.session.find_map(map_url)
        return cm is None or cm.get("experimental") is True or cm.get("status") == "draft"
