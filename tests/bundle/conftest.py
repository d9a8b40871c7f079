"""Fixtures of the Bundle tests."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from fhirsrv.app import create_app
from fhirsrv.config import Settings


@pytest.fixture(scope="session")
def large_body_base_url(conninfo: str):
    """A second server on the same database accepting bodies up to 64 MiB: the Synthea batches
    of hospitals and practitioners (3.7 MB each) and the largest R4 examples (35 MB) are larger
    than the suite's default test limit (2 MiB)."""
    settings = Settings.from_env().with_(database_url=conninfo, max_body_bytes=64 * 1024 * 1024)
    application = create_app(settings, conninfo=conninfo)
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/fhir"
    server.shutdown()
    application.extensions["fhirsrv"].close()
