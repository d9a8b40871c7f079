"""Short names for the profiles people validate against most (the CLI's ``--profile``).

``eps`` and ``sumehr`` name packages built by other parts of the project; when the URL in
the table is not loaded we look for a Bundle profile whose canonical contains the alias's
marker (so a change of canonical base there does not break the alias), and otherwise say
clearly that the package is missing.
"""

from __future__ import annotations

from typing import Any

IPS_BUNDLE = "http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips"

ALIASES: dict[str, tuple[str, str]] = {
    # alias: (canonical, marker used to find it when the canonical is not loaded)
    "ips": (f"{IPS_BUNDLE}|2.0.0", ""),
    "ips-2.0": (f"{IPS_BUNDLE}|2.0.0", ""),
    "ips-1.1": (f"{IPS_BUNDLE}|1.1.0", ""),
    "eps": ("http://hl7.eu/fhir/eps/StructureDefinition/bundle-eu-eps", "eps"),
    "sumehr": ("https://fhirsrv.dev/fhir/sumehr/StructureDefinition/sumehr-bundle", "sumehr"),
}


class UnknownProfile(LookupError):
    """An alias whose package is not loaded, or a URL the registry does not hold."""


def resolve_profile(name: str, registry: Any) -> str:
    """The canonical URL for an alias or URL; raises :class:`UnknownProfile` with advice."""
    if name not in ALIASES:
        if registry.get(name) is None:
            raise UnknownProfile(f"The profile {name} is not known; give a canonical URL of a loaded StructureDefinition or one of: {', '.join(ALIASES)}.")
        return name
    url, marker = ALIASES[name]
    if registry.get(url) is not None:
        return url
    if marker:
        for sd in registry.iter_type("StructureDefinition"):
            if sd.get("type") == "Bundle" and sd.get("derivation") == "constraint" and marker in sd.get("url", "").lower():
                return sd["url"]
    raise UnknownProfile(f"The profile alias {name!r} stands for {url}, which is not loaded: its package is not in profiles/ (yet).")
