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
    # ras-2, "Must be <= 100": without a probability ``probability is decimal`` is empty, and
    # so is the whole rule, which fails (an empty result does not hold: invariants.holds) on
    # every prediction that gives only a qualitative risk (R4 examples RiskAssessment-prognosis,
    # -breastcancer-risk). The Java validator evaluates this wording.
    ("ras-2", "probability is decimal implies (probability as decimal) <= 100"):
        "probability.empty() or ((probability is decimal) implies ((probability as decimal) <= 100))",
    # dom-3, "a contained resource SHALL be referred to from elsewhere in the resource or
    # SHALL refer to the containing resource": R4 writes ``descendants().as(canonical)``, and
    # ``as`` on a collection of more than one item is an error in FHIRPath, so the rule
    # could never be evaluated (every resource with contained resources got only a warning).
    # R4B and R5 publish it with ``ofType``, the meaning the Java validator gives ``as``
    # here; ``trace('unmatched', id)`` is left out (it writes to standard output).
    ("dom-3", "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) "
              "| %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference "
              "= '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) "
              "= '#').exists()).not()).trace('unmatched', id).empty()"):
        "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().ofType(canonical) "
        "| %resource.descendants().ofType(uri) | %resource.descendants().ofType(url))) or descendants().where(reference "
        "= '#').exists() or descendants().where(ofType(canonical) = '#').exists()).not()).empty()",
}

#: Published wordings that are wrong under whatever key they appear (42 canonical resources
#: share the name rule, profiles restate bdl-8), corrected as the Java validator does: both
#: are empty, so failing, when the element is absent, which their rule text allows.
BY_EXPRESSION: dict[str, str] = {
    "name.matches('[A-Z]([A-Za-z0-9_]){0,254}')": "name.exists() implies name.matches('[A-Z]([A-Za-z0-9_]){0,254}')",
    "fullUrl.contains('/_history/').not()": "fullUrl.exists() implies fullUrl.contains('/_history/').not()",
}


def corrected(key: str, expression: str) -> str:
    """The expression to evaluate for invariant ``key`` published as ``expression``."""
    return CORRECTIONS.get((key, expression)) or BY_EXPRESSION.get(expression, expression)
