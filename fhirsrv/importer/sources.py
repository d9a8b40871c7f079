"""Which files to load, in which order, and what each holds.

A path may be a file or a folder (searched recursively for ``*.json`` and ``*.ndjson``).
Synthea writes the shared hospitals and practitioners to ``hospitalInformation*.json`` and
``practitionerInformation*.json`` and every patient Bundle refers to them, so those load
first; everything else loads in name order, so two runs do the same thing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import fhirjson

SUFFIXES = (".json", ".ndjson")
LOAD_FIRST = ("hospitalinformation", "practitionerinformation")


class SourceError(ValueError):
    """A file that cannot be read as FHIR JSON; the message is the reason shown per file."""


@dataclass(frozen=True)
class Source:
    path: Path

    @property
    def load_first(self) -> bool:
        """A Synthea file of shared resources that the patient files refer to."""
        return self.path.name.lower().startswith(LOAD_FIRST)

    @property
    def ndjson(self) -> bool:
        return self.path.suffix.lower() == ".ndjson"

    def resources(self) -> list[dict[str, Any]]:
        """The file's top-level resources: one for ``.json``, one per line for ``.ndjson``."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise SourceError(f"cannot read the file: {exc.strerror}") from None
        if not self.ndjson:
            return [_resource(data, "the file")]
        return [_resource(line, f"line {n}") for n, line in enumerate(data.splitlines(), 1) if line.strip()]

    def count(self) -> int:
        """Resources the file will store (Bundle entries count one each), for the progress bar."""
        try:
            total = 0
            for resource in self.resources():
                total += len(resource.get("entry") or []) if _unpacked(resource) else 1
            return total
        except SourceError:
            return 0


def _unpacked(resource: dict[str, Any]) -> bool:
    return resource.get("resourceType") == "Bundle" and resource.get("type") != "document"


def _resource(data: bytes, where: str) -> dict[str, Any]:
    try:
        value = fhirjson.loads(data)
    except (fhirjson.JsonError, UnicodeDecodeError) as exc:
        raise SourceError(f"{where} is not JSON: {exc}") from None
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise SourceError(f"{where} is not a FHIR resource (no resourceType)")
    return value


def _order(path: Path) -> tuple[int, str]:
    return (0 if Source(path).load_first else 1, str(path))


def discover(paths: Sequence[str | Path]) -> Iterator[Source]:
    """The files named or found under the folders named, Synthea's shared files first."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        else:
            found.append(path)  # a missing file is reported as rejected, not silently skipped
    seen: set[Path] = set()
    for path in sorted(found, key=_order):
        if path not in seen:
            seen.add(path)
            yield Source(path)
