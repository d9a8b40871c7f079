"""A StructureDefinition checked as a definition, not only as a resource.

The base walk checks a StructureDefinition's JSON against the R4 StructureDefinition
resource (``sdf-*`` invariants included). That says nothing about whether the profile can
be used: whether its base exists, whether its differential applies to that base, and
whether it contradicts the base. R4 profiling.html and the HL7 Java validator
(``StructureDefinitionValidator``) check those; so do we, for constraint profiles:

* the base: a definition that names itself as base derives from itself (a warning, as the
  Java validator gives when it cannot find the base); a base we do not have means the
  differential cannot be checked (a warning); a constraint keeps its base's ``type``;
* the snapshot: generated from the differential with our own generator; a failure is an
  error when the profile has no snapshot of its own (it cannot be used), a warning when it
  brings one (validation uses that one);
* every differential ``path`` names an element of the snapshot, a concrete choice name
  (``valueQuantity``) only after one of the choice's types;
* a slice that restates the slicing of the element it slices may not change it
  (discriminators, ``ordered``, ``rules``);
* a discriminator ``path`` must lead somewhere in the sliced element's type;
* a ``fixed[x]`` or ``pattern[x]`` may not contradict a fixed or pattern value of the base
  (a derived extension cannot change its base's fixed ``url``).

Specialisations (new types, logical models) are not checked here: they have no
differential to apply to a base.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fhirsrv.conformance.element_paths import choice_type_suffix, path_steps
from fhirsrv.conformance.snapshot import CORE_SD, SnapshotError, element_id, generate_snapshot, snapshot_of

from .outcome import Issue
from .values import equals_fixed, matches_pattern, show

if TYPE_CHECKING:
    from .context import Run

Element = dict[str, Any]

#: Types whose concrete resource is unknown from the definition: a discriminator path that
#: goes through one (``Bundle.entry.resource``) is not judged.
_OPEN_TYPES = frozenset({"Resource", "DomainResource"})


def check_structure_definition(run: Run, sd: dict[str, Any], path: str, out: list[Issue]) -> None:
    if sd.get("derivation") != "constraint":
        return
    registry = run.defs.registry
    url = sd.get("url")
    base_url = sd.get("baseDefinition")
    if not isinstance(base_url, str) or not base_url:
        return  # sdf-4 and the cardinality checks say what is missing
    if isinstance(url, str) and base_url.split("|", 1)[0] == url:
        out.append(Issue("warning", "not-found", "sd-base-circular", f"{path}.baseDefinition is this StructureDefinition's own url ({url}): a definition cannot derive from itself, so its differential cannot be checked and it cannot be used as a profile.", f"{path}.baseDefinition"))
        return
    base = registry.get(base_url)
    if base is None or base.get("resourceType") != "StructureDefinition":
        out.append(Issue("warning", "not-found", "sd-base-unknown", f"The base definition {base_url} is not known here, so the differential of {path} cannot be checked.", f"{path}.baseDefinition"))
        return
    if isinstance(sd.get("type"), str) and base.get("type") and sd["type"] != base["type"]:
        out.append(Issue("error", "invalid", "sd-type-mismatch", f"{path}.type is {sd['type']!r}, but its base {base_url} defines {base['type']!r}; a constraint keeps the type of its base.", f"{path}.type"))
        return
    differential = [e for e in (sd.get("differential") or {}).get("element") or () if isinstance(e, dict)]
    if not differential or not all(isinstance(e.get("path"), str) for e in differential):
        return  # nothing to apply, or the base walk already reports the missing paths
    where = f"{path}.differential.element"
    _check_slicing_restated(differential, where, out)
    snapshot = _generated_snapshot(run, sd, path, out)
    if snapshot is None:
        return
    if not _check_paths(differential, snapshot, where, out):
        return
    _check_discriminators(registry, differential, snapshot, where, out)
    _check_fixed_against_base(registry, base, differential, where, out)


# -- the snapshot -------------------------------------------------------------------------


def _generated_snapshot(run: Run, sd: dict[str, Any], path: str, out: list[Issue]) -> list[Element] | None:
    """The snapshot our generator makes from the differential; a failure is reported."""
    own = (sd.get("snapshot") or {}).get("element")
    try:
        return generate_snapshot({k: v for k, v in sd.items() if k != "snapshot"}, run.defs.registry)["snapshot"]["element"]
    except SnapshotError as exc:
        if own:
            out.append(Issue("warning", "exception", "sd-snapshot-generation", f"The snapshot could not be generated again from the differential ({exc}); the snapshot the definition brings is used as it is.", path))
        else:
            out.append(Issue("error", "exception", "sd-snapshot-generation", f"Error generating the snapshot from the differential: {exc}. Without a snapshot the profile cannot be used; check the differential's paths and ids against the base.", path))
        return None


# -- differential paths -------------------------------------------------------------------


def _check_paths(differential: list[Element], snapshot: list[Element], where: str, out: list[Issue]) -> bool:
    """Each differential path names a snapshot element; a concrete choice name needs a type
    of that choice. Returns False when a path is wrong (later checks would only repeat it)."""
    types_by_path: dict[str, set[str]] = {}
    for element in snapshot:
        known = types_by_path.setdefault(element["path"], set())
        known.update(t.get("code", "") for t in element.get("type") or () if isinstance(t, dict))
    ok = True
    for index, diff in enumerate(differential):
        problem = _path_problem(diff["path"], types_by_path)
        if problem:
            ok = False
            out.append(Issue("error", "invalid", "sd-differential-path", f"{where}[{index}].path {diff['path']!r}: {problem}", f"{where}[{index}].path"))
    return ok


def _path_problem(path: str, types_by_path: dict[str, set[str]]) -> str | None:
    segments = path.split(".")
    current = segments[0]
    if current not in types_by_path:
        return f"the profile's elements start with {next(iter(types_by_path), '?')!r}, not {current!r}."
    for segment in segments[1:]:
        exact = f"{current}.{segment}"
        if exact in types_by_path:
            current = exact
            continue
        choices = [p for p in types_by_path if p.startswith(current + ".") and p.endswith("[x]")
                   and "." not in p[len(current) + 1:] and segment.startswith(p[len(current) + 1:-3])]
        if not choices:
            return f"{exact} is not an element of the base."
        choice = choices[0]
        stem = choice[len(current) + 1:-3]
        allowed = sorted(types_by_path[choice])
        if stem + choice_type_suffix(segment[len(stem):]) != segment or segment[len(stem):] not in {choice_type_suffix(t) for t in allowed}:
            names = ", ".join(stem + choice_type_suffix(t) for t in allowed)
            return (f"the path must be {choice!r}, not {exact!r}: a choice element is renamed only after one of its "
                    f"types ({names}).")
        current = choice
    return None


# -- slicing ----------------------------------------------------------------------------------


def _slicing_summary(slicing: dict[str, Any]) -> str:
    ordered = slicing.get("ordered")
    order = "??" if ordered is None else ("ordered" if ordered else "unordered")
    discriminators = ", ".join(f"{d.get('type')}={d.get('path')}" for d in slicing.get("discriminator") or () if isinstance(d, dict))
    return f"{order}/{slicing.get('rules', '??')} [{discriminators}]"


def _slicing_conflict(first: dict[str, Any], later: dict[str, Any]) -> bool:
    """A restated slicing may leave out what the first one says, but not say otherwise."""
    for key in ("ordered", "rules"):
        if key in later and later[key] != first.get(key):
            return True
    return "discriminator" in later and later["discriminator"] != first.get("discriminator")


def _check_slicing_restated(differential: list[Element], where: str, out: list[Issue]) -> None:
    """A slice (``a:s``) that carries a slicing of its own may not redefine the slicing of
    the element it slices (``a``), as it is stated in the same differential."""
    slicing_by_id = {element_id(e): (i, e["slicing"]) for i, e in enumerate(differential) if isinstance(e.get("slicing"), dict)}
    for index, diff in enumerate(differential):
        if not isinstance(diff.get("slicing"), dict) or not diff.get("sliceName"):
            continue
        identifier = element_id(diff)
        sliced_id = identifier.rsplit(":", 1)[0] if "/" not in identifier.rsplit(":", 1)[-1] else identifier.rsplit("/", 1)[0]
        owner = slicing_by_id.get(sliced_id)
        if owner is None or not _slicing_conflict(owner[1], diff["slicing"]):
            continue
        out.append(Issue("error", "business-rule", "sd-slicing-redefined", f"The element {sliced_id} ({where}[{owner[0]}]) defines the slicing {_slicing_summary(owner[1])}, but its slice {identifier} redefines it as {_slicing_summary(diff['slicing'])}; a slice may restate the slicing, not change it.", f"{where}[{index}].slicing"))


_STEP = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<call>\((?P<arg>[^()]*)\))?|(?P<this>\$this))\s*$")


class _TypeNavigator:
    """Follows a discriminator path (a restricted FHIRPath) over element definitions."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def type_elements(self, code: str) -> tuple[list[Element], str] | None:
        definition = self.registry.get(CORE_SD + code) if "/" not in code else None
        elements = ((definition or {}).get("snapshot") or {}).get("element")
        return (elements, elements[0]["path"]) if elements else None

    def step_into(self, elements: list[Element], at: str, name: str) -> list[tuple[list[Element], str]] | None:
        """Where ``name`` below ``at`` leads: the element itself when it has children there,
        else its types; None when no such element exists."""
        candidates = [e for e in elements if e.get("path") in (f"{at}.{name}", f"{at}.{name}[x]")]
        if not candidates:
            return None
        target = candidates[0]["path"]
        if any(e.get("path", "").startswith(target + ".") for e in elements):
            return [(elements, target)]
        return self.of_types(candidates[0])

    def of_types(self, element: Element) -> list[tuple[list[Element], str]]:
        states = []
        for kind in element.get("type") or ():
            code = kind.get("code", "") if isinstance(kind, dict) else ""
            found = self.type_elements(code)
            if found is not None:
                states.append(found)
        return states

    def valid(self, start: list[tuple[list[Element], str]], expression: str) -> bool:
        """False only when a plain element name leads nowhere; anything we do not model
        (functions other than those below, a resolved reference) counts as valid."""
        states = start
        for step in path_steps(expression):
            match = _STEP.match(step)
            if match is None:
                return True
            if match.group("this"):
                continue
            name, call, arg = match.group("name"), match.group("call"), (match.group("arg") or "").strip().strip("'\"")
            if call is not None:
                if name == "extension":
                    states = [s for s in [self.type_elements("Extension")] if s is not None]
                elif name in ("ofType", "as") and arg:
                    states = [s for s in [self.type_elements(arg)] if s is not None]
                else:
                    return True  # resolve(), where(), exists() …: not followed
                if not states:
                    return True
                continue
            if any(root in _OPEN_TYPES for _, root in states):
                return True
            following: list[tuple[list[Element], str]] = []
            found = False
            for elements, at in states:
                reached = self.step_into(elements, at, name)
                if reached is not None:
                    found = True
                    following.extend(reached)
            if not found:
                return False
            if not following:
                return True  # a type we do not have: nothing more to say
            states = following
        return True


