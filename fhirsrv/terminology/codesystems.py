"""One CodeSystem resource turned into an index: concepts by code, and its hierarchy.

Built once per CodeSystem (version) and cached by the service, so lookups, subsumption tests
and hierarchy filters cost dictionary reads. The hierarchy comes from nested ``concept``
elements and from the ``parent``/``child`` properties (both forms occur in the packages).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import CodeCheck
from .generated import GENERATORS

# Concept properties the spec defines for every code system (R4 "concept-properties").
PARENT, CHILD = "parent", "child"
_INACTIVE_STATUSES = {"retired", "inactive", "deprecated"}


@dataclass
class Concept:
    code: str
    display: str | None
    definition: str | None
    designations: list[dict[str, Any]]
    properties: list[dict[str, Any]]
    parents: set[str] = field(default_factory=set)
    children: list[str] = field(default_factory=list)

    def property_values(self, code: str) -> list[Any]:
        return [
            v for p in self.properties if p.get("code") == code
            for k, v in p.items() if k.startswith("value")
        ]

    @property
    def abstract(self) -> bool:
        return any(v is True for v in self.property_values("notSelectable"))

    @property
    def inactive(self) -> bool:
        if any(v is True for v in self.property_values("inactive")):
            return True
        return any(str(v) in _INACTIVE_STATUSES for v in self.property_values("status"))


class CodeSystemIndex:
    """Concepts of one CodeSystem resource, with the transitive hierarchy on demand."""

    def __init__(self, resource: dict[str, Any]) -> None:
        self.resource = resource
        self.url: str = resource.get("url", "")
        self.version: str | None = resource.get("version")
        self.name: str = resource.get("name") or resource.get("title") or self.url
        self.content: str = resource.get("content", "complete")
        self.case_sensitive: bool = resource.get("caseSensitive", True) is not False
        self.concepts: dict[str, Concept] = {}
        self._folded: dict[str, str] = {}
        self._descendants: dict[str, frozenset[str]] = {}
        self._by_name: dict[str, set[str]] | None = None
        self._add(resource.get("concept", ()), parent=None)
        self._link_properties()
        if not self.case_sensitive:
            self._folded = {code.casefold(): code for code in self.concepts}

    @property
    def complete(self) -> bool:
        """True when every code of the system is in the resource (so absence means "not a code")."""
        return self.content == "complete"

    def _add(self, concepts: Iterable[dict[str, Any]], parent: str | None) -> None:
        for raw in concepts:
            code = raw.get("code")
            if not isinstance(code, str):
                continue
            concept = self.concepts.get(code)
            if concept is None:
                concept = Concept(
                    code, raw.get("display"), raw.get("definition"),
                    list(raw.get("designation", ())), list(raw.get("property", ())),
                )
                self.concepts[code] = concept
            if parent is not None:
                concept.parents.add(parent)
                self.concepts[parent].children.append(code)
            self._add(raw.get("concept", ()), parent=code)

    def _link_properties(self) -> None:
        for concept in list(self.concepts.values()):
            for parent in concept.property_values(PARENT):
                if isinstance(parent, str) and parent in self.concepts and parent not in concept.parents:
                    concept.parents.add(parent)
                    self.concepts[parent].children.append(concept.code)
            for child in concept.property_values(CHILD):
                if isinstance(child, str) and child in self.concepts and concept.code not in self.concepts[child].parents:
                    self.concepts[child].parents.add(concept.code)
                    concept.children.append(child)

    def get(self, code: str) -> Concept | None:
        """The concept for ``code``, honouring ``caseSensitive``."""
        concept = self.concepts.get(code)
        if concept is None and not self.case_sensitive:
            actual = self._folded.get(code.casefold())
            concept = self.concepts.get(actual) if actual else None
        return concept

    def codes_named(self, name: str) -> set[str]:
        """The codes whose display or a designation is ``name`` (case and surrounding white
        space ignored); the index is built on first use."""
        if self._by_name is None:
            by_name: dict[str, set[str]] = {}
            for concept in self.concepts.values():
                for text in (concept.display, *(d.get("value") for d in concept.designations)):
                    if isinstance(text, str):
                        by_name.setdefault(_fold(text), set()).add(concept.code)
            self._by_name = by_name
        return self._by_name.get(_fold(name), set())

    def descendants(self, code: str) -> frozenset[str]:
        """Every code below ``code`` (not including it)."""
        cached = self._descendants.get(code)
        if cached is not None:
            return cached
        seen: set[str] = set()
        stack = list(self.concepts[code].children) if code in self.concepts else []
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(self.concepts[current].children)
        result = frozenset(seen)
        self._descendants[code] = result
        return result

    def ancestors(self, code: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self.concepts[code].parents) if code in self.concepts else []
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(self.concepts[current].parents)
        return seen

    def subsumes(self, a: str, b: str) -> str:
        """R4 ``$subsumes`` outcome of ``a`` against ``b``."""
        if a == b:
            return "equivalent"
        if b in self.descendants(a):
            return "subsumes"
        if a in self.descendants(b):
            return "subsumed-by"
        return "not-subsumed"

    def __iter__(self) -> Iterator[Concept]:
        return iter(self.concepts.values())


def _fold(text: str) -> str:
    return text.strip().casefold()


def display_is_known(concept: Concept, display: str, *also: str | None) -> bool:
    """Is ``display`` the concept's display, one of its designations, or one of ``also`` (a
    value set's display)? Case and surrounding white space are ignored, as the HL7 Java
    validator ignores case (``equalsIgnoreCase``). Designations count in any language: a
    Dutch display of a concept is not a wrong display (Java narrows this to the requested
    languages; we do not, so as never to report a correct translation)."""
    wanted = _fold(display)
    names = (concept.display, *also, *(d.get("value") for d in concept.designations))
    return any(isinstance(n, str) and _fold(n) == wanted for n in names)


def judge_display(index: CodeSystemIndex, concept: Concept, display: str, *also: str | None) -> CodeCheck:
    """The answer for a member ``concept`` of ``index`` given with ``display``.

    A code system we *generate* from a library (ISO 3166, :mod:`.generated`) spells some
    names otherwise than ISO or terminology servers do ("United States" / "United States of
    America" / "United States of America (the)"): there a display that names no other code
    is only doubtful (``display_unsure``: a warning), and one that names another code
    (BD given as "Australia") is wrong for certain."""
    known = concept.display or next((a for a in also if a), None)
    if display_is_known(concept, display, *also):
        return CodeCheck(True, display=known)
    message = f"the display {display!r} does not match the display {known!r} of {index.url}#{concept.code}"
    unsure = index.url in GENERATORS and not (index.codes_named(display) - {concept.code})
    if unsure:
        message += f" (names from the {index.name} data fhirsrv generates; some official spellings differ)"
    return CodeCheck(True, message, display=known, wrong_display=True, display_unsure=unsure)
