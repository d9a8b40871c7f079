"""Consistency of SearchParameter and CapabilityStatement with the definitions they name.

R4 searchparameter.html: a ``composite`` parameter combines two or more ``component``s; a
parameter ``derivedFrom`` another "SHALL have the same type" and may only narrow it (its
bases among the original's). R4 capabilitystatement.html: ``rest.resource.searchParam.type``
"SHALL be the same as the type in the search parameter definition" it names. Definitions
are looked up in the registry; one that is not there is not judged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .outcome import Issue

if TYPE_CHECKING:
    from .context import Run


def _search_parameter(run: Run, url: Any) -> dict[str, Any] | None:
    if not isinstance(url, str):
        return None
    found = run.defs.registry.get(url)
    return found if found is not None and found.get("resourceType") == "SearchParameter" else None


def check_search_parameter(run: Run, sp: dict[str, Any], path: str, out: list[Issue]) -> None:
    kind = sp.get("type")
    if kind == "composite" and len(sp.get("component") or ()) < 2:
        out.append(Issue("error", "invalid", "searchparameter-composite", f"{path}: a composite SearchParameter must define two or more components.", path))
    origin = _search_parameter(run, sp.get("derivedFrom"))
    if origin is None:
        return
    if isinstance(kind, str) and origin.get("type") and kind != origin["type"]:
        out.append(Issue("error", "invalid", "searchparameter-derived-type", f"{path}.type is {kind!r}, but the SearchParameter it is derived from ({sp['derivedFrom']}) has type {origin['type']!r}; a derived parameter keeps the type.", f"{path}.type"))
    origin_bases = set(origin.get("base") or ())
    for i, base in enumerate(sp.get("base") or ()):
        if isinstance(base, str) and origin_bases and base not in origin_bases and "Resource" not in origin_bases and "DomainResource" not in origin_bases:
            out.append(Issue("error", "invalid", "searchparameter-derived-base", f"{path}.base[{i}] {base!r} is not a base of the SearchParameter it is derived from ({sp['derivedFrom']}: {', '.join(sorted(origin_bases))}).", f"{path}.base[{i}]"))


def check_capability_statement(run: Run, cs: dict[str, Any], path: str, out: list[Issue]) -> None:
    for r, rest in enumerate(cs.get("rest") or ()):
        if not isinstance(rest, dict):
            continue
        for s, resource in enumerate(rest.get("resource") or ()):
            if not isinstance(resource, dict):
                continue
            for p, param in enumerate(resource.get("searchParam") or ()):
                if not isinstance(param, dict):
                    continue
                definition = _search_parameter(run, param.get("definition"))
                kind = param.get("type")
                if definition is not None and isinstance(kind, str) and definition.get("type") and kind != definition["type"]:
                    where = f"{path}.rest[{r}].resource[{s}].searchParam[{p}]"
                    out.append(Issue("error", "invalid", "capability-searchparam-type", f"{where}.type is {kind!r}, but its definition {param['definition']} has type {definition['type']!r}.", f"{where}.type"))
