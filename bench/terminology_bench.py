"""Terminology benchmark: ``$translate`` and ``$validate-code`` p50/p95, in-process and via HTTP.

Run from the project root:  .venv/bin/python -m bench.terminology_bench [--n 20000] [--http-n 1000]

In-process figures (µs) time the service calls the validator and the ingest path make, with
warm caches. HTTP figures (ms) time whole requests, one at a time, against ``fhirsrv serve``
(gunicorn, 2 workers, its own embedded Postgres) on loopback.
"""

from __future__ import annotations

import argparse
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


def timed(call: Callable[[], object], n: int, warmup: int = 50) -> tuple[float, float]:
    """(p50, p95) in microseconds."""
    for _ in range(warmup):
        call()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(n):
        start = clock()
        call()
        samples.append((clock() - start) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def report(label: str, figures: tuple[float, float]) -> None:
    print(f"  {label:<58} p50 {figures[0]:9.1f} µs   p95 {figures[1]:9.1f} µs")


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

        print(f"via HTTP (fhirsrv serve: gunicorn, 2 workers, loopback, one client, keep-alive; n={n})")
        translate = get("ConceptMap/$translate", {"system": ATC_BE, "code": "J07CA02", "targetsystem": SNOMED})
        validate = get("ValueSet/$validate-code", {"url": GENDER_VS, "system": GENDER, "code": "male"})
        for warm in (translate, validate):  # each worker builds the registry once
            for i in range(8):
                warm(i)
        report_ms("GET ConceptMap/$translate ATC J07CA02 -> SNOMED", measure(translate, n))
        report_ms("GET ValueSet/$validate-code gender", measure(validate, n))


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
