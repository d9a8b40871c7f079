"""Bundle tests: a stand-in for the search engine until it is merged (test-only).

Conditional create/update/delete and conditional references resolve through
``fhirsrv.store.search.find_ids``. While that module is not on this branch, the tests install
a deliberately small resolver (``identifier`` and ``_id`` only, by scanning stored bodies) so
the transaction semantics can be tested; with the real engine present it is not used.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types

import pytest


def _stub_find_ids(cur, model, rtype, params):  # pragma: no cover - replaced by the real engine
    where = ["rtype = %s", "current", "NOT deleted"]
    args: list = [rtype]
    for name, value in params:
        if name == "_id":
            where.append("id = %s")
            args.append(value)
        elif name == "identifier":
            system, sep, code = value.rpartition("|")
            ident = {"value": code, **({"system": system} if sep and system else {})}
            where.append("body::jsonb -> 'identifier' @> %s::jsonb")
            args.append(json.dumps([ident]))
        else:
            raise AssertionError(f"the test stand-in for search only knows identifier and _id, not {name}")
    cur.execute("SELECT id FROM resource WHERE " + " AND ".join(where), args)
    return [row[0] for row in cur.fetchall()]


@pytest.fixture(scope="session", autouse=True)
def search_engine():
    """The real ``fhirsrv.store.search`` when present, else the stand-in above."""
    if importlib.util.find_spec("fhirsrv.store.search") is not None:
        yield "real"
        return
    module = types.ModuleType("fhirsrv.store.search")
    module.find_ids = _stub_find_ids
    sys.modules["fhirsrv.store.search"] = module
    yield "stub"
    del sys.modules["fhirsrv.store.search"]


@pytest.fixture(scope="session")
def large_body_base_url(conninfo: str):
    """A second server on the same database accepting bodies up to 64 MiB: the Synthea batches
    of hospitals and practitioners are larger than the suite's default test limit (2 MiB)."""
    import threading

    from werkzeug.serving import make_server

    from fhirsrv.app import create_app
    from fhirsrv.config import Settings

    settings = Settings.from_env().with_(database_url=conninfo, max_body_bytes=64 * 1024 * 1024)
    application = create_app(settings, conninfo=conninfo)
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/fhir"
    server.shutdown()
    application.extensions["fhirsrv"].close()
