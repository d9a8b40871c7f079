"""Imports every operation module so that each registers itself (see :mod:`.framework`)."""

from . import document, summary  # noqa: F401
