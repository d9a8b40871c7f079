"""Import rate of the Synthea patients (resources/s), over HTTP to gunicorn and in-process.

    .venv/bin/python -m bench.import_bench [--data DIR] [--mode http|inprocess|both] [--jobs N]

Each mode starts from an empty embedded Postgres of its own, loads every file of DIR with
``fhirsrv import`` (hospitals and practitioners first), then loads them again: the second
run measures the idempotent re-load (PUTs of the same ids) and checks that it stored the same
count. DIR defaults to tests/data/synthea (the Synthea copy in the repository) when present,
else ../shared/corpus/synthea beside the checkout.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from fhirsrv.importer.cli import run

from .harness import PROJECT, running_server


def default_data() -> Path:
    for candidate in (PROJECT / "tests" / "data" / "synthea", PROJECT.parent / "shared" / "corpus" / "synthea"):
        if candidate.is_dir():
            return candidate
    raise SystemExit("no Synthea data: pass --data DIR")


def timed_import(args: list[str]) -> tuple[float, int, str]:
    """Seconds, exit code and summary of one ``fhirsrv import`` run (progress lines off)."""
    con = Console(file=io.StringIO(), width=200)
    started = time.perf_counter()
    code = run([*args, "--progress", "none"], console=con)
    seconds = time.perf_counter() - started
    return seconds, code, con.file.getvalue().strip()  # type: ignore[attr-defined]


def report(label: str, seconds: float, code: int, summary: str) -> int:
    stored = int(summary.split("Imported ", 1)[1].split(" ", 1)[0]) if "Imported " in summary else 0
    print(f"{label:<34} {stored:6d} resources in {seconds:6.1f} s = {stored / seconds:7.0f} resources/s"
          f"   exit {code}", flush=True)
    if code != 0:
        print(summary, flush=True)
    return stored


def bench_http(data: Path, workers: int, jobs: int) -> None:
    args = [str(data), "--jobs", str(jobs)]
    with running_server(workers=workers) as base:
        label = f"http, gunicorn x{workers}, --jobs {jobs}"
        first = report(f"{label}, first load", *timed_import([*args, "--url", base]))
        again = report(f"{label}, re-load", *timed_import([*args, "--url", base]))
        assert first == again, "the re-load stored a different count"


def bench_in_process(data: Path, jobs: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="fhirsrv-bench-", dir=PROJECT / ".fhirsrv"))
    os.environ["FHIRSRV_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    try:
        args = [str(data), "--jobs", str(jobs)]
        report(f"in-process, --jobs {jobs}, first load", *timed_import(args))
        report(f"in-process, --jobs {jobs}, re-load", *timed_import(args))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--mode", choices=("http", "inprocess", "both"), default="both")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (http mode)")
    parser.add_argument("--jobs", type=int, default=1, help="files imported at the same time")
    args = parser.parse_args()
    data = args.data or default_data()
    files = sorted(p.name for p in data.glob("*.json"))
    print(f"$ {Path(sys.executable).name} -m bench.import_bench " + " ".join(sys.argv[1:]))
    print(f"data: {data} ({len(files)} files)", flush=True)
    (PROJECT / ".fhirsrv").mkdir(exist_ok=True)
    if args.mode in ("http", "both"):
        bench_http(data, args.workers, args.jobs)
    if args.mode in ("inprocess", "both"):
        bench_in_process(data, args.jobs)


if __name__ == "__main__":
    main()
