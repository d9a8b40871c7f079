"""The walk: instance data against a compiled definition, one element at a time.

Two modes share the walk. The *base* walk (``base=True``) follows the core definitions and
checks everything structural: unknown properties, JSON shapes and types, primitive formats,
empty values, base cardinality, base bindings and invariants, extensions against their
definitions, references. A *profile* walk (``base=False``) runs after it and checks only
what a profile adds: tighter cardinality, fixed and pattern values, type restrictions,
slices, bindings and invariants of its own. It descends only where the profile says
something (its own children, or a datatype profile), so profiling costs little more than
the profile's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from fhirsrv.conformance.element_paths import choice_type_suffix

from . import invariants
from .bindings import CHECKED_STRENGTHS, CODED_TYPES, check_binding
from .compiler import CORE_PREFIX
from .context import Run
from .datatype_rules import DATATYPE_RULES
from .extension_rules import ExtensionOwner, context_violation, modifier_mismatch, unknown_extension
from .model import NOTHING, Constraint, Elem, StructureModel
from .outcome import Issue
from .primitives import json_kind
from .reference_checks import check_reference
from .references import BundleIndex
from .resource_rules import RESOURCE_RULES
from .slicing import check_slices
from .text_rules import TEXT_RULES
from .value_limits import check_limits
from .values import equals_fixed, fixed_differences, matches_pattern, show

RESOURCE_TYPE_NAMES = ("Resource", "DomainResource")


# ----------------------------------------------------------------------------- resources


def check_resource(run: Run, data: Any, path: str, allowed: str, out: list[Issue]) -> None:
    """A resource found anywhere (root, contained, Bundle entry): base walk, then its claims."""
    if not isinstance(data, dict):
        out.append(Issue("error", "structure", "json-type", f"A resource must be a JSON object, not {json_kind(data)}.", path))
        return
    rtype = data.get("resourceType")
    if not isinstance(rtype, str):
        out.append(Issue("error", "structure", "resource-type-missing", "The resource has no resourceType property; add one (e.g. \"resourceType\": \"Patient\").", path))
        return
    model = run.defs.base(rtype) if rtype in run.defs.resource_types else None
    if model is None:
        out.append(Issue("error", "structure", "resource-type-unknown", f"{rtype!r} is not a FHIR R4 resource type.", path))
        return
    if allowed not in RESOURCE_TYPE_NAMES and allowed != rtype:
        out.append(Issue("error", "structure", "resource-type-wrong", f"A {allowed} resource is expected here, not {rtype}.", path))
    validate_resource(run, data, path, model, True, out)
    meta = data.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("profile"), list):
        for url in meta["profile"]:
            if isinstance(url, str):
                emit_profile(run, data, path, url, out, claimed=True)
    for global_type, url in run.options.global_profiles:  # ImplementationGuide.global
        if global_type == rtype:
            emit_profile(run, data, path, url, out)


def validate_resource(run: Run, data: dict[str, Any], path: str, model: StructureModel, base: bool, out: list[Issue]) -> None:
    run.resources.append(data)
    run.resource_paths.append(path)
    rtype = data.get("resourceType")
    is_bundle = rtype == "Bundle" or rtype == "Parameters"
    if is_bundle:
        run.bundles.append(BundleIndex.build(data, path) if rtype == "Bundle" else BundleIndex.build_parameters(data, path))
    try:
        walk_complex(run, model.root, model.type, data, path, base, out, is_resource=True)
        check_constraints(run, model.root, data, None, path, base, out)
        if base and rtype in RESOURCE_RULES:
            RESOURCE_RULES[rtype](run, data, path, out)
    finally:
        run.resources.pop()
        run.resource_paths.pop()
        if is_bundle:
            run.bundles.pop()


def profile_issues(run: Run, data: dict[str, Any], path: str, url: str) -> list[Issue] | None:
    """Issues of ``data`` against profile ``url`` (cached per call); None if the profile is unknown."""
    key = (id(data), run.defs.identity(url))
    if key in run.profile_results:
        return run.profile_results[key]
    model = run.defs.structure(url)
    if model is None:
        return None
    found: list[Issue] = []
    run.profile_results[key] = found  # a reference cycle sees "no issues" rather than recursing
    if model.type != data.get("resourceType") and model.type not in RESOURCE_TYPE_NAMES:
        found.append(Issue("error", "structure", "profile-type-mismatch", f"The profile {model.label} is for {model.type} resources, not {data.get('resourceType')}.", path))
    else:
        validate_resource(run, data, path, model, False, found)
    return found


class NonConforming(Exception):
    """Raised by a fail-fast walk at the first error: the answer to "does it conform?" is no."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.diagnostics)
        self.issue = issue


class FailFast(list):
    """An issue list that stops the walk at the first error that counts against conformance."""

    def append(self, issue: Issue) -> None:
        if issue.is_error and issue.message_id != "reference-target-profile":
            raise NonConforming(issue)
        super().append(issue)

    def extend(self, issues: Any) -> None:
        for issue in issues:
            self.append(issue)


