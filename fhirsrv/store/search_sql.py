"""Parsed search filters -> SQL over the index tables (migration 002).

Every filter becomes a boolean SQL expression about one ``resource`` row alias: mostly
``alias.rid IN (SELECT x.rid FROM idx_<type> x WHERE x.rtype = … AND x.param = … AND …)``
so that Postgres starts from the (rtype, param, value) index. Values are always bound
parameters; table and column names come only from this module.

Comparison rules (search.html, "prefixes"): a date is a range ``[low, high)``; ``eq`` means
the search range contains the target range, ``gt`` that the target reaches beyond the
search range, ``sa`` that it starts after it, and so on. Numbers compare with the implicit
precision range of the search value for ``eq``/``ne``/``ap``.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from .search_parse import (
    ChainFilter,
    CodeSetValue,
    CompositeValue,
    DateValue,
    HasFilter,
    IdFilter,
    LastUpdatedFilter,
    NumberValue,
    ParamFilter,
    ReferenceValue,
    SearchError,
    SortKey,
    StringValue,
    TokenValue,
    UriValue,
)

Sql = tuple[str, list[Any]]

TABLE_OF_TYPE = {
    "string": "idx_string",
    "token": "idx_token",
    "date": "idx_date",
    "number": "idx_quantity",
    "quantity": "idx_quantity",
    "reference": "idx_reference",
    "uri": "idx_uri",
}
LIVE = "{a}.current AND NOT {a}.deleted"


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _join(op: str, parts: list[Sql]) -> Sql:
    if len(parts) == 1:
        return parts[0]
    return "(" + f" {op} ".join(p[0] for p in parts) + ")", [v for p in parts for v in p[1]]


def _rtype_condition(column: str, rtypes: tuple[str, ...]) -> Sql:
    if len(rtypes) == 1:
        return f"{column} = %s", [rtypes[0]]
    return f"{column} = ANY(%s)", [list(rtypes)]


class SqlBuilder:
    """Compiles filters; fresh table aliases come from one counter per query."""

    def __init__(self) -> None:
        self._aliases = itertools.count()

    def alias(self, stem: str) -> str:
        return f"{stem}{next(self._aliases)}"

    # -- dispatch -------------------------------------------------------------------------
    def filter(self, item: Any, a: str, rtypes: tuple[str, ...]) -> Sql:
        if isinstance(item, ParamFilter):
            return self.param_filter(item, a, rtypes)
        if isinstance(item, ChainFilter):
            return self.chain(item, a, rtypes)
        if isinstance(item, HasFilter):
            return self.has(item, a)
        if isinstance(item, IdFilter):
            return _id_filter(item, a)
        if isinstance(item, LastUpdatedFilter):
            moment = f"{a}.last_updated"
            return _join("OR", [date_condition(v, moment, f"({moment} + interval '1 millisecond')") for v in item.values])
        raise TypeError(f"unknown filter {item!r}")

    # -- one parameter --------------------------------------------------------------------------
    def param_filter(self, f: ParamFilter, a: str, rtypes: tuple[str, ...]) -> Sql:
        if f.modifier == "missing":
            return self.missing(f, a)
        if f.type == "composite":
            return _join("OR", [self.composite(f, value, a, rtypes) for value in f.values])
        table = "idx_token" if f.modifier == "identifier" else TABLE_OF_TYPE[f.type]
        param = f"{f.code}:{f.modifier}" if f.modifier in {"identifier", "of-type"} else f.code
        x = self.alias("x")
        conditions = _join("OR", [value_condition(f.type, f.modifier, v, x, f.target_type) for v in f.values])
        if f.modifier in {"not", "not-in"}:  # not any of the values, including resources without one
            return (
                f"NOT EXISTS (SELECT 1 FROM {table} {x} WHERE {x}.rid = {a}.rid AND {x}.param = %s AND {conditions[0]})",
                [param, *conditions[1]],
            )
        rtype_sql, rtype_params = _rtype_condition(f"{x}.rtype", rtypes)
        return (
            f"{a}.rid IN (SELECT {x}.rid FROM {table} {x} WHERE {rtype_sql} AND {x}.param = %s AND {conditions[0]})",
            [*rtype_params, param, *conditions[1]],
        )

    def missing(self, f: ParamFilter, a: str) -> Sql:
        """:missing=true: no index row for the parameter (a Reference with only an
        identifier counts as present)."""
        if f.type == "composite":
            places = [(TABLE_OF_TYPE[t], f"{f.code}$0") for t in f.component_types[:1]]
        else:
            places = [(TABLE_OF_TYPE[f.type], f.code)]
        if f.type == "reference":
            places.append(("idx_token", f"{f.code}:identifier"))
        x = self.alias("x")
        exists = " OR ".join(
            f"EXISTS (SELECT 1 FROM {table} {x}{i} WHERE {x}{i}.rid = {a}.rid AND {x}{i}.param = %s)"
            for i, (table, _) in enumerate(places)
        )
        params = [param for _, param in places]
        return (f"NOT ({exists})", params) if f.values[0] else (f"({exists})", params)

    def composite(self, f: ParamFilter, value: CompositeValue, a: str, rtypes: tuple[str, ...]) -> Sql:
        first = self.alias("c")
        joins: list[str] = []
        params: list[Any] = []
        wheres: list[Sql] = []
        for position, (kind, part) in enumerate(value.parts):
            c = first if position == 0 else self.alias("c")
            wheres.append(value_condition(kind, None, part, c, None))
            if position:
                joins.append(
                    f"JOIN {TABLE_OF_TYPE[kind]} {c} ON {c}.rid = {first}.rid AND {c}.grp = {first}.grp AND {c}.param = %s"
                )
                params.append(f"{f.code}${position}")
        rtype_sql, rtype_params = _rtype_condition(f"{first}.rtype", rtypes)
        where_sql, where_params = _join("AND", wheres)
        sql = (
            f"{a}.rid IN (SELECT {first}.rid FROM {TABLE_OF_TYPE[value.parts[0][0]]} {first} {' '.join(joins)} "
            f"WHERE {rtype_sql} AND {first}.param = %s AND {where_sql})"
        )
        return sql, [*params, *rtype_params, f"{f.code}$0", *where_params]

    # -- chains -----------------------------------------------------------------------------------
    def chain(self, f: ChainFilter, a: str, rtypes: tuple[str, ...]) -> Sql:
        if f.embedded:  # indexed under "<code>.<inner code>" with the resource that embeds it
            return self.param_filter(replace(f.inner, code=f"{f.code}.{f.inner.code}"), a, rtypes)
        x, t = self.alias("x"), self.alias("t")
        rtype_sql, rtype_params = _rtype_condition(f"{x}.rtype", rtypes)
        target_sql, target_params = _rtype_condition(f"{t}.rtype", f.target_types)
        inner_sql, inner_params = self.filter(f.inner, t, f.target_types)
        sql = (
            f"{a}.rid IN (SELECT {x}.rid FROM idx_reference {x} WHERE {rtype_sql} AND {x}.param = %s "
            f"AND ({x}.target_type, {x}.target_id) IN (SELECT {t}.rtype, {t}.id FROM resource {t} "
            f"WHERE {target_sql} AND {LIVE.format(a=t)} AND {inner_sql}))"
        )
        return sql, [*rtype_params, f.code, *target_params, *inner_params]

    def has(self, f: HasFilter, a: str) -> Sql:
        x, s = self.alias("x"), self.alias("s")
        inner_sql, inner_params = self.filter(f.inner, s, (f.source_type,))
        sql = (
            f"({a}.rtype, {a}.id) IN (SELECT {x}.target_type, {x}.target_id FROM idx_reference {x} "
            f"JOIN resource {s} ON {s}.rid = {x}.rid AND {LIVE.format(a=s)} "
            f"WHERE {x}.rtype = %s AND {x}.param = %s AND {inner_sql})"
        )
        return sql, [f.source_type, f.code, *inner_params]

    # -- sorting ----------------------------------------------------------------------------------
    def sort_key(self, key: SortKey, a: str) -> Sql:
        """The value a resource sorts by (the smallest for ascending, the largest for
        descending, as search.html asks for repeating elements); NULL when it has none."""
        if key.code == "_id":
            return f"{a}.id", []
        if key.code == "_lastUpdated":
            return f"{a}.last_updated", []
        x = self.alias("x")
        table = TABLE_OF_TYPE[key.type]
        aggregate = "max" if key.descending else "min"
        column = {
            "idx_string": "{x}.norm",
            "idx_token": "{x}.code",
            "idx_date": "{x}.high" if key.descending else "{x}.low",
            "idx_quantity": "{x}.high" if key.descending else "{x}.low",
            "idx_reference": "coalesce({x}.target_type || '/' || {x}.target_id, {x}.url)",
            "idx_uri": "{x}.uri",
        }[table].format(x=x)
        return (
            f"(SELECT {aggregate}({column}) FROM {table} {x} WHERE {x}.rid = {a}.rid AND {x}.param = %s)",
            [key.code],
        )


def _id_filter(f: IdFilter, a: str) -> Sql:
    if not f.ids:  # _id:missing — every stored resource has an id
        return ("false", []) if f.negate else ("true", [])
    if f.negate:
        return f"NOT ({a}.id = ANY(%s))", [list(f.ids)]
    return f"{a}.id = ANY(%s)", [list(f.ids)]


# -- value conditions ------------------------------------------------------------------------------
def value_condition(kind: str, modifier: str | None, value: Any, x: str, target_type: str | None) -> Sql:
    if isinstance(value, StringValue):
        if modifier == "exact":
            return f"{x}.exact = %s", [value.raw]
        if modifier == "contains":
            return f"{x}.norm LIKE %s", ["%" + like_escape(value.norm) + "%"]
        return f"{x}.norm LIKE %s", [like_escape(value.norm) + "%"]
    if isinstance(value, TokenValue):
        return token_condition(value, modifier, x)
    if isinstance(value, CodeSetValue):
        # a plain ``code`` element has no system in the data: its code alone decides
        return (f"({x}.code = ANY(%s) AND ({x}.system IS NULL OR "
                f"({x}.system, {x}.code) IN (SELECT * FROM unnest(%s::text[], %s::text[]))))",
                [list(value.codes), list(value.systems), list(value.codes)])
    if isinstance(value, DateValue):
        return date_condition(value, f"{x}.low", f"{x}.high")
    if isinstance(value, NumberValue):
        return number_condition(value, x)
    if isinstance(value, ReferenceValue):
        return reference_condition(value, x)
    if isinstance(value, UriValue):
        if modifier == "below":
            return f"{x}.uri LIKE %s", [like_escape(value.uri) + "%"]
        if modifier == "above":
            return f"{x}.uri = ANY(%s)", [uri_prefixes(value.uri)]
        return f"{x}.uri = %s", [value.uri]
    raise SearchError(f"cannot search {kind} values like {value!r}")


def token_condition(value: TokenValue, modifier: str | None, x: str) -> Sql:
    if modifier == "text":
        return f"({x}.text LIKE %s OR {x}.text LIKE %s)", [
            like_escape(value.text) + "%", "% " + like_escape(value.text) + "%"
        ]
    parts: list[Sql] = []
    if value.code is not None:
        parts.append((f"{x}.code = %s", [value.code]))
    if value.system == "":
        parts.append((f"{x}.system IS NULL", []))
    elif value.system is not None:
        parts.append((f"{x}.system = %s", [value.system]))
    return _join("AND", parts) if parts else ("true", [])


def date_condition(value: DateValue, low: str, high: str) -> Sql:
    lo, hi = value.low, value.high
    eq = (f"({low} >= %s AND {high} <= %s)", [lo, hi])
    prefix = value.prefix
    if prefix == "eq":
        return eq
    if prefix == "ne":
        return f"NOT {eq[0]}", eq[1]
    if prefix == "gt":
        return f"{high} > %s", [hi]
    if prefix == "lt":
        return f"{low} < %s", [lo]
    if prefix == "ge":
        return f"({high} > %s OR {eq[0]})", [hi, *eq[1]]
    if prefix == "le":
        return f"({low} < %s OR {eq[0]})", [lo, *eq[1]]
    if prefix == "sa":
        return f"{low} >= %s", [hi]
    if prefix == "eb":
        return f"{high} <= %s", [lo]
    # ap: overlap with the value widened by 10 % of its distance from now (at least a day)
    now = datetime.now(UTC)
    gap = max(abs(now - lo), abs(now - hi)) * 0.1
    gap = max(gap, timedelta(days=1))
    return f"({low} < %s AND {high} > %s)", [_clamp(hi + gap), _clamp(lo - gap)]


def _clamp(moment: datetime) -> datetime:
    return max(min(moment, datetime(9999, 12, 31, tzinfo=UTC)), datetime(1, 1, 2, tzinfo=UTC))


def number_condition(value: NumberValue, x: str) -> Sql:
    low, high = f"{x}.low", f"{x}.high"
    v = value.value
    prefix = value.prefix
    if prefix in {"eq", "ne"}:
        eq = f"({low} >= %s AND {high} < %s)", [value.low, value.high]
        core = eq if prefix == "eq" else (f"NOT {eq[0]}", eq[1])
    elif prefix == "ap":
        margin = abs(v) * Decimal("0.1")
        core = f"({low} <= %s AND {high} >= %s)", [v + margin, v - margin]
    else:
        column, op = {
            "gt": (high, ">"), "lt": (low, "<"), "ge": (high, ">="), "le": (low, "<="),
            "sa": (low, ">"), "eb": (high, "<"),
        }[prefix]
        core = f"{column} {op} %s", [v]
    parts = [core]
    if value.code is not None and value.system is not None:
        parts.append((f"{x}.system = %s AND {x}.code = %s", [value.system, value.code]))
    elif value.code is not None:
        parts.append((f"({x}.code = %s OR {x}.unit = %s)", [value.code, value.code]))
    elif value.system is not None:
        parts.append((f"{x}.system = %s", [value.system]))
    return _join("AND", parts)


def reference_condition(value: ReferenceValue, x: str) -> Sql:
    if value.url is not None:
        return f"{x}.url = %s", [value.url]
    if value.target_type is not None:
        return f"({x}.target_id = %s AND {x}.target_type = %s)", [value.target_id, value.target_type]
    return f"{x}.target_id = %s", [value.target_id]


def uri_prefixes(uri: str) -> list[str]:
    """``a/b/c`` -> [a, a/b, a/b/c]: the stored uris that are "above" the searched one."""
    pieces = uri.split("/")
    return ["/".join(pieces[: i + 1]) for i in range(len(pieces)) if pieces[i] or i == len(pieces) - 1]
