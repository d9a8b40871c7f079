"""FHIRSRV_DISPLAY_ISSUES_ARE_WARNINGS: the server's validator reports a wrong Coding.display
as a warning instead of the default error (ValidationOptions.display_warnings)."""

from __future__ import annotations

import pytest

from fhirsrv.config import Settings
from fhirsrv.services import Services

from .helpers import find

PATIENT = {"resourceType": "Patient", "maritalStatus": {"coding": [
    {"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M", "display": "Wed"}]}}


@pytest.mark.parametrize("env, severity", [(None, "error"), ("false", "error"), ("true", "warning")])
def test_server_setting_decides_the_severity(monkeypatch: pytest.MonkeyPatch, env: str | None, severity: str) -> None:
    if env is None:
        monkeypatch.delenv("FHIRSRV_DISPLAY_ISSUES_ARE_WARNINGS", raising=False)
    else:
        monkeypatch.setenv("FHIRSRV_DISPLAY_ISSUES_ARE_WARNINGS", env)
    services = Services(Settings.from_env(), conninfo="")
    issues = services._validator.issues(PATIENT)  # the validator the write path and $validate use
    assert [i.severity for i in find(issues, "coding-display")] == [severity]