def conforms(run: Run, data: dict[str, Any], path: str, url: str) -> tuple[bool | None, Issue | None]:
    """(does ``data`` conform to ``url``, the first error if not); None when the profile is unknown.

    Slice matching and reference checks ask this for every candidate profile; stopping at the
    first error keeps the price of a "no" low. A cached full result answers too.
    """
    key = (id(data), run.defs.identity(url))
    full = run.profile_results.get(key)
    if full is not None:
        errors = [i for i in full if i.is_error and i.message_id != "reference-target-profile"]
        return (not errors, errors[0] if errors else None)
    known = run.conformance.get(key)
    if known is not None:
        return known
    model = run.defs.structure(url)
    if model is None:
        return None, None
    run.conformance[key] = (True, None)  # a reference cycle assumes conformance
    answer: tuple[bool | None, Issue | None] = (True, None)
    try:
        if model.type != data.get("resourceType") and model.type not in RESOURCE_TYPE_NAMES:
            raise NonConforming(Issue("error", "structure", "profile-type-mismatch", f"The profile {model.label} is for {model.type} resources, not {data.get('resourceType')}.", path))
        _quick_reject(model, data, path)
        found = FailFast()
        validate_resource(run, data, path, model, False, found)
        run.profile_results.setdefault(key, list(found))  # a complete walk: keep it for emission
    except NonConforming as exc:
        answer = (False, exc.issue)
    run.conformance[key] = answer
    return answer


def _quick_reject(model: StructureModel, data: dict[str, Any], path: str) -> None:
    """Before a full fail-fast walk: the profile's top-level required elements and fixed or
    pattern values, checked directly. Candidate profiles of one type (seven IPS Observation
    profiles) mostly differ right there, so most "no" answers cost a few dict lookups."""
    checks = model.root.index_cache.get("quick-reject")
    if checks is None:  # the children with something to check here, in definition order
        checks = model.root.index_cache["quick-reject"] = tuple(
            child for child in model.root.children.values()
            if not child.choice and not child.slice_name
            and (child.min > child.base_min or child.pattern is not NOTHING or child.fixed is not NOTHING)
        )
    for child in checks:
        value = data.get(child.json_name)
        if value is None:
            if child.min > child.base_min and "_" + child.json_name not in data:
                raise NonConforming(Issue("error", "required", "cardinality-min", f"{path}.{child.name} is required (minimum {child.min}) but missing{_profile_note(child)}.", f"{path}.{child.json_name}"))
            continue
        if child.pattern is NOTHING and child.fixed is NOTHING:
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if child.pattern is not NOTHING and not matches_pattern(item, child.pattern):
                raise NonConforming(Issue("error", "value", "pattern-value", f"{path}.{child.json_name} must match {show(child.pattern)}{_profile_note(child)}, but is {show(item)}.", f"{path}.{child.json_name}"))
            if child.fixed is not NOTHING and not equals_fixed(item, child.fixed):
                raise NonConforming(Issue("error", "value", "fixed-value", f"{path}.{child.json_name} must be exactly {show(child.fixed)}{_profile_note(child)}, but is {show(item)}.", f"{path}.{child.json_name}"))


def emit_profile(run: Run, data: dict[str, Any], path: str, url: str, out: list[Issue], *, claimed: bool = False) -> None:
    """Add the issues of ``data`` against ``url`` once per call, however often it is asked."""
    key = (id(data), run.defs.identity(url))
    if key in run.emitted:
        return
    if not isinstance(out, FailFast):  # a fail-fast walk's issues are thrown away
        run.emitted.add(key)
    found = profile_issues(run, data, path, url)
    if found is None:
        how = "claims" if claimed else "is required to conform to"
        out.append(Issue("warning", "not-found", "profile-unknown", f"The resource {how} the profile {url}, which this server does not know; it was not checked against it.", path))
        return
    out.extend(found)


# ----------------------------------------------------------------------------- complex values


# One JSON property of a complex value: (element, the type its name selects or None, whether
# that type is a primitive (so ``_name`` may go with it), the choice stem or None, whether a
# profile walk has nothing to check in it (see _profile_index; always False in a base walk)).
Slot = tuple[Elem, str | None, bool, str | None, bool]


