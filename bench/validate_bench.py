"""In-process validation timings (issue 3): IPS Bundle-01 against IPS 2.0, and a 500-resource Bundle.

Run: .venv/bin/python -m bench.validate_bench   (prints p50/p95 and the command)

``--part ingest`` (issue 4) measures the validation of document ingest as the server runs it:
``check_profiles`` on fresh copies of Bundle-01 (new Bundle.identifier and patient SSIN each,
as ``bench.documents_bench`` posts them), with the server's terminology (shipped content plus
the stored terminology of an embedded Postgres started here), one request context per
document (the stored-terminology generation is read once per request, as in the server):

    .venv/bin/python -m bench.validate_bench --part ingest --runs 300
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from functools import partial
from pathlib import Path

from fhirsrv import fhirjson
from fhirsrv.conformance.packages import load_npm_package
from fhirsrv.validation import default_validator
from fhirsrv.validation.profiles import ALIASES

ROOT = Path(__file__).resolve().parent.parent
IPS_PACKAGE = ROOT / "profiles" / "hl7.fhir.uv.ips-2.0.0.tgz"


def _example(package: Path, example_id: str) -> dict:
    found = next(e for e in load_npm_package(package, with_examples=True).examples if e.get("id") == example_id)
    return fhirjson.loads(fhirjson.dumps(found))


def big_bundle(source: dict, size: int = 500) -> dict:
    """A document of ``size`` entries: Bundle-01's entries repeated under fresh urn:uuid fullUrls.

    References inside each copy are rewritten to the copy's fullUrls, so every reference
    still resolves (in a last, partial copy, references to entries it leaves out keep
    pointing at the first copy) and the Composition points at the first copy. The uuids
    are derived from the copy number, so the document is the same on every run.
    """
    bundle = copy.deepcopy(source)
    template = source["entry"]
    entries = list(copy.deepcopy(template))
    copies = 0
    while len(entries) < size:
        copies += 1
        taken = template[1:][: size - len(entries)]
        mapping = {e["fullUrl"]: f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'copy-{copies}-{i}')}" for i, e in enumerate(taken)}
        text = fhirjson.dumps_str(taken)
        for old, new in mapping.items():
            text = text.replace(old, new)
        entries.extend(fhirjson.loads(text))
    bundle["entry"] = entries[:size]
    return bundle


def _percentiles(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return f"p50 {statistics.median(times):7.2f} ms  p95 {p95:7.2f} ms"


def _without_claims(resource: dict) -> dict:
    """A copy with every meta.profile removed, so that only base R4 is checked."""
    text = fhirjson.dumps_str(resource)
    copy_ = fhirjson.loads(text)

    def strip(node: object) -> None:
        if isinstance(node, dict):
            meta = node.get("meta")
            if isinstance(meta, dict):
                meta.pop("profile", None)
                if not meta:
                    node.pop("meta")
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    strip(copy_)
    return copy_


def measure(label: str, fn, runs: int, warmup: int = 5) -> None:
    """Wall-clock and CPU time per call: on a shared machine the CPU figure is the stable one."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    print(f"{label} ({runs} runs)\n    wall {_percentiles(wall)}\n    cpu  {_percentiles(cpu)}")


def _cpu_line(label: str, cpu: list[float]) -> None:
    cpu = sorted(cpu)
    p95 = cpu[min(len(cpu) - 1, int(len(cpu) * 0.95))]
    print(f"{label} ({len(cpu)} runs)\n    cpu  min {cpu[0]:6.2f} ms  p50 {statistics.median(cpu):6.2f} ms  p95 {p95:6.2f} ms",
          flush=True)


def ingest_validation(runs: int, warmup: int = 20, callgrind: bool = False) -> None:
    """CPU of ``check_profiles`` per fresh Bundle-01, as document ingest calls it.

    Each document is parsed before the clock starts (the server parses the body before it
    validates) and validated inside its own request context; with the server's terminology
    and, for comparison, with none (the registry's value sets). Fresh copies, because real
    traffic never repeats a document: nothing may be remembered per document across runs.

    ``callgrind``: under ``valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no
    --toggle-collect=sys_call_tracing``, instrumentation is switched on after the warm-up and
    each measured call runs inside ``sys.call_tracing``, so that callgrind's "Collected"
    count is the instructions of exactly those calls (server terminology only).
    """
    from fhirsrv.documents.conformance import check_profiles

    from .documents_bench import bundle_01, fresh_document, in_process

    template = bundle_01()
    with in_process(True) as app:
        svc = app.extensions["fhirsrv"]
        choices = (("server terminology", svc.validate), ("no terminology (registry value sets)", None))
        for label, validate in choices[:1] if callgrind else choices:
            documents = [fhirjson.loads(fresh_document(template)) for _ in range(runs + warmup)]
            cpu: list[float] = []
            for i, document in enumerate(documents):
                if callgrind and i == warmup:
                    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True)
                with app.test_request_context():
                    start = time.process_time()
                    sys.call_tracing(partial(check_profiles, document, svc.registry, svc.settings.document_profile,
                                             validate=validate), ())
                    if i >= warmup:
                        cpu.append((time.process_time() - start) * 1000)
            _cpu_line(f"ingest validation of a fresh Bundle-01 (check_profiles), {label}", cpu)
        if callgrind:
            print(f"instructions per document: callgrind's 'Collected' count / {runs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "validator", "ingest"), default="validator",
                        help="validator: the issue-3 figures (default); ingest: ingest validation (starts Postgres)")
    parser.add_argument("--runs", type=int, default=300, help="documents measured by --part ingest (300)")
    parser.add_argument("--callgrind", action="store_true",
                        help="--part ingest under valgrind's callgrind: count the measured calls' instructions")
    args = parser.parse_args()
    if args.part in ("all", "ingest"):
        print("command:", " ".join([Path(sys.executable).name, "-m", "bench.validate_bench", "--part", args.part,
                                    "--runs", str(args.runs)]))
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        ingest_validation(args.runs, callgrind=args.callgrind)
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.part in ("all", "validator"):
        validator_figures()


def validator_figures() -> None:
    validator = default_validator()
    ips = ALIASES["ips"]
    bundle = _example(IPS_PACKAGE, "IPS-examples-Bundle-01")
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    large = big_bundle(bundle)
    unclaimed = _without_claims(bundle)
    large_unclaimed = _without_claims(large)
    print("command:", " ".join([Path(sys.executable).name, "-m", "bench.validate_bench"]))
    measure("Patient (Bundle-01 entry) validate_base", lambda: validator.issues(patient), 500)
    measure("IPS Bundle-01 vs IPS 2.0 Bundle-uv-ips", lambda: validator.issues(bundle, [ips]), 200)
    measure("IPS Bundle-01 base R4 only (meta.profile removed)", lambda: validator.issues(unclaimed), 200)
    measure(f"{len(large['entry'])}-resource document vs IPS 2.0", lambda: validator.issues(large, [ips]), 20, warmup=2)
    measure(f"{len(large['entry'])}-resource document base R4 only", lambda: validator.issues(large_unclaimed), 20, warmup=2)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (every shipped package loaded, definitions compiled as used): {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
