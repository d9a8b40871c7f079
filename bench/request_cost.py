"""What one REST request costs the server, in-process: Python CPU, Postgres CPU, round trips.

    .venv/bin/python -m bench.request_cost --data-dir .fhirsrv/bench-10k [--runs 500] [--only read]
    .venv/bin/python -m bench.request_cost --data-dir .fhirsrv/bench-10k --only read --profile

The requests of ``bench/rest_bench.py`` (same scenarios, same data folder: load it with
``rest_bench --data-dir`` first; a running bench server may share it) go through the Flask
test client of an application built here, with one pooled connection, so that per request:

* ``python``: CPU of this process (Flask, the interaction, psycopg) — no HTTP parsing and no
  gunicorn, which ``rest_bench`` measures with its ``server CPU`` line;
* ``postgres``: CPU of the one backend that served it (psutil);
* ``round trips``: how many times the server waited for Postgres to answer (a psycopg wait
  that had to block for an answer; a pipeline of many statements counts once per sync);
* ``--profile``: the top functions of a cProfile run (by own CPU time).

These figures hardly depend on how busy the machine is, unlike wall-clock latencies.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from psycopg import waiting

from .rest_bench import HEADERS, SCENARIOS, TITLES, scenarios

_round_trips = 0
ROUND_TRIP_RUNS = 50
PROFILE_ORDER = os.environ.get("PROFILE_ORDER", "tottime")  # or cumulative
PROFILE_LINES = int(os.environ.get("PROFILE_LINES", "25"))


def _counting(gen: Any) -> Any:
    """Wrap a psycopg generator: count it once if it ever waits to read from the server."""
    global _round_trips
    counted = False
    try:
        state = next(gen)
        while True:
            if not counted and state == waiting.Wait.R:  # blocked for an answer (RW: pipeline sending)
                _round_trips += 1
                counted = True
            ready = yield state
            state = gen.send(ready)
    except StopIteration as stop:
        return stop.value


@contextmanager
def counting_round_trips() -> Iterator[None]:
    """Count round trips of every psycopg connection of this process while inside."""
    original = waiting.wait

    def wait(gen: Any, fileno: int, interval: float | None = None, timeout: float | None = None) -> Any:
        return waiting.wait_select(_counting(gen), fileno, interval=interval, timeout=timeout)

    waiting.wait = wait
    try:
        yield
    finally:
        waiting.wait = original


def round_trips(call: Callable[[int], None], start: int, runs: int) -> float:
    """Round trips per call, counted over ``runs`` calls apart from the timed ones (the counting
    wait is pure Python and would inflate the CPU figures)."""
    global _round_trips
    _round_trips = 0
    with counting_round_trips():
        for i in range(runs):
            call(start + i)
    return _round_trips / runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="the folder rest_bench --data-dir loaded")
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}")
    parser.add_argument("--profile", action="store_true", help="print the top functions (cProfile) per scenario")
    args = parser.parse_args()

    from fhirsrv.app import create_app
    from fhirsrv.config import Settings
    from fhirsrv.db.database import open_database

    settings = Settings.from_env().with_(data_dir=args.data_dir, pool_min=1, pool_max=1, auth="off")
    database = open_database(settings)
    try:
        app = create_app(settings, conninfo=database.conninfo)
        svc = app.extensions["fhirsrv"]
        svc.warm_up()
        with svc.pool.connection() as conn:
            backend = psutil.Process(conn.info.backend_pid)
            ids = [row[0] for row in conn.execute(
                "SELECT id FROM resource WHERE rtype = 'Patient' AND current AND NOT deleted ORDER BY rid LIMIT 10000")]
        if not ids:
            raise SystemExit(f"no patients in {args.data_dir}: load it with bench.rest_bench --data-dir first")
        client = app.test_client()
        prefix = settings.base_path
        for name in [s.strip() for s in args.only.split(",") if s.strip()]:
            make = scenarios(ids)[name]

            def call(i: int, make: Callable = make, name: str = name) -> None:
                method, path, body, params = make(i)
                answer = client.open(prefix + path, method=method, data=body, query_string=params, headers=HEADERS)
                if answer.status_code >= 300:
                    raise SystemExit(f"{name}: {answer.status_code} {answer.get_data(as_text=True)[:300]}")

            for i in range(args.warmup):
                call(i)
            profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not wall
            cpu0, pg0, wall0 = time.process_time(), sum(backend.cpu_times()[:2]), time.perf_counter()
            if profiler:
                profiler.enable()
            for i in range(args.runs):
                call(args.warmup + i)
            if profiler:
                profiler.disable()
            cpu1, pg1, wall1 = time.process_time(), sum(backend.cpu_times()[:2]), time.perf_counter()
            trips = round_trips(call, args.warmup + args.runs, ROUND_TRIP_RUNS)
            n = args.runs
            print(f"{TITLES[name]:<32} python {1000 * (cpu1 - cpu0) / n:6.2f} ms  postgres "
                  f"{1000 * (pg1 - pg0) / n:5.2f} ms  round trips {trips:5.2f}  "
                  f"(wall {1000 * (wall1 - wall0) / n:6.2f} ms, n={n})", flush=True)
            if profiler:
                pstats.Stats(profiler).sort_stats(PROFILE_ORDER).print_stats(PROFILE_LINES)
        svc.close()
    finally:
        database.release()
    print(f"command: .venv/bin/python -m bench.request_cost {shlex.join(sys.argv[1:])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