def child_index(run: Run, elem: Elem, tcode: str | None, base: bool) -> tuple[dict[str, Slot] | None, Elem | None, tuple[Elem, ...]]:
    """JSON property name → :data:`Slot` for the children of ``elem`` as type ``tcode``.

    Also returns the root of the type definition the children came from (its invariants
    apply to the value), or None when they are the element's own; and the children whose
    absence this mode must report (base: minimum > 0; profile: a minimum above the base's,
    or required slices).
    """
    cache_key = (tcode, base)
    cached = elem.index_cache.get(cache_key)
    if cached is not None:
        return cached
    source = elem
    # A profile may constrain the children of an element that is a contentReference (a slice
    # of Parameters.parameter.part with its own name/resource rules): its own children then
    # win. Without them, the base pass resolves the reference in the core definition; the
    # profile pass must not resolve it in the profile, or the profile's rules for
    # Parameters.parameter would apply again to every nested part (fhir-test-cases
    # params-recursion: 16 false errors; the Java validator reports none).
    if elem.content_ref and elem.model is not None and not elem.children and base:
        source = elem.model.by_id.get(elem.content_ref, elem)
    children = source.children
    type_root: Elem | None = None
    if not children and tcode:
        if base:
            type_model = run.defs.base(tcode)
            if type_model is not None:
                children, type_root = type_model.root.children, type_model.root
        else:
            type_ref = elem.type_ref(tcode)
            if type_ref is not None and type_ref.profiles and tcode != "Extension":
                profile = run.defs.structure(type_ref.profiles[0])
                if profile is not None and profile.derivation == "constraint":
                    children, type_root = profile.root.children, profile.root
    if not children:
        result: tuple[Any, Any, Any] = (None, type_root, ())
    else:
        primitives = run.defs.primitives
        index: dict[str, Slot] = {}
        for child in children.values():
            if child.choice:
                for type_ref in child.types:
                    index[child.json_name + choice_type_suffix(type_ref.code)] = (child, type_ref.code, type_ref.code in primitives, child.json_name, False)
                for type_slice in child.slices:
                    for type_ref in type_slice.types:
                        index[child.json_name + choice_type_suffix(type_ref.code)] = (type_slice, type_ref.code, type_ref.code in primitives, child.json_name, False)
            else:
                index.setdefault(child.json_name, (child, None, child.single_type in primitives, None, False))
        required = tuple(
            child for child in children.values()
            if not child.slice_name and (
                (child.min > 0 and (base or child.min > child.base_min))
                or (not base and child.slicing is not None and any(s.min > 0 for s in child.slices))
            )
        )
        result = (index, type_root, required)
    elem.index_cache[cache_key] = result
    return result


def walk_complex(run: Run, elem: Elem, tcode: str | None, data: Any, path: str, base: bool, out: list[Issue], *, is_resource: bool = False) -> Elem | None:
    if not isinstance(data, dict):
        if base:
            out.append(Issue("error", "structure", "json-type", f"{path} must be a JSON object ({tcode or 'element'}), not {json_kind(data)}.", path))
        return None
    index, type_root, required = child_index(run, elem, tcode, base)
    if base and not data:
        out.append(Issue("error", "structure", "empty-element", f"{path} is empty; an element must have a value or children (omit it instead).", path))
    if index is not None:
        if not base:
            index = _profile_index(run, elem, tcode, index, required)
        _walk_children(run, elem, tcode, index, required, data, path, base, out, is_resource)
    return type_root


# In a profile walk's index: a property known to the profile that the walk skips (see
# profile_inert); only an unknown property gets the disallowed-choice check.
SKIP: Any = ()


def _profile_index(run: Run, elem: Elem, tcode: str | None, index: dict[str, Slot], required: tuple[Elem, ...]) -> dict[str, Any]:
    """``index`` with :data:`SKIP` for the properties a profile walk has nothing to check in.

    Choice forms and required children keep their slot (the choice check needs every form
    of a choice, the cardinality check every required child), marked inert: _walk_children
    notes them and walks no further. Decided here once per element and type, not per
    property walked.
    """
    key = ("profile-index", tcode)
    found = elem.index_cache.get(key)
    if found is None:
        found = {}
        for name, slot in index.items():
            child, ctype, primitive, stem, _ = slot
            inert = profile_inert(run, child, ctype)
            kept = stem is not None or child in required
            found[name] = slot if not inert else (child, ctype, primitive, stem, True) if kept else SKIP
        elem.index_cache[key] = found
    return found


def _walk_children(run: Run, elem: Elem, tcode: str | None, index: dict[str, Slot], required: tuple[Elem, ...], data: dict[str, Any], path: str, base: bool, out: list[Issue], is_resource: bool) -> None:
    present: set[int] = set()
    choice_seen: dict[str, str] | None = None
    for key, value in data.items():
        if key[:1] == "_":
            stem = key[1:]
            entry = index.get(stem)
            if entry is SKIP:
                continue
            if entry is None or not entry[2]:
                if base:
                    out.append(Issue("error", "structure", "unknown-element", f"Unknown element {key!r}: {stem!r} is not a primitive element of {tcode or elem.path}.", f"{path}.{key}"))
                continue
            if stem in data:
                continue  # walked together with its value
            key, ext, value = stem, value, None
        else:
            entry = index.get(key)
            if entry is SKIP:
                continue
            if entry is None:
                if key == "resourceType" and is_resource:
                    continue
                if base:
                    out.append(Issue("error", "structure", "unknown-element", f"Unknown element {key!r} in {tcode or elem.path}; check the spelling against the definition of {tcode or elem.path}.", f"{path}.{key}"))
                else:
                    _check_disallowed_choice(index, key, path, out)
                continue
            ext = data.get("_" + key) if entry[2] else None
        child, ctype, _, stem, inert = entry
        if stem is not None:
            if choice_seen is None:
                choice_seen = {}
            other = choice_seen.get(stem)
            if other is not None and base:
                out.append(Issue("error", "structure", "choice-multiple", f"Only one of the {stem}[x] forms may be present, found {other!r} and {key!r}.", f"{path}.{key}"))
            choice_seen[stem] = key
        if required:
            present.add(id(child))
        if inert:
            continue
        if base and (key == "extension" or key == "modifierExtension") and elem.path != "Element":
            # the walk of a primitive's ``_name`` (against Element's own definition) has its
            # owner set by _walk_primitive; an element *typed* Element (Timing.repeat) is its own
            saved = run.extension_owner
            run.extension_owner = _owner(run, elem, tcode, path, data, is_resource)
            try:
                walk_property(run, child, ctype, key, value, ext, path, base, out)
            finally:
                run.extension_owner = saved
        else:
            walk_property(run, child, ctype, key, value, ext, path, base, out)
    if required:
        _check_required(run, required, present, path, base, out)


