"""Terminology benchmark: ``$translate`` and ``$validate-code`` p50/p95, in-process and via HTTP.

Run from the project root:  .venv/bin/python -m bench.terminology_bench [--n 20000] [--http-n 1000]

In-process figures (µs) time the service calls the validator and the ingest path make, with
warm caches, as wall-clock p50/p95 and as CPU time per call (``time.process_time``, steady on a
shared machine). HTTP figures (ms) time whole requests, one at a time, against ``fhirsrv serve``
(gunicorn, 2 workers, its own embedded Postgres) on loopback — including a value set, code
system and map users stored, which cost one change-counter read per request once warm.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import requests

from fhirsrv.config import Settings
from fhirsrv.terminology.service import terminology_for

from .harness import measure, running_server
from .harness import report as report_ms

ATC_BE = "http://whocc.no/atc"
SNOMED = "http://snomed.info/sct"
GENDER_VS = "http://hl7.org/fhir/ValueSet/administrative-gender"
GENDER = "http://hl7.org/fhir/administrative-gender"
IPS_ALLERGY_VS = "http://hl7.org/fhir/uv/ips/ValueSet/allergy-intolerance-uv-ips"


def timed(call: Callable[[], object], n: int, warmup: int = 50) -> tuple[float, float, float]:
    """(p50, p95, CPU per call) in microseconds."""
    for _ in range(warmup):
        call()
    samples = []
    clock = time.perf_counter_ns
    cpu_start = time.process_time()
    for _ in range(n):
        start = clock()
        call()
        samples.append((clock() - start) / 1000)
    cpu = (time.process_time() - cpu_start) / n * 1e6
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], cpu


def report(label: str, figures: tuple[float, float, float]) -> None:
    print(f"  {label:<58} p50 {figures[0]:9.1f} µs   p95 {figures[1]:9.1f} µs   CPU {figures[2]:7.1f} µs/call")


def in_process(n: int) -> None:
    started = time.perf_counter()
    service = terminology_for(Settings())
    session = service.session()
    print(f"in-process (service built in {time.perf_counter() - started:.1f} s; n={n})")
    report("$translate ATC J07CA02 (BE URI) -> SNOMED CT",
           timed(lambda: session.translate(ATC_BE, "J07CA02", target_system=SNOMED), n))
    report("$validate-code administrative-gender (enumerated)",
           timed(lambda: service.validate_code(GENDER_VS, system=GENDER, code="male"), n))
    report("$validate-code IPS allergy VS, SNOMED code (cannot check)",
           timed(lambda: service.validate_code(IPS_ALLERGY_VS, system=SNOMED, code="716186003"), n))


def server_cpu_seconds(port: int) -> float:
    """CPU time (user + system) of every process serving ``port``: the gunicorn master and
    workers and the embedded Postgres they started (found by ``FHIRSRV_PORT`` in their
    environment). Per request, it does not depend on how busy the shared machine is."""
    tick = os.sysconf("SC_CLK_TCK")
    marker = f"FHIRSRV_PORT={port}".encode()
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def measure_http(label: str, port: int, call: Callable[[int], object], n: int) -> None:
    before = server_cpu_seconds(port)
    report_ms(label, measure(call, n, warmup=0))
    print(f"    server CPU {(server_cpu_seconds(port) - before) / n * 1000:6.2f} ms/request")


def via_http(n: int) -> None:
    """One request at a time against ``fhirsrv serve`` (gunicorn, 2 workers) on loopback."""
    with running_server(workers=2) as base:
        client = requests.Session()
        client.headers["Accept"] = "application/fhir+json"

        def get(path: str, params: dict[str, str]) -> Callable[[int], object]:
            def call(_: int) -> object:
                response = client.get(f"{base}/{path}", params=params, timeout=120)
                if response.status_code != 200:
                    raise RuntimeError(response.text)
                return response

            return call

        def post(path: str, body: dict) -> Callable[[int], object]:
            def call(_: int) -> object:
                response = client.post(f"{base}/{path}", json=body, timeout=120,
                                       headers={"Content-Type": "application/fhir+json"})
                if response.status_code != 200 or '"error"' in response.text:
                    raise RuntimeError(response.text)
                return response

            return call

        for resource in (STORED_CS, STORED_VS):
            stored = client.put(f"{base}/{resource['resourceType']}/{resource['id']}", json=resource,
                                headers={"Content-Type": "application/fhir+json"}, timeout=120)
            if stored.status_code not in (200, 201):
                raise RuntimeError(stored.text)

        print(f"via HTTP (fhirsrv serve: gunicorn, 2 workers, loopback, one client, keep-alive; n={n})")
        translate = get("ConceptMap/$translate", {"system": ATC_BE, "code": "J07CA02", "targetsystem": SNOMED})
        validate = get("ValueSet/$validate-code", {"url": GENDER_VS, "system": GENDER, "code": "male"})
        validate_stored = get("ValueSet/$validate-code", {"url": STORED_VS["url"], "system": STORED_CS["url"],
                                                          "code": "deletion"})
        validate_binding = post("MolecularSequence/$validate", {
            "resourceType": "MolecularSequence", "coordinateSystem": 0, "text": {"status": "generated",
                                                                                "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
            "structureVariant": [{"variantType": {"coding": [{"system": STORED_CS["url"], "code": "deletion"}]}}]})
        for warm in (translate, validate, validate_stored, validate_binding):  # each worker warms its caches
            for i in range(8):
                warm(i)
        port = int(base.split(":")[2].split("/")[0])
        measure_http("GET ConceptMap/$translate ATC J07CA02 -> SNOMED", port, translate, n)
        measure_http("GET ValueSet/$validate-code gender", port, validate, n)
        measure_http("GET ValueSet/$validate-code stored VS", port, validate_stored, n)
        measure_http("POST $validate, binding to a stored VS", port, validate_binding, n)


# A user-stored code system and value set (under the canonical R4 core binds
# MolecularSequence.structureVariant.variantType to, which no package ships).
STORED_CS = {"resourceType": "CodeSystem", "id": "bench-variant-kind", "url": "https://fhirsrv.dev/bench/CodeSystem/variant",
             "status": "active", "content": "complete", "hierarchyMeaning": "is-a",
             "concept": [{"code": "structural", "concept": [{"code": "deletion"}, {"code": "duplication"}]},
                         {"code": "snv"}]}
STORED_VS = {"resourceType": "ValueSet", "id": "bench-ll379-9", "url": "http://loinc.org/vs/LL379-9", "status": "active",
             "compose": {"include": [{"system": STORED_CS["url"],
                                      "filter": [{"property": "concept", "op": "is-a", "value": "structural"}]}]}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="in-process calls per figure")
    parser.add_argument("--http-n", type=int, default=1000, help="HTTP requests per figure (0: skip)")
    args = parser.parse_args(argv)
    print("command: .venv/bin/python -m bench.terminology_bench " + " ".join(sys.argv[1:] if argv is None else argv))
    in_process(args.n)
    if args.http_n:
        via_http(args.http_n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
