"""Reading credit-record files (信用记录导入): csv, xlsx and JSON into validated rows, all checked before anything is
written (the service `services.records.credit_import` writes only a file without a single error).

Formats
-------
* CSV in UTF-8 (with or without BOM) or GB18030 (what Excel and WPS save on Chinese Windows); header in row 1.
* xlsx: the first sheet, header in row 1 (openpyxl, read-only), recognised by content and checked against zip bombs
  first (``ipledge.core.uploads``).
* JSON: a list of objects, or an object holding that list under "data", "result" or "list" (also one level further
  down, as query APIs wrap it: {"result": {"list": [...]}}). Keys are the ones the official query pages use.

Row numbers are the ones a person sees: in csv and xlsx the header is row 1 and the first record row 2; in JSON the
first object of the list is row 1. Row 0 means the file as a whole. Every error names the row, the field as the file
itself writes it (its header or JSON key; the Chinese field name when the field is missing altogether), the rule
broken and a message in Chinese and English.

Fields
------
Each record kind accepts the Chinese field names and the JSON keys of the official query pages (失信被执行人 from the
courts' 中国执行信息公开网; 行政处罚, 经营异常名录, 严重违法失信名单 from 国家企业信用信息公示系统 / 信用中国), and a
few common variants. Columns this module does not know are kept, as written, in the record's `raw` fields. The tax
credit rating (纳税信用等级) has no public query format, so its fields are defined here: 纳税人名称 (entName),
统一社会信用代码 (uniScid) or 纳税人识别号 (nsrsbh), 纳税信用级别 (rating: A, B, M, C or D), 评价年度 (year).

Record identity (`source_key`), what makes a row the same record when a later file carries it again:
* 失信被执行人: 案号 + subject; 行政处罚: 决定书文号 + subject. The subject is part of the key because one case or
  one decision often names several parties (joint debtors, joint offenders), each listed as a record of its own.
* 经营异常名录, 严重违法失信名单: subject + 列入日期 + 作出决定机关.
* 纳税信用等级: subject + 评价年度.
The subject is the USCC when the row gives one, else the name as written (whitespace removed, NFKC). Two rows with
the same key in one file are an error.

When a record stops counting (see `CreditRecord.counts_on`)
-----------------------------------------------------------
* 失信被执行人: at its removal date (移出/撤销/删除日期) when the file gives one; it is listed from 发布时间.
* 经营异常名录, 严重违法失信名单: at 移出日期.
* 行政处罚: at the end of its publicity period (公示截止日期) when the file gives one, else `PENALTY_PUBLICITY_YEARS`
  after the decision date; earlier when the file gives a credit-repair date (信用修复日期), which is stored as the
  removal date.
* 纳税信用等级: a rating is superseded by the next year's; it is in force from `TAX_RATING_PUBLISHED` of the year
  after the one rated, unless the file gives the evaluation date (评价日期).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import functools
import hashlib
import io
import json
import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ipledge.core import uploads
from ipledge.core.identifiers import validate_uscc

from .choices import FileFormat, RecordKind, TaxRating

MAX_BYTES = uploads.SCREENING_IMPORT.max_bytes
MAX_ROWS = 200_000
MAX_UNCOMPRESSED_BYTES = uploads.SCREENING_IMPORT.max_unpacked_bytes
# Past this many errors the file needs fixing anyway; the stored list stays readable and small.
MAX_ERRORS = 1_000
# Administrative penalties are published for at most three years: as we understand 《失信行为纠正后的信用信息修复管理
# 办法（试行）》 (国家发展改革委令2023年第58号), the longest publicity period of penalty information (serious dishonesty)
# is three years, shorter for lesser penalties. Without a publicity end date in the file the longest period is
# assumed, so that a record is never dropped early. Not checked against the order's text here: our research notes
# (../shared/research/domain.md) do not cover it; verify before relying on the exact periods.
PENALTY_PUBLICITY_YEARS = 3
# Tax authorities fix the ratings of a year in April of the next (纳税信用管理办法（试行）, from memory: not in our
# research notes); by the end of April the rating exists, so an imported rating without its own evaluation date
# starts counting then.
TAX_RATING_PUBLISHED = (4, 30)
FIRST_TAX_RATING_YEAR = 2014  # the first year rated under the national tax-credit rules
# Court JSON gives dates as epoch milliseconds; anything below this (1973-03-03) is not a plausible record date.
_MIN_EPOCH_MS = 100_000_000_000
_CHINA = datetime.timezone(datetime.timedelta(hours=8))
MAX_KEY = 160
SUBJECT_FIELDS = ("subject_name", "subject_uscc")


# ----------------------------------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    rule: str
    message: str
    message_en: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Refused(Exception):
    def __init__(self, rule: str, message: str, message_en: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.message_en = message_en


class _FileRefused(_Refused):
    pass


# ----------------------------------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record kind: `key` is ours (a CreditRecord field, or a name kept in `raw` only), `label` the
    Chinese name shown when the field is missing, `aliases` every header and JSON key accepted for it."""

    key: str
    label: str
    aliases: tuple[str, ...]
    parse: str = "text"  # text | date | uscc | id_or_uscc | taxpayer_id | rating | year
    required: bool = False
    max_length: int = 255


