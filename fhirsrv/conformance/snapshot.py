"""Snapshot generation: a profile's full element list from its differential and its base.

Why we need our own: SUSHI (and hand-written profiles) produce differentials only, while the
validator compiles snapshots. The algorithm follows the FHIR rules for applying a
differential to the base snapshot (https://hl7.org/fhir/R4/profiling.html#snapshot):

* elements are matched by ``id`` (``Composition.section:sectionProblems.code``); a
  differential element without an ``id`` gets one from its ``path`` and ``sliceName``;
* a new slice copies the current state of the sliced element and its children (with
  ``min`` 0 unless the differential says otherwise), placed after the sliced element's
  existing slices (re-slices ``a:b/c`` after slice ``a:b``);
* a concrete choice name (``valueQuantity``) becomes the type slice ``value[x]:valueQuantity``
  and narrows ``value[x]`` to the types so named (as the R4 core's own profiles do);
* a sliced element's ``min`` is at least the sum of its slices' ``min``;
* a child of a data type element that the snapshot does not expand (``section.code.coding``)
  expands that element with the snapshot of its type, or of its type's profile;
* constraints (``min``, ``max``, ``type``, ``fixed[x]``, ``pattern[x]``, ``binding`` …) of the
  differential replace the base's; ``constraint`` and ``mapping`` are added to the base's.

Known limits: only constraints (``derivation = constraint``) are generated; a
specialisation (a logical model, a new type) raises :class:`SnapshotError` — except one that
keeps its base's type (:func:`constrains_base_type`), which is a constraint in all but name.
Bindings of the differential replace the base's whole (no merge of binding extensions).
"""

from __future__ import annotations

import copy
import re
from typing import Any, Protocol

from .element_paths import choice_type_suffix

CORE_SD = "http://hl7.org/fhir/StructureDefinition/"

# Differential keys that are never copied onto the snapshot element as they are.
_NOT_MERGED = {"id", "path", "constraint", "mapping", "condition", "base"}


class SnapshotError(ValueError):
    """The differential cannot be applied to the base (a path that exists nowhere …)."""


class DefinitionSource(Protocol):
    def get(self, reference: str, version: str | None = None) -> dict[str, Any] | None: ...


Element = dict[str, Any]


def constrains_base_type(sd: dict[str, Any], base: dict[str, Any] | None) -> bool:
    """True for a constraint, and for a ``specialization`` whose ``type`` is its base's type.

    A specialisation defines a new type; one based on ``Practitioner`` whose type is still
    ``Practitioner`` defines none: it can only constrain Practitioner (hand-written profiles
    say ``specialization`` by mistake, fhir-test-cases ad-practitioner-profile). The HL7 Java
    validator applies such a differential to its base like a constraint's, and so do we; a
    logical model is never one.
    """
    derivation = sd.get("derivation", "constraint")
    if derivation == "constraint":
        return True
    return (
        derivation == "specialization"
        and sd.get("kind") != "logical"
        and base is not None
        and bool(sd.get("type"))
        and sd.get("type") == base.get("type")
    )


def generate_snapshot(sd: dict[str, Any], registry: DefinitionSource, *, _chain: tuple[str, ...] = ()) -> dict[str, Any]:
    """A copy of ``sd`` whose ``snapshot`` is computed from its differential and its base.

    ``_chain`` holds the definitions whose snapshots are being generated around this one (a
    base's base, a type's profile): a definition met again there derives from itself, which
    would otherwise recurse without end."""
    refused = SnapshotError(f"{sd.get('url', '?')}: only constraint profiles can be generated, not a {sd.get('derivation')}")
    if sd.get("derivation", "constraint") != "constraint" and (sd.get("derivation") != "specialization" or sd.get("kind") == "logical"):
        raise refused
    url = sd.get("url", "?")
    if url in _chain:
        raise SnapshotError(f"{url}: circular definitions: {' → '.join((*_chain[_chain.index(url):], url))}")
    chain = (*_chain, url)
    base = _definition_with_snapshot(sd.get("baseDefinition") or "", registry, url, chain)
    if not constrains_base_type(sd, base):
        raise refused
    elements = copy.deepcopy(base["snapshot"]["element"])
    builder = _Builder(elements, registry, source=sd.get("url", ""), base_elements=base["snapshot"]["element"], chain=chain)
    for diff in sd.get("differential", {}).get("element", []):
        builder.apply(diff)
    result = copy.deepcopy(sd)
    result["snapshot"] = {"element": builder.finish()}
    return result


