"""``fhirsrv token``: development tokens and keys, from the same settings the server reads.

    fhirsrv token --scope 'system/*.rs'                          # a system token
    fhirsrv token --scope 'user/*.rs' --role gp --nihdi 19012345004
    fhirsrv token --scope 'patient/*.rs' --patient 123            # a patient's token
    fhirsrv token keygen --out client.pem --jwks client.jwks.json # a backend-services key pair
    fhirsrv token assertion --client-id ncp --key client.pem --aud http://127.0.0.1:8080/fhir/auth/token

Minted tokens are signed with the server's key (FHIRSRV_AUTH_SIGNING_KEY, or the one created
under the data directory) so a local server accepts them. The token is printed on stdout
and nowhere else.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from ..config import Settings
from .context import KNOWN_ROLES
from .keys import generate_pem, signing_key_from_pem
from .tokens import TokenService


def _mint_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fhirsrv token", description="mint a development access token")
    parser.add_argument("--scope", required=True, help="SMART scopes, space-separated (v1 or v2)")
    parser.add_argument("--client-id", default="fhirsrv-cli", help="client_id claim (default fhirsrv-cli)")
    parser.add_argument("--subject", help="sub claim (default: the client id, or the NIHDI number)")
    parser.add_argument("--role", choices=sorted(KNOWN_ROLES), help="the professional's quality, or 'patient'")
    parser.add_argument("--nihdi", help="the professional's NIHDI number")
    parser.add_argument("--name", help="display name of the user")
    parser.add_argument("--patient", help="patient context (id of the Patient the token is limited to)")
    parser.add_argument("--lifetime", type=int, default=3600, help="seconds (default 3600)")
    return parser


def mint(argv: Sequence[str], settings: Settings) -> int:
    args = _mint_parser().parse_args(argv)
    if args.patient and args.role is None:
        args.role = "patient"
    service = TokenService(settings)
    token, _ = service.mint(
        subject=args.subject or args.nihdi or args.client_id, scope=args.scope, lifetime=args.lifetime,
        client_id=args.client_id, role=args.role, nihdi=args.nihdi, name=args.name, patient=args.patient,
    )
    print(token)
    return 0


def keygen(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="fhirsrv token keygen",
                                     description="create an ES384 key pair for a backend-services client")
    parser.add_argument("--out", required=True, type=Path, help="private key file to write (PEM)")
    parser.add_argument("--jwks", required=True, type=Path, help="public JWKS file to write (register this)")
    args = parser.parse_args(argv)
    pem = generate_pem()
    args.out.write_bytes(pem)
    args.out.chmod(0o600)
    args.jwks.write_text(json.dumps({"keys": [signing_key_from_pem(pem).public_jwk()]}, indent=2))
    print(f"private key: {args.out}\npublic JWKS: {args.jwks}")
    return 0


def assertion(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="fhirsrv token assertion",
                                     description="sign a private_key_jwt client assertion (valid 5 minutes)")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--key", required=True, type=Path, help="the client's private key (PEM)")
    parser.add_argument("--aud", required=True, help="the token endpoint URL")
    args = parser.parse_args(argv)
    key = signing_key_from_pem(args.key.read_bytes())
    issued = int(time.time())
    print(key.sign({"iss": args.client_id, "sub": args.client_id, "aud": args.aud, "iat": issued,
                    "exp": issued + 300, "jti": str(uuid.uuid4())}))
    return 0


def run(argv: Sequence[str], settings: Settings | None = None) -> int:
    argv = list(argv)
    settings = settings or Settings.from_env()
    if argv and argv[0] == "keygen":
        return keygen(argv[1:])
    if argv and argv[0] == "assertion":
        return assertion(argv[1:])
    return mint(argv, settings)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
