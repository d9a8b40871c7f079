"""Serve a test application on a real loopback HTTP socket."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Run ``app`` in a thread on 127.0.0.1 (a free port); yields the FHIR base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{app.extensions['fhirsrv'].settings.base_path}"
    finally:
        server.shutdown()
