"""The terminology service: one object per process, one session per request.

:class:`TerminologyService` holds what never changes while the server runs — the shipped
content, the package registry, the URI aliases — and the caches built from it (code-system
indexes, value-set expansions, the ConceptMap index). It implements
:class:`fhirsrv.terminology.ValueSetChecker` for the validator: once warm, a membership test
is two dictionary reads.

:class:`BoundTerminology` binds it to one database: a :class:`Session` then also sees the
resources users stored there. What is built from stored resources is cached in the current
:class:`fhirsrv.terminology.stored.Snapshot` (one per change generation of the database), and
the database is asked only when shipped content cannot answer.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..config import Settings
from ..conformance.loader import load_registry
from ..conformance.registry import Registry
from ..errors import FhirError
from . import CodeCheck
from .codesystems import CodeSystemIndex, judge_display
from .conceptmaps import Dependency, MapIndex, Translation, no_result_message, translate
from .content import Resolver, Sources, read_terminology_dir
from .stored import Connect, Snapshot, StoredTerminology
from .uris import Aliases
from .valuesets import MAX_DEPTH, Expander, Expansion, Member


class TerminologyService:
    """Shipped content + packages, with process-wide caches."""

    def __init__(self, registry: Registry, shipped: list[dict[str, Any]]) -> None:
        self.sources = Sources(registry, shipped)
        self.aliases = Aliases()
        self.aliases.add_all(self.sources.shipped_naming_systems(), authoritative=True)
        self.aliases.add_all(self.sources.package_naming_systems())
        self.codesystem_cache: dict[tuple, CodeSystemIndex] = {}
        self.expansion_cache: dict[str, Expansion | None] = {}
        self._map_index: MapIndex | None = None
        # The shared (store-less) session builds expansions under this lock: two threads
        # building the same value set would otherwise see each other's half-built result
        # as a cycle and cache an incomplete expansion. Cache hits never take the lock.
        self.build_lock = threading.RLock()
        self._static = Session(self, None)
        # (value set, system, code) → shipped_answer without a display; shipped content does
        # not change while the process runs, so neither does the answer (None included).
        self._shipped_answers: dict[tuple[str, str | None, str], CodeCheck | None] = {}

    @property
    def map_index(self) -> MapIndex:
        """Every shipped and packaged ConceptMap, indexed once."""
        if self._map_index is None:
            self._map_index = MapIndex(self.sources.all_of_type("ConceptMap"), self.aliases)
        return self._map_index

    def session(self, stored: Callable[[], Snapshot] | None = None) -> Session:
        """The shared session over shipped content, or one that also sees ``stored()``."""
        return self._static if stored is None else Session(self, stored)

    # ValueSetChecker --------------------------------------------------------------------
    def validate_code(
        self, valueset: str, *, system: str | None, code: str, display: str | None = None
    ) -> CodeCheck:
        return self._static.validate_code(valueset, system=system, code=code, display=display)

    def shipped_answer(
        self, valueset: str, system: str | None, code: str, display: str | None = None
    ) -> CodeCheck | None:
        """The membership answer from shipped content alone, or None when a stored resource
        could change it (the value set, a code system it draws on, or an alias of ``system``)."""
        expansion = self._static.expansion(valueset)
        if expansion is None or expansion.volatile:
            return None
        answer = self._static.check_member(expansion, valueset, system, code, display)
        if answer.valid or system is None or self.system_known(self.aliases.normalise(system) or system):
            return answer
        return None

    def remembered_shipped_answer(self, valueset: str, system: str | None, code: str) -> CodeCheck | None:
        """:meth:`shipped_answer` without a display, worked out once per (value set, system,
        code) for the process: the validator asks the same few hundred questions of every
        document (every ``status``, every ``category``)."""
        key = (valueset, system, code)
        answer = self._shipped_answers.get(key, _MISSING)
        if answer is _MISSING:
            answer = self.shipped_answer(valueset, system, code)
            if len(self._shipped_answers) < ANSWERS_KEPT:
                self._shipped_answers[key] = answer
        return answer

    def system_known(self, system: str) -> bool:
        return self.sources.get("CodeSystem", system) is not None or system in self.aliases


# Membership answers kept per table (the shipped one, each stored generation's): codes come
# from the data, so the tables are bounded; past the bound answers are computed each time.
ANSWERS_KEPT = 65536


class BoundTerminology:
    """The service bound to one database: shipped content plus what users stored there.

    This is what the server uses (``Services.terminology``): the validator's binding checks
    (:meth:`validate_code`), the operations and ingest enrichment (:meth:`session`).
    """

    def __init__(self, service: TerminologyService, connect: Connect) -> None:
        self.service = service
        self.stored = StoredTerminology(connect, service.aliases, service.system_known)

    def session(self) -> Session:
        return Session(self.service, self.stored.current)

    def validate_code(
        self, valueset: str, *, system: str | None, code: str, display: str | None = None
    ) -> CodeCheck:
        """Shipped content first; what it cannot answer, with what users stored too.

        Without a display (every binding check of the validator) both answers are remembered:
        the shipped one for the process, the other on the stored-terminology snapshot of the
        current generation, so a value set that a stored CodeSystem could change (LOINC- or
        BCP-47-based ones) costs a dictionary read, not a Session, once per generation.
        """
        if display is not None:
            answer = self.service.shipped_answer(valueset, system, code, display)
            if answer is not None:
                return answer
            return self.session().validate_code(valueset, system=system, code=code, display=display)
        answer = self.service.remembered_shipped_answer(valueset, system, code)
        if answer is not None:
            return answer
        snapshot = self.stored.current()
        key = (valueset, system, code)
        answer = snapshot.answers.get(key)
        if answer is None:
            answer = Session(self.service, lambda: snapshot).validate_code(valueset, system=system, code=code)
            if len(snapshot.answers) < ANSWERS_KEPT:
                snapshot.answers[key] = answer
        return answer


class Session:
    """The operations of the service over shipped content plus (optionally) stored resources."""

    def __init__(self, service: TerminologyService, stored: Callable[[], Snapshot] | None) -> None:
        self.service = service
        self.has_store = stored is not None
        self._stored_provider = stored
        self._snapshot: Snapshot | None = None
        self.resolver = Resolver(service.sources, self.stored if stored is not None else None)
        self.aliases: Aliases = (_SessionAliases(service.aliases, service.system_known, self.stored)
                                 if stored is not None else service.aliases)
        self._in_progress: set[str] = set()

    def stored(self) -> Snapshot:
        """The stored terminology, read (its generation checked) once per session, on first need."""
        if self._snapshot is None:
            assert self._stored_provider is not None
            self._snapshot = self._stored_provider()
        return self._snapshot

    # code systems -----------------------------------------------------------------------
    def codesystem(self, url: str, version: str | None = None) -> CodeSystemIndex | None:
        found = self.resolver.find("CodeSystem", url, version)
        if found is None and version is not None:
            # An unknown version (often a SNOMED CT edition URI): fall back to what we have.
            found = self.resolver.find("CodeSystem", url)
        if found is None:
            return None
        cache = self.stored().codesystems if found.volatile else self.service.codesystem_cache
        index = cache.get(found.key)
        if index is None:
            index = CodeSystemIndex(found.resource)
            cache[found.key] = index
        return index

    def codesystem_is_volatile(self, url: str, version: str | None = None) -> bool:
        """Stored, or missing while a store could still supply it: not cacheable process-wide."""
        sources = self.service.sources
        return sources.get("CodeSystem", url, version) is None and sources.get("CodeSystem", url) is None

    def system_known(self, system: str) -> bool:
        if self.service.system_known(system):
            return True
        return self.has_store and (system in self.aliases or self.resolver.find("CodeSystem", system) is not None)

    def require_codesystem(self, system: str | None, version: str | None = None) -> CodeSystemIndex:
        """The index for ``system``; 400 when the system is unknown or its content is not here."""
        if not system:
            raise FhirError("a code system is required: give 'system' (or 'url') or a 'coding'",
                            code="required", expression="system")
        preferred = self.aliases.normalise(system) or system
        index = self.codesystem(preferred, version)
        if index is None:
            known = preferred in self.aliases
            detail = "its content is not available on this server" if known else "it is not known to this server"
            raise FhirError(f"cannot use the code system {system}: {detail}", code="not-found", expression="system")
        if index.content == "not-present":
            raise FhirError(
                f"the content of the code system {preferred} is not available on this server "
                "(licensed or too large to ship); use a terminology server that holds it",
                code="not-supported", expression="system",
            )
        return index

    # value sets -------------------------------------------------------------------------
    def expansion(self, reference: str, depth: int = 0) -> Expansion | None:
        """The (cached) expansion of the value set ``reference`` (``url`` or ``url|version``)."""
        cached = self.service.expansion_cache.get(reference, _MISSING)
        if cached is not _MISSING:
            if not self.has_store:
                return cached
            if cached is not None and not cached.volatile:  # cannot depend on stored resources
                return cached
        if not self.has_store:
            with self.service.build_lock:
                cached = self.service.expansion_cache.get(reference, _MISSING)
                return self._build(reference, depth) if cached is _MISSING else cached
        snapshot = self.stored()
        cached = snapshot.expansions.get(reference, _MISSING)
        if cached is not _MISSING:
            return cached
        with snapshot.lock:
            cached = snapshot.expansions.get(reference, _MISSING)
            return self._build(reference, depth) if cached is _MISSING else cached

    def _build(self, reference: str, depth: int) -> Expansion | None:
        if depth > MAX_DEPTH or reference in self._in_progress:
            return None
        found = self.resolver.find("ValueSet", reference)
        if found is None:
            self._cache_expansion(reference, None)
            return None
        self._in_progress.add(reference)
        try:
            result = Expander(self, depth).expand(found.resource, volatile=found.volatile)
        finally:
            self._in_progress.discard(reference)
        self._cache_expansion(reference, result)
        return result

    def _cache_expansion(self, reference: str, result: Expansion | None) -> None:
        if not self.has_store or (result is not None and not result.volatile):
            # Without a store: exact for shipped content; "volatile" (or None) there only marks
            # that a store session must rebuild it (a value set or code system might be stored).
            self.service.expansion_cache[reference] = result
        else:
            self.stored().expansions[reference] = result

    def expand_resource(self, valueset: dict[str, Any]) -> Expansion:
        """Expand a ValueSet given inline (``$expand`` with ``valueSet``): never cached."""
        return Expander(self).expand(valueset, volatile=True)

    def validate_code(
        self, valueset: str, *, system: str | None, code: str, display: str | None = None
    ) -> CodeCheck:
        expansion = self.expansion(valueset)
        if expansion is None:
            return CodeCheck(None, f"the value set {valueset} is not available on this server", system_known=False)
        return self.check_member(expansion, valueset, system, code, display)

    def check_member(
        self, expansion: Expansion, label: str, system: str | None, code: str, display: str | None = None
    ) -> CodeCheck:
        if system is None:
            hits = [m for codes in expansion.members.values() for c, m in codes.items() if c == code]
            if hits:
                return self.with_display(hits[0], display)
            why = expansion.reason_open(None)
            if why:
                return CodeCheck(None, f"the code {code!r} cannot be checked against {label}: {why}")
            return CodeCheck(False, f"the code {code!r} (no system given) is not in the value set {label}")
        preferred = self.aliases.normalise(system) or system
        member = expansion.find(preferred, code)
        if member is not None:
            doubt = expansion.reason_doubtful(preferred)
            if doubt:
                return CodeCheck(None, f"{preferred}#{code} cannot be checked against {label}: {doubt}")
            return self.with_display(member, display)
        why = expansion.reason_open(preferred)
        if why:
            return CodeCheck(None, f"{preferred}#{code} cannot be checked against {label}: {why}",
                             system_known=self.system_known(preferred))
        known = self.system_known(preferred)
        unknown = "" if known else f"; the code system {preferred} is not known to this server"
        return CodeCheck(False, f"{preferred}#{code} is not in the value set {label}{unknown}", system_known=known)

    def with_display(self, member: Member, display: str | None) -> CodeCheck:
        index = self.codesystem(member.system, member.version)
        concept = index.get(member.code) if index is not None else None
        if concept is None:  # no code system to judge a display by
            return CodeCheck(True, display=member.display)
        if not display:
            return CodeCheck(True, display=member.display or concept.display)
        return judge_display(index, concept, display, member.display)

    # concept maps -----------------------------------------------------------------------
    def stored_maps(self) -> MapIndex:
        snapshot = self.stored()
        if snapshot.maps is None:
            with snapshot.lock:
                if snapshot.maps is None:
                    snapshot.maps = MapIndex(snapshot.all_of_type("ConceptMap"), snapshot.aliases)
        return snapshot.maps

    def find_map(self, reference: str) -> dict[str, Any] | None:
        found = self.resolver.find("ConceptMap", reference)
        return found.resource if found is not None else None

    def translate(
        self,
        system: str,
        code: str,
        *,
        reverse: bool = False,
        target_system: str | None = None,
        conceptmap: dict[str, Any] | None = None,
        source_valueset: str | None = None,
        target_valueset: str | None = None,
        dependencies: tuple[Dependency, ...] = (),
    ) -> Translation:
        """Translate over one given map, or over every map (shipped, packaged, stored)."""
        system = self.aliases.normalise(system) or system  # stored aliases too: the indexes may not know them
        target_system = self.aliases.normalise(target_system)
        indexes = (
            [MapIndex([conceptmap], self.aliases)] if conceptmap is not None
            else [self.service.map_index] + ([self.stored_maps()] if self.has_store else [])
        )
        merged = Translation()
        for index in indexes:
            allowed = _maps_for_scope(index, source_valueset, target_valueset)
            part = translate(index, system, code, reverse=reverse, target_system=target_system,
                             allowed_maps=allowed, other_map=self.find_map, dependencies=dependencies)
            merged.matches.extend(part.matches)
            merged.unmet |= part.unmet
        if not merged.result:
            merged.message = no_result_message(
                self.aliases.normalise(system) or system, code, merged, reverse,
                self.aliases.normalise(target_system))
        return merged

    def system_is_mapped(self, system: str) -> bool:
        preferred = self.aliases.normalise(system) or system
        return self.service.map_index.knows(preferred) or (self.has_store and self.stored_maps().knows(preferred))

    # $expand ----------------------------------------------------------------------------
    def expansion_resource(
        self,
        valueset: dict[str, Any],
        expansion: Expansion,
        *,
        text: str | None = None,
        offset: int = 0,
        count: int | None = None,
        active_only: bool = False,
        parameters: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The ValueSet with its ``expansion`` (R4 shape), filtered and paged."""
        if not expansion.complete:
            reasons = sorted(set(expansion.open.values()) | set(expansion.doubtful.values()))
            raise FhirError(
                f"the value set {valueset.get('url') or valueset.get('id')} cannot be expanded on this server: "
                + "; ".join(reasons),
                status=422, code="not-supported",
            )
        members = expansion.listing()
        if active_only:
            members = [m for m in members if not m.inactive]
        if text:
            words = text.casefold().split()
            members = [m for m in members if all(w in f"{m.code} {m.display or ''}".casefold() for w in words)]
        total = len(members)
        page = members[offset: offset + count if count is not None else None]
        out = {k: v for k, v in valueset.items() if k not in ("expansion", "text")}
        out["expansion"] = {
            "identifier": f"urn:uuid:{uuid.uuid4()}",
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "total": total,
            **({"offset": offset} if offset else {}),
            **({"parameter": parameters} if parameters else {}),
            "contains": [_contains(m) for m in page],
        }
        return out


