"""Rules on text primitives beyond their type's lexical rule.

* Every string-like value is at most 1 MiB (R4 datatypes.html#string: "strings SHALL NOT
  exceed 1MB (1024*1024 characters) in size"); larger content belongs in an Attachment.
* HTML tags in ``markdown`` are a warning (an error with ``no_html_in_markdown``): markdown
  is rendered, and embedded HTML is escaped or, worse, not (FHIR-38714).
* HTML tags in a ``string`` are an error with ``security_checks`` (script injection into
  whoever renders it unescaped); otherwise not reported.
* With ``allow_example_urls`` off, a URL at ``example.org``/``example.com``/``example.net``
  (RFC 2606 names) is an error: in production data it is a leftover.
* A ``urn:uuid:`` in a uri/url/canonical must carry a valid lowercase UUID, and a ``urn:oid:``
  a valid OID (R4 datatypes.html#uuid and #oid define both forms; the HL7 Java validator
  applies them to every uri-typed value, as an error). ``Reference.reference`` is a string
  in R4: the Java validator does not apply the rule there, and neither do we.

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
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_OID = re.compile(r"[0-2](?:\.(?:0|[1-9][0-9]*))+")
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


def _check_urn(value: str, path: str, out: list[Issue]) -> None:
    if value.startswith("urn:uuid:"):
        uuid = value[9:].split("#", 1)[0].split("|", 1)[0]
        if not _UUID.fullmatch(uuid):
            out.append(Issue("error", "value", "uri-uuid", f"{path} {value!r}: a urn:uuid: must carry a valid UUID in lowercase (8-4-4-4-12 hexadecimal digits, e.g. urn:uuid:c757873d-ec9a-4326-a141-556f43239520); {uuid!r} is not one.", path))
    elif value.startswith("urn:oid:"):
        oid = value[8:].split("#", 1)[0].split("|", 1)[0]  # a canonical's |version (system|version in expansions)
        if not _OID.fullmatch(oid):
            out.append(Issue("error", "value", "uri-oid", f"{path} {value!r}: a urn:oid: must carry a valid OID (numbers separated by dots, starting with 0, 1 or 2, no leading zeros, e.g. urn:oid:1.2.3.4); {oid!r} is not one.", path))


def check_url(run: Run, value: str, path: str, out: list[Issue]) -> None:
    if value.startswith("urn:"):
        _check_urn(value, path, out)
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
