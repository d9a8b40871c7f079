"""Short names for the document profiles the server knows (``--profile ips`` on the CLI …).

Why versioned canonicals: IPS 1.1.0 and 2.0.0 share their URLs, so ``ips`` must say which
one it means; the registry resolves ``url|version`` exactly.
"""

from __future__ import annotations

IPS_BUNDLE = "http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips"
EPS_BUNDLE = "http://hl7.eu/fhir/eps/StructureDefinition/bundle-eu-eps"
SUMEHR_BUNDLE = "https://fhirsrv.dev/fhir/be-sumehr/StructureDefinition/sumehr-bundle"

PROFILE_ALIASES: dict[str, str] = {
    "ips": f"{IPS_BUNDLE}|2.0.0",
    "ips-2.0": f"{IPS_BUNDLE}|2.0.0",
    "ips-1.1": f"{IPS_BUNDLE}|1.1.0",
    "eps": f"{EPS_BUNDLE}|1.0.0-xtehr",
    "sumehr": f"{SUMEHR_BUNDLE}|0.1.0",
}


def resolve_profile_alias(name: str) -> str:
    """The canonical (``url|version``) for an alias; anything else is returned unchanged,
    so a caller can pass either an alias or a canonical URL."""
    return PROFILE_ALIASES.get(name.strip().lower(), name)
