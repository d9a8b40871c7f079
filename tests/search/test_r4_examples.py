"""The foundation issue's proof: official R4 examples are found again by each of their
search parameters that has a value in them.

Every example in ``tests/data/r4-examples`` is stored through the repository (so the
indexer runs as in production). Then, for every index row the indexer produced, a search
is built from that row's value as a client would write it (``code=value``,
``system|code``, ``ge<date>``, ``value|system|code``, ``Type/id``, composite ``a$b``), and
the resource must be among the results. ``_id`` is added to each search so that large
result sets need no paging; it does not weaken the check (the parameter's condition must
still hold for the resource).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fhirsrv import fhirjson
from fhirsrv.store.search import SearchRequest, execute
from fhirsrv.store.search_values import MAX_TIME, MIN_TIME

DATA = Path(__file__).resolve().parent.parent / "data" / "r4-examples"


def _escape(text: str) -> str:
    return "".join("\\" + ch if ch in ",|$\\" else ch for ch in text)


def _instant(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


def _number(value: Decimal) -> str:
    return format(value, "f") if value.is_finite() else ""


def token_value(system: str | None, code: str | None, text: str | None) -> tuple[str, str] | None:
    """(modifier, value) that finds a token row."""
    if code is not None:
        return "", (_escape(system) if system is not None else "") + "|" + _escape(code)
    if text:
        return ":text", _escape(text)
    return None


def row_query(kind: str, row: tuple) -> tuple[str, str] | None:
    """(modifier, value) that must find the resource a row of type ``kind`` belongs to."""
    if kind == "strings":
        return "", _escape(row[2])
    if kind == "tokens":
        return token_value(row[1], row[2], row[3])
    if kind == "dates":
        low, high = row[1], row[2]
        if low > MIN_TIME:
            return "", "ge" + _instant(low)
        if high < MAX_TIME:
            return "", "le" + _instant(high.replace(microsecond=0))
        return None
    if kind == "quantities":
        low, high, system, code, unit = row[1:6]
        if low == high:
            value = _number(low)
        elif low.is_finite():
            value = "ge" + _number(low)
        elif high.is_finite():
            value = "le" + _number(high)
        else:
            return None
        if code is not None:
            value += "|" + _escape(system or "") + "|" + _escape(code)
        return "", value
    if kind == "references":
        target_type, target_id, url = row[1:4]
        if url is not None:
            return "", _escape(url)
        return "", _escape(f"{target_type}/{target_id}" if target_type else target_id)
    if kind == "uris":
        return "", _escape(row[1])
    raise AssertionError(kind)


def composite_queries(index: Any) -> dict[tuple[str, int], dict[int, str]]:
    """code -> grp -> component position -> a value for that component."""
    found: dict[tuple[str, int], dict[int, str]] = {}
    for kind in ("strings", "tokens", "dates", "quantities", "references", "uris"):
        for row in getattr(index, kind):
            param, grp = row[0], row[-1]
            if "$" not in param:
                continue
            code, position = param.rsplit("$", 1)
            query = row_query(kind, row)
            if query is None or query[0]:  # components take no modifier
                continue
            found.setdefault((code, grp), {}).setdefault(int(position), query[1])
    return found


def load_examples() -> list[dict[str, Any]]:
    out = []
    for path in sorted(DATA.glob("*.json")):
        resource = fhirjson.loads(path.read_bytes())
        out.append(resource)
    return out


@pytest.fixture(scope="module")
def stored_examples(conninfo, store, model):
    import psycopg

    examples = load_examples()
    with psycopg.connect(conninfo) as conn:
        for resource in examples:
            with conn.transaction(), conn.cursor() as cur:
                store.update(cur, resource["resourceType"], resource["id"], resource)
    return examples


def test_examples_are_found_by_each_of_their_search_parameters(stored_examples, indexer, model, db):
    failures: list[str] = []
    searches = 0
    for resource in stored_examples:
        rtype, rid = resource["resourceType"], resource["id"]
        index = indexer.extract(rtype, resource)
        queries: list[tuple[str, str]] = []
        for kind in ("strings", "tokens", "dates", "quantities", "references", "uris"):
            for row in getattr(index, kind):
                param = row[0]
                if "$" in param:
                    continue
                query = row_query(kind, row)
                if query is None:
                    continue
                if param.endswith(":of-type"):
                    type_code, value = row[2].split("|", 1)
                    queries.append((param, f"{_escape(row[1] or '')}|{_escape(type_code)}|{_escape(value)}"))
                elif param.endswith(":identifier"):
                    queries.append((param, query[1]))
                else:
                    queries.append((param + query[0], query[1]))
        for (code, _grp), parts in composite_queries(index).items():
            if len(parts) == len(model.params_for(rtype)[code].components):
                queries.append((code, "$".join(parts[i] for i in range(len(parts)))))
        for name, value in dict.fromkeys(queries):
            searches += 1
            try:
                request = SearchRequest.parse(rtype, [(name, value), ("_id", rid)], model)
                found = [m.id for m in execute(db, request).matches]
            except Exception as error:  # report every failure, not just the first
                failures.append(f"{rtype}/{rid}?{name}={value}: {type(error).__name__}: {error}")
                continue
            if rid not in found:
                failures.append(f"{rtype}/{rid}?{name}={value}: not found")
    assert searches > 3000
    assert not failures, f"{len(failures)} of {searches} searches failed:\n" + "\n".join(failures[:40])
