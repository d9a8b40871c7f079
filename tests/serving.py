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


def serve_with(conninfo: str, **settings_changes):
    """A generator for fixtures: the application with these settings (auth off unless given)
    on a real loopback HTTP server, on the suite's database; yields the FHIR base URL."""
    from fhirsrv.app import create_app
    from fhirsrv.config import Settings

    settings = Settings.from_env().with_(database_url=conninfo, **{"auth": "off", **settings_changes})
    application = create_app(settings, conninfo=conninfo)
    try:
        with serving(application) as url:
            yield url
    finally:
        application.extensions["fhirsrv"].close()
