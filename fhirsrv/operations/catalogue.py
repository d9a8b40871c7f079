"""Imports every operation module so that each registers itself (see :mod:`.framework`)."""
# ruff: noqa: I001  (one import line per module keeps parallel branches' merges trivial)
from . import document  # noqa: F401
from . import expand  # noqa: F401
from . import lookup  # noqa: F401
from . import summary  # noqa: F401
from . import translate  # noqa: F401
from . import validate_code  # noqa: F401
from . import validate  # noqa: F401
