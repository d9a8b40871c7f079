"""Readers for FHIR definition sources: NPM packages (.tgz) and core definition bundles.

An NPM package is a tarball with ``package/package.json`` and one JSON file per resource
(``package/example/`` holds examples, which are not definitions). The R4 core is shipped as
the official definition bundles (``profiles-resources.json`` …), gzipped, in a folder.
"""

from __future__ import annotations

import gzip
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson


@dataclass
class Package:
    """One loaded package: its identity and its conformance resources."""

    name: str
    version: str
    source: Path
    resources: list[dict[str, Any]] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)
    dependencies: dict[str, str] = field(default_factory=dict)


def _read_json(data: bytes) -> Any:
    return orjson.loads(data)


def load_npm_package(path: Path, *, with_examples: bool = False) -> Package:
    """Read a FHIR NPM package tarball into memory."""
    manifest: dict[str, Any] = {}
    resources: list[dict[str, Any]] = []
    examples: list[dict[str, Any]] = []
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".json"):
                continue
            parts = member.name.split("/")
            if len(parts) < 2 or parts[0] != "package":
                continue
            is_example = len(parts) == 3 and parts[1] == "example"
            if len(parts) > 2 and not is_example:
                continue
            if parts[-1] in {".index.json", "ig-r4.json"}:
                continue
            fileobj = tar.extractfile(member)
            if fileobj is None:
                continue
            try:
                content = _read_json(fileobj.read())
            except orjson.JSONDecodeError:
                continue
            if parts[-1] == "package.json" and len(parts) == 2:
                manifest = content
            elif isinstance(content, dict) and "resourceType" in content:
                if is_example:
                    if with_examples:
                        examples.append(content)
                else:
                    resources.append(content)
    return Package(
        name=manifest.get("name", path.stem),
        version=manifest.get("version", ""),
        source=path,
        resources=resources,
        examples=examples,
        dependencies=dict(manifest.get("dependencies") or {}),
    )


def iter_bundle_resources(path: Path) -> Iterator[dict[str, Any]]:
    """Resources of one (optionally gzipped) definition bundle file."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    doc = _read_json(raw)
    if doc.get("resourceType") == "Bundle":
        for entry in doc.get("entry", []):
            resource = entry.get("resource")
            if resource:
                yield resource
    elif "resourceType" in doc:
        yield doc


CORE_BUNDLES = (
    "profiles-types.json",
    "profiles-resources.json",
    "profiles-others.json",
    "extension-definitions.json",
    "search-parameters.json",
    "valuesets.json",
    "v2-tables.json",
    "v3-codesystems.json",
    "conceptmaps.json",
    "compartmentdefinition-patient.json",
)


def core_bundle_path(core_dir: Path, name: str) -> Path:
    plain = core_dir / name
    return plain if plain.exists() else core_dir / f"{name}.gz"


def load_core_definitions(core_dir: Path, bundles: tuple[str, ...] = CORE_BUNDLES) -> Package:
    """The R4 core as a package, read from its definition bundles."""
    resources: list[dict[str, Any]] = []
    for name in bundles:
        resources.extend(iter_bundle_resources(core_bundle_path(core_dir, name)))
    return Package(name="hl7.fhir.r4.core", version="4.0.1", source=core_dir, resources=resources)
