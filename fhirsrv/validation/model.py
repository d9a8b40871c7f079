"""A StructureDefinition snapshot compiled into a tree of elements, ready to walk.

The snapshot is a flat list; validation wants a tree (children by name, slices under the
sliced element, choice types expanded to their JSON names) with everything the checks need
pre-digested: cardinality as ints, the JSON shape from the *base* cardinality (a profile
may narrow ``0..*`` to ``0..1`` but the JSON stays an array), fixed and pattern values,
bindings, invariants, slicing. Compiling happens once per definition (see
:mod:`.compiler`); the walk then only reads these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
SYSTEM_PREFIX = "http://hl7.org/fhirpath/System."
_SYSTEM_TYPES = {"String": "string", "Boolean": "boolean", "Integer": "integer", "Decimal": "decimal",
                 "Date": "date", "DateTime": "dateTime", "Time": "time"}
NOTHING = object()  # "no fixed/pattern value" (None is never a valid FHIR value, but be explicit)


@dataclass(frozen=True, slots=True)
class TypeRef:
    code: str
    profiles: tuple[str, ...] = ()
    target_profiles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Constraint:
    key: str
    severity: str
    human: str
    expression: str
    source: str


@dataclass(frozen=True, slots=True)
class Binding:
    strength: str
    value_set: str


@dataclass(frozen=True, slots=True)
class Discriminator:
    type: str  # value | pattern | type | profile | exists
    path: str


@dataclass(frozen=True, slots=True)
class Slicing:
    discriminators: tuple[Discriminator, ...]
    rules: str  # open | closed | openAtEnd
    ordered: bool


@dataclass(eq=False)
class Elem:
    """One element definition; ``children`` is empty when the type's own definition applies."""

    id: str
    path: str
    name: str  # last path segment as in the definition, e.g. ``value[x]``
    json_name: str  # the JSON property stem, e.g. ``value``
    min: int
    max: int | None  # None = unbounded
    base_min: int
    base_max: int | None
    many: bool  # JSON array (from the base cardinality)
    types: tuple[TypeRef, ...]
    choice: bool
    fixed: Any = NOTHING
    pattern: Any = NOTHING
    binding: Binding | None = None
    constraints: tuple[Constraint, ...] = ()
    max_length: int | None = None
    limits: tuple[Any, Any] | None = None  # (minValue[x], maxValue[x]); see value_limits
    additional_bindings: tuple[Binding, ...] = ()  # purpose "required" additional bindings (R5 extension)
    slicing: Slicing | None = None
    slice_name: str | None = None
    slices: list[Elem] = field(default_factory=list)
    children: dict[str, Elem] = field(default_factory=dict)
    content_ref: str | None = None
    model: StructureModel | None = None
    index_cache: dict[Any, Any] = field(default_factory=dict)
    # What the walk does with a value of this element, per type code: worked out on first
    # use (walker.value_plan), one table for the base walk and one for profile walks.
    base_plans: dict[str | None, Any] = field(default_factory=dict)
    profile_plans: dict[str | None, Any] = field(default_factory=dict)
    single_type: str | None = None  # the type code when there is exactly one

    def __post_init__(self) -> None:
        self.single_type = self.types[0].code if len(self.types) == 1 else None

    @property
    def type_codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.types)

    def type_ref(self, code: str) -> TypeRef | None:
        for t in self.types:
            if t.code == code:
                return t
        return None

    def describe(self) -> str:
        return f"{self.path}:{self.slice_name}" if self.slice_name else self.path


@dataclass(eq=False)
class StructureModel:
    """A compiled StructureDefinition."""

    url: str
    version: str
    name: str
    type: str
    kind: str
    derivation: str
    root: Elem
    by_id: dict[str, Elem]
    is_core: bool
    # Extension definitions: where the extension may be used (StructureDefinition.context as
    # (type, expression) pairs) and whether it changes the meaning of its holder (root isModifier).
    contexts: tuple[tuple[str, str], ...] = ()
    is_modifier: bool = False

    @property
    def label(self) -> str:
        return self.name or self.url


def max_of(text: str | None) -> int | None:
    if text is None or text == "*":
        return None
    return int(text)


def type_code(type_json: dict[str, Any], base_path: str) -> str:
    """The FHIR type name of a snapshot ``type`` entry.

    R4 writes the types of ``id``/``url``-like leaves as FHIRPath system types with the FHIR
    type in an extension. ``Resource.id`` is declared ``string`` there although the spec's
    text (resource.html#id) says it is an ``id``; we follow the text.
    """
    code = type_json.get("code", "")
    if base_path == "Resource.id":
        return "id"
    if code.startswith(SYSTEM_PREFIX):
        for ext in type_json.get("extension", ()):
            if ext.get("url") == FHIR_TYPE_EXT:
                return ext.get("valueUrl") or ext.get("valueUri") or "string"
        return _SYSTEM_TYPES.get(code[len(SYSTEM_PREFIX):], "string")
    return code
