"""Reading product files into `ProductTerms`: the bank's own product template, and the published product sheet.

Our product template (产品导入模板)
-----------------------------------
csv (UTF-8 with or without BOM, or GB18030) or xlsx (first sheet), header in row 1, one product per row from row 2;
the columns are `TEMPLATE_COLUMNS` (Chinese headers; `template_workbook()` writes a blank template with one example
row and a sheet explaining each column). Lists inside a cell are separated by `；`, `;`, `、` or `,`; per-kind values
are written `发明专利:8；实用新型专利:4`. Row numbers are the ones a person sees (the header is row 1); every error
names the row, the column (its header), the rule and a message in Chinese and English. Row 0 is the file itself.

The published product sheet (`../shared/data/bank_ip_loan_products.csv`)
-----------------------------------------------------------------------
A compiled sheet of real IP-pledge loan products, one row per product, with free-text rules in English and Chinese
(columns lender, product, region, source_date, eligible_ip, ip_conditions, borrower_conditions,
max_or_example_amount_cny, term, loan_to_value, rate, other, source_url). The file carries no licence: it is read
at run time only, never copied into the project, and nothing of its free text is stored except the product names,
lender names and source links; summaries are written from the parsed facts. `parse_published_products` turns each
row into structured terms with regular expressions:

- eligible IP: 发明专利 / 实用新型 / 外观设计 / 商标 / 著作权 (= software and works) / 软件 / 作品 / 版权 /
  集成电路布图设计; a bare 专利 (专利权, "专利 (core IP)") means every patent kind; a bare 知识产权 (or nothing at all)
  means every kind, but only when no specific kind is named (so 数据知识产权 beside named kinds adds nothing);
- remaining life: "remaining term: invention >=8 yrs, utility model >=4 yrs";
- pledge-rate caps: "invention <=25% of appraised value; utility model <=15%; trademark <=30%" (several trademark
  caps, e.g. well-known 30 % and ordinary 20 %: the highest, since a cap bounds every mark of the kind);
- amounts: "20,000,000"; several figures ("small/micro 10,000,000; medium/large 30,000,000") → the largest as the
  maximum; a range "1,000,000-5,000,000" → minimum and maximum; "example/case N" → N as the maximum; "1.5M";
- terms: "<=2 yrs", "up to 3 yrs" → the longest term in months;
- rates: "LPR+120BP" (or "LPR + 1.2%") and "fixed 4.35%"; anything else (a benchmark uplift, "discount") is not a
  rate the platform can price with, and counts as not published;
- region: 北京 110000, 上海 310000, 江苏 320000, 浙江 330000 … (every province by its short name), narrowed to a city or
  district when one of `CITY_CODES` is named (无锡, 海淀, 张江); "national" means no restriction; a region outside
  China (Korea, Singapore) skips the row with the reason;
- borrower conditions: "independent legal person >=1 yr old" → minimum age 1; "small firm" → small and micro size
  classes (only when stated); dishonest borrowers are excluded by default anyway ("no bad credit record");
  a guarantee company named in the conditions → requires a guarantee;
- the lender → a bank organisation by normalised name (parenthesised branches dropped, 北京农商银行 → 北京农村商业银行,
  农业银行 → 中国农业银行, 工商银行 → 中国工商银行, 建设银行 → 中国建设银行 …); a non-bank lender with cooperating
  banks takes the first bank it names, and is skipped with the reason when it names none.

Amounts, terms and rates that a row does not publish get the platform defaults (`DEFAULT_*` below) and the summary
says which (未公开，按平台默认).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import translation

from ipledge.core import exports, uploads
from ipledge.core.money import Money

from .choices import CollateralKind, RateKind
from .terms import ProductTerms, validate_terms

MAX_BYTES = uploads.MARKET_IMPORT.max_bytes
MAX_ROWS = 2_000
MAX_UNCOMPRESSED_BYTES = uploads.MARKET_IMPORT.max_unpacked_bytes

# Platform defaults for what a published row leaves out (documented on the product summary).
DEFAULT_AMOUNT_MIN = Money(100_000)
DEFAULT_AMOUNT_MAX = Money(10_000_000)
DEFAULT_TERM_MIN_MONTHS = 6
DEFAULT_TERM_MAX_MONTHS = 36
DEFAULT_SPREAD_BP = 100

ALL_KINDS: tuple[str, ...] = tuple(str(v) for v in CollateralKind.values)
PATENT_KINDS: tuple[str, ...] = (CollateralKind.INVENTION, CollateralKind.UTILITY_MODEL, CollateralKind.DESIGN)
COPYRIGHT_KINDS: tuple[str, ...] = (CollateralKind.SOFTWARE, CollateralKind.WORK)


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


class FileRefused(Exception):
    def __init__(self, rule: str, message: str, message_en: str) -> None:
        super().__init__(message)
        self.rule, self.message, self.message_en = rule, message, message_en


# ----------------------------------------------------------------------------------------------------- reading


def _decode_csv(content: bytes) -> str:
    try:
        return uploads.decode_text(content)
    except uploads.UploadRefused as exc:
        raise FileRefused(exc.rule, exc.message_zh, exc.message_en) from exc


def _csv_rows(content: bytes) -> list[list[Any]]:
    try:
        return list(csv.reader(io.StringIO(_decode_csv(content), newline="")))
    except csv.Error as exc:
        raise FileRefused("file_format", f"CSV 格式错误：{exc}", f"Malformed CSV: {exc}") from exc


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    """The first sheet's rows; `_is_xlsx` has already run the archive checks of ``ipledge.core.uploads``."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken workbook
        raise FileRefused("file_format", "无法读取该 .xlsx 工作簿。", "The .xlsx workbook cannot be read.") from exc
    try:
        sheet = workbook.worksheets[0]
        rows: list[list[Any]] = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(list(row))
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        workbook.close()


