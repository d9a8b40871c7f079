"""What authorisation and audit add to a read and to a search: wall-clock p50/p95 and CPU
per request, with and without them.

    python -m bench.auth_bench [--n 2000]

Two applications on one fresh database, called in-process through Flask's test client (so
the figures are the server's own cost, not the HTTP stack's), three configurations: auth off
(baseline), a system token (scope + consent check + audit), and a GP's token (scope +
consent + therapeutic relationship + exclusion + sensitivity + audit). Target: <= 1 ms added
at p50. Wall-clock requests of the three configurations are interleaved so that a busy
machine slows them alike; CPU time (``time.process_time``: request thread and audit writer)
is the figure a shared machine disturbs least.
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
    """Python CPU per request in this process (request thread + audit writer), which a busy
    machine inflates far less than wall-clock latency. Postgres' own CPU is not included."""
    flush()
    start = time.process_time()
    for _ in range(n):
        client.get(url, headers=headers)
    flush()
    return (time.process_time() - start) * 1000 / n


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
        writer = secure.extensions["fhirsrv.security"].audit_writer
        configurations = {
            "auth off (baseline)": (dev.test_client(), base_json),
            "system token": (secure.test_client(), {**base_json, "Authorization": f"Bearer {system}"}),
            "GP token (all rules)": (secure.test_client(), {**base_json, "Authorization": f"Bearer {gp}"}),
        }
        print(f"python -m bench.auth_bench --n {args.n}: in-process (Flask test client), {args.n} requests each")
        for label, url in (("read Observation/{id}", f"/fhir/Observation/{oid}"),
                           ("search Observation?patient=", "/fhir/Observation?patient=bench-patient")):
            runs = _measure({name: (client, url, headers) for name, (client, headers) in configurations.items()},
                            args.n)
            cpu = {name: _cpu_ms(client, url, headers, args.n, writer.flush)
                   for name, (client, headers) in configurations.items()}
            p50_base = statistics.median(runs["auth off (baseline)"])
            cpu_base = cpu["auth off (baseline)"]
            print(f"{label}")
            for name, samples in runs.items():
                p50 = statistics.median(samples)
                p95 = statistics.quantiles(samples, n=20)[18]
                print(f"  {name:22s} wall p50 {p50:6.3f} ms (added {p50 - p50_base:+6.3f})  p95 {p95:6.3f} ms"
                      f"   CPU {cpu[name]:6.3f} ms (added {cpu[name] - cpu_base:+6.3f})")
        print("CPU = this process's CPU per request, audit writer thread included (Postgres' not);"
              " an authorised request writes one AuditEvent through the batched background writer")
        for application in (dev, secure):
            application.extensions["fhirsrv"].close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
