"""FHIRPath invariants: parsed once per expression, evaluated with ``fhirpathpy``.

fhirpathpy implements the FHIRPath specification, not the FHIR-specific additions that the
core constraints use; those are supplied here as user functions:

* ``hasValue()`` — true for a primitive that has a value (not just extensions);
* ``htmlChecks()`` — the narrative XHTML rules (txt-1), from :mod:`.narrative` (the base
  walk reports the same faults one by one, with what to change);
* ``resolve()`` — a reference resolved inside the Bundle being validated, else empty;
* ``memberOf()``/``conformsTo()`` — cannot be decided inside an invariant; they answer
  true so that an unknowable fact never becomes a false error;
* ``matchesFull()`` — FHIRPath 2.0's anchored ``matches``.

Three invariants are checked natively by the walk instead (``NATIVE_KEYS``): ``ele-1``
(every element has a value or children — the walk's empty-value check says exactly that,
with a better message), ``ext-1`` (an extension has a value or sub-extensions, not both) and
``ref-1`` (a local ``#id`` reference names a contained resource — the reference check).

Evaluation tries, in order: a Python predicate for the hottest core invariants
(:mod:`.native_invariants`, keyed by exact expression text), the compiled subset
(:mod:`.fastpath`), then fhirpathpy; the first two fall back whenever the data needs more
than they implement, so the verdict is always fhirpathpy's.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable
from typing import Any

import fhirpathpy
from fhirpathpy.engine.nodes import FP_DateTime, FP_Time, ResourceNode
from fhirpathpy.models import models

from . import fastpath, native_invariants
from .guards import any_present, guard_roots
from .narrative import html_checks

NATIVE_KEYS = frozenset({"ele-1", "ext-1", "ref-1"})

# The current Bundle resolver, set by the walk around each evaluation that may need it.
current_resolver: contextvars.ContextVar[Callable[[str, Any], dict[str, Any] | None] | None] = (
    contextvars.ContextVar("fhirsrv_validation_resolver", default=None)
)


class InvariantError(Exception):
    """The expression cannot be parsed or evaluated; reported as a warning, never an error."""


def _has_value(inputs: list[Any]) -> list[bool]:
    if len(inputs) != 1:
        return [False]
    value = inputs[0]
    return [value is not None and not isinstance(value, dict | list)]


def _true(inputs: list[Any], *args: Any) -> list[bool]:
    return [True]


def _resolve(inputs: list[Any]) -> list[Any]:
    resolver = current_resolver.get()
    results: list[Any] = []
    if resolver is None:
        return results
    for item in inputs:
        reference = item.get("reference") if isinstance(item, dict) else item
        if isinstance(reference, str):
            target = resolver(reference, item)
            if target is not None:
                results.append(target)
    return results


def _matches_full(inputs: list[Any], pattern: str) -> list[bool]:
    if len(inputs) != 1 or not isinstance(inputs[0], str):
        return []
    return [re.fullmatch(pattern, inputs[0]) is not None]


USER_FUNCTIONS: dict[str, dict[str, Any]] = {
    "hasValue": {"fn": _has_value, "arity": {0: []}},
    "htmlChecks": {"fn": html_checks, "arity": {0: []}},
    "resolve": {"fn": _resolve, "arity": {0: []}},
    "memberOf": {"fn": _true, "arity": {1: ["String"]}},
    "conformsTo": {"fn": _true, "arity": {1: ["String"]}},
    "matchesFull": {"fn": _matches_full, "arity": {1: ["String"]}},
}

# FHIR primitives are implicitly System values (FHIRPath "Models" section; R4 fhirpath.html
# §2.1.9): ``answer is Boolean`` must hold for a FHIR ``boolean`` (core invariant que-7),
# but fhirpathpy compares FHIR.boolean with Boolean literally. Teach its TypeInfo the mapping.
_SYSTEM_OF_PRIMITIVE = {
    "boolean": "Boolean", "string": "String", "code": "String", "id": "String", "uri": "String",
    "url": "String", "canonical": "String", "oid": "String", "uuid": "String", "markdown": "String",
    "base64Binary": "String", "integer": "Integer", "positiveInt": "Integer", "unsignedInt": "Integer",
    "decimal": "Decimal", "date": "Date", "dateTime": "DateTime", "instant": "DateTime", "time": "Time",
}


def _install_primitive_mapping() -> None:
    from fhirpathpy.engine.nodes import TypeInfo

    if getattr(TypeInfo.is_, "_fhirsrv", False):
        return
    original = TypeInfo.is_

    def is_(self: Any, other: Any) -> bool:
        if original(self, other):
            return True
        return (
            isinstance(other, TypeInfo)
            and other.namespace in (None, TypeInfo.System)
            and self.namespace == TypeInfo.FHIR
            and _SYSTEM_OF_PRIMITIVE.get(self.name) == other.name
        )

    is_._fhirsrv = True  # type: ignore[attr-defined]
    TypeInfo.is_ = is_


# FHIR date, dateTime, instant and time *elements* as FHIRPath compares them.
_TEMPORAL_CLASSES = {"date": FP_DateTime, "dateTime": FP_DateTime, "instant": FP_DateTime, "time": FP_Time}


def _temporal(items: list[Any]) -> list[Any]:
    """A single date/time element as a FHIRPath date-time value, anything else unchanged."""
    if len(items) == 1 and isinstance(items[0], ResourceNode) and isinstance(items[0].data, str):
        cls = _TEMPORAL_CLASSES.get(items[0].path)
        if cls is not None:
            try:
                value = cls(items[0].data)  # None for text that is no date (reported elsewhere)
            except Exception:
                value = None
            if value is not None:
                return [value]
    return items


def _install_temporal_comparison() -> None:
    """``<``, ``<=``, ``>``, ``>=`` between FHIR date/dateTime/instant elements compare times.

    fhirpathpy's comparison takes the raw JSON of an element, so ``start <= end`` over
    ``2023-06-21`` and ``2023-06-21T06:20:00Z`` compared two strings (true), and over
    ``…T10:00:00+02:00`` and ``…T09:00:00Z`` got the order wrong. FHIRPath compares
    date-times precision by precision, in UTC, and answers empty when one stops before the
    other can decide (fhirpath.html#comparison) — as fhirpathpy already does for literals
    (``@2023-06-21 <= @2023-06-21T06:20:00Z`` is empty) and the Java validator for elements
    (fhir-test-cases invariants/encounter-period: per-1 fails).
    """
    from fhirpathpy.engine.invocations import equality

    if getattr(equality.typecheck, "_fhirsrv", False):
        return
    original = equality.typecheck

    def typecheck(a: list[Any], b: list[Any]) -> Any:
        return original(_temporal(a), _temporal(b))

    typecheck._fhirsrv = True  # type: ignore[attr-defined]
    equality.typecheck = typecheck


_install_primitive_mapping()
_install_temporal_comparison()
_R4 = models["r4"]
_OPTIONS = {"userInvocationTable": USER_FUNCTIONS, "traceFn": lambda *args: None}
_compiled: dict[str, Callable[..., list[Any]] | InvariantError] = {}


def compiled(expression: str) -> Callable[..., list[Any]]:
    """The evaluator for an expression, parsed on first use and kept for the process."""
    fn = _compiled.get(expression)
    if fn is None:
        try:
            fn = fhirpathpy.compile(expression, _R4, _OPTIONS)
        except Exception as exc:  # the parser raises assorted exception types
            fn = InvariantError(f"cannot parse FHIRPath {expression!r}: {exc}")
        _compiled[expression] = fn
    if isinstance(fn, InvariantError):
        raise fn
    return fn


_guards: dict[str, frozenset[str] | None] = {}
_vacuous: dict[tuple[str, str | None], bool] = {}


def holds(
    expression: str,
    data: Any,
    type_name: str | None,
    resource: dict[str, Any] | None,
    root_resource: dict[str, Any] | None,
) -> bool:
    """True when the invariant holds on ``data``: its result is ``true``.

    An empty result does not hold. ElementDefinition.constraint is a "condition that must
    evaluate to true", and the HL7 Java validator (FHIRPathEngine.convertToBoolean) fails an
    invariant whose result is empty — e.g. per-1's ``start <= end`` over ``2023-06-21`` and
    ``2023-06-21T06:20:00Z``, which FHIRPath leaves empty because the precisions differ
    (fhir-test-cases invariants/encounter-period). A non-empty result other than a single
    boolean holds, as in Java.

    When none of the children the expression reads is present, the answer is the same for
    every such value and is computed once (see :mod:`.guards`).
    """
    if isinstance(data, dict):
        if expression not in _guards:
            _guards[expression] = guard_roots(expression)
        roots = _guards[expression]
        if roots is not None and not any_present(data, roots):
            rtype = data.get("resourceType")
            key = (expression, rtype if isinstance(rtype, str) else type_name)
            answer = _vacuous.get(key)
            if answer is None:
                empty = {"resourceType": rtype} if isinstance(rtype, str) else {}
                answer = _vacuous[key] = _evaluate(expression, empty, type_name, resource, root_resource)
            return answer
    return _evaluate(expression, data, type_name, resource, root_resource)


_fast: dict[str, tuple[tuple[str, Callable[[Any, Any, Any], bool]], ...]] = {}
CROSSCHECK = False  # tests set this to compare the fast path with fhirpathpy on every call


def _quick_paths(expression: str) -> tuple[tuple[str, Callable[[Any, Any, Any], bool]], ...]:
    """The evaluators tried before fhirpathpy, in order, each with its name for CROSSCHECK."""
    found = _fast.get(expression)
    if found is None:
        paths: list[tuple[str, Callable[[Any, Any, Any], bool]]] = []
        native = native_invariants.PREDICATES.get(expression)
        if native is not None:
            paths.append(("native predicate", native))
        compiled_fast = fastpath.compile_fast(expression)
        if compiled_fast is not None:
            paths.append(("fast path", lambda data, resource, root: _truth(compiled_fast(data, resource, root))))
        found = _fast[expression] = tuple(paths)
    return found


def _evaluate(
    expression: str,
    data: Any,
    type_name: str | None,
    resource: dict[str, Any] | None,
    root_resource: dict[str, Any] | None,
) -> bool:
    for name, quick in _quick_paths(expression):
        try:
            verdict = quick(data, resource, root_resource or resource)
        except fastpath.Fallback:
            continue
        if CROSSCHECK:
            slow = _truth(evaluate_typed(expression, data, type_name, resource, root_resource))
            assert slow == verdict, f"{name} disagrees on {expression!r}: {verdict} vs {slow}"
        return verdict
    return _truth(evaluate_typed(expression, data, type_name, resource, root_resource))


def _truth(result: list[Any]) -> bool:
    if not result:
        return False
    if len(result) == 1 and isinstance(result[0], bool):
        return result[0]
    return True


def _typed(resource: Any) -> Any:
    """``%resource``/``%rootResource`` as typed nodes: as plain dicts their ``type()`` is ``Object``.

    Profiles test the context with ``%resource.type().name = 'Patient'`` (fhir-test-cases
    contained-invariant); an untyped dict made that false and the invariant a false error.
    """
    if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
        return ResourceNode.create_node(resource, resource["resourceType"])
    return resource


def evaluate_typed(
    expression: str,
    data: Any,
    type_name: str | None,
    resource: dict[str, Any] | None,
    root_resource: dict[str, Any] | None,
) -> list[Any]:
    """What ``expression`` gives on ``data`` (of FHIR type ``type_name``; None for a resource,
    which carries its own), with ``%resource``/``%rootResource`` typed (see :func:`_typed`).

    The one fhirpathpy evaluation of the validator: invariants judge its result, extension
    contexts of type ``fhirpath`` compare it with the element holding the extension. Raises
    :class:`InvariantError` when the expression cannot be parsed or evaluated.
    """
    fn = compiled(expression)
    node = ResourceNode.create_node(data, type_name) if type_name else data
    try:
        return fn(node, {"resource": _typed(resource), "rootResource": _typed(root_resource or resource), "context": node})
    except Exception as exc:
        raise InvariantError(f"cannot evaluate {expression!r}: {exc}") from None