def snapshot_of(sd: dict[str, Any], registry: DefinitionSource) -> list[Element]:
    """The snapshot elements of ``sd``, generated (and kept on ``sd``) when it has none.

    For callers such as the validator that meet a differential-only profile at run time
    (one dropped into profiles/ without going through our build scripts)."""
    if not sd.get("snapshot", {}).get("element"):
        sd["snapshot"] = generate_snapshot(sd, registry)["snapshot"]
    return sd["snapshot"]["element"]


def _definition_with_snapshot(reference: str, registry: DefinitionSource, wanted_by: str,
                              chain: tuple[str, ...] = ()) -> dict[str, Any]:
    """Resolve a base or type profile; generate its snapshot first if it has none."""
    found = registry.get(reference)
    if found is None and "|" in reference:
        found = registry.get(reference.split("|", 1)[0])
    if found is None:
        raise SnapshotError(f"{wanted_by}: base definition {reference!r} is not in the registry")
    if not found.get("snapshot", {}).get("element"):
        found = generate_snapshot(found, registry, _chain=chain)
    return found


def element_id(diff: Element) -> str:
    """The element's id, built from path and sliceName when the differential omits it."""
    if diff.get("id"):
        return diff["id"]
    path = diff["path"]
    return f"{path}:{diff['sliceName']}" if diff.get("sliceName") else path


def _split_last(identifier: str) -> tuple[str, str]:
    """``A.b:s.c:t`` → (``A.b:s``, ``c:t``): parent id and the last segment."""
    parts = re.split(r"\.(?![^\[]*\])", identifier)
    return ".".join(parts[:-1]), parts[-1]


def _in_subtree(identifier: str, root: str, *, with_slices: bool) -> bool:
    if identifier == root or identifier.startswith(root + "."):
        return True
    return with_slices and (identifier.startswith(root + ":") or identifier.startswith(root + "/"))


def _path_of(identifier: str) -> str:
    """The path of an element id: slice names removed."""
    return ".".join(segment.split(":", 1)[0] for segment in identifier.split("."))


