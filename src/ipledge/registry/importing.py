"""Bulk import of enterprises and IP rights from Excel (.xlsx) or CSV files (批量导入).

The whole file is read and validated before anything is written: every bad cell is reported at once, with its
row, column, value and rule, and nothing is stored. Only a clean file is written, in one transaction, row by row
through the registry services, so every created or changed row gets its own audit event; one summary event
``registry.import`` records the file name and the counts.

Upserts use natural keys: the USCC for enterprises and (kind, canonical number) for IP rights. A row that matches
a stored record changes only the fields it gives (a blank cell or an absent column leaves the stored value alone),
and the update services neither save nor audit a record whose values do not change, so re-importing the same file
writes nothing but the summary event.

Bounds: 20 MB per file, 50,000 data rows; the file's type, size and (for an .xlsx) zip-bomb safety are checked by
``ipledge.core.uploads`` before it is read; see ``MAX_*``.

Owners of an IP right already on the register are not changed by an import: a change of right holder is a
transfer (转让) that must be registered with the IP office, so a file that disagrees with the stored owners is
refused for that row (rule ``owners_changed``).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ipledge.core import exports, uploads
from ipledge.core.audit import record_event
from ipledge.core.choices import OrganisationKind
from ipledge.core.identifiers import VALIDATORS, validate_uscc
from ipledge.core.models import User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.core.synthetic import make_uscc

from .choices import CopyrightWorkKind, IPKind, LegalStatus
from .models import Enterprise, IPRight, IPRightOwner, Park, ParkMembership
from .rules import INDUSTRY_SECTIONS, size_class
from .services import (
    IP_NUMBER_VALIDATOR,
    IP_RIGHT_FIELDS,
    enterprise_create,
    enterprise_update,
    ip_right_create,
    ip_right_update,
    membership_add,
)

__all__ = [
    "KINDS",
    "MAX_BYTES",
    "MAX_ROWS",
    "MAX_UNCOMPRESSED_BYTES",
    "ImportResult",
    "RowError",
    "errors_workbook",
    "import_registry_file",
    "template_workbook",
]

KINDS = ("enterprises", "ip_rights")
MAX_BYTES = uploads.REGISTRY_IMPORT.max_bytes
MAX_ROWS = 50_000
MAX_UNCOMPRESSED_BYTES = uploads.REGISTRY_IMPORT.max_unpacked_bytes
#: Past this many errors we stop collecting more: the file needs fixing anyway and the report stays readable.
MAX_ERRORS = 10_000
_MAX_MONEY = Decimal(10) ** 15  # 1,000 trillion yuan: anything above is a typo


@dataclass(frozen=True)
class RowError:
    """One refused cell (or row, or file when ``row`` is 0). ``row`` is the spreadsheet row number (header = 1)."""

    row: int
    column: str
    value: str
    rule: str
    message: str


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _CellError(Exception):
    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


# ---------------------------------------------------------------------------
# Cell parsers: raw cell (str from CSV; str, int, float, bool, datetime from openpyxl) -> typed value
# ---------------------------------------------------------------------------

_SCIENTIFIC_RE = re.compile(r"^[0-9](\.[0-9]+)?E\+?[0-9]+$", re.IGNORECASE)
_DATE_RE = re.compile(
    r"^(?P<y>[0-9]{4})\s*[-/.年]\s*(?P<m>[0-9]{1,2})\s*[-/.月]\s*(?P<d>[0-9]{1,2})\s*日?"
    r"(?:[ T]00:00(?::00(?:\.0+)?)?)?$"
)
_COMPACT_DATE_RE = re.compile(r"^(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})$")
_LIST_SPLIT_RE = re.compile(r"[;；]")
_NICE_SPLIT_RE = re.compile(r"[,，;；、\s]+")

_TRUE = frozenset({"是", "true", "1", "y", "yes", "t", "√"})
_FALSE = frozenset({"否", "false", "0", "n", "no", "f", "×"})


def _display(value: Any) -> str:
    """A cell as shown in error reports."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _text(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip()


def _number_read_message(value: Any) -> str:
    return _("单元格被读取为数字（%(value)s），长代码已失去精度；请将该列设置为“文本”格式后重新填写。") % {
        "value": _display(value)
    }


def parse_str(value: Any, *, max_length: int = 255) -> str:
    text = str(value).strip() if not isinstance(value, float) else _display(value)
    if len(text) > max_length:
        raise _CellError(
            "max_length", _("长度不能超过%(n)s个字符（实际%(len)s个）。") % {"n": max_length, "len": len(text)}
        )
    return text


def parse_uscc(value: Any) -> str:
    if isinstance(value, bool | int | float):
        raise _CellError("format", _number_read_message(value))
    text = str(value).strip()
    if _SCIENTIFIC_RE.match(_text(text)):
        raise _CellError("format", _number_read_message(text))
    result = validate_uscc(text)
    if not result.valid:
        raise _CellError(result.rule or "invalid", result.message_zh or _("统一社会信用代码无效。"))
    assert result.canonical is not None
    return result.canonical


def _identifier_text(value: Any) -> str:
    """An identifier cell as text; numbers Excel stored exactly (≤ 15 significant digits) are accepted."""
    if isinstance(value, bool):
        raise _CellError("format", _("号码不能是逻辑值。"))
    if isinstance(value, int):
        if len(str(abs(value))) > 15:
            raise _CellError("format", _number_read_message(value))
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if not math.isfinite(value) or "e" in text.lower() or len(text.replace(".", "").lstrip("-0")) > 15:
            raise _CellError("format", _number_read_message(value))
        return text
    text = str(value).strip()
    if _SCIENTIFIC_RE.match(_text(text)):
        raise _CellError("format", _number_read_message(text))
    return text


