"""Property tests of the identifier parsers (`ipledge.core.identifiers`), beyond the patent check-digit properties in
`tests/core/test_identifiers.py`: every validator is total on text, canonical forms are fixed points, written
variants of a valid number normalise to the same canonical form, and a one-character change of a valid USCC or
patent application number is refused."""

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipledge.core.identifiers import (
    PATENT_TYPES,
    VALIDATORS,
    IdentifierError,
    Validation,
    parse_patent_application_number,
    patent_check_char,
    uscc_region_code,
    validate_copyright_registration_number,
    validate_patent_application_number,
    validate_uscc,
)
from ipledge.core.synthetic import make_uscc

BOUNDED = settings(max_examples=200, deadline=None, derandomize=True)
TODAY = datetime.date(2025, 6, 30)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# Text that looks like identifiers often enough to reach the deeper rules, mixed with anything at all.
identifier_alphabet = st.sampled_from(
    list("0123456789.XxBSRTMCNZL -－—．。第号作登字国渝") + ["\u3000", "\t", "０", "９"]
)
near_identifiers = st.text(identifier_alphabet, max_size=30)
any_text = st.one_of(st.text(max_size=40), near_identifiers)

uscc = st.builds(
    lambda kind, region, serial: make_uscc(region_code=region, serial=serial, registration_kind=kind),
    st.sampled_from(["91", "92", "93", "11", "12", "51", "52", "53"]),
    st.sampled_from(["110000", "110108", "320115", "440300", "510104"]),
    st.integers(min_value=0, max_value=10**8 - 1),
)
patent = st.builds(
    lambda year, type_digit, serial: f"{year}{type_digit}{serial:07d}",
    st.integers(min_value=1985, max_value=TODAY.year),
    st.sampled_from(sorted(PATENT_TYPES)),
    st.integers(min_value=0, max_value=9_999_999),
).map(lambda body: f"{body}.{patent_check_char(body)}")


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


written_forms = st.sampled_from([str.lower, _full_width, lambda t: f"  {t}\t", lambda t: t[:6] + " " + t[6:]])


def _validate(name: str, value: str) -> Validation:
    validator = VALIDATORS[name]
    if name in ("patent-no", "copyright-no"):
        return validator(value, today=TODAY)  # type: ignore[call-arg]
    return validator(value)


@pytest.mark.parametrize("name", sorted(VALIDATORS))
@BOUNDED
@given(value=any_text)
def test_every_validator_is_total_on_text(name: str, value: str) -> None:
    """Any text gives a Validation (never an exception): valid with a canonical form, or refused with a rule and
    both messages; and a canonical form is a fixed point."""
    result = _validate(name, value)
    assert isinstance(result, Validation)
    assert result.input == value
    if result.valid:
        assert result.canonical and result.rule is None
        again = _validate(name, result.canonical)
        assert again.valid and again.canonical == result.canonical
    else:
        assert result.canonical is None
        assert result.rule and result.message and result.message_zh


@pytest.mark.parametrize("name", sorted(VALIDATORS))
@pytest.mark.parametrize("value", [None, 91110000600037, 9.1110000600037e17, b"91110000600037", ["x"]])
def test_non_text_is_a_type_error_not_a_silent_str(name: str, value: object) -> None:
    with pytest.raises(TypeError):
        VALIDATORS[name](value)  # type: ignore[arg-type]


@BOUNDED
@given(value=any_text)
def test_patent_parser_raises_only_identifier_errors(value: str) -> None:
    try:
        parsed = parse_patent_application_number(value, today=TODAY)
    except IdentifierError as err:
        assert isinstance(err, ValueError)  # documented: callers that only know "bad value" still catch it
        assert err.rule and err.message and err.message_zh
    else:
        assert parse_patent_application_number(parsed.canonical, today=TODAY) == parsed


@BOUNDED
@given(value=any_text)
def test_uscc_region_code_raises_only_identifier_errors(value: str) -> None:
    try:
        region = uscc_region_code(value)
    except IdentifierError:
        assert not validate_uscc(value).valid
    else:
        assert region == validate_uscc(value).canonical[2:8]  # type: ignore[index]


@BOUNDED
@given(number=uscc, form=written_forms)
def test_uscc_written_forms_normalise_to_the_canonical(number: str, form) -> None:  # type: ignore[no-untyped-def]
    result = validate_uscc(form(number))
    assert result.valid, (form(number), result.rule)
    assert result.canonical == number
    assert validate_uscc(result.canonical).canonical == number


@BOUNDED
@given(number=uscc, data=st.data())
def test_uscc_one_character_change_is_refused(number: str, data: st.DataObject) -> None:
    """GB 32100-2015's MOD 31 check character (31 is prime, every weight is a unit) catches any single
    substitution, including of the check character itself."""
    position = data.draw(st.integers(min_value=0, max_value=17), label="position")
    replacement = data.draw(st.sampled_from([c for c in USCC_ALPHABET if c != number[position]]), label="char")
    changed = number[:position] + replacement + number[position + 1 :]
    result = validate_uscc(changed)
    assert not result.valid
    assert result.rule in {"checksum", "format"}


@BOUNDED
@given(number=patent, form=written_forms)
def test_patent_written_forms_normalise_to_the_canonical(number: str, form) -> None:  # type: ignore[no-untyped-def]
    for written in (form(number), f"ZL{number}", f"CN{number.replace('.', '')}"):
        result = validate_patent_application_number(written, today=TODAY)
        assert result.valid and result.canonical == number, (written, result.rule)


@BOUNDED
@given(number=patent, data=st.data())
def test_patent_one_character_change_is_refused(number: str, data: st.DataObject) -> None:
    """Any single change of a digit or of the check character (to another digit or X) is refused."""
    position = data.draw(st.sampled_from([i for i, c in enumerate(number) if c != "."]), label="position")
    alphabet = "0123456789X" if position == len(number) - 1 else "0123456789"
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != number[position]]), label="char")
    changed = number[:position] + replacement + number[position + 1 :]
    result = validate_patent_application_number(changed, today=TODAY)
    assert not result.valid
    assert result.rule in {"checksum", "year", "type_digit"}


@BOUNDED
@given(
    year=st.integers(min_value=1990, max_value=TODAY.year),
    serial=st.integers(min_value=0, max_value=10**8 - 1),
    office=st.sampled_from("国京沪渝粤"),
    category=st.sampled_from("ABFGIJL"),
    dash=st.sampled_from(["-", "—", "－", ""]),
)
def test_copyright_work_numbers_normalise_whatever_the_dash(
    year: int, serial: int, office: str, category: str, dash: str
) -> None:
    canonical = f"{office}作登字-{year}-{category}-{serial:08d}"
    written = f"{office}作登字{dash}{year}{dash}{category.lower()}{dash}{serial:08d}"
    result = validate_copyright_registration_number(written, today=TODAY)
    assert result.valid and result.canonical == canonical
