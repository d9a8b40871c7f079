"""Settings read from the environment.

One frozen dataclass so that every part of the server (and the tests) sees the same,
explicit configuration; nothing else in the code reads ``os.environ`` for settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def default_profiles_dir() -> Path:
    """The shipped FHIR packages: ``profiles/`` beside the package (source checkout)."""
    return Path(os.environ.get("FHIRSRV_PROFILES_DIR", PROJECT_DIR / "profiles"))


def default_terminology_dir() -> Path:
    return Path(os.environ.get("FHIRSRV_TERMINOLOGY_DIR", PROJECT_DIR / "terminology"))


@dataclass(frozen=True)
class Settings:
    """Every tunable of fhirsrv, with the environment variable that sets it."""

    database_url: str | None = None  # DATABASE_URL: use this Postgres instead of the embedded one
    data_dir: Path = field(default_factory=lambda: PROJECT_DIR / ".fhirsrv")  # FHIRSRV_DATA_DIR
    host: str = "127.0.0.1"  # FHIRSRV_HOST
    port: int = 8080  # FHIRSRV_PORT
    base_path: str = "/fhir"  # FHIRSRV_BASE_PATH
    public_base_url: str | None = None  # FHIRSRV_PUBLIC_BASE_URL (for Location and fullUrl)
    workers: int = 2  # FHIRSRV_WORKERS (gunicorn)
    threads: int = 4  # FHIRSRV_THREADS (gunicorn threads per worker)
    pool_min: int = 1  # FHIRSRV_POOL_MIN
    pool_max: int = 8  # FHIRSRV_POOL_MAX
    max_body_bytes: int = 32 * 1024 * 1024  # FHIRSRV_MAX_BODY_BYTES -> 413 above
    default_page_size: int = 20  # FHIRSRV_PAGE_SIZE
    max_page_size: int = 1000  # FHIRSRV_MAX_PAGE_SIZE
    profiles_dir: Path = field(default_factory=default_profiles_dir)  # FHIRSRV_PROFILES_DIR
    terminology_dir: Path = field(default_factory=default_terminology_dir)  # FHIRSRV_TERMINOLOGY_DIR
    validate_on_write: bool = True  # FHIRSRV_VALIDATE_ON_WRITE
    document_profile: str = "ips"  # FHIRSRV_DOCUMENT_PROFILE: profile for documents that claim none
    log_level: str = "INFO"  # FHIRSRV_LOG_LEVEL

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = os.environ.get("FHIRSRV_DATA_DIR")
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            data_dir=Path(data_dir).expanduser() if data_dir else PROJECT_DIR / ".fhirsrv",
            host=os.environ.get("FHIRSRV_HOST", "127.0.0.1"),
            port=_env_int("FHIRSRV_PORT", 8080),
            base_path="/" + os.environ.get("FHIRSRV_BASE_PATH", "/fhir").strip("/"),
            public_base_url=os.environ.get("FHIRSRV_PUBLIC_BASE_URL") or None,
            workers=_env_int("FHIRSRV_WORKERS", 2),
            threads=_env_int("FHIRSRV_THREADS", 4),
            pool_min=_env_int("FHIRSRV_POOL_MIN", 1),
            pool_max=_env_int("FHIRSRV_POOL_MAX", 8),
            max_body_bytes=_env_int("FHIRSRV_MAX_BODY_BYTES", 32 * 1024 * 1024),
            default_page_size=_env_int("FHIRSRV_PAGE_SIZE", 20),
            max_page_size=_env_int("FHIRSRV_MAX_PAGE_SIZE", 1000),
            validate_on_write=_env_bool("FHIRSRV_VALIDATE_ON_WRITE", True),
            document_profile=os.environ.get("FHIRSRV_DOCUMENT_PROFILE", "ips"),
            log_level=os.environ.get("FHIRSRV_LOG_LEVEL", "INFO").upper(),
        )

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests use this)."""
        return replace(self, **changes)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"
