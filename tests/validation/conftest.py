"""Shared fixtures: one validator over the shipped packages (the registry loads once)."""

from __future__ import annotations

import pytest

from fhirsrv.validation import Validator, default_validator


@pytest.fixture(scope="session")
def validator() -> Validator:
    return default_validator()