def _is_xlsx(file_name: str, content: bytes) -> bool:
    """By content, never by name: a ZIP must be a safe .xlsx, anything else is read as CSV text."""
    try:
        policy = dataclasses.replace(
            uploads.MARKET_IMPORT, max_bytes=MAX_BYTES, max_unpacked_bytes=MAX_UNCOMPRESSED_BYTES
        )
        kind = uploads.sniff(content, policy=policy, filename=file_name)
        if kind not in policy.kinds:
            raise uploads.UploadRefused(
                "file_type", "只接受 .xlsx 或 CSV 文件。", "Only .xlsx or CSV files are accepted."
            )
    except uploads.UploadRefused as exc:
        raise FileRefused(exc.rule, exc.message_zh, exc.message_en) from exc
    return kind == uploads.XLSX


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


# ----------------------------------------------------------------------------------------------------- template

_SPLIT = re.compile(r"[;；、,，\n]+")

KIND_ALIASES: dict[str, str] = {
    "发明专利": CollateralKind.INVENTION,
    "发明": CollateralKind.INVENTION,
    "实用新型专利": CollateralKind.UTILITY_MODEL,
    "实用新型": CollateralKind.UTILITY_MODEL,
    "外观设计专利": CollateralKind.DESIGN,
    "外观设计": CollateralKind.DESIGN,
    "商标专用权": CollateralKind.TRADEMARK,
    "商标": CollateralKind.TRADEMARK,
    "计算机软件著作权": CollateralKind.SOFTWARE,
    "软件著作权": CollateralKind.SOFTWARE,
    "作品著作权": CollateralKind.WORK,
    "集成电路布图设计": CollateralKind.IC_LAYOUT,
    **{value: value for value in CollateralKind.values},
}
SIZE_ALIASES = {"大型": "large", "中型": "medium", "小型": "small", "微型": "micro"}
RATE_ALIASES = {"LPR加点": RateKind.LPR_SPREAD, "固定利率": RateKind.FIXED, "lpr_spread": RateKind.LPR_SPREAD}
RATE_ALIASES["fixed"] = RateKind.FIXED
YES = {"是", "y", "yes", "true", "1", "需要", "要"}
NO = {"否", "n", "no", "false", "0", "不需要", "不"}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    example: str
    note: str
    required: bool = False


TEMPLATE_COLUMNS: tuple[Column, ...] = (
    Column("code", "产品编号", "ZQD-2026", "本行内唯一，不超过40个字符", True),
    Column("name", "产品名称", "智权贷", "不超过128个字符", True),
    Column("summary", "产品简介", "面向科技型中小企业的知识产权质押贷款", "可选"),
    Column(
        "collateral_kinds",
        "可接受质押物",
        "发明专利；实用新型专利；商标专用权",
        "发明专利、实用新型专利、外观设计专利、商标专用权、计算机软件著作权、作品著作权、集成电路布图设计，以分号或顿号分隔",
        True,
    ),
    Column(
        "min_remaining_years",
        "最短剩余有效期（年）",
        "发明专利:8；实用新型专利:4",
        "按类型填写，须为可接受质押物，0至30年",
    ),
    Column(
        "pledge_rate_caps",
        "质押率上限（%）",
        "发明专利:25；实用新型专利:15；商标专用权:30",
        "按类型填写，大于0且不超过100",
    ),
    Column("amount_min", "最低额度（元）", "1000000", "大于0，可写“100万”", True),
    Column("amount_max", "最高额度（元）", "20000000", "不低于最低额度", True),
    Column("term_min_months", "最短期限（月）", "6", "1至360", True),
    Column("term_max_months", "最长期限（月）", "24", "不短于最短期限", True),
    Column("rate_kind", "定价方式", "LPR加点", "LPR加点 或 固定利率", True),
    Column("rate_spread_bp", "LPR加点（基点）", "120", "LPR加点产品必填，如 120 表示 LPR+120BP"),
    Column("rate_fixed", "固定年利率（%）", "", "固定利率产品必填，如 4.35"),
    Column("region_codes", "适用地区代码", "110000", "6位行政区划代码或2/4位前缀，空为不限"),
    Column("industry_sections", "适用行业门类", "C；I；M", "国民经济行业分类门类字母A至T，空为不限"),
    Column("size_classes", "适用企业规模", "中型；小型；微型", "大型、中型、小型、微型，空为不限"),
    Column("min_enterprise_age_years", "最短成立年限（年）", "1", "整数，默认0"),
    Column("requires_whitelist", "须为授信白名单企业", "否", "是/否，默认否"),
    Column("excludes_dishonest", "排除失信及严重违法企业", "是", "是/否，默认是"),
    Column("max_recent_penalties", "近三年行政处罚上限（次）", "", "整数，空为不限"),
    Column("requires_guarantee", "需担保", "否", "是/否，默认否"),
    Column("requires_insurance", "需保证保险", "否", "是/否，默认否"),
    Column("required_documents", "申请材料", "营业执照；近两年财务报表；知识产权证书", "以分号分隔"),
    Column("source_url", "公开资料来源", "", "http:// 或 https:// 开头的链接，可选"),
)
COLUMNS_BY_KEY = {c.key: c for c in TEMPLATE_COLUMNS}
_HEADER_ALIASES: dict[str, str] = {c.header: c.key for c in TEMPLATE_COLUMNS} | {c.key: c.key for c in TEMPLATE_COLUMNS}


