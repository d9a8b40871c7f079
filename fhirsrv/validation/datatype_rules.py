"""Rules on datatype values that no StructureDefinition can express.

The HL7 Java validator applies them in code; each rule here names where FHIR states it.
They run in the base walk only, looked up by type name (one dict lookup per complex
value), so a type without rules costs nothing more.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from typing import Any

from fhirsrv.conformance.ssin import ssin_is_valid
from fhirsrv.terminology import CodeCheck

from .context import Run
from .narrative import check_narrative
from .outcome import Issue

#: The identifier systems of the Belgian national number (INSZ/NISS, BIS), with their aliases.
SSIN_SYSTEMS = frozenset({
    "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin",
    "https://www.ehealth.fgov.be/standards/fhir/NamingSystem/ssin",
    "urn:oid:2.16.840.1.113883.3.6777.5.1",
})


def check_coding(run: Run, coding: dict[str, Any], path: str, out: list[Issue]) -> None:
    """R4 datatypes.html#Coding: ``system`` is "the identification of the code system" — a URI
    (absolute: terminologies.html#4.3.1.1), and a code system's, not a value set's; and
    ``display`` is "a representation of the meaning of the code in the system, following the
    rules of the system" — checked where we hold the code system in full."""
    system = coding.get("system")
    if not isinstance(system, str) or not system:
        return
    display, code = coding.get("display"), coding.get("code")
    if isinstance(display, str) and display and isinstance(code, str) and code:
        _check_display(run, system, code, display, path, out)
    if ":" not in system:
        out.append(Issue("error", "value", "coding-system-relative", f"{path}.system {system!r} is not an absolute URI; Coding.system must identify the code system with an absolute URI (e.g. http://loinc.org), not a local reference.", f"{path}.system"))
        return
    kinds = run.defs.__dict__.setdefault("_system_is_valueset", {})  # per registry: systems repeat
    is_valueset = kinds.get(system)
    if is_valueset is None:
        known = run.defs.registry.get(system)
        is_valueset = kinds[system] = known is not None and known.get("resourceType") == "ValueSet"
    if is_valueset:
        out.append(Issue("error", "value", "coding-system-is-valueset", f"{path}.system {system!r} is a value set, not a code system; use the URI of the code system the code comes from.", f"{path}.system"))


def _check_display(run: Run, system: str, code: str, display: str, path: str, out: list[Issue]) -> None:
    """The HL7 Java validator checks the display of every Coding whose code system it can
    resolve, as an error unless ``displayWarningMode``; so do we, for code systems we hold
    in full (R4 core, HL7 terminology, ISO 3166 …): a display of LOINC or SNOMED CT, which
    we do not ship, is never judged."""
    wrong = run.defs.code_systems.check_display(system, code, display)
    if wrong is not None:
        out.append(wrong_display_issue(run, wrong, path))


def wrong_display_issue(run: Run, wrong: CodeCheck, path: str) -> Issue:
    """The issue for the Coding at ``path`` whose display ``wrong`` judged wrong (Java's
    "Wrong Display Name", on the ``display``): also what a QuestionnaireResponse answer gets
    when only the terminology service holds the code system (questionnaire_answers)."""
    return Issue(run.options.display_severity(wrong.display_unsure), "invalid", "coding-display", f"{path}.display: {wrong.message}; use the code system's display (or leave display out).", f"{path}.display")


def _decoded(data: str) -> bytes | None:
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None  # the base64Binary format rule reports it


def check_attachment(run: Run, attachment: dict[str, Any], path: str, out: list[Issue]) -> None:
    """R4 Attachment: ``size`` is "the number of bytes of data" and ``hash`` "the SHA-1 of the
    data (base64)". When the data is inline both can be verified. A wrong size is an error
    (as in the Java validator); a wrong hash a warning: the Java validator does not check it,
    and the official example DiagnosticReport-example-pgx writes its hash in hex."""
    data = attachment.get("data")
    if not isinstance(data, str):
        return
    size, digest = attachment.get("size"), attachment.get("hash")
    if not isinstance(size, int) and not isinstance(digest, str):
        return
    content = _decoded(data)
    if content is None:
        return
    if isinstance(size, int) and not isinstance(size, bool) and size != len(content):
        out.append(Issue("error", "value", "attachment-size", f"{path}.size says {size} bytes but the data is {len(content)} bytes.", f"{path}.size"))
    if isinstance(digest, str):
        actual = base64.b64encode(hashlib.sha1(content).digest()).decode("ascii")  # noqa: S324 - FHIR defines the hash as SHA-1
        if digest != actual:
            out.append(Issue("warning", "value", "attachment-hash", f"{path}.hash {digest!r} is not the SHA-1 of the data ({actual!r}).", f"{path}.hash"))


def check_identifier(run: Run, identifier: dict[str, Any], path: str, out: list[Issue]) -> None:
    """A Belgian national number (SSIN or BIS) with wrong check digits: a warning, never an
    error — official Belgian examples carry numbers that fail it (issue 3)."""
    system = identifier.get("system")
    if not isinstance(system, str) or system not in SSIN_SYSTEMS:
        return
    value = identifier.get("value")
    if isinstance(value, str) and value and not ssin_is_valid(value):
        out.append(Issue("warning", "value", "ssin-check-digit", f"{path}.value {value!r} is not a valid Belgian national number: an SSIN or BIS number has 11 digits whose last two are 97 minus the first nine modulo 97; check it for a typo.", f"{path}.value"))


DATATYPE_RULES: dict[str, Callable[[Run, dict[str, Any], str, list[Issue]], None]] = {
    "Coding": check_coding,
    "Attachment": check_attachment,
    "Identifier": check_identifier,
    "Narrative": check_narrative,
}