def _check_discriminators(registry: Any, differential: list[Element], snapshot: list[Element], where: str, out: list[Issue]) -> None:
    navigator = _TypeNavigator(registry)
    by_id = {e.get("id"): e for e in snapshot}
    for index, diff in enumerate(differential):
        slicing = diff.get("slicing")
        if not isinstance(slicing, dict):
            continue
        sliced = by_id.get(element_id(diff))
        if sliced is None:
            continue
        has_children = any(e.get("path", "").startswith(sliced["path"] + ".") for e in snapshot
                           if e.get("id", "").startswith(sliced["id"] + "."))
        start = [(snapshot, sliced["path"])] if has_children else navigator.of_types(sliced)
        if not start:
            continue
        for d, discriminator in enumerate(slicing.get("discriminator") or ()):
            expression = discriminator.get("path") if isinstance(discriminator, dict) else None
            if isinstance(expression, str) and expression and not navigator.valid(start, expression):
                out.append(Issue("error", "invalid", "sd-discriminator-path", f"The discriminator path {expression!r} leads to no element of {sliced['path']} (the element being sliced, of type {', '.join(t.get('code', '?') for t in sliced.get('type') or ()) or 'backbone'}).", f"{where}[{index}].slicing.discriminator[{d}]"))


# -- fixed and pattern values ---------------------------------------------------------------------


