"""Narrative XHTML checks (fhirsrv.validation.narrative): txt-1, entities, internal links.

Each was a disagreement with the HL7 Java validator in fhir-test-cases (pat-security-bad-xhtml,
xml-bad-entities-json, bundle-with-contained, ips-link)."""

from __future__ import annotations

import pytest

from fhirsrv.validation import Validator
from fhirsrv.validation.invariants import holds
from fhirsrv.validation.narrative import parse_div

from .helpers import describe, errors, find

XHTML = 'xmlns="http://www.w3.org/1999/xhtml"'


def _patient(div: str, **more) -> dict:
    return {"resourceType": "Patient", "text": {"status": "generated", "div": div}, **more}


@pytest.mark.parametrize("content, message_id, code, quoted", [
    ("some text <script>somescript</script>", "xhtml-element", "security", "<script>"),
    ('<p onclick="steal()">x</p>', "xhtml-attribute", "security", "'onclick'"),
    ("CPT&reg; &lt;ok&gt; &#174;", "xhtml-entity", "value", "&reg;"),
])
def test_content_the_narrative_rules_forbid(validator: Validator, content: str, message_id: str, code: str, quoted: str) -> None:
    issues = validator.issues(_patient(f"<div {XHTML}>{content}</div>"))
    found = find(issues, message_id)
    assert [(i.severity, i.code, i.expression) for i in found] == [("error", code, "Patient.text.div")], describe(issues)
    assert quoted in found[0].diagnostics


def test_not_well_formed(validator: Validator) -> None:
    issues = validator.issues(_patient(f"<div {XHTML}><p>unclosed</div>"))
    assert [(i.severity, i.code) for i in find(issues, "xhtml-not-well-formed")] == [("error", "structure")], describe(issues)


def test_clean_narrative_with_tables_images_and_links(validator: Validator) -> None:
    div = (f'<div {XHTML} lang="en"><h1 id="top">T</h1><table border="1"><tr><td colspan="2" style="x">a</td></tr></table>'
           '<img src="#pic" alt="p"/><a href="#top">up</a> <a href="http://hl7.org/fhir">out</a></div>')
    issues = validator.issues(_patient(div))
    assert not errors(issues), describe(issues)
    assert not find(issues, "xhtml-link-unresolved")


def test_internal_link_must_resolve_warning(validator: Validator) -> None:
    """bundle-with-contained: Java "Hyperlink '#…' does not resolve" (Java: error; here a warning,
    see the module docstring)."""
    issues = validator.issues(_patient(f'<div {XHTML}><a href="#nowhere">see above</a></div>'))
    found = find(issues, "xhtml-link-unresolved")
    assert [(i.severity, i.code, i.expression) for i in found] == [("warning", "not-found", "Patient.text.div")]


def test_internal_link_to_a_contained_resource_narrative(validator: Validator) -> None:
    contained = {"resourceType": "Organization", "id": "org", "name": "O", "text": {"status": "generated", "div": f'<div {XHTML}><span id="org-name">O</span></div>'}}
    patient = _patient(f'<div {XHTML}><a href="#org-name">O</a> <a href="#org">O</a></div>', contained=[contained], managingOrganization={"reference": "#org"})
    assert not find(validator.issues(patient), "xhtml-link-unresolved")


def test_text_link_htmlid_must_exist(validator: Validator) -> None:
    """ips-link: Java "The html id 'AAA1234XJ' was not found in the xhtml"."""
    def link(htmlid: str) -> dict:
        return {"url": "http://hl7.org/fhir/StructureDefinition/textLink", "extension": [
            {"url": "htmlid", "valueString": htmlid}, {"url": "data", "valueUri": "#" + htmlid}]}
    patient = _patient(f'<div {XHTML}><span id="AAA1234">James</span></div>')
    patient["text"]["extension"] = [link("AAA1234"), link("AAA1234XJ")]
    issues = validator.issues(patient)
    found = find(issues, "xhtml-textlink-unresolved")
    assert [(i.severity, i.code, i.expression) for i in found] == [("error", "not-found", "Patient.text.extension[1]")], describe(issues)


def test_html_checks_function_is_txt_1() -> None:
    """htmlChecks() in FHIRPath (txt-1 as a profile restates it) gives the same verdict."""
    assert holds("htmlChecks()", f"<div {XHTML}>ok</div>", "xhtml", None, None)
    assert not holds("htmlChecks()", f"<div {XHTML}><script>x</script></div>", "xhtml", None, None)
    assert parse_div(f"<div {XHTML}><form/></div>").problems[0][0] == "xhtml-element"
