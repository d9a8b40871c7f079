"""Slicing: assign each item of a sliced array to a slice, then check the slices.

Discriminators (value, pattern, type, profile, exists) are evaluated on the item along the
discriminator path (``$this``, dotted names, ``resolve()``, ``ofType()``, ``extension()``),
against what the slice's definition says at that path. When something does not fit, the
message names the slice, says what the slice requires, and — the part other validators
leave out — which item came closest and why it failed, in one sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fhirsrv.conformance.element_paths import path_steps

from . import walker  # the walk and slicing call each other; attributes are used at call time
from .context import Run
from .model import NOTHING, Discriminator, Elem
from .outcome import Issue
from .values import equals_fixed, matches_pattern, show

_CALL = re.compile(r"^(ofType|extension)\((.*)\)$")


@lru_cache(maxsize=1024)
def _steps(path: str) -> tuple[tuple[str, re.Match[str] | None], ...]:
    """The segments of a discriminator path, each with its ``ofType()``/``extension()`` match."""
    return tuple((segment, _CALL.match(segment)) for segment in path_steps(path))


def values_at(run: Run, item: Any, path: str, where: str) -> list[tuple[Any, str]]:
    """The (value, expression) pairs at a discriminator path inside one item."""
    current = [(item, where)]
    for segment, call in _steps(path):
        following: list[tuple[Any, str]] = []
        for value, at in current:
            if segment == "resolve()":
                if isinstance(value, dict) and isinstance(value.get("reference"), str) and run.bundles:
                    found = run.bundles[-1].resolve(value["reference"], run.full_urls[-1] if run.full_urls else None)
                    if found:
                        following.append(found)
            elif call and call.group(1) == "ofType":
                following.append((value, at))  # the type is checked by the type discriminator
            elif call:
                url = call.group(2).strip("'\"")
                exts = value.get("extension") if isinstance(value, dict) else None
                for i, ext in enumerate(exts if isinstance(exts, list) else ()):
                    if isinstance(ext, dict) and ext.get("url") == url:
                        following.append((ext, f"{at}.extension[{i}]"))
            elif isinstance(value, dict):
                found = value.get(segment)
                if isinstance(found, list):
                    following.extend((v, f"{at}.{segment}[{i}]") for i, v in enumerate(found))
                elif found is not None:
                    following.append((found, f"{at}.{segment}"))
                else:
                    for key, v in value.items():  # a choice element named without [x]
                        if key.startswith(segment) and key[len(segment):][:1].isupper():
                            following.append((v, f"{at}.{key}"))
        current = following
    return current


def definition_at(run: Run, slice_elem: Elem, path: str) -> Elem | None:
    """The element definition inside the slice that the discriminator path names."""
    elem: Elem | None = slice_elem
    for segment in path_steps(path):
        if elem is None:
            return None
        if segment == "resolve()" or _CALL.match(segment):
            if segment.startswith("extension("):
                url = segment[len("extension("):-1].strip("'\"")
                ext = elem.children.get("extension")
                elem = next((s for s in (ext.slices if ext else ()) if any(url in t.profiles for t in s.types)), None)
            continue
        children = elem.children
        if not children and len(elem.types) == 1 and elem.types[0].profiles:
            profile = run.defs.structure(elem.types[0].profiles[0])
            children = profile.root.children if profile else {}
        elem = children.get(segment) or children.get(segment + "[x]")
    return elem


_NAMES = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")


def _inside(value: Any, path: str) -> Any:
    """The part of a complex fixed/pattern value at a dotted path (a single item), or NOTHING."""
    for name in path.split("."):
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, dict) or name not in value:
            return NOTHING
        value = value[name]
    return value


def _expected_value(slice_elem: Elem, target: Elem | None, disc: Discriminator) -> Any:
    if target is not None:
        if target.fixed is not NOTHING:
            return target.fixed
        if target.pattern is not NOTHING:
            return target.pattern
    # The slice fixes the whole value (``fixedContactPoint: {use: home}`` with a discriminator
    # on ``use``): the discriminated element's value is read from it, as FHIR's "value"
    # discriminator says ("as determined by the applicable fixed value, pattern …").
    enclosing = slice_elem.fixed if slice_elem.fixed is not NOTHING else slice_elem.pattern
    if enclosing is not NOTHING and _NAMES.fullmatch(disc.path):
        found = _inside(enclosing, disc.path)
        if found is not NOTHING:
            return found
    if disc.path == "url" and slice_elem.types and slice_elem.types[0].profiles:
        return slice_elem.types[0].profiles[0].split("|")[0]  # an extension slice: its definition's url
    return NOTHING


def _profiles_of(target: Elem | None, through_reference: bool) -> list[str]:
    if target is None:
        return []
    if through_reference:
        return [p for t in target.types for p in t.target_profiles]
    return [p for t in target.types for p in t.profiles]


def _type_of(value: Any, at: str) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("resourceType"), str):
        return value["resourceType"]
    tail = at.rsplit(".", 1)[-1].split("[")[0]
    for i in range(1, len(tail)):
        if tail[i].isupper():
            return tail[i:]
    return None


@dataclass(frozen=True, slots=True)
class _Spec:
    """What one discriminator of one slice expects, worked out once per slice."""

    target: Elem | None
    expected: Any
    allowed: frozenset[str]
    profiles: tuple[str, ...]


def _spec(run: Run, slice_elem: Elem, disc: Discriminator) -> _Spec:
    key = ("discriminator", disc)
    spec = slice_elem.index_cache.get(key)
    if spec is None:
        target = definition_at(run, slice_elem, disc.path)
        spec = _Spec(
            target=target,
            expected=_expected_value(slice_elem, target, disc),
            allowed=frozenset(target.type_codes) if target is not None else frozenset(),
            profiles=tuple(_profiles_of(target, "resolve()" in disc.path)),
        )
        slice_elem.index_cache[key] = spec
    return spec


# What discriminate answers for a failure when the caller does not want to know why: slice
# matching only asks "does it fit?", and the sentences cost more than the comparison.
FAILS = "does not match"


def discriminate(run: Run, slice_elem: Elem, disc: Discriminator, item: Any, where: str, explain: bool = True) -> str | None:
    """None when the item passes this discriminator of the slice; otherwise why not (or just
    :data:`FAILS` with ``explain=False``)."""
    spec = _spec(run, slice_elem, disc)
    if disc.type in ("value", "pattern") and spec.expected is NOTHING:
        return None  # nothing to compare with: the slice cannot be told apart by this path
    if disc.type == "type" and not spec.allowed:
        return None
    found = values_at(run, item, disc.path, where)
    target = spec.target
    label = "the item itself" if disc.path == "$this" else disc.path
    if disc.type in ("value", "pattern"):
        expected = spec.expected
        if expected is NOTHING:
            return None  # nothing to compare with: the slice cannot be told apart by this path
        if any(equals_fixed(v, expected) or matches_pattern(v, expected) for v, _ in found):
            return None
        if not explain:
            return FAILS
        got = ", ".join(show(v) for v, _ in found) or "nothing"
        return f"{label} must be {show(expected)} but is {got}"
    if disc.type == "exists":
        wanted = target is not None and target.min > 0
        if (bool(found)) == wanted or target is None or (target.min == 0 and target.max != 0):
            return None
        return f"{label} must be {'present' if wanted else 'absent'}"
    if disc.type == "type":
        allowed = spec.allowed
        types = [_type_of(v, at) for v, at in found]
        if any(t in allowed for t in types):
            return None
        if not explain:
            return FAILS
        return f"{label} must be a {' or '.join(sorted(allowed))}, not {', '.join(t for t in types if t) or 'missing'}"
    if disc.type == "profile":
        profiles = spec.profiles
        if not profiles:
            return None
        first_error: Issue | None = None
        for value, at in found:
            if not isinstance(value, dict):
                continue
            for url in profiles:
                ok, error = walker.conforms(run, value, at, url)
                if ok is None:
                    continue
                if ok:
                    return None
                first_error = first_error or error
        if not explain:
            return FAILS
        names = " or ".join(_label(run, p) for p in profiles)
        if first_error is None:
            return f"{label} must conform to {names} but is missing"
        return f"{label} must conform to {names}, but: {first_error.diagnostics.rstrip('.')}"
    return None


def _label(run: Run, url: str) -> str:
    model = run.defs.structure(url)
    return model.label if model else url


def requirement(run: Run, sliced: Elem, slice_elem: Elem) -> str:
    """What a slice requires, in words."""
    parts: list[str] = []
    for disc in sliced.slicing.discriminators if sliced.slicing else ():
        target = definition_at(run, slice_elem, disc.path)
        label = "the item" if disc.path == "$this" else disc.path
        if disc.type in ("value", "pattern"):
            expected = _expected_value(slice_elem, target, disc)
            if expected is not NOTHING:
                parts.append(f"{label} = {show(expected)}")
        elif disc.type == "type" and target is not None and target.types:
            parts.append(f"{label} of type {' or '.join(target.type_codes)}")
        elif disc.type == "profile":
            profiles = _profiles_of(target, "resolve()" in disc.path)
            if profiles:
                parts.append(f"{label} conforming to {' or '.join(_label(run, p) for p in profiles)}")
        elif disc.type == "exists" and target is not None:
            parts.append(f"{label} {'present' if target.min > 0 else 'absent'}")
    return " and ".join(parts) or "its definition"


def _failure(run: Run, sliced: Elem, slice_elem: Elem, item: Any, where: str, explain: bool = True) -> tuple[int, str | None]:
    """(discriminators passed, first reason it failed) for one item against one slice."""
    passed = 0
    for disc in sliced.slicing.discriminators if sliced.slicing else ():
        reason = discriminate(run, slice_elem, disc, item, where, explain)
        if reason is not None:
            return passed, reason
        passed += 1
    return passed, None


def _closest(run: Run, sliced: Elem, slices: list[Elem], items: list[Any], paths: list[str], candidates: list[int]) -> tuple[int, Elem, str] | None:
    """The (item, slice, reason) pair that came nearest to matching."""
    best: tuple[int, int, Elem, str] | None = None
    for i in candidates:
        for slice_elem in slices:
            passed, reason = _failure(run, sliced, slice_elem, items[i], paths[i])
            if reason is not None and (best is None or passed > best[0]):
                best = (passed, i, slice_elem, reason)
    return (best[1], best[2], best[3]) if best else None


def _type_candidates(run: Run, sliced: Elem, slices: list[Elem], item: Any, where: str) -> list[Elem]:
    """The slices whose type discriminators the item can pass, found with one look at the
    item's types instead of one full discriminator check per slice (IPS has 30+ entry slices)."""
    candidates = slices
    for disc in sliced.slicing.discriminators if sliced.slicing else ():
        if disc.type != "type":
            continue
        key = ("type-filter", disc)
        table = sliced.index_cache.get(key)
        if table is None:  # (slice, its allowed types) and, per set of item types, the slices kept
            table = sliced.index_cache[key] = ([(s, _spec(run, s, disc).allowed) for s in slices], {})
        pairs, kept_for = table
        types = frozenset(_type_of(v, at) for v, at in values_at(run, item, disc.path, where))
        kept = kept_for.get(types)
        if kept is None:
            kept = [s for s, allowed in pairs if not allowed or allowed & types]
            if len(kept_for) < 256:  # type names come from the data: keep the table bounded
                kept_for[types] = kept
        if candidates is slices:
            candidates = kept
        else:
            keep = {id(s) for s in kept}
            candidates = [s for s in candidates if id(s) in keep]
    return candidates


