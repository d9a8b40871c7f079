"""Every StructureDefinition we ship passes the definition checks (structure_definition_rules).

Why: those checks (snapshot generation, differential paths, restated slicing, discriminator
paths, fixed/pattern values against the base) must not turn a published profile into an
error. Over all shipped packages (R4 core, extensions, terminology, IPS 1.1/2.0, Belgian,
EU PS, our Sumehr set; about 1,540 definitions, a second of CPU) the rules give no error and
one warning: the core's picoelement, whose differential names
EvidenceVariable.characteristic.definition[x] while our core copy's EvidenceVariable
snapshot has no such element (see tests/conformance/test_snapshot_all_packages.py); it
brings its own snapshot, so it stays usable. The profiles of our own packages and of IPS 2.0
and the Belgian packages are also validated whole (resource and definition): no error.
"""

from __future__ import annotations

import pytest

from fhirsrv.validation import Validator
from fhirsrv.validation.context import Run
from fhirsrv.validation.structure_definition_rules import check_structure_definition

from .helpers import describe, errors

KNOWN_WARNINGS = {("http://hl7.org/fhir/StructureDefinition/picoelement", "sd-snapshot-generation")}
WHOLE = ("fhirsrv.be.sumehr", "hl7.fhir.eu.eps", "hl7.fhir.uv.ips", "hl7.fhir.be.core-clinical", "hl7.fhir.be.medication")


def _shipped(validator: Validator, names: tuple[str, ...] | None = None) -> list[dict]:
    return [sd for package in validator.registry.packages if names is None or package.name in names
            for sd in package.resources if sd.get("resourceType") == "StructureDefinition"]


def test_definition_rules_pass_every_shipped_structure_definition(validator: Validator) -> None:
    found, checked = set(), 0
    for sd in _shipped(validator):
        out: list = []
        check_structure_definition(Run(validator.definitions, validator.local_valuesets), sd, "StructureDefinition", out)
        checked += 1
        found |= {(sd["url"], issue.message_id) for issue in out}
        assert not errors(out), f"{sd['url']}:\n{describe(out)}"
    assert checked > 1500
    assert found == KNOWN_WARNINGS


@pytest.mark.parametrize("package", WHOLE)
def test_our_and_patient_summary_profiles_validate_without_errors(validator: Validator, package: str) -> None:
    definitions = _shipped(validator, (package,))
    assert definitions
    for sd in definitions:
        issues = validator.issues(sd)
        assert not errors(issues), f"{sd['url']}:\n{describe(errors(issues))}"
