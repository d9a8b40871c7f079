"""Document ingest through POST /Bundle against the real Postgres."""

from __future__ import annotations

import json

from .examples import example, fresh, unique_ssin


def _post(fhir, bundle):
    return fhir.post("Bundle", data=json.dumps(bundle))


def _without_server_fields(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in {"id", "meta"}}


def test_bundle_01_is_stored_as_received_and_decomposed(fhir):
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    created = _post(fhir, bundle)
    assert created.status_code == 201, created.text
    bid = created.json()["id"]
    read = fhir.get(f"Bundle/{bid}")
    assert _without_server_fields(read.json()) == _without_server_fields(bundle)
    assert json.dumps(_without_server_fields(read.json())) == json.dumps(_without_server_fields(bundle))
    docref = fhir.get(created.headers["X-Document-Reference"]).json()
    assert docref["status"] == "current"
    assert docref["type"]["coding"][0]["code"] == "60591-5"
    assert docref["content"][0]["attachment"]["url"] == f"Bundle/{bid}"
    patient_ref = docref["subject"]["reference"]
    # every entry stored under a server id, references rewritten
    composition = fhir.get(f"Composition/{_composition_id(fhir, docref)}").json()
    assert composition["subject"]["reference"] == patient_ref
    for section in composition["section"]:
        for entry in section.get("entry", []):
            assert not entry["reference"].startswith("urn:"), entry
            assert fhir.get(entry["reference"]).status_code == 200
    assert composition["meta"]["source"] == f"Bundle/{bid}"


def _composition_id(fhir, docref) -> str:
    bid = docref["content"][0]["attachment"]["url"].split("/")[1]
    del bid
    return docref["identifier"][0]["value"] and _find_composition(fhir, docref)


def _find_composition(fhir, docref) -> str:
    # the Composition id is recorded in the document registry; found through the author rewrite
    history = fhir.get("Composition/_history?_count=200").json()
    for entry in history.get("entry", []):
        resource = entry.get("resource") or {}
        if resource.get("meta", {}).get("source") == docref["content"][0]["attachment"]["url"]:
            return resource["id"]
    raise AssertionError("composition not found")
