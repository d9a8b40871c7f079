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


def _env_path(name: str) -> Path | None:
    raw = os.environ.get(name)
    return Path(raw).expanduser() if raw and raw.strip() else None


def _env_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """One of ``choices`` (case-insensitive); anything else stops the start with a clear message."""
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _env_token(name: str) -> str | None:
    """A ``system|value`` identifier, both parts present (checked at start, not at first use)."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return None
    system, sep, value = raw.partition("|")
    if not (sep and system and value):
        raise ValueError(f"{name} must be system|value (e.g. https://www.ehealth.fgov.be/standards/fhir/core/"
                         f"NamingSystem/cbe|0123456789), got {raw!r}")
    return raw


def _env_required_profiles(name: str) -> tuple[tuple[str, str], ...]:
    """``Type=profile,Type=profile`` → ((type, profile), …); a profile may be an alias (``ips``)
    or a canonical (``url`` or ``url|version``). A type may be named more than once."""
    raw = os.environ.get(name)
    pairs: list[tuple[str, str]] = []
    for item in (raw or "").split(","):
        if not item.strip():
            continue
        rtype, sep, profile = item.partition("=")
        if not sep or not rtype.strip() or not profile.strip():
            raise ValueError(f"{name} must be a comma-separated list of Type=profile, got {item.strip()!r}")
        pairs.append((rtype.strip(), profile.strip()))
    return tuple(pairs)


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
    enrich_codes: bool = True  # FHIRSRV_ENRICH_CODES: add mapped SNOMED CT / LOINC codings to local ones on ingest
    validate_on_write: bool = True  # FHIRSRV_VALIDATE_ON_WRITE
    # FHIRSRV_DISPLAY_ISSUES_ARE_WARNINGS: a Coding.display that is not the code system's is a
    # warning (default, as HAPI FHIR servers do: real data such as Synthea's carries such
    # displays), or with false an error, as the HL7 Java validator's default (422 on writes)
    display_issues_are_warnings: bool = True
    document_profile: str = "ips"  # FHIRSRV_DOCUMENT_PROFILE: profile for documents that claim none
    summary_custodian: str = "fhirsrv patient summary service"  # FHIRSRV_SUMMARY_CUSTODIAN: $summary's custodian
    summary_custodian_identifier: str | None = None  # FHIRSRV_SUMMARY_CUSTODIAN_IDENTIFIER: its system|value
    # FHIRSRV_REQUIRED_PROFILES: Type=profile pairs every write of that type must conform to
    required_profiles: tuple[tuple[str, str], ...] = ()
    # FHIRSRV_UNKNOWN_EXTENSIONS: an extension whose definition is not loaded is a warning | error
    unknown_extensions: str = "warning"
    # FHIRSRV_ALLOWED_EXTENSION_DOMAINS: URL prefixes accepted without a definition even as errors
    allowed_extension_domains: tuple[str, ...] = ()
    log_level: str = "INFO"  # FHIRSRV_LOG_LEVEL
    # -- security (docs/security.md) ------------------------------------------------------
    auth: str = "on"  # FHIRSRV_AUTH: on | off (off = local development only; warned loudly at start)
    auth_issuer: str = "urn:fhirsrv:local"  # FHIRSRV_AUTH_ISSUER: `iss` of the tokens this server mints
    auth_audience: str | None = None  # FHIRSRV_AUTH_AUDIENCE: required `aud` (default: public base URL or "fhirsrv")
    auth_signing_key: Path | None = None  # FHIRSRV_AUTH_SIGNING_KEY: PEM private key (default data_dir/auth/)
    auth_clients_file: Path | None = None  # FHIRSRV_AUTH_CLIENTS: registered backend-services clients (JSON)
    auth_issuers_file: Path | None = None  # FHIRSRV_AUTH_ISSUERS: trusted external token issuers (JSON)
    auth_token_lifetime: int = 300  # FHIRSRV_AUTH_TOKEN_LIFETIME: seconds an issued access token lives
    policy_rules: tuple[str, ...] = (  # FHIRSRV_POLICY_RULES: comma-separated rules to enforce
        "role-ban", "consent", "therapeutic-relationship", "exclusion", "sensitivity",
    )
    break_glass: bool = True  # FHIRSRV_BREAK_GLASS: honour the X-Break-Glass header (always audited)
    exclusion_blocks_break_glass: bool = True  # FHIRSRV_EXCLUSION_BLOCKS_BREAK_GLASS
    audit_reads: str = "async"  # FHIRSRV_AUDIT_READS: async (batched writer) | sync (before the response)

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
            enrich_codes=_env_bool("FHIRSRV_ENRICH_CODES", True),
            validate_on_write=_env_bool("FHIRSRV_VALIDATE_ON_WRITE", True),
            display_issues_are_warnings=_env_bool("FHIRSRV_DISPLAY_ISSUES_ARE_WARNINGS", True),
            document_profile=os.environ.get("FHIRSRV_DOCUMENT_PROFILE", "ips"),
            summary_custodian=os.environ.get("FHIRSRV_SUMMARY_CUSTODIAN", "").strip() or cls.summary_custodian,
            summary_custodian_identifier=_env_token("FHIRSRV_SUMMARY_CUSTODIAN_IDENTIFIER"),
            required_profiles=_env_required_profiles("FHIRSRV_REQUIRED_PROFILES"),
            unknown_extensions=_env_choice("FHIRSRV_UNKNOWN_EXTENSIONS", ("warning", "error"), "warning"),
            allowed_extension_domains=_env_list("FHIRSRV_ALLOWED_EXTENSION_DOMAINS", ()),
            log_level=os.environ.get("FHIRSRV_LOG_LEVEL", "INFO").upper(),
            auth=os.environ.get("FHIRSRV_AUTH", "on").strip().lower() or "on",
            auth_issuer=os.environ.get("FHIRSRV_AUTH_ISSUER") or "urn:fhirsrv:local",
            auth_audience=os.environ.get("FHIRSRV_AUTH_AUDIENCE") or None,
            auth_signing_key=_env_path("FHIRSRV_AUTH_SIGNING_KEY"),
            auth_clients_file=_env_path("FHIRSRV_AUTH_CLIENTS"),
            auth_issuers_file=_env_path("FHIRSRV_AUTH_ISSUERS"),
            auth_token_lifetime=_env_int("FHIRSRV_AUTH_TOKEN_LIFETIME", 300),
            policy_rules=_env_list("FHIRSRV_POLICY_RULES", cls.policy_rules),
            break_glass=_env_bool("FHIRSRV_BREAK_GLASS", True),
            exclusion_blocks_break_glass=_env_bool("FHIRSRV_EXCLUSION_BLOCKS_BREAK_GLASS", True),
            audit_reads=os.environ.get("FHIRSRV_AUDIT_READS", "async").strip().lower() or "async",
        )

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests use this)."""
        return replace(self, **changes)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def auth_enabled(self) -> bool:
        if self.auth not in {"on", "off"}:
            raise ValueError(f"FHIRSRV_AUTH must be 'on' or 'off', got {self.auth!r}")
        return self.auth == "on"
