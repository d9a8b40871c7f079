"""The snapshot generator over every published constraint profile we ship (about 1,270).

Why: a broad guard against crashes and regressions beyond IPS 2.0.0. Publishers of different
years disagree on details (whether a slice inherits the sliced element's type profile, whether
a concrete choice name narrows ``value[x]``, whether the sliced minimum adds up its slices, the
2019 core publisher expanding profiled extension slices …), so the check is: no error except
the one listed, and no more profiles differing from their published snapshot (ids, min, max,
types, bindings, fixed/pattern) than today's count.
"""

from __future__ import annotations

from fhirsrv.conformance.snapshot import SnapshotError, generate_snapshot

OUR_OWN = {"hl7.fhir.eu.eps", "fhirsrv.be.sumehr"}
# Our R4 core definitions' EvidenceVariable has no characteristic.definition[x], which the
# core's own picoelement profile constrains (see tests/conformance/test_snapshot_ips.py on the core copy).
EXPECTED_ERRORS = {"http://hl7.org/fhir/StructureDefinition/picoelement"}
MAX_DIFFERING = 75


def _summary(element: dict) -> tuple:
    binding = element.get("binding") or {}
    return (
        element["path"], element.get("min"), element.get("max"),
        sorted((k, str(v)) for k, v in element.items() if k.startswith(("fixed", "pattern"))),
        [(t["code"], [p.split("|")[0] for p in t.get("profile", [])]) for t in element.get("type", [])],
        (binding.get("strength"), (binding.get("valueSet") or "").split("|")[0]),
    )


def test_every_shipped_profile_regenerates(registry) -> None:
    errors, differing, total = set(), [], 0
    for package in registry.packages:
        if package.name in OUR_OWN:
            continue
        for sd in package.resources:
            if sd.get("resourceType") != "StructureDefinition" or sd.get("derivation") != "constraint":
                continue
            if not sd.get("snapshot"):
                continue
            total += 1
            try:
                generated = generate_snapshot({k: v for k, v in sd.items() if k != "snapshot"}, registry)
            except SnapshotError:
                errors.add(sd["url"])
                continue
            ours = {e["id"]: _summary(e) for e in generated["snapshot"]["element"]}
            theirs = {e["id"]: _summary(e) for e in sd["snapshot"]["element"]}
            if ours != theirs:
                differing.append(sd["url"])
    assert total > 1200
    assert errors == EXPECTED_ERRORS
    assert len(differing) <= MAX_DIFFERING, differing
