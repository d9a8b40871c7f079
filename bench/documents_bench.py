"""Issue 4 benchmark: document ingest with validation, and $summary latency.

    .venv/bin/python -m bench.documents_bench [--documents 300] [--runs 300]

* ingest: POST the IPS example ``Bundle-01`` (hl7.fhir.uv.ips 2.0.0), each time under a new
  Bundle.identifier and a new patient identifier, first from one client, then from four
  concurrent clients; reported in documents/s (target ≥ 50/s with one client);
* ``$summary``: p50 latency for a patient with about 100 resources (target ≤ 10 ms).
"""

from __future__ import annotations

import argparse
import copy
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from fhirsrv.conformance.packages import load_npm_package

from .harness import PROJECT, measure, report, running_server

HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
SSIN = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"


def bundle_01() -> dict:
    package = load_npm_package(Path(PROJECT / "profiles" / "hl7.fhir.uv.ips-2.0.0.tgz"), with_examples=True)
    return next(e for e in package.examples if e.get("id") == "IPS-examples-Bundle-01")


def fresh_document(template: dict) -> str:
    bundle = copy.deepcopy(template)
    bundle["identifier"] = {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"}
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["identifier"] = [{"system": SSIN, "value": str(uuid.uuid4().int)[:11]}]
    return json.dumps(bundle)


def ingest_rate(base: str, template: dict, count: int, clients: int) -> float:
    bodies = [fresh_document(template) for _ in range(count)]
    sessions = [requests.Session() for _ in range(clients)]

    def post(i: int) -> None:
        response = sessions[i % clients].post(f"{base}/Bundle", data=bodies[i], headers=HEADERS)
        if response.status_code != 201:
            raise RuntimeError(f"ingest failed: {response.status_code} {response.text[:300]}")

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(post, range(count)))
    rate = count / (time.perf_counter() - start)
    print(f"{'ingest Bundle-01, ' + str(clients) + ' client(s)':<40} {rate:7.1f} documents/s   n={count}", flush=True)
    return rate


def coded(system: str, code: str, text: str) -> dict:
    return {"coding": [{"system": system, "code": code}], "text": text}


def patient_with_100_resources(base: str) -> str:
    """Patient + 10 conditions, 5 allergies, 15 medications, 60 lab results, 10 immunizations."""
    s = requests.Session()

    def create(resource: dict) -> str:
        response = s.post(f"{base}/{resource['resourceType']}", data=json.dumps(resource), headers=HEADERS)
        response.raise_for_status()
        return response.json()["id"]

    pid = create({"resourceType": "Patient", "identifier": [{"system": SSIN, "value": "85073003328"}],
                  "name": [{"family": "Peeters", "given": ["An"]}], "birthDate": "1985-07-30", "gender": "female"})
    subject = {"reference": f"Patient/{pid}"}
    sct, loinc = "http://snomed.info/sct", "http://loinc.org"
    active = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}
    for i in range(10):
        create({"resourceType": "Condition", "clinicalStatus": active, "subject": subject,
                "code": coded(sct, str(100000 + i), f"problem {i}"), "onsetDateTime": "2020-01-01"})
    for i in range(5):
        create({"resourceType": "AllergyIntolerance", "patient": subject, "code": coded(sct, str(200000 + i), f"allergen {i}")})
    for i in range(15):
        create({"resourceType": "MedicationStatement", "status": "active" if i % 3 else "stopped", "subject": subject,
                "medicationCodeableConcept": coded(sct, str(300000 + i), f"drug {i}"), "effectiveDateTime": "2024-01-01",
                "dosage": [{"text": "1 tablet daily"}]})
    for i in range(60):
        create({"resourceType": "Observation", "status": "final", "subject": subject,
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                          "code": "laboratory"}]}],
                "code": coded(loinc, f"{1000 + i % 12}-0", f"test {i % 12}"),
                "effectiveDateTime": f"2024-{1 + i // 12:02d}-01", "valueQuantity": {"value": 4.25 + i, "unit": "mmol/L"}})
    for i in range(10):
        create({"resourceType": "Immunization", "status": "completed", "patient": subject,
                "vaccineCode": coded(sct, str(400000 + i), f"vaccine {i}"), "occurrenceDateTime": "2019-05-01"})
    return pid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    template = bundle_01()
    with running_server(workers=2) as base:
        ingest_rate(base, template, 30, 1)  # warm-up: compile profiles, fill pools
        ingest_rate(base, template, args.documents, 1)
        ingest_rate(base, template, args.documents, 4)
        pid = patient_with_100_resources(base)
        s = requests.Session()
        report("$summary, patient with ~100 resources", measure(
            lambda i: s.get(f"{base}/Patient/{pid}/$summary", headers=HEADERS).raise_for_status(), args.runs))
        report("$summary?identifier=, same patient", measure(
            lambda i: s.get(f"{base}/Patient/$summary", params={"identifier": f"{SSIN}|85073003328"},
                            headers=HEADERS).raise_for_status(), args.runs))
    print(f"command: .venv/bin/python -m bench.documents_bench --documents {args.documents} --runs {args.runs}")


if __name__ == "__main__":
    main()
