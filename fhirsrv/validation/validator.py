"""The public entry points: :func:`validate_base` and :func:`validate`.

A :class:`Validator` holds the compiled definitions of one registry (compiled lazily, once)
and a value-set checker; module-level functions use a shared default built from the shipped
``profiles/`` on first use.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from fhirsrv import fhirjson
from fhirsrv.terminology import ValueSetChecker
from fhirsrv.terminology.content import StoredResources

from .context import Definitions, Run
from .options import DEFAULT_OPTIONS, ValidationOptions
from .outcome import Issue, dedupe, operation_outcome
from .valuesets import remembering
from .walker import check_resource, emit_profile


class Validator:
    """Validation against one registry; safe to share between threads (state is per call)."""

    def __init__(self, registry: Any, terminology: ValueSetChecker | None = None, options: ValidationOptions = DEFAULT_OPTIONS) -> None:
        self.registry = registry
        self.options = options
        self.definitions = Definitions(registry)
        self.local_valuesets = self.definitions.code_systems
        self.terminology = terminology
        self._remembered: dict[int, tuple[ValueSetChecker, ValueSetChecker]] = {}

    def with_options(self, options: ValidationOptions) -> Validator:
        """This validator with other ``options``, sharing its compiled definitions and its
        remembered value-set answers: options are read per call (:class:`Run`), nothing
        compiled or remembered depends on them, and compiling the profiles again is the
        expensive part of a new validator."""
        changed = copy.copy(self)
        changed.options = options
        return changed

    def _checker(self, checker: ValueSetChecker) -> ValueSetChecker:
        """The checker with remembered answers (one table per checker, for the process)."""
        found = self._remembered.get(id(checker))
        if found is None or found[0] is not checker:
            found = self._remembered[id(checker)] = (checker, remembering(checker))
        return found[1]

    def parse(self, data: bytes | str) -> Any:
        """JSON as this validator's options read it (comments only with ``allow_comments``);
        raises :class:`fhirsrv.fhirjson.JsonError` with a readable reason."""
        return fhirjson.loads(data, allow_comments=self.options.allow_comments)

    def issues(self, resource: Any, profiles: list[str] | None = None, *, terminology: ValueSetChecker | None = None,
               stored: StoredResources | None = None) -> list[Issue]:
        """All issues of ``resource`` against base R4, ``profiles`` and its ``meta.profile``.

        ``stored`` finds resources users stored (the server's store), e.g. the Questionnaire
        a QuestionnaireResponse answers when it is neither contained nor shipped.
        """
        checker = self._checker(terminology or self.terminology or self.local_valuesets)
        run = Run(self.definitions, checker, options=self.options, stored=stored)
        out: list[Issue] = []
        path = resource.get("resourceType") if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str) else "$this"
        check_resource(run, resource, path, "Resource", out)
        if isinstance(resource, dict) and path != "$this":
            for url in profiles or ():
                emit_profile(run, resource, path, url, out)
        return dedupe(out)

    def validate(self, resource: Any, profiles: list[str] | None = None, *, terminology: ValueSetChecker | None = None,
                 stored: StoredResources | None = None) -> dict[str, Any]:
        return operation_outcome(self.issues(resource, profiles, terminology=terminology, stored=stored))


_default: Validator | None = None
_default_lock = threading.Lock()
_by_registry: dict[int, Validator] = {}


def default_validator() -> Validator:
    """The validator over every shipped package (the registry loads in a few seconds, once)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                from fhirsrv.config import default_profiles_dir
                from fhirsrv.conformance.loader import load_registry

                _default = Validator(load_registry(default_profiles_dir()))
    return _default


def validator_for(registry: Any | None) -> Validator:
    if registry is None:
        return default_validator()
    found = _by_registry.get(id(registry))
    if found is None or found.registry is not registry:
        found = _by_registry[id(registry)] = Validator(registry)
    return found


def configure_validator(registry: Any, options: ValidationOptions) -> Validator:
    """Make the validator of ``registry`` (what :func:`validator_for` and :func:`validate`
    return for it from now on) one with ``options``: the server sets its options once, and
    every path that validates against its registry — writes, ``$validate``, document
    ingest — then applies them. A validator the registry already has keeps its compiled
    definitions (:meth:`Validator.with_options`)."""
    found = _by_registry.get(id(registry))
    if found is None or found.registry is not registry:
        found = _by_registry[id(registry)] = Validator(registry, options=options)
    elif found.options != options:
        found = _by_registry[id(registry)] = found.with_options(options)
    return found


def validate_base(resource: Any) -> dict[str, Any]:
    """Base R4 only: structure, types, formats, cardinality, core invariants and bindings."""
    return default_validator().validate(resource)


def validate(resource: Any, profiles: list[str] | None = None, *, registry: Any | None = None, terminology: ValueSetChecker | None = None) -> dict[str, Any]:
    """Base R4 plus every profile in ``profiles`` and in ``meta.profile``."""
    return validator_for(registry).validate(resource, profiles, terminology=terminology)
