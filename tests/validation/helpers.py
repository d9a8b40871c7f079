"""Small helpers for asserting on validation issues."""

from __future__ import annotations

from fhirsrv.validation import Issue


def errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.is_error]


def find(issues: list[Issue], message_id: str, expression: str | None = None) -> list[Issue]:
    """The issues with this message id (and expression, if given)."""
    return [i for i in issues if i.message_id == message_id and (expression is None or i.expression == expression)]


def describe(issues: list[Issue]) -> str:
    return "\n".join(f"{i.severity} {i.message_id} {i.expression}: {i.diagnostics}" for i in issues)
