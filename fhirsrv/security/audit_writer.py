"""A background writer for the audit of reads, searches, operations and refusals.

Storing an AuditEvent costs an INSERT plus its search-index rows; done inside every read it
would add a round trip and a commit to it. With ``FHIRSRV_AUDIT_READS=async`` (the default) the request
builds its AuditEvent(s) and hands them to this writer, which stores whatever has queued
up in one transaction (``synchronous_commit = off``): a few hundred events cost about what
one did. The trade-off, stated in docs/security.md: events still queued when the process
dies are lost (the same window an asynchronous commit already has), and if the database
refuses the audit for a while the server stops answering (503) rather than serve unaudited
data. The writer lingers 20 ms after an event for others to join its batch. Writes never come here: their audit is in their own transaction.

One writer thread per process, started on first use (gunicorn forks workers after the
application is built, and threads do not survive a fork).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from typing import Any

from .audit_store import store_events

_log = logging.getLogger("fhirsrv.security.audit")

BATCH = 500
MAX_PENDING = 20_000
# After the first event, wait this long for more: a transaction per event would cost about
# four times the CPU of a batched one (BEGIN, SET, INSERT, COMMIT around a few rows).
LINGER_SECONDS = 0.02


class AuditWriter:
    def __init__(self, services: Any) -> None:
        self.services = services
        self.healthy = True
        self._queue: queue.Queue[list[dict[str, Any]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def submit(self, events: list[dict[str, Any]]) -> None:
        self._ensure_thread()
        self._queue.put(events)

    @property
    def overloaded(self) -> bool:
        return not self.healthy or self._queue.qsize() > MAX_PENDING

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted event is stored (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                if self._pid != os.getpid():
                    self._queue = queue.Queue()  # a forked child does not inherit the parent's backlog
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="fhirsrv-audit", daemon=True)
                self._thread.start()
                atexit.register(self.flush, 5.0)  # a worker that exits normally drains its queue

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            deadline = time.monotonic() + LINGER_SECONDS
            while len(items) < BATCH:
                try:
                    items.append(self._queue.get(timeout=max(deadline - time.monotonic(), 0.0)))
                except queue.Empty:
                    break
            self._write_with_retry([event for item in items for event in item])
            for _ in items:
                self._queue.task_done()

    def _write_with_retry(self, events: list[dict[str, Any]]) -> None:
        """Store a batch; if it fails, store its events one by one so that one event the
        database refuses cannot hold up the others. Only when none can be stored (the
        database is away) is the writer unhealthy and the batch retried with backoff."""
        delay = 0.1
        while True:
            try:
                self._write(events)
                self.healthy = True
                return
            except Exception:
                _log.warning("could not store a batch of %d audit events; storing them one by one", len(events))
            stored = 0
            for event in events:
                try:
                    self._write([event])
                    stored += 1
                except Exception as exc:
                    _log.error("an audit event was refused by the database (%s): %s", type(exc).__name__,
                               _summary(event))
            if stored or self._database_answers():  # the events themselves were refused: dropped
                self.healthy = True
                return
            self.healthy = False
            _log.error("no audit event could be stored; retrying in %.1f s", delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _database_answers(self) -> bool:
        try:
            with self.services.pool.connection() as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:
            return False

    def _write(self, events: list[dict[str, Any]]) -> None:
        with self.services.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit TO OFF")
            store_events(cur, events)


def _summary(event: dict[str, Any]) -> str:
    """Enough of a refused event to follow it up in the log (no query text, no token)."""
    subtype = (event.get("subtype") or [{}])[0].get("code")
    entities = [e.get("what", {}).get("reference") for e in event.get("entity", []) if "what" in e]
    return f"{subtype} outcome={event.get('outcome')} recorded={event.get('recorded')} entities={entities}"
