"""End to end (issue 5 proof): a Belgian medication coded only with CNK is ingested and comes
out of ``$summary`` with its SNOMED CT coding beside the CNK one (``userSelected`` false, the
sender's coding first and unchanged) — and unchanged when ``FHIRSRV_ENRICH_CODES`` is off."""

from __future__ import annotations

import json

import pytest

from fhirsrv.app import create_app
from tests.documents.examples import example, fresh, unique_ssin
from tests.serving import serving

from .conftest import SNOMED

CNK_IPS = "https://cnk.apb.be/codings/cnk_product_codes"
CNK_CODING = {"system": CNK_IPS, "code": "2374429", "display": "BOOSTRIX POLIO"}


def _cnk_only_document() -> dict:
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    medication = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Medication")
    medication["code"] = {"coding": [dict(CNK_CODING)], "text": "Boostrix Polio"}
    return bundle


def _summary_medication_codings(client) -> list[dict]:
    response = client.post("Bundle", data=json.dumps(_cnk_only_document()))
    assert response.status_code == 201, response.text
    docref = client.get(response.headers["X-Document-Reference"]).json()
    summary = client.get(f"{docref['subject']['reference']}/$summary").json()
    codings = [
        e["resource"]["code"]["coding"] for e in summary["entry"]
        if e["resource"]["resourceType"] == "Medication"
        and any(c.get("code") == "2374429" for c in e["resource"]["code"].get("coding", []))
    ]
    assert len(codings) == 1, "the CNK-coded medication is in the summary once"
    return codings[0]


def test_cnk_medication_comes_out_of_summary_with_snomed(fhir):
    codings = _summary_medication_codings(fhir)
    assert codings == [CNK_CODING, {"system": SNOMED, "code": "871878002", "userSelected": False}]


@pytest.fixture(scope="module")
def unenriched_base_url(app, conninfo):
    settings = app.extensions["fhirsrv"].settings.with_(enrich_codes=False)
    application = create_app(settings, conninfo=conninfo)
    with serving(application) as url:
        yield url
    application.extensions["fhirsrv"].close()


def test_enrichment_switched_off_leaves_the_coding_alone(unenriched_base_url):
    from tests.conftest import FhirClient

    with FhirClient(unenriched_base_url) as client:
        assert _summary_medication_codings(client) == [CNK_CODING]
