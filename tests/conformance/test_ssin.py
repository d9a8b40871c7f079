"""SSIN check digits: vectors from DOMAIN.md §3.3 and §3.6 (computed there and re-checked here)."""

from __future__ import annotations

import pytest

from fhirsrv.conformance.ssin import is_bis_number, ssin_is_valid


@pytest.mark.parametrize(
    "value",
    [
        "85073003328",  # 1985-07-30, male, born before 2000
        "01020300269",  # 2001-02-03, female: only the 2000+ rule gives 69
        "85473003317",  # BIS number, month +40 (sex known)
        "85273003371",  # BIS number, month +20 (sex unknown)
        "38012699993",  # from a Belgian referral example
        "85.07.30-033.28",  # written with the usual separators
    ],
)
def test_valid_numbers(value: str) -> None:
    assert ssin_is_valid(value)


@pytest.mark.parametrize(
    "value",
    [
        "85073003327",  # check digit off by one
        "79121137740",  # official be-core example patient1: its check digit is wrong
        "79080412345",
        "16032376921",
        "8507300332",  # ten digits
        "850730033281",  # twelve digits
        "8507300332X",
        "85133003300",  # month 13 is no month, even with a correct-looking sum
        "",
    ],
)
def test_invalid_numbers(value: str) -> None:
    assert not ssin_is_valid(value)


def test_the_century_is_not_written_so_either_rule_may_hold() -> None:
    assert ssin_is_valid("01020300240")  # born 1901-02-03: 97 - (10203002 mod 97) = 40
    assert ssin_is_valid("01020300269")  # born 2001-02-03: 97 - (2010203002 mod 97) = 69
    assert not ssin_is_valid("01020300241")


def test_bis_numbers_are_recognised() -> None:
    assert is_bis_number("85473003317") and is_bis_number("85273003371")
    assert not is_bis_number("85073003328")
