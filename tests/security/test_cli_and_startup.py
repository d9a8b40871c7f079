"""`fhirsrv token` mints tokens the server accepts; auth off is announced loudly."""

from __future__ import annotations

import json
import logging

import jwt

from fhirsrv.app import create_app
from fhirsrv.cli import main
from fhirsrv.security.cli import run
from fhirsrv.security.tokens import TokenService


def test_token_command_mints_a_verifiable_token(secure_settings, capsys):
    assert run(["--scope", "user/*.rs", "--role", "gp", "--nihdi", "12345678901"], secure_settings) == 0
    token = capsys.readouterr().out.strip()
    ctx = TokenService(secure_settings).verify(token)
    assert ctx.user is not None and ctx.user.nihdi == "12345678901" and ctx.user.role == "gp"
    assert ctx.scopes.allows("Observation", "r") and not ctx.scopes.allows("Observation", "c")


def test_token_command_patient_context(secure_settings, capsys):
    assert run(["--scope", "patient/*.rs", "--patient", "p1"], secure_settings) == 0
    ctx = TokenService(secure_settings).verify(capsys.readouterr().out.strip())
    assert ctx.patient == "p1" and ctx.kind == "patient"


def test_keygen_and_assertion(tmp_path, capsys):
    key, jwks = tmp_path / "client.pem", tmp_path / "client.jwks.json"
    assert main(["token", "keygen", "--out", str(key), "--jwks", str(jwks)]) == 0
    capsys.readouterr()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert run(["assertion", "--client-id", "c1", "--key", str(key), "--aud", "https://x/token"]) == 0
    assertion = capsys.readouterr().out.strip()
    public = jwt.PyJWKSet.from_dict(json.loads(jwks.read_text())).keys[0]
    claims = jwt.decode(assertion, public.key, algorithms=["ES384"], audience="https://x/token")
    assert claims["iss"] == claims["sub"] == "c1" and claims["exp"] - claims["iat"] <= 300


def test_auth_off_is_announced_loudly(secure_settings, conninfo, caplog):
    with caplog.at_level(logging.WARNING, logger="fhirsrv.security"):
        app = create_app(secure_settings.with_(auth="off"), conninfo=conninfo)
    try:
        assert "AUTHENTICATION IS OFF" in caplog.text
        statement = app.test_client().get("/fhir/metadata").get_json()["rest"][0]["security"]["description"]
        assert "AUTHENTICATION IS OFF" in statement
    finally:
        app.extensions["fhirsrv"].close()


def test_product_default_is_auth_on(monkeypatch):
    from fhirsrv.config import Settings

    monkeypatch.delenv("FHIRSRV_AUTH", raising=False)
    assert Settings.from_env().auth_enabled


def test_what_is_enforced_is_stated_at_start(secure_settings, conninfo, caplog):
    """The start-up line and the CapabilityStatement name exactly the rules switched on."""
    settings = secure_settings.with_(policy_rules=("role-ban", "sensitivity"), break_glass=False)
    with caplog.at_level(logging.INFO, logger="fhirsrv.security"):
        app = create_app(settings, conninfo=conninfo)
    try:
        [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("security: ")]
        assert "patient-level rules enforced: role-ban, sensitivity;" in line
        assert "break-the-glass disabled" in line and "consent" not in line
        statement = app.test_client().get("/fhir/metadata").get_json()["rest"][0]["security"]["description"]
        assert statement == line.removeprefix("security: ")
    finally:
        app.extensions["fhirsrv"].close()
