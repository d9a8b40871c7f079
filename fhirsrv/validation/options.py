"""Switches for checks whose right answer depends on the context of use.

The defaults are what a FHIR server receiving production data should do. Each switch names
the HL7 Java validator setting it corresponds to, so that a verdict can be compared with
the reference validator run in the same mode (``bench/conformance.py`` maps the test
suite's settings onto these).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
