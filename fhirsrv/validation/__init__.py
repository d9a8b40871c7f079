"""The definition-driven FHIR R4 validator.

``validate_base(resource)`` checks a resource against base R4; ``validate(resource,
profiles)`` adds profiles (and those claimed in ``meta.profile``). Both return an
OperationOutcome as a plain dict; each issue's ``details.coding`` carries a stable message
id in the system :data:`~fhirsrv.validation.outcome.MESSAGE_SYSTEM`.
"""

from .outcome import MESSAGE_SYSTEM, Issue, has_errors, operation_outcome
from .validator import Validator, default_validator, validate, validate_base

__all__ = [
    "MESSAGE_SYSTEM",
    "Issue",
    "Validator",
    "default_validator",
    "has_errors",
    "operation_outcome",
    "validate",
    "validate_base",
]
