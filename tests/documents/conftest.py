"""Helpers for document tests: post a document, follow its DocumentReference."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class Posted:
    status: int
    body: dict[str, Any]
    docref: dict[str, Any] | None

    @property
    def patient(self) -> str:
        assert self.docref is not None
        return self.docref["subject"]["reference"]

    @property
    def composition(self) -> str:
        assert self.docref is not None
        return self.docref["context"]["related"][0]["reference"]


@pytest.fixture()
def post_document(fhir):
    def post(bundle: dict[str, Any]) -> Posted:
        response = fhir.post("Bundle", data=json.dumps(bundle))
        docref = None
        if "X-Document-Reference" in response.headers:
            docref = fhir.get(response.headers["X-Document-Reference"]).json()
        return Posted(response.status_code, response.json() if response.content else {}, docref)

    return post


def count(fhir, rtype: str) -> int:
    """Versions of ``rtype`` stored so far (type history total): any write shows up here."""
    return fhir.get(f"{rtype}/_history", params={"_count": 1, "_total": "accurate"}).json()["total"]

