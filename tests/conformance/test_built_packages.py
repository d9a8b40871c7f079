"""The packages we build ourselves (EPS from FSH, our Sumehr-like set) as the server loads them.

Why: they are generated at development time and committed; these tests catch a package that
is stale (its snapshots no longer what our generator makes), incomplete, or not picked up.
"""

from __future__ import annotations

import pytest

from fhirsrv.conformance.loader import package_files
from fhirsrv.conformance.packages import load_npm_package
from fhirsrv.conformance.snapshot import generate_snapshot

from .conftest import PROFILES_DIR

BUILT = {
    "hl7.fhir.eu.eps": PROFILES_DIR / "hl7.fhir.eu.eps-1.0.0-xtehr.tgz",
    "fhirsrv.be.sumehr": PROFILES_DIR / "fhirsrv.be.sumehr-0.1.0.tgz",
}
EPS = "http://hl7.eu/fhir/eps/StructureDefinition/"


@pytest.fixture(scope="module", params=sorted(BUILT))
def package(request):
    return load_npm_package(BUILT[request.param], with_examples=True)


def test_every_built_package_is_loaded_by_the_server(profiles_dir) -> None:
    assert set(BUILT.values()) <= set(package_files(profiles_dir))
    assert not [p for p in package_files(profiles_dir) if "src" in p.parts or "tools" in p.parts]


def test_snapshots_are_those_our_generator_makes(package, registry) -> None:
    profiles = [r for r in package.resources if r["resourceType"] == "StructureDefinition"]
    assert profiles
    for sd in profiles:
        regenerated = generate_snapshot({k: v for k, v in sd.items() if k != "snapshot"}, registry)
        assert regenerated["snapshot"] == sd["snapshot"], f"{sd['url']}: rebuild the package"


def test_package_has_examples(package) -> None:
    assert package.examples and all(e["resourceType"] == "Bundle" for e in package.examples)


def test_eps_composition_is_stricter_than_ips(registry) -> None:
    composition = registry.get(EPS + "composition-eu-eps")
    cards = {e["id"]: (e["min"], e["max"]) for e in composition["snapshot"]["element"]}
    for section in ("sectionProblems", "sectionAllergies", "sectionMedications",
                    "sectionProceduresHx", "sectionMedicalDevices"):
        assert cards[f"Composition.section:{section}"] == (1, "1")
    assert cards["Composition.section:sectionTravelHx"] == (0, "1")


def test_eps_bundle_invariants_are_present(registry) -> None:
    bundle = registry.get(EPS + "bundle-eu-eps")
    keys = {c["key"] for c in bundle["snapshot"]["element"][0].get("constraint", [])}
    assert {"eps-bundle-resource-code", "eps-bundle-patient-ref", "eps-bundle-subject-ref"} <= keys
