"""What authorisation and audit add to a read: p50/p95 latency with and without them.

    python -m bench.auth_bench [--n 2000]

Three servers on one fresh database, called in-process through Flask's test client (so the
figures are the server's own cost, not the HTTP stack's): auth off (baseline), a system
token (scope + consent check + audit), and a GP's token (scope + consent + therapeutic
relationship + exclusion + sensitivity + audit). Target: <= 1 ms added at p50. Requests of
the three configurations are interleaved so that a busy machine slows them alike.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fhirsrv.app import create_app
from fhirsrv.config import Settings
from fhirsrv.security.tokens import TokenService
from tests.pg import test_database

NIHDI = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/nihdi"
THERLINK = "https://fhirsrv.dev/CodeSystem/therapeutic-relationship"


def _seed(client, headers) -> str:
    pid = "bench-patient"
    client.put(f"/fhir/Patient/{pid}", json={"resourceType": "Patient", "id": pid}, headers=headers)
    client.post("/fhir/Consent", headers=headers, json={
        "resourceType": "Consent", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{pid}"}, "provision": {"type": "permit"}})
    client.post("/fhir/CareTeam", headers=headers, json={
        "resourceType": "CareTeam", "status": "active", "subject": {"reference": f"Patient/{pid}"},
        "category": [{"coding": [{"system": THERLINK, "code": "gmd"}]}],
        "participant": [{"member": {"identifier": {"system": NIHDI, "value": "10000000001"}},
                         "period": {"start": time.strftime("%Y-%m-%d")}}]})
    created = client.post("/fhir/Observation", headers=headers, json={
        "resourceType": "Observation", "status": "final", "code": {"text": "pulse"},
        "subject": {"reference": f"Patient/{pid}"}, "valueQuantity": {"value": 72}})
    return created.get_json()["id"]


def _measure(runs: dict[str, tuple], n: int) -> dict[str, list[float]]:
    """Interleaved: request i of every configuration runs back to back, so a busy machine
    (other processes on the 2 cores) slows all configurations alike."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(n + 50):
        for name, (client, url, headers) in runs.items():
            start = time.perf_counter()
            response = client.get(url, headers=headers)
            elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, response.get_data(as_text=True)
            if i >= 50:  # warm-up
                samples[name].append(elapsed)
    return samples


def _cpu_ms(client, url: str, headers: dict[str, str], n: int, flush) -> float:
    """Python CPU per read (this process: request thread + audit writer), which a busy machine
    inflates far less than wall-clock latency. Postgres' own CPU is not included."""
    start = time.process_time()
    for _ in range(n):
        client.get(url, headers=headers)
    flush()
    return (time.process_time() - start) * 1000 / n


def _round_trip_ms(app, n: int = 500) -> float:
    samples = []
    with app.extensions["fhirsrv"].pool.connection() as conn:
        for _ in range(n):
            start = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    base_json = {"Accept": "application/fhir+json", "Content-Type": "application/fhir+json"}
    with test_database() as conninfo, tempfile.TemporaryDirectory() as tmp:
        base = Settings.from_env().with_(database_url=conninfo, validate_on_write=False,
                                         auth_signing_key=Path(tmp) / "key.pem")
        dev = create_app(base.with_(auth="off"), conninfo=conninfo)
        secure = create_app(base.with_(auth="on"), conninfo=conninfo)
        minter = TokenService(secure.extensions["fhirsrv"].settings)
        oid = _seed(dev.test_client(), base_json)
        system = minter.mint(subject="bench", scope="system/*.rs")[0]
        gp = minter.mint(subject="gp", scope="user/*.rs", role="gp", nihdi="10000000001")[0]
        url = f"/fhir/Observation/{oid}"
        runs = _measure({
            "auth off (baseline)": (dev.test_client(), url, base_json),
            "system token": (secure.test_client(), url, {**base_json, "Authorization": f"Bearer {system}"}),
            "GP token (all rules)": (secure.test_client(), url, {**base_json, "Authorization": f"Bearer {gp}"}),
        }, args.n)
        p50_base = statistics.median(runs["auth off (baseline)"])
        round_trip = _round_trip_ms(secure)
        print(f"read latency, {args.n} requests each, in-process (python -m bench.auth_bench --n {args.n})")
        for name, samples in runs.items():
            p50 = statistics.median(samples)
            p95 = statistics.quantiles(samples, n=20)[18]
            print(f"  {name:22s} p50 {p50:6.3f} ms  p95 {p95:6.3f} ms  added p50 {p50 - p50_base:+6.3f} ms")
        print(f"  one database round trip (SELECT 1) p50 {round_trip:.3f} ms; an authorised read adds one (the"
              " consent/relationship facts); its AuditEvent is stored by the batched background writer,"
              " whose CPU is shared with the requests above")
        writer = secure.extensions["fhirsrv.security"].audit_writer
        writer.flush()
        cpu = {name: _cpu_ms(client, url, headers, args.n, writer.flush)
               for name, (client, url, headers) in {
                   "auth off (baseline)": (dev.test_client(), url, base_json),
                   "system token": (secure.test_client(), url, {**base_json, "Authorization": f"Bearer {system}"}),
                   "GP token (all rules)": (secure.test_client(), url, {**base_json, "Authorization": f"Bearer {gp}"}),
               }.items()}
        print("CPU per read in this process, audit writer included:")
        for name, ms in cpu.items():
            print(f"  {name:22s} {ms:6.3f} ms  added {ms - cpu['auth off (baseline)']:+6.3f} ms")
        for application in (dev, secure):
            application.extensions["fhirsrv"].close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
