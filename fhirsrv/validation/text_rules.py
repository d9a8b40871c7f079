"""Rules on text primitives beyond their type's lexical rule.

* Every string-like value is at most 1 MiB (R4 datatypes.html#string: "strings SHALL NOT
  exceed 1MB (1024*1024 characters) in size"); larger content belongs in an Attachment.
* HTML tags in ``markdown`` are a warning (an error with ``no_html_in_markdown``): markdown
  is rendered, and embedded HTML is escaped or, worse, not (FHIR-38714).
* HTML tags in a ``string`` are an error with ``security_checks`` (script injection into
  whoever renders it unescaped); otherwise not reported.
* With ``allow_example_urls`` off, a URL at ``example.org``/``example.com``/``example.net``
  (RFC 2606 names) is an error: in production data it is a leftover.

They run in the base walk only; every test is a substring search first, so the common case
(no ``<``, no ``example.``) costs one C-level scan.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .outcome import Issue

if TYPE_CHECKING:
    from .context import Run

MAX_STRING = 1024 * 1024
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>|<![A-Za-z\[-]")
_MARKDOWN_TAG = re.compile(r"<[A-Za-z/!]")
_EXAMPLE_HOST = re.compile(r"^[a-z][a-z0-9+.\-]*://(?:[^/?#@]*@)?(?:[^/?#:]*\.)?example\.(?:org|com|net)(?:[:/?#]|$)", re.I)


def _too_long(value: str, path: str, out: list[Issue]) -> bool:
    if len(value) > MAX_STRING:
        out.append(Issue("error", "too-long", "string-too-long", f"{path} is {len(value):,} characters long; FHIR strings may not exceed 1 MiB (1,048,576 characters). Put large content in an Attachment.", path))
        return True
    return False


def check_string(run: Run, value: str, path: str, out: list[Issue]) -> None:
    if len(value) <= MAX_STRING and "<" not in value:
        return  # the common case: one length test and one C-level scan
    if _too_long(value, path, out):
        return
    if run.options.security_checks:
        match = _HTML_TAG.search(value)
        if match:
            out.append(Issue("error", "security", "string-html", f"{path} contains what looks like an HTML tag ({match.group(0)[:30]!r}); HTML is not allowed in plain strings for security reasons (it may be rendered unescaped).", path))


def check_markdown(run: Run, value: str, path: str, out: list[Issue]) -> None:
    if len(value) <= MAX_STRING and "<" not in value:
        return
    if _too_long(value, path, out):
        return
    if "<" in value:
        match = _MARKDOWN_TAG.search(value)
        if match:
            severity = "error" if run.options.no_html_in_markdown else "warning"
            out.append(Issue(severity, "value", "markdown-html", f"{path} contains what looks like an embedded HTML tag starting at {value[match.start():match.start() + 2]!r}; a presentation layer will (or should) escape it. Write it as markdown or escape it (\\<).", path))


def check_url(run: Run, value: str, path: str, out: list[Issue]) -> None:
    if len(value) <= MAX_STRING and ("example." not in value or run.options.allow_example_urls):
        return
    if _too_long(value, path, out):
        return
    if not run.options.allow_example_urls and "example." in value and _EXAMPLE_HOST.match(value):
        out.append(Issue("error", "value", "example-url", f"{path} is an example URL ({value}); example URLs are not allowed in this context.", path))


TEXT_RULES: dict[str, Callable[[Run, Any, str, list[Issue]], None]] = {
    "string": check_string,
    "markdown": check_markdown,
    "uri": check_url,
    "url": check_url,
    "canonical": check_url,
}
