"""The FHIRPath fast path agrees with fhirpathpy (it must never change a verdict)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhirsrv import fhirjson
from fhirsrv.conformance.packages import load_npm_package
from fhirsrv.validation import invariants
from fhirsrv.validation.fastpath import Fallback, compile_fast

PROFILES = Path(__file__).resolve().parents[2] / "profiles"


@pytest.mark.parametrize(
    ("expression", "data", "expected"),
    [
        ("code.empty() or system.exists()", {"code": "x"}, [False]),
        ("code.empty() or system.exists()", {"code": "x", "system": "s"}, [True]),
        ("a.exists() implies b.exists()", {}, [True]),
        ("a.count() + b.count() <= 1", {"a": [1, 2]}, [False]),
        ("a.where(b = 'x').exists()", {"a": [{"b": "y"}, {"b": "x"}]}, [True]),
        ("a.all(b.exists())", {"a": [{"b": 1}, {}]}, [False]),
        ("reference.startsWith('#').not()", {"reference": "#c1"}, [False]),
        ("entry.first().resource is Composition", {"entry": [{"resource": {"resourceType": "Composition"}}]}, [True]),
        ("response.count() = 0", {"responseCode": "200"}, [True]),  # not a choice element
    ],
)
def test_subset_semantics(validator, expression, data, expected):
    assert compile_fast(expression)(data, None, None) == expected


def test_primitive_extensions_fall_back(validator):
    with pytest.raises(Fallback):
        compile_fast("birthDate.exists()")({"_birthDate": {"extension": []}}, None, None)


def test_unsupported_expressions_are_not_compiled():
    assert compile_fast("descendants().where(x = 1).exists()") is None
    assert compile_fast("value.ofType(Quantity).exists()") is None


def test_fast_path_agrees_with_fhirpathpy_on_ips_examples(validator, monkeypatch):
    monkeypatch.setattr(invariants, "CROSSCHECK", True)
    for example in load_npm_package(PROFILES / "hl7.fhir.uv.ips-2.0.0.tgz", with_examples=True).examples:
        validator.issues(fhirjson.loads(fhirjson.dumps(example)))  # asserts inside on any disagreement
