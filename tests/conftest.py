"""Shared fixtures: a real Postgres and the server on a real HTTP socket (loopback)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
from hypothesis import settings as hypothesis_settings

from fhirsrv.app import create_app
from fhirsrv.config import Settings

from .pg import test_database
from .serving import serving

# Property tests explore new examples on a developer's machine; in CI (CI=true) they replay a
# fixed derivation so that a run is repeatable and a red build always reproduces.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def conninfo() -> Iterator[str]:
    with test_database() as info:
        yield info


@pytest.fixture(scope="session")
def app(conninfo: str):
    # auth off: these tests exercise FHIR behaviour; tests/security runs its own app with auth on
    settings = Settings.from_env().with_(database_url=conninfo, max_body_bytes=2 * 1024 * 1024, auth="off")
    application = create_app(settings, conninfo=conninfo)
    yield application
    application.extensions["fhirsrv"].close()


@pytest.fixture(scope="session")
def base_url(app) -> Iterator[str]:
    with serving(app) as url:
        yield url


class FhirClient(requests.Session):
    """requests with the FHIR base URL prefixed and the FHIR media type set."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.headers.update({"Accept": "application/fhir+json", "Content-Type": "application/fhir+json"})

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        if not url.startswith("http"):
            url = f"{self.base}/{url.lstrip('/')}" if url else self.base
        return super().request(method, url, *args, **kwargs)


@pytest.fixture()
def fhir(base_url: str) -> Iterator[FhirClient]:
    with FhirClient(base_url) as client:
        yield client
