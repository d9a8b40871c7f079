"""Search benchmark: 10,000 patients (+3 observations each), searched over HTTP via gunicorn.

Run:  .venv/bin/python bench/search_bench.py [--patients 10000] [--requests 500]

Uses DATABASE_URL when set, else an embedded Postgres in a temporary folder. Loads the data
through the real repository and indexer (so it also measures indexing), starts
``fhirsrv serve`` (gunicorn) on a free port, and prints p50/p95 latencies of
``Patient?name=`` and ``Observation?patient=`` plus the cost of a 16-resource write
transaction (storage + index, without HTTP) — with the command that produced them.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fhirsrv.config import Settings  # noqa: E402
from fhirsrv.conformance.r4 import load_model  # noqa: E402
from fhirsrv.db.embedded import EmbeddedPostgres  # noqa: E402
from fhirsrv.db.migrate import migrate  # noqa: E402
from fhirsrv.store.indexer import Indexer  # noqa: E402
from fhirsrv.store.repository import ResourceStore  # noqa: E402

SYLLABLES = ["ka", "mo", "ri", "ve", "lan", "tor", "si", "bel", "dru", "pe", "gan", "os", "mi", "ul", "zer"]


def family(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()


def patient(rng: random.Random, pid: str) -> dict:
    return {
        "resourceType": "Patient", "id": pid, "active": True,
        "identifier": [{"system": "urn:bench:mrn", "value": pid}],
        "name": [{"family": family(rng), "given": [family(rng)]}],
        "gender": rng.choice(["male", "female"]),
        "birthDate": f"{rng.randint(1930, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "address": [{"city": rng.choice(["Brussels", "Gent", "Liège", "Namur"]), "postalCode": "1000"}],
    }


def observation(rng: random.Random, pid: str, n: int) -> dict:
    return {
        "resourceType": "Observation", "id": f"{pid}-o{n}", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": rng.choice(["8867-4", "8480-6", "29463-7"])}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z",
        "valueQuantity": {"value": rng.randint(40, 140), "unit": "/min", "system": "http://unitsofmeasure.org",
                          "code": "/min"},
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load(conninfo: str, store: ResourceStore, patients: int, rng: random.Random) -> tuple[list[str], list[str], float]:
    ids: list[str] = []
    names: list[str] = []
    started = time.perf_counter()
    with psycopg.connect(conninfo) as conn:
        batch: list[dict] = []
        for n in range(patients):
            pid = f"p{n}"
            p = patient(rng, pid)
            ids.append(pid)
            names.append(p["name"][0]["family"])
            batch += [p, *(observation(rng, pid, k) for k in range(3))]
            if len(batch) >= 400 or n == patients - 1:
                with conn.transaction(), conn.cursor() as cur:
                    for resource in batch:
                        store.update(cur, resource["resourceType"], resource["id"], resource)
                batch = []
        conn.execute("ANALYZE")
    return ids, names, time.perf_counter() - started


def write_transactions(conninfo: str, store: ResourceStore, rng: random.Random, rounds: int = 50) -> list[float]:
    """16 resources (1 patient + 15 observations) in one transaction, storage + index only."""
    timings: list[float] = []
    with psycopg.connect(conninfo) as conn:
        for _ in range(rounds):
            pid = f"t{uuid.uuid4().hex[:10]}"
            resources = [patient(rng, pid), *(observation(rng, pid, k) for k in range(15))]
            started = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur:
                for resource in resources:
                    store.create(cur, resource["resourceType"], resource)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(session: requests.Session, urls: list[str]) -> list[float]:
    timings: list[float] = []
    for url in urls:
        started = time.perf_counter()
        response = session.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
    return timings


def sample_ids(conninfo: str) -> tuple[list[str], list[str]]:
    """Patient ids and family names of a database loaded by this script."""
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute("SELECT id, body->'name'->0->>'family' FROM resource "
                            "WHERE rtype = 'Patient' AND current AND id LIKE 'p%' LIMIT 20000").fetchall()
    return [r[0] for r in rows], [r[1] for r in rows if r[1]]


def measure_http(conninfo: str, ids: list[str], names: list[str], args: argparse.Namespace,
                 rng: random.Random, tmp: Path) -> int:
    """Start ``fhirsrv serve`` (gunicorn) on the database and time the two searches."""
    server = None
    try:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": conninfo, "FHIRSRV_PORT": str(port), "FHIRSRV_LOG_LEVEL": "WARNING",
               "FHIRSRV_DATA_DIR": str(tmp / "data")}
        server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "fhirsrv"), "serve"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}/fhir"
        session = requests.Session()
        session.headers["Accept"] = "application/fhir+json"
        deadline = time.monotonic() + 180  # the master loads definitions before forking
        while True:
            try:
                if session.get(f"{base}/metadata").status_code == 200:
                    break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("fhirsrv serve did not answer within 180 s") from None
                time.sleep(0.2)
        by_name = [f"{base}/Patient?name={rng.choice(names)[:6]}" for _ in range(args.requests)]
        by_patient = [f"{base}/Observation?patient={rng.choice(ids)}" for _ in range(args.requests)]
        measure(session, by_name[:50] + by_patient[:50])  # warm up every worker
        for label, urls in (("Patient?name=", by_name), ("Observation?patient=", by_patient)):
            timings = measure(session, urls)
            print(f"GET {label:<22} p50 {statistics.median(timings):.2f} ms  p95 {percentile(timings, 0.95):.2f} ms "
                  f"({len(urls)} requests, one client, keep-alive)")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--loaded", metavar="CONNINFO",
                        help="measure only, against a database this script loaded before (see --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the loaded database (prints its conninfo)")
    args = parser.parse_args()
    if args.loaded:
        return measure_http(args.loaded, *sample_ids(args.loaded), args, random.Random(7), Path(tempfile.mkdtemp()))
    rng = random.Random(42)
    tmp = Path(tempfile.mkdtemp(prefix="fhirsrv-search-bench-"))
    embedded = None
    admin = os.environ.get("DATABASE_URL")
    if not admin:
        embedded = EmbeddedPostgres(tmp / "pgdata")
        admin = embedded.start()
    dbname = f"search_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {dbname}")
    conninfo = admin.replace("/postgres?", f"/{dbname}?") if "/postgres?" in admin else f"{admin.rsplit('/', 1)[0]}/{dbname}"
    try:
        migrate(conninfo)
        store = ResourceStore(Indexer(load_model(Settings().profiles_dir)))
        ids, names, seconds = load(conninfo, store, args.patients, rng)
        total = args.patients * 4
        print(f"loaded {args.patients} patients + {3 * args.patients} observations in {seconds:.1f} s "
              f"({seconds / total * 1000:.2f} ms per resource, storage + index)")
        tx = write_transactions(conninfo, store, rng)
        print(f"16-resource write transaction (storage + index, no HTTP): p50 {statistics.median(tx):.1f} ms, "
              f"p95 {percentile(tx, 0.95):.1f} ms")

        measure_http(conninfo, ids, names, args, rng, tmp)
        print(f"command: .venv/bin/python bench/search_bench.py --patients {args.patients} --requests {args.requests}")
    finally:
        if args.keep:
            print(f"kept: --loaded '{conninfo}'")
        else:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        if embedded is not None and not args.keep:
            embedded.stop()
            # run as root, the launcher may have placed the cluster under /var/lib/fhirsrv
            shutil.rmtree(embedded.pgdata, ignore_errors=True)
            shutil.rmtree(embedded.control_dir, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
