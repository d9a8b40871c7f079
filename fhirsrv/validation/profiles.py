"""Profiles named by alias or canonical (the CLI's ``--profile``, ``$validate``'s ``profile``).

The alias table itself is :data:`fhirsrv.conformance.aliases.PROFILE_ALIASES`; here an alias
or URL is resolved against the loaded registry, with a clear message when it is not loaded.
"""

from __future__ import annotations

from typing import Any

from fhirsrv.conformance.aliases import PROFILE_ALIASES, resolve_profile_alias

ALIASES = PROFILE_ALIASES


class UnknownProfile(LookupError):
    """An alias whose package is not loaded, or a URL the registry does not hold."""


def resolve_profile(name: str, registry: Any) -> str:
    """The canonical URL for an alias or URL; raises :class:`UnknownProfile` with advice."""
    canonical = resolve_profile_alias(name)
    if registry.get(canonical) is not None:
        return canonical
    if canonical != name:
        raise UnknownProfile(
            f"The profile alias {name!r} stands for {canonical}, which is not loaded: its package is not in profiles/."
        )
    raise UnknownProfile(
        f"The profile {name} is not known; give a canonical URL of a loaded StructureDefinition "
        f"or one of: {', '.join(PROFILE_ALIASES)}."
    )
