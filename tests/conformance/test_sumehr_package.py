"""Our Belgian Sumehr-like package: the profiles say what DOMAIN.md §3.1 asks, the example obeys.

The validator has its own tests; these check the content we ship (codes, cardinalities,
bases) and the example's internal consistency without depending on the validator.
"""

from __future__ import annotations

import json

import pytest

from fhirsrv.conformance.aliases import resolve_profile_alias
from fhirsrv.conformance.packages import load_npm_package
from fhirsrv.conformance.ssin import ssin_is_valid

from .conftest import PROFILES_DIR

BASE = "https://fhirsrv.dev/fhir/be-sumehr/"
SSIN_SYSTEM = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"
CNK_SYSTEM = "https://www.ehealth.fgov.be/standards/fhir/medication/NamingSystem/be-ns-cnk-codes"
LOINC = "http://loinc.org"
ITEM = BASE + "CodeSystem/sumehr-item"

# Sumehr item → (section slice, code system, code): LOINC codes from IPS 2.0 as DOMAIN.md §1.3/§3.1 map them.
SECTIONS = {
    "allergies and intolerances": ("sectionAllergies", LOINC, "48765-2"),
    "active problems and risks": ("sectionProblems", LOINC, "11450-4"),
    "medication": ("sectionMedications", LOINC, "10160-0"),
    "vaccinations": ("sectionImmunizations", LOINC, "11369-6"),
    "treatments": ("sectionProceduresHx", LOINC, "47519-4"),
    "patient will": ("sectionAdvanceDirectives", LOINC, "42348-3"),
    "GMD holder": ("sectionGmdHolder", ITEM, "gmdmanager"),
    "contact persons": ("sectionContactPersons", ITEM, "contactperson"),
}

PACKAGE = load_npm_package(PROFILES_DIR / "fhirsrv.be.sumehr-0.1.0.tgz", with_examples=True)


def snapshot(registry, name: str) -> dict[str, dict]:
    sd = registry.get(f"{BASE}StructureDefinition/{name}|0.1.0")
    return {e["id"]: e for e in sd["snapshot"]["element"]}


def section_code(element: dict) -> tuple[str, str]:
    coding = element["patternCodeableConcept"]["coding"][0]
    return coding["system"], coding["code"]


@pytest.mark.parametrize("item", sorted(SECTIONS))
def test_every_sumehr_item_is_a_section(item: str, registry) -> None:
    slice_name, system, code = SECTIONS[item]
    elements = snapshot(registry, "sumehr-composition")
    assert section_code(elements[f"Composition.section:{slice_name}.code"]) == (system, code)


def test_local_section_codes_are_defined(registry) -> None:
    codes = {c["code"] for c in registry.get(ITEM)["concept"]}
    assert codes == {"gmdmanager", "contactperson"}


def test_profiles_build_on_ips_and_belgian_profiles(registry) -> None:
    bases = {r["id"]: r["baseDefinition"].split("|")[0] for r in PACKAGE.resources if r["resourceType"] == "StructureDefinition"}
    assert bases["sumehr-bundle"].endswith("/Bundle-uv-ips")
    assert bases["sumehr-composition"].endswith("/Composition-uv-ips")
    assert bases["sumehr-patient"].endswith("/core/StructureDefinition/be-patient")
    assert bases["sumehr-problem"].endswith("/core-clinical/StructureDefinition/be-problem")
    for base in bases.values():
        assert registry.get(base) is not None


def test_patient_requires_an_ssin(registry) -> None:
    elements = snapshot(registry, "sumehr-patient")
    assert elements["Patient.identifier:SSIN"]["min"] == 1
    assert elements["Patient.identifier:SSIN.system"]["fixedUri"] == SSIN_SYSTEM
    assert elements["Patient.gender"]["min"] == 1 and elements["Patient.birthDate"]["min"] == 1


def test_ips_required_sections_stay_required(registry) -> None:
    elements = snapshot(registry, "sumehr-composition")
    for name in ("sectionProblems", "sectionAllergies", "sectionMedications"):
        assert elements[f"Composition.section:{name}"]["min"] == 1


def test_sumehr_alias_names_the_bundle_profile(registry) -> None:
    assert registry.get(resolve_profile_alias("sumehr"))["id"] == "sumehr-bundle"


@pytest.fixture(scope="module")
def example() -> dict:
    return next(e for e in PACKAGE.examples if e["id"] == "sumehr-example-1")


def test_example_is_a_document_about_a_patient_with_a_valid_ssin(example) -> None:
    assert example["type"] == "document" and example["entry"][0]["resource"]["resourceType"] == "Composition"
    patient = next(e["resource"] for e in example["entry"] if e["resource"]["resourceType"] == "Patient")
    ssin = [i["value"] for i in patient["identifier"] if i["system"] == SSIN_SYSTEM]
    assert ssin and all(ssin_is_valid(v) for v in ssin)


def test_example_references_resolve_inside_the_bundle(example) -> None:
    full_urls = {e["fullUrl"] for e in example["entry"]}

    def references(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "reference":
                    yield value
                else:
                    yield from references(value)
        elif isinstance(node, list):
            for value in node:
                yield from references(value)

    assert set(references(example["entry"])) <= full_urls


def test_example_covers_the_items_asked_for(example) -> None:
    composition = example["entry"][0]["resource"]
    codes = {s["code"]["coding"][0]["code"] for s in composition["section"]}
    assert {"48765-2", "11450-4", "10160-0", "11369-6"} <= codes
    types = [e["resource"]["resourceType"] for e in example["entry"]]
    assert {"AllergyIntolerance", "Condition", "MedicationStatement", "Immunization"} <= set(types)
    medication = next(e["resource"] for e in example["entry"] if e["resource"]["resourceType"] == "MedicationStatement")
    assert any(c["system"] == CNK_SYSTEM for c in medication["medicationCodeableConcept"]["coding"])


def test_package_matches_its_source() -> None:
    """The committed package was built from the committed source (rebuild after editing src/)."""
    source = PROFILES_DIR / "src" / "fhirsrv.be.sumehr"
    written = {p.name: json.loads(p.read_text()) for p in (source / "resources").glob("*.json")}
    shipped = {f"{r['resourceType']}-{r['id']}.json": {k: v for k, v in r.items() if k != "snapshot"} for r in PACKAGE.resources}
    assert shipped == written
    examples = {p.name: json.loads(p.read_text()) for p in (source / "examples").glob("*.json")}
    assert {f"Bundle-{e['id']}.json": e for e in PACKAGE.examples} == examples
    assert json.loads((source / "package.json").read_text())["version"] == PACKAGE.version
