"""Keys: the server's own signing key, and the public keys (JWKS) of clients and issuers.

All cryptography is PyJWT on top of ``cryptography``; nothing here hand-rolls a primitive.
Only asymmetric algorithms are accepted (RS384 / ES384 as SMART Backend Services asks,
plus RS256 / ES256 for external issuers that use them): an HMAC or ``none`` token can
never pass, whatever its header says.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

_log = logging.getLogger("fhirsrv.security")

ASSERTION_ALGORITHMS = ("RS384", "ES384")  # SMART Backend Services client assertions
TOKEN_ALGORITHMS = ("RS384", "ES384", "RS256", "ES256", "PS256", "PS384")  # access tokens we verify


class KeyProblem(Exception):
    """A key or key set could not be loaded; the message says which and why."""


@dataclass(frozen=True)
class SigningKey:
    """A private key with the JWS algorithm it signs with and its ``kid``."""

    private_key: Any
    algorithm: str
    kid: str

    def public_jwk(self) -> dict[str, Any]:
        algo = jwt.get_algorithm_by_name(self.algorithm)
        jwk = algo.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key, algorithm=self.algorithm, headers={"kid": self.kid})


def _kid(private_key: Any) -> str:
    """A stable key id: a digest of the public key (so re-loading the file gives the same kid)."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).decode().rstrip("=")


def _algorithm_for(private_key: Any) -> str:
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        if private_key.curve.name != "secp384r1":
            raise KeyProblem("EC signing keys must be on P-384 (ES384)")
        return "ES384"
    if isinstance(private_key, rsa.RSAPrivateKey):
        if private_key.key_size < 2048:
            raise KeyProblem("RSA signing keys must be at least 2048 bits")
        return "RS384"
    raise KeyProblem(f"unsupported signing key type {type(private_key).__name__}: use EC P-384 or RSA")


def signing_key_from_pem(pem: bytes) -> SigningKey:
    private_key = serialization.load_pem_private_key(pem, password=None)
    return SigningKey(private_key, _algorithm_for(private_key), _kid(private_key))


def generate_pem() -> bytes:
    """A fresh EC P-384 private key as unencrypted PKCS#8 PEM."""
    key = ec.generate_private_key(ec.SECP384R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_or_create_signing_key(path: Path) -> SigningKey:
    """The server's signing key from ``path``; created (mode 0600) on first use.

    Creating it on demand keeps a development server and ``fhirsrv token`` working without
    setup; a production deployment sets FHIRSRV_AUTH_SIGNING_KEY to a managed key.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(generate_pem())
        _log.warning("created a new token signing key at %s", path)
    try:
        return signing_key_from_pem(path.read_bytes())
    except (ValueError, TypeError) as exc:
        raise KeyProblem(f"{path} is not an unencrypted PEM private key: {exc}") from None


@dataclass
class KeySet:
    """Public keys by ``kid`` from a JWKS given inline, as a file, or at a URL (cached)."""

    jwks: dict[str, Any] | None = None
    file: Path | None = None
    uri: str | None = None
    cache_seconds: int = 600
    _keys: dict[str, jwt.PyJWK] = field(default_factory=dict, init=False, repr=False)
    _loaded_at: float = field(default=0.0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _load(self) -> dict[str, Any]:
        if self.jwks is not None:
            return self.jwks
        if self.file is not None:
            try:
                return json.loads(self.file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise KeyProblem(f"cannot read JWKS file {self.file}: {exc}") from None
        if self.uri is not None:
            import requests

            response = requests.get(self.uri, timeout=5)
            response.raise_for_status()
            return response.json()
        raise KeyProblem("a key set needs jwks, jwks_file or jwks_uri")

    def _refresh(self, force: bool = False) -> None:
        stale = time.monotonic() - self._loaded_at > self.cache_seconds
        if self._keys and not force and not (self.uri and stale):
            return
        with self._lock:
            keys: dict[str, jwt.PyJWK] = {}
            for raw in self._load().get("keys", []):
                try:
                    jwk = jwt.PyJWK.from_dict(raw)
                except (jwt.PyJWKError, jwt.InvalidKeyError, KeyError, ValueError):
                    continue  # an unusable entry (private-only, unknown kty) is skipped, not fatal
                keys[raw.get("kid") or _kid_of_public(jwk)] = jwk
            self._keys = keys
            self._loaded_at = time.monotonic()

    def find(self, kid: str | None, algorithm: str) -> Any:
        """The public key for ``kid`` usable with ``algorithm``; KeyProblem when there is none."""
        if kid is not None and not isinstance(kid, str):
            raise KeyProblem("kid must be a string")
        self._refresh()
        if kid is not None and kid not in self._keys and self.uri:
            self._refresh(force=True)  # the issuer may have rotated its keys
        candidates = [self._keys[kid]] if kid in self._keys else ([] if kid else list(self._keys.values()))
        for jwk in candidates:
            if _fits(jwk, algorithm):
                return jwk.key
        raise KeyProblem(f"no registered key with kid {kid!r} for {algorithm}")


def _kid_of_public(jwk: jwt.PyJWK) -> str:
    der = jwk.key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).decode().rstrip("=")


def _fits(jwk: jwt.PyJWK, algorithm: str) -> bool:
    if algorithm.startswith("ES"):
        return isinstance(jwk.key, ec.EllipticCurvePublicKey)
    return isinstance(jwk.key, rsa.RSAPublicKey)


def key_set_from_config(entry: dict[str, Any], base_dir: Path) -> KeySet:
    """A KeySet from a client/issuer entry: ``jwks`` | ``jwks_file`` | ``jwks_uri`` | ``public_key_file``."""
    if "jwks" in entry:
        return KeySet(jwks=entry["jwks"])
    if "jwks_file" in entry:
        return KeySet(file=(base_dir / entry["jwks_file"]).resolve())
    if "public_key_file" in entry:
        pem = (base_dir / entry["public_key_file"]).read_bytes()
        public = serialization.load_pem_public_key(pem)
        algo = "ES384" if isinstance(public, ec.EllipticCurvePublicKey) else "RS384"
        jwk = jwt.get_algorithm_by_name(algo).to_jwk(public, as_dict=True)
        return KeySet(jwks={"keys": [jwk]})
    if "jwks_uri" in entry:
        return KeySet(uri=entry["jwks_uri"])
    raise KeyProblem("a client or issuer needs one of jwks, jwks_file, public_key_file, jwks_uri")