def _f(key: str, label: str, *aliases: str, **options: Any) -> FieldSpec:
    return FieldSpec(key, label, (label, *aliases), **options)


_SUBJECT_NAME_ALIASES = ("企业名称", "主体名称", "当事人名称", "名称", "entName")
_USCC = _f("subject_uscc", "统一社会信用代码", "社会信用代码", "uniScid", "uniscId", "creditCode", parse="uscc")
_REG_NUM = _f("registration_number", "注册号", "regNum", "regNo", max_length=64)


def _list_fields(list_name: str, *list_aliases: str) -> tuple[FieldSpec, ...]:
    """经营异常名录 and 严重违法失信名单 share the publicity system's layout; only the list's name in the reason
    headers differs (列入经营异常名录原因 / 列入严重违法失信名单原因), and the short forms are accepted for both."""
    return (
        _f("subject_name", "企业名称", "主体名称", "entName", max_length=255),
        _USCC,
        _REG_NUM,
        _f("category", f"列入{list_name}原因", *(f"列入{a}原因" for a in list_aliases), "列入原因", "inReason"),
        _f("listed_on", "列入日期", "inDate", parse="date", required=True),
        _f("authority", "作出决定机关(列入)", "作出决定机关", "列入决定机关", "决定机关", "inOrgan", max_length=128),
        _f("out_reason", f"移出{list_name}原因", *(f"移出{a}原因" for a in list_aliases), "移出原因", "outReason"),
        _f("removed_on", "移出日期", "outDate", parse="date"),
        _f("out_authority", "作出决定机关(移出)", "移出决定机关", "outOrgan", max_length=128),
    )


FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    RecordKind.DISHONEST: (
        _f("subject_name", "被执行人姓名/名称", "被执行人名称", "被执行人", *_SUBJECT_NAME_ALIASES[:1], "iname"),
        _f("subject_id", "身份证号码/组织机构代码", "身份证号码", "组织机构代码", "cardNum", parse="id_or_uscc"),
        _USCC,
        _f("legal_representative", "法定代表人或者负责人姓名", "法定代表人", "businessEntity", max_length=64),
        _f("authority", "执行法院", "courtName", max_length=128),
        _f("province", "省份", "areaName", max_length=32),
        _f("basis_reference", "执行依据文号", "gistId"),
        _f("filed_on", "立案时间", "regDate", parse="date"),
        _f("reference", "案号", "caseCode", required=True, max_length=128),
        _f("basis_authority", "做出执行依据单位", "作出执行依据单位", "gistUnit"),
        _f("duty", "生效法律文书确定的义务", "duty", max_length=10_000),
        _f("performance", "被执行人的履行情况", "履行情况", "performance"),
        _f("performed_part", "已履行部分", "performedPart"),
        _f("unperformed_part", "未履行部分", "unperformPart"),
        _f("category", "失信被执行人行为具体情形", "失信情形", "disruptTypeName"),
        _f("listed_on", "发布时间", "发布日期", "publishDate", parse="date", required=True),
        _f("removed_on", "移出日期", "撤销日期", "删除日期", "屏蔽日期", "removeDate", "outDate", parse="date"),
    ),
    RecordKind.PENALTY: (
        _f(
            "reference",
            "行政处罚决定书文号",
            "决定书文号",
            "处罚决定书文号",
            "punishRepNum",
            "penDecNo",
            required=True,
            max_length=128,
        ),
        _f("category", "违法行为类型", "illegalActType", "illegActType"),
        _f("content", "行政处罚内容", "处罚内容", "punishContent", max_length=10_000),
        _f("penalty_type", "处罚种类", "penType"),
        _f(
            "authority",
            "作出行政处罚决定机关名称",
            "作出行政处罚决定机关",
            "处罚机关",
            "决定机关",
            "deciAuthority",
            "penAuth",
            max_length=128,
        ),
        _f(
            "listed_on",
            "作出行政处罚决定日期",
            "处罚决定日期",
            "决定日期",
            "deciDateTime",
            "cerIssDate",
            "penDecIssDate",
            parse="date",
            required=True,
        ),
        _f("subject_name", "企业名称", "当事人名称", "行政相对人名称", "entName"),
        _USCC,
        _REG_NUM,
        _f("legal_representative", "法定代表人", "legalReprName", max_length=64),
        _f("expires_on", "公示截止日期", "公示截止期", "公示期限", "publicityEndDate", parse="date"),
        _f("removed_on", "信用修复日期", "修复日期", "repairDate", parse="date"),
    ),
    RecordKind.ABNORMAL: _list_fields("经营异常名录"),
    RecordKind.SERIOUS_VIOLATION: _list_fields("严重违法失信名单", "严重违法失信企业名单", "严重违法失信名单(黑名单)"),
    RecordKind.TAX_RATING: (
        _f("subject_name", "纳税人名称", "企业名称", "entName", "nsrmc"),
        _USCC,
        _f("taxpayer_id", "纳税人识别号", "nsrsbh", parse="taxpayer_id"),
        _f("tax_rating", "纳税信用级别", "纳税信用等级", "信用级别", "rating", parse="rating", required=True),
        _f("rating_year", "评价年度", "年度", "year", parse="year", required=True),
        _f("listed_on", "评价日期", "发布日期", "publishDate", parse="date"),
    ),
}

# What the source key is built from, named by the field whose header a duplicate is reported on.
_KEY_FIELD: dict[str, str] = {
    RecordKind.DISHONEST: "reference",
    RecordKind.PENALTY: "reference",
    RecordKind.ABNORMAL: "listed_on",
    RecordKind.SERIOUS_VIOLATION: "listed_on",
    RecordKind.TAX_RATING: "rating_year",
}