def _header_key(text: str) -> str:
    compact = re.sub(r"\s+", "", _text(text))
    compact = compact.replace("(", "（").replace(")", "）")
    return _HEADER_ALIASES.get(compact, _HEADER_ALIASES.get(compact.lower(), ""))


@dataclass
class TemplateRow:
    row: int
    code: str
    name: str
    terms: ProductTerms


@dataclass
class TemplateResult:
    rows: list[TemplateRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class _CellError(Exception):
    def __init__(self, rule: str, message: str, message_en: str) -> None:
        super().__init__(message)
        self.rule, self.message, self.message_en = rule, message, message_en


def _parse_int(text: str, *, signed: bool = False) -> int:
    if not re.fullmatch(r"-?\d+" if signed else r"\d+", text.replace(",", "")):
        raise _CellError("invalid", "应为整数。", "Must be a whole number.")
    return int(text.replace(",", ""))


def _parse_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "").rstrip("%％"))
    except InvalidOperation as exc:
        raise _CellError("invalid", "应为数字。", "Must be a number.") from exc
    if not value.is_finite():
        raise _CellError("invalid", "应为数字。", "Must be a number.")
    return value


def _parse_money(text: str) -> Money:
    compact = text.replace(",", "").replace("元", "").strip()
    factor = Decimal(1)
    if compact.endswith("万"):
        compact, factor = compact[:-1], Decimal(10_000)
    elif compact.endswith("亿"):
        compact, factor = compact[:-1], Decimal(100_000_000)
    try:
        value = Decimal(compact) * factor
    except InvalidOperation as exc:
        raise _CellError("invalid", "应为金额（元），如 5000000 或 500万。", "Must be an amount in yuan.") from exc
    if not value.is_finite() or value <= 0:
        raise _CellError("min_value", "金额须大于零。", "The amount must be positive.")
    if value >= Decimal(10) ** 13:
        raise _CellError("max_value", "金额过大。", "The amount is too large.")
    return Money(value)


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low in YES:
        return True
    if low in NO:
        return False
    raise _CellError("invalid", "应填“是”或“否”。", "Must be 是 (yes) or 否 (no).")


def _items(text: str) -> list[str]:
    return [part.strip() for part in _SPLIT.split(text) if part.strip()]


def _parse_kinds(text: str) -> tuple[str, ...]:
    kinds: list[str] = []
    for item in _items(text):
        kind = KIND_ALIASES.get(item)
        if kind is None:
            raise _CellError("invalid_choice", f"无法识别的质押物类型“{item}”。", f"Unknown collateral kind {item!r}.")
        if kind not in kinds:
            kinds.append(kind)
    return tuple(kinds)


_PAIR = re.compile(r"^(.+?)\s*[:：=≥≤<>]+\s*(-?[\d.]+)\s*[%％年]?$")


def _parse_pairs(text: str, value: Callable[[str], Any]) -> dict[str, Any]:
    pairs: dict[str, Any] = {}
    for item in _items(text):
        found = _PAIR.match(item)
        if found is None:
            raise _CellError("invalid", f"“{item}”应写作“类型:数值”。", f"{item!r} must read kind:value.")
        kind = KIND_ALIASES.get(found.group(1).strip())
        if kind is None:
            raise _CellError(
                "invalid_choice",
                f"无法识别的质押物类型“{found.group(1)}”。",
                f"Unknown collateral kind {found.group(1)!r}.",
            )
        pairs[kind] = value(found.group(2))
    return pairs


def _parse_rate_kind(text: str) -> str:
    kind = RATE_ALIASES.get(text) or RATE_ALIASES.get(text.upper()) or RATE_ALIASES.get(text.lower())
    if kind is None:
        raise _CellError("invalid_choice", "定价方式应为“LPR加点”或“固定利率”。", "Must be LPR加点 or 固定利率.")
    return str(kind)


