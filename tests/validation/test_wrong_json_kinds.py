"""Values of the wrong JSON kind where bindings and slicing look are errors, never crashes.

Found by ``bench.validate_fingerprint``'s random edits of the IPS examples: a ``Coding.system``
that is an array reached the value-set lookup as a dict key (TypeError), and a ``coding`` that
is a number reached the slice message writer (TypeError) — each a 500 on the write path.
"""

from __future__ import annotations

import pytest

from .helpers import describe, errors, find
from .test_profiles import IPS_2, bundle_01, entry_of


@pytest.mark.parametrize("system", [[], ["http://loinc.org"], 7])
def test_system_of_the_wrong_kind(validator, system):
    bundle = bundle_01()
    i, observation = entry_of(bundle, "Observation")
    observation["code"]["coding"][0]["system"] = system
    found = validator.issues(bundle, [IPS_2])
    where = f"Bundle.entry[{i}].resource.code.coding[0].system"
    assert find(errors(found), "json-type", where) or find(errors(found), "json-array-unexpected", where), describe(found)


@pytest.mark.parametrize("coding", [True, 7, "x"])
def test_coding_of_the_wrong_kind_in_a_sliced_element(validator, coding):
    bundle = bundle_01()
    i, observation = entry_of(bundle, "Observation")
    observation["category"][0]["coding"] = coding
    found = validator.issues(bundle, [IPS_2])
    assert find(errors(found), "json-array-expected", f"Bundle.entry[{i}].resource.category[0].coding"), describe(found)
