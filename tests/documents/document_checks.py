"""Structural checks every generated document must pass (FHIR documents + IPS Bundle rules)."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from fhirsrv.documents.references import BundleReferences, iter_references

LOINC = "http://loinc.org"


def check_document(bundle: dict[str, Any], *, generated: bool = True) -> dict[str, Any]:
    """Assert the document's shape; returns its Composition. ``generated``: ours, so every
    section has entries or emptyReason (a received document may have narrative-only ones)."""
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "document"
    assert bundle["identifier"]["system"] and bundle["identifier"]["value"]
    assert bundle["timestamp"]
    entries = bundle["entry"]
    full_urls = [e["fullUrl"] for e in entries]
    assert all(full_urls) and len(set(full_urls)) == len(full_urls), "fullUrl on every entry, each once"
    keys = [(e["resource"]["resourceType"], e["resource"].get("id")) for e in entries]
    assert len(set(keys)) == len(keys), "every resource exactly once"
    assert all(not ({"request", "response", "search"} & set(e)) for e in entries)
    composition = entries[0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert [r for r, _ in keys].count("Composition") == 1
    refs = BundleReferences(entries)
    for at, entry in enumerate(entries):  # a document carries everything its entries reference
        for ref in iter_references(entry["resource"]):
            if not ref["reference"].startswith("#"):
                assert refs.resolve(ref["reference"], at) is not None, (entry["fullUrl"], ref)
    subject = entries[refs.resolve(composition["subject"]["reference"], 0)]["resource"]
    assert subject["resourceType"] == "Patient"
    for section in composition["section"]:
        assert section["title"]
        assert section["code"]["coding"][0]["system"] == LOINC
        ElementTree.fromstring(section["text"]["div"])  # well-formed XHTML
        assert not ("entry" in section and "emptyReason" in section), section["title"]  # cmp-2
        if generated:
            assert "entry" in section or "emptyReason" in section, section["title"]
        listed = [e["reference"] for e in section.get("entry", [])]
        assert len(set(listed)) == len(listed), f"{section['title']}: an entry listed twice"
    return composition


def section(composition: dict[str, Any], code: str) -> dict[str, Any] | None:
    return next((s for s in composition["section"] if s["code"]["coding"][0]["code"] == code), None)


def entry_resources(bundle: dict[str, Any], sec: dict[str, Any] | None) -> list[dict[str, Any]]:
    if sec is None:
        return []
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    return [by_url[r["reference"]] for r in sec.get("entry", [])]
