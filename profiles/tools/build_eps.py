"""Build ``profiles/hl7.fhir.eu.eps-1.0.0-xtehr.tgz`` from the EPS FSH source with SUSHI.

Development time only (never at server run time, never in tests). Usage::

    cd /tmp/sushi && npm install fsh-sushi@3.21.0      # once, outside the repo
    .venv/bin/python profiles/tools/build_eps.py \
        --fsh ../shared/fsh-sources/hl7.fhir.eu.eps-1.0.0-xtehr --sushi /tmp/sushi/node_modules/.bin/sushi

Why the stand-ins: EPS depends on ``hl7.fhir.eu.base`` 2.0.0-xtehr, ``hl7.fhir.eu.extensions.r4``,
``hl7.fhir.uv.xver-r5.r4`` and ``ihe.pharm.mpd.r4``, none of which we have or can download. The
EU core profiles EPS derives from (``PatientEuCore`` …) are replaced by the IPS 2.0 profile of
the same resource (EPS imposes those IPS profiles anyway, so nothing EPS requires of IPS is
lost; what EU core adds on top of IPS is missing and listed in profiles/README.md). The one
R5 cross-version extension used by a profile gets a build-time stand-in definition so SUSHI
can slice on it; that stand-in is not shipped. Then SUSHI compiles, and our own snapshot
generator gives every StructureDefinition a snapshot.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from fhir_cache import add_core, add_tgz, write_package
from package_tools import attach_snapshots, write_npm_package

PROFILES = Path(__file__).resolve().parents[1]
IPS = "http://hl7.org/fhir/uv/ips/StructureDefinition/"

# EU core (hl7.fhir.eu.base) name or alias → the IPS 2.0 profile used in its place.
EU_BASE_STANDINS = {
    "PatientEuCore": "Patient-uv-ips",
    "ConditionEuCore": "Condition-uv-ips",
    "AllergyIntoleranceEuCore": "AllergyIntolerance-uv-ips",
    "MedicationStatementEuCore": "MedicationStatement-uv-ips",
    "MedicationEuCore": "Medication-uv-ips",
    "MedicationRequestEuCore": "MedicationRequest-uv-ips",
    "ImmunizationEuCore": "Immunization-uv-ips",
    "MedicalTestResultEuCore": "Observation-results-laboratory-pathology-uv-ips",
    "DiagnosticReportEuCore": "DiagnosticReport-uv-ips",
    "FlagPatientEuCore": "Flag-alert-uv-ips",
    "ProcedureEuCore": "Procedure-uv-ips",
    "OrganizationEuCore": "Organization-uv-ips",
    "OrganizationEu": "Organization-uv-ips",
    "PractitionerEuCore": "Practitioner-uv-ips",
    "PractitionerEu": "Practitioner-uv-ips",
    "PractitionerRoleEuCore": "PractitionerRole-uv-ips",
    "PractitionerRoleEu": "PractitionerRole-uv-ips",
}
# Aliases of alias-ig.fsh that point into hl7.fhir.eu.base.
EU_BASE_ALIAS_STANDINS = {
    "$patient-eu-core": "Patient-uv-ips",
    "$patient-eu": "Patient-uv-ips",
    "$practitioner-eu-core": "Practitioner-uv-ips",
    "$practitioner-eu": "Practitioner-uv-ips",
    "$practitionerRole-eu-core": "PractitionerRole-uv-ips",
    "$practitionerRole-eu": "PractitionerRole-uv-ips",
    "$organization-eu-core": "Organization-uv-ips",
    "$organization-eu": "Organization-uv-ips",
}
XVER_COMPOSITION_VERSION = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Composition.version"
# Dependencies SUSHI would add automatically as "latest" (it cannot download them): pinned to the
# versions we ship, plus the package holding the build-time stand-ins.
EXTRA_DEPENDENCIES = {
    "hl7.fhir.uv.extensions.r4": "5.3.0-ballot-tc1",
    "hl7.terminology.r4": "7.0.1",
    "fhirsrv.buildtime.standins": "0.0.0",
}
# SUSHI errors caused by the missing dependencies, known and documented in profiles/README.md.
# Any other error stops the build.
EXPECTED_SUSHI_ERRORS = (
    "Cannot create relatedCondition extension; unable to locate extension definition for: ConsentRelatedCondition.",
    "No element found at path extension[relatedCondition] for CardRule in ConsentEuEps, skipping rule",
    "No element found at path extension[relatedCondition].valueReference for CaretValueRule in ConsentEuEps, skipping rule",
    "No element found at path extension[relatedCondition].extension for CardRule in ConsentEuEps, skipping rule",
    "Slice named observation-results already exists on element DiagnosticReport.result of DiagnosticReportEuEps",
    "No element found at path extension[adherence].value[x] for CardRule in MedicationStatementEuEps, skipping rule",
    "No element found at path extension[adherence].extension[code] for CaretValueRule in MedicationStatementEuEps, skipping rule",
)
MISSING_DEPENDENCIES = ("hl7.fhir.eu.base", "hl7.fhir.eu.extensions.r4", "hl7.fhir.uv.xver-r5.r4", "ihe.pharm.mpd.r4")


def standin_alias_file() -> str:
    lines = ["// Build-time stand-ins for hl7.fhir.eu.base (not available): see profiles/README.md"]
    lines += [f"Alias: {name} = {IPS}{ips}" for name, ips in EU_BASE_STANDINS.items()]
    return "\n".join(lines) + "\n"


def rewrite_alias_ig(text: str) -> str:
    """Point the EU base aliases of alias-ig.fsh at the IPS stand-ins."""
    for alias, ips in EU_BASE_ALIAS_STANDINS.items():
        text = re.sub(rf"^Alias: {re.escape(alias)} = .*$", f"Alias: {alias} = {IPS}{ips}", text, flags=re.M)
    return text


def xver_standin() -> dict:
    """A minimal string extension under the R5 cross-version URL, so SUSHI can slice on it."""
    return {
        "resourceType": "StructureDefinition",
        "id": "extension-Composition.version",
        "url": XVER_COMPOSITION_VERSION,
        "version": "0.0.1-snapshot-2",
        "name": "ExtensionCompositionVersionStandIn",
        "status": "draft",
        "fhirVersion": "4.0.1",
        "kind": "complex-type",
        "abstract": False,
        "context": [{"type": "element", "expression": "Composition"}],
        "type": "Extension",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "derivation": "constraint",
        "differential": {
            "element": [
                {"id": "Extension", "path": "Extension", "short": "R5: Composition.version (stand-in)"},
                {"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
                {"id": "Extension.url", "path": "Extension.url", "fixedUri": XVER_COMPOSITION_VERSION},
                {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "string"}]},
            ]
        },
    }


def prepare_project(fsh_src: Path, work: Path) -> Path:
    project = work / "eps"
    shutil.copytree(fsh_src, project)
    fsh = project / "input" / "fsh"
    alias_ig = fsh / "alias-ig.fsh"
    alias_ig.write_text(rewrite_alias_ig(alias_ig.read_text()))
    (fsh / "zz-eu-base-standins.fsh").write_text(standin_alias_file())
    config = project / "sushi-config.yaml"
    text = config.read_text()
    for dep in MISSING_DEPENDENCIES:
        text = re.sub(rf"^\s+{re.escape(dep)}:.*\n", "", text, flags=re.M)
    text = text.replace("dependencies:\n", "dependencies:\n" + "".join(f"  {n}: {v}\n" for n, v in EXTRA_DEPENDENCIES.items()), 1)
    text += "\nFSHOnly: true\n"
    config.write_text(text)
    return project


def prepare_cache(home: Path) -> Path:
    cache = home / ".fhir" / "packages"
    cache.mkdir(parents=True)
    add_core(cache, PROFILES / "hl7.fhir.r4.core-4.0.1")
    for tgz in sorted(PROFILES.glob("hl7.*.tgz")):
        if "eu.eps" not in tgz.name:
            add_tgz(cache, tgz)
    manifest = {"name": "fhirsrv.buildtime.standins", "version": "0.0.0", "fhirVersions": ["4.0.1"],
                "dependencies": {"hl7.fhir.r4.core": "4.0.1"}}
    write_package(cache, manifest, [xver_standin()])
    return cache


def run_sushi(sushi: Path, project: Path, home: Path) -> Path:
    env = dict(os.environ, HOME=str(home))
    result = subprocess.run([str(sushi), "build", str(project)], env=env, capture_output=True, text=True)
    log = result.stdout + result.stderr
    (project / "sushi.log").write_text(log)
    errors = [line[len("error ") :].strip() for line in log.splitlines() if line.startswith("error ")]
    unexpected = [e for e in errors if e not in EXPECTED_SUSHI_ERRORS]
    print(f"SUSHI: {len(errors)} errors, {len(unexpected)} not known (full log kept with --keep)")
    if unexpected or not (project / "fsh-generated" / "resources").is_dir():
        raise SystemExit("SUSHI errors not known to this script:\n" + "\n".join(unexpected or ["no output"]))
    return project / "fsh-generated" / "resources"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fsh", type=Path, required=True, help="EPS FSH project folder (with sushi-config.yaml)")
    parser.add_argument("--sushi", type=Path, required=True, help="the sushi executable")
    parser.add_argument("--out", type=Path, default=PROFILES)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and print it")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="build-eps-"))
    project = prepare_project(args.fsh.resolve(), work)
    prepare_cache(work / "home")
    generated = run_sushi(args.sushi.resolve(), project, work / "home")
    resources = [json.loads(p.read_text()) for p in sorted(generated.glob("*.json"))]
    config = project / "sushi-config.yaml"
    version = re.search(r"^version:\s*(\S+)", config.read_text(), flags=re.M).group(1)  # type: ignore[union-attr]
    manifest = {
        "name": "hl7.fhir.eu.eps",
        "version": version,
        "type": "IG",
        "canonical": "http://hl7.eu/fhir/eps",
        "title": "HL7 Europe Patient Summary (built by fhirsrv from the FSH source, EU base stood in by IPS 2.0)",
        "license": "CC0-1.0",
        "fhirVersions": ["4.0.1"],
        "dependencies": {"hl7.fhir.r4.core": "4.0.1", "hl7.fhir.uv.ips": "2.0.0"},
        "author": "HL7 Europe",
        "description": (
            "Compiled by fhirsrv (profiles/tools/build_eps.py) from the EPS FSH source with SUSHI. "
            "hl7.fhir.eu.base was not available: EU core parents and targets are replaced by the "
            "IPS 2.0.0 profile of the same resource. Snapshots by fhirsrv's own generator."
        ),
    }
    resources = attach_snapshots(resources, PROFILES)
    out = write_npm_package(args.out / f"hl7.fhir.eu.eps-{version}.tgz", manifest, resources)
    print(f"wrote {out} ({len(resources)} resources)")
    if args.keep:
        print(f"scratch: {work}")
    else:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
