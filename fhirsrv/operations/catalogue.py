"""Imports every operation module so that each registers itself (see :mod:`.framework`)."""
