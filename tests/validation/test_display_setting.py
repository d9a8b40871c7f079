"""FHIRSRV_DISPLAY_ISSUES_ARE_WARNINGS: how the server reports a wrong Coding.display — a
warning by default (as HAPI FHIR servers: real data carries such displays, e.g. Synthea's "M"
for v3-MaritalStatus#M), an error with ``false`` (the HL7 Java validator's default). The
setting reaches every path that validates against the server's registry, document ingest
(``validate(..., registry=…)``) included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fhirsrv.config import Settings
from fhirsrv.services import Services
from fhirsrv.validation import validate
from fhirsrv.validation.options import ValidationOptions
from fhirsrv.validation.validator import configure_validator, validator_for

from .helpers import find

PATIENT = {"resourceType": "Patient", "maritalStatus": {"coding": [
    {"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M", "display": "Wed"}]}}


@pytest.fixture()
def restore_server_validator() -> Iterator[None]:
    """The registry is shared by the process (load_registry is cached): put its validator back."""
    registry = Services(Settings(), conninfo="").registry
    before = validator_for(registry).options
    yield
    configure_validator(registry, before)


@pytest.mark.parametrize("env, severity", [(None, "warning"), ("true", "warning"), ("false", "error")])
def test_server_setting_decides_the_severity(monkeypatch: pytest.MonkeyPatch, restore_server_validator: None,
                                             env: str | None, severity: str) -> None:
    if env is None:
        monkeypatch.delenv("FHIRSRV_DISPLAY_ISSUES_ARE_WARNINGS", raising=False)
    else:
        monkeypatch.setenv("FHIRSRV_DISPLAY_ISSUES_ARE_WARNINGS", env)
    services = Services(Settings.from_env(), conninfo="")
    issues = services._validator.issues(PATIENT)  # the validator the write path and $validate use
    assert [i.severity for i in find(issues, "coding-display")] == [severity]
    ingest = validate(PATIENT, registry=services.registry)  # how document ingest validates
    assert [i["severity"] for i in ingest["issue"] if "coding-display" in str(i)] == [severity]


def test_the_validator_default_is_a_warning(validator) -> None:
    assert ValidationOptions().display_warnings is True
    assert [i.severity for i in find(validator.issues(PATIENT), "coding-display")] == ["warning"]