def _check_disallowed_choice(index: dict[str, Slot], key: str, path: str, out: list[Issue]) -> None:
    """In a profile walk, a choice form the profile removed (e.g. ``valueString``) is an error."""
    for slot in index.values():
        if slot is SKIP:
            continue
        child, ctype, _, _, _ = slot
        if ctype and child.choice and key.startswith(child.json_name) and key[len(child.json_name):][:1].isupper():
            allowed = ", ".join(child.json_name + choice_type_suffix(t.code) for t in child.types)
            out.append(Issue("error", "structure", "type-not-allowed", f"{key!r} is not allowed by the profile here; {child.json_name}[x] may only be {allowed}.", f"{path}.{key}"))
            return


def _check_required(run: Run, required: tuple[Elem, ...], present: set[int], path: str, base: bool, out: list[Issue]) -> None:
    for child in required:
        if child.min > 0 and id(child) not in present and (base or child.min > child.base_min):
            if child.choice and any(id(s) in present for s in child.slices):
                continue
            name = child.name
            out.append(Issue("error", "required", "cardinality-min", f"{path}.{name} is required (minimum {child.min}) but missing{_profile_note(child)}.", f"{path}.{child.json_name}"))
        elif not base and id(child) not in present and child.slicing is not None:
            for slice_elem in child.slices:
                if slice_elem.min > 0:
                    check_slices(run, child, None, [], [], [], f"{path}.{child.json_name}", out)
                    break


# ----------------------------------------------------------------------------- properties


def walk_property(run: Run, child: Elem, ctype: str | None, key: str, value: Any, ext: Any, path: str, base: bool, out: list[Issue]) -> None:
    """One JSON property (``key`` with its ``_key``): its JSON shape, each value, its slices.

    A single-valued element goes through the same steps as a repeating one, as one value at
    its own path (no index): the cardinality maximum, each value (walk_value, which reports
    a null one) and the slicing are judged by one code path for both. The caller
    (_walk_children) has already left out properties a profile walk has nothing to check in
    (see profile_inert).
    """
    here = f"{path}.{key}"
    if child.many:
        if isinstance(value, list):
            items = value
        elif value is None:
            items = []
        else:
            items = [value]
            if base:
                out.append(Issue("error", "structure", "json-array-expected", f"{here} must be a JSON array (it can repeat), not {json_kind(value)}.", here))
        if ext is None:
            exts = []
        elif isinstance(ext, list):
            exts = ext
        else:
            exts = [ext]
            if base:
                out.append(Issue("error", "structure", "json-array-expected", f"_{key} must be a JSON array matching {key}.", here))
        if base:
            if not items and (value == [] or (value is None and ext == [])):
                out.append(Issue("error", "structure", "empty-array", f"{here} is an empty array; omit the element instead.", here))
            if exts and value is not None and len(exts) != len(items):
                out.append(Issue("error", "structure", "primitive-extension-mismatch", f"_{key} must have as many entries as {key} ({len(items)}), not {len(exts)}.", here))
        paths: list[str] | None = [f"{here}[{i}]" for i in range(max(len(items), len(exts)))]
        count = len(paths)
    elif isinstance(value, list) or isinstance(ext, list):
        if base:
            out.append(Issue("error", "structure", "json-array-unexpected", f"{here} must be a single value, not an array (its maximum cardinality is 1).", here))
        return
    else:
        paths, count = None, 1  # the one value, at ``here``
    if child.max is not None and count > child.max:
        _check_max(child, count, here, base, out)
    if paths is None:
        walk_value(run, child, ctype, value, ext, here, base, out)
    else:
        for item, item_ext, at in zip_longest(items, exts, paths):
            walk_value(run, child, ctype, item, item_ext, at, base, out)
    if child.slices and child.slicing is not None:
        if paths is None:
            items, exts, paths = [value], [ext], [here]
        check_slices(run, child, ctype, items, exts, paths, here, out)


