"""Shared benchmark plumbing: a real gunicorn server on loopback, timing and reporting.

Benchmarks are not tests: each prints its figures (p50/p95/mean, in ms) and the exact command
that produced them, for bench/README.md.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from fhirsrv.db.embedded import EmbeddedPostgres

PROJECT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class RunningServer:
    base: str  # the FHIR base URL
    pid: int  # the gunicorn master (``fhirsrv serve``); its workers are its children
    data_dir: Path

    @property
    def postmaster_pid(self) -> int | None:
        return EmbeddedPostgres(self.data_dir / "pgdata").postmaster_pid()


@contextmanager
def running_server(*, workers: int = 2, env: dict[str, str] | None = None, data_dir: Path | None = None) -> Iterator[str]:
    """``fhirsrv serve`` (gunicorn) on a free loopback port with its own embedded Postgres."""
    with started_server(workers=workers, env=env, data_dir=data_dir) as server:
        yield server.base


@contextmanager
def started_server(*, workers: int = 2, env: dict[str, str] | None = None,
                   data_dir: Path | None = None) -> Iterator[RunningServer]:
    """Like :func:`running_server`, with the process ids (for CPU accounting). A given
    ``data_dir`` is kept (and reused by the next run); a temporary one is deleted."""
    own_dir = data_dir is None
    if data_dir is None:
        (PROJECT / ".fhirsrv").mkdir(exist_ok=True)
        data_dir = Path(tempfile.mkdtemp(prefix="fhirsrv-bench-", dir=PROJECT / ".fhirsrv"))
        data_dir.chmod(0o755)  # ours: readable by the Postgres user, so the cluster stays inside it
    port = free_port()
    server_env = {**os.environ, "FHIRSRV_DATA_DIR": str(data_dir), "FHIRSRV_PORT": str(port),
                  "FHIRSRV_WORKERS": str(workers), "FHIRSRV_LOG_LEVEL": "WARNING",
                  # the storage/search figures are measured without authorisation; bench/auth_bench.py
                  # measures what authorisation and audit add
                  "FHIRSRV_AUTH": "off", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "fhirsrv.cli", "serve"], env=server_env, cwd=PROJECT)
    base = f"http://127.0.0.1:{port}/fhir"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/metadata", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.3)
        yield RunningServer(base, proc.pid, data_dir)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        if own_dir:
            cluster = EmbeddedPostgres(data_dir / "pgdata")
            if cluster.postmaster_pid() is not None:
                cluster.stop(force=True)
            shutil.rmtree(cluster.pgdata, ignore_errors=True)  # may live under /var/lib/fhirsrv
            shutil.rmtree(cluster.control_dir, ignore_errors=True)
            shutil.rmtree(data_dir, ignore_errors=True)


def measure(action: Callable[[int], object], runs: int, warmup: int = 20) -> list[float]:
    """Milliseconds per call of ``action(i)``, after ``warmup`` unmeasured calls."""
    for i in range(warmup):
        action(i)
    timings = []
    for i in range(runs):
        start = time.perf_counter()
        action(warmup + i)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def report(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    line = (f"{name:<40} p50 {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms   "
            f"mean {statistics.fmean(ordered):7.2f} ms   n={len(ordered)}")
    print(line, flush=True)
    return line
