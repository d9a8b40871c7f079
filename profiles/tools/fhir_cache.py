"""Build a FHIR package cache (``~/.fhir/packages`` layout) from the packages we ship.

Why: SUSHI resolves every parent, extension and value set through a local FHIR package
cache and cannot download packages here. The cache is filled from ``profiles/*.tgz`` and,
for the R4 core (shipped as definition bundles), from one JSON file per resource.
Development-time only: the server never runs this.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

from fhirsrv.conformance.packages import CORE_BUNDLES, core_bundle_path, iter_bundle_resources


def cache_dir_for(cache: Path, name: str, version: str) -> Path:
    return cache / f"{name}#{version}" / "package"


def write_package(cache: Path, manifest: dict, resources: list[dict]) -> Path:
    """Write a package folder of one JSON file per resource, plus its package.json."""
    target = cache_dir_for(cache, manifest["name"], manifest["version"])
    if target.parent.exists():
        shutil.rmtree(target.parent)
    target.mkdir(parents=True)
    (target / "package.json").write_text(json.dumps(manifest, indent=2))
    seen: set[str] = set()
    for resource in resources:
        name = f"{resource['resourceType']}-{resource.get('id') or len(seen)}.json"
        if name in seen:
            continue
        seen.add(name)
        (target / name).write_text(json.dumps(resource))
    return target


def add_core(cache: Path, core_dir: Path) -> Path:
    """The R4 core package folder rebuilt from the official definition bundles."""
    resources = []
    for bundle in CORE_BUNDLES:
        resources.extend(iter_bundle_resources(core_bundle_path(core_dir, bundle)))
    manifest = {
        "name": "hl7.fhir.r4.core",
        "version": "4.0.1",
        "type": "Core",
        "fhirVersions": ["4.0.1"],
        "license": "CC0-1.0",
        "dependencies": {},
    }
    return write_package(cache, manifest, resources)


def add_tgz(cache: Path, tgz: Path) -> Path:
    """Unpack one NPM package into the cache under its own name#version."""
    with tarfile.open(tgz, "r:gz") as tar:
        manifest = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
        target = cache / f"{manifest['name']}#{manifest['version']}"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        tar.extractall(target, filter="data")
    return target
