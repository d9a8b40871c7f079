"""Shared steps of our package builds: snapshots from our generator, then a FHIR NPM .tgz.

Why here and not in fhirsrv: these run at development time only; the server reads the
finished packages and never builds one.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

from fhirsrv.conformance.loader import build_registry
from fhirsrv.conformance.registry import CANONICAL_TYPES
from fhirsrv.conformance.snapshot import generate_snapshot

# Fixed mtime so that rebuilding from the same source gives the same archive bytes.
_MTIME = 1_700_000_000


def attach_snapshots(resources: list[dict], profiles_dir: Path) -> list[dict]:
    """Give every constraint StructureDefinition a snapshot, resolving bases in the shipped
    packages plus the resources being built (a profile may derive from a sibling)."""
    registry = build_registry(profiles_dir)
    registry.add_all(resources)
    pending = [r for r in resources if r.get("resourceType") == "StructureDefinition" and "differential" in r]
    done: set[str] = set()

    def build(sd: dict) -> None:
        if sd["url"] in done:
            return
        base = next((r for r in pending if r["url"] == sd.get("baseDefinition")), None)
        if base is not None:
            build(base)
        sd["snapshot"] = generate_snapshot(sd, registry)["snapshot"]
        done.add(sd["url"])

    for sd in pending:
        build(sd)
    return resources


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = _MTIME
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def file_name(resource: dict) -> str:
    return f"{resource['resourceType']}-{resource['id']}.json"


def write_npm_package(path: Path, manifest: dict, resources: list[dict]) -> Path:
    """package/package.json, one JSON per conformance resource, instances in package/example/."""
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        _add_bytes(tar, "package/package.json", json.dumps(manifest, indent=2).encode())
        for resource in sorted(resources, key=file_name):
            folder = "package/" if resource["resourceType"] in CANONICAL_TYPES else "package/example/"
            data = json.dumps(resource, indent=2, ensure_ascii=False).encode()
            _add_bytes(tar, folder + file_name(resource), data)
    return path
