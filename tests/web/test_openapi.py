"""/openapi.json describes every route and operation; the pages load only shipped assets."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from fhirsrv.operations.framework import registered
from fhirsrv.rest.routes import ROUTES

VENDOR = Path(__file__).resolve().parents[2] / "fhirsrv" / "web" / "static" / "vendor"


def openapi_path(rule: str) -> str:
    return "/fhir" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_every_route_and_operation_is_described(site_url: str) -> None:
    spec = requests.get(f"{site_url}/openapi.json", timeout=120).json()
    paths = spec["paths"]
    for route in ROUTES:
        path = openapi_path(route.rule)
        assert path in paths or path.rstrip("/") + "/" in paths, path
        for method in route.methods:
            operation = (paths.get(path) or paths[path.rstrip("/") + "/"])[method.lower()]
            assert operation.get("summary"), (path, method)
            responses = operation["responses"]
            assert "400" in responses and any(code.startswith("2") for code in responses), (path, method)
    read = paths["/fhir/{rtype}/{rid}"]["get"]
    assert {p["name"] for p in read["parameters"]} >= {"_summary", "_elements", "If-None-Match"}
    assert paths["/fhir/{rtype}"]["post"]["requestBody"]["content"]["application/fhir+json"]
    types = spec["components"]["schemas"]["ResourceType"]["enum"]
    assert "Patient" in types and "Bundle" in types and len(types) > 140
    # each type's own search parameters, from the R4 definitions
    shared = spec["components"]["parameters"]
    for rtype, code in (("Patient", "family"), ("Observation", "code"), ("Composition", "patient")):
        names = {shared[p["$ref"].rsplit("/", 1)[-1]]["name"] for p in paths[f"/fhir/{rtype}"]["get"]["parameters"]}
        assert {code, "_id", "_count", "_include"} <= names, rtype
    for spec_op in registered():
        if spec_op.type_level:
            assert f"/fhir/{{rtype}}/${spec_op.name}" in paths, spec_op.name
        if spec_op.system:
            assert f"/fhir/${spec_op.name}" in paths, spec_op.name


def test_pages_use_only_shipped_assets(site_url: str) -> None:
    for page in ("/", "/validator", "/docs"):
        answer = requests.get(f"{site_url}{page}", timeout=30)
        assert answer.status_code == 200, page
        assert answer.headers["Content-Type"].startswith("text/html")
        assert '<html lang="en">' in answer.text
        external = re.findall(r'(?:src|href)="(https?:)?//', answer.text)
        assert not external, f"{page} loads from elsewhere"
        for asset in re.findall(r'(?:src|href)="(/ui/static/[^"]+)"', answer.text):
            assert requests.get(f"{site_url}{asset}", timeout=30).status_code == 200, asset
    for licence in ("LICENSE", "NOTICE"):
        assert (VENDOR / "swagger-ui" / licence).is_file()
