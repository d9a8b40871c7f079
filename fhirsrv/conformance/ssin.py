"""Belgian SSIN (INSZ/NISS, and BIS numbers) check digits.

Why a function of our own: the SSIN is the identifier Belgian summaries are keyed on, and a
typo in it must be flagged. The rule (eHealth / National Register): 11 digits
``YYMMDD SSS CC``; ``CC = 97 - (N mod 97)`` where ``N`` is the first nine digits, or
``2000000000 + N`` for persons born in 2000 or later. Since the century is not written in the
number, a number is valid when either rule gives its check digits. A BIS number (persons
not in the National Register) uses the same checksum, with 20 (sex unknown) or 40 (sex known)
added to the month. The validator reports a failure as a warning only: official Belgian
examples carry numbers that fail it.
"""

from __future__ import annotations

import re

_ELEVEN_DIGITS = re.compile(r"\d{11}")
_SEPARATORS = re.compile(r"[\s.\-]")


def normalise_ssin(value: str) -> str:
    """Drop the separators people write (``85.07.30-033.28``)."""
    return _SEPARATORS.sub("", value)


def _check_digits(base: int) -> int:
    return 97 - (base % 97)


def _plausible_date(yymmdd: str) -> bool:
    """Month 0–12 (plus 20 or 40 for BIS numbers; 0 = unknown), day 0–31 (0 = unknown)."""
    month, day = int(yymmdd[2:4]), int(yymmdd[4:6])
    return month % 20 <= 12 and month <= 52 and day <= 31


def ssin_is_valid(value: str) -> bool:
    """True when ``value`` is an 11-digit INSZ/NISS or BIS number with correct check digits."""
    digits = normalise_ssin(value)
    if not _ELEVEN_DIGITS.fullmatch(digits) or not _plausible_date(digits[:6]):
        return False
    base, check = int(digits[:9]), int(digits[9:])
    return check in (_check_digits(base), _check_digits(2_000_000_000 + base))


def is_bis_number(value: str) -> bool:
    """A BIS number: the month carries +20 or +40."""
    digits = normalise_ssin(value)
    return bool(_ELEVEN_DIGITS.fullmatch(digits)) and int(digits[2:4]) >= 20