def _parse_sizes(text: str) -> tuple[str, ...]:
    out = []
    for item in _items(text):
        size = SIZE_ALIASES.get(item.rstrip("企业")) or (item if item in SIZE_ALIASES.values() else None)
        if size is None:
            raise _CellError("invalid_choice", f"无法识别的企业规模“{item}”。", f"Unknown size class {item!r}.")
        out.append(size)
    return tuple(out)


def _row_values(cells: dict[str, str], row: int, errors: list[RowError]) -> dict[str, Any] | None:
    """Parse one row's cells into ProductTerms arguments (plus code and name); cell errors go to `errors`."""
    out: dict[str, Any] = {}
    parsers: dict[str, Callable[[str], Any]] = {
        "code": lambda t: t,
        "name": lambda t: t,
        "summary": lambda t: t,
        "collateral_kinds": _parse_kinds,
        "min_remaining_years": lambda t: _parse_pairs(t, lambda v: _parse_int(v)),
        "pledge_rate_caps": lambda t: _parse_pairs(t, lambda v: _parse_decimal(v) / 100),
        "amount_min": _parse_money,
        "amount_max": _parse_money,
        "term_min_months": _parse_int,
        "term_max_months": _parse_int,
        "rate_kind": _parse_rate_kind,
        "rate_spread_bp": lambda t: _parse_int(t, signed=True),
        "rate_fixed": _parse_decimal,
        "region_codes": lambda t: tuple(_items(t)),
        "industry_sections": lambda t: tuple(i.upper() for i in _items(t)),
        "size_classes": _parse_sizes,
        "min_enterprise_age_years": _parse_int,
        "requires_whitelist": _parse_bool,
        "excludes_dishonest": _parse_bool,
        "max_recent_penalties": _parse_int,
        "requires_guarantee": _parse_bool,
        "requires_insurance": _parse_bool,
        "required_documents": lambda t: tuple(_items(t)),
        "source_url": lambda t: t,
    }
    ok = True
    for column in TEMPLATE_COLUMNS:
        text = cells.get(column.key, "")
        if not text:
            if column.required:
                errors.append(RowError(row, column.header, "required", "此列为必填项。", f"{column.key} is required."))
                ok = False
            continue
        try:
            out[column.key] = parsers[column.key](text)
        except _CellError as exc:
            errors.append(RowError(row, column.header, exc.rule, exc.message, exc.message_en))
            ok = False
    return out if ok else None


def _terms_of(values: dict[str, Any]) -> ProductTerms:
    kinds = values["collateral_kinds"]
    rate_kind = values["rate_kind"]
    return ProductTerms(
        summary=values.get("summary", ""),
        collateral_kinds=kinds,
        min_remaining_years=values.get("min_remaining_years", {}),
        pledge_rate_caps=values.get("pledge_rate_caps", {}),
        amount_min=values["amount_min"],
        amount_max=values["amount_max"],
        term_min_months=values["term_min_months"],
        term_max_months=values["term_max_months"],
        rate_kind=rate_kind,
        rate_spread_bp=values.get("rate_spread_bp") if rate_kind == RateKind.LPR_SPREAD else None,
        rate_fixed=values.get("rate_fixed") if rate_kind == RateKind.FIXED else None,
        region_codes=values.get("region_codes", ()),
        industry_sections=values.get("industry_sections", ()),
        size_classes=values.get("size_classes", ()),
        min_enterprise_age_years=values.get("min_enterprise_age_years", 0),
        requires_whitelist=values.get("requires_whitelist", False),
        excludes_dishonest=values.get("excludes_dishonest", True),
        max_recent_penalties=values.get("max_recent_penalties"),
        requires_guarantee=values.get("requires_guarantee", False),
        requires_insurance=values.get("requires_insurance", False),
        required_documents=values.get("required_documents", ()),
        source_url=values.get("source_url", ""),
    )


def _terms_errors(terms: ProductTerms, row: int) -> list[RowError]:
    try:
        validate_terms(terms)
    except ValidationError as exc:
        zh = exc.message_dict
        with translation.override("en"):
            try:
                validate_terms(terms)
                en: dict[str, list[str]] = {}
            except ValidationError as exc_en:
                en = exc_en.message_dict
        out = []
        for name, errors in exc.error_dict.items():
            header = COLUMNS_BY_KEY[name].header if name in COLUMNS_BY_KEY else name
            for i, error in enumerate(errors):
                message = zh[name][i]
                message_en = en.get(name, [message] * (i + 1))[i] if i < len(en.get(name, [])) else message
                out.append(RowError(row, header, error.code or "invalid", message, message_en))
        return out
    return []


