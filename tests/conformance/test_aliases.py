"""Every profile alias names a Bundle profile the shipped packages define."""

from __future__ import annotations

import pytest

from fhirsrv.conformance.aliases import PROFILE_ALIASES, resolve_profile_alias


@pytest.mark.parametrize("alias", sorted(PROFILE_ALIASES))
def test_alias_resolves_in_the_registry(alias: str, registry) -> None:
    canonical = resolve_profile_alias(alias)
    url, version = canonical.split("|")
    sd = registry.get(canonical)
    assert sd is not None, canonical
    assert sd["url"] == url and sd["type"] == "Bundle"
    assert sd.get("version") == version


def test_ips_versions_are_distinct_definitions(registry) -> None:
    assert registry.get(resolve_profile_alias("ips")) is not registry.get(resolve_profile_alias("ips-1.1"))


def test_unknown_names_and_urls_pass_through() -> None:
    assert resolve_profile_alias("http://example.org/sd|1") == "http://example.org/sd|1"
    assert resolve_profile_alias(" IPS ") == PROFILE_ALIASES["ips"]