def parse_date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, bool | float):
        raise _CellError("date", _("日期格式无效，应为2021-06-08、2021/6/8或2021年6月8日。"))
    text = _text(value)
    match = _DATE_RE.match(text) or _COMPACT_DATE_RE.match(text)
    if not match:
        raise _CellError("date", _("日期格式无效，应为2021-06-08、2021/6/8或2021年6月8日。"))
    try:
        parsed = datetime.date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError as exc:
        raise _CellError("date", _("日期不存在。")) from exc
    if not 1900 <= parsed.year <= 2100:
        raise _CellError("date", _("日期年份应在1900—2100之间。"))
    return parsed


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = _text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _CellError("boolean", _("应填写“是”或“否”（也可为true/false、1/0、Y/N）。"))


def parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _CellError("integer", _("应为非负整数。"))
    if isinstance(value, float):
        if not value.is_integer():
            raise _CellError("integer", _("应为非负整数。"))
        number = int(value)
    elif isinstance(value, int):
        number = value
    else:
        text = _text(value).replace(",", "")
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            raise _CellError("integer", _("应为非负整数。"))
        number = int(text)
    if number < 0:
        raise _CellError("min_value", _("不能为负数。"))
    if number > 2_147_483_647:
        raise _CellError("max_value", _("数值过大。"))
    return number


def parse_decimal(value: Any, *, what: str) -> Decimal:
    """A decimal from a cell without passing through float arithmetic; more than two places is refused."""
    if isinstance(value, bool):
        raise _CellError("decimal", _("%(what)s应为数字。") % {"what": what})
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _CellError("decimal", _("%(what)s应为数字。") % {"what": what})
        # repr() is the shortest string that reads back as the same float: 1234.5 stays 1234.5, never
        # 1234.4999999; a value that needs more digits than that (0.1 + 0.2) is refused below.
        number = Decimal(repr(value))
    else:
        text = _text(value).replace(",", "").replace("¥", "").removesuffix("元").strip()
        try:
            number = Decimal(text)
        except InvalidOperation as exc:
            raise _CellError("decimal", _("%(what)s应为数字。") % {"what": what}) from exc
        if not number.is_finite():
            raise _CellError("decimal", _("%(what)s应为数字。") % {"what": what})
    if number != number.quantize(Decimal("0.01"), rounding="ROUND_DOWN"):
        raise _CellError("decimal_places", _("%(what)s最多保留两位小数。") % {"what": what})
    if number < 0:
        raise _CellError("min_value", _("%(what)s不能为负数。") % {"what": what})
    return number


def parse_money(value: Any) -> Money:
    number = parse_decimal(value, what=_("金额"))
    if number >= _MAX_MONEY:
        raise _CellError("max_value", _("金额过大，请以元为单位填写。"))
    return Money(number)


def parse_section(value: Any) -> str:
    text = _text(value).upper()
    if text in INDUSTRY_SECTIONS:
        return text
    by_label = {label: code for code, label in INDUSTRY_SECTIONS.items()}
    if _text(value) in by_label:
        return by_label[_text(value)]
    raise _CellError("industry_section", _("行业门类应为GB/T 4754-2017门类字母A—T。"))


def parse_division(value: Any) -> str:
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise _CellError("industry_division", _("行业大类应为2—4位数字代码（GB/T 4754-2017）。"))
    if isinstance(value, int | float):
        # A numeric cell lost its leading zero: divisions 01-09 are the only two-digit codes below 10.
        number = int(value)
        text = f"{number:02d}" if number < 10 else str(number)
    else:
        text = _text(value)
    if not (text.isascii() and text.isdigit() and 2 <= len(text) <= 4):
        raise _CellError("industry_division", _("行业大类应为2—4位数字代码（GB/T 4754-2017）。"))
    return text


_KIND_ALIASES: dict[str, str] = {
    **{k: k for k in IPKind.values},
    "专利": IPKind.PATENT,
    "发明": IPKind.PATENT,
    "发明专利": IPKind.PATENT,
    "实用新型": IPKind.PATENT,
    "实用新型专利": IPKind.PATENT,
    "外观设计": IPKind.PATENT,
    "外观设计专利": IPKind.PATENT,
    "商标": IPKind.TRADEMARK,
    "注册商标": IPKind.TRADEMARK,
    "著作权": IPKind.COPYRIGHT,
    "版权": IPKind.COPYRIGHT,
    "软件著作权": IPKind.COPYRIGHT,
    "软著": IPKind.COPYRIGHT,
    "计算机软件著作权": IPKind.COPYRIGHT,
    "作品著作权": IPKind.COPYRIGHT,
    "集成电路布图设计": IPKind.IC_LAYOUT,
    "布图设计": IPKind.IC_LAYOUT,
    "ic_layout_design": IPKind.IC_LAYOUT,
}

_STATUS_ALIASES: dict[str, str] = {
    **{k: k for k in LegalStatus.values},
    "审查中": LegalStatus.PENDING,
    "在审": LegalStatus.PENDING,
    "实质审查": LegalStatus.PENDING,
    "有效": LegalStatus.VALID,
    "授权": LegalStatus.VALID,
    "已授权": LegalStatus.VALID,
    "注册": LegalStatus.VALID,
    "未缴年费终止": LegalStatus.LAPSED,
    "未缴年费专利权终止": LegalStatus.LAPSED,
    "期限届满": LegalStatus.EXPIRED,
    "届满": LegalStatus.EXPIRED,
    "有效期届满": LegalStatus.EXPIRED,
    "被宣告无效": LegalStatus.INVALIDATED,
    "无效": LegalStatus.INVALIDATED,
    "全部无效": LegalStatus.INVALIDATED,
    "放弃": LegalStatus.ABANDONED,
    "撤回": LegalStatus.ABANDONED,
    "撤销": LegalStatus.REVOKED,
    "注销": LegalStatus.REVOKED,
}