def _check_max(child: Elem, count: int, here: str, base: bool, out: list[Issue]) -> None:
    if child.max is None or count <= child.max:
        return
    if not base and child.max == child.base_max:
        return
    if child.max == 0:
        out.append(Issue("error", "structure", "cardinality-forbidden", f"{here} is not allowed here (maximum 0){_profile_note(child)}.", here))
    else:
        out.append(Issue("error", "structure", "cardinality-max", f"{here} has {count} values but at most {child.max} {'is' if child.max == 1 else 'are'} allowed{_profile_note(child)}.", here))


def _profile_note(elem: Elem) -> str:
    model = elem.model
    if model is None or model.derivation != "constraint":
        return ""
    return f" by the profile {model.label}"


# What walk_value does with a value, by kind.
PRIMITIVE, RESOURCE, COMPLEX = 0, 1, 2


@dataclass(slots=True)
class ValuePlan:
    """Everything walk_value decides from the definition alone, for one (element, type, mode).

    Worked out on the first value of that element and kept on the element, so that the walk
    of every later value does only what this element can ask for: most elements have no
    fixed value, pattern, checked binding or invariant of this mode, and their values then
    cost one dictionary read here instead of a series of empty checks.
    """

    tcode: str | None
    kind: int
    check: Any  # the primitive's format check (PRIMITIVE)
    value_rules: bool  # fixed, pattern, min/max value, maxLength or a checked binding
    constraints: tuple[Constraint, ...]  # this mode's invariants on the element itself
    fhirpath_type: str | None
    type_constraints: tuple[Constraint, ...]  # this mode's invariants of the type definition
    type_fhirpath_type: str | None
    reference: bool
    extension: bool  # base walk of an Extension: its definition is checked too
    bundle_entry: bool
    profiles: tuple[str, ...]  # RESOURCE in a profile walk: the profiles it must meet
    contained: bool  # RESOURCE in a resource's ``contained`` (ValidationOptions.validate_contained)


def value_plan(run: Run, elem: Elem, ctype: str | None, base: bool) -> ValuePlan:
    plans = elem.base_plans if base else elem.profile_plans
    plan = plans.get(ctype)
    if plan is not None:
        return plan
    tcode = ctype or elem.single_type
    rule = run.defs.primitives.get(tcode) if tcode else None
    if rule is not None:
        kind = PRIMITIVE
    elif tcode in RESOURCE_TYPE_NAMES or tcode in run.defs.resource_types:
        kind = RESOURCE
    else:
        kind = COMPLEX
    type_root = child_index(run, elem, tcode, base)[1] if kind == COMPLEX else None
    type_ref = elem.type_ref(tcode) if tcode else None
    binding = elem.binding
    plan = ValuePlan(
        tcode=tcode,
        kind=kind,
        check=rule.check if rule is not None else None,
        value_rules=(
            elem.fixed is not NOTHING or elem.pattern is not NOTHING or bool(elem.max_length)
            or elem.limits is not None or bool(elem.additional_bindings)
            or (binding is not None and bool(tcode) and binding.strength in CHECKED_STRENGTHS and tcode in CODED_TYPES)
        ),
        constraints=_active_constraints(run, elem, base) if kind == COMPLEX or not base else (),
        fhirpath_type=_fhirpath_type(elem, tcode),
        type_constraints=_active_constraints(run, type_root, base) if type_root is not None else (),
        type_fhirpath_type=_fhirpath_type(type_root, tcode) if type_root is not None else None,
        reference=tcode == "Reference",
        extension=tcode == "Extension" and base,
        bundle_entry=elem.path == "Bundle.entry",
        profiles=type_ref.profiles if type_ref is not None else (),
        contained=kind == RESOURCE and elem.path.count(".") == 1 and elem.path.endswith(".contained"),
    )
    plans[ctype] = plan
    return plan


def profile_inert(run: Run, elem: Elem, ctype: str | None) -> bool:
    """Whether a profile walk of this property (as type ``ctype``) can report nothing at all.

    A profile's snapshot repeats every element of the base; most say nothing the base walk
    has not checked (``Coding.system`` under a profiled ``CodeableConcept``, a ``Narrative``,
    an unconstrained ``Identifier``). Such a property is skipped in profile walks, with all
    it holds, instead of being descended into to find nothing: no cardinality, slicing,
    fixed or pattern value, limit, checked binding or invariant of the profile's own, no
    profiled type or reference target, no required child, no choice the profile could
    narrow — at this element or anywhere below it. Worked out once per element and type.
    """
    key = ("profile-inert", ctype)
    found = elem.index_cache.get(key)
    if found is None:
        elem.index_cache[key] = False  # a definition that reaches itself again is walked
        found = (elem.slicing is None and not elem.slices and elem.max == elem.base_max
                 and _plan_inert(run, elem, value_plan(run, elem, ctype, False)))
        elem.index_cache[key] = found
    return found