class _Builder:
    """Applies differential elements, in order, to a working snapshot list."""

    def __init__(self, elements: list[Element], registry: DefinitionSource, source: str,
                 base_elements: list[Element] | None = None, chain: tuple[str, ...] = ()) -> None:
        self.elements = elements
        self.registry = registry
        self.source = source
        self.chain = chain  # definitions being generated around this one (see generate_snapshot)
        # The base's snapshot, untouched by the differential: content references expand from it.
        self.base_elements = base_elements or []
        # [x] elements narrowed by concrete choice names → their types before narrowing
        self.choice_types: dict[str, list[dict[str, Any]]] = {}
        for element in elements:
            element.setdefault("id", element_id(element))

    def index_of(self, identifier: str) -> int | None:
        for index, element in enumerate(self.elements):
            if element["id"] == identifier:
                return index
        return None

    def apply(self, diff: Element) -> None:
        identifier = element_id(diff)
        index = self.locate(identifier)
        _merge(self.elements[index], diff, self.source)

    # -- locating (and creating) the element a differential entry talks about -------------

    def locate(self, identifier: str) -> int:
        index = self.index_of(identifier)
        if index is not None:
            return index
        if "." not in identifier:
            raise SnapshotError(f"{self.source}: root {identifier!r} does not match the base")
        parent_id, last = _split_last(identifier)
        parent_index = self.locate(parent_id)
        actual_parent = self.elements[parent_index]["id"]
        if actual_parent != parent_id:  # the parent was a concrete choice name, now a type slice
            return self.locate(f"{actual_parent}.{last}")
        name, _, slice_name = last.partition(":")
        choice_slice = self.choice_type_slice(parent_id, name)
        if choice_slice is not None:
            if slice_name not in ("", name):
                raise SnapshotError(f"{self.source}: cannot slice the concrete choice {identifier!r}")
            return choice_slice
        if slice_name:
            return self.add_slice(f"{parent_id}.{name}", slice_name)
        self.expand(parent_index)
        index = self.index_of(identifier)
        if index is None and not slice_name:
            # a concrete choice name below an element just unrolled (``extension:a.valueIdentifier``)
            index = self.choice_type_slice(parent_id, name)
        if index is None:
            raise SnapshotError(f"{self.source}: element {identifier!r} does not exist in the base")
        return index

    def subtree_end(self, start: int, *, with_slices: bool) -> int:
        root = self.elements[start]["id"]
        end = start + 1
        while end < len(self.elements) and _in_subtree(self.elements[end]["id"], root, with_slices=with_slices):
            end += 1
        return end

    def add_slice(self, sliced_id: str, slice_name: str) -> int:
        """Insert slice ``sliced_id:slice_name`` (``a/b`` re-slices slice ``a``)."""
        owner_id = sliced_id
        if "/" in slice_name:
            owner_id = f"{sliced_id}:{slice_name.rsplit('/', 1)[0]}"
        owner = self.locate(owner_id)
        sliced = self.elements[owner]
        if "slicing" not in sliced:
            sliced["slicing"] = _default_slicing(sliced)
        new_id = f"{sliced_id}:{slice_name}"
        template = self.elements[owner : self.subtree_end(owner, with_slices=False)]
        copies = []
        for element in copy.deepcopy(template):
            element["id"] = new_id + element["id"][len(owner_id) :]
            copies.append(element)
        copies[0]["sliceName"] = slice_name
        copies[0].pop("slicing", None)
        # The sliced element's minimum counts all slices together: one slice alone is optional
        # unless the differential says otherwise.
        copies[0]["min"] = 0
        if sliced["path"].endswith("[x]"):  # a type slice named after its type: valueQuantity
            stem = sliced["path"].rsplit(".", 1)[-1][:-3]
            typed = [t for t in sliced.get("type", []) if stem + choice_type_suffix(t["code"]) == slice_name]
            copies[0]["type"] = typed or copies[0].get("type", [])
        insert_at = self.subtree_end(owner, with_slices=True)
        self.elements[insert_at:insert_at] = copies
        return insert_at

    def choice_type_slice(self, parent_id: str, name: str) -> int | None:
        """``valueQuantity`` where the base has ``value[x]``: the type slice ``value[x]:valueQuantity``.

        R4 lets a profile name a choice by its type to restrict it to that type; the R4 core
        and current IG publishers express that as a type slice and narrow ``value[x]`` to the
        types so named, and so do we. (An explicit ``value[x]:valueQuantity`` in the
        differential, as SUSHI writes it, is an ordinary slice and narrows nothing.)"""
        for element in self.elements:
            candidate = element["id"]
            if not (candidate.startswith(parent_id + ".") and candidate.endswith("[x]")):
                continue
            stem = candidate[len(parent_id) + 1 : -3]
            if "." in stem or ":" in stem or not name.startswith(stem):
                continue
            type_name = name[len(stem) :]
            original = self.choice_types.get(candidate, element.get("type", []))
            allowed = [t for t in original if choice_type_suffix(t["code"]) == type_name]
            if not allowed:
                continue
            existing = self.index_of(f"{candidate}:{name}")
            if existing is not None:
                return existing
            if candidate not in self.choice_types:
                self.choice_types[candidate] = original
                element["type"] = []
            element["type"] += copy.deepcopy(allowed)
            index = self.add_slice(candidate, name)
            self.elements[index]["type"] = copy.deepcopy(allowed)
            return index
        return None

    def finish(self) -> list[Element]:
        """Final pass: a sliced element needs at least as many items as its slices require."""
        for element in self.elements:
            if "slicing" not in element:
                continue
            own = element["id"]
            marker = "/" if element.get("sliceName") else ":"
            required = sum(
                int(other.get("min", 0))
                for other in self.elements
                if other["id"].startswith(own + marker) and not re.search(r"[./]", other["id"][len(own) + 1 :])
            )
            element["min"] = max(int(element.get("min", 0)), required)
        return self.elements

    def expand(self, index: int) -> None:
        """Unroll a data type (or a content reference) element with its children."""
        element = self.elements[index]
        if self.subtree_end(index, with_slices=False) > index + 1:
            return  # already has children
        children = []
        for root_id, child in self.children_for(element):
            child = copy.deepcopy(child)
            root_path = _path_of(root_id)
            child["path"] = element["path"] + child["path"][len(root_path) :]
            child["id"] = element["id"] + child["id"][len(root_id) :]
            children.append(child)
        self.elements[index + 1 : index + 1] = children

    def children_for(self, element: Element) -> list[tuple[str, Element]]:
        """The elements below ``element``'s type, each with the id of the root they hang from."""
        reference = element.get("contentReference")
        if reference:
            # ``#Parameters.parameter`` names the base's element: a profile's constraints on
            # Parameters.parameter (name fixed to 'MemberBundle', part min 3) must not be copied
            # into every nested part (fhir-test-cases params-recursion).
            target = reference.lstrip("#")
            base_ids = [e.get("id") or element_id(e) for e in self.base_elements]
            if target in base_ids:
                start = base_ids.index(target)
                end = start + 1
                while end < len(base_ids) and _in_subtree(base_ids[end], target, with_slices=False):
                    end += 1
                return [(target, child) for child in self.base_elements[start + 1 : end]]
            start = self.index_of(target)
            if start is None:
                raise SnapshotError(f"{self.source}: content reference {reference!r} not found")
            end = self.subtree_end(start, with_slices=False)
            return [(target, child) for child in self.elements[start + 1 : end]]
        types = element.get("type") or []
        if not types:
            raise SnapshotError(f"{self.source}: cannot expand {element['id']!r}: it has no type")
        # Several types (a choice): only what they share, id and extension, can be constrained.
        profiles = (types[0].get("profile") or [CORE_SD + types[0]["code"]]) if len(types) == 1 else [CORE_SD + "Element"]
        definition = _definition_with_snapshot(profiles[0], self.registry, self.source, self.chain)
        elements = definition["snapshot"]["element"]
        root = elements[0].get("id") or elements[0]["path"]
        return [(root, child) for child in elements[1:]]