def _header_key(text: str) -> str:
    """Headers compare without case, spaces, punctuation or full-width forms: 作出决定机关（列入） = 作出决定机关(列入)."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


@functools.cache
def header_map(kind: str) -> dict[str, FieldSpec]:
    """Every accepted header or JSON key of a kind (compared as `_header_key`) → its field."""
    mapping: dict[str, FieldSpec] = {}
    for spec in FIELDS[kind]:
        for alias in spec.aliases:
            mapping.setdefault(_header_key(alias), spec)
    return mapping


def recognises(kind: str, header: str) -> bool:
    return _header_key(header) in header_map(kind)


# ----------------------------------------------------------------------------------------------------- values


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return unicodedata.normalize("NFKC", _display(value)).strip()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


def parse_text(value: Any, max_length: int) -> str:
    text = " ".join(_text(value).split())
    if len(text) > max_length:
        raise _Refused(
            "max_length",
            f"长度不能超过{max_length}个字符（实际{len(text)}个）。",
            f"At most {max_length} characters (got {len(text)}).",
        )
    return text


_DATE_FORMS = (
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})(?: \d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日$"),
)
_EPOCH_MS = re.compile(r"^\d{11,13}$")
_DATE_RULE_ZH = "日期格式无效，应为 2023-05-01、2023/5/1、2023年5月1日 或毫秒时间戳。"
_DATE_RULE_EN = "Not a date: use 2023-05-01, 2023/5/1, 2023年5月1日 or epoch milliseconds."


def _from_epoch_ms(ms: int) -> datetime.date:
    if ms < _MIN_EPOCH_MS:
        raise _Refused("date", _DATE_RULE_ZH, _DATE_RULE_EN)
    try:
        return datetime.datetime.fromtimestamp(ms / 1000, tz=_CHINA).date()
    except (OverflowError, OSError, ValueError) as exc:
        raise _Refused("date", _DATE_RULE_ZH, _DATE_RULE_EN) from exc


def parse_date(value: Any) -> datetime.date:
    """A date written as YYYY-MM-DD, YYYY/MM/DD or YYYY年M月D日 (a time of day after it is ignored), an Excel date
    cell, or epoch milliseconds (court JSON), read as a Beijing date."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, bool):
        raise _Refused("date", _DATE_RULE_ZH, _DATE_RULE_EN)
    if isinstance(value, int):
        return _from_epoch_ms(value)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise _Refused("date", _DATE_RULE_ZH, _DATE_RULE_EN)
        return _from_epoch_ms(int(value))
    text = _text(value)
    if _EPOCH_MS.match(text):
        return _from_epoch_ms(int(text))
    for form in _DATE_FORMS:
        match = form.match(text)
        if match is not None:
            break
    else:
        raise _Refused("date", _DATE_RULE_ZH, _DATE_RULE_EN)
    try:
        day = datetime.date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError as exc:
        raise _Refused("date", "日期不存在。", "No such date.") from exc
    if not 1949 <= day.year <= 2100:
        raise _Refused("date", "日期年份应在1949—2100之间。", "The year must lie between 1949 and 2100.")
    return day


def _uscc_text(value: Any) -> str:
    if isinstance(value, bool | int | float):
        # A number here means a spreadsheet turned the code into a number and the digits after the 15th are lost.
        raise _Refused(
            "format",
            "统一社会信用代码被读取为数字，已失去精度；请将该列设置为“文本”格式后重新填写。",
            "The USCC was read as a number and lost digits; format the column as text.",
        )
    return _text(value)


def parse_uscc(value: Any) -> str:
    result = validate_uscc(_uscc_text(value))
    if not result.valid:
        raise _Refused(
            result.rule or "invalid",
            result.message_zh or "统一社会信用代码无效。",
            result.message or "Invalid USCC.",
        )
    assert result.canonical is not None
    return result.canonical


def parse_id_or_uscc(value: Any) -> tuple[str, str]:
    """(USCC, other id): a court's 身份证号码/组织机构代码 holds a USCC, an old organisation code or a masked personal
    id card; only a valid USCC is used for matching, anything else is kept as written."""
    text = _text(value)
    result = validate_uscc(text) if len(text) == 18 else None
    if result is not None and result.valid and result.canonical is not None:
        return result.canonical, ""
    return "", parse_text(text, 64)


def parse_taxpayer_id(value: Any) -> tuple[str, str]:
    """(USCC, other id): since 2015 an enterprise's 纳税人识别号 is its USCC and must then be a valid one; the older
    15- and 20-character taxpayer numbers are kept as written."""
    text = _uscc_text(value)
    if len(re.sub(r"\s", "", text)) == 18:
        return parse_uscc(text), ""
    return "", parse_text(text, 64)


_RATINGS = frozenset(TaxRating.values)


def parse_rating(value: Any) -> str:
    text = _text(value).upper().removesuffix("级").strip()
    if text not in _RATINGS:
        raise _Refused(
            "rating",
            "纳税信用级别应为 A、B、M、C 或 D。",
            "The tax credit rating must be one of A, B, M, C, D.",
        )
    return text


def parse_year(value: Any, *, today: datetime.date) -> int:
    text = _text(value).removesuffix("年度").removesuffix("年")
    if not re.fullmatch(r"\d{4}", text):
        raise _Refused("year", "评价年度应为四位年份，如 2024。", "The year rated must be a 4-digit year, e.g. 2024.")
    year = int(text)
    if not FIRST_TAX_RATING_YEAR <= year < today.year:
        raise _Refused(
            "year",
            f"评价年度应在{FIRST_TAX_RATING_YEAR}—{today.year - 1}之间（当年的评价次年才确定）。",
            f"The year rated must lie between {FIRST_TAX_RATING_YEAR} and {today.year - 1} "
            "(a year is rated in the next).",
        )
    return year


