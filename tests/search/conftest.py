"""Fixtures for the search engine tests: the real Postgres, the R4 model, a resource loader.

Tests share one database per session; each test names its data uniquely (a fresh
``tag`` per test), and searches that could see other tests' rows filter on that tag.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from fhirsrv.config import Settings
from fhirsrv.conformance.r4 import R4Model, load_model
from fhirsrv.store.indexer import Indexer
from fhirsrv.store.repository import ResourceStore
from fhirsrv.store.search import SearchRequest, SearchResult, execute

TAG_SYSTEM = "urn:fhirsrv:test"


@pytest.fixture(scope="session")
def model() -> R4Model:
    return load_model(Settings().profiles_dir)


@pytest.fixture(scope="session")
def indexer(model: R4Model) -> Indexer:
    return Indexer(model)


@pytest.fixture(scope="session")
def store(indexer: Indexer) -> ResourceStore:
    return ResourceStore(indexer)


@pytest.fixture()
def db(conninfo: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        yield conn


class Loader:
    """Stores resources through the real repository (so indexing runs as in production)."""

    def __init__(self, conn: psycopg.Connection, store: ResourceStore, model: R4Model) -> None:
        self.conn = conn
        self.store = store
        self.model = model
        self.tag = uuid.uuid4().hex[:10]

    def id(self, local: str) -> str:
        """A resource id unique to this test."""
        return f"{self.tag}-{local}"

    def put(self, resource: dict[str, Any]) -> str:
        """Store under the resource's own id (update-as-create), tagged; returns the id."""
        resource = dict(resource)
        meta = dict(resource.get("meta") or {})
        meta["tag"] = [*meta.get("tag", []), {"system": TAG_SYSTEM, "code": self.tag}]
        resource["meta"] = meta
        rid = resource.get("id") or uuid.uuid4().hex[:16]
        resource["id"] = rid
        with self.conn.transaction(), self.conn.cursor() as cur:
            self.store.update(cur, resource["resourceType"], rid, resource)
        return rid

    def search(self, rtype: str | None, query: list[tuple[str, str]] | str, *, tagged: bool = True,
               page_size: int = 50, lenient: bool = False) -> SearchResult:
        params = _pairs(query)
        if tagged:
            params.append(("_tag", f"{TAG_SYSTEM}|{self.tag}"))
        request = SearchRequest.parse(rtype, params, self.model, lenient)
        return execute(self.conn, request, page_size=page_size)

    def ids(self, rtype: str | None, query: list[tuple[str, str]] | str, **kwargs: Any) -> list[str]:
        return [m.id for m in self.search(rtype, query, **kwargs).matches]


def _pairs(query: list[tuple[str, str]] | str) -> list[tuple[str, str]]:
    if isinstance(query, str):
        from urllib.parse import parse_qsl

        return parse_qsl(query, keep_blank_values=True)
    return list(query)


@pytest.fixture()
def loader(db: psycopg.Connection, store: ResourceStore, model: R4Model) -> Loader:
    return Loader(db, store, model)
