"""Fixtures of the Bundle tests."""

from __future__ import annotations

import pytest

from ..serving import serve_with


def _serve(conninfo: str, **settings_changes):
    """The application on a real loopback HTTP server, on the suite's database."""
    yield from serve_with(conninfo, **settings_changes)


@pytest.fixture(scope="session")
def large_body_base_url(conninfo: str):
    """A second server on the same database accepting bodies up to 64 MiB: the Synthea batches
    of hospitals and practitioners (3.7 MB each) are larger than the suite's default test
    limit (2 MiB). Writes are validated, as in production."""
    yield from _serve(conninfo, max_body_bytes=64 * 1024 * 1024)


@pytest.fixture(scope="session")
def storage_base_url(conninfo: str):
    """A server that stores without validating (``FHIRSRV_VALIDATE_ON_WRITE=false``) and takes
    bodies up to 64 MiB (the largest R4 example is 35 MB): for proofs about storage alone."""
    yield from _serve(conninfo, max_body_bytes=64 * 1024 * 1024, validate_on_write=False)