_WORK_KIND_ALIASES: dict[str, str] = {
    **{k: k for k in CopyrightWorkKind.values},
    "计算机软件": CopyrightWorkKind.SOFTWARE,
    "软件": CopyrightWorkKind.SOFTWARE,
    "作品": CopyrightWorkKind.WORK,
}


def _choice(aliases: dict[str, str], rule: str, message: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value)
        found = aliases.get(text) or aliases.get(text.lower())
        if found is None:
            raise _CellError(rule, _(message))
        return found

    return parse


parse_kind = _choice(_KIND_ALIASES, "ip_kind", "类型应为专利、商标、著作权或集成电路布图设计。")
parse_legal_status = _choice(
    _STATUS_ALIASES, "legal_status", "法律状态应为审查中、有效、未缴年费终止、期限届满、被宣告无效、放弃或撤销。"
)
parse_work_kind = _choice(_WORK_KIND_ALIASES, "work_kind", "作品类型应为计算机软件或作品。")


def parse_nice_classes(value: Any) -> list[int]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        parts = [str(int(value))] if float(value).is_integer() else ["x"]
    else:
        parts = [p for p in _NICE_SPLIT_RE.split(_text(value)) if p]
    classes: list[int] = []
    for part in parts:
        if not (part.isdigit() and 1 <= int(part) <= 45):
            raise _CellError("nice_class", _("尼斯分类应为1—45的类号，多个以逗号分隔。"))
        if int(part) not in classes:
            classes.append(int(part))
    return sorted(classes)


