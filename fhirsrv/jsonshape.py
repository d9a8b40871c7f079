"""Reading client JSON whose shape has not been checked yet.

Code that runs before (or without) base validation — the search indexer, the document shape
checks, the validator's own rules — meets whatever a sender wrote: an object where an array
belongs, a number where a string belongs. These accessors give the expected JSON type or an
empty value, so malformed content is simply not used there (base validation names the fault)
and never becomes a server error.
"""

from __future__ import annotations

from typing import Any


def text(value: Any) -> str | None:
    """``value`` when it is a JSON string, else None."""
    return value if isinstance(value, str) else None


def items(value: Any) -> list[Any]:
    """``value`` when it is a JSON array, else no items."""
    return value if isinstance(value, list) else []


def obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}