def add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# ----------------------------------------------------------------------------------------------------- files


def _refused(exc: uploads.UploadRefused) -> _FileRefused:
    return _FileRefused(exc.rule, exc.message_zh, exc.message_en)


def _decode_csv(content: bytes) -> str:
    try:
        return uploads.decode_text(content)
    except uploads.UploadRefused as exc:
        raise _refused(exc) from exc


def _csv_rows(content: bytes) -> Iterator[list[Any]]:
    text = _decode_csv(content)
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error as exc:
        raise _FileRefused("file_format", f"CSV 格式错误：{exc}", f"Malformed CSV: {exc}") from exc


def _xlsx_rows(content: bytes) -> Iterator[list[Any]]:
    """The first sheet's rows; `file_format` has already run the archive checks of ``ipledge.core.uploads``."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a malformed package
        raise _FileRefused("file_format", f"无法读取工作簿：{exc}", f"The workbook cannot be read: {exc}") from exc
    try:
        if not workbook.worksheets:
            raise _FileRefused("file_format", "工作簿中没有工作表。", "The workbook has no sheet.")
        for row in workbook.worksheets[0].iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


_JSON_LIST_KEYS = ("data", "result", "list")


def _json_items(content: bytes) -> list[Any]:
    try:
        data = json.loads(_decode_csv(content))
    except json.JSONDecodeError as exc:
        raise _FileRefused(
            "file_format",
            f"JSON 格式错误（第{exc.lineno}行第{exc.colno}列）：{exc.msg}",
            f"Malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
        ) from exc
    for _depth in range(3):
        if isinstance(data, list):
            return data
        if not isinstance(data, dict):
            break
        inner = next((data[k] for k in _JSON_LIST_KEYS if isinstance(data.get(k), list | dict)), None)
        if inner is None:
            break
        data = inner
    raise _FileRefused(
        "file_format",
        "JSON 应为对象数组，或在 data、result 或 list 中包含对象数组。",
        'JSON must be a list of objects, or hold one under "data", "result" or "list".',
    )


def file_format(file_name: str, content: bytes) -> str:
    """XLSX, JSON or CSV, by content (``ipledge.core.uploads``): a ZIP must be a safe .xlsx; text is JSON when the
    name says so or it starts like JSON."""
    try:
        policy = dataclasses.replace(
            uploads.SCREENING_IMPORT, max_bytes=MAX_BYTES, max_unpacked_bytes=MAX_UNCOMPRESSED_BYTES
        )
        kind = uploads.sniff(content, policy=policy, filename=file_name)
        if kind not in policy.kinds:
            raise uploads.UploadRefused(
                "file_type", "只接受 .xlsx、CSV 或 JSON 文件。", "Only .xlsx, CSV or JSON files are accepted."
            )
    except uploads.UploadRefused as exc:
        raise _refused(exc) from exc
    if kind == uploads.XLSX:
        return FileFormat.XLSX
    if file_name.lower().endswith(".json") or content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{"):
        return FileFormat.JSON
    return FileFormat.CSV


# ----------------------------------------------------------------------------------------------------- rows


@dataclass
class ParsedRecord:
    """One valid row: the CreditRecord fields it sets and its raw fields as the file wrote them."""

    row: int
    source_key: str
    subject_name: str
    subject_uscc: str
    reference: str
    authority: str
    category: str
    listed_on: datetime.date
    removed_on: datetime.date | None
    expires_on: datetime.date | None
    tax_rating: str
    rating_year: int | None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParseResult:
    kind: str
    file_format: str
    rows_total: int = 0
    records: list[ParsedRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Errors:
    def __init__(self) -> None:
        self.items: list[RowError] = []
        self.total = 0

    def add(self, row: int, field_name: str, rule: str, message: str, message_en: str) -> None:
        self.total += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append(RowError(row, field_name, rule, message, message_en))

    def refused(self, row: int, field_name: str, exc: _Refused) -> None:
        self.add(row, field_name, exc.rule, exc.message, exc.message_en)

    def listed(self) -> list[RowError]:
        """In file order (a stable sort keeps each row's errors in field order), the overflow note last."""
        items = sorted(self.items, key=lambda e: e.row)
        if self.total > len(self.items):
            items.append(
                RowError(
                    0,
                    "",
                    "too_many_errors",
                    f"共{self.total}处错误，仅列出前{MAX_ERRORS}处。",
                    f"{self.total} errors; the first {MAX_ERRORS} are listed.",
                )
            )
        return items


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str | int | float | bool | list | dict) or value is None:
        return value
    return str(value)


