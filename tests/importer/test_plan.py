"""Planning: what requests a file becomes, and why they are safe to send twice."""

from __future__ import annotations

import json
from pathlib import Path

from fhirsrv import fhirjson
from fhirsrv.importer.plan import Identifiers, plan
from fhirsrv.importer.sources import Source, discover

DATA = Path(__file__).resolve().parents[1] / "data" / "importer" / "synthea"


def write(tmp_path: Path, name: str, content: object) -> Source:
    path = tmp_path / name
    if name.endswith(".ndjson"):
        path.write_text("\n".join(json.dumps(r) for r in content) + "\n")
    else:
        path.write_text(json.dumps(content))
    return Source(path)


def test_synthea_shared_files_load_first(tmp_path: Path) -> None:
    for name in ("Alice_1.json", "practitionerInformation1.json", "Zed.ndjson", "hospitalInformation1.json"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "notes.txt").write_text("ignored")
    names = [s.path.name for s in discover([tmp_path])]
    assert names == ["hospitalInformation1.json", "practitionerInformation1.json", "Alice_1.json", "Zed.ndjson"]


def test_transaction_posts_with_ids_become_puts_and_references_follow(tmp_path: Path) -> None:
    identifiers = Identifiers()
    hospital = next(plan(Source(DATA / "hospitalInformation1633536936158.json"), identifiers))
    assert hospital.kind == "batch"
    assert all(r.method == "PUT" and r.url == f"{r.resource['resourceType']}/{r.resource['id']}"
               for r in hospital.requests)
    practitioners = next(plan(Source(DATA / "practitionerInformation1633536936158.json"), identifiers))
    role = next(r for r in practitioners.requests if r.resource["resourceType"] == "PractitionerRole")
    assert role.method == "PUT"

    [patient] = plan(Source(DATA / "Bob965_Keeling57_3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b.json"), identifiers)
    assert patient.kind == "transaction"
    assert patient.not_idempotent == 0
    assert {r.method for r in patient.requests} == {"PUT"}
    text = fhirjson.dumps_str(patient.bundle())
    assert '"reference":"urn:uuid:' not in text  # every entry is now addressed by its own id
    assert all(u is None for u in patient.full_urls)
    assert '"Patient/3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b"' in text
    # conditional references to the hospitals/practitioners loaded before are resolved to ids
    assert "Practitioner?identifier=" not in text and "Organization?identifier=" not in text


def test_transaction_without_ids_keeps_its_fullurls(tmp_path: Path) -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Observation", "subject": {"reference": "urn:uuid:1"}},
         "request": {"method": "POST", "url": "Observation"}},
        {"resource": {"resourceType": "Patient", "id": "x"}, "request": {"method": "PUT", "url": "Patient/x"}},
        {"request": {"method": "DELETE", "url": "Patient/y"}},
    ]}
    [unit] = plan(write(tmp_path, "t.json", bundle), Identifiers())
    assert [(r.method, r.url) for r in unit.requests] == [
        ("POST", "Patient"), ("POST", "Observation"), ("PUT", "Patient/x"), ("DELETE", "Patient/y")]
    assert unit.full_urls[:2] == ["urn:uuid:1", "urn:uuid:2"]
    assert unit.not_idempotent == 2


def test_document_single_resources_and_ndjson(tmp_path: Path) -> None:
    document = {"resourceType": "Bundle", "id": "doc1", "type": "document",
                "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:d"}, "entry": []}
    [unit] = plan(write(tmp_path, "doc.json", document), Identifiers())
    assert (unit.kind, unit.requests[0].method, unit.requests[0].url) == ("single", "PUT", "Bundle/doc1")
    del document["id"]
    [unit] = plan(write(tmp_path, "doc2.json", document), Identifiers())
    assert (unit.requests[0].method, unit.requests[0].if_none_exist) == ("POST", "identifier=urn:ietf:rfc:3986|urn:uuid:d")

    lines = [{"resourceType": "Observation", "id": f"o{n}", "status": "final"} for n in range(5)]
    units = list(plan(write(tmp_path, "obs.ndjson", lines), Identifiers(), batch_size=2))
    assert [u.size for u in units] == [2, 2, 1]
    assert all(u.kind == "batch" for u in units)
    assert units[0].requests[0].url == "Observation/o0"

    collection = {"resourceType": "Bundle", "type": "collection",
                  "entry": [{"resource": {"resourceType": "Patient", "name": [{"family": "NoId"}]}}]}
    units = list(plan(write(tmp_path, "c.json", collection), Identifiers()))
    assert units[0].requests[0].method == "POST" and units[0].not_idempotent == 1
