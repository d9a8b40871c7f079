"""Lossless JSON: decimals, key order, big integers, duplicates, encodings."""

from __future__ import annotations

import pytest

from fhirsrv import fhirjson


@pytest.mark.parametrize(
    "text",
    [
        '{"a":132.50,"b":[1.0e2,1E-3,0.000,-0.0],"c":{"z":1,"a":2}}',
        '{"big":123456789012345678901234567890,"neg":-99999999999999999999}',
        '{"s":"\\u00e9t\\u00e9","t":true,"n":null}',
    ],
)
def test_round_trip_keeps_text(text):
    assert fhirjson.dumps(fhirjson.loads(text)).decode() == text.replace('\\u00e9', "é")


def test_decimal_is_a_decimal_with_its_text():
    value = fhirjson.loads('{"v":132.50}')["v"]
    assert value == fhirjson.FhirDecimal("132.5") and value.text == "132.50"


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b'{"a":1,"a":2}', "duplicate"),
        (b'{"a":NaN}', "NaN"),
        (b'{"a":"\xc3\x28"}', "UTF-8"),
        (b'{"a":', "malformed"),
        (b"[" * 50000 + b"]" * 50000, "deeply"),
    ],
)
def test_rejects_bad_json_with_a_reason(raw, reason):
    with pytest.raises(fhirjson.JsonError, match=reason):
        fhirjson.loads(raw)


def test_bom_is_ignored():
    assert fhirjson.loads("\ufeff{}".encode()) == {}


def test_nul_characters_are_refused_but_an_escaped_backslash_is_not():
    with pytest.raises(fhirjson.JsonError, match="NUL"):
        fhirjson.loads('{"a":"x\\u0000y"}')
    assert fhirjson.loads('{"a":"x\\\\u0000y"}') == {"a": "x\\u0000y"}


COMMENTED = '// leading\n{\n  "url": "http://example.org/a//b", /* block\n  over lines */ "text": "/* kept */ // kept",\n  "n": 1 // trailing\n}'


def test_comments_are_rejected_with_a_reason_that_says_so():
    with pytest.raises(fhirjson.JsonError, match=r"comments are not allowed in JSON \(line 1 column 1\)"):
        fhirjson.loads(COMMENTED)
    with pytest.raises(fhirjson.JsonError, match=r"comments are not allowed in JSON \(line 2 column 8\)"):
        fhirjson.loads('{"a": 1,\n  "b": /* x */ 2}')


def test_allow_comments_reads_them_as_white_space_but_never_inside_strings():
    assert fhirjson.loads(COMMENTED, allow_comments=True) == {
        "url": "http://example.org/a//b", "text": "/* kept */ // kept", "n": 1}
    assert fhirjson.loads('{"q": "say \\"//\\" /*"} // c', allow_comments=True) == {"q": 'say "//" /*'}


def test_stripping_comments_keeps_lines_and_columns():
    stripped = fhirjson.strip_comments(COMMENTED)
    assert len(stripped) == len(COMMENTED) and stripped.count("\n") == COMMENTED.count("\n")
    with pytest.raises(fhirjson.JsonError, match="line 3 column 7"):
        fhirjson.loads('// c\n{"a": 1,\n "b": x}', allow_comments=True)


def test_an_unterminated_block_comment_is_still_an_error():
    with pytest.raises(fhirjson.JsonError, match="malformed JSON"):
        fhirjson.loads('{"a": 1 /* open', allow_comments=True)
