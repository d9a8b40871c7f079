"""A small, fast FHIRPath compiler for the subset that R4 SearchParameter expressions use.

Why not ``fhirpathpy`` for everything: indexing runs on every write, and a general
FHIRPath engine costs ~50 µs per expression; a Patient has ~30 search parameters. The
R4 search expressions use only paths, ``|`` unions, ``as``/``.as()``/``ofType()``,
``[n]`` indexing, ``where(resolve() is X)``, ``where(field='literal')``, ``exists()``,
``first()``, ``extension('url')`` and ``%resource``; these compile here into plain
Python closures. Anything else raises :class:`Unsupported` and the caller falls back
to ``fhirpathpy`` (compiled once).

A node is ``(value, type_hint)``: ``type_hint`` is the FHIR type name when the JSON
told us (the suffix of a choice element such as ``valueQuantity``, or the target type
of a ``resolve()``), else ``None`` and the consumer judges by shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from ..conformance.element_paths import choice_type_suffix

Node = tuple[Any, str | None]
Eval = Callable[[list[Node], dict], list[Node]]  # (focus, root resource) -> result


class Unsupported(ValueError):
    """The expression uses FHIRPath beyond this compiler's subset."""


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>\d+)|(?P<env>%[A-Za-z]+)"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>!=|[.()|\[\]=,]))"
)


