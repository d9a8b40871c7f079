"""Where the import goes: a running server over HTTP, or this machine's database in-process.

Both speak the FHIR REST API, so both go through the server's own request handling (the
transaction processor of ``POST [base]``, validation on write, authorisation): the
in-process client is the application itself driven by Flask's test client, with no socket
and no second code path that could store what the API would refuse.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from .. import fhirjson

FHIR_JSON = "application/fhir+json"


@dataclass
class Reply:
    status: int
    body: Any  # parsed JSON, or None

    def diagnostics(self) -> str:
        """The first issue's text when the body is an OperationOutcome, else the HTTP status."""
        body = self.body
        if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
            texts = [i.get("diagnostics") or (i.get("details") or {}).get("text") or i.get("code", "")
                     for i in body.get("issue") or [] if i.get("severity") in ("fatal", "error")]
            if texts:
                more = f" (and {len(texts) - 1} more)" if len(texts) > 1 else ""
                return f"HTTP {self.status}: {texts[0]}{more}"
        return f"HTTP {self.status}"


class Client(Protocol):
    def send(self, method: str, path: str, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> Reply: ...


def _headers(token: str | None, extra: dict[str, str] | None) -> dict[str, str]:
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON, "Prefer": "return=minimal"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    headers.update(extra or {})
    return headers


def _parse(data: bytes) -> Any:
    if not data.strip():
        return None
    try:
        return fhirjson.loads(data)
    except (fhirjson.JsonError, UnicodeDecodeError):
        return None


class HttpClient(AbstractContextManager):
    """A running fhirsrv (or any FHIR server) at ``base``; one connection per thread."""

    def __init__(self, base: str, token: str | None = None, timeout: float = 600) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(session)
        return session

    def send(self, method: str, path: str, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> Reply:
        url = f"{self.base}/{path}" if path else f"{self.base}/"
        data = fhirjson.dumps(body) if body is not None else None
        for attempt in (1, 2):
            try:
                response = self.session.request(method, url, data=data, headers=_headers(self.token, headers),
                                                timeout=self.timeout)
                return Reply(response.status_code, _parse(response.content))
            except requests.ConnectionError as exc:
                # A server may close a kept-alive connection (gunicorn does after refusing a large
                # body unread); retry once on a new connection. The importer's requests are PUTs
                # by id or conditional creates, so repeating one cannot duplicate anything.
                error: Exception = exc
                if attempt == 2:
                    break
            except requests.RequestException as exc:
                error = exc
                break
        return Reply(0, {"resourceType": "OperationOutcome", "issue": [
            {"severity": "fatal", "code": "transient", "diagnostics": f"cannot reach {self.base}: {error}"}]})

    def __exit__(self, *exc: object) -> None:
        for session in self._sessions:
            session.close()


class InProcessClient(AbstractContextManager):
    """The server's own application on this machine's database (embedded or DATABASE_URL)."""

    def __init__(self, token: str | None = None) -> None:
        from ..app import create_app
        from ..config import Settings
        from ..db.database import open_database
        from ..security.tokens import operator_token

        settings = Settings.from_env()
        self.database = open_database(settings)
        self.app = create_app(settings, conninfo=self.database.conninfo)
        self.base = settings.base_path.rstrip("/")
        self.token = token or operator_token(settings, "fhirsrv-import")  # audited as this client
        self.http = self.app.test_client()

    def send(self, method: str, path: str, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> Reply:
        data = fhirjson.dumps(body) if body is not None else None
        response = self.http.open(f"{self.base}/{path}", method=method, data=data,
                                  headers=_headers(self.token, headers))
        return Reply(response.status_code, _parse(response.get_data()))

    def __exit__(self, *exc: object) -> None:
        self.app.extensions["fhirsrv"].close()
        self.database.release()