def _subject_key(uscc: str, name: str) -> str:
    return uscc or "".join(unicodedata.normalize("NFKC", name).split())


def _source_key(*parts: str) -> str:
    key = "|".join(parts)
    if len(key) <= MAX_KEY:
        return key
    return key[: MAX_KEY - 41] + "#" + hashlib.sha256(key.encode()).hexdigest()[:40]


@dataclass
class _Source:
    """The rows of one file as (row number, {field as written: value}), and the header when the file has one."""

    rows: list[tuple[int, dict[str, Any]]]
    header: list[str] | None


def _tabular(rows: Iterator[list[Any]], errors: _Errors) -> _Source:
    header: list[str] | None = None
    records: list[tuple[int, dict[str, Any]]] = []
    for number, cells in enumerate(rows, start=1):
        if header is None:
            header = [_text(c) if not _blank(c) else "" for c in cells]
            continue
        if all(_blank(c) for c in cells):
            continue
        if len(records) >= MAX_ROWS:
            raise _FileRefused(
                "file_too_large",
                f"数据行超过{MAX_ROWS:,}行，请拆分文件后导入。",
                f"More than {MAX_ROWS:,} rows; split the file.",
            )
        values = {name: cells[i] for i, name in enumerate(header) if name and i < len(cells)}
        extra = [c for c in cells[len(header) :] if not _blank(c)]
        if extra:
            errors.add(
                number,
                "",
                "extra_cells",
                "该行的单元格多于表头的列数。",
                "The row has more cells than the header has columns.",
            )
        records.append((number, values))
    return _Source(rows=records, header=header or [])


def _json_source(content: bytes, errors: _Errors) -> _Source:
    items = _json_items(content)
    if len(items) > MAX_ROWS:
        raise _FileRefused(
            "file_too_large",
            f"记录超过{MAX_ROWS:,}条，请拆分文件后导入。",
            f"More than {MAX_ROWS:,} records; split the file.",
        )
    records: list[tuple[int, dict[str, Any]]] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.add(number, "", "not_object", "每条记录应为 JSON 对象。", "Each record must be a JSON object.")
            continue
        records.append((number, {str(k): v for k, v in item.items()}))
    return _Source(rows=records, header=None)


def _check_header(kind: str, header: list[str], errors: _Errors) -> dict[str, FieldSpec]:
    """Header name → field for the columns we know; missing required and doubled columns are row-1 errors."""
    mapping = header_map(kind)
    columns: dict[str, FieldSpec] = {}
    seen: dict[str, str] = {}
    for name in header:
        if not name:
            continue
        spec = mapping.get(_header_key(name))
        if spec is None:
            continue
        if spec.key in seen:
            errors.add(
                1,
                name,
                "duplicate_column",
                f"“{name}”与“{seen[spec.key]}”是同一字段，只能保留一列。",
                f"“{name}” and “{seen[spec.key]}” are the same field; keep one column.",
            )
            continue
        seen[spec.key] = name
        columns[name] = spec
    for spec in FIELDS[kind]:
        if spec.required and spec.key not in seen:
            errors.add(
                1,
                spec.label,
                "missing_column",
                f"缺少必填列“{spec.label}”。",
                f"Required column “{spec.label}” missing.",
            )
    if not any(k in seen for k in (*SUBJECT_FIELDS, "subject_id", "taxpayer_id")):
        label = _label(kind, "subject_name")
        errors.add(
            1,
            label,
            "missing_column",
            f"缺少主体列：须有“{label}”或“统一社会信用代码”。",
            f"No subject column: “{label}” or the USCC is required.",
        )
    return columns


