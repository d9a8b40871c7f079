"""References inside a Bundle: find them, resolve them against ``fullUrl``, rewrite them.

Implements the R4 rules of "Resolving references in Bundles" (bundle.html#references): an
absolute or ``urn:`` reference matches a ``fullUrl`` exactly; a relative ``Type/id`` is
resolved against the RESTful base of the entry that contains it, and, failing that, against
an entry whose resource has that type and id. ``#local`` references point into
``contained`` and are never rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

_RESTFUL = re.compile(r"^(?P<base>.*?)/?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def iter_references(node: Any) -> Iterator[dict[str, Any]]:
    """Every Reference-shaped object (a dict with a string ``reference``) under ``node``.

    Narrative (``text``) and ``contained`` resources are not walked: neither holds
    references to other entries.
    """
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if isinstance(current.get("reference"), str):
                yield current
            stack.extend(v for k, v in current.items()
                         if k not in _SKIPPED and isinstance(v, dict | list))
        elif isinstance(current, list):
            stack.extend(v for v in current if isinstance(v, dict | list))


_SKIPPED = frozenset({"contained", "text"})


def rewrite(node: Any, replace: Callable[[str], str | None]) -> Any:
    """A copy of ``node`` where each ``reference`` is ``replace(reference)`` (None: unchanged)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                new = replace(value)
                out[key] = value if new is None else new
            elif key == "contained":
                out[key] = value
            else:
                out[key] = rewrite(value, replace)
        return out
    if isinstance(node, list):
        return [rewrite(item, replace) for item in node]
    return node


def split_relative(reference: str) -> tuple[str, str] | None:
    """``Type/id`` (optionally ``/_history/v``) → (Type, id); None for anything else."""
    match = _RESTFUL.match(reference)
    if match is None or match.group("base"):
        return None
    return match.group("type"), match.group("id")


class BundleReferences:
    """Resolves references between the entries of one Bundle to entry positions."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries
        self.by_full_url: dict[str, int] = {}
        self.by_type_id: dict[tuple[str, str], int] = {}
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):  # malformed: base validation reports it; nothing to resolve to
                continue
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str):
                self.by_full_url.setdefault(full_url, index)
            resource = entry.get("resource")
            if isinstance(resource, dict) and isinstance(resource.get("id"), str) \
                    and isinstance(resource.get("resourceType"), str):
                self.by_type_id.setdefault((resource["resourceType"], resource["id"]), index)

    def resolve(self, reference: str, context: int | None = None) -> int | None:
        """The position of the entry ``reference`` points at, seen from entry ``context``."""
        if reference.startswith("#"):
            return None
        if reference in self.by_full_url:
            return self.by_full_url[reference]
        relative = split_relative(reference)
        if relative is None:
            match = _RESTFUL.match(reference)  # absolute RESTful URL of another base, versioned …
            if match is not None:
                plain = f"{match.group('base')}/{match.group('type')}/{match.group('id')}"
                return self.by_full_url.get(plain)
            return None
        if context is not None:
            full_url = self.entries[context].get("fullUrl") or ""
            match = _RESTFUL.match(full_url)
            if match is not None and match.group("base"):
                absolute = f"{match.group('base')}/{relative[0]}/{relative[1]}"
                if absolute in self.by_full_url:
                    return self.by_full_url[absolute]
        return self.by_type_id.get(relative)
