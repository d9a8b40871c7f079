"""Benchmark: a 16-entry transaction Bundle through HTTP (target: p50 <= 20 ms).

Each request is a fresh transaction of one Patient, one Encounter and 14 Observations that
point at them by ``urn:uuid:`` fullUrls — the shape of an EHR pushing one visit. The server
is a real ``fhirsrv serve`` (gunicorn) on loopback: given with ``--url``, or started by the
shared harness on a data folder of its own (embedded Postgres) and stopped after.

    .venv/bin/python -m bench.transaction_bench [--url http://127.0.0.1:8080/fhir] [-n 500]

``--cpu`` measures instead what a transaction costs in CPU (Python and the Postgres backend),
in-process: a figure that does not depend on how busy a shared machine is.

``--conditional`` makes the Patient a conditional create (``ifNoneExist`` on its identifier)
and the Observations name their performer by a conditional reference, which exercises the
search engine inside the transaction.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from .harness import PROJECT, measure, report, running_server

HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
MRN = "https://bench.fhirsrv.dev/mrn"
NPI = "http://hl7.org/fhir/sid/us-npi"


def transaction(conditional: bool) -> bytes:
    """One 16-entry transaction with fresh identifiers (nothing is shared between requests)."""
    patient_url, encounter_url = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    mrn = str(uuid.uuid4())
    patient_request = {"method": "POST", "url": "Patient"}
    if conditional:
        patient_request["ifNoneExist"] = f"identifier={MRN}|{mrn}"
    entries = [
        {"fullUrl": patient_url, "request": patient_request, "resource": {
            "resourceType": "Patient", "identifier": [{"system": MRN, "value": mrn}],
            "name": [{"family": "Bench", "given": ["Mark"]}], "gender": "female", "birthDate": "1970-01-01"}},
        {"fullUrl": encounter_url, "request": {"method": "POST", "url": "Encounter"}, "resource": {
            "resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": patient_url}, "period": {"start": "2024-03-01T09:00:00Z"}}},
    ]
    for i in range(14):
        observation = {
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
            "subject": {"reference": patient_url}, "encounter": {"reference": encounter_url},
            "effectiveDateTime": "2024-03-01T09:05:00Z",
            "valueQuantity": {"value": 60 + i, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
        }
        if conditional:
            observation["performer"] = [{"reference": f"Practitioner?identifier={NPI}|9999999999"}]
        entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "request": {"method": "POST", "url": "Observation"},
                        "resource": observation})
    return json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}).encode()


@contextmanager
def server(url: str | None, workers: int) -> Iterator[str]:
    """The given server, or a gunicorn started (and stopped) here by the shared harness."""
    if url:
        yield url.rstrip("/")
        return
    data_dir = Path(tempfile.mkdtemp(prefix="fhirsrv-bench-", dir=PROJECT / ".fhirsrv"))
    try:
        with running_server(workers=workers, data_dir=data_dir) as base:
            yield base
    finally:
        remove_cluster(data_dir)


def remove_cluster(data_dir: Path) -> None:
    """Delete a bench's data folder and its stopped cluster, which, run as root, may have been
    placed outside it (``/var/lib/fhirsrv/pgdata-…``, see :mod:`fhirsrv.db.embedded`)."""
    from fhirsrv.db.embedded import EmbeddedPostgres

    cluster = EmbeddedPostgres(data_dir / "pgdata")  # where that folder's cluster lives
    if not cluster.is_running():
        shutil.rmtree(cluster.pgdata, ignore_errors=True)
        shutil.rmtree(cluster.control_dir, ignore_errors=True)
    shutil.rmtree(data_dir, ignore_errors=True)


def run(base: str, count: int, warmup: int, conditional: bool) -> list[float]:
    session = requests.Session()
    session.headers.update({**HEADERS, "Prefer": "return=minimal"})
    if conditional:  # the Practitioner the conditional references designate
        session.put(f"{base}/Practitioner/bench-npi", data=json.dumps({
            "resourceType": "Practitioner", "id": "bench-npi",
            "identifier": [{"system": NPI, "value": "9999999999"}]})).raise_for_status()
    bodies = [transaction(conditional) for _ in range(count + warmup)]

    def post(i: int) -> None:
        answer = session.post(base, data=bodies[i])
        if answer.status_code != 200:
            raise SystemExit(f"transaction failed: {answer.status_code} {answer.text[:500]}")

    return measure(post, count, warmup)


def cpu_cost(count: int, warmup: int, conditional: bool) -> tuple[float, float, float]:
    """(Python CPU, Postgres backend CPU, wall) in ms per transaction, measured in-process
    (Flask test client, one pooled connection): what a transaction costs, independent of how
    busy the machine is — on a shared machine the wall-clock latency mostly measures the wait
    for a CPU."""
    import psutil

    from fhirsrv.app import create_app
    from fhirsrv.config import Settings
    from fhirsrv.db.database import open_database

    data_dir = Path(tempfile.mkdtemp(prefix="fhirsrv-bench-", dir=PROJECT / ".fhirsrv"))
    settings = Settings.from_env().with_(data_dir=data_dir, pool_min=1, pool_max=1)
    database = open_database(settings)
    try:
        app = create_app(settings, conninfo=database.conninfo)
        client = app.test_client()
        headers = {**HEADERS, "Prefer": "return=minimal"}
        if conditional:
            client.put("/fhir/Practitioner/bench-npi", headers=headers, data=json.dumps({
                "resourceType": "Practitioner", "id": "bench-npi", "identifier": [{"system": NPI, "value": "9999999999"}]}))
        bodies = [transaction(conditional) for _ in range(count + warmup)]
        for body in bodies[:warmup]:
            client.post("/fhir", data=body, headers=headers)
        with app.extensions["fhirsrv"].pool.connection() as conn:
            backend = psutil.Process(conn.info.backend_pid)
        python0, pg0, wall0 = time.process_time(), sum(backend.cpu_times()[:2]), time.perf_counter()
        for body in bodies[warmup:]:
            if client.post("/fhir", data=body, headers=headers).status_code != 200:
                raise SystemExit("transaction failed")
        python1, pg1, wall1 = time.process_time(), sum(backend.cpu_times()[:2]), time.perf_counter()
        app.extensions["fhirsrv"].close()
    finally:
        database.release()
        remove_cluster(data_dir)
    return tuple(1000 * d / count for d in (python1 - python0, pg1 - pg0, wall1 - wall0))  # type: ignore[return-value]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="base URL of a running fhirsrv (default: start one here)")
    parser.add_argument("-n", "--count", type=int, default=500, help="measured transactions (default 500)")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers when started here")
    parser.add_argument("--conditional", action="store_true",
                        help="conditional create + conditional references (needs the search engine)")
    parser.add_argument("--cpu", action="store_true",
                        help="instead: CPU cost per transaction, in-process (Python and Postgres)")
    args = parser.parse_args()
    if args.cpu:
        python, postgres, wall = cpu_cost(args.count, args.warmup, args.conditional)
        print(f"16-entry transaction CPU cost: Python {python:.1f} ms + Postgres backend {postgres:.1f} ms "
              f"(wall {wall:.1f} ms, in-process, n={args.count})")
        print(f"  command: .venv/bin/python -m bench.transaction_bench {shlex.join(sys.argv[1:])}")
        return 0
    with server(args.url, args.workers) as base:
        timings = run(base, args.count, args.warmup, args.conditional)
    kind = "conditional " if args.conditional else ""
    report(f"16-entry {kind}transaction (target p50 <= 20 ms)", timings)
    where = args.url or f"gunicorn started here, {args.workers} workers, embedded Postgres"
    print(f"  command: .venv/bin/python -m bench.transaction_bench {shlex.join(sys.argv[1:])}  ({where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