def _strings(value: Any, into: set[str]) -> set[str]:
    """Every string value inside ``value`` (not the property names)."""
    if isinstance(value, str):
        into.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, into)
    elif isinstance(value, list):
        for v in value:
            _strings(v, into)
    return into


def _leading_values(run: Run, sliced: Elem, slice_elem: Elem) -> tuple[tuple[Discriminator, frozenset[str]], ...]:
    """The value/pattern discriminators that come before any other kind, each with the
    strings its expected value holds (worked out once per slice)."""
    key = ("leading-values", id(sliced))
    found = slice_elem.index_cache.get(key)
    if found is None:
        leading: list[tuple[Discriminator, frozenset[str]]] = []
        for disc in sliced.slicing.discriminators if sliced.slicing else ():
            if disc.type not in ("value", "pattern"):
                break
            expected = _spec(run, slice_elem, disc).expected
            if expected is not NOTHING:
                leading.append((disc, frozenset(_strings(expected, set()))))
        found = slice_elem.index_cache[key] = tuple(leading)
    return found


def _cannot_match(run: Run, sliced: Elem, slice_elem: Elem, item: Any, where: str, seen: dict[str, set[str]]) -> bool:
    """True when a leading value/pattern discriminator is sure to fail: a string of the
    expected value occurs nowhere in the item's values at that path (a fixed or pattern
    string only ever matches an equal string). Only the discriminators before any profile or
    type one are used, so that skipping the slice skips no work with an effect (a profile
    walk whose verdict is remembered). ``seen`` keeps the item's strings per path."""
    for disc, needed in _leading_values(run, sliced, slice_elem):
        have = seen.get(disc.path)
        if have is None:
            have = seen[disc.path] = set()
            for value, _ in values_at(run, item, disc.path, where):
                _strings(value, have)
        if not needed <= have:
            return True
    return False


