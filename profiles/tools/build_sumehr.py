"""Build ``profiles/fhirsrv.be.sumehr-0.1.0.tgz`` from its source in ``profiles/src/fhirsrv.be.sumehr/``.

Development time only. The source is hand-written JSON: StructureDefinitions with
differentials (``resources/``), our CodeSystem, and example instances (``examples/``).
The build gives every profile a snapshot with fhirsrv's own generator and packs a FHIR NPM
package. Usage: ``.venv/bin/python profiles/tools/build_sumehr.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from package_tools import attach_snapshots, write_npm_package

PROFILES = Path(__file__).resolve().parents[1]
SOURCE = PROFILES / "src" / "fhirsrv.be.sumehr"


def read_folder(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def main() -> None:
    manifest = json.loads((SOURCE / "package.json").read_text())
    resources = attach_snapshots(read_folder(SOURCE / "resources"), PROFILES)
    examples = read_folder(SOURCE / "examples")
    out = PROFILES / f"{manifest['name']}-{manifest['version']}.tgz"
    write_npm_package(out, manifest, resources + examples)
    print(f"wrote {out}: {len(resources)} resources, {len(examples)} examples")


if __name__ == "__main__":
    main()
