"""Issue 2 benchmark: create, read, search and a 16-entry transaction via HTTP to gunicorn.

    .venv/bin/python -m bench.rest_bench [--patients 10000] [--runs 500] [--data-dir DIR]

Loads N patients (each with 2 Observations) through the API with a few concurrent clients,
then measures one request at a time (no concurrency) so that the figures are latencies.

Each scenario is measured twice, one request at a time:

* ``lean``: a bare ``http.client`` keep-alive connection (:mod:`bench.lean_client`) — what
  the *server* takes, the figure the issue-2 targets are about; during this run the CPU time
  of the gunicorn workers and of the Postgres cluster is sampled, and reported per request
  (``server CPU``), a figure that holds on a busy shared machine too;
* ``requests``: Python ``requests`` with a Session — what a Python client sees, its own
  0.5–1 ms per call included.

``--data-dir`` keeps the loaded database in that folder and reuses it on the next run (loading
10,000 patients takes minutes); without it, a temporary folder is loaded and deleted.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from .harness import measure, report, started_server
from .lean_client import LeanClient, ServerCpu

FAMILIES = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "Dubois"]
HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
SCENARIOS = ("create", "read", "search-name", "search-patient", "transaction")


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


def load(base: str, start: int, count: int) -> None:
    """Patients ``start`` .. ``count - 1``, each with 2 Observations, from 4 client threads."""
    clients: dict[int, LeanClient] = {}

    def one(i: int) -> None:
        client = clients.setdefault(i % 4, LeanClient(base))
        pid = json.loads(client.ok("POST", "/Patient", json.dumps(patient(i)).encode()))["id"]
        for v in (70.5, 71.25):
            client.ok("POST", "/Observation", json.dumps(observation(pid, v)).encode())

    # one client per thread: thread k handles the indexes i with i % 4 == k
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda k: [one(i) for i in range(start + k, count, 4)], range(4)))


def patient_ids(client: LeanClient) -> list[str]:
    ids: list[str] = []
    params: dict[str, str] | None = {"_elements": "id", "_count": "1000", "_total": "none"}
    path = "/Patient"
    while path:
        page = json.loads(client.ok("GET", path, params=params))
        ids += [e["resource"]["id"] for e in page.get("entry", [])]
        following = next((link["url"] for link in page.get("link", []) if link["relation"] == "next"), None)
        path, params = ("", None) if following is None else (following.split(client.prefix, 1)[1], None)
    return ids


def warm_up(base: str, ids: list[str], names: list[str], clients: int = 4, each: int = 40) -> None:
    """Every scenario from several connections at once, so that every gunicorn worker has
    compiled its validators and prepared its statements before anything is measured (a
    keep-alive connection stays with one worker; a reused data folder skips the loading that
    would otherwise warm them)."""
    def run(k: int) -> None:
        client = LeanClient(base)
        for name in names:
            make = scenarios(ids)[name]
            for i in range(each):
                client.ok(*make(k * each + i))
        client.close()

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(run, range(clients)))


def scenarios(ids: list[str]) -> dict[str, Callable[[int], tuple[str, str, bytes | None, dict[str, str] | None]]]:
    """name -> (i -> method, path, body, query): the same requests for both clients."""
    return {
        "create": lambda i: ("POST", "/Patient", json.dumps(patient(i)).encode(), None),
        "read": lambda i: ("GET", f"/Patient/{ids[i * 7919 % len(ids)]}", None, None),
        "search-name": lambda i: ("GET", "/Patient", None, {"name": f"{FAMILIES[i % 10]}{i % 997}"}),
        "search-patient": lambda i: ("GET", "/Observation", None, {"patient": ids[i * 7919 % len(ids)]}),
        "transaction": lambda i: ("POST", "", json.dumps(transaction(16)).encode(), None),
    }


TITLES = {"create": "create Patient", "read": "read Patient", "search-name": "search Patient?name=",
          "search-patient": "search Observation?patient=", "transaction": "transaction of 16 entries"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--data-dir", type=Path, help="keep (and reuse) the loaded database in this folder")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}")
    parser.add_argument("--client", choices=("lean", "requests", "both"), default="both")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    if args.data_dir is not None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        args.data_dir.chmod(0o755)
    with started_server(workers=args.workers, data_dir=args.data_dir) as server:
        base = server.base
        lean = LeanClient(base)
        have = json.loads(lean.ok("GET", "/Patient", params={"_summary": "count"}))["total"]
        if have < args.patients:
            load(base, have, args.patients)
        ids = patient_ids(lean)
        print(f"{len(ids)} patients loaded, 2 Observations each; "
              f"gunicorn {args.workers} workers x FHIRSRV_THREADS threads", flush=True)
        warm_up(base, ids, wanted)
        cpu = ServerCpu(server.pid, server.postmaster_pid)
        session = requests.Session()
        session.headers.update(HEADERS)
        for name in wanted:
            make = scenarios(ids)[name]
            if args.client in {"lean", "both"}:
                before = cpu.sample()
                timings = measure(lambda i, make=make: lean.ok(*make(i)), args.runs)
                per = ServerCpu.per_request(before, cpu.sample(), args.runs + 20)
                report(f"{TITLES[name]} [lean]", timings)
                print(f"{'':<40} server CPU per request: gunicorn {per.workers:.2f} ms + "
                      f"postgres {per.postgres:.2f} ms", flush=True)
            if args.client in {"requests", "both"}:
                def call(i: int, make=make) -> None:
                    method, path, body, params = make(i)
                    session.request(method, base + path, data=body, params=params).raise_for_status()
                report(f"{TITLES[name]} [requests]", measure(call, args.runs))
        lean.close()
    print(f"command: .venv/bin/python -m bench.rest_bench {shlex.join(sys.argv[1:])}")


if __name__ == "__main__":
    main()
