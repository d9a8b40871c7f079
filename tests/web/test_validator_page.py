"""The validator page in a real browser, against the server's $validate over real HTTP.

Until the ``$validate`` operation lands on main, it is the test-only adapter of
:mod:`tests.web.stand_in_validate` over the real validator engine; once the operation is
registered the tests use it unchanged (they key on FHIRPath expressions).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import stand_in_validate

EXAMPLES = Path(__file__).resolve().parents[2] / "fhirsrv" / "web" / "static" / "examples"
BROKEN = (EXAMPLES / "ips-2.0-broken.json").read_text()
VALID = (EXAMPLES / "ips-2.0-minimal.json").read_text()


@pytest.fixture(scope="module")
def stand_in(app) -> Iterator[bool]:
    with stand_in_validate.installed() as used:
        yield used


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def paste(page, text: str) -> None:
    """A real paste (clipboard + Ctrl+V), as a developer does it."""
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.focus("#payload")
    page.keyboard.press("Control+A")
    page.keyboard.press("Control+V")


def wait_verdict(page, pattern: str) -> str:
    page.wait_for_function(
        "p => new RegExp(p).test(document.getElementById('verdict').textContent)", arg=pattern, timeout=180000
    )
    return page.inner_text("#verdict")


def test_invalid_document_then_profile_switch_then_valid(page, site_url, stand_in) -> None:
    page.goto(f"{site_url}/validator")
    assert page.title().startswith("Validator")

    paste(page, BROKEN)
    verdict = wait_verdict(page, "^Not valid")
    assert re.search(r"\d+ errors?", verdict)

    gender = page.locator("button.issue", has=page.locator("code.path", has_text="entry[1].resource.gender"))
    assert gender.count() == 1
    assert "error" in gender.get_attribute("class")
    group = page.locator("section.issue-group", has=gender)
    assert "Patient/" in group.locator("h3").inner_text()
    # issues of other entries are grouped apart
    assert page.locator("section.issue-group h3", has_text="Condition/").count() == 1

    gender.click()
    expected = line_of(BROKEN, '"gender": "femme"')
    assert page.get_attribute("#line-mark", "data-line") == str(expected)
    assert page.is_visible("#line-mark")
    selected = page.evaluate("() => { const t = document.getElementById('payload');"
                             " return t.value.slice(t.selectionStart, t.selectionEnd); }")
    assert '"gender": "femme"' in selected
    assert page.get_attribute("button.issue[aria-current]", "data-line") == str(expected)

    # a choice-type expression (onset.ofType(dateTime)) lands on onsetDateTime's line
    onset = page.locator("button.issue", has=page.locator("code.path", has_text="entry[4].resource.onset"))
    if onset.count():
        assert onset.first.get_attribute("data-line") == str(line_of(BROKEN, '"onsetDateTime": "2016-13-45"'))

    assert page.is_enabled("#download")
    with page.expect_download() as download:
        page.click("#download")
    outcome = json.loads(Path(download.value.path()).read_text())
    assert outcome["resourceType"] == "OperationOutcome"
    assert page.is_disabled("#store")

    page.select_option("#profile", "ips")
    paste(page, VALID)
    verdict = wait_verdict(page, "^Valid —")
    assert "IPS 2.0.0" in verdict
    if stand_in:
        assert stand_in_validate.calls[-1] == {"profile": "ips", "type": "Bundle"}
    assert page.is_enabled("#store")

    page.click("#store")
    page.wait_for_function("() => /Stored|Not authorised|Not stored/.test("
                           "document.getElementById('store-result').textContent)")
    result = page.inner_text("#store-result")
    assert result.startswith("Stored") or "Not authorised" in result, result


def test_keyboard_only(page, site_url, stand_in) -> None:
    """Load an example, validate with Ctrl+Enter, reach an issue with Tab and open it with Enter."""
    page.goto(f"{site_url}/validator")
    page.select_option("#example", "ips-2.0-broken.json")
    page.focus("#load-example")
    page.keyboard.press("Enter")
    wait_verdict(page, "^Not valid")
    page.focus("#payload")
    page.keyboard.press("Control+Enter")
    wait_verdict(page, "^Not valid")
    first = page.locator("button.issue[data-line]").first
    first.focus()
    page.keyboard.press("Enter")
    assert page.get_attribute("#line-mark", "data-line") == first.get_attribute("data-line")
    for field in ("profile", "example", "file", "payload", "token"):
        assert page.locator(f"label[for={field}]").count() == 1, f"#{field} has no label"


def test_json_syntax_error_is_located_without_a_server_call(page, site_url, stand_in) -> None:
    page.goto(f"{site_url}/validator")
    page.fill("#payload", '{\n  "resourceType": "Patient",\n  "gender": female\n}')
    page.click("#validate")
    wait_verdict(page, "not JSON")
    issue = page.locator("button.issue").first
    assert issue.get_attribute("data-line") == "3"


def test_fhirpath_to_line(page, site_url) -> None:
    """The expression-to-line mapping on the forms validators write."""
    page.goto(f"{site_url}/validator")
    text = json.dumps({
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "Observation", "valueQuantity": {"value": 132.5},
                                "extension": [{"url": "http://a", "valueString": "x"},
                                              {"url": "http://b", "valueString": "y"}],
                                "code": {"coding": [{"system": "http://loinc.org", "code": "1"}]}}}],
    }, indent=2)
    cases = {
        "Bundle.entry[0].resource.code.coding[0].system": '"system": "http://loinc.org"',
        "Bundle.entry[0].resource.code.coding.system": '"system": "http://loinc.org"',
        "Bundle.entry[0].resource.value.ofType(Quantity).value": '"value": 132.5',
        "Bundle.entry[0].resource/*Observation/x*/.valueQuantity": '"valueQuantity"',
        "Bundle.entry[0].resource.extension('http://b').value": '"valueString": "y"',
        "Bundle.entry[0].resource.extension.where(url='http://b').value": '"valueString": "y"',
        "Bundle.entry[0].resource.code.text": '"code": {',  # absent: the nearest element
    }
    for expression, needle in cases.items():
        line = page.evaluate("([t, e]) => JsonPos.locate(JsonPos.parse(t), e).node.keyLine", [text, expression])
        assert line == line_of(text, needle), expression
    formatted = page.evaluate("t => JsonPos.format(JsonPos.parse(t))", '{"a":[1.50,{"b":1e3}],"c":"\\u00e9"}')
    assert "1.50" in formatted and "1e3" in formatted and "\\u00e9" in formatted


def test_large_bundle_stays_usable(page, site_url, stand_in) -> None:
    """500 resources: validate, list the issues and jump to the last one within seconds."""
    entries = [{"fullUrl": f"urn:uuid:{n:08d}-0000-4000-8000-000000000000",
                "resource": {"resourceType": "Patient", "id": f"p{n}", "gender": "female" if n < 499 else "femme",
                             "name": [{"family": f"Family{n}", "given": ["Given"]}]}}
               for n in range(500)]
    text = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}, indent=2)
    page.goto(f"{site_url}/validator")
    # as a dropped file arrives: the value at once (typing 500 resources would test the keyboard)
    page.eval_on_selector("#payload", "(t, v) => { t.value = v; t.dispatchEvent(new Event('input')); }", text)
    started = page.evaluate("() => performance.now()")
    page.click("#validate")
    wait_verdict(page, "^Not valid")
    target = page.locator("button.issue", has=page.locator("code.path", has_text="entry[499].resource.gender"))
    target.click()
    took = page.evaluate("() => performance.now()") - started
    assert page.get_attribute("#line-mark", "data-line") == str(line_of(text, '"gender": "femme"'))
    assert took < 10000, f"{took:.0f} ms"


def test_docs_page_and_landing(page, site_url) -> None:
    page.goto(f"{site_url}/")
    page.click("text=Validator")
    assert page.url.endswith("/validator")
    page.goto(f"{site_url}/docs")
    # Swagger UI renders what is in view: check the first operations and the filter box
    page.wait_for_selector("#operations-tag-fhir", timeout=60000)
    assert page.locator(".opblock-summary-path", has_text="/fhir/metadata").count() == 1
    page.fill(".operation-filter-input", "Search")
    page.wait_for_function("() => Array.from(document.querySelectorAll('.opblock-summary-path'))"
                           ".some(e => e.textContent === '/fhir/Account')", timeout=30000)


def test_open_a_file_and_base_profile(page, site_url, stand_in) -> None:
    """A file chosen with the file input is validated at once; "Base FHIR R4 only" names the core type."""
    page.goto(f"{site_url}/validator")
    page.select_option("#profile", "core")
    page.set_input_files("#file", str(EXAMPLES / "ips-2.0-broken.json"))
    wait_verdict(page, "^Not valid")
    assert page.input_value("#payload") == BROKEN
    if stand_in:
        assert stand_in_validate.calls[-1]["profile"] == "http://hl7.org/fhir/StructureDefinition/Bundle"
    assert page.locator("button.issue", has=page.locator("code.path", has_text="entry[1].resource.gender")).count() == 1
