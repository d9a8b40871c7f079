"""What the validator page offers: the profile choices and the shipped examples.

Kept as data beside the page so that adding an IG (a new alias understood by ``$validate``)
or an example is one line here, not a change to the template or the script.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProfileChoice:
    """One entry of the profile menu.

    ``value`` is sent as the ``profile`` parameter of ``$validate``: an alias the validator
    understands, the empty string for "validate against what the payload claims in
    ``meta.profile``" (no parameter sent), or ``core`` for the base R4 definition of the
    payload's own type (the page sends ``http://hl7.org/fhir/StructureDefinition/<type>``).
    """

    value: str
    label: str


PROFILES: tuple[ProfileChoice, ...] = (
    ProfileChoice("", "As claimed in meta.profile"),
    ProfileChoice("core", "Base FHIR R4 only"),
    ProfileChoice("ips", "IPS 2.0.0 (International Patient Summary)"),
    ProfileChoice("ips-1.1", "IPS 1.1.0"),
    ProfileChoice("eps", "EU Patient Summary"),
    ProfileChoice("sumehr", "Sumehr-like (Belgium)"),
)


@dataclass(frozen=True)
class Example:
    """A payload shipped with the page (``static/examples/<file>``)."""

    file: str
    label: str


EXAMPLES: tuple[Example, ...] = (
    Example("ips-2.0-minimal.json", "IPS 2.0 minimal document (valid)"),
    Example("ips-2.0-bundle-01.json", "IPS 2.0 example document 01"),
    Example("ips-2.0-broken.json", "IPS 2.0 document with mistakes"),
)
