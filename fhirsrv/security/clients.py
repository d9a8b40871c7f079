"""Registered SMART Backend Services clients (FHIRSRV_AUTH_CLIENTS).

Registration is out of band, as SMART Backend Services expects: a JSON file lists each
client with its public keys and the most it may be granted::

    {"clients": [{"client_id": "ncp-be",
                  "jwks_file": "ncp-be.jwks.json",      # or jwks / jwks_uri / public_key_file
                  "scope": "system/Patient.rs system/Bundle.rs",
                  "role": null, "nihdi": null}]}        # optional identity for the policy

Relative file names are resolved beside the clients file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .keys import KeyProblem, KeySet, key_set_from_config


@dataclass(frozen=True)
class Client:
    client_id: str
    keys: KeySet
    scope: str  # the most this client may be granted
    role: str | None = None
    nihdi: str | None = None


def load_clients(path: Path | None) -> dict[str, Client]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyProblem(f"cannot read the clients file {path}: {exc}") from None
    entries: list[dict[str, Any]] = data.get("clients", []) if isinstance(data, dict) else data
    clients: dict[str, Client] = {}
    for entry in entries:
        client_id = entry.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise KeyProblem(f"{path}: every client needs a client_id")
        clients[client_id] = Client(
            client_id=client_id,
            keys=key_set_from_config(entry, path.parent),
            scope=str(entry.get("scope", "")),
            role=entry.get("role"),
            nihdi=entry.get("nihdi"),
        )
    return clients
