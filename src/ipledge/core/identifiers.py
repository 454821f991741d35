"""Validators for the Chinese identifiers the platform handles.

Pure Python on purpose (no Django imports): the same functions back model and
form validation, the API, bulk imports and the CLI, and they must be testable
without a database or settings.

Every ``validate_*`` function returns a :class:`Validation` instead of raising,
so that an import of 5,000 spreadsheet rows can report every bad cell at once.
The ``rule`` field is a stable machine code (tests, API clients and import
reports key on it); ``message``/``message_zh`` are for people.

Covered identifiers:

* USCC 统一社会信用代码 (GB 32100-2015), checked by python-stdnum behind our wrapper;
* CN patent application numbers 专利申请号 (ZC 0006-2003, plus the pre-2003 8-digit form);
* trademark registration numbers 商标注册号 (structural check only);
* copyright registration numbers 著作权登记号 (software ``2021SR0123456`` and works
  ``国作登字-2021-F-00123456``; structural check only);
* integrated-circuit layout-design registration numbers 集成电路布图设计登记号
  (structural check only).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import uscc as stdnum_uscc

__all__ = [
    "PATENT_TYPES",
    "VALIDATORS",
    "IdentifierError",
    "PatentApplicationNumber",
    "Validation",
    "parse_patent_application_number",
    "patent_check_char",
    "patent_type_from_number",
    "uscc_region_code",
    "validate_copyright_registration_number",
    "validate_ic_layout_registration_number",
    "validate_patent_application_number",
    "validate_trademark_registration_number",
    "validate_uscc",
]

# Filing dates and registration years are Beijing dates. Using UTC would refuse
# a number filed on 1 January during the first eight hours of the new year.
_CHINA_TZ = timezone(timedelta(hours=8), name="Asia/Shanghai")


@dataclass(frozen=True)
class Validation:
    """Outcome of validating one identifier.

    ``canonical`` is set only when ``valid``; ``rule``/``message``/``message_zh``
    only when not valid.
    """

    input: str
    valid: bool
    canonical: str | None
    rule: str | None
    message: str | None
    message_zh: str | None


class IdentifierError(ValueError):
    """An identifier broke one named rule.

    Subclasses ValueError so callers that only know "bad value" still catch it.
    """

    def __init__(self, rule: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.message_zh = message_zh


def _ok(value: str, canonical: str) -> Validation:
    return Validation(input=value, valid=True, canonical=canonical, rule=None, message=None, message_zh=None)


def _refused(value: str, error: IdentifierError) -> Validation:
    return Validation(
        input=value,
        valid=False,
        canonical=None,
        rule=error.rule,
        message=error.message,
        message_zh=error.message_zh,
    )


def _require_str(value: object) -> str:
    # A float from Excel (9.1110000600037e+17) must not be silently str()-ed into
    # something that looks like an identifier; the caller has to decide.
    if not isinstance(value, str):
        raise TypeError(f"identifier must be a str, got {type(value).__name__}")
    return value


# Whitespace including the ideographic space U+3000 (NFKC turns it into a plain
# space anyway, but tabs and line breaks pasted from spreadsheets stay).
_WHITESPACE_RE = re.compile(r"\s+")
# Dash look-alikes that survive NFKC (em dash, en dash, horizontal bar, minus).
_DASHES = str.maketrans({"\u2014": "-", "\u2013": "-", "\u2015": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-"})


def _normalise(value: str) -> str:
    """NFKC + uppercase + no whitespace.

    NFKC folds full-width input (Ｕ+FF10.. digits, Ｌ, ．, －), which Chinese input
    methods produce routinely, into ASCII.
    """
    text = unicodedata.normalize("NFKC", value).translate(_DASHES)
    return _WHITESPACE_RE.sub("", text).upper()


def _current_year(today: date | None) -> int:
    return today.year if today is not None else datetime.now(_CHINA_TZ).year


# ---------------------------------------------------------------------------
# USCC 统一社会信用代码 (GB 32100-2015)
# ---------------------------------------------------------------------------

_USCC_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")


def _uscc_error(compact: str, exc: stdnum_exceptions.ValidationError) -> IdentifierError:
    if isinstance(exc, stdnum_exceptions.InvalidLength):
        return IdentifierError(
            "length",
            f"USCC must be 18 characters (got {len(compact)})",
            f"统一社会信用代码应为18位（实际{len(compact)}位）",
        )
    if isinstance(exc, stdnum_exceptions.InvalidChecksum):
        return IdentifierError(
            "checksum",
            "USCC check character does not match (GB 32100-2015)",
            "统一社会信用代码校验码错误（GB 32100-2015）",
        )
    # InvalidFormat (and InvalidComponent, which cn.uscc does not raise today):
    # say which part is wrong, because "format" alone does not help the user fix it.
    if not (compact[:8].isascii() and compact[:8].isdigit()):
        return IdentifierError(
            "format",
            "USCC characters 1-8 must be digits (registration authority, entity type, 6-digit region code)",
            "统一社会信用代码前8位应为数字（登记管理部门代码、机构类别代码、6位行政区划码）",
        )
    bad = sorted({c for c in compact[8:] if c not in _USCC_ALPHABET})
    shown = "".join(bad) if bad else "?"
    return IdentifierError(
        "format",
        f"USCC characters 9-18 may only be digits or capital letters except I, O, S, V, Z (found {shown})",
        f"统一社会信用代码第9-18位只能为数字或除I、O、S、V、Z以外的大写字母（发现{shown}）",
    )


def _canonical_uscc(value: str) -> str:
    """Return the canonical 18-character USCC or raise IdentifierError."""
    # stdnum.compact already removes spaces/hyphens and uppercases; we add NFKC
    # and the removal of any other whitespace before handing over.
    compact = stdnum_uscc.compact(_normalise(value))
    if not compact:
        raise IdentifierError("empty", "USCC is empty", "统一社会信用代码为空")
    try:
        return stdnum_uscc.validate(compact)
    except stdnum_exceptions.ValidationError as exc:
        raise _uscc_error(compact, exc) from exc


def validate_uscc(value: str) -> Validation:
    """Validate a 统一社会信用代码 (GB 32100-2015).

    Length, alphabet and the MOD 31 check character are checked by python-stdnum.
    Known limitation inherited from stdnum: characters 1-8 must be digits, so codes
    issued by registration authorities with a letter code (e.g. ``N`` for rural
    collective economic organisations) are refused. Enterprises (``9…``) and
    institutions (``1…``, ``5…``) are unaffected.
    """
    value = _require_str(value)
    try:
        return _ok(value, _canonical_uscc(value))
    except IdentifierError as err:
        return _refused(value, err)


def uscc_region_code(canonical: str) -> str:
    """Return the 6-digit administrative-division code (characters 3-8) of a USCC.

    Accepts any written form; raises IdentifierError if it is not a valid USCC,
    because a region read from an invalid code would be noise.
    """
    return _canonical_uscc(_require_str(canonical))[2:8]


# ---------------------------------------------------------------------------
# Patent application number 专利申请号 (ZC 0006-2003)
# ---------------------------------------------------------------------------

#: Type digit (5th digit of a 12-digit number, 3rd of an 8-digit one) -> patent type.
PATENT_TYPES: dict[str, str] = {
    "1": "invention",
    "2": "utility_model",
    "3": "design",
    "8": "pct_invention",
    "9": "pct_utility_model",
}

_PATENT_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9)
#: First year of the 12-digit form is 2003 in reality (ZC 0006-2003 in force
#: 2003-10-01); we keep the wider bound 1985 so that databases that rewrote old
#: numbers are not refused. Typos in the year are caught by the check digit anyway.
_PATENT_MIN_YEAR = 1985
#: The 8-digit form was used from 1985 until 2003-09-30.
_LEGACY_LAST_YEAR = 2003
_PATENT_PREFIXES = ("CN", "ZL")
_PATENT_WITH_DOT_RE = re.compile(r"(?P<body>[0-9]+)\.(?P<check>[0-9X])")
_PATENT_NO_DOT_RE = re.compile(r"(?P<digits>[0-9]+)(?P<x>X?)")


@dataclass(frozen=True)
class PatentApplicationNumber:
    """A parsed, valid CN patent application number.

    ``year`` is the full four-digit year also for 8-digit numbers (``95`` -> 1995);
    ``type_digit``, ``serial`` and ``check`` are strings so leading zeros survive.
    """

    canonical: str
    year: int
    type_digit: str
    serial: str
    check: str

    @property
    def body(self) -> str:
        """The digits before the dot (12 or 8)."""
        return self.canonical.split(".", 1)[0]

    @property
    def is_legacy(self) -> bool:
        """True for the pre-2003-10-01 8-digit form."""
        return len(self.body) == 8


def patent_check_char(body: str) -> str:
    """Check character of an application-number body (12 or 8 digits).

    ZC 0006-2003: S = sum(d_i * w_i) with weights 2..9 from the left, repeating;
    check = S mod 11, a remainder of 10 is written ``X``. 11 is prime and no
    weight is a multiple of 11, so every single-digit substitution changes S mod 11.
    """
    if not (body.isascii() and body.isdigit()):
        raise ValueError("body must consist of ASCII digits")
    total = sum(int(d) * _PATENT_WEIGHTS[i % len(_PATENT_WEIGHTS)] for i, d in enumerate(body))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def _strip_patent_decorations(value: str) -> str:
    text = _normalise(value).replace("\u3002", ".")  # ideographic full stop 。 used as a dot
    # "ZL", "CN", "ZLCN", "CNZL" ... are all decorations around the same number.
    while text.startswith(_PATENT_PREFIXES):
        text = text[2:]
    return text


def _split_patent_number(text: str) -> tuple[str, str | None]:
    """Split into (body digits, check char or None); raise on bad shape."""
    if not text:
        raise IdentifierError("empty", "Patent application number is empty", "专利申请号为空")
    match = _PATENT_WITH_DOT_RE.fullmatch(text)
    if match:
        return match["body"], match["check"]
    match = _PATENT_NO_DOT_RE.fullmatch(text)
    if not match:
        raise IdentifierError(
            "format",
            "Patent application number may only contain digits, one '.' and a check character 0-9 or X "
            "(optionally prefixed CN or ZL)",
            "专利申请号只能由数字、一个“.”和校验位（0-9或X）组成（可带CN或ZL前缀）",
        )
    digits, x = match["digits"], match["x"]
    if x:
        return digits, x
    if len(digits) in (8, 12):
        # Exactly a body without its check character.
        return digits, None
    if len(digits) in (9, 13):
        # Written without the dot: the last digit is the check character.
        return digits[:-1], digits[-1]
    return digits, None


def parse_patent_application_number(value: str, *, today: date | None = None) -> PatentApplicationNumber:
    """Parse a CN patent application number or raise IdentifierError.

    Accepted written forms: ``201710601862.3``, ``2017106018623``, ``CN201710601862.3``,
    ``ZL 2017 1 0601862.3``, full-width digits, lowercase ``x``; and the pre-2003
    8-digit form ``95115608.X``. Rules, in the order they are checked:
    ``empty``, ``format``, ``length``, ``type_digit``, ``year``, ``checksum_missing``
    (a bare 12- or 8-digit body: we insist on the check character because it is
    what catches typos), ``checksum``.
    ``today`` fixes "the current year" for tests; it defaults to today in Beijing.
    """
    text = _strip_patent_decorations(_require_str(value))
    body, check = _split_patent_number(text)

    if len(body) not in (8, 12):
        raise IdentifierError(
            "length",
            "Patent application number must have 12 digits (8 before 2003-10-01) before the check character "
            f"(got {len(body)})",
            f"专利申请号校验位前应为12位数字（2003年10月1日前为8位）（实际{len(body)}位）",
        )

    legacy = len(body) == 8
    type_digit = body[2] if legacy else body[4]
    if type_digit not in PATENT_TYPES:
        raise IdentifierError(
            "type_digit",
            f"Patent type digit must be 1, 2, 3, 8 or 9 (got {type_digit})",
            f"专利申请种类号应为1、2、3、8或9（实际为{type_digit}）",
        )

    if legacy:
        yy = int(body[:2])
        # Two-digit years: 85-99 are 1985-1999, 00-03 are 2000-2003.
        year = 1900 + yy if yy >= 85 else 2000 + yy
        low, high = _PATENT_MIN_YEAR, _LEGACY_LAST_YEAR
    else:
        year = int(body[:4])
        low, high = _PATENT_MIN_YEAR, _current_year(today)
    if not low <= year <= high:
        raise IdentifierError(
            "year",
            f"Application year {year} is outside {low}-{high}",
            f"申请年份{year}超出{low}-{high}范围",
        )

    if check is None:
        raise IdentifierError(
            "checksum_missing",
            "Patent application number has no check character; enter the character after the dot (e.g. 201710601862.3)",
            "专利申请号缺少校验位，请填写小数点后的一位（如201710601862.3）",
        )
    if patent_check_char(body) != check:
        raise IdentifierError(
            "checksum",
            "Check digit does not match (ZC 0006-2003 mod 11)",
            "校验位不符（ZC 0006-2003 模11校验）",
        )

    return PatentApplicationNumber(
        canonical=f"{body}.{check}",
        year=year,
        type_digit=type_digit,
        serial=body[3:] if legacy else body[5:],
        check=check,
    )


def validate_patent_application_number(value: str, *, today: date | None = None) -> Validation:
    """Validate a CN patent application number; see parse_patent_application_number."""
    value = _require_str(value)
    try:
        return _ok(value, parse_patent_application_number(value, today=today).canonical)
    except IdentifierError as err:
        return _refused(value, err)


def patent_type_from_number(parsed: PatentApplicationNumber) -> str:
    """Patent type from the type digit: invention, utility_model, design, pct_invention, pct_utility_model."""
    return PATENT_TYPES[parsed.type_digit]


# ---------------------------------------------------------------------------
# Trademark registration number 商标注册号
# ---------------------------------------------------------------------------

_TRADEMARK_MAX_DIGITS = 10


def validate_trademark_registration_number(value: str) -> Validation:
    """Validate a CN trademark registration number (structural check only).

    CNIPA registration numbers are plain serial numbers without a check digit
    (up to 8 digits today; we allow 1-10 for headroom). Written decorations are
    removed: surrounding/internal whitespace, a leading ``TM`` or ``第`` and a
    trailing ``号`` (``第12345678号`` -> ``12345678``). Leading zeros are kept as
    written. Madrid international registrations (``G…``) are not accepted here.
    """
    value = _require_str(value)
    text = _normalise(value)
    text = text.removeprefix("TM").removeprefix("第").removesuffix("号")
    if not text:
        return _refused(value, IdentifierError("empty", "Trademark registration number is empty", "商标注册号为空"))
    if not (text.isascii() and text.isdigit()):
        return _refused(
            value,
            IdentifierError(
                "format",
                "Trademark registration number must consist of digits only",
                "商标注册号只能由数字组成",
            ),
        )
    if set(text) == {"0"}:
        # Serial numbers start at 1; all zeros is a placeholder, not a number.
        return _refused(
            value,
            IdentifierError("format", "Trademark registration number cannot be zero", "商标注册号不能为0"),
        )
    if len(text) > _TRADEMARK_MAX_DIGITS:
        return _refused(
            value,
            IdentifierError(
                "length",
                f"Trademark registration number must have at most {_TRADEMARK_MAX_DIGITS} digits (got {len(text)})",
                f"商标注册号最多{_TRADEMARK_MAX_DIGITS}位数字（实际{len(text)}位）",
            ),
        )
    return _ok(value, text)


# ---------------------------------------------------------------------------
# Copyright registration number 著作权登记号
# ---------------------------------------------------------------------------

# 国 = National Copyright Administration (CPCC); the others are provincial
# copyright bureaus, which register works with the same layout (e.g. 渝作登字-…).
_COPYRIGHT_OFFICES = "国京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川蜀贵黔云滇藏陕甘青宁新"
_SOFTWARE_RE = re.compile(r"(?P<year>[0-9]{4})SR(?P<serial>[0-9]{5,8})")
_WORK_RE = re.compile(
    rf"(?P<office>[{_COPYRIGHT_OFFICES}])作登字-?(?P<year>[0-9]{{4}})-?(?P<category>[A-Z])-?(?P<serial>[0-9]{{8}})"
)
#: Software registration under the 1991 Regulations began in 1992; 1990 leaves headroom.
_COPYRIGHT_MIN_YEAR = 1990


def validate_copyright_registration_number(value: str, *, today: date | None = None) -> Validation:
    """Validate a CN copyright registration number (structural check only).

    Two layouts are accepted, case-insensitive, full-width folded, spaces ignored:

    * computer software 软件著作权: ``2021SR0123456`` (4-digit year, ``SR``, 5-8 digit serial);
    * works 作品: ``国作登字-2021-F-00123456`` (office, year, category letter, 8-digit
      serial); hyphens may be any dash or omitted; provincial offices (``渝作登字`` …) too.

    Canonical: uppercase, works with ASCII hyphens. There is no check digit, so a
    typo in the serial cannot be detected here.
    """
    value = _require_str(value)
    text = _normalise(value)
    if not text:
        return _refused(value, IdentifierError("empty", "Copyright registration number is empty", "著作权登记号为空"))
    software = _SOFTWARE_RE.fullmatch(text)
    work = None if software else _WORK_RE.fullmatch(text)
    if software:
        year, canonical = int(software["year"]), text
    elif work:
        year = int(work["year"])
        canonical = f"{work['office']}作登字-{work['year']}-{work['category']}-{work['serial']}"
    else:
        return _refused(
            value,
            IdentifierError(
                "format",
                "Copyright registration number must look like 2021SR0123456 (software) "
                "or 国作登字-2021-F-00123456 (works)",
                "著作权登记号格式应为2021SR0123456（软件）或国作登字-2021-F-00123456（作品）",
            ),
        )
    high = _current_year(today)
    if not _COPYRIGHT_MIN_YEAR <= year <= high:
        return _refused(
            value,
            IdentifierError(
                "year",
                f"Registration year {year} is outside {_COPYRIGHT_MIN_YEAR}-{high}",
                f"登记年份{year}超出{_COPYRIGHT_MIN_YEAR}-{high}范围",
            ),
        )
    return _ok(value, canonical)


# ---------------------------------------------------------------------------
# IC layout-design registration number 集成电路布图设计登记号
# ---------------------------------------------------------------------------

_IC_LAYOUT_RE = re.compile(r"BS\.?(?P<digits>[0-9]{8,9})(?:\.(?P<check>[0-9X]))?")


def validate_ic_layout_registration_number(value: str) -> Validation:
    """Validate a 集成电路布图设计 registration number (structural check only).

    Layout: ``BS.`` + 8-9 digits, optionally ``.`` + one check character
    (``BS.215500123``, ``BS.20500123.4``). The check character is not verified:
    no public specification of its algorithm was found. Canonical: uppercase,
    with the dot after ``BS``.
    """
    value = _require_str(value)
    text = _normalise(value)
    if not text:
        return _refused(
            value,
            IdentifierError("empty", "IC layout-design registration number is empty", "集成电路布图设计登记号为空"),
        )
    match = _IC_LAYOUT_RE.fullmatch(text)
    if not match:
        return _refused(
            value,
            IdentifierError(
                "format",
                "IC layout-design registration number must be BS. followed by 8-9 digits, "
                "optionally .check (e.g. BS.215500123)",
                "集成电路布图设计登记号应为BS.加8-9位数字，可带“.校验位”（如BS.215500123）",
            ),
        )
    canonical = f"BS.{match['digits']}" + (f".{match['check']}" if match["check"] else "")
    return _ok(value, canonical)


# ---------------------------------------------------------------------------
# Registry used by forms, the API and imports to pick a validator by name.
# ---------------------------------------------------------------------------

VALIDATORS: dict[str, Callable[[str], Validation]] = {
    "uscc": validate_uscc,
    "patent-no": validate_patent_application_number,
    "trademark-no": validate_trademark_registration_number,
    "copyright-no": validate_copyright_registration_number,
    "ic-layout-no": validate_ic_layout_registration_number,
}
