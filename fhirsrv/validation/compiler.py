"""Compile a StructureDefinition snapshot into a :class:`~.model.StructureModel` tree."""

from __future__ import annotations

from typing import Any

from .constraint_corrections import corrected
from .invariants import NATIVE_KEYS
from .model import (
    NOTHING,
    Binding,
    Constraint,
    Discriminator,
    Elem,
    Slicing,
    StructureModel,
    TypeRef,
    max_of,
    type_code,
)
from .value_limits import limits_of

CORE_PREFIX = "http://hl7.org/fhir/StructureDefinition/"


class CompileError(ValueError):
    """The definition cannot be compiled (no snapshot, broken ids)."""


def _value_with_prefix(element: dict[str, Any], prefix: str) -> Any:
    for key, value in element.items():
        if key.startswith(prefix) and key[len(prefix):len(prefix) + 1].isupper():
            return value
    return NOTHING


def _types(element: dict[str, Any], base_path: str) -> tuple[TypeRef, ...]:
    return tuple(
        TypeRef(
            code=type_code(t, base_path),
            profiles=tuple(t.get("profile", ())),
            target_profiles=tuple(t.get("targetProfile", ())),
        )
        for t in element.get("type", ())
    )


def _slicing(element: dict[str, Any]) -> Slicing | None:
    slicing = element.get("slicing")
    if not slicing:
        return None
    return Slicing(
        discriminators=tuple(
            Discriminator(d.get("type", "value"), d.get("path", "$this"))
            for d in slicing.get("discriminator", ())
        ),
        rules=slicing.get("rules", "open"),
        ordered=bool(slicing.get("ordered", False)),
    )


def _elem(element: dict[str, Any], model_owner: StructureModel | None) -> Elem:
    path = element["path"]
    name = path.rsplit(".", 1)[-1]
    base = element.get("base") or {}
    base_path = base.get("path", path)
    types = _types(element, base_path)
    base_max = max_of(base.get("max", element.get("max")))
    binding = element.get("binding")
    content_ref = element.get("contentReference")
    return Elem(
        id=element.get("id") or path,
        path=path,
        name=name,
        json_name=name[:-3] if name.endswith("[x]") else name,
        min=int(element.get("min", 0)),
        max=max_of(element.get("max")),
        base_min=int(base.get("min", element.get("min", 0))),
        base_max=base_max,
        many=base_max is None or base_max > 1,
        types=types,
        choice=name.endswith("[x]"),
        fixed=_value_with_prefix(element, "fixed"),
        pattern=_value_with_prefix(element, "pattern"),
        binding=Binding(binding.get("strength", "example"), binding["valueSet"])
        if binding and binding.get("valueSet")
        else None,
        constraints=tuple(
            Constraint(
                key=c.get("key", ""),
                severity=c.get("severity", "error"),
                human=c.get("human", ""),
                expression=corrected(c.get("key", ""), c["expression"]),
                source=c.get("source", ""),
            )
            for c in element.get("constraint", ())
            if c.get("expression") and c.get("key") not in NATIVE_KEYS
        ),
        max_length=element.get("maxLength"),
        limits=limits_of(element),
        additional_bindings=_additional_bindings(binding),
        slicing=_slicing(element),
        slice_name=element.get("sliceName"),
        content_ref=content_ref[1:] if content_ref and content_ref.startswith("#") else content_ref,
        model=model_owner,
    )


ADDITIONAL_BINDING_URLS = frozenset({
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.binding.additional",
    "http://hl7.org/fhir/tools/StructureDefinition/additional-binding",
})


def _additional_bindings(binding: dict[str, Any] | None) -> tuple[Binding, ...]:
    """R5 ``binding.additional`` (in R4 as an extension) with purpose ``required``: the code
    must also be in that value set. Bindings with a ``usage`` context apply only in contexts
    we cannot judge, and other purposes (maximum, preferred, ui …) are advice; both skipped."""
    found: list[Binding] = []
    for ext in (binding or {}).get("extension", ()):
        if ext.get("url") not in ADDITIONAL_BINDING_URLS:
            continue
        parts = {p.get("url"): p for p in ext.get("extension", ())}
        purpose = (parts.get("purpose") or {}).get("valueCode")
        value_set = (parts.get("valueSet") or {}).get("valueCanonical")
        if purpose == "required" and value_set and "usage" not in parts:
            found.append(Binding("required", value_set))
    return tuple(found)


def _parent_id(by_id: dict[str, Elem], eid: str) -> str:
    """The longest prefix of ``eid`` (cut at a dot) that is an element already seen.

    Slice names may themselves contain dots, so a plain ``rsplit`` is not enough.
    """
    cut = eid.rfind(".")
    while cut > 0:
        candidate = eid[:cut]
        if candidate in by_id:
            return candidate
        cut = eid.rfind(".", 0, cut)
    raise CompileError(f"element {eid!r} has no parent in the snapshot")


def compile_structure(sd: dict[str, Any], derivation: str | None = None) -> StructureModel:
    """Build the element tree of one StructureDefinition from its snapshot.

    ``derivation`` overrides the definition's own when the caller knows better (a
    ``specialization`` that keeps its base's type is a constraint: see
    :func:`fhirsrv.conformance.snapshot.constrains_base_type`)."""
    elements = (sd.get("snapshot") or {}).get("element")
    if not elements:
        raise CompileError(f"StructureDefinition {sd.get('url')} has no snapshot")
    url = sd.get("url", "")
    model = StructureModel(
        url=url,
        version=sd.get("version", ""),
        name=sd.get("name") or sd.get("id", ""),
        type=sd.get("type", ""),
        kind=sd.get("kind", ""),
        derivation=derivation or sd.get("derivation", "specialization"),
        root=None,  # type: ignore[arg-type]  # set just below
        by_id={},
        is_core=url.startswith(CORE_PREFIX) and url.count("/") == 5 and sd.get("version", "4.0.1") == "4.0.1",
        contexts=tuple(
            (c.get("type") or "", c.get("expression") or "")
            for c in sd.get("context") or () if isinstance(c, dict)
        ),
        is_modifier=isinstance(elements[0], dict) and elements[0].get("isModifier") is True,
    )
    by_id = model.by_id
    for element in elements:
        elem = _elem(element, model)
        eid = elem.id
        if "." not in eid and ":" not in eid:
            if model.root is None:
                model.root = elem
            by_id[eid] = elem
            continue
        parent_id = _parent_id(by_id, eid)
        last = eid[len(parent_id) + 1:]
        by_id[eid] = elem
        parent = by_id[parent_id]
        if ":" in last:
            base_name, slice_name = last.split(":", 1)
            if "/" in slice_name:  # re-slice: a slice of a slice
                sliced_id = f"{parent_id}.{base_name}:{slice_name.rsplit('/', 1)[0]}"
            else:
                sliced_id = f"{parent_id}.{base_name}"
            sliced = by_id.get(sliced_id)
            if sliced is None:
                # A few core profiles list a slice without its sliced element; the slice
                # then stands for the element itself.
                parent.children.setdefault(base_name, elem)
                continue
            if elem.slice_name is None:
                elem.slice_name = slice_name
            sliced.slices.append(elem)
        else:
            parent.children[last] = elem
    if model.root is None:
        raise CompileError(f"StructureDefinition {url} has no root element")
    return model
