"""The examples of the packages we build validate, with no error, against the profile they were
written for: our Sumehr-like examples against sumehr-bundle and IPS 2.0.0, the EPS examples
against bundle-eu-eps. Terminology offline only (no server is ever called).

Why here: these examples are content we ship and claim valid; a change in our profiles (or
in the validator) that makes them fail must be seen.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fhirsrv.conformance.aliases import resolve_profile_alias
from fhirsrv.conformance.packages import load_npm_package
from fhirsrv.validation.validator import validate

PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"
CASES = [
    (package, example["id"], alias)
    for package, aliases in (
        ("fhirsrv.be.sumehr-0.1.0.tgz", ("sumehr", "ips")),
        ("hl7.fhir.eu.eps-1.0.0-xtehr.tgz", ("eps",)),
    )
    for example in load_npm_package(PROFILES_DIR / package, with_examples=True).examples
    for alias in aliases
]


@pytest.mark.parametrize(("package", "example_id", "alias"), CASES)
def test_example_has_no_errors(package: str, example_id: str, alias: str, registry) -> None:
    example = next(e for e in load_npm_package(PROFILES_DIR / package, with_examples=True).examples if e["id"] == example_id)
    outcome = validate(example, [resolve_profile_alias(alias)], registry=registry)
    errors = [f"{i.get('expression')}: {i.get('diagnostics')}" for i in outcome.get("issue", []) if i["severity"] in ("error", "fatal")]
    assert not errors, "\n".join(errors)
