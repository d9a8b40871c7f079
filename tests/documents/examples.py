"""Package examples read from profiles/: IPS 1.1.0 / 2.0.0 (CC0), EU PS (CC0), our Sumehr-like."""

from __future__ import annotations

import copy
import json
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from fhirsrv.conformance.packages import load_npm_package

PROFILES = Path(__file__).resolve().parents[2] / "profiles"
SSIN = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"


PACKAGES = {
    "2.0.0": "hl7.fhir.uv.ips-2.0.0",
    "1.1.0": "hl7.fhir.uv.ips-1.1.0",
    "eps": "hl7.fhir.eu.eps-1.0.0-xtehr",
    "sumehr": "fhirsrv.be.sumehr-0.1.0",
}


@lru_cache(maxsize=4)
def _examples(version: str) -> dict[str, dict[str, Any]]:
    """Examples of the IPS package ``version`` (or of the EPS / Sumehr-like package)."""
    package = load_npm_package(PROFILES / f"{PACKAGES[version]}.tgz", with_examples=True)
    return {f"{e['resourceType']}/{e.get('id')}": e for e in package.examples}


def example(version: str, key: str) -> dict[str, Any]:
    return copy.deepcopy(_examples(version)[key])


def document_bundles(version: str) -> list[str]:
    return sorted(k for k, v in _examples(version).items() if k.startswith("Bundle/") and v.get("type") == "document")


def fresh(bundle: dict[str, Any], *, patient_value: str | None = None) -> dict[str, Any]:
    """A copy with a new Bundle.identifier (tests share one database) and, optionally, a
    unique patient identifier so that patient matching does not join unrelated tests."""
    out = copy.deepcopy(bundle)
    out["identifier"] = {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"}
    if patient_value is not None:
        patient = patient_of(out)
        patient["identifier"] = [{"system": SSIN, "value": patient_value}]
    return out


def patient_of(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


def unique_ssin() -> str:
    return str(uuid.uuid4().int)[:11]


def summary_of(source: dict, *, date: str, drop_food_allergy: bool = False) -> dict:
    """Another summary of ``source``'s patient from the same source (custodian), dated ``date``;
    ``drop_food_allergy``: without its "no known food allergy" entry."""
    bundle = copy.deepcopy(source)
    bundle["identifier"]["value"] += date
    composition = bundle["entry"][0]["resource"]
    composition["date"] = date
    if drop_food_allergy:
        food = next(e for e in bundle["entry"] if "No known food allergy" in json.dumps(e["resource"].get("code", {})))
        bundle["entry"].remove(food)
        for section in composition["section"]:
            section["entry"] = [r for r in section.get("entry", []) if r["reference"] != food["fullUrl"]] or section.get("entry")
            if not section["entry"]:
                section.pop("entry")
    return bundle