_MISSING: Any = object()


class _SessionAliases(Aliases):
    """The shipped aliases first; stored NamingSystems only for spellings those do not know,
    so that a request about a known system never waits for the database."""

    def __init__(self, base: Aliases, known: Callable[[str], bool], stored: Callable[[], Snapshot]) -> None:
        super().__init__()
        self._base = base
        self._known = known  # a system shipped content knows: stored NamingSystems cannot redirect it
        self._stored = stored

    def split(self, system: str) -> tuple[str, str | None]:
        answer = self._base.split(system)
        if answer[0] != system or self._known(system):
            return answer
        return self._stored().aliases.split(system)

    def aliases_of(self, preferred: str) -> list[str]:
        return self._stored().aliases.aliases_of(preferred)

    def __contains__(self, system: str) -> bool:
        return system in self._base or (not self._known(system) and system in self._stored().aliases)

    def __len__(self) -> int:
        return len(self._stored().aliases)


def _contains(member: Member) -> dict[str, Any]:
    item: dict[str, Any] = {"system": member.system}
    if member.version:
        item["version"] = member.version
    if member.abstract:
        item["abstract"] = True
    if member.inactive:
        item["inactive"] = True
    item["code"] = member.code
    if member.display:
        item["display"] = member.display
    return item


def _maps_for_scope(index: MapIndex, source: str | None, target: str | None) -> set[str] | None:
    """The maps whose declared source/target value sets match the ``source``/``target`` parameters."""
    if not source and not target:
        return None
    allowed = set()
    for url, cm in index.maps.items():
        cm_source = cm.get("sourceUri") or cm.get("sourceCanonical")
        cm_target = cm.get("targetUri") or cm.get("targetCanonical")
        if (not source or source == cm_source) and (not target or target == cm_target):
            allowed.add(url)
    return allowed


@lru_cache(maxsize=4)
def _service(profiles_dir: Path, terminology_dir: Path) -> TerminologyService:
    return TerminologyService(load_registry(profiles_dir), read_terminology_dir(terminology_dir))


def terminology_for(settings: Settings) -> TerminologyService:
    """The process-wide service for these settings (built on first use, about as slow as the registry)."""
    return _service(Path(settings.profiles_dir), Path(settings.terminology_dir))


def bound_terminology(settings: Settings, connect: Connect) -> BoundTerminology:
    """The service for ``settings`` bound to the database ``connect`` opens connections to."""
    return BoundTerminology(terminology_for(settings), connect)
