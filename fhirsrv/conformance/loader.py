"""Load every shipped package from ``profiles/`` into one :class:`Registry`, once per process."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from .packages import load_core_definitions, load_npm_package
from .r4 import CORE_DIR_NAME
from .registry import Registry

_log = logging.getLogger("fhirsrv.conformance")


def package_files(profiles_dir: Path) -> list[Path]:
    """Every ``.tgz`` package in ``profiles/`` and its sub-folders, in a stable order."""
    return sorted(Path(profiles_dir).rglob("*.tgz"))


def build_registry(profiles_dir: Path) -> Registry:
    registry = Registry()
    registry.add_package(load_core_definitions(Path(profiles_dir) / CORE_DIR_NAME))
    for path in package_files(profiles_dir):
        registry.add_package(load_npm_package(path))
    _log.info("loaded %d conformance resources from %s", len(registry), profiles_dir)
    return registry


@lru_cache(maxsize=4)
def load_registry(profiles_dir: Path) -> Registry:
    """The registry for a profiles folder; built on first use and shared afterwards."""
    return build_registry(Path(profiles_dir))
