"""Dispatch of ``$operation`` URLs to the operation registry."""

from __future__ import annotations

from flask import Response

from ..operations.framework import invoke
from .checks import known_type


def system_operation(op: str) -> Response:
    return invoke(op[1:], None, None)


def type_operation(rtype: str, op: str) -> Response:
    known_type(rtype)
    return invoke(op[1:], rtype, None)


def instance_operation(rtype: str, rid: str, op: str) -> Response:
    known_type(rtype)
    return invoke(op[1:], rtype, rid)
