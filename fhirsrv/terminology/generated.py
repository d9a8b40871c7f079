"""Code systems built from maintained libraries instead of shipped files.

FHIR names some external code systems that no FHIR package carries: ``hl7.terminology``
has only a ``not-present`` stub for ISO 3166, so without this a value set such as
``http://hl7.org/fhir/ValueSet/jurisdiction`` (every country and subdivision) could not be
checked offline. The codes come from ``pycountry`` (LGPL-2.1, the Debian ``iso-codes``
data), kept current by its maintainers; updating the library updates the codes.

* ``urn:iso:std:iso:3166`` — ISO 3166-1: every country as its alpha-2, alpha-3 *and* numeric
  code (FHIR's terminologies-systems page: "2 or 3 letter codes", and the numeric codes
  are the same code system; the HL7 terminology server holds all three). The display is the
  ISO short name; the official and common names are designations (an answer "Bolivia" is a
  name of BO, not a wrong display);
* ``urn:iso:std:iso:3166:-2`` — ISO 3166-2 subdivisions (``BE-VAN``), with their parent
  subdivision as the hierarchy.

Each is built once, on first use (≈ 10 ms for 3166-1, 40 ms for 3166-2), and then resolved like a shipped CodeSystem:
:class:`fhirsrv.terminology.content.Sources` and the validator's offline checker
(:class:`fhirsrv.validation.valuesets.LocalValueSets`) both ask :func:`generated_codesystem`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.metadata import version
from typing import Any

ISO_3166 = "urn:iso:std:iso:3166"
ISO_3166_2 = "urn:iso:std:iso:3166:-2"

_DESIGNATION_USE = {"system": "http://terminology.hl7.org/CodeSystem/designation-usage", "code": "display"}


def _designations(*names: str | None, display: str) -> list[dict[str, Any]]:
    seen = {display}
    out = []
    for name in names:
        if name and name not in seen:
            seen.add(name)
            out.append({"language": "en", "use": _DESIGNATION_USE, "value": name})
    return out


def _codesystem(url: str, name: str, title: str, concepts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "url": url,
        "version": f"pycountry-{version('pycountry')}",
        "name": name,
        "title": title,
        "status": "active",
        "publisher": "ISO (codes as published by the Debian iso-codes project, through pycountry)",
        "copyright": "ISO maintains the copyright on the country codes: https://www.iso.org/iso-3166-country-codes.html",
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
        "concept": concepts,
    }


def _iso_3166_1() -> dict[str, Any]:
    import pycountry

    concepts: list[dict[str, Any]] = []
    for country in pycountry.countries:
        display = country.name
        designations = _designations(getattr(country, "official_name", None), getattr(country, "common_name", None), display=display)
        for code in (country.alpha_2, country.alpha_3, country.numeric):
            concept: dict[str, Any] = {"code": code, "display": display}
            if designations:
                concept["designation"] = designations
            concepts.append(concept)
    return _codesystem(ISO_3166, "ISO3166Part1", "ISO 3166-1 country codes (alpha-2, alpha-3, numeric)", concepts)


def _iso_3166_2() -> dict[str, Any]:
    import pycountry

    concepts: list[dict[str, Any]] = []
    for subdivision in pycountry.subdivisions:
        concept: dict[str, Any] = {"code": subdivision.code, "display": subdivision.name}
        parent = getattr(subdivision, "parent_code", None)
        if parent:
            concept["property"] = [{"code": "parent", "valueCode": parent}]
        concepts.append(concept)
    return _codesystem(ISO_3166_2, "ISO3166Part2", "ISO 3166-2 country subdivision codes", concepts)


GENERATORS: dict[str, Callable[[], dict[str, Any]]] = {
    ISO_3166: _iso_3166_1,
    ISO_3166_2: _iso_3166_2,
}


def generated_codesystem(url: str) -> dict[str, Any] | None:
    """The CodeSystem resource for ``url`` when it is one we generate, else None."""
    return _built(url) if url in GENERATORS else None


@cache
def _built(url: str) -> dict[str, Any]:
    """Built once per process (the cache holds only the URLs of :data:`GENERATORS`)."""
    return GENERATORS[url]()

