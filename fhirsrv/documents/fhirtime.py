"""FHIR date/dateTime/instant text → an aware datetime, for ordering (newest document,
latest result per code). Partial dates count from their start; no zone means UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def parse(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) < 4:
        return None
    return _parse(value)


@lru_cache(maxsize=4096)
def _parse(value: str) -> datetime | None:
    text = value.strip()
    try:
        if len(text) == 4:
            return datetime(int(text), 1, 1, tzinfo=UTC)
        if len(text) == 7:
            return datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=UTC)
        if len(text) == 10:
            return datetime(int(text[:4]), int(text[5:7]), int(text[8:10]), tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def sort_key(value: object) -> datetime:
    """Unknown dates sort first (oldest)."""
    return parse(value) or _EPOCH
