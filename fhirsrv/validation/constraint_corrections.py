"""Published core invariants whose expression contradicts their own rule text.

The HL7 Java validator evaluates these in their corrected form (technical corrections made
after R4 was published); fhirsrv does the same, so that both give one verdict. Each entry is
keyed by the invariant key *and* the exact published expression: a profile that restates the
invariant in some other wording keeps its own expression.
"""

from __future__ import annotations

# (key, published expression) -> corrected expression
CORRECTIONS: dict[tuple[str, str], str] = {
    # que-12, "If there are more than one enableWhen, enableBehavior must be specified":
    # R4 4.0.1 publishes ``count() > 2``, which lets exactly two conditions through without
    # an enableBehavior (fhir-test-cases q-enablewhen-me-wrong, questionnaire-enableWhen-dw).
    ("que-12", "enableWhen.count() > 2 implies enableBehavior.exists()"):
        "enableWhen.count() > 1 implies enableBehavior.exists()",
}


def corrected(key: str, expression: str) -> str:
    """The expression to evaluate for invariant ``key`` published as ``expression``."""
    return CORRECTIONS.get((key, expression), expression)