def _value(element: Element, prefix: str) -> tuple[str, Any] | None:
    for key, value in element.items():
        if key.startswith(prefix) and key != prefix:
            return key, value
    return None


def _check_fixed_against_base(registry: Any, base: dict[str, Any], differential: list[Element], where: str, out: list[Issue]) -> None:
    """A fixed or pattern value must still meet the base's fixed or pattern value there."""
    try:
        base_elements = snapshot_of(base, registry)
    except SnapshotError:
        return
    by_id = {e.get("id") or element_id(e): e for e in base_elements}
    for index, diff in enumerate(differential):
        own = _value(diff, "fixed") or _value(diff, "pattern")
        inherited = by_id.get(element_id(diff))
        if own is None or inherited is None:
            continue
        base_fixed, base_pattern = _value(inherited, "fixed"), _value(inherited, "pattern")
        key, value = own
        source = base.get("url", "the base")
        if base_fixed is not None:
            agrees = key[5:] == base_fixed[0][5:] and equals_fixed(value, base_fixed[1]) if key.startswith("fixed") \
                else key[7:] == base_fixed[0][5:] and matches_pattern(base_fixed[1], value)
            if not agrees:
                out.append(Issue("error", "value", "sd-fixed-contradicts-base", f"{where}[{index}].{key} is {show(value)}, but {source} fixes {inherited['path']} to {show(base_fixed[1])}; a derived definition cannot change a fixed value.", f"{where}[{index}].{key}"))
        elif base_pattern is not None:
            suffix = key[5:] if key.startswith("fixed") else key[7:]
            if suffix != base_pattern[0][7:] or not matches_pattern(value, base_pattern[1]):
                out.append(Issue("error", "value", "sd-pattern-contradicts-base", f"{where}[{index}].{key} is {show(value)}, which does not match the pattern {show(base_pattern[1])} that {source} sets on {inherited['path']}.", f"{where}[{index}].{key}"))
