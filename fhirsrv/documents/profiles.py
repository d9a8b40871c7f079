"""Which document profile a request means: a claim, a ``profile`` parameter or an alias.

A document profile is a pair (Bundle profile, Composition profile) of one IG version. The
families we know are listed here; their versions come from the registry, so shipping the
next IPS package adds a selectable version without code. An unversioned canonical means
"any published version": callers try the versions newest first.

Aliases (``ips``, ``ips-1.1``, ``eps``, ``sumehr``) are the project's, from
:mod:`fhirsrv.conformance.aliases`; an alias names one version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..conformance.aliases import PROFILE_ALIASES, SUMEHR_BUNDLE, resolve_profile_alias
from ..conformance.registry import Registry, split_canonical
from ..errors import FhirError
from ..jsonshape import items, obj

IPS_BASE = "http://hl7.org/fhir/uv/ips/StructureDefinition/"
EPS_BASE = "http://hl7.eu/fhir/eps/StructureDefinition/"


@dataclass(frozen=True)
class Family:
    name: str
    bundle: str  # canonical URL of the Bundle profile
    composition: str  # canonical URL of the Composition profile


FAMILIES = (
    Family("ips", IPS_BASE + "Bundle-uv-ips", IPS_BASE + "Composition-uv-ips"),
    Family("eps", EPS_BASE + "bundle-eu-eps", EPS_BASE + "composition-eu-eps"),
    Family("sumehr", SUMEHR_BUNDLE, SUMEHR_BUNDLE.replace("sumehr-bundle", "sumehr-composition")),
)

@dataclass(frozen=True)
class DocumentProfile:
    family: str
    version: str
    bundle: str  # canonical|version
    composition: str  # canonical|version

    @property
    def is_ips_1(self) -> bool:
        return self.family == "ips" and self.version.startswith("1.")


def _family_of(url: str) -> Family | None:
    return next((f for f in FAMILIES if url in (f.bundle, f.composition)), None)


def _versions(registry: Registry, family: Family, wanted: str | None) -> list[DocumentProfile]:
    known = [v for v in reversed(registry.versions(family.composition)) if registry.get(family.bundle, v)]
    if wanted is not None:
        known = [v for v in known if v == wanted or v.startswith(wanted + ".")]
    return [
        DocumentProfile(family.name, v, f"{family.bundle}|{v}", f"{family.composition}|{v}") for v in known
    ]


def resolve(reference: str, registry: Registry) -> list[DocumentProfile]:
    """Every profile version ``reference`` may mean, newest first; 400 if none is known.

    ``reference`` is an alias, or the canonical of a family's Bundle or Composition
    profile, with or without ``|version``.
    """
    url, version = split_canonical(resolve_profile_alias(reference.strip()))
    family = _family_of(url)
    if family is None:
        raise FhirError(
            f"profile {reference!r} is not a document profile this server supports; use "
            f"{IPS_BASE}Composition-uv-ips (|2.0.0 or |1.1.0), the EU Patient Summary "
            "(composition-eu-eps) or one of the aliases " + ", ".join(sorted(PROFILE_ALIASES)),
            code="not-supported",
            expression="profile",
        )
    found = _versions(registry, family, version)
    if not found:
        raise FhirError(
            f"profile {reference!r} is known, but no package for it is loaded on this server"
            + (f" in version {version}" if version else ""),
            code="not-supported",
            expression="profile",
        )
    return found


def claimed(bundle: dict, registry: Registry, default: str) -> list[list[DocumentProfile]]:
    """The document profiles a Bundle claims (Bundle.meta.profile, then the Composition's).

    Each claim is a list of acceptable versions; no claim at all → the configured default.
    Claims of profiles that are not document profiles (a national Bundle profile we do not
    ship) are left to the validator.
    """
    candidates: list[Any] = list(items(obj(bundle.get("meta")).get("profile")))
    entries = items(bundle.get("entry"))
    first = entries[0].get("resource") if entries and isinstance(entries[0], dict) else None
    if isinstance(first, dict) and first.get("resourceType") == "Composition":
        candidates.extend(items(obj(first.get("meta")).get("profile")))
    claims: list[list[DocumentProfile]] = []
    seen: set[str] = set()
    for candidate in candidates:
        if not isinstance(candidate, str):
            continue
        url, version = split_canonical(candidate)
        family = _family_of(url)
        key = f"{family.name if family else url}|{version or ''}"
        if family is None or key in seen:
            continue
        seen.add(key)
        claims.append(resolve(candidate, registry))
    return claims or [resolve(default, registry)]