def parse_product_template(file_name: str, content: bytes) -> TemplateResult:
    """Read and check the whole file (nothing is written here); `errors` lists every problem found."""
    result = TemplateResult()
    if len(content) > MAX_BYTES:
        result.errors.append(RowError(0, "", "file_too_large", "文件超过 10 MB。", "The file exceeds 10 MB."))
        return result
    try:
        raw = _xlsx_rows(content) if _is_xlsx(file_name, content) else _csv_rows(content)
    except FileRefused as exc:
        result.errors.append(RowError(0, "", exc.rule, exc.message, exc.message_en))
        return result
    while raw and not any(_text(c) for c in raw[-1]):
        raw.pop()
    if not raw:
        result.errors.append(RowError(0, "", "empty", "文件为空。", "The file is empty."))
        return result
    header = [_header_key(h) for h in raw[0]]
    missing = [c for c in TEMPLATE_COLUMNS if c.required and c.key not in header]
    for column in missing:
        result.errors.append(
            RowError(1, column.header, "missing_column", "缺少必需的列。", f"Missing column {column.header}.")
        )
    unknown = [_text(h) for h, key in zip(raw[0], header, strict=False) if not key and _text(h)]
    for name in unknown:
        result.errors.append(RowError(1, name, "unknown_column", "无法识别的列。", f"Unknown column {name!r}."))
    if missing or unknown:
        return result
    body = raw[1:]
    if len(body) > MAX_ROWS:
        result.errors.append(RowError(0, "", "too_many_rows", f"超过 {MAX_ROWS} 行。", f"More than {MAX_ROWS} rows."))
        return result
    codes: dict[str, int] = {}
    for offset, cells in enumerate(body, start=2):
        if not any(_text(c) for c in cells):
            continue
        values = {key: _text(cell) for key, cell in zip(header, cells, strict=False) if key}
        parsed = _row_values(values, offset, result.errors)
        if parsed is None:
            continue
        code = parsed["code"]
        if code in codes:
            result.errors.append(
                RowError(
                    offset,
                    COLUMNS_BY_KEY["code"].header,
                    "duplicate",
                    f"与第 {codes[code]} 行的产品编号重复。",
                    f"Same product code as row {codes[code]}.",
                )
            )
            continue
        codes[code] = offset
        for key, limit in (("code", 40), ("name", 128)):
            if len(parsed[key]) > limit:
                result.errors.append(
                    RowError(
                        offset,
                        COLUMNS_BY_KEY[key].header,
                        "max_length",
                        f"不能超过{limit}个字符。",
                        f"At most {limit} characters.",
                    )
                )
        terms = _terms_of(parsed)
        row_errors = _terms_errors(terms, offset)
        if row_errors:
            result.errors.extend(row_errors)
            continue
        result.rows.append(TemplateRow(row=offset, code=parsed["code"], name=parsed["name"], terms=terms))
    if not result.rows and not result.errors:
        result.errors.append(RowError(0, "", "empty", "文件中没有产品。", "The file holds no product rows."))
    return result


def template_workbook() -> bytes:
    """The product template as an xlsx: header row, one example row, and a sheet explaining the columns."""
    out = io.BytesIO()
    book = exports.workbook(out, {"in_memory": True})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    required = book.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1})
    sheet = book.add_worksheet("产品")
    for i, column in enumerate(TEMPLATE_COLUMNS):
        sheet.write_string(0, i, column.header, required if column.required else head)
        sheet.write_string(1, i, column.example)
        sheet.set_column(i, i, max(12, len(column.header) * 2 + 2))
    sheet.freeze_panes(1, 0)
    notes = book.add_worksheet("填写说明")
    notes.write_row(0, 0, ["列名", "是否必填", "说明"], head)
    for i, column in enumerate(TEMPLATE_COLUMNS, start=1):
        notes.write_row(i, 0, [column.header, "必填" if column.required else "", column.note])
    notes.set_column(0, 0, 26)
    notes.set_column(2, 2, 90)
    last = len(TEMPLATE_COLUMNS) + 2
    notes.write_string(last, 0, "整个文件先校验：任一行有错则整份文件不导入，并列出每处错误（行、列、规则、说明）。")
    notes.write_string(last + 1, 0, "导入的产品为草稿，须提交本行复核人审批后上架。")
    book.close()
    return out.getvalue()


# ----------------------------------------------------------------------------------------------------- published sheet