def check_slices(run: Run, sliced: Elem, ctype: str | None, items: list[Any], exts: list[Any], paths: list[str], here: str, out: list[Issue]) -> None:
    slicing = sliced.slicing
    assert slicing is not None
    slices = sliced.slices
    assigned: list[Elem | None] = []
    for i, item in enumerate(items):
        match = None
        if item is not None:
            seen: dict[str, set[str]] = {}
            for slice_elem in _type_candidates(run, sliced, slices, item, paths[i]):
                if _cannot_match(run, sliced, slice_elem, item, paths[i], seen):
                    continue
                if _failure(run, sliced, slice_elem, item, paths[i], explain=False)[1] is None:
                    match = slice_elem
                    break
        assigned.append(match)
    for i, slice_elem in enumerate(assigned):
        if slice_elem is not None:
            walker.walk_value(run, slice_elem, ctype, items[i], exts[i] if i < len(exts) else None, paths[i], False, out)
    unmatched = [i for i, s in enumerate(assigned) if s is None and items[i] is not None]
    for slice_elem in slices:
        count = sum(1 for s in assigned if s is slice_elem)
        if count < slice_elem.min:
            _missing(run, sliced, slice_elem, items, paths, unmatched, here, out)
        elif slice_elem.max is not None and count > slice_elem.max:
            where = [paths[i] for i, s in enumerate(assigned) if s is slice_elem]
            out.append(Issue("error", "structure", "slice-cardinality-max", f"{here}: the slice '{slice_elem.slice_name}' allows at most {slice_elem.max} item(s), but {count} match it ({', '.join(where)}).", where[-1]))
    if slicing.rules == "closed":
        for i in unmatched:
            closest = _closest(run, sliced, slices, items, [paths[j] for j in range(len(items))], [i])
            hint = f" The closest is the slice '{closest[1].slice_name}', which requires {requirement(run, sliced, closest[1])}: {closest[2]}." if closest else ""
            out.append(Issue("error", "structure", "slice-closed-unmatched", f"{paths[i]} matches none of the slices of {sliced.describe()} ({', '.join(repr(s.slice_name) for s in slices)}) and the slicing is closed.{hint}", paths[i]))
    elif slicing.rules == "openAtEnd" and unmatched:
        last_matched = max((i for i, s in enumerate(assigned) if s is not None), default=-1)
        for i in unmatched:
            if i < last_matched:
                out.append(Issue("error", "structure", "slice-open-at-end", f"{paths[i]} matches no slice of {sliced.describe()} and comes before a sliced item; unsliced items may only come at the end.", paths[i]))
    elif unmatched and any(d.type == "profile" for d in slicing.discriminators):
        for i in unmatched:
            _open_unmatched(run, sliced, ctype, items[i], exts[i] if i < len(exts) else None, paths[i], out)
    if slicing.ordered:
        order = {id(s): n for n, s in enumerate(slices)}
        last = -1
        for i, slice_elem in enumerate(assigned):
            if slice_elem is None:
                continue
            rank = order[id(slice_elem)]
            if rank < last:
                out.append(Issue("error", "structure", "slice-order", f"{paths[i]} (slice '{slice_elem.slice_name}') is out of order; the slices of {sliced.describe()} must appear in the order {', '.join(repr(s.slice_name) for s in slices)}.", paths[i]))
            last = max(last, rank)


