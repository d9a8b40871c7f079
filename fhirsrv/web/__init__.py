"""The pages for people: a landing page, the validator page and the API documentation.

The validator page is static HTML and plain JavaScript that calls the FHIR API's own
``$validate`` (there is no second validator), so what a developer sees in the browser is
exactly what an EHR would get over HTTP. All assets are shipped in the package: the page
works offline and behind a hospital firewall.
"""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

from ..config import Settings
from .catalogue import EXAMPLES, PROFILES

STATIC_URL_PATH = "/ui/static"


def _blueprint(settings: Settings) -> Blueprint:
    pages = Blueprint(
        "web",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path=STATIC_URL_PATH,
    )
    context = {"base_path": settings.base_path.rstrip("/"), "profiles": PROFILES, "examples": EXAMPLES}

    @pages.get("/validator")
    def validator() -> str:
        return render_template("validator.html", **context)

    @pages.get("/docs")
    def docs() -> str:
        """Swagger UI over flask-smorest's /openapi.json, from the shipped swagger-ui-dist files."""
        return render_template("docs.html", spec_url="/openapi.json", **context)

    if settings.base_path.strip("/"):  # with the FHIR API at "/", "/" is the API's, not ours

        @pages.get("/")
        def landing() -> str:
            return render_template("index.html", **context)

    return pages


def init_app(app: Flask, settings: Settings) -> None:
    """Mount the pages (the validator, the landing page and /docs) on the application."""
    app.register_blueprint(_blueprint(settings))