PROVINCE_CODES: dict[str, str] = {
    "北京": "110000", "天津": "120000", "河北": "130000", "山西": "140000", "内蒙古": "150000", "辽宁": "210000",
    "吉林": "220000", "黑龙江": "230000", "上海": "310000", "江苏": "320000", "浙江": "330000", "安徽": "340000",
    "福建": "350000", "江西": "360000", "山东": "370000", "河南": "410000", "湖北": "420000", "湖南": "430000",
    "广东": "440000", "广西": "450000", "海南": "460000", "重庆": "500000", "四川": "510000", "贵州": "520000",
    "云南": "530000", "西藏": "540000", "陕西": "610000", "甘肃": "620000", "青海": "630000", "宁夏": "640000",
    "新疆": "650000",
}  # fmt: skip
# A city or district named beside the province narrows the product to it.
CITY_CODES: dict[str, str] = {"无锡": "320200", "海淀": "110108", "张江": "310115", "南京": "320100", "苏州": "320500"}
LENDER_ALIASES: dict[str, str] = {
    "北京农商银行": "北京农村商业银行",
    "农业银行": "中国农业银行",
    "农行": "中国农业银行",
    "工商银行": "中国工商银行",
    "工行": "中国工商银行",
    "建设银行": "中国建设银行",
    "建行": "中国建设银行",
    "中行": "中国银行",
    "交行": "交通银行",
    "邮储银行": "中国邮政储蓄银行",
    "上海农商银行": "上海农村商业银行",
}
NATIONAL = re.compile(r"national|全国", re.IGNORECASE)
_PARENS = re.compile(r"[(（][^()（）]*[)）]")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class PublishedProduct:
    """One row of the published sheet as a product of the platform."""

    row: int
    lender: str
    bank_name: str
    code: str
    name: str
    terms: ProductTerms
    not_published: tuple[str, ...]  # "额度", "期限", "利率", "可接受质押物": filled with the platform defaults


@dataclass(frozen=True)
class Skipped:
    row: int
    reason: str


def normalise_lender(lender: str) -> str | None:
    """The bank a lender column names, as the platform names banks ("北京银行 (上海分行)" → 北京银行); for a non-bank
    lender with cooperating banks the first bank it names; None when it names no bank."""
    text = _PARENS.sub(" ", _text(lender))
    for part in re.split(r"[+/＋、;；]| and ", text):
        name = re.sub(r"\s+", "", part)
        if not _CJK.search(name) or "银行" not in name:
            continue
        return LENDER_ALIASES.get(name, name)
    return None


_AMOUNT = r"(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(?:[MmKk]\b|万|亿)?"
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*([MmKk]\b|万|亿)?")


def _amounts(text: str) -> list[Decimal]:
    out = []
    for number, unit in _NUMBER.findall(text):
        value = Decimal(number.replace(",", ""))
        value *= {"m": Decimal(1_000_000), "k": Decimal(1_000), "万": Decimal(10_000), "亿": Decimal(10**8)}.get(
            (unit or "").lower(), Decimal(1)
        )
        if value >= 10_000:  # smaller figures are days, counts or percentages, not loan amounts
            out.append(value)
    return out


def parse_amount(text: str) -> tuple[Money | None, Money | None]:
    """(minimum, maximum) a row's amount column publishes; (None, None) when it publishes none."""
    text = _text(text)
    ranged = re.search(rf"({_AMOUNT})\s*[-–~至]\s*({_AMOUNT})", text)
    if ranged:
        lows, highs = _amounts(ranged.group(1)), _amounts(ranged.group(2))
        if lows and highs and lows[0] <= highs[0]:
            return Money(lows[0]), Money(highs[0])
    values = _amounts(text)
    if not values:
        return None, None
    return None, Money(max(values))


_TERM = re.compile(
    r"(?:<=|≤|up to|max(?:imum)?|within|不超过|最长)?\s*(\d+(?:\.\d+)?)\s*(yrs?|years?|年|months?|mos?|个月)",
    re.IGNORECASE,
)


def parse_term_months(text: str) -> int | None:
    """The longest term a row's term column publishes, in months."""
    months = []
    for number, unit in _TERM.findall(_text(text)):
        value = Decimal(number)
        factor = 12 if unit.lower().startswith(("y", "年")) else 1
        months.append(int(value * factor))
    months = [m for m in months if 1 <= m <= 360]
    return max(months) if months else None


def parse_rate(text: str) -> tuple[str, int | None, Decimal | None] | None:
    """(rate kind, spread in BP, fixed rate %) when the rate column gives an LPR spread or a fixed rate."""
    text = _text(text)
    lpr = re.search(r"LPR\s*[+＋]\s*(\d+(?:\.\d+)?)\s*(bp|BP|基点|%)", text)
    if lpr:
        value = Decimal(lpr.group(1))
        bp = int(value * 100) if lpr.group(2) == "%" else int(value)
        return RateKind.LPR_SPREAD, bp, None
    fixed = re.search(r"(?:fixed|固定)\D{0,12}?(\d+(?:\.\d+)?)\s*%", text, re.IGNORECASE)
    if fixed:
        return RateKind.FIXED, None, Decimal(fixed.group(1))
    return None