def NEVER(focus: list[Node], root: dict) -> list[Node]:
    """A branch rooted at another resource type: pruned when the root type is known."""
    return []


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise Unsupported(f"cannot tokenize {text[pos:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _flatten(value: Any, hint: str | None, out: list[Node]) -> None:
    if isinstance(value, list):
        for item in value:
            if item is not None:
                out.append((item, hint))
    elif value is not None:
        out.append((value, hint))


class _Compiler:
    """Recursive descent over the token list; each rule returns an :data:`Eval`."""

    def __init__(self, text: str, resource_types: frozenset[str], choice_types: dict[str, tuple[str, ...]],
                 root_type: str | None = None):
        self.tokens = _tokenize(text)
        self.pos = 0
        self.resource_types = resource_types
        self.choice_types = choice_types
        self.root_type = root_type  # when known, branches rooted at other types compile to NEVER
        # The top-level keys of the root resource the expression can read (None: unknown, e.g.
        # ``%resource`` or a function right after the type); see :func:`compile_with_keys`.
        self.root_keys: set[str] | None = set()
        self._criterion_depth = 0  # inside where(…): paths start at the focus, not the root
        self._anchored = False  # the primary just compiled was the root type itself

    # -- token helpers -------------------------------------------------------------------
    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise Unsupported(f"expected {value!r}, got {token!r}")
        self.pos += 1
        return token

    def at(self, value: str) -> bool:
        token = self.peek()
        return token is not None and token[1] == value and token[0] in {"op", "id"}

    # -- grammar -------------------------------------------------------------------------
    def compile(self) -> Eval:
        result = self.union()
        if self.peek() is not None:
            raise Unsupported(f"unexpected {self.peek()!r}")
        return (lambda focus, root: []) if result is NEVER else result

    def union(self) -> Eval:
        parts = [self.as_expr()]
        while self.at("|"):
            self.take("|")
            parts.append(self.as_expr())
        parts = [p for p in parts if p is not NEVER]
        if len(parts) <= 1:
            return parts[0] if parts else NEVER

        def run(focus: list[Node], root: dict) -> list[Node]:
            out: list[Node] = []
            for part in parts:
                out.extend(part(focus, root))
            return out

        return run

    def as_expr(self) -> Eval:
        inner = self.path()
        while self.at("as") or self.at("is"):
            op = self.take()[1]
            type_name = self.take()[1]
            if inner is not NEVER:
                inner = _type_filter(inner, type_name) if op == "as" else _type_test(inner, type_name)
        return inner

    def path(self) -> Eval:
        steps: list[Eval] = [self.primary()]
        if self._anchored:
            self._anchored = False
            self._note_root_key()
        while True:
            if self.at("."):
                self.take(".")
                steps.append(self.member_or_call())
            elif self.at("["):
                self.take("[")
                index = int(self.take()[1])
                self.take("]")
                steps.append(lambda focus, root, i=index: focus[i : i + 1])
            else:
                break
        if steps[0] is NEVER:
            return NEVER
        if len(steps) == 1:
            return steps[0]

        def run(focus: list[Node], root: dict) -> list[Node]:
            for step in steps:
                focus = step(focus, root)
                if not focus:
                    return focus
            return focus

        return run

    def _note_root_key(self) -> None:
        """After ``Type``: record the member read next (``Type.name``), or give up."""
        member, after = self.peek(1), self.peek(2)
        if self.at(".") and member is not None and member[0] == "id" and (after is None or after[1] != "("):
            if self.root_keys is not None:
                name = member[1]
                self.root_keys.add(name)
                self.root_keys.update(name + suffix for suffix in self.choice_types.get(name, ()))
        else:
            self.root_keys = None

    def _unknown_root(self) -> None:
        if self._criterion_depth == 0:
            self.root_keys = None

    def primary(self) -> Eval:
        token = self.peek()
        if token is None:
            raise Unsupported("unexpected end")
        if token[1] == "(" and token[0] == "op":
            self.take("(")
            inner = self.union()
            self.take(")")
            return inner
        if token[0] == "env":
            self.take()
            if token[1] != "%resource":
                raise Unsupported(token[1])
            self._unknown_root()
            return lambda focus, root: [(root, root.get("resourceType"))]
        if token[0] == "id" and token[1][0].isupper() and (self.peek(1) or ("", ""))[1] != "(":
            self.take()
            name = token[1]
            self._anchored = self._criterion_depth == 0
            if name in {"Resource", "DomainResource"}:
                return lambda focus, root: [(n[0], n[1]) for n in focus if isinstance(n[0], dict)]
            if name not in self.resource_types:
                raise Unsupported(f"unknown root {name}")
            if self.root_type is not None and name != self.root_type:
                self._anchored = False  # pruned: reads nothing
                return NEVER
            if self.root_type is not None:
                return lambda focus, root: focus
            self._unknown_root()  # any type's resource: the keys are not known
            self._anchored = False
            return lambda focus, root, t=name: [n for n in focus if isinstance(n[0], dict) and n[0].get("resourceType") == t]
        self._unknown_root()
        return self.member_or_call()

    def member_or_call(self) -> Eval:
        kind, name = self.take()
        if kind != "id":
            raise Unsupported(f"expected a name, got {name!r}")
        if not self.at("("):
            return _member(name, self.choice_types.get(name, ()))
        self.take("(")
        if name in {"as", "ofType"}:
            type_name = self.take()[1]
            self.take(")")
            return _type_filter(lambda focus, root: focus, type_name)
        if name == "where":
            criterion = self.criterion()
            self.take(")")
            return lambda focus, root: [n for n in focus if criterion([n], root)]
        if name == "extension":
            url = _literal(self.take()[1])
            self.take(")")
            return _extension(url)
        self.take(")")
        if name == "exists":
            return lambda focus, root: [(bool(focus), "boolean")]
        if name == "first":
            return lambda focus, root: focus[:1]
        if name == "resolve":
            return lambda focus, root: [(None, _reference_type(n[0])) for n in focus]
        raise Unsupported(f"function {name}()")

    def criterion(self) -> Callable[[list[Node], dict], bool]:
        """The argument of ``where()``: a path, optionally ``= 'literal'`` or ``is Type``."""
        self._criterion_depth += 1
        left = self.as_expr()
        self._criterion_depth -= 1
        if self.at("="):
            self.take("=")
            literal = _literal(self.take()[1])
            return lambda focus, root: any(v == literal for v, _ in left(focus, root))
        return lambda focus, root: any(v is not False for v, _ in left(focus, root))


def _literal(token: str) -> str:
    if len(token) >= 2 and token[0] == "'" and token[-1] == "'":
        return token[1:-1].replace("\\'", "'")
    raise Unsupported(f"expected a string literal, got {token}")


def _member(name: str, choice_suffixes: tuple[str, ...]) -> Eval:
    """``.name``: the element, or for a choice element ``name[x]`` whichever variant is present."""
    if not choice_suffixes:
        def run_plain(focus: list[Node], root: dict) -> list[Node]:
            out: list[Node] = []
            for value, _ in focus:
                if isinstance(value, dict) and name in value:
                    _flatten(value[name], None, out)
            return out

        return run_plain
    # ``value[x]`` has 50 variants and an element a handful of keys: look its keys up, not the variants
    variants = {name + suffix: suffix for suffix in choice_suffixes}

    def run(focus: list[Node], root: dict) -> list[Node]:
        out: list[Node] = []
        for value, _ in focus:
            if not isinstance(value, dict):
                continue
            if name in value:
                _flatten(value[name], None, out)
                continue
            present = variants.keys() & value.keys()
            if present:
                key = present.pop() if len(present) == 1 else next(k for k in value if k in present)
                _flatten(value[key], variants[key], out)
        return out

    return run


def _same_type(hint: str | None, wanted: str) -> bool:
    return hint is not None and hint.lower() == wanted.lower()


def _type_filter(inner: Eval, type_name: str) -> Eval:
    """``x as T`` / ``x.as(T)`` / ``x.ofType(T)``: keep the nodes known to be of type T.

    Nodes of unknown type (not from a choice element) are kept: every ``as`` in the R4
    search expressions applies to a choice element, where the type is always known.
    """
    def run(focus: list[Node], root: dict) -> list[Node]:
        return [n for n in inner(focus, root) if n[1] is None or _same_type(n[1], type_name)]

    return run


def _type_test(inner: Eval, type_name: str) -> Eval:
    def run(focus: list[Node], root: dict) -> list[Node]:
        return [(True, "boolean")] if any(_same_type(n[1], type_name) for n in inner(focus, root)) else []

    return run


def _extension(url: str) -> Eval:
    def run(focus: list[Node], root: dict) -> list[Node]:
        out: list[Node] = []
        for value, _ in focus:
            if isinstance(value, dict):
                out.extend((ext, "Extension") for ext in value.get("extension", ()) if ext.get("url") == url)
        return out

    return run


def _reference_type(value: Any) -> str | None:
    """The resource type a Reference points at, read from the reference text or ``type``."""
    if not isinstance(value, dict):
        return None
    ref = value.get("reference")
    if isinstance(ref, str) and not ref.startswith("#"):
        parts = ref.split("/_history/")[0].rstrip("/").split("/")
        if len(parts) >= 2:
            return parts[-2]
    type_name = value.get("type")
    return type_name if isinstance(type_name, str) else None


def compile_with_keys(
    text: str, resource_types: frozenset[str], choice_types: dict[str, tuple[str, ...]], root_type: str | None,
) -> tuple[Callable[[Any, dict], list[Node]], frozenset[str] | None]:
    """:func:`compile_expression` for ``root_type`` resources, with the top-level keys of the
    resource the expression reads (None when not known): a resource that has none of them
    gives no nodes, so the indexer need not evaluate it — most of a type's ~40 search
    parameters name elements a given resource does not have."""
    compiler = _Compiler(text, resource_types, choice_types, root_type)
    evaluate = compiler.compile()
    keys = None if compiler.root_keys is None or root_type is None else frozenset(compiler.root_keys)

    def run(context: Any, root: dict) -> list[Node]:
        return evaluate([(context, None)], root)

    return run, keys


def compile_expression(
    text: str, resource_types: frozenset[str], choice_types: dict[str, tuple[str, ...]],
    root_type: str | None = None,
) -> Callable[[Any, dict], list[Node]]:
    """Compile ``text``; the result maps (context value, root resource) to nodes
    (:func:`compile_with_keys` without the keys, for callers that evaluate every resource).

    With ``root_type`` the expression is specialised for resources of that type: the union
    branches of shared parameters (``AllergyIntolerance.code | Condition.code | …``) that
    start at another type are dropped at compile time.
    Raises :class:`Unsupported` for expressions beyond the subset.
    """
    return compile_with_keys(text, resource_types, choice_types, root_type)[0]


def choice_types_from(structure_definitions: Iterable[dict]) -> dict[str, tuple[str, ...]]:
    """Element name -> the type suffixes its ``[x]`` variants can carry, from the snapshots."""
    found: dict[str, list[str]] = {}
    for sd in structure_definitions:
        for element in sd.get("snapshot", {}).get("element", ()):
            path = element.get("path", "")
            if not path.endswith("[x]"):
                continue
            name = path.rsplit(".", 1)[-1][:-3]
            suffixes = found.setdefault(name, [])
            for type_ref in element.get("type", ()):
                code = type_ref.get("code", "")
                suffix = choice_type_suffix(code)
                if suffix and suffix not in suffixes:
                    suffixes.append(suffix)
    return {name: tuple(s) for name, s in found.items()}
