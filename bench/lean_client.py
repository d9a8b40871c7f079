"""A lean HTTP/1.1 keep-alive client and a sampler of the server's CPU time, for latency benches.

Python ``requests`` costs about 0.5–1 ms of client CPU per call (session, adapters, cookie
jar, header objects), which is as much as a whole read costs the server. To measure the
*server*, :class:`LeanClient` sends each request on one persistent ``http.client``
connection with no extra machinery; benches report its figure beside the ``requests`` one.

:class:`ServerCpu` adds up the CPU time (user + system) of the gunicorn workers and of every
process of the Postgres cluster, so a bench can report what a request costs the server in
CPU — a figure that does not depend on how busy a shared machine is.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import psutil


class LeanClient:
    """One keep-alive connection; ``request`` returns (status, body bytes)."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.headers = {"Accept": "application/fhir+json", **(headers or {})}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None,
                params: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        url = self.prefix + path + (f"?{urlencode(params)}" if params else "")
        all_headers = {**self.headers, **(headers or {})}
        if body is not None:
            all_headers.setdefault("Content-Type", "application/fhir+json")
        try:
            self.conn.request(method, url, body=body, headers=all_headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.conn.close()  # the server closed an idle keep-alive connection: once more
            self.conn.request(method, url, body=body, headers=all_headers)
            response = self.conn.getresponse()
        return response.status, response.read()

    def ok(self, method: str, path: str, body: bytes | None = None, params: dict[str, str] | None = None,
           headers: dict[str, str] | None = None) -> bytes:
        status, data = self.request(method, path, body, params, headers)
        if status >= 300:
            raise RuntimeError(f"{method} {path} answered {status}: {data[:300]!r}")
        return data

    def close(self) -> None:
        self.conn.close()


@dataclass(frozen=True)
class CpuSample:
    workers: dict[tuple[int, float], float]  # (pid, start time) -> CPU seconds, gunicorn master + workers
    postgres: dict[tuple[int, float], float]  # the same for the cluster's client backends


@dataclass(frozen=True)
class CpuCost:
    workers: float  # ms of CPU per request in the gunicorn processes
    postgres: float  # ms of CPU per request in the Postgres backends


def _tree_cpu(root_pid: int | None, backends_only: bool = False) -> dict[tuple[int, float], float]:
    """CPU seconds of a process and its descendants, keyed by (pid, start time) so that a
    process that ended or started between two samples does not skew the difference."""
    if root_pid is None:
        return {}
    try:
        root = psutil.Process(root_pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return {}
    times: dict[tuple[int, float], float] = {}
    for process in processes:
        try:
            # a Postgres client backend titles itself "postgres: user database [local] state"
            if backends_only and "[local]" not in " ".join(process.cmdline()):
                continue
            cpu = process.cpu_times()
            times[(process.pid, process.create_time())] = cpu.user + cpu.system
        except psutil.NoSuchProcess:
            pass
    return times


class ServerCpu:
    """CPU time of a running server (gunicorn process tree) and of its Postgres backends.

    Background processes of the cluster (WAL writer, checkpointer, autovacuum) are left out:
    they work for earlier requests too and would make the figure noisy."""

    def __init__(self, gunicorn_pid: int, postmaster_pid: int | None) -> None:
        self.gunicorn_pid, self.postmaster_pid = gunicorn_pid, postmaster_pid

    def sample(self) -> CpuSample:
        return CpuSample(_tree_cpu(self.gunicorn_pid), _tree_cpu(self.postmaster_pid, backends_only=True))

    @staticmethod
    def per_request(before: CpuSample, after: CpuSample, count: int) -> CpuCost:
        """Milliseconds of CPU per request between two samples."""
        def delta(old: dict, new: dict) -> float:
            return sum(cpu - old.get(key, 0.0) for key, cpu in new.items())
        return CpuCost(1000 * delta(before.workers, after.workers) / count,
                       1000 * delta(before.postgres, after.postgres) / count)
