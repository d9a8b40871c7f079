"""Terminology: code lookup, value-set membership, ConceptMap translation, URI normalisation.

This module fixes the interface the validator codes against; the service itself lives in
the sub-modules of this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CodeCheck:
    """The answer to "is this code in that value set?".

    ``valid`` is True or False when the service could decide, and None when it cannot
    (a code system we do not ship, a SNOMED CT filter we cannot evaluate): the validator
    then reports a warning saying so, never a silent pass or a false error.
    """

    valid: bool | None
    message: str = ""
    display: str | None = None  # the code system's display for the code, when known
    system_known: bool = True
    #: ``valid`` with a display that is not the code's (``message`` says so): an error by
    #: default, as in the HL7 Java validator; a warning with ``display_warnings``.
    wrong_display: bool = False
    #: the wrong display is judged against names we are not sure of (a generated code
    #: system): a warning whatever the options
    display_unsure: bool = False


class ValueSetChecker(Protocol):
    def validate_code(
        self, valueset: str, *, system: str | None, code: str, display: str | None = None
    ) -> CodeCheck: ...
