"""SMART scopes, v1 and v2, reduced to one question: may this token do letter X on type T?

SMART v2 writes permissions as letters (``c r u d s``: create, read, update, delete,
search); v1 wrote ``read`` / ``write`` / ``*``. Both are normalised to letters here so the
rest of the server asks only :meth:`ScopeSet.allows`. Scopes with v2 query restrictions
(``patient/Observation.rs?category=…``) are not supported and are *ignored* — granting
less than asked is safe, granting more would not be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONTEXTS = ("patient", "user", "system")
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
_V2 = re.compile(r"^c?r?u?d?s?$")
_SCOPE = re.compile(r"^(patient|user|system)/([A-Za-z]+|\*)\.([A-Za-z*]+)$")


@dataclass(frozen=True)
class ResourceScope:
    context: str  # patient | user | system
    rtype: str  # a resource type or "*"
    letters: frozenset[str]

    def covers(self, rtype: str, letter: str) -> bool:
        return (self.rtype == "*" or self.rtype == rtype) and letter in self.letters


def parse_scope(text: str) -> ResourceScope | None:
    """One SMART resource scope, or None for anything else (openid, launch, unsupported forms)."""
    match = _SCOPE.match(text)
    if match is None:
        return None
    context, rtype, permission = match.groups()
    letters = V1_PERMISSIONS.get(permission)
    if letters is None:
        if not permission or not _V2.match(permission):
            return None
        letters = permission
    return ResourceScope(context, rtype, frozenset(letters))


@dataclass(frozen=True)
class ScopeSet:
    """The granted scopes of one token."""

    raw: tuple[str, ...]
    resources: tuple[ResourceScope, ...]

    @classmethod
    def parse(cls, text: str | list[str] | None) -> ScopeSet:
        items = text.split() if isinstance(text, str) else [i for i in text or [] if isinstance(i, str)]
        parsed = tuple(s for s in (parse_scope(i) for i in items) if s is not None)
        return cls(tuple(items), parsed)

    @classmethod
    def everything(cls) -> ScopeSet:
        return cls.parse("system/*.cruds")

    def allows(self, rtype: str, letter: str) -> bool:
        return any(s.covers(rtype, letter) for s in self.resources)

    def allows_any(self, letter: str) -> bool:
        return any(letter in s.letters for s in self.resources)

    @property
    def contexts(self) -> set[str]:
        return {s.context for s in self.resources}

    def __contains__(self, scope: str) -> bool:
        return scope in self.raw

    def text(self) -> str:
        return " ".join(self.raw)


def narrow(requested: str, allowed: str) -> str:
    """The requested scopes a client may have: each must be covered by one allowed scope.

    Used by the token endpoint (a client gets at most what it is registered for). A
    requested v1 scope is granted when every letter it implies is allowed.
    """
    grants = ScopeSet.parse(allowed)
    granted: list[str] = []
    for item in requested.split():
        scope = parse_scope(item)
        if scope is None:
            if item in grants:
                granted.append(item)
            continue
        if all(
            any(
                g.context == scope.context and (g.rtype == "*" or g.rtype == scope.rtype) and letter in g.letters
                for g in grants.resources
            )
            for letter in scope.letters
        ):
            granted.append(item)
    return " ".join(dict.fromkeys(granted))
