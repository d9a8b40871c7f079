"""A small offline value-set checker over the registry: the fallback when no terminology
service is passed.

It expands what can be expanded exactly — enumerated concepts, whole code systems that the
registry holds completely (or that :mod:`fhirsrv.terminology.generated` builds: ISO 3166),
and value sets built from those — and answers ``valid=None``
("cannot check") for everything else (SNOMED CT or LOINC filters, code systems we do not
ship), so that a missing code system is a warning and never a false error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fhirsrv.terminology import CodeCheck, ValueSetChecker
from fhirsrv.terminology.codesystems import CodeSystemIndex, judge_display
from fhirsrv.terminology.generated import generated_codesystem


@dataclass
class Expansion:
    codes: dict[str, set[str]] = field(default_factory=dict)  # system -> codes
    unknowable: set[str] = field(default_factory=set)  # systems (or "*") we cannot enumerate


class LocalValueSets:
    """Implements the :class:`fhirsrv.terminology.ValueSetChecker` protocol from the registry."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self._expansions: dict[str, Expansion | None] = {}
        self._systems: dict[str, CodeSystemIndex | None] = {}

    def _index(self, system: str) -> CodeSystemIndex | None:
        """The code system ``system`` when we hold all of it (generated ones first: the
        packages carry only ``not-present`` stubs of them)."""
        if system not in self._systems:
            cs = generated_codesystem(system) or self.registry.get(system)
            complete = cs is not None and cs.get("resourceType") == "CodeSystem" and cs.get("content") == "complete"
            self._systems[system] = CodeSystemIndex(cs) if complete else None
        return self._systems[system]

    def _code_system(self, system: str) -> set[str] | None:
        index = self._index(system)
        return set(index.concepts) if index is not None else None

    def expand(self, url: str, _depth: int = 0) -> Expansion | None:
        if url in self._expansions:
            return self._expansions[url]
        self._expansions[url] = None  # guards against cycles
        vs = self.registry.get(url)
        if vs is None or vs.get("resourceType") != "ValueSet" or _depth > 10:
            return None
        expansion = Expansion()
        compose = vs.get("compose") or {}
        for include in compose.get("include", ()):
            self._include(include, expansion, _depth)
        for exclude in compose.get("exclude", ()):
            system = exclude.get("system")
            if system and exclude.get("concept") and system in expansion.codes:
                expansion.codes[system] -= {c["code"] for c in exclude["concept"]}
        self._expansions[url] = expansion
        return expansion

    def _include(self, include: dict[str, Any], expansion: Expansion, depth: int) -> None:
        system = include.get("system")
        if include.get("valueSet"):
            if system:  # an intersection; rare enough not to attempt
                expansion.unknowable.add(system)
                return
            for ref in include["valueSet"]:
                inner = self.expand(ref, depth + 1)
                if inner is None:
                    expansion.unknowable.add("*")
                    continue
                for sys, codes in inner.codes.items():
                    expansion.codes.setdefault(sys, set()).update(codes)
                expansion.unknowable |= inner.unknowable
            return
        if not system:
            return
        if include.get("filter"):
            expansion.unknowable.add(system)
        elif include.get("concept"):
            expansion.codes.setdefault(system, set()).update(c["code"] for c in include["concept"])
        else:
            codes = self._code_system(system)
            if codes is None:
                expansion.unknowable.add(system)
            else:
                expansion.codes.setdefault(system, set()).update(codes)

    def validate_code(
        self, valueset: str, *, system: str | None, code: str, display: str | None = None
    ) -> CodeCheck:
        expansion = self.expand(valueset)
        if expansion is None:
            return CodeCheck(None, f"the value set {valueset} is not available offline", system_known=False)
        if system is not None:
            if code in expansion.codes.get(system, ()):
                return self._with_display(system, code, display)
            if system in expansion.unknowable or "*" in expansion.unknowable:
                known = self.registry.get(system) is not None
                return CodeCheck(
                    None,
                    f"codes of {system} in {valueset} cannot be checked offline",
                    system_known=known,
                )
            return CodeCheck(False, f"{system}#{code} is not in the value set {valueset}")
        if any(code in codes for codes in expansion.codes.values()):
            return CodeCheck(True)
        if expansion.unknowable:
            return CodeCheck(None, f"the code {code!r} cannot be checked offline against {valueset}")
        return CodeCheck(False, f"the code {code!r} is not in the value set {valueset}")


    def check_display(self, system: str, code: str, display: str) -> CodeCheck | None:
        """A wrong ``display`` of ``system#code`` when we hold that code system in full; None
        when the display is right or cannot be judged here (unknown system or code: other
        checks say so)."""
        check = self._with_display(system, code, display)
        return check if check.wrong_display else None

    def _with_display(self, system: str, code: str, display: str | None) -> CodeCheck:
        """A member; with a wrong ``display`` when the code system we hold says otherwise."""
        index = self._index(system) if display else None
        concept = index.get(code) if index is not None else None
        if index is None or concept is None or display is None or not concept.display:
            return CodeCheck(True)
        return judge_display(index, concept, display)


class RememberedAnswers:
    """A :class:`~fhirsrv.terminology.ValueSetChecker` that asks another one once per
    (value set, system, code) and remembers the answer.

    Only for checkers whose content cannot change while the process runs (the registry's
    value sets, the terminology service's shipped content): see :func:`remembering`. The
    validator asks the same questions over and over (every ``status``, every ``category``
    of every resource of every document).
    """

    LIMIT = 65536  # answers kept; codes come from the data, so the table is bounded

    def __init__(self, checker: ValueSetChecker) -> None:
        self.checker = checker
        self._answers: dict[tuple[str, str | None, str], CodeCheck] = {}

    def __getattr__(self, name: str) -> Any:
        """Everything but membership answers is the wrapped checker's own (a terminology
        service's ``session()`` expands the contained value sets of Questionnaires)."""
        return getattr(self.checker, name)

    def validate_code(
        self, valueset: str, *, system: str | None, code: str, display: str | None = None
    ) -> CodeCheck:
        if display is not None:
            return self.checker.validate_code(valueset, system=system, code=code, display=display)
        key = (valueset, system, code)
        answer = self._answers.get(key)
        if answer is None:
            answer = self.checker.validate_code(valueset, system=system, code=code)
            if len(self._answers) < self.LIMIT:
                self._answers[key] = answer
        return answer


def remembering(checker: ValueSetChecker) -> ValueSetChecker:
    """``checker`` with remembered answers when its content is fixed, else itself."""
    from fhirsrv.terminology.service import TerminologyService

    if isinstance(checker, LocalValueSets | TerminologyService):
        return RememberedAnswers(checker)
    return checker