def _split_list(value: Any) -> list[str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [_display(value)]
    return [p.strip() for p in _LIST_SPLIT_RE.split(str(value)) if p.strip()]


def parse_owner_usccs(value: Any) -> list[str]:
    if isinstance(value, bool | int | float):
        raise _CellError("format", _number_read_message(value))
    codes: list[str] = []
    for part in _split_list(value):
        try:
            code = parse_uscc(part)
        except _CellError as exc:
            raise _CellError(exc.rule, f"{part}：{exc.message}") from exc
        if code in codes:
            raise _CellError("duplicate_owner", _("同一企业不能重复登记为权利人（%(code)s）。") % {"code": code})
        codes.append(code)
    return codes


def parse_shares(value: Any) -> list[Decimal]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        parts: list[Any] = [value]
    else:
        parts = _split_list(value)
    shares = []
    for part in parts:
        share = parse_decimal(part.removesuffix("%") if isinstance(part, str) else part, what=_("份额"))
        if not Decimal(0) < share <= Decimal(100):
            raise _CellError("share_range", _("份额应大于0且不超过100。"))
        shares.append(share)
    return shares


def parse_holders(value: Any) -> list[str]:
    names = _split_list(value)
    for name in names:
        if len(name) > 128:
            raise _CellError("max_length", _("权利人名称不能超过128个字符。"))
    return names


# ---------------------------------------------------------------------------
# Columns
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # Chinese header used in templates and reports
    parse: Callable[[Any], Any]
    aliases: tuple[str, ...] = ()
    required: bool = False
    example: str = ""
    note: str = ""
    text: bool = False  # formatted as text in the template so Excel keeps leading zeros and long codes


ENTERPRISE_COLUMNS: tuple[Column, ...] = (
    Column(
        "uscc",
        "统一社会信用代码",
        parse_uscc,
        ("信用代码", "社会信用代码"),
        True,
        make_uscc(region_code="320115", serial=31415926),
        "18位，设为文本格式",
        text=True,
    ),
    Column(
        "name",
        "企业名称",
        lambda v: parse_str(v, max_length=128),
        ("名称", "enterprise_name"),
        True,
        "南京光谱材料有限公司",
    ),
    Column("industry_section", "行业门类", parse_section, ("门类", "section"), True, "C", "GB/T 4754-2017门类字母A—T"),
    Column(
        "industry_division",
        "行业大类",
        parse_division,
        ("行业大类代码", "大类", "division"),
        False,
        "39",
        "2—4位代码；门类F、G、I、K划型需要",
        text=True,
    ),
    Column("employees", "从业人员", parse_int, ("从业人员数", "职工人数", "人数"), False, "120", "人"),
    Column("revenue", "营业收入（元）", parse_money, ("营业收入", "营收"), False, "35000000.00", "元，最多两位小数"),
    Column(
        "total_assets", "资产总额（元）", parse_money, ("资产总额", "总资产"), False, "50000000", "元，最多两位小数"
    ),
    Column("established_on", "成立日期", parse_date, ("成立时间",), False, "2015-03-18"),
    Column("is_high_tech", "高新技术企业", parse_bool, ("高企", "high_tech"), False, "是", "是/否"),
    Column(
        "is_specialised",
        "专精特新",
        parse_bool,
        ("专精特新企业", "specialised", "is_specialized"),
        False,
        "否",
        "是/否",
    ),
    Column("joined_on", "入园日期", parse_date, ("入园时间",), False, "2022-01-01", "导入到园区时使用，默认今天"),
)

IP_RIGHT_COLUMNS: tuple[Column, ...] = (
    Column(
        "kind",
        "类型",
        parse_kind,
        ("知识产权类型", "权利类型", "ip_kind"),
        True,
        "专利",
        "专利/商标/著作权/集成电路布图设计",
    ),
    Column(
        "number",
        "号码",
        _identifier_text,
        ("申请号", "注册号", "登记号", "申请号/注册号/登记号"),
        True,
        "201710601862.3",
        "专利为带校验位的申请号",
        text=True,
    ),
    Column(
        "title",
        "名称",
        lambda v: parse_str(v, max_length=255),
        ("专利名称", "商标名称", "作品名称"),
        True,
        "一种低功耗图像传感芯片",
    ),
    Column("filing_date", "申请日", parse_date, ("申请日期",), False, "2017-07-26"),
    Column(
        "grant_date", "授权日", parse_date, ("授权日期", "注册日", "登记日", "授权/注册/登记日"), False, "2019-04-12"
    ),
    Column("valid_from", "有效期起", parse_date, ("有效期开始",), False, "", "专利自动取授权日"),
    Column("term_end", "有效期止", parse_date, ("有效期至", "到期日"), False, "", "专利按类型和申请日自动计算"),
    Column("legal_status", "法律状态", parse_legal_status, ("状态", "status"), False, "有效"),
    Column(
        "main_ipc",
        "主分类号",
        lambda v: parse_str(v, max_length=32),
        ("IPC", "主分类号（IPC）", "ipc"),
        False,
        "H01L27/146",
        text=True,
    ),
    Column("claims_count", "权利要求数", parse_int, ("权利要求项数",), False, "10"),
    Column(
        "nice_classes",
        "尼斯分类",
        parse_nice_classes,
        ("商标类别", "类别", "nice"),
        False,
        "",
        "商标类号，多个以逗号分隔",
        text=True,
    ),
    Column(
        "owner_uscc",
        "权利人统一社会信用代码",
        parse_owner_usccs,
        ("权利人信用代码", "owners", "owner"),
        True,
        make_uscc(region_code="320115", serial=31415926),
        "多个以分号分隔；须为已登记企业",
        text=True,
    ),
    Column(
        "shares",
        "份额",
        parse_shares,
        ("份额（%）", "份额(%)", "share"),
        False,
        "",
        "百分比，按权利人顺序以分号分隔（先企业后其他权利人），默认均分",
        text=True,
    ),
    Column(
        "other_holders",
        "其他权利人",
        parse_holders,
        ("非平台权利人", "holders"),
        False,
        "",
        "未在平台登记的权利人名称，多个以分号分隔",
    ),
    Column("annual_fee_paid_until", "年费缴至", parse_date, (), False, ""),
    Column("forward_citations", "被引次数", parse_int, (), False, ""),
    Column("backward_citations", "引用次数", parse_int, (), False, ""),
    Column("family_size", "同族数量", parse_int, (), False, ""),
    Column("renewal_count", "续展次数", parse_int, (), False, ""),
    Column("work_kind", "作品类型", parse_work_kind, (), False, "", "著作权：计算机软件/作品，默认按登记号判断"),
    Column("created_on", "创作完成日", parse_date, ("设计完成日", "创作/设计完成日"), False, ""),
    Column("first_published_on", "首次发表日", parse_date, ("首次发表/商业利用日", "首次商业利用日"), False, ""),
)

COLUMNS: dict[str, tuple[Column, ...]] = {"enterprises": ENTERPRISE_COLUMNS, "ip_rights": IP_RIGHT_COLUMNS}
_IGNORED_HEADERS = frozenset({"序号", "no", "no.", "#", "备注", "remark", "remarks", "note", "notes"})


def _header_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower().rstrip("*").strip()
    return re.sub(r"[\s_]+", "", text)


def _header_map(columns: Sequence[Column]) -> dict[str, Column]:
    mapping: dict[str, Column] = {}
    for column in columns:
        for name in (column.key, column.label, *column.aliases):
            mapping[_header_key(name)] = column
    return mapping


# ---------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------


class _FileError(Exception):
    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def _checked(filename: str, content: bytes, policy: uploads.Policy) -> uploads.CheckedUpload:
    """Size, type by content and archive safety (``ipledge.core.uploads``) before any reader sees the bytes."""
    try:
        return uploads.check(content, filename=filename, policy=policy)
    except uploads.UploadRefused as exc:
        raise _FileError(exc.rule, exc.text) from exc


def _xlsx_rows(content: bytes) -> Iterator[tuple[Any, ...]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for malformed packages
        raise _FileError("file_format", _("无法读取工作簿：%(error)s") % {"error": exc}) from exc
    try:
        if not workbook.worksheets:
            raise _FileError("file_format", _("工作簿中没有工作表。"))
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()


def _csv_rows(text: str) -> Iterator[tuple[Any, ...]]:
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            yield tuple(row)
    except csv.Error as exc:
        raise _FileError("file_format", _("CSV格式错误：%(error)s") % {"error": exc}) from exc


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_table(
    filename: str, content: bytes, policy: uploads.Policy | None = None
) -> tuple[list[Any], list[tuple[int, tuple[Any, ...]]]]:
    """Header cells and the non-empty data rows with their spreadsheet row numbers."""
    if policy is None:  # the module's bounds, read at call time
        policy = dataclasses.replace(
            uploads.REGISTRY_IMPORT, max_bytes=MAX_BYTES, max_unpacked_bytes=MAX_UNCOMPRESSED_BYTES
        )
    checked = _checked(filename, content, policy)
    rows_iter = _xlsx_rows(content) if checked.kind == uploads.XLSX else _csv_rows(checked.text or "")
    header: list[Any] | None = None
    rows: list[tuple[int, tuple[Any, ...]]] = []
    for number, row in enumerate(rows_iter, start=1):
        if header is None:
            header = list(row)
            continue
        if all(_blank(cell) for cell in row):
            continue
        if len(rows) >= MAX_ROWS:
            raise _FileError("file_too_large", _("数据行超过%(n)s行，请拆分文件后导入。") % {"n": f"{MAX_ROWS:,}"})
        rows.append((number, row))
    return header or [], rows


# ---------------------------------------------------------------------------
# Validation of rows
# ---------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    values: dict[str, Any]  # parsed values of the non-blank cells
    raw: dict[str, Any]
    headers: dict[str, str]  # column key -> header as written in the file

    def header(self, key: str) -> str:
        return self.headers.get(key, key)


class _Collector:
    def __init__(self) -> None:
        self.errors: list[RowError] = []

    def add(self, row: int, column: str, value: Any, rule: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row=row, column=column, value=_display(value), rule=rule, message=message))
        elif len(self.errors) == MAX_ERRORS:
            self.errors.append(
                RowError(
                    row=0,
                    column="",
                    value="",
                    rule="too_many_errors",
                    message=_("错误过多，仅列出前%(n)s条。") % {"n": MAX_ERRORS},
                )
            )

    def row(self, row: _Row, key: str, rule: str, message: str) -> None:
        self.add(row.number, row.header(key), row.raw.get(key), rule, message)


def _parse_rows(
    header: list[Any], rows: list[tuple[int, tuple[Any, ...]]], columns: Sequence[Column], errors: _Collector
) -> list[_Row]:
    mapping = _header_map(columns)
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    for index, cell in enumerate(header):
        if _blank(cell):
            continue
        written = str(cell).strip()
        key = _header_key(written)
        if key in _IGNORED_HEADERS:
            continue
        column = mapping.get(key)
        if column is None:
            errors.add(1, written, written, "unknown_column", _("无法识别的列名“%(name)s”。") % {"name": written})
        elif column.key in positions:
            errors.add(1, written, written, "duplicate_column", _("列“%(name)s”重复出现。") % {"name": column.label})
        else:
            positions[column.key] = index
            headers[column.key] = written
    missing = [c.label for c in columns if c.required and c.key not in positions]
    if missing:
        errors.add(
            1, "、".join(missing), "", "missing_column", _("缺少必填列：%(names)s。") % {"names": "、".join(missing)}
        )
    if errors.errors:
        return []
    by_key = {c.key: c for c in columns}
    parsed: list[_Row] = []
    for number, cells in rows:
        row = _Row(number=number, values={}, raw={}, headers=headers)
        for key, index in positions.items():
            value = cells[index] if index < len(cells) else None
            if _blank(value):
                continue
            row.raw[key] = value
            try:
                row.values[key] = by_key[key].parse(value)
            except _CellError as exc:
                errors.row(row, key, exc.rule, exc.message)
        for column in columns:
            if column.required and column.key not in row.raw:
                errors.add(
                    number, row.header(column.key), "", "required", _("“%(name)s”为必填项。") % {"name": column.label}
                )
        parsed.append(row)
    return parsed


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check_date_order(row: _Row, errors: _Collector, earlier: str, later: str, message: str) -> None:
    first, second = row.values.get(earlier), row.values.get(later)
    if first is not None and second is not None and second < first:
        errors.row(row, later, "date_order", message)


# ---------------------------------------------------------------------------
# Enterprises
# ---------------------------------------------------------------------------

_ENTERPRISE_DATA_KEYS = (
    "name",
    "industry_section",
    "industry_division",
    "established_on",
    "employees",
    "revenue",
    "total_assets",
    "is_high_tech",
    "is_specialised",
)


def _differs(instance: Any, data: dict[str, Any]) -> bool:
    """Whether any given value differs from the stored one (cheap pre-check; the update service decides exactly)."""
    return any(getattr(instance, name) != value for name, value in data.items())


def _enterprise_permission(user: User, park: Park | None) -> None:
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        raise PermissionDenied(_("无权导入企业。"))
    if not scope.is_platform and Enterprise.scope_q(scope, Action.ADD) is None:
        raise PermissionDenied(_("无权导入企业。"))
    if park is not None and not Park.objects.restrict(user, Action.CHANGE).filter(pk=park.pk).exists():
        raise PermissionDenied(_("无权向该园区导入企业。"))
    if park is None and scope.kind == OrganisationKind.PARK_ADMIN:
        raise PermissionDenied(_("园区管理机构导入企业时必须选择本园区。"))


def _validate_enterprises(rows: list[_Row], user: User, park: Park | None, errors: _Collector) -> dict[str, Enterprise]:
    scope = scope_for(user)
    assert scope is not None
    first_row: dict[str, int] = {}
    for row in rows:
        uscc = row.values.get("uscc")
        if uscc is not None:
            if uscc in first_row:
                errors.row(
                    row,
                    "uscc",
                    "duplicate_in_file",
                    _("与第%(row)s行的统一社会信用代码重复。") % {"row": first_row[uscc]},
                )
            else:
                first_row[uscc] = row.number
        section = row.values.get("industry_section")
        division = row.values.get("industry_division")
        if section is not None and division is not None:
            try:
                size_class(
                    industry_section=section,
                    industry_division=division,
                    employees=None,
                    revenue_wan=None,
                    assets_wan=None,
                )
            except ValueError:
                errors.row(
                    row,
                    "industry_division",
                    "industry_division",
                    _("行业大类%(division)s不属于门类%(section)s。") % {"division": division, "section": section},
                )
        _check_date_order(row, errors, "established_on", "joined_on", _("入园日期不能早于成立日期。"))

    codes = list(first_row)
    existing: dict[str, Enterprise] = {}
    changeable: set[str] = set()
    for chunk in _chunks(codes):
        existing.update({e.uscc: e for e in Enterprise.objects.filter(uscc__in=chunk)})
        changeable.update(
            Enterprise.objects.restrict(user, Action.CHANGE).filter(uscc__in=chunk).values_list("uscc", flat=True)
        )
    for row in rows:
        uscc = row.values.get("uscc")
        if uscc is None or first_row.get(uscc) != row.number:
            continue
        if uscc in existing:
            if uscc not in changeable:
                errors.row(row, "uscc", "not_permitted", _("无权修改该企业，或该企业已由其他机构登记。"))
            continue
        if not scope.is_platform and park is None:
            # An IP office registering outside a park: the enterprise must be in its jurisdiction, or it would
            # disappear from its own lists the moment it was created.
            prefix = scope.region_prefix
            if prefix is None or not uscc[2:8].startswith(prefix):
                errors.row(row, "uscc", "not_permitted", _("该企业登记地不在本机构辖区内，请选择园区导入。"))
    return existing


def _import_enterprises(
    rows: list[_Row],
    user: User,
    park: Park | None,
    existing: dict[str, Enterprise],
    result: ImportResult,
    errors: _Collector,
) -> None:
    members: set[int] = set()
    if park is not None:
        ids = [e.pk for e in existing.values()]
        for chunk in _chunks(ids):
            members.update(
                ParkMembership.objects.filter(park=park, enterprise_id__in=chunk, left_on__isnull=True).values_list(
                    "enterprise_id", flat=True
                )
            )
    today = timezone.localdate()
    for row in rows:
        data = {k: row.values[k] for k in _ENTERPRISE_DATA_KEYS if k in row.values}
        uscc = row.values["uscc"]
        try:
            enterprise = existing.get(uscc)
            if enterprise is None:
                enterprise_create(
                    uscc=uscc, acting_user=user, park=park, joined_on=row.values.get("joined_on") or today, **data
                )
                result.created += 1
                continue
            changed = False
            if _differs(enterprise, data):
                before = enterprise.updated_at
                enterprise_update(enterprise=enterprise, data=data, acting_user=user)
                changed = enterprise.updated_at != before  # the service saves only when a value really changed
            if park is not None and enterprise.pk not in members:
                membership_add(
                    enterprise=enterprise, park=park, joined_on=row.values.get("joined_on") or today, acting_user=user
                )
                changed = True
            if changed:
                result.updated += 1
            else:
                result.unchanged += 1
        except ValidationError as exc:
            _report_validation_error(row, exc, errors)
        except IntegrityError:
            errors.row(row, "uscc", "conflict", _("写入时与其他修改冲突，请重新导入。"))


# ---------------------------------------------------------------------------
# IP rights
# ---------------------------------------------------------------------------


def _ip_permission(user: User) -> None:
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        raise PermissionDenied(_("无权导入知识产权。"))
    if not scope.is_platform and IPRight.scope_q(scope, Action.ADD) is None:
        raise PermissionDenied(_("无权导入知识产权。"))


def _equal_shares(count: int) -> list[Decimal]:
    """100% split in hundredths so the parts add up exactly (the first holders take the odd hundredths)."""
    base, extra = divmod(10000, count)
    return [Decimal(base + (1 if i < extra else 0)) / 100 for i in range(count)]


@dataclass
class _IPPlan:
    key: tuple[str, str]
    owners: list[dict[str, Any]]
    existing: IPRight | None = None


def _validate_ip_rights(rows: list[_Row], user: User, errors: _Collector) -> dict[int, _IPPlan]:
    plans: dict[int, _IPPlan] = {}
    first_row: dict[tuple[str, str], int] = {}
    for row in rows:
        kind = row.values.get("kind")
        raw_number = row.values.get("number")
        if kind is not None and raw_number is not None:
            validation = VALIDATORS[IP_NUMBER_VALIDATOR[IPKind(kind)]](raw_number)
            if not validation.valid:
                errors.row(row, "number", validation.rule or "invalid", validation.message_zh or _("号码无效。"))
            else:
                assert validation.canonical is not None
                key = (kind, validation.canonical)
                if key in first_row:
                    errors.row(
                        row, "number", "duplicate_in_file", _("与第%(row)s行的知识产权重复。") % {"row": first_row[key]}
                    )
                else:
                    first_row[key] = row.number
                    plans[row.number] = _IPPlan(key=key, owners=[])
        if kind is not None and kind != IPKind.TRADEMARK and "nice_classes" in row.values:
            errors.row(row, "nice_classes", "not_applicable", _("只有商标填写尼斯分类。"))
        if kind is not None and kind != IPKind.COPYRIGHT and "work_kind" in row.values:
            errors.row(row, "work_kind", "not_applicable", _("只有著作权填写作品类型。"))
        _check_date_order(row, errors, "filing_date", "grant_date", _("授权日不能早于申请日。"))
        if kind != IPKind.PATENT:  # patents' term is computed from the filing date
            _check_date_order(row, errors, "valid_from", "term_end", _("有效期止不能早于有效期起。"))
        usccs = row.values.get("owner_uscc", [])
        holders = row.values.get("other_holders", [])
        shares = row.values.get("shares")
        if shares is not None:
            if len(shares) != len(usccs) + len(holders):
                errors.row(
                    row,
                    "shares",
                    "shares_count",
                    _("份额个数（%(n)s）应与权利人个数（%(m)s）一致。")
                    % {"n": len(shares), "m": len(usccs) + len(holders)},
                )
            elif sum(shares, Decimal(0)) > 100:
                errors.row(
                    row,
                    "shares",
                    "share_total",
                    _("权利人份额合计不能超过100%%（当前%(total)s%%）。") % {"total": sum(shares, Decimal(0))},
                )

    all_owner_codes = sorted({c for row in rows for c in row.values.get("owner_uscc", [])})
    owners: dict[str, Enterprise] = {}
    for chunk in _chunks(all_owner_codes):
        owners.update({e.uscc: e for e in Enterprise.objects.restrict(user, Action.CHANGE).filter(uscc__in=chunk)})

    keys = list(first_row)
    existing: dict[tuple[str, str], IPRight] = {}
    changeable: set[int] = set()
    for chunk in _chunks(keys):
        numbers = [number for _kind, number in chunk]
        for right in IPRight.objects.filter(number__in=numbers):
            existing[(right.kind, right.number)] = right
        ids = [existing[k].pk for k in chunk if k in existing]
        changeable.update(IPRight.objects.restrict(user, Action.CHANGE).filter(pk__in=ids).values_list("pk", flat=True))
    stored_owners: dict[int, set[tuple[int | None, str, Decimal]]] = {}
    right_ids = [r.pk for r in existing.values()]
    for chunk in _chunks(right_ids):
        for owner in IPRightOwner.objects.filter(right_id__in=chunk):
            stored_owners.setdefault(owner.right_id, set()).add(
                (owner.enterprise_id, owner.holder_name if owner.enterprise_id is None else "", owner.share)
            )

    for row in rows:
        usccs = row.values.get("owner_uscc", [])
        unknown = [c for c in usccs if c not in owners]
        if unknown:
            errors.row(
                row,
                "owner_uscc",
                "unknown_owner",
                _("权利人%(codes)s未在平台登记，或无权操作。") % {"codes": "、".join(unknown)},
            )
        plan = plans.get(row.number)
        if plan is None or unknown or not usccs:
            continue
        holders = row.values.get("other_holders", [])
        shares = row.values.get("shares") or _equal_shares(len(usccs) + len(holders))
        if len(shares) != len(usccs) + len(holders):
            continue
        plan.owners = [{"enterprise": owners[c], "share": s} for c, s in zip(usccs, shares[: len(usccs)], strict=True)]
        plan.owners += [{"holder_name": h, "share": s} for h, s in zip(holders, shares[len(usccs) :], strict=True)]
        right = existing.get(plan.key)
        if right is not None:
            plan.existing = right
            if right.pk not in changeable:
                errors.row(row, "number", "not_permitted", _("无权修改该知识产权，或其已由其他机构登记。"))
                continue
            wanted = {
                (o["enterprise"].pk, "", Decimal(o["share"]).quantize(Decimal("0.01")))
                if "enterprise" in o
                else (None, o["holder_name"], Decimal(o["share"]).quantize(Decimal("0.01")))
                for o in plan.owners
            }
            if wanted != stored_owners.get(right.pk, set()):
                errors.row(
                    row,
                    "owner_uscc",
                    "owners_changed",
                    _("已登记知识产权的权利人或份额与文件不一致；权利人变更须办理转让登记，不能通过导入修改。"),
                )
    return plans


def _ip_data(row: _Row) -> dict[str, Any]:
    data = {k: row.values[k] for k in IP_RIGHT_FIELDS if k in row.values}
    kind = row.values["kind"]
    if kind == IPKind.COPYRIGHT and "work_kind" not in data:
        number = str(row.values["number"]).upper()
        data["work_kind"] = CopyrightWorkKind.SOFTWARE if "SR" in number else CopyrightWorkKind.WORK
    return data


def _import_ip_rights(
    rows: list[_Row], user: User, plans: dict[int, _IPPlan], result: ImportResult, errors: _Collector
) -> None:
    for row in rows:
        plan = plans[row.number]
        data = _ip_data(row)
        try:
            if plan.existing is None:
                title = data.pop("title")
                ip_right_create(
                    kind=plan.key[0], number=plan.key[1], title=title, owners=plan.owners, acting_user=user, **data
                )
                result.created += 1
                continue
            right = plan.existing
            before = right.updated_at
            if _differs(right, data):
                ip_right_update(right=right, data=data, acting_user=user)
            if right.updated_at != before:
                result.updated += 1
            else:
                result.unchanged += 1
        except ValidationError as exc:
            _report_validation_error(row, exc, errors)
        except IntegrityError:
            errors.row(row, "number", "conflict", _("写入时与其他修改冲突，请重新导入。"))


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------

_FIELD_TO_COLUMN = {
    "owners": "owner_uscc",
    "registration_region": "uscc",
    "patent_type": "number",
    "size_class": "industry_section",
}


def _report_validation_error(row: _Row, exc: ValidationError, errors: _Collector) -> None:
    """A model or service refusal during the write phase, reported against the closest column."""
    items = exc.error_dict.items() if hasattr(exc, "error_dict") else [(NON_FIELD_ERRORS, exc.error_list)]
    for name, field_errors in items:
        for error in field_errors:
            message = str(error.message % error.params if error.params else error.message)
            if name == NON_FIELD_ERRORS:  # a check or unique constraint across fields
                code = error.code if error.code and error.code != "invalid" else "constraint"
                errors.add(row.number, "", "", code, message)
            else:
                errors.row(row, _FIELD_TO_COLUMN.get(name, name), error.code or "invalid", message)


def _resolve_park(park: Park | int | None) -> Park | None:
    if park is None or isinstance(park, Park):
        return park
    found = Park.objects.filter(pk=park).first()
    if found is None:
        raise PermissionDenied(_("无权向该园区导入企业。"))
    return found


def import_registry_file(
    *, kind: str, filename: str, content: bytes, acting_user: User, park: Park | int | None = None
) -> ImportResult:
    """Validate a whole file of enterprises or IP rights, then write all of it or nothing.

    Raises PermissionDenied when the user may not import this kind at all (or into this park); row-level refusals
    (an enterprise outside the user's reach, an unknown owner) are errors in the result instead.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    result = ImportResult(kind=kind)
    park_obj = _resolve_park(park)
    if kind == "enterprises":
        _enterprise_permission(acting_user, park_obj)
    else:
        _ip_permission(acting_user)

    errors = _Collector()
    try:
        header, raw_rows = _read_table(filename, content)
    except _FileError as exc:
        result.errors.append(RowError(row=0, column="", value=filename, rule=exc.rule, message=exc.message))
        return result
    if not header:
        result.errors.append(RowError(row=1, column="", value="", rule="missing_column", message=_("文件没有表头行。")))
        return result
    result.rows = len(raw_rows)
    rows = _parse_rows(header, raw_rows, COLUMNS[kind], errors)
    if any(e.row == 1 for e in errors.errors):  # the header is wrong: the cells cannot be read
        result.errors = sorted(errors.errors, key=lambda e: e.row)
        return result
    # Cross-row and database checks run even when some cells were refused, so one pass reports everything.

    existing_enterprises: dict[str, Enterprise] = {}
    ip_plans: dict[int, _IPPlan] = {}
    if kind == "enterprises":
        existing_enterprises = _validate_enterprises(rows, acting_user, park_obj, errors)
    else:
        ip_plans = _validate_ip_rights(rows, acting_user, errors)
    if errors.errors:
        result.errors = sorted(errors.errors, key=lambda e: e.row)
        return result

    with transaction.atomic():
        if kind == "enterprises":
            _import_enterprises(rows, acting_user, park_obj, existing_enterprises, result, errors)
        else:
            _import_ip_rights(rows, acting_user, ip_plans, result, errors)
        if errors.errors:
            # Something only the database could see (a constraint, a concurrent change): undo every row.
            transaction.set_rollback(True)
            result.created = result.updated = result.unchanged = 0
            result.errors = sorted(errors.errors, key=lambda e: e.row)
            return result
        record_event(
            acting_user=acting_user,
            action="registry.import",
            object_type="registry.import",
            object_repr=filename[:255],
            region_code=park_obj.region.code if park_obj is not None else "",
            extra={
                "kind": kind,
                "filename": filename,
                "rows": result.rows,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "park": park_obj.pk if park_obj is not None else None,
            },
        )
    return result


# ---------------------------------------------------------------------------
# Workbooks for people: the error report and the empty template
# ---------------------------------------------------------------------------

ERROR_HEADERS = ("行号", "列名", "值", "规则", "说明")


def errors_workbook(result: ImportResult) -> bytes:
    """An .xlsx listing every error: 行号/列名/值/规则/说明 (row, column, value, rule, message)."""
    buffer = io.BytesIO()
    workbook = exports.workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet("错误")
    bold = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    for col, title in enumerate(ERROR_HEADERS):
        sheet.write_string(0, col, title, bold)
    for index, error in enumerate(result.errors, start=1):
        sheet.write_number(index, 0, error.row)
        # write_string: a value such as "=HYPERLINK(…)" from an uploaded file stays inert text.
        sheet.write_string(index, 1, error.column)
        sheet.write_string(index, 2, error.value)
        sheet.write_string(index, 3, error.rule)
        sheet.write_string(index, 4, error.message)
    sheet.set_column(0, 0, 8)
    sheet.set_column(1, 2, 24)
    sheet.set_column(3, 3, 18)
    sheet.set_column(4, 4, 70)
    sheet.freeze_panes(1, 0)
    workbook.close()
    return buffer.getvalue()


def template_workbook(kind: str) -> bytes:
    """An empty import template: the header row (required columns marked *) and one example row.

    A second sheet 说明 describes each column; the importer reads only the first sheet.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    columns = COLUMNS[kind]
    buffer = io.BytesIO()
    workbook = exports.workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = workbook.add_worksheet("企业" if kind == "enterprises" else "知识产权")
    header_fmt = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    required_fmt = workbook.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1})
    text_fmt = workbook.add_format({"num_format": "@"})
    for col, column in enumerate(columns):
        sheet.write_string(
            0, col, column.label + ("*" if column.required else ""), required_fmt if column.required else header_fmt
        )
        sheet.set_column(col, col, max(12, len(column.label) * 2 + 4), text_fmt if column.text else None)
        if column.example:
            sheet.write_string(1, col, column.example, text_fmt if column.text else None)
    sheet.freeze_panes(1, 0)
    notes = workbook.add_worksheet("说明")
    for col, title in enumerate(("列名", "英文列名", "必填", "说明")):
        notes.write_string(0, col, title, header_fmt)
    for index, column in enumerate(columns, start=1):
        notes.write_string(index, 0, column.label)
        notes.write_string(index, 1, column.key)
        notes.write_string(index, 2, "是" if column.required else "")
        notes.write_string(index, 3, column.note)
    notes.set_column(0, 1, 24)
    notes.set_column(3, 3, 60)
    workbook.close()
    return buffer.getvalue()
