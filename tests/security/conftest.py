"""A second application on the same database with authentication ON, and the keys it trusts.

Fixture data is written through the development server (auth off, the ``fhir`` fixture of
tests/conftest.py) so that a test can set up a patient without consent; every assertion is
made against the secured server with real, signed tokens.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from fhirsrv.app import create_app
from fhirsrv.config import Settings
from fhirsrv.security.keys import SigningKey, generate_pem, signing_key_from_pem
from fhirsrv.security.tokens import TokenService

from ..conftest import FhirClient
from ..serving import serving

AUDIENCE = "https://fhirsrv.test/fhir"
EXTERNAL_ISSUER = "https://idp.test"


@dataclass
class Keys:
    server_key_file: Path
    client: SigningKey  # ES384 backend-services client "ncp"
    rsa_client: SigningKey  # RS384 client "vendor"
    external: SigningKey  # the external identity provider
    stranger: SigningKey  # registered nowhere
    clients_file: Path
    issuers_file: Path


def _rsa_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    folder = tmp_path_factory.mktemp("keys")
    server_key_file = folder / "server.pem"
    server_key_file.write_bytes(generate_pem())
    client = signing_key_from_pem(generate_pem())
    rsa_client = signing_key_from_pem(_rsa_pem())
    external = signing_key_from_pem(generate_pem())
    stranger = signing_key_from_pem(generate_pem())
    (folder / "ncp.jwks.json").write_text(json.dumps({"keys": [client.public_jwk()]}))
    clients_file = folder / "clients.json"
    clients_file.write_text(json.dumps({"clients": [
        {"client_id": "ncp", "jwks_file": "ncp.jwks.json", "scope": "system/Patient.rs system/Observation.rs"},
        {"client_id": "vendor", "jwks": {"keys": [rsa_client.public_jwk()]}, "scope": "system/*.cruds"},
    ]}))
    (folder / "idp.jwks.json").write_text(json.dumps({"keys": [external.public_jwk()]}))
    issuers_file = folder / "issuers.json"
    issuers_file.write_text(json.dumps({"issuers": [{"issuer": EXTERNAL_ISSUER, "jwks_file": "idp.jwks.json"}]}))
    return Keys(server_key_file, client, rsa_client, external, stranger, clients_file, issuers_file)


@pytest.fixture(scope="session")
def secure_settings(conninfo: str, keys: Keys) -> Settings:
    return Settings.from_env().with_(
        database_url=conninfo, max_body_bytes=1024 * 1024, auth="on", auth_audience=AUDIENCE,
        auth_signing_key=keys.server_key_file, auth_clients_file=keys.clients_file,
        auth_issuers_file=keys.issuers_file, validate_on_write=False,
        policy_rules=("role-ban", "consent", "therapeutic-relationship", "exclusion", "sensitivity"),
    )


@pytest.fixture(scope="session")
def secure_app(secure_settings: Settings, conninfo: str):
    application = create_app(secure_settings, conninfo=conninfo)
    yield application
    application.extensions["fhirsrv"].close()


@pytest.fixture(scope="session")
def secure_base(secure_app) -> Iterator[str]:
    with serving(secure_app) as url:
        yield url


class Minter:
    """Mints access tokens the way `fhirsrv token` does, with the secured server's key."""

    def __init__(self, settings: Settings) -> None:
        self.service = TokenService(settings)

    def system(self, scope: str = "system/*.cruds", **claims: Any) -> str:
        return self.service.mint(subject="test-system", scope=scope, client_id="test-system", **claims)[0]

    def user(self, role: str, nihdi: str | None, scope: str = "user/*.cruds", **claims: Any) -> str:
        return self.service.mint(subject=nihdi or role, scope=scope, client_id="ehr", role=role, nihdi=nihdi,
                                 **claims)[0]

    def patient(self, patient_id: str, scope: str = "patient/*.cruds", **claims: Any) -> str:
        return self.service.mint(subject=f"ssin-{patient_id}", scope=scope, client_id="portal", role="patient",
                                 patient=patient_id, **claims)[0]


@pytest.fixture(scope="session")
def tokens(secure_settings: Settings) -> Minter:
    return Minter(secure_settings)


class SecureClient(FhirClient):
    """A FHIR client for the secured server; every request carries a fresh X-Request-Id."""

    def call(self, method: str, url: str, token: str | None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        headers.setdefault("X-Request-Id", str(uuid.uuid4()))
        response = self.request(method, url, headers=headers, **kwargs)
        response.request_id = headers["X-Request-Id"]  # type: ignore[attr-defined]
        return response


@pytest.fixture()
def api(secure_base: str) -> Iterator[SecureClient]:
    with SecureClient(secure_base) as client:
        yield client


@pytest.fixture()
def audit_events(conninfo: str, secure_app):
    """AuditEvents written for one request (found by its X-Request-Id), once the writer is idle."""

    def find(response: requests.Response) -> list[dict[str, Any]]:
        assert secure_app.extensions["fhirsrv.security"].audit_writer.flush()
        with psycopg.connect(conninfo) as conn:
            rows = conn.execute(
                "SELECT body::text FROM resource WHERE rtype = 'AuditEvent' AND body::text LIKE %s",
                (f"%{response.request_id}%",),  # type: ignore[attr-defined]
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    return find


# -- building the Belgian access facts -------------------------------------------------------
NIHDI = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/nihdi"
THERLINK = "https://fhirsrv.dev/CodeSystem/therapeutic-relationship"


def consent(patient_id: str, *, status: str = "active", deny_nihdi: str | None = None) -> dict[str, Any]:
    provision: dict[str, Any] = {"type": "permit"}
    if deny_nihdi:
        provision = {"type": "deny", "actor": [{
            "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                 "code": "PRCP"}]},
            "reference": {"identifier": {"system": NIHDI, "value": deny_nihdi}}}]}
    return {
        "resourceType": "Consent", "status": status,
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{patient_id}"},
        "dateTime": "2025-01-01",
        "policy": [{"uri": "https://www.ehealth.fgov.be/hubs-metahub-regulation"}],
        "provision": provision,
    }


def care_team(patient_id: str, nihdi: str, trigger: str, days_ago: int, end: str | None = None) -> dict[str, Any]:
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - days_ago * 86400))
    period = {"start": start, **({"end": end} if end else {})}
    return {
        "resourceType": "CareTeam", "status": "active",
        "category": [{"coding": [{"system": THERLINK, "code": trigger}]}],
        "subject": {"reference": f"Patient/{patient_id}"},
        "participant": [{"member": {"identifier": {"system": NIHDI, "value": nihdi}}, "period": period}],
    }


def observation(patient_id: str, *, security: str | None = None) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "valueQuantity": {"value": 72, "unit": "/min"},
    }
    if security:
        obs["meta"] = {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                                     "code": security}]}
    return obs


class World:
    """Creates patients and their access facts through the development server (auth off)."""

    def __init__(self, dev: FhirClient) -> None:
        self.dev = dev

    def create(self, resource: dict[str, Any]) -> str:
        response = self.dev.post(resource["resourceType"], json=resource)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def patient(self, *, consented: bool = True) -> str:
        pid = f"p-{uuid.uuid4().hex[:12]}"
        response = self.dev.put(f"Patient/{pid}", json={"resourceType": "Patient", "id": pid, "gender": "female"})
        assert response.status_code == 201, response.text
        if consented:
            self.create(consent(pid))
        return pid


@pytest.fixture()
def world(fhir: FhirClient) -> World:
    return World(fhir)


def new_nihdi() -> str:
    return str(uuid.uuid4().int)[:11]
