"""Business rules of the registry that follow from law and regulation.

Pure Python (no Django imports) so they can be unit-tested exhaustively and
reused by imports, the API and reports.

* :func:`patent_term_end` — statutory term of a CN patent (专利法 第四十二条).
* :func:`size_class` — enterprise size class per 《中小企业划型标准规定》
  (工信部联企业〔2011〕300号).
* :data:`INDUSTRY_SECTIONS` — GB/T 4754-2017 sections (门类) A-T.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

__all__ = [
    "DESIGN_15_YEAR_TERM_FROM",
    "INDUSTRY_SECTIONS",
    "PATENT_TERM_YEARS",
    "SizeResult",
    "patent_term_end",
    "size_class",
]

# ---------------------------------------------------------------------------
# Patent term 专利权期限
# ---------------------------------------------------------------------------

#: Term in years by patent type. Designs: see DESIGN_15_YEAR_TERM_FROM.
PATENT_TERM_YEARS: dict[str, int] = {
    "invention": 20,
    "pct_invention": 20,
    "utility_model": 10,
    "pct_utility_model": 10,
    "design": 10,
}
#: The fourth amendment of the Patent Law (in force 2021-06-01) raised the design
#: term to 15 years for applications filed on or after that date.
DESIGN_15_YEAR_TERM_FROM = date(2021, 6, 1)


def _anniversary(start: date, years: int) -> date:
    """Same calendar date ``years`` later; 29 February maps to 1 March in non-leap years.

    Mapping to 1 March (not 28 February) keeps the period a full N years, so the
    last day (the day before) is 28 February, matching 民法典 第二百零三条
    ("没有对应日的，月末日为期间的最后一日").
    """
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a non-leap target year
        return date(start.year + years, 3, 1)


def patent_term_end(*, patent_type: str, filing_date: date) -> date:
    """Last day of the statutory term of a CN patent.

    The term is counted from the filing date (自申请日起计算), the filing date
    itself included, so it ends on the day before the same calendar date N years
    later: an invention filed 2010-03-05 expires at the end of 2030-03-04 (the
    example in the 专利审查指南 uses the same convention). Filed on 29 February,
    the term ends on 28 February.

    Not modelled: patent-term adjustment for examination delay and the drug
    patent term compensation introduced in 2021 (专利法 第四十二条 第二、三款),
    which need case data, and earlier lapse (unpaid annuities, invalidation).
    The PCT types use the Chinese filing date of the international application.
    """
    if patent_type not in PATENT_TERM_YEARS:
        raise ValueError(f"unknown patent type {patent_type!r}; expected one of {sorted(PATENT_TERM_YEARS)}")
    years = PATENT_TERM_YEARS[patent_type]
    if patent_type == "design" and filing_date >= DESIGN_15_YEAR_TERM_FROM:
        years = 15
    return _anniversary(filing_date, years) - timedelta(days=1)


# ---------------------------------------------------------------------------
# GB/T 4754-2017 sections 国民经济行业分类 门类
# ---------------------------------------------------------------------------

INDUSTRY_SECTIONS: dict[str, str] = {
    "A": "农、林、牧、渔业",
    "B": "采矿业",
    "C": "制造业",
    "D": "电力、热力、燃气及水生产和供应业",
    "E": "建筑业",
    "F": "批发和零售业",
    "G": "交通运输、仓储和邮政业",
    "H": "住宿和餐饮业",
    "I": "信息传输、软件和信息技术服务业",
    "J": "金融业",
    "K": "房地产业",
    "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业",
    "O": "居民服务、修理和其他服务业",
    "P": "教育",
    "Q": "卫生和社会工作",
    "R": "文化、体育和娱乐业",
    "S": "公共管理、社会保障和社会组织",
    "T": "国际组织",
}

# ---------------------------------------------------------------------------
# Enterprise size class 企业规模 (工信部联企业〔2011〕300号)
# ---------------------------------------------------------------------------

_FIELD_LABELS = {"employees": "employees", "revenue_wan": "revenue", "assets_wan": "total assets"}
_FIELD_UNITS = {"employees": "", "revenue_wan": " wan", "assets_wan": " wan"}


@dataclass(frozen=True)
class SizeResult:
    """Size class and why.

    ``size`` is "large", "medium", "small", "micro", or None when the data are
    insufficient or the regulation does not apply; ``reason`` (English) names the
    thresholds used or what is missing; ``category`` names the regulation row used.
    """

    size: str | None
    reason: str
    category: str | None = None


@dataclass(frozen=True)
class _Row:
    """One row of the regulation.

    The regulation's wording is "X以下或Y以下的为中小微型企业" (SME when below ANY
    one bound; "以下" excludes the number) and "X及以上，且Y及以上的为中型企业"
    (medium/small need ALL thresholds; "及以上" includes the number). Each bound is
    a mapping field -> value over the same one or two fields.
    """

    category: str
    sme_below: dict[str, int]
    medium_at_least: dict[str, int]
    small_at_least: dict[str, int]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.sme_below)


_AGRICULTURE = _Row("agriculture", {"revenue_wan": 20000}, {"revenue_wan": 500}, {"revenue_wan": 50})
_INDUSTRY = _Row(
    "industry",
    {"employees": 1000, "revenue_wan": 40000},
    {"employees": 300, "revenue_wan": 2000},
    {"employees": 20, "revenue_wan": 300},
)
_CONSTRUCTION = _Row(
    "construction",
    {"revenue_wan": 80000, "assets_wan": 80000},
    {"revenue_wan": 6000, "assets_wan": 5000},
    {"revenue_wan": 300, "assets_wan": 300},
)
_WHOLESALE = _Row(
    "wholesale",
    {"employees": 200, "revenue_wan": 40000},
    {"employees": 20, "revenue_wan": 5000},
    {"employees": 5, "revenue_wan": 1000},
)
_RETAIL = _Row(
    "retail",
    {"employees": 300, "revenue_wan": 20000},
    {"employees": 50, "revenue_wan": 500},
    {"employees": 10, "revenue_wan": 100},
)
_TRANSPORT = _Row(
    "transport",
    {"employees": 1000, "revenue_wan": 30000},
    {"employees": 300, "revenue_wan": 3000},
    {"employees": 20, "revenue_wan": 200},
)
_WAREHOUSING = _Row(
    "warehousing",
    {"employees": 200, "revenue_wan": 30000},
    {"employees": 100, "revenue_wan": 1000},
    {"employees": 20, "revenue_wan": 100},
)
_POSTAL = _Row(
    "postal",
    {"employees": 1000, "revenue_wan": 30000},
    {"employees": 300, "revenue_wan": 2000},
    {"employees": 20, "revenue_wan": 100},
)
_ACCOMMODATION_CATERING = _Row(
    "accommodation_catering",
    {"employees": 300, "revenue_wan": 10000},
    {"employees": 100, "revenue_wan": 2000},
    {"employees": 10, "revenue_wan": 100},
)
_INFORMATION_TRANSMISSION = _Row(
    "information_transmission",
    {"employees": 2000, "revenue_wan": 100000},
    {"employees": 100, "revenue_wan": 1000},
    {"employees": 10, "revenue_wan": 100},
)
_SOFTWARE_IT = _Row(
    "software_it_services",
    {"employees": 300, "revenue_wan": 10000},
    {"employees": 100, "revenue_wan": 1000},
    {"employees": 10, "revenue_wan": 50},
)
_REAL_ESTATE_DEVELOPMENT = _Row(
    "real_estate_development",
    {"revenue_wan": 200000, "assets_wan": 10000},
    {"revenue_wan": 1000, "assets_wan": 5000},
    {"revenue_wan": 100, "assets_wan": 2000},
)
_PROPERTY_MANAGEMENT = _Row(
    "property_management",
    {"employees": 1000, "revenue_wan": 5000},
    {"employees": 300, "revenue_wan": 1000},
    {"employees": 100, "revenue_wan": 500},
)
_LEASING_BUSINESS = _Row(
    "leasing_business_services",
    {"employees": 300, "assets_wan": 120000},
    {"employees": 100, "assets_wan": 8000},
    {"employees": 10, "assets_wan": 100},
)
_OTHER = _Row("other_unlisted", {"employees": 300}, {"employees": 100}, {"employees": 10})

_SECTION_ROWS: dict[str, _Row] = {
    "A": _AGRICULTURE,
    "B": _INDUSTRY,
    "C": _INDUSTRY,
    "D": _INDUSTRY,
    "E": _CONSTRUCTION,
    "H": _ACCOMMODATION_CATERING,  # 住宿业 (61) and 餐饮业 (62) share the same thresholds
    "L": _LEASING_BUSINESS,
    # 其他未列明行业: 科学研究和技术服务业, 水利环境和公共设施管理业, 居民服务修理和其他服务业,
    # 教育, 卫生和社会工作, 文化体育和娱乐业.
    "M": _OTHER,
    "N": _OTHER,
    "O": _OTHER,
    "P": _OTHER,
    "Q": _OTHER,
    "R": _OTHER,
}

# Sections outside this regulation.
_NOT_COVERED: dict[str, str] = {
    "J": "financial enterprises are classified by a separate standard (银发〔2015〕309号 金融业企业划型标准规定)",
    "S": "public administration and social organisations are not enterprises",
    "T": "international organisations are not enterprises",
}


def _row_for(section: str, division: str | None) -> _Row | str:
    """Regulation row for a section/division, or a reason string when there is none.

    Divisions are GB/T 4754-2017 codes of 2-4 digits; the most specific prefix wins.
    """
    if section in _NOT_COVERED:
        return f"section {section}: {_NOT_COVERED[section]}"
    if section in _SECTION_ROWS:
        return _SECTION_ROWS[section]
    needs = {
        "F": "51 wholesale or 52 retail",
        "G": "53-60",
        "I": "63/64 information transmission or 65 software and IT services",
        "K": "7010 real estate development, 7020 property management or another 70xx",
    }
    if division is None:
        return f"section {section} needs industry_division ({needs[section]})"
    if section == "F":
        rows = {"51": _WHOLESALE, "52": _RETAIL}
        row = rows.get(division[:2])
    elif section == "G":
        if division.startswith("53"):
            return "division 53 railway transport is excluded from the regulation (交通运输业不含铁路运输业)"
        # GB/T 4754-2017 moved 装卸搬运 (591) into division 59; under the 2011
        # classification the regulation was written for it was transport.
        if division.startswith("591"):
            return _TRANSPORT
        if division.startswith("59"):
            return _WAREHOUSING
        if division.startswith("60"):
            return _POSTAL
        row = _TRANSPORT if division[:2] in {"54", "55", "56", "57", "58"} else None
    elif section == "I":
        row = {"63": _INFORMATION_TRANSMISSION, "64": _INFORMATION_TRANSMISSION, "65": _SOFTWARE_IT}.get(division[:2])
    else:  # K
        if division[:2] != "70":
            row = None
        elif division.startswith("701"):
            return _REAL_ESTATE_DEVELOPMENT
        elif division.startswith("702"):
            return _PROPERTY_MANAGEMENT
        elif len(division) == 2:
            return "section K division 70 is ambiguous; give 7010 (development), 7020 (property management) or 70xx"
        else:
            # 房地产中介服务, 房地产租赁经营, 其他房地产业 fall under 其他未列明行业.
            return _OTHER
    if row is None:
        raise ValueError(f"industry_division {division!r} is not a division of section {section} ({needs[section]})")
    return row


def _fmt(field: str, value: Decimal | int) -> str:
    return f"{_FIELD_LABELS[field]} {value}{_FIELD_UNITS[field]}"


def _meets(values: dict[str, Decimal | int], thresholds: dict[str, int]) -> bool:
    return all(values[f] >= t for f, t in thresholds.items())


def _describe(thresholds: dict[str, int], joiner: str, op: str) -> str:
    return f" {joiner} ".join(f"{_FIELD_LABELS[f]} {op} {t}{_FIELD_UNITS[f]}" for f, t in thresholds.items())


def size_class(
    *,
    industry_section: str,
    employees: int | None,
    revenue_wan: Decimal | None,
    assets_wan: Decimal | None,
    industry_division: str | None = None,
) -> SizeResult:
    """Enterprise size class per 《中小企业划型标准规定》(工信部联企业〔2011〕300号).

    ``industry_section`` is a GB/T 4754-2017 section letter; sections F, G, I and K
    also need ``industry_division`` (2-4 digit GB/T 4754-2017 code, e.g. "65",
    "5910", "7020") because the regulation splits them. Money is in 万元 (10,000 yuan).

    Logic, exactly as worded in the regulation: SME if below ANY one upper bound,
    otherwise large; among SMEs medium if ALL medium thresholds are met, else small
    if ALL small thresholds are met, else micro. Only the figures the row uses are
    required; a missing one gives ``size=None`` with the field named in ``reason``.
    Malformed codes and negative figures raise ValueError.
    """
    section = industry_section.strip().upper()
    if section not in INDUSTRY_SECTIONS:
        raise ValueError(f"unknown GB/T 4754-2017 section {industry_section!r}; expected A-T")
    division = industry_division.strip() if industry_division is not None else None
    if division is not None and not (division.isascii() and division.isdigit() and 2 <= len(division) <= 4):
        raise ValueError(f"industry_division must be a 2-4 digit GB/T 4754-2017 code, got {industry_division!r}")

    row = _row_for(section, division)
    if isinstance(row, str):
        return SizeResult(size=None, reason=row)

    given: dict[str, Decimal | int | None] = {
        "employees": employees,
        "revenue_wan": revenue_wan,
        "assets_wan": assets_wan,
    }
    values: dict[str, Decimal | int] = {}
    missing: list[str] = []
    for f in row.fields:
        v = given[f]
        if v is None:
            missing.append(f)
        elif v < 0:
            raise ValueError(f"{f} must not be negative, got {v}")
        else:
            values[f] = v
    if missing:
        return SizeResult(
            size=None,
            reason=f"{row.category}: cannot classify without {', '.join(missing)} "
            f"(thresholds use {', '.join(row.fields)})",
            category=row.category,
        )
    shown = ", ".join(_fmt(f, values[f]) for f in row.fields)

    below = [f for f, bound in row.sme_below.items() if values[f] < bound]
    if not below:
        return SizeResult(
            size="large",
            reason=f"{row.category}: {shown}; not below any SME bound ({_describe(row.sme_below, 'or', '<')})",
            category=row.category,
        )
    if _meets(values, row.medium_at_least):
        size, rule = "medium", f"meets medium thresholds ({_describe(row.medium_at_least, 'and', '>=')})"
    elif _meets(values, row.small_at_least):
        size = "small"
        rule = (
            f"below medium thresholds ({_describe(row.medium_at_least, 'and', '>=')}), "
            f"meets small thresholds ({_describe(row.small_at_least, 'and', '>=')})"
        )
    else:
        size, rule = "micro", f"below small thresholds ({_describe(row.small_at_least, 'and', '>=')})"
    sme = _describe({f: row.sme_below[f] for f in below}, "and", "<")
    return SizeResult(size=size, reason=f"{row.category}: {shown}; SME since {sme}; {rule}", category=row.category)
