"""Fixtures for the conformance tests: the registry of every package shipped in profiles/."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhirsrv.conformance.loader import load_registry
from fhirsrv.conformance.registry import Registry

PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"


@pytest.fixture(scope="session")
def profiles_dir() -> Path:
    return PROFILES_DIR


@pytest.fixture(scope="session")
def registry() -> Registry:
    """Loaded once per test session (a few seconds): every test shares it read-only."""
    return load_registry(PROFILES_DIR)
