"""A test-only ``$validate`` over the real validator, until the operation itself lands on main.

The page must be tested against the validator the API offers. ``fhirsrv.validation`` is on
main, the ``$validate`` operation module not yet: this adapter registers that operation
for the page tests only (and only when no real one is registered), calling the real engine
with the same inputs the operation takes — the resource as the body (or a ``resource``
parameter) and an optional ``profile`` (alias or canonical). When the real operation is
registered, :func:`installed` does nothing and the tests run against it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fhirsrv.errors import FhirError
from fhirsrv.operations import framework
from fhirsrv.rest.http import fhir_response, services
from fhirsrv.validation import validate
from fhirsrv.validation.profiles import UnknownProfile, resolve_profile

calls: list[dict[str, Any]] = []


def _validate(invocation: framework.Invocation):
    body = invocation.body if invocation.body is not None else invocation.value("resource")
    profile = invocation.value("profile")
    calls.append({"profile": profile, "type": invocation.rtype})
    registry = services().registry
    profiles = None
    if profile and not str(profile).startswith("http://hl7.org/fhir/StructureDefinition/"):
        try:
            profiles = [resolve_profile(str(profile), registry)]
        except UnknownProfile as exc:
            raise FhirError(str(exc), code="not-supported", expression="profile") from None
    return fhir_response(validate(body, profiles, registry=registry))


def real_validate_registered() -> bool:
    return any(spec.name == "validate" for spec in framework.registered())


@contextmanager
def installed() -> Iterator[bool]:
    """Register the adapter unless a real ``$validate`` exists; yields True when it did."""
    if real_validate_registered():
        yield False
        return
    install()
    try:
        yield True
    finally:
        framework._REGISTRY.pop("validate", None)


def install() -> None:
    framework.operation("validate", definition="http://hl7.org/fhir/OperationDefinition/Resource-validate",
                        documentation="test-only adapter over fhirsrv.validation")(_validate)
