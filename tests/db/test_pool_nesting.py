"""A request pool of one connection still serves writes whose validation looks things up in
the database (stored terminology, stored Questionnaires): those lookups use a pool of their
own, so a request never waits for a second connection of the pool its transaction holds."""

from __future__ import annotations

import pytest
import requests

from ..documents.examples import example, fresh, unique_ssin
from ..serving import serve_with

HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
# Below the pool's own 30 s timeout: a request waiting on its own pool times out here (the
# bug this file guards against), while a first request that loads and compiles the
# definitions on a loaded machine (measured up to 12 s) still gets its answer.
CLIENT_TIMEOUT = 25


@pytest.fixture(scope="module")
def one_connection_url(conninfo: str):
    yield from serve_with(conninfo, pool_min=1, pool_max=1)


@pytest.mark.parametrize("resource", [
    # a required binding to a LOINC answer list no package ships: the stored terminology is asked
    {"resourceType": "MolecularSequence", "coordinateSystem": 0,
     "structureVariant": [{"variantType": {"coding": [{"system": "http://loinc.org", "code": "LA6692-3"}]}}]},
    # a Questionnaire that is neither contained nor shipped: the stored ones are asked
    {"resourceType": "QuestionnaireResponse", "status": "completed",
     "questionnaire": "https://fhirsrv.dev/test/Questionnaire/not-stored"},
])
def test_a_write_needing_a_lookup_does_not_wait_on_its_own_pool(one_connection_url: str, resource: dict) -> None:
    response = requests.post(f"{one_connection_url}/{resource['resourceType']}", json=resource, headers=HEADERS, timeout=CLIENT_TIMEOUT)
    assert response.status_code == 201, response.text


def test_document_ingest_with_one_connection(one_connection_url: str) -> None:
    """Ingest validates inside its transaction: the case the helper pool exists for."""
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    response = requests.post(f"{one_connection_url}/Bundle", json=bundle, headers=HEADERS, timeout=CLIENT_TIMEOUT)
    assert response.status_code == 201, response.text
