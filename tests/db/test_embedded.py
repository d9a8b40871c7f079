"""The embedded Postgres lifecycle: permissions, SIGKILL recovery, shared data folders, SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import requests

from fhirsrv.db.embedded import EmbeddedPostgres, wait_for_stop, wheel_install_dir

from ..pg import PROJECT

FAST = {"fsync": "off"}


@pytest.fixture()
def data_root():
    """A data folder inside the project (reachable by the Postgres user), removed afterwards."""
    root = PROJECT / ".fhirsrv" / f"lifecycle-{uuid.uuid4().hex[:8]}"
    root.mkdir(parents=True)
    yield root
    leftover = EmbeddedPostgres(root / "pgdata")
    if leftover.postmaster_pid() is not None:
        leftover.stop(force=True)
    shutil.rmtree(root, ignore_errors=True)


def _parent_modes(path: Path) -> dict[Path, int]:
    return {p: p.stat().st_mode for p in [path, *path.parents] if p.exists()}


def _holder(pgdata: Path, *, stop_on_term: bool) -> subprocess.Popen:
    """Another process that starts (or adopts) the cluster and waits."""
    script = textwrap.dedent(
        f"""
        import signal, sys, time
        from pathlib import Path
        from fhirsrv.db.embedded import EmbeddedPostgres
        pg = EmbeddedPostgres(Path({str(pgdata)!r}), extra_options={{"fsync": "off"}})
        pg.start()
        if {stop_on_term}:
            def bye(*_):
                pg.stop()
                sys.exit(0)
            signal.signal(signal.SIGTERM, bye)
        print("ready", flush=True)
        time.sleep(600)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=PROJECT)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_never_widens_permissions_of_folders_it_was_not_given(tmp_path):
    """As root, a data folder under a private (0700) parent is not made reachable by chmod."""
    private_home = tmp_path / "home"
    private_home.mkdir(mode=0o700)
    os.chmod(private_home, 0o700)
    pgdata = private_home / "fhirsrv-data" / "pgdata"
    watched = _parent_modes(private_home) | _parent_modes(wheel_install_dir())
    pg = EmbeddedPostgres(pgdata, extra_options=FAST)
    try:
        with psycopg.connect(pg.start()) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        after = {p: p.stat().st_mode for p in watched}
        assert after == watched, "a parent folder's permissions changed"
        if os.geteuid() == 0:
            assert pg.pgdata != pgdata.resolve(), "root: the cluster must move to a folder of our own"
            assert str(pg.pgdata).startswith("/var/lib/fhirsrv/")
    finally:
        pg.stop(force=True)
        if pg.pgdata != pgdata.resolve():
            shutil.rmtree(pg.pgdata, ignore_errors=True)
            shutil.rmtree(pg.control_dir, ignore_errors=True)


def test_sigkilled_user_does_not_block_next_start_and_postgres_stops(data_root):
    pgdata = data_root / "pgdata"
    holder = _holder(pgdata, stop_on_term=False)
    holder.kill()
    holder.wait()
    pg = EmbeddedPostgres(pgdata, extra_options=FAST)
    postmaster = pg.postmaster_pid()
    assert postmaster is not None, "Postgres outlives a SIGKILL-ed parent"
    pg.start()  # adopts the running cluster, prunes the dead handle
    assert [h.pid for h in pg.live_handles()] == [os.getpid()]
    assert pg.stop() is True
    assert wait_for_stop(postmaster)


def test_two_processes_share_one_data_folder(data_root):
    pgdata = data_root / "pgdata"
    holder = _holder(pgdata, stop_on_term=True)
    pg = EmbeddedPostgres(pgdata, extra_options=FAST)
    pg.start()
    postmaster = pg.postmaster_pid()
    assert len(pg.live_handles()) == 2
    assert pg.stop() is False, "the other process still uses it"
    with psycopg.connect(pg.uri()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    holder.send_signal(signal.SIGTERM)
    holder.wait(timeout=30)
    assert postmaster is not None and wait_for_stop(postmaster)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_sigterm_stops_postgres(data_root):
    port = _free_port()
    env = {**os.environ, "FHIRSRV_DATA_DIR": str(data_root), "FHIRSRV_PORT": str(port), "FHIRSRV_WORKERS": "1"}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "fhirsrv.cli", "serve"], env=env, cwd=PROJECT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/fhir/metadata", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.3)
        postmaster = EmbeddedPostgres(data_root / "pgdata").postmaster_pid()
        assert postmaster is not None
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        assert wait_for_stop(postmaster, timeout=20), "Postgres still runs after the server stopped"
    finally:
        if server.poll() is None:
            server.kill()