def _plan_inert(run: Run, elem: Elem, plan: ValuePlan) -> bool:
    """The value part of :func:`profile_inert` (every branch of walk_value in a profile walk)."""
    if plan.value_rules or plan.constraints:
        return False
    if plan.kind == PRIMITIVE:
        return not elem.children  # a profile may constrain a primitive's extensions
    if plan.kind == RESOURCE:
        return not plan.profiles
    if plan.type_constraints or plan.bundle_entry:
        return False
    if plan.reference:
        type_ref = elem.type_ref("Reference")
        if type_ref is not None and type_ref.target_profiles:
            return False
    index, _, required = child_index(run, elem, plan.tcode, False)
    if index is None:
        return True
    if required:
        return False
    return all(stem is None and profile_inert(run, child, ctype) for child, ctype, _, stem, _ in index.values())


def walk_value(run: Run, elem: Elem, ctype: str | None, item: Any, ext: Any, path: str, base: bool, out: list[Issue]) -> None:
    """One value of an element (with its ``_name`` object, for a primitive) at ``path``."""
    if item is None and ext is None:  # ``"name": null``, or a null in an array
        if base:
            out.append(Issue("error", "structure", "null-value", f"{path} is null; a value or an extension is required (remove the entry instead).", path))
        return
    plan = (elem.base_plans if base else elem.profile_plans).get(ctype) or value_plan(run, elem, ctype, base)
    kind = plan.kind
    if kind == PRIMITIVE:
        _walk_primitive(run, elem, plan, item, ext, path, base, out)
        return
    if kind == RESOURCE:
        if plan.contained and not run.options.validate_contained:
            return  # Java validateContains: IGNORE
        if base:
            check_resource(run, item, path, plan.tcode, out)  # type: ignore[arg-type]
        elif isinstance(item, dict):
            _emit_any_profile(run, item, path, plan.profiles, out)
        return
    tcode = plan.tcode
    pushed = plan.bundle_entry and isinstance(item, dict)
    if pushed:
        full_url = item.get("fullUrl")
        run.full_urls.append(full_url if isinstance(full_url, str) else None)
    if plan.extension:
        _walk_extension_content(run, elem, tcode, item, path, out)
    else:
        try:
            walk_complex(run, elem, tcode, item, path, base, out)
        finally:
            if pushed:
                run.full_urls.pop()
    if not isinstance(item, dict):
        return
    if plan.value_rules:
        _check_value_rules(run, elem, tcode, item, path, base, out)
    if plan.constraints:
        run_constraints(run, plan.constraints, plan.fhirpath_type, item, path, out)
    if plan.type_constraints:
        run_constraints(run, plan.type_constraints, plan.type_fhirpath_type, item, path, out)
    if plan.reference:
        check_reference(run, elem, item, path, base, out)
    elif plan.extension:
        _check_extension(run, elem, item, path, out)
    elif base and tcode in DATATYPE_RULES:
        DATATYPE_RULES[tcode](run, item, path, out)


def _walk_extension_content(run: Run, elem: Elem, tcode: str | None, item: Any, path: str, out: list[Issue]) -> None:
    """The base walk of an Extension's own elements, with its url as the context that
    extensions nested in it (``extension`` contexts) are checked against."""
    outer = run.extension_url
    url = item.get("url") if isinstance(item, dict) else None
    run.extension_url = url if isinstance(url, str) else None
    try:
        walk_complex(run, elem, tcode, item, path, True, out)
    finally:
        run.extension_url = outer


def _walk_primitive(run: Run, elem: Elem, plan: ValuePlan, item: Any, ext: Any, path: str, base: bool, out: list[Issue]) -> None:
    if item is not None:
        if base:
            problem = plan.check(item)
            if problem:
                kind = "structure" if problem.startswith("must be a JSON") else "value"
                mid = "json-type" if kind == "structure" else "primitive-format"
                out.append(Issue("error", "value" if kind == "value" else "structure", mid, f"{path} {problem}." if problem.startswith("must") else f"{path}: {problem}.", path))
                return
            if plan.tcode in TEXT_RULES:
                TEXT_RULES[plan.tcode](run, item, path, out)
        if plan.value_rules:
            _check_value_rules(run, elem, plan.tcode, item, path, base, out)
        if plan.constraints:
            run_constraints(run, plan.constraints, plan.fhirpath_type, item, path, out)
    if ext is not None:
        if base:
            element_model = run.defs.base("Element")
            if element_model is not None:
                saved = run.extension_owner
                run.extension_owner = _owner(run, elem, plan.tcode, path, item, False)
                try:
                    walk_value(run, element_model.root, "Element", ext, None, path, True, out)
                finally:
                    run.extension_owner = saved
                if isinstance(ext, dict) and "extension" not in ext and item is None:
                    out.append(Issue("error", "structure", "empty-element", f"{path} has neither a value nor extensions.", path))
        elif elem.children:
            walk_complex(run, elem, plan.tcode, ext, path, False, out)


