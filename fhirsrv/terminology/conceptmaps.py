"""ConceptMap translation with R4 semantics.

R4 ``target.equivalence`` reads "the target is … than the source" (``wider``: the target means
more). ``$translate`` reports every applicable target, including the explicit non-matches
(``unmatched``, ``disjoint``), and ``result`` is true only when at least one match is neither.
A reverse translation swaps source and target, so the directional equivalences flip
(``wider`` <-> ``narrower``, ``subsumes`` <-> ``specializes``) to keep describing the returned
concept relative to the one asked about. Only R4 codes ever leave this module.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .uris import Aliases

NON_MATCHES = frozenset({"unmatched", "disjoint"})
_REVERSED = {"wider": "narrower", "narrower": "wider", "subsumes": "specializes", "specializes": "subsumes"}
MAX_OTHER_MAP_DEPTH = 5


@dataclass(frozen=True)
class Match:
    equivalence: str
    source: str  # the ConceptMap's canonical URL
    system: str | None = None
    code: str | None = None
    display: str | None = None
    version: str | None = None
    comment: str | None = None
    products: tuple[dict[str, Any], ...] = ()

    @property
    def is_match(self) -> bool:
        return self.equivalence not in NON_MATCHES

    def coding(self) -> dict[str, Any] | None:
        if self.code is None:
            return None
        coding: dict[str, Any] = {"system": self.system, "code": self.code}
        if self.version:
            coding["version"] = self.version
        if self.display:
            coding["display"] = self.display
        return coding


@dataclass(frozen=True)
class Dependency:
    """One ``$translate`` ``dependency``: the value another element of the source data has."""

    element: str  # the element's URI, compared with ``dependsOn.property``
    codings: tuple[tuple[str | None, str], ...]  # (system, code) of its concept


@dataclass
class Translation:
    matches: list[Match] = field(default_factory=list)
    message: str | None = None
    unmet: set[str] = field(default_factory=set)  # dependsOn properties that ruled a target out

    @property
    def result(self) -> bool:
        return any(m.is_match for m in self.matches)


@dataclass(frozen=True)
class _Entry:
    map_url: str
    source_system: str
    target_system: str | None
    target_version: str | None
    source_version: str | None
    element: dict[str, Any]
    target: dict[str, Any] | None


class MapIndex:
    """The elements of a set of ConceptMaps by (system, code), both directions."""

    def __init__(self, maps: Iterable[dict[str, Any]], aliases: Aliases) -> None:
        self.aliases = aliases
        self.maps: dict[str, dict[str, Any]] = {}
        self.forward: dict[tuple[str, str], list[_Entry]] = defaultdict(list)
        self.reverse: dict[tuple[str, str], list[_Entry]] = defaultdict(list)
        self.source_systems: set[str] = set()
        self.target_systems: set[str] = set()
        for cm in maps:
            self.add(cm)

    def add(self, cm: dict[str, Any]) -> None:
        url = cm.get("url") or f"ConceptMap/{cm.get('id')}"
        self.maps.setdefault(url, cm)
        for group in cm.get("group", ()):
            source = self.aliases.normalise(group.get("source")) or ""
            target = self.aliases.normalise(group.get("target"))
            self.source_systems.add(source)
            if target:
                self.target_systems.add(target)
            for element in group.get("element", ()):
                code = element.get("code")
                targets = element.get("target") or [None]
                for tgt in targets:
                    entry = _Entry(url, source, target, group.get("targetVersion"), group.get("sourceVersion"),
                                   element, tgt)
                    if isinstance(code, str):
                        self.forward[(source, code)].append(entry)
                    if tgt and target and isinstance(tgt.get("code"), str):
                        self.reverse[(target, tgt["code"])].append(entry)

    def knows(self, system: str) -> bool:
        return system in self.source_systems or system in self.target_systems


def _match_from(entry: _Entry, *, reverse: bool) -> Match:
    target = entry.target or {}
    equivalence = target.get("equivalence") or "unmatched"
    products = tuple(target.get("product", ()))
    if reverse:
        return Match(_REVERSED.get(equivalence, equivalence), entry.map_url, entry.source_system,
                     entry.element.get("code"), entry.element.get("display"), entry.source_version,
                     target.get("comment"), products)
    return Match(equivalence, entry.map_url, entry.target_system if target.get("code") else None,
                 target.get("code"), target.get("display"), entry.target_version, target.get("comment"), products)


MapLookup = Callable[[str], "dict[str, Any] | None"]


def translate(
    index: MapIndex,
    system: str,
    code: str,
    *,
    reverse: bool = False,
    target_system: str | None = None,
    allowed_maps: set[str] | None = None,
    other_map: MapLookup | None = None,
    dependencies: tuple[Dependency, ...] = (),
    _depth: int = 0,
) -> Translation:
    """Every match for ``system#code`` in the maps of ``index`` (optionally restricted).

    R4 ``target.dependsOn``: "this mapping is only applicable if the specified element can be
    resolved, and it has the specified value" — a target with dependsOn is a match only when
    ``dependencies`` give every such element that value (in either direction).
    """
    aliases = index.aliases
    system = aliases.normalise(system) or system
    target_system = aliases.normalise(target_system)
    translation = Translation()
    entries = (index.reverse if reverse else index.forward).get((system, code), [])
    for entry in entries:
        if allowed_maps is not None and entry.map_url not in allowed_maps:
            continue
        other_side = entry.source_system if reverse else entry.target_system
        if target_system and other_side != target_system:
            continue
        unmet = _unmet_dependencies(entry.target, dependencies, aliases)
        if unmet:
            translation.unmet |= unmet
            continue
        translation.matches.append(_match_from(entry, reverse=reverse))
    if not translation.matches and not reverse:
        _unmapped(index, system, code, target_system, allowed_maps, other_map, translation, _depth)
    if not translation.result:
        translation.message = no_result_message(system, code, translation, reverse, target_system)
    return translation


def no_result_message(system: str, code: str, t: Translation, reverse: bool, target: str | None) -> str:
    """Why ``t`` has no result: nothing found, only explicit non-matches, or unmet dependencies."""
    where = f" {'from' if reverse else 'to'} {target}" if target else ""
    needs = f"; a mapping applies only with the dependency {', '.join(sorted(t.unmet))}" if t.unmet else ""
    if not t.matches:
        return f"no mapping found for {system}#{code}{where}{needs}"
    kinds = ", ".join(sorted({m.equivalence for m in t.matches}))
    return f"{system}#{code} is explicitly not mapped{where} ({kinds}){needs}"


def _unmet_dependencies(
    target: dict[str, Any] | None, dependencies: tuple[Dependency, ...], aliases: Aliases
) -> set[str]:
    """The ``dependsOn`` properties of ``target`` the given dependencies do not satisfy."""
    unmet: set[str] = set()
    for depends in (target or {}).get("dependsOn", ()):
        prop, value = depends.get("property"), depends.get("value")
        system = aliases.normalise(depends.get("system"))
        satisfied = any(
            given.element == prop and any(
                code == value and (system is None or aliases.normalise(given_system) == system)
                for given_system, code in given.codings
            )
            for given in dependencies
        )
        if not satisfied:
            unmet.add(str(prop))
    return unmet


def _unmapped(
    index: MapIndex,
    system: str,
    code: str,
    target_system: str | None,
    allowed_maps: set[str] | None,
    other_map: MapLookup | None,
    translation: Translation,
    depth: int,
) -> None:
    """Apply ``group.unmapped`` of the groups for ``system`` (R4: provided, fixed, other-map)."""
    for url, cm in index.maps.items():
        if allowed_maps is not None and url not in allowed_maps:
            continue
        for group in cm.get("group", ()):
            unmapped = group.get("unmapped")
            if not unmapped or index.aliases.normalise(group.get("source")) != system:
                continue
            target = index.aliases.normalise(group.get("target"))
            if target_system and target != target_system:
                continue
            mode = unmapped.get("mode")
            if mode == "provided":
                translation.matches.append(Match("equal", url, target, code, None, group.get("targetVersion")))
            elif mode == "fixed" and unmapped.get("code"):
                translation.matches.append(
                    Match("relatedto", url, target, unmapped["code"], unmapped.get("display"),
                          group.get("targetVersion"), "the map's fixed code for unmapped source codes")
                )
            elif mode == "other-map" and unmapped.get("url") and other_map and depth < MAX_OTHER_MAP_DEPTH:
                next_map = other_map(unmapped["url"])
                if next_map is not None:
                    sub = MapIndex([next_map], index.aliases)
                    inner = translate(sub, system, code, target_system=target_system,
                                      other_map=other_map, _depth=depth + 1)
                    translation.matches.extend(inner.matches)
