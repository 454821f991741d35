"""Tests for ipledge.core.identifiers (pure Python, no database)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipledge.core.identifiers import (
    PATENT_TYPES,
    VALIDATORS,
    IdentifierError,
    PatentApplicationNumber,
    Validation,
    parse_patent_application_number,
    patent_check_char,
    patent_type_from_number,
    uscc_region_code,
    validate_copyright_registration_number,
    validate_ic_layout_registration_number,
    validate_patent_application_number,
    validate_trademark_registration_number,
    validate_uscc,
)

# tests/core/test_identifiers.py -> /work/main -> /work/shared/data (shared/ sits beside the clone).
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
USCC_CSV = SHARED_DATA / "uscc_vectors_stdnum.csv"
STDNUM_ERROR_TO_RULE = {"InvalidLength": "length", "InvalidFormat": "format", "InvalidChecksum": "checksum"}

# Pin "today" so the year rule does not depend on the machine clock.
TODAY = date(2025, 6, 30)


def _uscc_vectors() -> list[object]:
    if not USCC_CSV.is_file():
        reason = f"shared test data not found at {USCC_CSV} (shared/ must sit beside the repository)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="shared-data-missing")]
    with USCC_CSV.open(encoding="utf-8", newline="") as fh:
        return [pytest.param(row, id=f"{i}-{row['uscc']}") for i, row in enumerate(csv.DictReader(fh), start=2)]


# ---------------------------------------------------------------------------
# USCC
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("row", _uscc_vectors())
def test_uscc_vectors_from_stdnum(row: dict[str, str]) -> None:
    result = validate_uscc(row["uscc"])
    if row["expected"] == "valid":
        assert result.valid, result.message
        assert result.canonical == row["uscc"].replace(" ", "").upper()
        assert result.rule is result.message is result.message_zh is None
    else:
        assert not result.valid
        assert result.canonical is None
        assert result.rule == STDNUM_ERROR_TO_RULE[row["error_class"]]
        assert result.message and result.message_zh


def test_uscc_vector_file_has_expected_shape() -> None:
    if not USCC_CSV.is_file():
        pytest.skip(f"shared test data not found at {USCC_CSV}")
    with USCC_CSV.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 206
    assert sum(r["expected"] == "valid" for r in rows) >= 200
    assert {r["error_class"] for r in rows if r["expected"] == "invalid"} == set(STDNUM_ERROR_TO_RULE)


@pytest.mark.parametrize(
    "written",
    [
        "91110000600037341L",
        "91110000600037341l",
        "91 110000 600037341L",
        "9111-0000-6000-3734-1L",
        " 91110000600037341L\t",
        "９１１１００００６０００３７３４１Ｌ",  # full-width, as typed with a Chinese IME
        "９１　110000　600037341ｌ",  # ideographic spaces + full-width lowercase
    ],
)
def test_uscc_written_forms_normalise(written: str) -> None:
    result = validate_uscc(written)
    assert result.valid
    assert result.canonical == "91110000600037341L"
    assert result.input == written


def test_uscc_length_message_names_the_rule() -> None:
    result = validate_uscc("12345")
    assert result.rule == "length"
    assert result.message == "USCC must be 18 characters (got 5)"
    assert result.message_zh == "统一社会信用代码应为18位（实际5位）"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("91110000600037341N", "checksum"),
        ("9111000060003734IL", "format"),  # I is not in the alphabet
        ("A1110000600037341L", "format"),
        ("911100006000373410L", "length"),
        ("9.1110000600037e+17", "length"),  # Excel float mangling
        ("911100006000373400", "checksum"),  # Excel float mangling keeps length but zeroes the tail
    ],
)
def test_uscc_refusals(value: str, rule: str) -> None:
    result = validate_uscc(value)
    assert (result.valid, result.rule) == (False, rule)
    assert result.message and result.message_zh


def test_uscc_format_message_says_which_part() -> None:
    assert "1-8" in (validate_uscc("A1110000600037341L").message or "")
    assert "9-18" in (validate_uscc("9111000060003IOZSV").message or "")


def test_uscc_region_code() -> None:
    assert uscc_region_code("91110000600037341L") == "110000"
    assert uscc_region_code("91 310115 MA1K3BTP2B") == "310115"
    with pytest.raises(IdentifierError) as excinfo:
        uscc_region_code("91110000600037341N")
    assert excinfo.value.rule == "checksum"


def test_non_str_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        validate_uscc(9.1110000600037e17)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Patent application numbers
# ---------------------------------------------------------------------------


def test_worked_examples_of_the_check_digit() -> None:
    # 2*2+0*3+1*4+7*5+1*6+0*7+6*8+0*9+1*2+8*3+6*4+2*5 = 157; 157 mod 11 = 3
    assert patent_check_char("201710601862") == "3"
    # 9*2+5*3+1*4+1*5+5*6+6*7+0*8+8*9 = 186; 186 mod 11 = 10 -> X
    assert patent_check_char("95115608") == "X"


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("201710601862.3", "201710601862.3"),
        ("CN201710601862.3", "201710601862.3"),
        ("ZL 201710601862.3", "201710601862.3"),
        ("ZL201710601862.3", "201710601862.3"),
        ("zl 2017 1 0601862.3", "201710601862.3"),
        ("CN ZL 201710601862.3", "201710601862.3"),
        ("2017106018623", "201710601862.3"),
        ("２０１７１０６０１８６２．３", "201710601862.3"),
        ("201710601862。3", "201710601862.3"),
        ("95115608.X", "95115608.X"),
        ("95115608.x", "95115608.X"),
        ("95115608x", "95115608.X"),
        ("ZL95115608.X", "95115608.X"),
        ("ZL 95 1 15608.X", "95115608.X"),
    ],
)
def test_patent_number_valid_written_forms(written: str, canonical: str) -> None:
    result = validate_patent_application_number(written, today=TODAY)
    assert result.valid, result.message
    assert result.canonical == canonical


def test_parse_patent_number_parts() -> None:
    parsed = parse_patent_application_number("ZL 201710601862.3", today=TODAY)
    assert parsed == PatentApplicationNumber(
        canonical="201710601862.3", year=2017, type_digit="1", serial="0601862", check="3"
    )
    assert patent_type_from_number(parsed) == "invention"
    assert not parsed.is_legacy
    assert parsed.body == "201710601862"

    legacy = parse_patent_application_number("95115608.X", today=TODAY)
    assert (legacy.year, legacy.type_digit, legacy.serial, legacy.check) == (1995, "1", "15608", "X")
    assert legacy.is_legacy


@pytest.mark.parametrize(
    ("type_digit", "name"),
    [("1", "invention"), ("2", "utility_model"), ("3", "design"), ("8", "pct_invention"), ("9", "pct_utility_model")],
)
def test_patent_type_from_number(type_digit: str, name: str) -> None:
    body = f"2020{type_digit}0012345"
    parsed = parse_patent_application_number(f"{body}.{patent_check_char(body)}", today=TODAY)
    assert patent_type_from_number(parsed) == name


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("201710601862.4", "checksum"),  # wrong check digit
        ("201710601862.X", "checksum"),
        ("95115608.1", "checksum"),
        ("2017106018624", "checksum"),  # no dot, wrong check
        ("201710601862", "checksum_missing"),  # exactly 12 digits: check char missing
        ("CN201710601862", "checksum_missing"),
        ("95115608", "checksum_missing"),
        ("20171060186.3", "length"),  # 11 digits
        ("2017106018621.3", "length"),  # 13 digits before the dot
        ("20171060186", "length"),
        ("20171060186212", "length"),  # 14 digits, no dot
        ("201740601862.3", "type_digit"),
        ("201700601862.3", "type_digit"),
        ("95415608.X", "type_digit"),
        ("198410601862.3", "year"),
        ("209910601862.3", "year"),
        ("2026106018623", "year"),  # TODAY is in 2025
        ("84115608.X", "year"),
        ("04115608.X", "year"),  # the 8-digit form ended in 2003
        ("2017106018 62.3.1", "format"),
        ("2017-106018623", "format"),
        ("US201710601862.3", "format"),
        ("201710601862.Y", "format"),
        ("", "empty"),
        ("CN", "empty"),
    ],
)
def test_patent_number_refusals(value: str, rule: str) -> None:
    result = validate_patent_application_number(value, today=TODAY)
    assert (result.valid, result.rule) == (False, rule), result.message
    assert result.message and result.message_zh
    with pytest.raises(IdentifierError) as excinfo:
        parse_patent_application_number(value, today=TODAY)
    assert excinfo.value.rule == rule


def test_patent_checksum_message_does_not_reveal_expected_digit() -> None:
    result = validate_patent_application_number("201710601862.4", today=TODAY)
    assert result.message == "Check digit does not match (ZC 0006-2003 mod 11)"
    assert "3" not in (result.message_zh or "").replace("0006-2003", "")


def test_current_year_default_accepts_this_year() -> None:
    this_year = date.today().year  # noqa: DTZ011 - any clock near the default is fine here
    body = f"{this_year}10000001"
    assert validate_patent_application_number(f"{body}.{patent_check_char(body)}").valid


def test_every_single_digit_substitution_changes_the_check() -> None:
    # Exhaustive over the arithmetic: a substitution a->b at a position with weight w
    # changes S by (b-a)*w. 11 is prime, 1<=|b-a|<=9 and 2<=w<=9, so (b-a)*w is never
    # 0 mod 11 and the check character always changes.
    for weight in range(2, 10):
        for delta in range(1, 10):
            assert (delta * weight) % 11 != 0


body12 = st.builds(
    lambda year, type_digit, serial: f"{year}{type_digit}{serial:07d}",
    st.integers(min_value=1985, max_value=TODAY.year),
    st.sampled_from(sorted(PATENT_TYPES)),
    st.integers(min_value=0, max_value=9_999_999),
)
body8 = st.builds(
    lambda yy, type_digit, serial: f"{yy:02d}{type_digit}{serial:05d}",
    st.sampled_from([*range(85, 100), *range(0, 4)]),
    st.sampled_from(sorted(PATENT_TYPES)),
    st.integers(min_value=0, max_value=99_999),
)


@given(body=st.one_of(body12, body8), data=st.data())
def test_property_check_digit_roundtrip_and_single_substitution(body: str, data: st.DataObject) -> None:
    check = patent_check_char(body)
    number = f"{body}.{check}"
    result = validate_patent_application_number(number, today=TODAY)
    assert result.valid and result.canonical == number

    position = data.draw(st.integers(min_value=0, max_value=len(body) - 1), label="position")
    new_digit = data.draw(st.sampled_from([d for d in "0123456789" if d != body[position]]), label="digit")
    mutated = body[:position] + new_digit + body[position + 1 :]
    # The scheme detects every single substitution ...
    assert patent_check_char(mutated) != check
    # ... so the mutated number with the old check is always refused (the year or type
    # rule may fire first when the substitution hits those digits).
    refused = validate_patent_application_number(f"{mutated}.{check}", today=TODAY)
    assert not refused.valid
    assert refused.rule in {"checksum", "year", "type_digit"}


@given(body=st.one_of(body12, body8), new_check=st.sampled_from("0123456789X"))
def test_property_wrong_check_char_is_refused(body: str, new_check: str) -> None:
    result = validate_patent_application_number(f"{body}.{new_check}", today=TODAY)
    assert result.valid == (new_check == patent_check_char(body))
    if not result.valid:
        assert result.rule == "checksum"


# ---------------------------------------------------------------------------
# Trademark, copyright, IC layout design
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("12345678", "12345678"),
        (" 12345678 ", "12345678"),
        ("第12345678号", "12345678"),
        ("第 12345678 号", "12345678"),
        ("TM12345678", "12345678"),
        ("tm 1234", "1234"),
        ("１２３４５６７８", "12345678"),
        ("1", "1"),
        ("1234567890", "1234567890"),
    ],
)
def test_trademark_valid(written: str, canonical: str) -> None:
    result = validate_trademark_registration_number(written)
    assert result.valid and result.canonical == canonical


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "empty"),
        ("第号", "empty"),
        ("12345678901", "length"),
        ("1234A678", "format"),
        ("G1234567", "format"),
        ("0000", "format"),
        ("12.345", "format"),
    ],
)
def test_trademark_refusals(value: str, rule: str) -> None:
    result = validate_trademark_registration_number(value)
    assert (result.valid, result.rule) == (False, rule)
    assert result.message and result.message_zh


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("2021SR0123456", "2021SR0123456"),
        ("2021sr0123456", "2021SR0123456"),
        ("２０２１ＳＲ０１２３４５６", "2021SR0123456"),
        ("2010SR012345", "2010SR012345"),
        ("国作登字-2021-F-00123456", "国作登字-2021-F-00123456"),
        ("国作登字-2021-A-00012345", "国作登字-2021-A-00012345"),
        ("国作登字－2021－f－00123456", "国作登字-2021-F-00123456"),
        ("国作登字—2021—F—00123456", "国作登字-2021-F-00123456"),
        ("国作登字 2021 F 00123456", "国作登字-2021-F-00123456"),
        ("渝作登字-2020-A-00012345", "渝作登字-2020-A-00012345"),
    ],
)
def test_copyright_valid(written: str, canonical: str) -> None:
    result = validate_copyright_registration_number(written, today=TODAY)
    assert result.valid, result.message
    assert result.canonical == canonical


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "empty"),
        ("2021SR12", "format"),
        ("21SR0123456", "format"),
        ("软著登字第1234567号", "format"),
        ("国作登字-2021-F-123", "format"),
        ("国作登字-2021-FF-00123456", "format"),
        ("美作登字-2021-F-00123456", "format"),
        ("2030SR0123456", "year"),
        ("国作登字-1980-A-00012345", "year"),
    ],
)
def test_copyright_refusals(value: str, rule: str) -> None:
    result = validate_copyright_registration_number(value, today=TODAY)
    assert (result.valid, result.rule) == (False, rule)
    assert result.message and result.message_zh


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("BS.215500123", "BS.215500123"),
        ("bs.215500123", "BS.215500123"),
        ("BS 215500123", "BS.215500123"),
        ("BS.20500123.4", "BS.20500123.4"),
        ("BS.20500123.x", "BS.20500123.X"),
        ("ＢＳ．２１５５００１２３", "BS.215500123"),
    ],
)
def test_ic_layout_valid(written: str, canonical: str) -> None:
    result = validate_ic_layout_registration_number(written)
    assert result.valid and result.canonical == canonical


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "empty"),
        ("BS.1234567", "format"),
        ("BS.1234567890", "format"),
        ("215500123", "format"),
        ("BS.2155A0123", "format"),
    ],
)
def test_ic_layout_refusals(value: str, rule: str) -> None:
    result = validate_ic_layout_registration_number(value)
    assert (result.valid, result.rule) == (False, rule)


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "good"),
    [
        ("uscc", "91110000600037341L"),
        ("patent-no", "201710601862.3"),
        ("trademark-no", "12345678"),
        ("copyright-no", "2021SR0123456"),
        ("ic-layout-no", "BS.215500123"),
    ],
)
def test_validators_registry(key: str, good: str) -> None:
    assert set(VALIDATORS) == {"uscc", "patent-no", "trademark-no", "copyright-no", "ic-layout-no"}
    result = VALIDATORS[key](good)
    assert isinstance(result, Validation)
    assert result.valid
    bad = VALIDATORS[key]("not a number")
    assert not bad.valid and bad.rule and bad.message and bad.message_zh
