"""The most frequently evaluated core invariants, written as plain Python predicates.

Every resource in a document or transaction is checked against ``dom-6``, every Bundle entry
against ``bdl-5`` and ``bdl-8``, every Bundle against ``bdl-3``, ``bdl-4`` and ``bdl-7``.
Even compiled to closures (:mod:`.fastpath`) these cost microseconds each; as predicates
over the JSON they cost a few dictionary reads. Each predicate is keyed by the exact text
of the R4 expression it implements, so a profile that words a rule differently still goes
through FHIRPath.

A predicate answers only the ordinary cases. Whenever the data needs more of FHIRPath's
semantics — a primitive with extensions (``_fullUrl``), an array where one value is
expected, a value of the wrong JSON kind, dates of different precisions — it raises
:class:`~.fastpath.Fallback`, and the caller evaluates the expression as before. Tests
compare every predicate with fhirpathpy over random instances
(``tests/validation/test_native_invariants.py``) and, with ``invariants.CROSSCHECK``, over
the IPS examples.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .fastpath import CHOICE_NAMES, CHOICE_SUFFIXES, Fallback

Predicate = Callable[[Any, Any, Any], bool]  # (data, %resource, %rootResource) -> holds


def _get(item: Any, name: str) -> Any:
    """``item.name`` as fastpath navigates it, for one JSON object; odd cases fall back."""
    if not isinstance(item, dict):
        raise Fallback("navigation from a non-object")
    if "_" + name in item:
        raise Fallback("primitive extensions")
    value = item.get(name)
    if value is None and name in CHOICE_NAMES and any(
        key.lstrip("_").startswith(name) and key.lstrip("_")[len(name):] in CHOICE_SUFFIXES for key in item
    ):
        raise Fallback("a choice element")
    if isinstance(value, list) and (not value or any(v is None for v in value)):
        raise Fallback("an empty array or one with nulls")
    return value


def _exists(value: Any) -> bool:
    return value is not None


def _string(value: Any) -> str | None:
    """A single string value, None when absent; anything else falls back."""
    if value is None or isinstance(value, str):
        return value
    raise Fallback("not a single string")


def _choice_exists(item: Any, stem: str, rtype: str) -> bool:
    """``item.stem`` for a choice element (``value`` → ``valueQuantity`` …) of a ``rtype``
    resource exists."""
    if not isinstance(item, dict) or "_" + stem in item or stem in item:
        raise Fallback("an unusual choice element")
    if "resourceType" in item and item["resourceType"] != rtype:
        # fhirpathpy resolves a resource's choice names through its type: with another or a
        # malformed one it finds no choice value at all, so only it can give its verdict here
        raise Fallback(f"a resource that is not a {rtype}")
    for key, value in item.items():
        if key.startswith("_" + stem) and key[len(stem) + 1:] in CHOICE_SUFFIXES:
            raise Fallback("a choice value with extensions only")
        if key.startswith(stem) and key[len(stem):] in CHOICE_SUFFIXES:
            if "_" + key in item or value is None or (isinstance(value, list) and not value):
                raise Fallback("an unusual choice value")
            return True
    return False


def _entries(bundle: Any) -> list[Any]:
    entries = _get(bundle, "entry")
    if entries is None:
        return []
    return entries if isinstance(entries, list) else [entries]


def dom_6(data: Any, resource: Any, root: Any) -> bool:
    """``text.`div`.exists()`` — a resource should have a narrative."""
    text = _get(data, "text")
    if text is None:
        return False
    if isinstance(text, list):
        raise Fallback("text as an array")
    return _exists(_get(text, "div"))


def bdl_5(data: Any, resource: Any, root: Any) -> bool:
    """An entry must have a resource or a request or a response."""
    return _exists(_get(data, "resource")) or _exists(_get(data, "request")) or _exists(_get(data, "response"))


def bdl_8(data: Any, resource: Any, root: Any) -> bool:
    """A fullUrl cannot be a version-specific reference."""
    full_url = _string(_get(data, "fullUrl"))
    return full_url is None or "/_history/" not in full_url


def _type_of(resource: Any) -> str | None:
    """``%resource.type`` as a string, None when absent."""
    if resource is None:
        return None
    return _string(_get(resource, "type"))


def _entries_match(data: Any, resource: Any, part: str, types: tuple[str, ...]) -> bool:
    """``entry.all(part.exists() = (%resource.type = t1 or …))`` (bdl-3, bdl-4)."""
    entries = _entries(data)
    if not entries:
        return True
    bundle_type = _type_of(resource)
    if bundle_type is None:
        return False  # the comparison is empty, so no entry meets the criterion
    wanted = bundle_type in types
    for entry in entries:
        present = _exists(_get(entry, part)) if isinstance(entry, dict) else False
        if present != wanted:
            return False
    return True


def bdl_3(data: Any, resource: Any, root: Any) -> bool:
    """entry.request mandatory for batch/transaction/history, otherwise prohibited."""
    return _entries_match(data, resource, "request", ("batch", "transaction", "history"))


def bdl_4(data: Any, resource: Any, root: Any) -> bool:
    """entry.response mandatory for batch-response/transaction-response/history, otherwise prohibited."""
    return _entries_match(data, resource, "response", ("batch-response", "transaction-response", "history"))


def bdl_7(data: Any, resource: Any, root: Any) -> bool:
    """FullUrl must be unique in a bundle, or else entries with the same fullUrl must have
    different meta.versionId (except in history bundles)."""
    bundle_type = _string(_get(data, "type"))
    if bundle_type == "history":
        return True
    seen: set[str] = set()
    distinct = True
    for entry in _entries(data):
        if not isinstance(entry, dict):
            continue
        full_url = _string(_get(entry, "fullUrl"))
        if full_url is None:
            continue
        version = None
        inner = _get(entry, "resource")
        if inner is not None:
            meta = _get(inner, "meta")
            if meta is not None:
                version = _string(_get(meta, "versionId"))
        key = full_url + (version or "")
        if key in seen:
            distinct = False
        seen.add(key)
    # an absent type makes the left side empty: ``{} or true`` is true, ``{} or false`` is
    # empty, which does not hold (invariants.holds)
    return distinct


def obs_6(data: Any, resource: Any, root: Any) -> bool:
    """dataAbsentReason SHALL only be present if Observation.value[x] is not present."""
    return not _exists(_get(data, "dataAbsentReason")) or not _choice_exists(data, "value", "Observation")


_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def _has_value(item: Any, name: str) -> str | None:
    value = _get(item, name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Fallback("a date that is not a string")
    return value


def _comparable(start: str, end: str) -> bool:
    """Same length, same precision and same zone: text order is time order."""
    if len(start) != len(end):
        return False
    if _DATE.fullmatch(start) and _DATE.fullmatch(end):
        return True
    first, second = _DATE_TIME.fullmatch(start), _DATE_TIME.fullmatch(end)
    return bool(first and second and first.group(2) == second.group(2) and bool(first.group(1)) == bool(second.group(1)))


def per_1(data: Any, resource: Any, root: Any) -> bool:
    """If present, start SHALL have a lower value than end."""
    start, end = _has_value(data, "start"), _has_value(data, "end")
    if start is None or end is None:
        return True
    if not _comparable(start, end):
        raise Fallback("dates of different precisions or zones")
    return start <= end


PREDICATES: dict[str, Predicate] = {
    "text.`div`.exists()": dom_6,
    "resource.exists() or request.exists() or response.exists()": bdl_5,
    "fullUrl.exists() implies fullUrl.contains('/_history/').not()": bdl_8,
    "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or %resource.type = 'history'))": bdl_3,
    "entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = 'transaction-response' or %resource.type = 'history'))": bdl_4,
    "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()": bdl_7,
    "dataAbsentReason.empty() or value.empty()": obs_6,
    "start.hasValue().not() or end.hasValue().not() or (start <= end)": per_1,
}