def parse_kinds(text: str) -> tuple[str, ...]:
    """The collateral kinds a row's eligible-IP column names (every kind for a bare 知识产权 or an empty cell)."""
    t = _text(text)
    low = t.lower()
    kinds: list[str] = []

    def add(*values: str) -> None:
        kinds.extend(v for v in values if v not in kinds)

    if "发明" in t or "invention" in low:
        add(CollateralKind.INVENTION)
    if "实用新型" in t or "utility" in low:
        add(CollateralKind.UTILITY_MODEL)
    if "外观" in t or "design patent" in low:
        add(CollateralKind.DESIGN)
    if re.search(r"(?<!发明)(?<!新型)(?<!外观设计)(?<!外观)专利", t) or re.search(r"(?<!invention )\bpatents?\b", low):
        add(*PATENT_KINDS)
    if "商标" in t or "trademark" in low or "trade mark" in low:
        add(CollateralKind.TRADEMARK)
    if "著作权" in t or "版权" in t or "copyright" in low:
        add(*COPYRIGHT_KINDS)
    if "软件" in t or "software" in low:
        add(CollateralKind.SOFTWARE)
    if "作品" in t:
        add(CollateralKind.WORK)
    if "集成电路布图" in t or "ic layout" in low:
        add(CollateralKind.IC_LAYOUT)
    if not kinds:
        return ALL_KINDS
    return tuple(str(k) for k in ALL_KINDS if k in kinds)


_KIND_WORDS: tuple[tuple[str, str], ...] = (
    ("well-known trademark", CollateralKind.TRADEMARK),
    ("ordinary trademark", CollateralKind.TRADEMARK),
    ("trademark", CollateralKind.TRADEMARK),
    ("utility model", CollateralKind.UTILITY_MODEL),
    ("utility", CollateralKind.UTILITY_MODEL),
    ("invention", CollateralKind.INVENTION),
    ("design", CollateralKind.DESIGN),
    ("software", CollateralKind.SOFTWARE),
    ("发明专利", CollateralKind.INVENTION),
    ("发明", CollateralKind.INVENTION),
    ("实用新型", CollateralKind.UTILITY_MODEL),
    ("外观设计", CollateralKind.DESIGN),
    ("商标", CollateralKind.TRADEMARK),
)
_KIND_PATTERN = "|".join(re.escape(word) for word, _kind in _KIND_WORDS)
_KIND_OF = dict(_KIND_WORDS)


def parse_min_years(text: str) -> dict[str, int]:
    """Minimum remaining life per kind from "remaining term: invention >=8 yrs, utility model >=4 yrs"."""
    t = _text(text)
    found = re.search(r"(?:remaining (?:term|life)|剩余(?:有效期|保护期))\s*[:：]?(.*?)(?:;|；|$)", t, re.IGNORECASE)
    if not found:
        return {}
    out: dict[str, int] = {}
    for word, years in re.findall(rf"({_KIND_PATTERN})\s*(?:>=|≥|不少于)\s*(\d+)", found.group(1), re.IGNORECASE):
        out[str(_KIND_OF[word.lower() if word.isascii() else word])] = int(years)
    return out


def parse_caps(text: str) -> dict[str, Decimal]:
    """Pledge-rate caps per kind from "invention <=25% of appraised value; utility model <=15%; trademark <=30%"."""
    out: dict[str, Decimal] = {}
    for word, pct in re.findall(
        rf"({_KIND_PATTERN})\s*(?:<=|≤|不超过)\s*(\d+(?:\.\d+)?)\s*%", _text(text), re.IGNORECASE
    ):
        kind = str(_KIND_OF[word.lower() if word.isascii() else word])
        value = Decimal(pct) / 100
        out[kind] = max(out.get(kind, Decimal(0)), value)
    return out


def parse_region(text: str) -> tuple[tuple[str, ...], str | None]:
    """(region codes, skip reason): no codes for a national product; a reason for a region outside China."""
    t = _text(text)
    codes: list[str] = []
    for name, code in PROVINCE_CODES.items():
        if name in t:
            narrowed = [c for city, c in CITY_CODES.items() if city in t and c[:2] == code[:2]]
            codes.extend(narrowed or [code])
    if NATIONAL.search(t):
        return (), None
    if not codes:
        if not t:
            return (), None
        return (), f"境外产品（{t}），不在平台服务范围（中国境内）"
    return tuple(dict.fromkeys(codes)), None


def parse_min_age(text: str) -> int:
    found = re.search(r"(?:>=|≥|at least)\s*(\d+)\s*(?:yrs?|years?)\s*old|成立\s*(\d+)\s*年以上", _text(text))
    if not found:
        return 0
    return int(found.group(1) or found.group(2))


def parse_sizes(text: str) -> tuple[str, ...]:
    t = _text(text).lower()
    if re.search(r"\bsmall(?:/micro)? (?:firm|business|enterprise|company)", t) or "小微" in t:
        return ("small", "micro")
    return ()


def _product_name(text: str) -> str:
    raw = _text(text)
    head = _PARENS.sub("", raw).split(";")[0].split("；")[0].strip()
    if _CJK.search(head):
        return head[:128]
    inner = [p.strip("()（） ") for p in _PARENS.findall(raw) if _CJK.search(p)]
    base = "知识产权质押贷款"
    return f"{base}（{inner[0]}）"[:128] if inner else base


def _source_url(text: str) -> str:
    for part in re.split(r"\s+;\s+|\s+", _text(text)):
        if re.match(r"^https?://\S+$", part) and len(part) <= 500:
            return part
    return ""


