"""The long-lived parts of a running server, built once per process and shared by requests.

The connection pool is opened lazily and re-opened after a fork, so the same application
object works under the development server, in tests, and in gunicorn workers forked from a
preloading master (a pool must never be shared across processes).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from .config import Settings
from .conformance.loader import load_registry
from .conformance.r4 import R4Model, load_model
from .conformance.registry import Registry
from .db.pool import open_pool
from .documents.immutable import refuse_document_change
from .documents.withdraw import withdraw_document
from .store.indexer import Indexer
from .store.repository import ResourceStore

# (resource) -> OperationOutcome dict. The write path rejects a resource whose outcome has errors.
ResourceValidator = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Services:
    settings: Settings
    conninfo: str
    validator: ResourceValidator | None = None
    # Called with the cursor just before a request's transaction commits (the audit of a write
    # joins the write's transaction: fhirsrv.security.audit.before_commit).
    commit_hooks: list[Callable[[psycopg.Cursor], None]] = field(default_factory=list)
    _pool: ConnectionPool | None = field(default=None, init=False, repr=False)
    _pool_pid: int = field(default=0, init=False, repr=False)
    _pool_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _lookup_pool: ConnectionPool | None = field(default=None, init=False, repr=False)

    @cached_property
    def model(self) -> R4Model:
        return load_model(self.settings.profiles_dir)

    @cached_property
    def registry(self) -> Registry:
        return load_registry(self.settings.profiles_dir)

    @cached_property
    def terminology(self) -> Any:
        """The terminology service (value sets, code systems, concept maps) for these settings,
        bound to this database so that the resources users stored take part too."""
        from .terminology.service import bound_terminology

        return bound_terminology(self.settings, lambda: self.lookup_pool.connection())

    @cached_property
    def _validator(self) -> Any:
        """The validator of this server's registry, configured from the settings (document
        ingest uses it too, through :meth:`validate`)."""
        from .validation.options import ValidationOptions
        from .validation.validator import configure_validator

        options = ValidationOptions(
            display_warnings=self.settings.display_issues_are_warnings,
            unknown_extensions=self.settings.unknown_extensions,  # type: ignore[arg-type]  # checked by Settings.from_env
            allowed_extension_domains=self.settings.allowed_extension_domains,
        )
        return configure_validator(self.registry, options)

    def validate(self, resource: dict[str, Any], profiles: list[str] | None = None) -> dict[str, Any]:
        """Base R4 + ``profiles`` + the resource's ``meta.profile``, bindings checked by the
        terminology service, canonicals nothing shipped answers looked up among the stored
        resources: the one validation of the server (write path and ``$validate``)."""
        return self._validator.validate(resource, profiles, terminology=self.terminology, stored=self.stored_canonicals)

    @cached_property
    def stored_canonicals(self) -> Any:
        """Stored canonical resources by url, e.g. the Questionnaire a response answers."""
        from .store.canonical_lookup import PooledCanonicalLookup

        return PooledCanonicalLookup(lambda: self.lookup_pool)

    @cached_property
    def required_profiles(self) -> dict[str, list[str]]:
        """Resource type → the profiles every write of that type must conform to
        (``FHIRSRV_REQUIRED_PROFILES``). An unknown profile stops the server at start: a
        requirement that cannot be checked must not silently let everything through."""
        from .conformance.aliases import resolve_profile_alias

        required: dict[str, list[str]] = {}
        for rtype, name in self.settings.required_profiles:
            if not self.model.is_resource_type(rtype):
                raise ValueError(f"FHIRSRV_REQUIRED_PROFILES: {rtype!r} is not a FHIR R4 resource type")
            url = resolve_profile_alias(name)
            if self.registry.get(url) is None:
                raise ValueError(f"FHIRSRV_REQUIRED_PROFILES: the profile {url!r} (for {rtype}) is not in the loaded packages")
            required.setdefault(rtype, []).append(url)
        return required

    def validate_write(self, resource: dict[str, Any]) -> dict[str, Any]:
        """:meth:`validate` plus the profiles the configuration requires for the resource's type."""
        return self.validate(resource, self.required_profiles.get(resource.get("resourceType")) or None)

    @cached_property
    def write_validator(self) -> ResourceValidator:
        """What every write is checked with (an explicit ``validator`` replaces the default)."""
        if self.validator is not None:
            return self.validator
        _ = self.required_profiles  # a configuration error shows at start (warm_up), not at the first write
        return self.validate_write

    @cached_property
    def indexer(self) -> Indexer:
        return Indexer(self.model)

    @cached_property
    def store(self) -> ResourceStore:
        # an ingested document is immutable: PUT over its Bundle is refused (405), DELETE withdraws it
        return ResourceStore(self.indexer, protected={"Bundle": refuse_document_change},
                             on_delete={"Bundle": withdraw_document})

    @property
    def pool(self) -> ConnectionPool:
        """The request pool: every interaction's connection comes from here."""
        if self._pool is None or self._pool_pid != os.getpid():
            with self._pool_lock:
                if self._pool is None or self._pool_pid != os.getpid():
                    self._pool = open_pool(
                        self.conninfo, min_size=self.settings.pool_min, max_size=self.settings.pool_max
                    )
                    self._lookup_pool = None
                    self._pool_pid = os.getpid()
        return self._pool

    @property
    def lookup_pool(self) -> ConnectionPool:
        """A second, small pool for the lookups validation makes while its request already holds
        a connection of :attr:`pool` in an open transaction (the stored-terminology generation,
        stored Questionnaires). Taken from the request pool, those would need two connections
        per request thread: with every connection held by a waiting transaction, the pool would
        wait on itself until its timeout. A lookup never takes a second lookup connection."""
        _ = self.pool  # opened first in this process: after a fork it drops the parent's lookup pool
        if self._lookup_pool is None:
            with self._pool_lock:
                if self._lookup_pool is None:
                    self._lookup_pool = open_pool(
                        self.conninfo, min_size=1, max_size=max(2, self.settings.threads), name="fhirsrv-lookup"
                    )
        return self._lookup_pool

    def warm_up(self) -> None:
        """Load what the first request would otherwise wait for (seconds: every shipped package)."""
        _ = self.model, self.indexer, self.store
        if self.settings.validate_on_write:
            _ = self.write_validator

    @contextmanager
    def transaction(self, *, pipelined: bool = False) -> Iterator[psycopg.Cursor]:
        """One database transaction for one request: committed on success, rolled back on error.

        ``pipelined``: the whole transaction in psycopg pipeline mode, so that BEGIN goes out
        with the first statements and COMMIT with the last ones instead of costing a round
        trip each; for code that reads results only where it must (document ingest).
        """
        with self.pool.connection() as conn, conn.pipeline() if pipelined else nullcontext(), \
                conn.transaction(), conn.cursor() as cur:
            yield cur
            for hook in self.commit_hooks:
                hook(cur)

    @contextmanager
    def reading(self) -> Iterator[psycopg.Cursor]:
        """A cursor for a read made of one statement: no transaction around it."""
        with self.pool.connection() as conn, conn.cursor() as cur:
            yield cur

    def close(self) -> None:
        if self._pool_pid == os.getpid():
            for pool in (self._pool, self._lookup_pool):
                if pool is not None:
                    pool.close()
        self._pool = self._lookup_pool = None
