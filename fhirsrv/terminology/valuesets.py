"""Value-set expansion and membership.

An :class:`Expansion` is what we know about a value set: the members we can list, and, per
code system, why we cannot list the rest (a SNOMED CT or LOINC filter, a code system we do
not ship). Membership therefore has three answers — yes, no, and "cannot check" — and the
validator reports the third as a warning instead of guessing.

Compose rules (R4 ValueSet.compose): each ``include`` is a union term; inside one include the
concepts, filters and value sets are intersected; several ``valueSet`` entries in one include
are a union; each ``exclude`` is subtracted. A code system's hierarchy drives the ``is-a``,
``descendent-of``, ``is-not-a`` and ``generalizes`` filters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .codesystems import CodeSystemIndex, Concept
from .uris import Aliases

ANY_SYSTEM = "*"
MAX_DEPTH = 12


@dataclass(frozen=True)
class Member:
    system: str
    code: str
    display: str | None = None
    version: str | None = None
    abstract: bool = False
    inactive: bool = False


@dataclass
class Expansion:
    """The members of a value set we can list, and what we cannot decide."""

    url: str | None = None
    version: str | None = None
    members: dict[str, dict[str, Member]] = field(default_factory=dict)  # system -> code -> member
    open: dict[str, str] = field(default_factory=dict)  # system (or "*") -> why it cannot be listed
    doubtful: dict[str, str] = field(default_factory=dict)  # system (or "*") -> why excludes are unknown
    insensitive: set[str] = field(default_factory=set)  # systems whose codes are case-insensitive
    volatile: bool = False  # built from user-stored resources: do not cache across requests
    _folded: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    @property
    def complete(self) -> bool:
        return not self.open and not self.doubtful

    def add(self, member: Member) -> None:
        self.members.setdefault(member.system, {}).setdefault(member.code, member)

    def finish(self) -> Expansion:
        """Index case-insensitive systems once the members are final."""
        self._folded = {
            system: {code.casefold(): code for code in self.members.get(system, {})}
            for system in self.insensitive
        }
        return self

    def find(self, system: str, code: str) -> Member | None:
        codes = self.members.get(system)
        if not codes:
            return None
        hit = codes.get(code)
        if hit is None and system in self._folded:
            actual = self._folded[system].get(code.casefold())
            hit = codes.get(actual) if actual else None
        return hit

    def reason_open(self, system: str | None) -> str | None:
        if system is not None and system in self.open:
            return self.open[system]
        if ANY_SYSTEM in self.open:
            return self.open[ANY_SYSTEM]
        if system is None and self.open:
            return next(iter(self.open.values()))
        return None

    def reason_doubtful(self, system: str) -> str | None:
        return self.doubtful.get(system) or self.doubtful.get(ANY_SYSTEM)

    def listing(self) -> list[Member]:
        return [m for codes in self.members.values() for m in codes.values()]

    def __len__(self) -> int:
        return sum(len(codes) for codes in self.members.values())


class ExpansionContext(Protocol):
    """What an expansion needs from the service: code systems and other value sets."""

    aliases: Aliases

    def codesystem(self, url: str, version: str | None = None) -> CodeSystemIndex | None: ...

    def codesystem_is_volatile(self, url: str, version: str | None = None) -> bool: ...

    def expansion(self, reference: str, depth: int = 0) -> Expansion | None: ...


def _member(system: str, concept: Concept, version: str | None) -> Member:
    return Member(system, concept.code, concept.display, version, concept.abstract, concept.inactive)


class _Filter:
    """One ``compose.include.filter`` evaluated against a code system index."""

    def __init__(self, index: CodeSystemIndex, prop: str, op: str, value: str) -> None:
        self.index, self.prop, self.op, self.value = index, prop, op, value

    def codes(self) -> set[str] | None:
        """The matching codes, or None for a filter this server cannot evaluate."""
        index, op, value = self.index, self.op, self.value
        if self.prop in ("concept", "code") and op in ("is-a", "descendent-of", "is-not-a", "generalizes"):
            if index.get(value) is None:
                return set() if op != "is-not-a" else set(index.concepts)
            code = index.get(value).code
            if op == "is-a":
                return {code} | index.descendants(code)
            if op == "descendent-of":
                return set(index.descendants(code))
            if op == "is-not-a":
                return set(index.concepts) - {code} - index.descendants(code)
            return {code} | index.ancestors(code)
        if op == "regex":
            pattern = re.compile(value)
            return {c.code for c in index if any(pattern.fullmatch(str(v)) for v in self._values(c))}
        if op in ("=", "in", "not-in"):
            wanted = {value} if op == "=" else {v.strip() for v in value.split(",")}
            matching = {c.code for c in index if wanted & {str(v) for v in self._values(c)}}
            return matching if op != "not-in" else set(index.concepts) - matching
        if op == "exists":
            want = value.lower() == "true"
            return {c.code for c in index if bool(self._values(c)) == want}
        return None

    def _values(self, concept: Concept) -> list[Any]:
        if self.prop in ("concept", "code"):
            return [concept.code]
        if self.prop == "display":
            return [concept.display] if concept.display else []
        return concept.property_values(self.prop)


class Expander:
    """Evaluates one ValueSet resource in a context."""

    def __init__(self, context: ExpansionContext, depth: int = 0) -> None:
        self.context = context
        self.depth = depth

    def expand(self, valueset: dict[str, Any], *, volatile: bool = False) -> Expansion:
        result = Expansion(valueset.get("url"), valueset.get("version"), volatile=volatile)
        compose = valueset.get("compose")
        if not compose:
            self._from_expansion(valueset.get("expansion") or {}, result)
            return result.finish()
        for include in compose.get("include", ()):
            self._merge(result, self._term(include))
        for exclude in compose.get("exclude", ()):
            self._subtract(result, self._term(exclude))
        return result.finish()

    # -- one include/exclude term ---------------------------------------------------------
    def _term(self, term: dict[str, Any]) -> Expansion:
        aliases = self.context.aliases
        part: Expansion | None = None
        raw_system = term.get("system")
        if raw_system:
            system, implied = aliases.split(raw_system)
            part = self._system_part(system, term.get("version") or implied, term)
        sets = term.get("valueSet") or []
        if sets:
            union = Expansion()
            for reference in sets:
                inner = self.context.expansion(reference, self.depth + 1)
                if inner is None:
                    union.open[ANY_SYSTEM] = f"the value set {reference} is not available on this server"
                    union.volatile = True  # it may be stored later
                    continue
                self._merge(union, inner)
            part = union if part is None else _intersect(part, union)
        return part if part is not None else Expansion()

    def _system_part(self, system: str, version: str | None, term: dict[str, Any]) -> Expansion:
        part = Expansion()
        index = self.context.codesystem(system, version)
        part.volatile = self.context.codesystem_is_volatile(system, version)
        if index is not None and not index.case_sensitive:
            part.insensitive.add(system)
        concepts = term.get("concept") or []
        filters = term.get("filter") or []
        if concepts:
            for listed in concepts:
                code = listed.get("code")
                if not isinstance(code, str):
                    continue
                known = index.get(code) if index is not None else None
                display = listed.get("display") or (known.display if known else None)
                part.add(Member(system, known.code if known else code, display, version or _version(index),
                                known.abstract if known else False, known.inactive if known else False))
            if not filters:
                return part
        if index is None or not index.complete:
            why = _why_not_enumerable(system, index)
            if filters or not concepts:
                part.open[system] = why
            if index is not None and not filters and not concepts:
                for concept in index:  # a fragment: list what we have, leave the rest open
                    part.add(_member(system, concept, _version(index)))
            return part
        codes: set[str] | None = set(index.concepts)
        for raw in filters:
            found = _Filter(index, raw.get("property", ""), raw.get("op", ""), str(raw.get("value", ""))).codes()
            if found is None:
                part.open[system] = (
                    f"the filter {raw.get('property')} {raw.get('op')} {raw.get('value')} on {system} "
                    "is not supported by this server"
                )
                return part
            codes &= found
        if concepts:
            codes &= set(part.members.get(system, {}))
            part.members[system] = {}
        for code, concept in index.concepts.items():  # code-system order
            if code in codes:
                part.add(_member(system, concept, _version(index)))
        return part

    @staticmethod
    def _from_expansion(expansion: dict[str, Any], result: Expansion) -> None:
        def walk(items: Iterable[dict[str, Any]]) -> None:
            for item in items:
                if item.get("system") and item.get("code"):
                    result.add(Member(item["system"], item["code"], item.get("display"), item.get("version"),
                                      bool(item.get("abstract")), bool(item.get("inactive"))))
                walk(item.get("contains", ()))

        walk(expansion.get("contains", ()))
        total = expansion.get("total")
        if not expansion or (isinstance(total, int) and total > len(result)):
            result.open[ANY_SYSTEM] = "the value set has no definition (compose) and no complete expansion"

    @staticmethod
    def _merge(into: Expansion, part: Expansion) -> None:
        for member in part.listing():
            into.add(member)
        into.open.update(part.open)
        into.doubtful.update(part.doubtful)
        into.insensitive |= part.insensitive
        into.volatile |= part.volatile

    @staticmethod
    def _subtract(into: Expansion, part: Expansion) -> None:
        for system, codes in part.members.items():
            mine = into.members.get(system)
            if mine:
                for code in codes:
                    mine.pop(code, None)
        for system, why in part.open.items():
            into.doubtful[system] = f"an exclude cannot be evaluated: {why}"
        into.volatile |= part.volatile


def _intersect(a: Expansion, b: Expansion) -> Expansion:
    out = Expansion(volatile=a.volatile or b.volatile, insensitive=a.insensitive | b.insensitive)
    for system, codes in a.members.items():
        other = b.members.get(system, {})
        for code, member in codes.items():
            if code in other:
                out.add(member)
    for source, other in ((a, b), (b, a)):
        for system, why in source.open.items():
            if system == ANY_SYSTEM or system in other.members or system in other.open:
                out.open[system] = why
    out.doubtful = {**a.doubtful, **b.doubtful}
    return out


def _version(index: CodeSystemIndex | None) -> str | None:
    return index.version if index is not None else None


def _why_not_enumerable(system: str, index: CodeSystemIndex | None) -> str:
    if index is None:
        return f"the code system {system} is not available on this server"
    if index.content == "not-present":
        return f"the content of the code system {system} is not available on this server (licensed or too large)"
    return f"this server holds only a {index.content} of the code system {system}"