def _lender_text(text: str) -> str:
    """The lender as written, with Chinese parentheses: "北京银行 (上海分行)" → "北京银行（上海分行）"."""
    return re.sub(r"\s*\)", "）", re.sub(r"\s*\(\s*", "（", _text(text)))


def _year(text: str) -> str:
    found = re.search(r"(?:19|20)\d{2}(?:-\d{2}(?!\d))?", _text(text))
    return found.group(0) if found else ""


def _published_row(row: int, values: dict[str, str]) -> PublishedProduct | Skipped:
    lender = values.get("lender", "")
    regions, foreign = parse_region(values.get("region", ""))
    if foreign:
        return Skipped(row, foreign)
    bank_name = normalise_lender(lender)
    if bank_name is None:
        head = re.split(r"[+＋]", _PARENS.sub("", lender))[0].strip()
        return Skipped(row, f"出借方“{head}”不是银行，且未列明合作银行")
    not_published: list[str] = []
    eligible = values.get("eligible_ip", "")
    if not eligible:
        not_published.append("可接受质押物")
    kinds = parse_kinds(eligible)
    years = {k: v for k, v in parse_min_years(values.get("ip_conditions", "")).items() if k in kinds}
    caps = {k: v for k, v in parse_caps(values.get("loan_to_value", "")).items() if k in kinds}
    amount_min, amount_max = parse_amount(values.get("max_or_example_amount_cny", ""))
    if amount_max is None:
        not_published.append("额度")
        amount_min, amount_max = DEFAULT_AMOUNT_MIN, DEFAULT_AMOUNT_MAX
    elif amount_min is None:
        amount_min = min(DEFAULT_AMOUNT_MIN, amount_max)
    term_max = parse_term_months(values.get("term", ""))
    if term_max is None:
        not_published.append("期限")
        term_max = DEFAULT_TERM_MAX_MONTHS
    term_min = min(DEFAULT_TERM_MIN_MONTHS, term_max)
    rate = parse_rate(values.get("rate", ""))
    if rate is None:
        not_published.append("利率")
        rate = (RateKind.LPR_SPREAD, DEFAULT_SPREAD_BP, None)
    conditions = " ".join(values.get(k, "") for k in ("ip_conditions", "borrower_conditions", "other", "term"))
    guarantee = bool(re.search(r"guarant|担保", conditions, re.IGNORECASE))
    insurance = bool(re.search(r"insuranc|保证保险", conditions, re.IGNORECASE))
    name = _product_name(values.get("product", ""))
    branch = [p.strip("()（） ") for p in _PARENS.findall(lender) if _CJK.search(p)]
    if branch:  # "北京银行 (上海分行)": the branch's product, named so beside the head office's
        name = f"{name}（{branch[0]}）"[:128]
    summary_parts = [f"据{_lender_text(lender)}公开资料（{_year(values.get('source_date', '')) or '日期不详'}）整理。"]
    if guarantee:
        summary_parts.append("须担保机构参与。")
    if not_published:
        summary_parts.append(f"未公开，按平台默认：{'、'.join(not_published)}。")
    terms = ProductTerms(
        summary="".join(summary_parts),
        collateral_kinds=kinds,
        min_remaining_years=years,
        pledge_rate_caps=caps,
        amount_min=amount_min,
        amount_max=amount_max,
        term_min_months=term_min,
        term_max_months=term_max,
        rate_kind=rate[0],
        rate_spread_bp=rate[1],
        rate_fixed=rate[2],
        region_codes=regions,
        size_classes=parse_sizes(values.get("borrower_conditions", "")),
        min_enterprise_age_years=parse_min_age(values.get("borrower_conditions", "")),
        requires_guarantee=guarantee,
        requires_insurance=insurance,
        source_url=_source_url(values.get("source_url", "")),
    )
    return PublishedProduct(
        row=row,
        lender=_lender_text(lender),
        bank_name=bank_name,
        code=f"PUB-{row:03d}",
        name=name,
        terms=terms,
        not_published=tuple(not_published),
    )


PUBLISHED_COLUMNS = (
    "lender",
    "product",
    "region",
    "source_date",
    "eligible_ip",
    "ip_conditions",
    "borrower_conditions",
    "max_or_example_amount_cny",
    "term",
    "loan_to_value",
    "rate",
    "other",
    "source_url",
)


def _published_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("lender", "product", "region") if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: missing columns {', '.join(missing)}")
        for offset, record in enumerate(reader, start=2):
            yield offset, {k: _text(v) for k, v in record.items() if k}


def parse_published_products(path: Path | str) -> tuple[list[PublishedProduct], list[Skipped]]:
    """Parse the published product sheet; rows that cannot become a product of a Chinese bank are skipped, each with
    its reason. Row numbers count the header as row 1."""
    products: list[PublishedProduct] = []
    skipped: list[Skipped] = []
    for row, values in _published_rows(Path(path)):
        if not values.get("lender") and not values.get("product"):
            continue
        parsed = _published_row(row, values)
        (skipped if isinstance(parsed, Skipped) else products).append(parsed)  # type: ignore[arg-type]
    return products, skipped
