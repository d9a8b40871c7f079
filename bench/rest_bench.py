"""Issue 2 benchmark: create, read, search and a 16-entry transaction via HTTP to gunicorn.

    .venv/bin/python -m bench.rest_bench [--patients 10000] [--runs 300]

Loads N patients (each with 2 Observations) through the API with a few concurrent clients,
then measures one request at a time (no concurrency) so that the figures are latencies.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from .harness import measure, report, running_server

FAMILIES = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "Dubois"]
HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}


def patient(i: int) -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "https://example.org/mrn", "value": f"MRN-{i}"}],
        "name": [{"family": f"{random.choice(FAMILIES)}{i % 997}", "given": [f"Given{i}"]}],
        "gender": random.choice(["male", "female"]),
        "birthDate": f"{1940 + i % 80}-0{1 + i % 9}-1{i % 9}",
    }


def observation(patient_id: str, value: float) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2024-05-01T10:00:00Z",
        "valueQuantity": {"value": value, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
    }


def transaction(n: int) -> dict:
    pid = f"urn:uuid:{uuid.uuid4()}"
    entries = [{"fullUrl": pid, "resource": patient(random.randint(0, 10**6)),
                "request": {"method": "POST", "url": "Patient"}}]
    for k in range(n - 1):
        obs = observation("x", 60 + k)
        obs["subject"] = {"reference": pid}
        entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": obs,
                        "request": {"method": "POST", "url": "Observation"}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def load(base: str, count: int) -> list[str]:
    session = requests.Session()

    def one(i: int) -> str:
        pid = session.post(f"{base}/Patient", data=json.dumps(patient(i)), headers=HEADERS).json()["id"]
        for v in (70.5, 71.25):
            session.post(f"{base}/Observation", data=json.dumps(observation(pid, v)), headers=HEADERS)
        return pid

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(count)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    with running_server(workers=2) as base:
        ids = load(base, args.patients)
        print(f"loaded {len(ids)} patients with 2 Observations each")
        s = requests.Session()
        report("create Patient", measure(
            lambda i: s.post(f"{base}/Patient", data=json.dumps(patient(i)), headers=HEADERS).raise_for_status(),
            args.runs))
        report("read Patient", measure(lambda i: s.get(f"{base}/Patient/{ids[i % len(ids)]}").raise_for_status(),
                                       args.runs))
        report("search Patient?name=", measure(
            lambda i: s.get(f"{base}/Patient", params={"name": f"{FAMILIES[i % 10]}{i % 997}"}).raise_for_status(),
            args.runs))
        report("search Observation?patient=", measure(
            lambda i: s.get(f"{base}/Observation", params={"patient": ids[i % len(ids)]}).raise_for_status(),
            args.runs))
        report("transaction of 16 entries", measure(
            lambda i: s.post(base, data=json.dumps(transaction(16)), headers=HEADERS).raise_for_status(),
            args.runs))
    print(f"command: .venv/bin/python -m bench.rest_bench --patients {args.patients} --runs {args.runs}")


if __name__ == "__main__":
    main()
