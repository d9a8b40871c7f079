"""Switches for checks whose right answer depends on the context of use.

The defaults are what a FHIR server receiving production data should do. Each switch names
the HL7 Java validator setting it corresponds to, so that a verdict can be compared with
the reference validator run in the same mode (``bench/conformance.py`` maps the test
suite's settings onto these).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

#: What an extension whose definition we do not have is: ``warning`` (its content cannot be
#: checked, but it may be legitimate) or ``error`` (only known extensions are accepted).
UnknownExtensions = Literal["warning", "error"]
UNKNOWN_EXTENSION_LEVELS: tuple[str, ...] = ("warning", "error")


@dataclass(frozen=True, slots=True)
class ValidationOptions:
    #: HTML tags in a plain string are an error (Java ``security-checks``): content that a
    #: client may render unescaped. Off: not reported (most strings are never rendered).
    security_checks: bool = False
    #: HTML tags in ``markdown`` are an error instead of a warning (Java ``noHtmlInMarkdown``).
    no_html_in_markdown: bool = False
    #: URLs at ``example.org``/``example.com`` are accepted (Java ``examples``, default true).
    #: Off: such a URL is an error, for production data where an example URL is a mistake.
    allow_example_urls: bool = True
    #: Every relative reference (``Type/id``) must resolve inside the Bundle or Parameters
    #: being validated (Java ``validateReference: CHECK_EXISTS_AND_TYPE`` with no server to
    #: fetch from). Off: only document Bundles must be self-contained.
    references_must_resolve: bool = False
    #: ``//`` and ``/* */`` comments in JSON are read as white space (Java ``allow-comments``),
    #: by :meth:`fhirsrv.validation.Validator.parse`. Off: a comment is an error, since FHIR
    #: JSON has none and a server must not store what another FHIR reader cannot parse.
    allow_comments: bool = False
    #: Resources in ``contained`` are validated like any resource, and dom-3 (each is
    #: referenced) is checked. Off (Java ``validateContains: IGNORE``): neither; the Java
    #: validator checks dom-3 only over contained resources it has validated. For comparing
    #: verdicts with the Java validator: an invalid contained resource is never fine on a write.
    validate_contained: bool = True
    #: ``(resource type, profile canonical)`` pairs: every resource of that type, wherever it
    #: appears (the root, a Bundle entry, a contained resource), must also conform to that
    #: profile — an ImplementationGuide's ``global`` profiles (:func:`global_profiles`), which
    #: the Java validator applies for the guides it has loaded. An unknown one is a warning.
    global_profiles: tuple[tuple[str, str], ...] = ()
    #: A Coding whose display is not the code system's display (nor one of its designations)
    #: is a warning (Java ``displayWarningMode``, its CLI's ``-display-issues-are-warnings``;
    #: HAPI FHIR servers' default). Off: an error, as the Java validator's own default — kept
    #: at warning here because real data is full of such displays (the Synthea import set:
    #: 894) and a server must not turn it away for that. Only displays of code systems held
    #: in full are judged; server: ``FHIRSRV_DISPLAY_ISSUES_ARE_WARNINGS``.
    display_warnings: bool = True
    #: An extension whose definition is not loaded: a ``warning`` (the HL7 validator's command
    #: line, ``anyExtensionsAllowed = true``; issue 3) or an ``error`` (Java's InstanceValidator
    #: default, which HL7's own test suite runs with). Even as errors, extensions from
    #: :attr:`allowed_extension_domains` and the domains Java always accepts stay warnings
    #: (``fhirsrv.validation.extension_rules``).
    unknown_extensions: UnknownExtensions = "warning"
    #: URL prefixes of extensions that may be used without a definition (Java
    #: ``extensionDomains``; the test suite's ``allowed-extension-domain(s)``).
    allowed_extension_domains: tuple[str, ...] = ()

    def display_severity(self, unsure: bool) -> str:
        """Severity of a wrong display (``unsure``: judged against generated names)."""
        return "warning" if self.display_warnings or unsure else "error"

    def __post_init__(self) -> None:
        if self.unknown_extensions not in UNKNOWN_EXTENSION_LEVELS:
            raise ValueError(f"unknown_extensions must be one of {', '.join(UNKNOWN_EXTENSION_LEVELS)}, not {self.unknown_extensions!r}")


DEFAULT_OPTIONS = ValidationOptions()


def global_profiles(*guides: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The ``global`` entries (type and profile) of ImplementationGuide resources, in order,
    each once; anything that is not a well-formed entry of an ImplementationGuide is skipped."""
    found: list[tuple[str, str]] = []
    for guide in guides:
        if not isinstance(guide, dict) or guide.get("resourceType") != "ImplementationGuide":
            continue
        for entry in guide.get("global") or ():
            pair = (entry.get("type"), entry.get("profile")) if isinstance(entry, dict) else (None, None)
            if all(isinstance(part, str) and part for part in pair) and pair not in found:
                found.append(pair)  # type: ignore[arg-type]
    return tuple(found)
