"""Which children an invariant reads, so that a vacuous evaluation can be skipped.

Most invariants are about children that are usually absent (``contained.contained.empty()``,
``code.empty() or system.exists()``). When none of the names an expression starts its paths
from is present, the result does not depend on the data at all, so it is computed once per
expression and type and reused. The analysis is conservative: an expression whose value can
depend on anything else at top level (``$this``, a function applied to the context such as
``hasValue()`` or ``children()``, ``%resource``) is never shortcut. Inside the criteria of an
iterating function (``where``, ``all``, ``select``, ``exists`` …) nothing is evaluated when
the input is empty, so names and constants there do not count.
"""

from __future__ import annotations

from typing import Any

from fhirpathpy.parser import parse

ITERATING = frozenset({"where", "all", "select", "exists", "repeat", "aggregate", "trace"})
CONTEXT_CONSTANTS = frozenset({"resource", "rootResource", "context"})


class _Analysis:
    def __init__(self) -> None:
        self.roots: set[str] = set()
        self.safe = True

    def node(self, node: dict[str, Any], in_criteria: bool) -> None:
        kind = node.get("type")
        children = node.get("children") or []
        if kind == "InvocationExpression" and len(children) == 2:
            self.node(children[0], in_criteria)
            self.invocation(children[1], in_criteria, root=False)
        elif kind == "InvocationTerm" and children:
            self.invocation(children[0], in_criteria, root=True)
        elif kind == "ExternalConstantTerm":
            name = _identifier(node)
            if name in CONTEXT_CONSTANTS and not in_criteria:
                self.safe = False
        else:
            for child in children:
                self.node(child, in_criteria)

    def invocation(self, node: dict[str, Any], in_criteria: bool, *, root: bool) -> None:
        kind = node.get("type")
        if kind == "MemberInvocation":
            if root and not in_criteria:
                name = _identifier(node)
                if name:
                    self.roots.add(name.strip("`"))
        elif kind == "FunctionInvocation":
            if root and not in_criteria:
                self.safe = False
            functn = (node.get("children") or [{}])[0]
            parts = functn.get("children") or []
            name = _identifier(parts[0]) if parts else None
            for param in parts[1:]:
                self.node(param, in_criteria or name in ITERATING)
        elif kind in ("ThisInvocation", "IndexInvocation", "TotalInvocation") and not in_criteria:
            self.safe = False


def _identifier(node: dict[str, Any]) -> str | None:
    if node.get("type") == "Identifier":
        return node.get("text")
    for child in node.get("children") or []:
        found = _identifier(child)
        if found:
            return found
    return None


def guard_roots(expression: str) -> frozenset[str] | None:
    """The top-level names the expression reads, or None when it cannot be shortcut."""
    try:
        tree = parse(expression)
    except Exception:
        return None
    analysis = _Analysis()
    for child in tree.get("children") or []:
        analysis.node(child, False)
    if not analysis.safe or not analysis.roots:
        return None
    return frozenset(analysis.roots)


_PRESENCE: dict[frozenset[str], dict[str, bool]] = {}
_PRESENCE_LIMIT = 4096  # property names remembered per root set (data can invent names)


def _reads(key: str, roots: frozenset[str]) -> bool:
    stem = key[1:] if key[:1] == "_" else key
    if stem in roots:
        return True
    return any(stem.startswith(root) and stem[len(root):][:1].isupper() for root in roots)  # value → valueQuantity


def any_present(data: dict[str, Any], roots: frozenset[str]) -> bool:
    """Whether ``data`` has a property the expression reads (``_x``, and choice forms, too).

    The answer for one property name and one set of roots never changes, so it is
    remembered: a vacuous invariant then costs one dictionary read per property.
    """
    known = _PRESENCE.get(roots)
    if known is None:
        known = _PRESENCE.setdefault(roots, {})
    for key in data:
        hit = known.get(key)
        if hit is None:
            hit = _reads(key, roots)
            if len(known) < _PRESENCE_LIMIT:
                known[key] = hit
        if hit:
            return True
    return False
