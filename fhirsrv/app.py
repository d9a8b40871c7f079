"""``create_app`` — the Flask application factory.

Builds the services (pool, store, definitions), mounts the FHIR API under the base path
with flask-smorest (which also publishes the OpenAPI document), and installs the error
handlers that turn every failure into an OperationOutcome: never a stack trace, never HTML.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from flask import Flask, Response, request
from flask_smorest import Api, Blueprint
from werkzeug.exceptions import HTTPException

from . import __version__, security, web
from .config import Settings
from .errors import FhirError, operation_outcome
from .fhirjson import JsonError
from .rest.http import fhir_response
from .services import ResourceValidator, Services

_log = logging.getLogger("fhirsrv")

_HTTP_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
    429: "throttled",
}


def _outcome_response(status: int, code: str, text: str, headers: dict[str, str] | None = None) -> Response:
    outcome = operation_outcome([{"severity": "error", "code": code, "diagnostics": text}])
    return fhir_response(outcome, status, headers)


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(FhirError)
    def on_fhir_error(exc: FhirError) -> Response:
        return fhir_response(exc.outcome, exc.status, exc.headers)

    @app.errorhandler(JsonError)
    def on_json_error(exc: JsonError) -> Response:  # e.g. a body too deeply nested to store
        return _outcome_response(400, "structure", str(exc))

    @app.errorhandler(HTTPException)
    def on_http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        text = {
            404: "no such FHIR endpoint: check the resource type and the URL",
            405: "this HTTP method is not allowed on this URL",
            413: f"the request body is larger than the limit of {app.config['MAX_CONTENT_LENGTH']} bytes",
        }.get(status, exc.description or exc.name)
        headers = {}
        if status == 405 and getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(exc.valid_methods)
        return _outcome_response(status, _HTTP_ISSUE_CODES.get(status, "processing"), text, headers)

    @app.errorhandler(psycopg.DataError)
    def on_data_error(exc: psycopg.DataError) -> Response:
        # Input that slipped past the checks and that Postgres refuses (a value out of range,
        # an impossible date): the client's fault, so a 400, never a 500.
        _log.warning("database refused a value from the request: %s", exc.__class__.__name__)
        return _outcome_response(400, "invalid", "a value in the request is out of range or malformed")

    @app.before_request
    def refuse_nul_in_url() -> Response | None:
        if b"%00" in request.query_string or b"\x00" in request.query_string or "\x00" in request.path:
            return _outcome_response(400, "invalid", "NUL characters are not allowed in the URL")
        return None

    @app.errorhandler(Exception)
    def on_unexpected(exc: Exception) -> Response:
        _log.exception("unexpected error while handling a request")
        return _outcome_response(500, "exception", "internal server error; the incident was logged")


def _mount_fhir_api(app: Flask, api: Api, settings: Settings) -> None:
    from .operations import catalogue  # noqa: F401  (registers every operation module)
    from .rest.routes import ROUTES, OperationConverter
    from .web.openapi import OpenApiDescriber

    app.url_map.converters["op"] = OperationConverter
    api.register_converter(OperationConverter, lambda _c: {"type": "string", "pattern": OperationConverter.regex})
    blueprint = Blueprint("fhir", __name__, url_prefix=settings.base_path,
                          description="The FHIR R4 RESTful API (application/fhir+json)")
    describer = OpenApiDescriber(api, settings)  # OpenAPI docs generated from ROUTES and the operation registry
    for route in ROUTES:
        blueprint.route(route.rule, methods=list(route.methods), endpoint=route.endpoint)(describer.view(route))
    api.register_blueprint(blueprint)
    describer.install(app)


def create_app(
    settings: Settings | None = None,
    *,
    conninfo: str,
    validator: ResourceValidator | None = None,
    extra_config: dict[str, Any] | None = None,
) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask("fhirsrv")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE="fhirsrv",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
    )
    app.config.update(extra_config or {})
    app.url_map.strict_slashes = False
    app.extensions["fhirsrv"] = Services(settings=settings, conninfo=conninfo, validator=validator)
    api = Api(app)
    _mount_fhir_api(app, api, settings)
    security.install(app, settings)
    web.init_app(app, settings)  # the validator page, the landing page and /docs
    _install_error_handlers(app)
    return app
