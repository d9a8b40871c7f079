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