def _label(kind: str, key: str) -> str:
    return next((s.label for s in FIELDS[kind] if s.key == key), key)


@dataclass
class _Row:
    number: int
    values: dict[str, Any]  # field key -> parsed value
    headers: dict[str, str]  # field key -> header or JSON key as written, for the cells this row fills
    raw: dict[str, Any]
    columns: dict[str, str]  # field key -> the file's header for it (csv, xlsx), for cells left blank

    def header(self, kind: str, key: str) -> str:
        return self.headers.get(key) or self.columns.get(key) or _label(kind, key)


def _parse_row(
    kind: str,
    number: int,
    cells: dict[str, Any],
    columns: dict[str, FieldSpec] | None,
    written: dict[str, str],
    errors: _Errors,
    today: datetime.date,
) -> _Row | None:
    mapping = header_map(kind) if columns is None else None
    row = _Row(number=number, values={}, headers={}, raw={}, columns=written)
    ok = True
    for name, value in cells.items():
        if _blank(value):
            continue
        row.raw[name] = _jsonable(value)
        spec = columns.get(name) if columns is not None else mapping.get(_header_key(name))  # type: ignore[union-attr]
        if spec is None:
            continue
        if spec.key in row.headers:
            errors.add(
                number,
                name,
                "duplicate_field",
                f"“{name}”与“{row.headers[spec.key]}”是同一字段，只能保留一个。",
                f"“{name}” and “{row.headers[spec.key]}” are the same field; keep one.",
            )
            ok = False
            continue
        row.headers[spec.key] = name
        try:
            _parse_value(spec, value, row, today)
        except _Refused as exc:
            errors.refused(number, name, exc)
            ok = False
    for spec in FIELDS[kind]:
        if spec.required and spec.key not in row.headers:
            name = row.header(kind, spec.key)
            errors.add(number, name, "required", f"“{name}”为必填项。", f"“{name}” is required.")
            ok = False
    if not any(k in row.headers for k in (*SUBJECT_FIELDS, "subject_id", "taxpayer_id")):
        label = row.header(kind, "subject_name")
        errors.add(
            number,
            label,
            "required_subject",
            f"须填写“{label}”或统一社会信用代码。",
            f"“{label}” or the USCC is required.",
        )
        ok = False
    return row if ok else None


def _parse_value(spec: FieldSpec, value: Any, row: _Row, today: datetime.date) -> None:
    how = spec.parse
    if how == "text":
        row.values[spec.key] = parse_text(value, spec.max_length)
    elif how == "date":
        row.values[spec.key] = parse_date(value)
    elif how == "uscc":
        row.values[spec.key] = parse_uscc(value)
    elif how == "rating":
        row.values[spec.key] = parse_rating(value)
    elif how == "year":
        row.values[spec.key] = parse_year(value, today=today)
    else:  # id_or_uscc, taxpayer_id: a USCC when it is one, else kept as another identifier
        uscc, other = parse_id_or_uscc(value) if how == "id_or_uscc" else parse_taxpayer_id(value)
        if uscc:
            row.values[f"{spec.key}_uscc"] = uscc
        row.values[spec.key] = other