def _fixed_value_issues(elem: Elem, item: Any, path: str) -> list[Issue]:
    """The issues of a value that is not exactly ``elem.fixed``: for a complex value, one per
    element that is extra, missing or different, at that element's own path."""
    rule = f"{path} must be exactly {show(elem.fixed)}{_profile_note(elem)}"
    if not (isinstance(elem.fixed, dict) and isinstance(item, dict)):
        return [Issue("error", "value", "fixed-value", f"{rule}, but is {show(item)}.", path)]
    issues = []
    for diff in fixed_differences(item, elem.fixed, path):
        name = diff.expression.rsplit(".", 1)[-1]
        if diff.kind == "extra":
            text = f"{diff.expression} is not allowed: {rule}, which has no {name}."
        elif diff.kind == "missing":
            text = f"{diff.expression} is missing: {rule}, which has {name} {show(diff.expected)}."
        else:
            text = f"{diff.expression} is {show(diff.found)}, but {rule}, which has {show(diff.expected)} there."
        issues.append(Issue("error", "value", "fixed-value", text, diff.expression))
    return issues


def _check_value_rules(run: Run, elem: Elem, tcode: str | None, item: Any, path: str, base: bool, out: list[Issue]) -> None:
    if elem.fixed is not NOTHING and not equals_fixed(item, elem.fixed):
        out.extend(_fixed_value_issues(elem, item, path))
    if elem.pattern is not NOTHING and not matches_pattern(item, elem.pattern):
        out.append(Issue("error", "value", "pattern-value", f"{path} must match {show(elem.pattern)}{_profile_note(elem)}, but is {show(item)}.", path))
    if elem.limits is not None and tcode:
        check_limits(elem.limits, tcode, item, path, _profile_note(elem), out)
    if elem.max_length and isinstance(item, str) and len(item) > elem.max_length:
        out.append(Issue("error", "value", "max-length", f"{path} is {len(item)} characters long; at most {elem.max_length} are allowed.", path))
    if elem.binding is not None and tcode:
        out.extend(check_binding(elem.binding, tcode, item, path, run.checker))
        for extra in elem.additional_bindings:
            out.extend(check_binding(extra, tcode, item, path, run.checker))


# ----------------------------------------------------------------------------- invariants


def _active_constraints(run: Run, elem: Elem, base: bool) -> tuple[Any, ...]:
    """The invariants this walk evaluates on ``elem``: not the native ones, and in a profile
    walk not the core ones (the base walk has them). Worked out once per element and mode."""
    key = ("constraints", base)
    found = elem.index_cache.get(key)
    if found is None:
        found = tuple(c for c in elem.constraints if base or not run.defs.is_core_constraint(c.key))
        elem.index_cache[key] = found
    return found


def check_constraints(run: Run, elem: Elem, item: Any, tcode: str | None, path: str, base: bool, out: list[Issue]) -> None:
    if not elem.constraints:
        return
    active = _active_constraints(run, elem, base)
    if not run.options.validate_contained and "." not in elem.path:
        # dom-3 is about contained resources; the Java validator checks it only over the
        # contained resources it has validated, so not with validateContains: IGNORE
        active = tuple(c for c in active if c.key != "dom-3")
    if active:
        run_constraints(run, active, _fhirpath_type(elem, tcode), item, path, out)


def run_constraints(run: Run, active: tuple[Constraint, ...], fhirpath_type: str | None, item: Any, path: str, out: list[Issue]) -> None:
    bundle = run.bundles[-1] if run.bundles else None
    token = invariants.current_resolver.set(_resolver(run, bundle) if bundle else None)
    try:
        for constraint in active:
            try:
                ok = invariants.holds(constraint.expression, item, fhirpath_type, run.resource, run.root_resource)
            except invariants.InvariantError as exc:
                out.append(Issue("warning", "processing", "invariant-unevaluable", f"The invariant {constraint.key} could not be checked: {exc}.", path))
                continue
            if not ok:
                severity = "error" if constraint.severity == "error" else "warning"
                out.append(Issue(severity, "invariant", "invariant-failed", f"{constraint.key}: {constraint.human} (rule: {constraint.expression})", path))
    finally:
        invariants.current_resolver.reset(token)


def _fhirpath_type(elem: Elem, tcode: str | None) -> str | None:
    """The type fhirpathpy should give the value: backbone parts by their path (so that its
    model knows their choice elements), datatypes by name; resources carry their own."""
    if tcode in (None, "BackboneElement", "Element"):
        return elem.path if "." in elem.path else None
    return tcode


def _resolver(run: Run, bundle: BundleIndex) -> Any:
    full_url = run.full_urls[-1] if run.full_urls else None

    def resolve(reference: str, holder: Any = None) -> dict[str, Any] | None:
        if reference.startswith("#"):
            return _contained_target(run, bundle, reference[1:], holder)
        found = bundle.resolve(reference, full_url)
        return found[0] if found else None

    return resolve