def _default_slicing(element: Element) -> dict[str, Any]:
    """The slicing the FHIR rules imply when a differential slices without saying how."""
    if element["path"].endswith("[x]"):
        return {"discriminator": [{"type": "type", "path": "$this"}], "ordered": False, "rules": "open"}
    if element["path"].endswith("xtension"):
        return {"discriminator": [{"type": "value", "path": "url"}], "ordered": False, "rules": "open"}
    return {"ordered": False, "rules": "open"}


def _merge(target: Element, diff: Element, source: str) -> None:
    """Apply one differential element's constraints to a snapshot element."""
    for key, value in diff.items():
        if key in _NOT_MERGED:
            continue
        if key.startswith(("fixed", "pattern")):
            for old in [k for k in target if k.startswith(("fixed", "pattern"))]:
                del target[old]
        target[key] = copy.deepcopy(value)
    if diff.get("constraint"):
        keys = {c.get("key") for c in target.get("constraint", [])}
        added = [dict(c, source=c.get("source", source)) for c in diff["constraint"] if c.get("key") not in keys]
        target["constraint"] = target.get("constraint", []) + added
    if diff.get("mapping"):
        known = {(m.get("identity"), m.get("map")) for m in target.get("mapping", [])}
        extra = [m for m in diff["mapping"] if (m.get("identity"), m.get("map")) not in known]
        target["mapping"] = target.get("mapping", []) + extra
    if diff.get("condition"):
        target["condition"] = sorted(set(target.get("condition", [])) | set(diff["condition"]))
