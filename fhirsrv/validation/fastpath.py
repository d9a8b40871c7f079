"""A small FHIRPath compiler for the simple invariants, with fhirpathpy as the fallback.

Most core and profile invariants are a handful of navigations joined by ``exists()``,
``empty()``, ``and``/``or``/``implies`` and equality with a literal. fhirpathpy evaluates
them faithfully but wraps every value in node objects on each call, which dominates
validation time. Here such expressions are compiled once — from fhirpathpy's own parse
tree — into Python closures over plain JSON values. Anything outside the subset makes
:func:`compile_fast` return None (compile time) or raise :class:`Fallback` (run time, e.g. a
primitive with extensions, a multi-item collection where a singleton is needed, a comparison
of dates); the caller then asks fhirpathpy, so results never differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fhirpathpy.parser import parse

Collection = list[Any]


class Unsupported(Exception):
    """The expression uses something this compiler does not implement."""


class Fallback(Exception):
    """At run time the data needs semantics this compiler does not implement."""


@dataclass(frozen=True, slots=True)
class Env:
    this: Collection
    resource: Any
    root: Any


Expr = Callable[[Env], Collection]
Invocation = Callable[[Collection, Env], Collection]

# Capitalised FHIR type names and the names of choice elements (``value``, ``onset`` …), to
# tell ``valueQuantity`` (choice ``value``) from ``valueSet`` or ``responseCode``.
CHOICE_SUFFIXES: set[str] = set()
CHOICE_NAMES: set[str] = set()


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    return node.get("children") or []


def _text(node: dict[str, Any]) -> str:
    terminal = node.get("terminalNodeText") or []
    if terminal:
        return terminal[0]
    for child in _children(node):
        found = _text(child)
        if found:
            return found
    return ""


def _singleton_bool(items: Collection) -> bool | None:
    if not items:
        return None
    if len(items) > 1:
        raise Fallback("a collection where a single value is needed")
    value = items[0]
    return value if isinstance(value, bool) else True


def _navigate(items: Collection, name: str) -> Collection:
    result: Collection = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if "_" + name in item:
            raise Fallback("primitive extensions")
        value = item.get(name)
        if value is None and name in CHOICE_NAMES:
            for key, candidate in item.items():
                if key.startswith("_" + name) and key[len(name) + 1:] in CHOICE_SUFFIXES:
                    raise Fallback("primitive extensions")  # ``_valueString`` alone: a value with extensions only
                if key.startswith(name) and key[len(name):] in CHOICE_SUFFIXES:
                    if "_" + key in item:
                        raise Fallback("primitive extensions")
                    value = candidate
                    break
        if value is None:
            continue
        if isinstance(value, list):
            if any(v is None for v in value):
                raise Fallback("array with nulls")
            result.extend(value)
        else:
            result.append(value)
    return result


def _primitive(items: Collection) -> Any:
    if len(items) != 1:
        raise Fallback("not a single value")
    value = items[0]
    if isinstance(value, dict | list):
        raise Fallback("complex value in a comparison")
    return value


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, int | Decimal | float) and isinstance(right, int | Decimal | float):
        return Decimal(str(left)) == Decimal(str(right))
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    raise Fallback("comparison of different kinds")


def _logic(op: str, left: Expr, right: Expr) -> Expr:
    def run(env: Env) -> Collection:
        a = _singleton_bool(left(env))
        if op == "and":
            if a is False:
                return [False]
            b = _singleton_bool(right(env))
            if b is False:
                return [False]
            return [True] if a and b else []
        if op == "or":
            if a is True:
                return [True]
            b = _singleton_bool(right(env))
            if b is True:
                return [True]
            return [False] if a is False and b is False else []
        if op == "implies":
            if a is False:
                return [True]
            b = _singleton_bool(right(env))
            if b is True:
                return [True]
            if a is True and b is False:
                return [False]
            return []
        b = _singleton_bool(right(env))  # xor
        return [] if a is None or b is None else [a != b]

    return run


def _compare(op: str, left: Expr, right: Expr) -> Expr:
    def run(env: Env) -> Collection:
        a, b = left(env), right(env)
        if not a or not b:
            return []
        x, y = _primitive(a), _primitive(b)
        if op in ("=", "!="):
            same = _equal(x, y)
            return [same if op == "=" else not same]
        if not (isinstance(x, int | Decimal) and isinstance(y, int | Decimal)) or isinstance(x, bool) or isinstance(y, bool):
            raise Fallback("ordering of non-numbers")
        return [{"<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]]

    return run


def _additive(op: str, left: Expr, right: Expr) -> Expr:
    def run(env: Env) -> Collection:
        a, b = left(env), right(env)
        if op == "&":
            x = _string(a) if a else ""
            y = _string(b) if b else ""
            return [x + y]
        if not a or not b:
            return []
        x, y = _primitive(a), _primitive(b)
        if isinstance(x, bool) or isinstance(y, bool):
            raise Fallback("arithmetic on booleans")
        if op == "+" and isinstance(x, int) and isinstance(y, int):
            return [x + y]
        if op == "-" and isinstance(x, int) and isinstance(y, int):
            return [x - y]
        if op == "+" and isinstance(x, str) and isinstance(y, str):
            return [x + y]
        raise Fallback("arithmetic beyond integers and strings")

    return run


def _function(name: str, params: list[Expr]) -> Invocation:
    arity = len(params)
    if name == "exists" and arity == 0:
        return lambda items, env: [bool(items)]
    if name in ("exists", "where", "all") and arity == 1:
        criterion = params[0]

        def keep(item: Any, env: Env) -> bool:
            return _singleton_bool(criterion(Env([item], env.resource, env.root))) is True

        if name == "exists":
            return lambda items, env: [any(keep(i, env) for i in items)]
        if name == "all":
            return lambda items, env: [all(keep(i, env) for i in items)]
        return lambda items, env: [i for i in items if keep(i, env)]
    if arity == 0:
        simple: dict[str, Invocation] = {
            "empty": lambda items, env: [not items],
            "count": lambda items, env: [len(items)],
            "first": lambda items, env: items[:1],
            "tail": lambda items, env: items[1:],
            "not": lambda items, env: [] if _singleton_bool(items) is None else [not _singleton_bool(items)],
            "hasValue": lambda items, env: [len(items) == 1 and not isinstance(items[0], dict | list)],
            "length": lambda items, env: [len(_string(items))] if items else [],
        }
        if name in simple:
            return simple[name]
    if name == "select" and arity == 1:
        projection = params[0]

        def select(items: Collection, env: Env) -> Collection:
            result: Collection = []
            for item in items:
                result.extend(projection(Env([item], env.resource, env.root)))
            return result

        return select
    if name == "intersect" and arity == 1:
        other = params[0]

        def intersect(items: Collection, env: Env) -> Collection:
            right = other(env)
            result: Collection = []
            for item in items:
                if item in right and item not in result:
                    result.append(item)
            return result

        return intersect
    if name == "isDistinct" and arity == 0:
        def is_distinct(items: Collection, env: Env) -> Collection:
            if any(isinstance(i, dict | list) for i in items):
                raise Fallback("distinctness of complex values")
            return [len({(type(i).__name__, str(i)) for i in items}) == len(items)]

        return is_distinct
    if name in ("startsWith", "endsWith", "contains") and arity == 1:
        argument = params[0]

        def string_test(items: Collection, env: Env) -> Collection:
            if not items:
                return []
            text, needle = _string(items), argument(env)
            if not needle:
                return []
            needle_text = _string(needle)
            if name == "startsWith":
                return [text.startswith(needle_text)]
            if name == "endsWith":
                return [text.endswith(needle_text)]
            return [needle_text in text]

        return string_test
    raise Unsupported(name)


def _string(items: Collection) -> str:
    value = _primitive(items)
    if not isinstance(value, str):
        raise Fallback("string function on a non-string")
    return value


class _Compiler:
    def expr(self, node: dict[str, Any]) -> Expr:
        kind = node.get("type")
        children = _children(node)
        if kind == "TermExpression":
            return self.term(children[0])
        if kind == "InvocationExpression":
            left = self.expr(children[0])
            invocation = self.invocation(children[1], root=False)
            return lambda env: invocation(left(env), env)
        if kind in ("AndExpression", "OrExpression", "ImpliesExpression"):
            return _logic(_text(node), self.expr(children[0]), self.expr(children[1]))
        if kind == "EqualityExpression" and _text(node) in ("=", "!="):
            return _compare(_text(node), self.expr(children[0]), self.expr(children[1]))
        if kind == "InequalityExpression":
            return _compare(_text(node), self.expr(children[0]), self.expr(children[1]))
        if kind == "TypeExpression" and _text(node) == "is":
            return self.type_test(self.expr(children[0]), _text(children[1]))
        if kind == "AdditiveExpression":
            return _additive(_text(node), self.expr(children[0]), self.expr(children[1]))
        if kind == "UnionExpression":
            left, right = self.expr(children[0]), self.expr(children[1])

            def union(env: Env) -> Collection:
                result: Collection = []
                for item in left(env) + right(env):
                    if item not in result:
                        result.append(item)
                return result

            return union
        raise Unsupported(str(kind))

    @staticmethod
    def type_test(operand: Expr, type_name: str) -> Expr:
        """``x is T`` / ``x.is(T)`` for resources (their type is in the data); else fall back."""
        if not type_name[:1].isupper() or "." in type_name:
            raise Unsupported("type test")

        def test(env: Env) -> Collection:
            items = operand(env)
            if not items:
                return []
            if len(items) == 1 and isinstance(items[0], dict) and "resourceType" in items[0]:
                return [items[0]["resourceType"] == type_name]
            raise Fallback("type test on a non-resource")

        return test

    def term(self, node: dict[str, Any]) -> Expr:
        kind = node.get("type")
        children = _children(node)
        if kind == "InvocationTerm":
            invocation = self.invocation(children[0], root=True)
            return lambda env: invocation(env.this, env)
        if kind == "ParenthesizedTerm":
            return self.expr(children[0])
        if kind == "LiteralTerm":
            return self.literal(children[0])
        if kind == "ExternalConstantTerm":
            name = _text(_children(children[0])[-1]) if _children(children[0]) else ""
            if name == "resource":
                return lambda env: [env.resource] if env.resource is not None else []
            if name == "rootResource":
                return lambda env: [env.root] if env.root is not None else []
            if name == "ucum":
                return lambda env: ["http://unitsofmeasure.org"]
        raise Unsupported(str(kind))

    def literal(self, node: dict[str, Any]) -> Expr:
        kind = node.get("type")
        text = _text(node)
        if kind == "StringLiteral" and "\\" not in text:
            value: Any = text[1:-1]
        elif kind == "BooleanLiteral":
            value = text == "true"
        elif kind == "NumberLiteral":
            value = Decimal(text) if "." in text else int(text)
        else:
            raise Unsupported(str(kind))
        return lambda env: [value]

    def invocation(self, node: dict[str, Any], *, root: bool) -> Invocation:
        kind = node.get("type")
        if kind == "MemberInvocation":
            name = _text(node).strip("`")
            if root and name[:1].isupper():
                def type_root(items: Collection, env: Env) -> Collection:
                    if len(items) == 1 and isinstance(items[0], dict) and items[0].get("resourceType") == name:
                        return items
                    raise Fallback("type name at the root")

                return type_root
            return lambda items, env: _navigate(items, name)
        if kind == "ThisInvocation" and root:
            return lambda items, env: env.this
        if kind == "FunctionInvocation":
            functn = _children(node)[0]
            parts = _children(functn)
            name = _text(parts[0])
            if name == "is" and len(parts) > 1:
                type_name = _text(_children(parts[1])[0])
                test = self.type_test(lambda env: env.this, type_name)
                if root:
                    return lambda items, env: test(env)
                return lambda items, env: test(Env(items, env.resource, env.root))
            params = [self.expr(p) for p in _children(parts[1])] if len(parts) > 1 else []
            function = _function(name, params)
            if root:
                return lambda items, env: function(env.this, env)
            return function
        raise Unsupported(str(kind))


def compile_fast(expression: str) -> Callable[[Any, Any, Any], Collection] | None:
    """A closure ``(data, resource, root) -> collection``, or None when not in the subset."""
    try:
        tree = parse(expression)
        body = _Compiler().expr(_children(tree)[0])
    except (Unsupported, IndexError, KeyError, ValueError, ArithmeticError):
        return None
    except Exception:  # the fhirpathpy parser raises assorted types on bad input
        return None

    def run(data: Any, resource: Any, root: Any) -> Collection:
        return body(Env([data], resource, root))

    return run