def _record(kind: str, row: _Row, errors: _Errors) -> ParsedRecord | None:
    """Cross-field rules of one row and the record it makes (None when a rule is broken)."""
    v = row.values
    name = v.get("subject_name", "")
    uscc = v.get("subject_uscc", "")
    for other in ("subject_id_uscc", "taxpayer_id_uscc"):
        alt = v.get(other, "")
        if alt and uscc and alt != uscc:
            key = other.removesuffix("_uscc")
            errors.add(
                row.number,
                row.header(kind, key),
                "uscc_conflict",
                f"与“{row.header(kind, 'subject_uscc')}”中的统一社会信用代码不一致。",
                "Disagrees with the USCC given in another column.",
            )
            return None
        uscc = uscc or alt
    if not name and not uscc:
        label = row.header(kind, "subject_name")
        errors.add(
            row.number,
            label,
            "required_subject",
            f"须填写“{label}”或统一社会信用代码。",
            f"“{label}” or the USCC is required.",
        )
        return None
    if kind == RecordKind.TAX_RATING:
        year = int(v["rating_year"])
        listed_on = v.get("listed_on") or datetime.date(year + 1, *TAX_RATING_PUBLISHED)
    else:
        listed_on = v["listed_on"]
    removed_on = v.get("removed_on")
    expires_on = v.get("expires_on")
    for key, day in (("removed_on", removed_on), ("expires_on", expires_on)):
        if day is not None and day < listed_on:
            listed = row.header(kind, "listed_on")
            errors.add(
                row.number,
                row.header(kind, key),
                "date_order",
                f"不能早于“{listed}”（{listed_on.isoformat()}）。",
                f"May not be earlier than “{listed}” ({listed_on.isoformat()}).",
            )
            return None
    if kind == RecordKind.PENALTY and expires_on is None:
        expires_on = add_years(listed_on, PENALTY_PUBLICITY_YEARS)
    subject = _subject_key(uscc, name)
    reference = v.get("reference", "")
    authority = v.get("authority", "")
    if kind in (RecordKind.DISHONEST, RecordKind.PENALTY):
        key = _source_key(reference, subject)
    elif kind == RecordKind.TAX_RATING:
        key = _source_key(subject, str(v["rating_year"]))
    else:
        key = _source_key(subject, listed_on.isoformat(), authority)
    return ParsedRecord(
        row=row.number,
        source_key=key,
        subject_name=name[:255] or uscc,
        subject_uscc=uscc,
        reference=reference,
        authority=authority,
        category=v.get("category", ""),
        listed_on=listed_on,
        removed_on=removed_on,
        expires_on=expires_on,
        tax_rating=v.get("tax_rating", ""),
        rating_year=v.get("rating_year"),
        raw=row.raw,
    )


def parse_records(kind: str, file_name: str, content: bytes, *, today: datetime.date) -> ParseResult:
    """Read and validate a whole file of one record kind; `errors` lists every problem found, `records` the rows
    (complete only when there is no error)."""
    if kind not in FIELDS:
        raise ValueError(f"unknown record kind {kind!r}")
    errors = _Errors()
    result = ParseResult(kind=kind, file_format=FileFormat.CSV)
    try:
        if len(content) > MAX_BYTES:
            mb = MAX_BYTES // (1024 * 1024)
            raise _FileRefused("file_too_large", f"文件超过 {mb} MB。", f"The file exceeds {mb} MB.")
        if not content.strip():
            raise _FileRefused("empty_file", "文件为空。", "The file is empty.")
        result.file_format = file_format(file_name, content)
        if result.file_format == FileFormat.JSON:
            source = _json_source(content, errors)
        else:
            reader = _xlsx_rows(content) if result.file_format == FileFormat.XLSX else _csv_rows(content)
            source = _tabular(reader, errors)
    except _FileRefused as exc:
        errors.refused(0, "", exc)
        result.errors = errors.listed()
        return result
    columns = _check_header(kind, source.header, errors) if source.header is not None else None
    result.rows_total = len(source.rows) + sum(1 for e in errors.items if e.rule == "not_object")
    if not source.rows and not errors.items:
        errors.add(0, "", "no_rows", "文件中没有数据行。", "The file holds no record.")
    if errors.items and source.header is not None:
        result.errors = errors.listed()  # a broken header would fail every row the same way
        return result
    first_row: dict[str, int] = {}
    key_field = _KEY_FIELD[kind]
    written = {spec.key: name for name, spec in (columns or {}).items()}
    for number, cells in source.rows:
        row = _parse_row(kind, number, cells, columns, written, errors, today)
        if row is None:
            continue
        record = _record(kind, row, errors)
        if record is None:
            continue
        seen = first_row.get(record.source_key)
        if seen is not None:
            errors.add(
                number,
                row.header(kind, key_field),
                "duplicate",
                f"与第{seen}行是同一条记录（记录标识 {record.source_key}）。",
                f"The same record as row {seen} (key {record.source_key}).",
            )
            continue
        first_row[record.source_key] = number
        result.records.append(record)
    result.errors = errors.listed()
    return result


def fields_of(kind: str) -> Sequence[FieldSpec]:
    return FIELDS[kind]