def _contained_target(run: Run, bundle: BundleIndex, wanted: str, holder: Any) -> dict[str, Any] | None:
    """``#id`` met by ``resolve()`` in an invariant evaluated above the resource that holds
    the reference (a Bundle-level rule over its entries): fhirpathpy hands over the bare
    Reference, so the resource whose ``contained`` it means is the one that holds that very
    object (fhir-test-cases bundle-resolve-deep)."""
    # the entries first: the Bundle holds every reference too, but means none of them
    owners = [r for matches in bundle.by_full_url.values() for r, _ in matches]
    owners += [r for matches in bundle.by_type_id.values() for r, _ in matches]
    owners += [r for r in reversed(run.resources) if r.get("resourceType") not in ("Bundle", "Parameters")]
    seen: set[int] = set()
    for owner in owners:
        if id(owner) in seen:
            continue
        seen.add(id(owner))
        if holder is None or _holds(owner, holder):
            for item in owner.get("contained") or ():
                if isinstance(item, dict) and item.get("id") == wanted:
                    return item
            if holder is not None:
                return None
    return None


def _holds(value: Any, target: Any) -> bool:
    """Is ``target`` (by identity) somewhere inside ``value``?"""
    if value is target:
        return True
    if isinstance(value, dict):
        return any(_holds(v, target) for v in value.values() if isinstance(v, dict | list))
    if isinstance(value, list):
        return any(_holds(v, target) for v in value if isinstance(v, dict | list))
    return False


# ----------------------------------------------------------------------------- extensions


def _owner(run: Run, elem: Elem, tcode: str | None, path: str, data: Any, is_resource: bool) -> ExtensionOwner:
    return ExtensionOwner(
        elem, tcode, path, data, is_resource,
        run.resources[-1] if run.resources else None, run.resource_paths[-1] if run.resource_paths else "",
        run.extension_url,
    )


def _check_extension(run: Run, elem: Elem, item: dict[str, Any], path: str, out: list[Issue]) -> None:
    """One ``extension``/``modifierExtension`` item (base walk): ext-1, then its definition:
    known (extension_rules.unknown_extension), in the right slot, in an allowed context, and
    its content against the definition."""
    has_value = any(k.lstrip("_").startswith("value") for k in item)
    if has_value == ("extension" in item):
        what = "both a value and sub-extensions" if has_value else "neither a value nor sub-extensions"
        out.append(Issue("error", "invariant", "extension-value", f"ext-1: {path} has {what}; an extension must have exactly one of them.", path))
    url = item.get("url")
    if not isinstance(url, str) or ("://" not in url and not url.startswith("urn:")):
        return  # relative urls name the parts of a complex extension, checked by its definition
    model = run.defs.structure(url)
    if model is None:
        out.append(unknown_extension(run.options, url, path))
        return
    if model.type != "Extension":
        out.append(Issue("error", "structure", "extension-not-extension", f"{url} is a {model.type} definition, not an extension.", path))
        return
    mismatch = modifier_mismatch(model, url, elem.name, path)
    if mismatch is not None:
        out.append(mismatch)
    if run.extension_owner is not None:
        misplaced = context_violation(run.defs, run.defs.extension_contexts(url, model), url, run.extension_owner)
        if misplaced is not None:
            out.append(misplaced)
    walk_value(run, model.root, "Extension", item, None, path, False, out)


def _emit_any_profile(run: Run, item: dict[str, Any], path: str, urls: tuple[str, ...] | list[str], out: list[Issue]) -> None:
    """A resource typed with several profiles must conform to at least one of them, not all.

    R4 ElementDefinition.type.profile: "If any profiles are specified, then the content must
    conform to at least one of them." Checking every one made an instance that satisfies one
    alternative fail on the others (fhir-test-cases parameters-profiled-resource-multiple).
    When none fits, the candidate with the fewest errors is reported: the closest one says
    best what is missing.
    """
    if len(urls) <= 1:
        for url in urls:
            emit_profile(run, item, path, url, out)
        return
    best: list[Issue] | None = None
    for url in urls:
        found: list[Issue] = []
        emit_profile(run, item, path, url, found)
        errors = sum(1 for issue in found if issue.is_error)
        if errors == 0:
            out.extend(found)
            return
        if best is None or errors < sum(1 for issue in best if issue.is_error):
            best = found
    out.extend(best or ())


def target_types(run: Run, target_profiles: tuple[str, ...]) -> frozenset[str]:
    """The resource types a Reference with these target profiles may point to (worked out
    once per tuple of profiles: the definitions do not change)."""
    known = run.defs.target_types.get(target_profiles)
    if known is not None:
        return known
    types: set[str] = set()
    for url in target_profiles:
        model = run.defs.structure(url)
        if model is not None:
            types.add(model.type)
        elif url.startswith(CORE_PREFIX) and url.count("/") == 5:
            types.add(url[len(CORE_PREFIX):].split("|")[0])
    found = run.defs.target_types[target_profiles] = frozenset(types)
    return found
