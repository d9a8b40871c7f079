"""Parsing a FHIR search (search.html) into a checked request; every mistake is a SearchError.

The parameters a type has, their types and reference targets come from the R4
SearchParameter definitions (``R4Model.search_params``). What the definitions do not say
(which modifiers and prefixes each parameter *type* allows) follows search.html's tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from fhirsrv.conformance.r4 import R4Model, SearchParamDef
from fhirsrv.errors import FhirError

from .search_values import (
    implicit_range,
    normalize_string,
    parse_date_range,
    split_keep_escapes,
    split_reference,
    split_unescaped,
    to_decimal,
)

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
ORDERED_TYPES = frozenset({"date", "number", "quantity"})
# search.html, "Modifiers": what each parameter type accepts (besides :missing, always allowed).
MODIFIERS: dict[str, frozenset[str]] = {
    "string": frozenset({"exact", "contains"}),
    "token": frozenset({"text", "not", "of-type", "in", "not-in", "below", "above"}),
    "reference": frozenset({"identifier"}),  # plus :[type]
    "uri": frozenset({"below", "above"}),
    "date": frozenset(),
    "number": frozenset(),
    "quantity": frozenset(),
    "composite": frozenset(),
}
KNOWN_BUT_UNSUPPORTED_MODIFIERS = frozenset({"above", "below", "type"})
MAX_VALUESET_CODES = 10_000


class CodeSets(Protocol):
    """What :in / :not-in and token :below / :above need from the terminology service; each
    raises SearchError when it cannot list the codes in full (never a partial answer)."""

    def valueset(self, url: str) -> list[tuple[str, str]]:
        """The (system, code) pairs of a value set."""

    def related(self, system: str, code: str, direction: str) -> list[tuple[str, str]]:
        """``code`` with every code below it (``direction`` "below") or above it ("above")."""
RESULT_PARAMS = frozenset({
    "_count", "_offset", "_page", "_sort", "_summary", "_total",
    "_elements", "_format", "_pretty", "_contained", "_containedType",
})
UNSUPPORTED_PARAMS = frozenset({"_text", "_content", "_query", "_list", "_filter", "near"})
TOTAL_MODES = frozenset({"none", "estimate", "accurate"})
SUMMARY_MODES = frozenset({"true", "false", "text", "data", "count"})
MAX_CHAIN_DEPTH = 4


def is_supported(param: SearchParamDef) -> bool:
    """Whether this engine answers the parameter (for the CapabilityStatement): every
    definition with an expression, except the ``special`` type (``near``)."""
    return param.type != "special" and param.code not in UNSUPPORTED_PARAMS and (
        bool(param.expression) or param.code in {"_id", "_lastUpdated"}
    )


class SearchError(FhirError):
    """A search the server answers with 400 and an OperationOutcome.

    ``param`` names the offending query parameter; ``ignorable`` marks the errors that
    ``Prefer: handling=lenient`` turns into warnings (an unknown or unsupported parameter).
    """

    status = 400

    def __init__(self, message: str, param: str | None = None, *, ignorable: bool = False) -> None:
        super().__init__(message, code="not-supported" if ignorable else "invalid",
                         expression=[param] if param else None)
        self.message = message
        self.param = param
        self.ignorable = ignorable


# -- parsed values ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StringValue:
    norm: str
    raw: str


@dataclass(frozen=True)
class TokenValue:
    system: str | None  # None: any system; "": explicitly no system
    code: str | None  # None: any code (``system|``)
    text: str = ""  # normalised, for :text


@dataclass(frozen=True)
class CodeSetValue:
    """The codes of a value set, for :in / :not-in."""

    systems: tuple[str, ...]
    codes: tuple[str, ...]


@dataclass(frozen=True)
class DateValue:
    prefix: str
    low: datetime
    high: datetime


@dataclass(frozen=True)
class NumberValue:
    prefix: str
    value: Decimal
    low: Decimal  # implicit precision range
    high: Decimal
    system: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class ReferenceValue:
    target_type: str | None
    target_id: str | None
    url: str | None


@dataclass(frozen=True)
class UriValue:
    uri: str


@dataclass(frozen=True)
class CompositeValue:
    parts: tuple[tuple[str, Any], ...]  # (component param type, parsed value)


# -- filters ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParamFilter:
    """``code[:modifier]=v1,v2`` on one parameter: the values are OR-ed."""

    code: str
    type: str
    modifier: str | None
    values: tuple[Any, ...]
    target_type: str | None = None  # reference :[type]
    component_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChainFilter:
    """``ref[:Type].next...=v``: resources whose ``ref`` points at a target matching ``inner``."""

    code: str
    target_types: tuple[str, ...]
    inner: Any
    embedded: bool = False  # the parameter holds whole resources (Bundle.composition): see indexer


@dataclass(frozen=True)
class HasFilter:
    """``_has:Source:ref:...=v``: resources pointed at (by ``ref``) from a Source matching ``inner``."""

    source_type: str
    code: str
    inner: Any


@dataclass(frozen=True)
class IdFilter:
    ids: tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True)
class LastUpdatedFilter:
    values: tuple[DateValue, ...]


@dataclass(frozen=True)
class IncludeSpec:
    source_type: str  # "*" for any
    code: str  # "*" for every reference parameter
    target_type: str | None
    iterate: bool
    reverse: bool


@dataclass(frozen=True)
class SortKey:
    code: str
    type: str
    descending: bool


@dataclass
class SearchRequest:
    """A parsed search: what to match (``filters``, AND-ed) and how to answer."""

    rtypes: tuple[str, ...]
    filters: list[Any] = field(default_factory=list)
    sort: list[SortKey] = field(default_factory=list)
    includes: list[IncludeSpec] = field(default_factory=list)
    count: int | None = None
    offset: int = 0
    snapshot: int | None = None  # the highest rid the first page could see (stable paging)
    summary: str | None = None
    total: str | None = None
    elements: list[str] | None = None
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (param, why) in lenient mode
    params: list[tuple[str, str]] = field(default_factory=list)  # the request, minus paging

    @classmethod
    def parse(
        cls, rtype: str | None, params: list[tuple[str, str]], model: R4Model, lenient: bool = False,
        base_url: str | None = None, code_sets: CodeSets | None = None,
    ) -> SearchRequest:
        """Parse and check a search; ``base_url`` (this server's) makes absolute references
        to it match the relative references stored; ``code_sets`` enables :in/:not-in and
        token :below/:above."""
        return _Parser(model, lenient, base_url, code_sets).parse(rtype, params)


class _Parser:
    def __init__(self, model: R4Model, lenient: bool, base_url: str | None = None,
                 code_sets: CodeSets | None = None) -> None:
        self.model = model
        self.lenient = lenient
        self.code_sets = code_sets
        self.base_url = base_url.rstrip("/") + "/" if base_url else None

    # -- entry ------------------------------------------------------------------------------
    def parse(self, rtype: str | None, params: list[tuple[str, str]]) -> SearchRequest:
        if rtype is not None:
            if not self.model.is_resource_type(rtype):
                raise SearchError(f"{rtype} is not an R4 resource type")
            rtypes: tuple[str, ...] = (rtype,)
        else:
            rtypes = self._system_types(params)
        request = SearchRequest(rtypes=rtypes)
        for name, value in params:
            if name not in {"_page", "_offset"}:
                request.params.append((name, value))
            try:
                self._parse_one(request, name, value)
            except SearchError as error:
                if not self.lenient or not error.ignorable:
                    raise
                request.ignored.append((name, error.message))
        return request

    def _system_types(self, params: list[tuple[str, str]]) -> tuple[str, ...]:
        wanted = [t.strip() for name, value in params if name == "_type" for t in value.split(",") if t.strip()]
        for name in wanted:
            if not self.model.is_resource_type(name):
                raise SearchError(f"_type: {name} is not an R4 resource type", "_type")
        return tuple(dict.fromkeys(wanted)) or tuple(sorted(self.model.resource_types))

    def _parse_one(self, request: SearchRequest, name: str, value: str) -> None:
        if name == "_type":  # read by _system_types (system search); meaningless on a type
            return
        if name in RESULT_PARAMS:
            self._result_param(request, name, value)
            return
        if name.split(":", 1)[0] in {"_include", "_revinclude"}:
            self._include(request, name, value)
            return
        request.filters.append(self._filter(request.rtypes, name, value, depth=0))

    # -- result parameters --------------------------------------------------------------------
    def _result_param(self, request: SearchRequest, name: str, value: str) -> None:
        if name == "_count":
            request.count = _non_negative(name, value)
        elif name == "_offset":
            request.offset = _non_negative(name, value)
        elif name == "_page":
            offset, _, snapshot = value.partition(".")
            request.offset = _non_negative(name, offset)
            request.snapshot = _non_negative(name, snapshot) if snapshot else None
        elif name == "_sort":
            request.sort = [self._sort_key(request.rtypes, key.strip()) for key in value.split(",") if key.strip()]
        elif name == "_summary":
            if value not in SUMMARY_MODES:
                raise SearchError(f"_summary={value} is not one of {sorted(SUMMARY_MODES)}", name)
            request.summary = value
        elif name == "_total":
            if value not in TOTAL_MODES:
                raise SearchError(f"_total={value} is not one of {sorted(TOTAL_MODES)}", name)
            request.total = value
        elif name == "_elements":
            request.elements = [e.strip() for e in value.split(",") if e.strip()]
        # _format, _pretty, _contained: handled by the REST layer or defaults

    def _sort_key(self, rtypes: tuple[str, ...], key: str) -> SortKey:
        descending = key.startswith("-")
        code = key[1:] if descending else key
        param = self._param(rtypes, code, "_sort")
        if param.type in {"composite", "special"}:
            raise SearchError(f"_sort: {code} is a {param.type} parameter and cannot be sorted on", "_sort")
        return SortKey(code, param.type, descending)

    def _include(self, request: SearchRequest, name: str, value: str) -> None:
        head, _, modifier = name.partition(":")
        if modifier not in {"", "iterate", "recurse"}:
            raise SearchError(f"{name}: only :iterate is a valid modifier", name)
        reverse = head == "_revinclude"
        if value == "*":
            request.includes.append(IncludeSpec("*", "*", None, bool(modifier), reverse))
            return
        parts = value.split(":")
        if len(parts) not in {2, 3}:
            raise SearchError(f"{name}={value}: expected SourceType:parameter[:TargetType]", name)
        source, code = parts[0], parts[1]
        target = parts[2] if len(parts) == 3 else None
        if not self.model.is_resource_type(source):
            raise SearchError(f"{name}={value}: {source} is not an R4 resource type", name)
        if code != "*":
            param = self.model.params_for(source).get(code)
            if param is None or param.type != "reference":
                raise SearchError(f"{name}={value}: {source} has no reference parameter {code}", name)
            if target is not None and param.targets and target not in param.targets:
                raise SearchError(f"{name}={value}: {source}.{code} cannot point at {target}", name)
        if target is not None and not self.model.is_resource_type(target):
            raise SearchError(f"{name}={value}: {target} is not an R4 resource type", name)
        if not reverse and source != "*" and modifier == "" and source not in request.rtypes:
            raise SearchError(f"{name}={value}: {source} is not the type searched", name)
        request.includes.append(IncludeSpec(source, code, target, bool(modifier), reverse))

    # -- filters --------------------------------------------------------------------------------
    def _param(self, rtypes: tuple[str, ...], code: str, name: str) -> SearchParamDef:
        found = [self.model.params_for(t).get(code) for t in rtypes]
        if not found or any(p is None for p in found):
            where = rtypes[0] if len(rtypes) == 1 else "every type searched"
            raise SearchError(f"unknown search parameter {code!r} for {where}", name, ignorable=True)
        kinds = {p.type for p in found if p is not None}
        if len(kinds) > 1:
            raise SearchError(f"{code} has different types across the types searched", name)
        return found[0]  # type: ignore[return-value]

    def _filter(self, rtypes: tuple[str, ...], name: str, value: str, depth: int) -> Any:
        if depth > MAX_CHAIN_DEPTH:
            raise SearchError(f"{name}: chains deeper than {MAX_CHAIN_DEPTH} are not supported", name)
        if name.startswith("_has:"):
            return self._has(rtypes, name, value, depth)
        head, dot, rest = name.partition(".")
        code, _, modifier = head.partition(":")
        if code in UNSUPPORTED_PARAMS:
            raise SearchError(f"the {code} parameter is not supported by this server", name, ignorable=True)
        if code == "_id":
            return self._id_filter(name, modifier, value)
        if code == "_lastUpdated":
            if modifier:
                raise SearchError(f"{name}: _lastUpdated takes no modifier", name)
            return LastUpdatedFilter(tuple(_parse_date(name, v) for v in split_unescaped(value, ",")))
        param = self._param(rtypes, code, name)
        if dot:
            return self._chain(rtypes, name, param, modifier, rest, value, depth)
        return self._param_filter(name, param, modifier, value)

    def _id_filter(self, name: str, modifier: str, value: str) -> IdFilter:
        if modifier not in {"", "not", "missing"}:
            raise SearchError(f"{name}: modifier :{modifier} is not allowed on _id", name)
        if modifier == "missing":
            return IdFilter((), negate=_boolean(name, value))
        return IdFilter(tuple(v for v in split_unescaped(value, ",") if v), negate=modifier == "not")

    def _chain(self, rtypes, name, param, modifier, rest, value, depth) -> ChainFilter:
        if param.type != "reference":
            raise SearchError(f"{name}: {param.code} is not a reference parameter and cannot be chained", name)
        if modifier:
            if not self.model.is_resource_type(modifier):
                raise SearchError(f"{name}: :{modifier} is not a resource type to chain through", name)
            targets = (modifier,)
        else:
            next_code = rest.split(".", 1)[0].split(":", 1)[0]
            targets = tuple(
                t for t in (param.targets or sorted(self.model.resource_types))
                if next_code in {"_id", "_lastUpdated"} or next_code in self.model.params_for(t)
            )
            if not targets:
                raise SearchError(f"{name}: no type {param.code} can point at has a parameter {next_code}", name)
        inner = self._filter(targets, rest, value, depth + 1)
        embedded = isinstance(inner, ParamFilter) and self._embeds_resources(param)
        return ChainFilter(param.code, targets, inner, embedded)

    def _embeds_resources(self, param: SearchParamDef) -> bool:
        """Whether the parameter's expression ends at an element of type Resource (read from
        the StructureDefinition): ``Bundle.composition`` is ``Bundle.entry[0].resource``."""
        for part in (param.expression or "").split("|"):
            path = re.sub(r"\[\d+\]", "", part.strip().strip("()"))
            if not re.fullmatch(r"[A-Za-z]+(\.[A-Za-z]+)+", path):
                continue
            sd = self.model.structure_definitions.get(path.split(".", 1)[0], {})
            for element in sd.get("snapshot", {}).get("element", ()):
                if element.get("path") == path and any(t.get("code") == "Resource" for t in element.get("type", ())):
                    return True
        return False

    def _has(self, rtypes, name: str, value: str, depth: int) -> HasFilter:
        parts = name.split(":", 3)
        if len(parts) < 4:
            raise SearchError(f"{name}: expected _has:Type:reference-parameter:parameter", name)
        _, source, code, rest = parts
        if not self.model.is_resource_type(source):
            raise SearchError(f"{name}: {source} is not an R4 resource type", name)
        param = self.model.params_for(source).get(code)
        if param is None or param.type != "reference":
            raise SearchError(f"{name}: {source} has no reference parameter {code}", name)
        if param.targets and not set(param.targets) & set(rtypes):
            raise SearchError(f"{name}: {source}.{code} does not point at {'/'.join(rtypes)}", name)
        inner = self._filter((source,), rest, value, depth + 1)
        return HasFilter(source, code, inner)

    def _param_filter(self, name: str, param: SearchParamDef, modifier: str, value: str) -> ParamFilter:
        target_type = None
        if modifier == "missing":
            component_types = tuple(self.model.params_by_url[url].type for url, _ in param.components)
            return ParamFilter(param.code, param.type, "missing", (_boolean(name, value),),
                               component_types=component_types)
        if modifier and param.type == "reference" and self.model.is_resource_type(modifier):
            if param.targets and modifier not in param.targets:
                raise SearchError(f"{name}: {param.code} cannot point at {modifier}", name)
            target_type, modifier = modifier, ""
        if modifier and modifier not in MODIFIERS.get(param.type, frozenset()):
            if modifier in KNOWN_BUT_UNSUPPORTED_MODIFIERS:
                raise SearchError(f"{name}: modifier :{modifier} is not supported on {param.type} parameters here", name)
            raise SearchError(f"{name}: :{modifier} is not a valid modifier for a {param.type} parameter", name)
        if param.type in {"special"}:
            raise SearchError(f"{name}: special parameters are not supported", name)
        if param.type == "composite":
            component_types = tuple(self.model.params_by_url[url].type for url, _ in param.components)
            values = tuple(self._composite(name, component_types, v) for v in split_keep_escapes(value, ","))
            return ParamFilter(param.code, param.type, None, values, component_types=component_types)
        if modifier in {"in", "not-in"}:
            values = tuple(self._valueset(name, v) for v in split_unescaped(value, ","))
            return ParamFilter(param.code, param.type, modifier, values)
        if modifier in {"below", "above"} and param.type == "token":
            # subsumption: the concept itself and what is below / above it, searched as a code set
            values = tuple(self._hierarchy(name, modifier, v) for v in split_unescaped(value, ","))
            return ParamFilter(param.code, param.type, "in", values)
        kind = "token" if modifier == "identifier" else param.type
        values = tuple(
            _parse_value(name, kind, modifier or None, self._local(kind, v), target_type)
            for v in split_keep_escapes(value, ",")
        )
        if any(v is None for v in values):
            raise SearchError(f"{name}: empty value", name)
        return ParamFilter(param.code, param.type, modifier or None, values, target_type)

    def _valueset(self, name: str, url: str) -> CodeSetValue:
        if self.code_sets is None:
            raise SearchError(f"{name}: :in and :not-in need the terminology service", name)
        return self._code_set(name, url, self.code_sets.valueset(url))

    def _hierarchy(self, name: str, direction: str, text: str) -> CodeSetValue:
        system, bar, code = text.partition("|")
        if not bar or not system or not code:
            raise SearchError(f"{name}={text}: :{direction} needs a system and a code (system|code)", name)
        if self.code_sets is None:
            raise SearchError(f"{name}: :{direction} needs the terminology service", name)
        return self._code_set(name, text, self.code_sets.related(system, code, direction))

    def _code_set(self, name: str, text: str, members: list[tuple[str, str]]) -> CodeSetValue:
        if len(members) > MAX_VALUESET_CODES:
            raise SearchError(f"{name}={text}: more than {MAX_VALUESET_CODES} codes to search for", name)
        return CodeSetValue(tuple(s for s, _ in members), tuple(c for _, c in members))

    def _local(self, kind: str, text: str) -> str:
        """An absolute reference to this server, made relative (``[base]/Patient/1`` -> ``Patient/1``)."""
        if kind == "reference" and self.base_url and text.startswith(self.base_url):
            return text[len(self.base_url):]
        return text

    def _composite(self, name: str, component_types: tuple[str, ...], text: str) -> CompositeValue:
        pieces = split_keep_escapes(text, "$")
        if len(pieces) != len(component_types):
            raise SearchError(
                f"{name}={text}: a value needs {len(component_types)} parts separated by '$'", name
            )
        return CompositeValue(tuple(
            (kind, _parse_value(name, kind, None, piece, None)) for kind, piece in zip(component_types, pieces, strict=True)
        ))


def _non_negative(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SearchError(f"{name}={value} is not a whole number", name) from None
    if number < 0:
        raise SearchError(f"{name}={value} must not be negative", name)
    return number


def _boolean(name: str, value: str) -> bool:
    if value not in {"true", "false"}:
        raise SearchError(f"{name}={value}: expected true or false", name)
    return value == "true"


def _split_prefix(name: str, text: str) -> tuple[str, str]:
    head = text[:2]
    if head.isalpha():
        if head not in PREFIXES:
            raise SearchError(f"{name}={text}: '{head}' is not a prefix (use one of {', '.join(PREFIXES)})", name)
        return head, text[2:]
    return "eq", text


def _parse_date(name: str, text: str) -> DateValue:
    prefix, rest = _split_prefix(name, text)
    found = parse_date_range(rest)
    if found is None:
        raise SearchError(f"{name}={text}: '{rest}' is not a date (use YYYY, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz)", name)
    return DateValue(prefix, *found)


def _parse_number(name: str, text: str) -> NumberValue:
    prefix, rest = _split_prefix(name, text)
    parts = split_unescaped(rest, "|")
    number = to_decimal(parts[0])
    if number is None:
        raise SearchError(f"{name}={text}: '{parts[0]}' is not a number", name)
    low, high = implicit_range(number)
    system = code = None
    if len(parts) == 3:
        system, code = parts[1] or None, parts[2] or None
    elif len(parts) != 1:
        raise SearchError(f"{name}={text}: expected number or number|system|code", name)
    return NumberValue(prefix, number, low, high, system, code)


def _parse_value(name: str, kind: str, modifier: str | None, text: str, target_type: str | None) -> Any:
    if text == "":
        return None
    if kind == "string":
        raw = split_unescaped(text, ",")[0]
        return StringValue(normalize_string(raw), raw)
    if kind == "token":
        if modifier == "of-type":
            parts = split_unescaped(text, "|")
            if len(parts) != 3 or not parts[1] or not parts[2]:
                raise SearchError(f"{name}={text}: :of-type takes type-system|type-code|identifier-value", name)
            return TokenValue(parts[0], f"{parts[1]}|{parts[2]}")
        if modifier == "text":
            return TokenValue(None, None, normalize_string(split_unescaped(text, ",")[0]))
        parts = split_unescaped(text, "|")
        if len(parts) == 1:
            return TokenValue(None, parts[0])
        if len(parts) == 2:
            return TokenValue(parts[0], parts[1] or None)
        raise SearchError(f"{name}={text}: a token is code, system|code, |code or system|", name)
    if kind == "date":
        return _parse_date(name, text)
    if kind in {"number", "quantity"}:
        value = _parse_number(name, text)
        if kind == "number" and value.code is not None:
            raise SearchError(f"{name}={text}: a number parameter takes no unit", name)
        return value
    if kind == "reference":
        raw = split_unescaped(text, ",")[0]
        if "|" in raw and "://" in raw:  # canonical with version
            raw = raw.split("|", 1)[0]
        ref_type, ref_id, url = split_reference(raw)
        if ref_type is None and ref_id is None and url is not None and "/" not in url and ":" not in url:
            return ReferenceValue(target_type, url, None)  # a bare id
        if target_type and ref_type and ref_type != target_type:
            raise SearchError(f"{name}={text}: the value names {ref_type} but the modifier says {target_type}", name)
        return ReferenceValue(ref_type or target_type, ref_id, url)
    if kind == "uri":
        return UriValue(split_unescaped(text, ",")[0])
    raise SearchError(f"{name}: parameters of type {kind} are not supported", name)
