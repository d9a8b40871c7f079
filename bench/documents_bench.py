"""Issue 4 benchmark: document ingest with validation, and $summary latency — one command.

    .venv/bin/python -m bench.documents_bench              # everything, HTTP (gunicorn) + in-process CPU
    .venv/bin/python -m bench.documents_bench --part ingest --documents 300
    .venv/bin/python -m bench.documents_bench --no-cpu     # wall-clock figures only

* ingest: POST the IPS example ``Bundle-01`` (hl7.fhir.uv.ips 2.0.0, 22 entries), each time
  under a new Bundle.identifier and a new patient identifier, first from one client, then
  from four concurrent clients, to a gunicorn server (2 workers) started here with its own
  embedded Postgres (fsync on); in documents/s (target ≥ 50/s with one client);
* ``$summary``: p50 latency for a patient with about 100 resources (target ≤ 10 ms);
* CPU (``--cpu``, on by default): the same two requests in-process (Flask test client, one
  pooled connection): Python CPU of this process and CPU of the Postgres backend per request,
  with validation on and off — what a request *costs*, which a loaded machine does not blur
  the way it blurs wall-clock time.

Every run ends with the conditions (date, commit, load average) to paste in bench/README.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


def patient_with_100_resources(base: str, post: Callable[[str, str], Any] | None = None) -> str:
    """Patient + 10 conditions, 5 allergies, 15 medications, 60 lab results, 10 immunizations.

    ``post(url, body) -> the created resource``: how to send (default: HTTP with requests).
    """
    if post is None:
        session = requests.Session()

        def post(url: str, body: str) -> Any:
            response = session.post(url, data=body, headers=HEADERS)
            response.raise_for_status()
            return response.json()

    def create(resource: dict) -> str:
        return post(f"{base}/{resource['resourceType']}", json.dumps(resource))["id"]

    pid = create({"resourceType": "Patient", "identifier": [{"system": SSIN, "value": "85073003328"}],
                  "name": [{"family": "Peeters", "given": ["An"]}], "birthDate": "1985-07-30", "gender": "female"})
    subject = {"reference": f"Patient/{pid}"}
    sct, loinc = "http://snomed.info/sct", "http://loinc.org"
    active = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}
    for i in range(10):
        create({"resourceType": "Condition", "clinicalStatus": active, "subject": subject,
                "code": coded(sct, str(100000 + i), f"problem {i}"), "onsetDateTime": "2020-01-01"})
    for i in range(5):
        create({"resourceType": "AllergyIntolerance", "patient": subject, "clinicalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
            "code": coded(sct, str(200000 + i), f"allergen {i}")})
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


def http_figures(template: dict, documents: int, runs: int, part: str) -> None:
    with running_server(workers=2) as base:
        if part in ("all", "ingest"):
            # warm-up: compile the profiles and fill the pools of *every* worker — each run opens
            # new connections, which gunicorn may hand to a worker the warm-up never reached
            # (its first documents then cost seconds of compiling inside the measurement)
            ingest_rate(base, template, 48, 8)
            ingest_rate(base, template, documents, 1)
            ingest_rate(base, template, documents, 4)
        if part == "ingest":
            return
        pid = patient_with_100_resources(base)
        s = requests.Session()
        report("$summary, patient with ~100 resources", measure(
            lambda i: s.get(f"{base}/Patient/{pid}/$summary", headers=HEADERS).raise_for_status(), runs))
        report("$summary?identifier=, same patient", measure(
            lambda i: s.get(f"{base}/Patient/$summary", params={"identifier": f"{SSIN}|85073003328"},
                            headers=HEADERS).raise_for_status(), runs))


@contextmanager
def in_process(validate: bool) -> Iterator[Any]:
    """The application in-process (Flask test client) on an embedded Postgres of its own, with
    exactly two pooled connections (a request may hold a second one: the stored-terminology
    generation check), authentication off as in the HTTP run."""
    from fhirsrv.app import create_app
    from fhirsrv.config import Settings
    from fhirsrv.db.database import open_database

    from .transaction_bench import remove_cluster

    (PROJECT / ".fhirsrv").mkdir(exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="fhirsrv-bench-", dir=PROJECT / ".fhirsrv"))
    settings = Settings.from_env().with_(data_dir=data_dir, pool_min=2, pool_max=2, auth="off",
                                         validate_on_write=validate, log_level="WARNING")
    database = open_database(settings)
    try:
        app = create_app(settings, conninfo=database.conninfo)
        try:
            yield app
        finally:
            app.extensions["fhirsrv"].close()
    finally:
        database.release()
        remove_cluster(data_dir)


def cpu_per_call(app: Any, call: Callable[[int], None], count: int, warmup: int = 10) -> tuple[float, float, float]:
    """(Python CPU, Postgres backends' CPU, wall) in ms per ``call(i)``."""
    import psutil

    for i in range(warmup):
        call(i)
    pool = app.extensions["fhirsrv"].pool
    with pool.connection() as one, pool.connection() as two:  # the pool's only two connections
        backends = [psutil.Process(c.info.backend_pid) for c in (one, two)]

    def postgres() -> float:
        return sum(sum(b.cpu_times()[:2]) for b in backends)

    python0, pg0, wall0 = time.process_time(), postgres(), time.perf_counter()
    for i in range(count):
        call(warmup + i)
    python1, pg1, wall1 = time.process_time(), postgres(), time.perf_counter()
    return tuple(1000 * d / count for d in (python1 - python0, pg1 - pg0, wall1 - wall0))  # type: ignore[return-value]


def _ingest_cpu(app: Any, template: dict, documents: int) -> tuple[float, float, float]:
    client = app.test_client()
    bodies = [fresh_document(template) for _ in range(documents + 10)]

    def post(i: int) -> None:
        answer = client.post("/fhir/Bundle", data=bodies[i], headers=HEADERS)
        if answer.status_code != 201:
            raise RuntimeError(f"ingest failed: {answer.status_code} {answer.data[:300]!r}")

    return cpu_per_call(app, post, documents)


def _summary_cpu(app: Any, runs: int) -> tuple[float, float, float]:
    client = app.test_client()

    def created(url: str, body: str) -> Any:
        answer = client.post(url, data=body, headers=HEADERS)
        assert answer.status_code == 201, answer.data[:300]
        return answer.json

    pid = patient_with_100_resources("/fhir", created)

    def summary(i: int) -> None:
        assert client.get(f"/fhir/Patient/{pid}/$summary", headers=HEADERS).status_code == 200

    return cpu_per_call(app, summary, runs)


def cpu_figures(template: dict, documents: int, runs: int, part: str) -> None:
    """What one ingest and one $summary cost in CPU, in-process."""

    def line(name: str, figures: tuple[float, float, float], n: int) -> None:
        python, postgres, wall = figures
        print(f"{name:<40} Python {python:6.2f} ms + Postgres {postgres:5.2f} ms CPU"
              f"   (wall {wall:6.2f} ms, n={n})", flush=True)

    for validate in ((True, False) if part in ("all", "ingest") else (True,)):
        with in_process(validate) as app:
            if part in ("all", "ingest"):
                line(f"ingest Bundle-01, validation {'on' if validate else 'off'}",
                     _ingest_cpu(app, template, documents), documents)
            if part in ("all", "summary") and validate:
                line("$summary, patient with ~100 resources", _summary_cpu(app, runs), runs)


def conditions() -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True,
                            text=True).stdout.strip() or "?"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}, load average {load}, {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200, help="documents per ingest measurement (200)")
    parser.add_argument("--runs", type=int, default=300, help="$summary calls measured (300)")
    parser.add_argument("--part", choices=("all", "ingest", "summary"), default="all")
    parser.add_argument("--cpu", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure the CPU cost in-process (default on)")
    parser.add_argument("--http", action=argparse.BooleanOptionalAction, default=True,
                        help="measure through HTTP against gunicorn (default on)")
    args = parser.parse_args()
    template = bundle_01()
    print(f"start: {conditions()}", flush=True)
    if args.http:
        http_figures(template, args.documents, args.runs, args.part)
    if args.cpu:
        cpu_figures(template, args.documents, args.runs, args.part)
    print(f"end: {conditions()}")
    print(f"command: .venv/bin/python -m bench.documents_bench --documents {args.documents} --runs {args.runs}"
          f" --part {args.part}{'' if args.cpu else ' --no-cpu'}{'' if args.http else ' --no-http'}")


if __name__ == "__main__":
    main()
