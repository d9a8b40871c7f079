"""$summary's parameters as the IPS ``summary`` OperationDefinition declares them, and the
configured custodian of generated summaries (FHIRSRV_SUMMARY_CUSTODIAN[_IDENTIFIER])."""

from __future__ import annotations

import json

import pytest

from fhirsrv.app import create_app
from fhirsrv.config import Settings
from tests.conftest import FhirClient
from tests.serving import serving

from .document_checks import check_document
from .examples import SSIN, example, fresh, unique_ssin

IPS = "http://hl7.org/fhir/uv/ips/StructureDefinition/"


@pytest.fixture()
def patient(post_document) -> str:
    posted = post_document(fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin()))
    assert posted.status == 201
    return posted.patient


def test_return_is_the_document_itself_not_a_parameters_wrapper(fhir, patient):
    # `return` is the only out parameter (a Bundle): operations.html sends it as the body itself
    for response in (fhir.get(f"{patient}/$summary"),
                     fhir.post(f"{patient}/$summary", data=json.dumps({"resourceType": "Parameters"}))):
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/fhir+json")
        bundle = response.json()
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "document"
        assert bundle["meta"]["profile"] == [IPS + "Bundle-uv-ips|2.0.0"]


@pytest.mark.parametrize("how", ["query", "parameters"])
def test_return_given_as_input_is_400(fhir, patient, how):
    if how == "query":
        response = fhir.get(f"{patient}/$summary", params={"return": "Bundle"})
    else:
        response = fhir.post(f"{patient}/$summary", data=json.dumps({"resourceType": "Parameters", "parameter": [
            {"name": "return", "resource": {"resourceType": "Bundle", "type": "document"}}]}))
    assert response.status_code == 400
    [issue] = response.json()["issue"]
    assert (issue["code"], issue["expression"]) == ("invalid", ["return"])
    assert "output" in issue["diagnostics"]


def test_unknown_parameter_is_400_unless_lenient(fhir, patient):
    refused = fhir.get(f"{patient}/$summary", params={"sections": "all"})
    assert refused.status_code == 400
    assert [(i["code"], i["expression"]) for i in refused.json()["issue"]] == [("not-supported", ["sections"])]
    lenient = fhir.get(f"{patient}/$summary", params={"sections": "all"}, headers={"Prefer": "handling=lenient"})
    assert lenient.status_code == 200
    graph = fhir.get(f"{patient}/$summary", params={"graph": "http://example.org/GraphDefinition/x"})
    assert graph.status_code == 400
    assert graph.json()["issue"][0]["code"] == "not-supported"


def test_ips_1_1_parameter_spelling_identifer_is_understood(fhir, patient):
    ssin = fhir.get(patient).json()["identifier"][0]["value"]
    response = fhir.post("Patient/$summary", data=json.dumps({"resourceType": "Parameters", "parameter": [
        {"name": "identifer", "valueIdentifier": {"system": SSIN, "value": ssin}},
        {"name": "profile", "valueUri": IPS + "Composition-uv-ips|1.1.0"}]}))
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["entry"][1]["fullUrl"].endswith(patient)
    assert bundle["meta"]["profile"] == [IPS + "Bundle-uv-ips|1.1.0"]


def _custodian(bundle: dict) -> dict:
    composition = check_document(bundle)
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    return composition["custodian"] | {"resource": by_url[composition["custodian"]["reference"]]}


def test_default_custodian(fhir, patient):
    custodian = _custodian(fhir.get(f"{patient}/$summary").json())
    assert custodian["display"] == custodian["resource"]["name"] == "fhirsrv patient summary service"
    assert "identifier" not in custodian["resource"]


def test_custodian_comes_from_the_configuration(conninfo, patient, monkeypatch):
    monkeypatch.setenv("FHIRSRV_SUMMARY_CUSTODIAN", "eHealth Hub Vlaanderen")
    monkeypatch.setenv("FHIRSRV_SUMMARY_CUSTODIAN_IDENTIFIER",
                       "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/cbe|0809394427")
    settings = Settings.from_env().with_(database_url=conninfo, auth="off")
    app = create_app(settings, conninfo=conninfo)
    try:
        with serving(app) as base, FhirClient(base) as client:
            custodian = _custodian(client.get(f"{patient}/$summary").json())
    finally:
        app.extensions["fhirsrv"].close()
    assert custodian["display"] == custodian["resource"]["name"] == "eHealth Hub Vlaanderen"
    assert custodian["resource"]["identifier"] == [
        {"system": "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/cbe", "value": "0809394427"}]


def test_malformed_custodian_identifier_stops_the_start(monkeypatch):
    monkeypatch.setenv("FHIRSRV_SUMMARY_CUSTODIAN_IDENTIFIER", "0809394427")
    with pytest.raises(ValueError, match="FHIRSRV_SUMMARY_CUSTODIAN_IDENTIFIER must be system\\|value"):
        Settings.from_env()


def test_parameter_table_is_built_once_per_registry(app):
    from fhirsrv.conformance.registry import Registry
    from fhirsrv.operations.summary import SUMMARY, parameter_uses

    shipped = app.extensions["fhirsrv"].registry
    registry = Registry()  # a registry of its own: nothing cached for it yet
    registry.add_all(shipped.get(SUMMARY, version) for version in shipped.versions(SUMMARY))
    lookups: list[str] = []
    versions = registry.versions
    registry.versions = lambda url: lookups.append(url) or versions(url)  # type: ignore[method-assign]
    first = parameter_uses(registry)
    # both shipped versions: 2.0.0's identifier and profile, 1.1.0's identifer and graph; return is out
    assert dict(first) == {"identifier": "in", "profile": "in", "return": "out", "identifer": "in", "graph": "in"}
    assert parameter_uses(registry) is first
    assert lookups == [SUMMARY]  # the OperationDefinitions were read for the first call only
    assert parameter_uses(shipped) == first


@pytest.mark.parametrize("operation", ["summary", "document"])
def test_a_body_that_is_not_parameters_is_400(fhir, post_document, operation):
    posted = post_document(fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin()))
    url = f"{posted.patient}/$summary" if operation == "summary" else f"{posted.composition}/$document"
    response = fhir.post(url, data=json.dumps({"resourceType": "Patient", "gender": "female"}))
    assert response.status_code == 400, response.text
    [issue] = response.json()["issue"]
    assert (issue["code"], issue["expression"]) == ("invalid", ["Patient"])
    assert f"POST ${operation} takes a Parameters resource" in issue["diagnostics"]


def test_a_parameter_without_a_name_is_400(fhir, patient):
    response = fhir.post(f"{patient}/$summary", data=json.dumps({"resourceType": "Parameters", "parameter": [
        {"name": "profile", "valueString": "ips"}, {"valueString": "ips-1.1"}]}))
    assert response.status_code == 400, response.text
    [issue] = response.json()["issue"]
    assert (issue["code"], issue["expression"]) == ("required", ["Parameters.parameter[1].name"])
