"""Our snapshot generator against the snapshots HL7 published with IPS 2.0.0.

Each IPS 2.0.0 constraint profile is regenerated from its differential alone and compared,
element by element, with the published snapshot: ids, paths, order, min, max, fixed[x],
pattern[x], types (with profiles and target profiles) and bindings (strength, value set).
"""

from __future__ import annotations

from typing import Any

import pytest

from fhirsrv.conformance.packages import load_npm_package
from fhirsrv.conformance.snapshot import generate_snapshot

from .conftest import PROFILES_DIR

IPS = load_npm_package(PROFILES_DIR / "hl7.fhir.uv.ips-2.0.0.tgz")
PROFILES = sorted(
    (r for r in IPS.resources if r["resourceType"] == "StructureDefinition" and r.get("derivation") == "constraint"),
    key=lambda r: r["id"],
)

# Known, explained differences: (profile id, element id, compared property) → why.
KNOWN_DIFFERENCES: dict[tuple[str, str, str], str] = {
    ("Observation-results-laboratory-pathology-uv-ips", "Observation.category:laboratory", "type"): (
        "FHIR: slices inherit the sliced element's constraints, so the slice keeps the "
        "CodeableConcept-uv-ips profile set on Observation.category; the publisher dropped it"
    ),
    ("Observation-results-radiology-uv-ips", "Observation.category:radiology", "type"): (
        "same as Observation.category:laboratory"
    ),
}
# Meta in our R4 core bundles lists six elements that R4's Meta does not have (project, author …):
# the generator faithfully unrolls them under Composition.meta; the published snapshot has none.
EXTRA_META_ELEMENTS = {"project", "author", "onBehalfOf", "account", "accounts", "compartment"}


def _canonical(url: str) -> str:
    return url.split("|", 1)[0]


def comparable(element: dict[str, Any]) -> dict[str, Any]:
    binding = element.get("binding")
    return {
        "path": element["path"],
        "min": element.get("min"),
        "max": element.get("max"),
        "fixed/pattern": {k: v for k, v in element.items() if k.startswith(("fixed", "pattern"))},
        "type": [
            (t["code"], [_canonical(p) for p in t.get("profile", [])], [_canonical(p) for p in t.get("targetProfile", [])])
            for t in element.get("type", [])
        ],
        "binding": binding and (binding.get("strength"), _canonical(binding.get("valueSet", ""))),
        "sliceName": element.get("sliceName"),
        "sliced": "slicing" in element,
    }


def is_known(profile: str, element_id: str, prop: str) -> bool:
    if (profile, element_id, prop) in KNOWN_DIFFERENCES:
        return True
    # Our R4 core bundles (profiles/hl7.fhir.r4.core-4.0.1) type Bundle.entry.response.outcome
    # as OperationOutcome; the R4 specification and the IPS snapshots say Resource.
    return prop == "type" and element_id.endswith("response.outcome")


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p["id"])
def test_regenerated_snapshot_matches_published(profile: dict[str, Any], registry) -> None:
    differential_only = {k: v for k, v in profile.items() if k != "snapshot"}
    generated = generate_snapshot(differential_only, registry)["snapshot"]["element"]
    published = profile["snapshot"]["element"]

    ours = [e for e in generated if e["id"].split(".")[-1] not in EXTRA_META_ELEMENTS or ".meta." not in e["id"]]
    assert [e["id"] for e in ours] == [e["id"] for e in published]

    problems = []
    for mine, theirs in zip(ours, published, strict=True):
        a, b = comparable(mine), comparable(theirs)
        problems += [
            f"{theirs['id']} {prop}: published {b[prop]!r}, generated {a[prop]!r}"
            for prop in b
            if a[prop] != b[prop] and not is_known(profile["id"], theirs["id"], prop)
        ]
    assert not problems, "\n".join(problems)


def test_known_differences_still_occur(registry) -> None:
    """A known difference that no longer happens should be removed from the list."""
    by_id = {p["id"]: p for p in PROFILES}
    for (profile_id, element_id, prop), _why in KNOWN_DIFFERENCES.items():
        profile = by_id[profile_id]
        generated = generate_snapshot({k: v for k, v in profile.items() if k != "snapshot"}, registry)
        mine = next(e for e in generated["snapshot"]["element"] if e["id"] == element_id)
        theirs = next(e for e in profile["snapshot"]["element"] if e["id"] == element_id)
        assert comparable(mine)[prop] != comparable(theirs)[prop]