def _missing(run: Run, sliced: Elem, slice_elem: Elem, items: list[Any], paths: list[str], unmatched: list[int], here: str, out: list[Issue]) -> None:
    needs = requirement(run, sliced, slice_elem)
    sentence = f"{here}: the required slice '{slice_elem.slice_name}' (at least {slice_elem.min}) is missing; it requires {needs}."
    closest = _closest(run, sliced, [slice_elem], items, paths, unmatched or list(range(len(items))))
    if closest is not None:
        sentence += f" The closest candidate, {paths[closest[0]]}, does not match because {closest[2]}."
    elif not items:
        sentence += " There are no items at all."
    out.append(Issue("error", "required", "slice-missing", sentence, here))


def _open_unmatched(run: Run, sliced: Elem, ctype: str | None, item: Any, ext: Any, where: str, out: list[Issue]) -> None:
    """An item of open slicing that fails only the profile of the one slice its type fits.

    That slice is what the item was evidently meant to be (the Composition of an IPS Bundle,
    its Patient), so the item is validated against it and its real errors are reported at
    their own paths. With several candidate slices (IPS observations) we cannot know which
    was meant; the sentence then names the closest.
    """
    profile_discs = [d for d in sliced.slicing.discriminators if d.type == "profile"] if sliced.slicing else []
    other_discs = [d for d in sliced.slicing.discriminators if d.type != "profile"] if sliced.slicing else []
    fitting = [
        s for s in sliced.slices
        if all(discriminate(run, s, d, item, where) is None for d in other_discs)
    ]
    if len(fitting) == 1 and profile_discs:
        walker.walk_value(run, fitting[0], ctype, item, ext, where, False, out)
        return
    closest = _closest(run, sliced, fitting or sliced.slices, [item], [where], [0])
    if closest and " must conform to " in closest[2]:
        out.append(Issue("information", "informational", "slice-open-unmatched", f"{where} matches no slice of {sliced.describe()}; the closest is the slice '{closest[1].slice_name}', whose {closest[2]}.", where))
