"""Tests for ipledge.registry.rules (pure Python, no database)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipledge.registry.rules import INDUSTRY_SECTIONS, SizeResult, patent_term_end, size_class

D = Decimal

# ---------------------------------------------------------------------------
# Patent term
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patent_type", "filed", "end"),
    [
        ("invention", date(2010, 3, 5), date(2030, 3, 4)),
        ("pct_invention", date(2010, 3, 5), date(2030, 3, 4)),
        ("utility_model", date(2010, 3, 5), date(2020, 3, 4)),
        ("pct_utility_model", date(2010, 3, 5), date(2020, 3, 4)),
        ("invention", date(2010, 1, 1), date(2029, 12, 31)),
        # Design: 10 years before 2021-06-01, 15 years from that day on.
        ("design", date(2021, 5, 31), date(2031, 5, 30)),
        ("design", date(2021, 6, 1), date(2036, 5, 31)),
        ("design", date(2015, 7, 1), date(2025, 6, 30)),
        # Filed on 29 February: the term ends on 28 February.
        ("utility_model", date(2012, 2, 29), date(2022, 2, 28)),
        ("invention", date(2012, 2, 29), date(2032, 2, 28)),  # 2032 is a leap year, still 28 Feb
        ("design", date(2024, 2, 29), date(2039, 2, 28)),
        # 1 March in a leap target year: the day before is 29 February.
        ("invention", date(2004, 3, 1), date(2024, 2, 29)),
    ],
)
def test_patent_term_end(patent_type: str, filed: date, end: date) -> None:
    assert patent_term_end(patent_type=patent_type, filing_date=filed) == end


def test_patent_term_unknown_type() -> None:
    with pytest.raises(ValueError, match="unknown patent type"):
        patent_term_end(patent_type="plant_variety", filing_date=date(2020, 1, 1))


@given(
    filed=st.dates(min_value=date(1985, 4, 1), max_value=date(2100, 12, 31)),
    patent_type=st.sampled_from(["invention", "utility_model", "design", "pct_invention", "pct_utility_model"]),
)
def test_property_term_is_n_years_less_a_day(filed: date, patent_type: str) -> None:
    end = patent_term_end(patent_type=patent_type, filing_date=filed)
    years = {"invention": 20, "pct_invention": 20, "utility_model": 10, "pct_utility_model": 10}.get(
        patent_type, 15 if filed >= date(2021, 6, 1) else 10
    )
    assert end.year - filed.year in (years, years - 1)
    day_after = end + timedelta(days=1)
    # The day after the end is the anniversary (1 March when 29 Feb does not exist).
    if (filed.month, filed.day) == (2, 29) and (day_after.month, day_after.day) == (3, 1):
        assert day_after.year == filed.year + years
    else:
        assert day_after == filed.replace(year=filed.year + years)


# ---------------------------------------------------------------------------
# Size class
# ---------------------------------------------------------------------------


def _size(
    section: str,
    emp: int | None = None,
    rev: str | int | None = None,
    assets: str | int | None = None,
    division: str | None = None,
) -> str | None:
    result = size_class(
        industry_section=section,
        employees=emp,
        revenue_wan=None if rev is None else D(rev),
        assets_wan=None if assets is None else D(assets),
        industry_division=division,
    )
    assert isinstance(result, SizeResult) and result.reason
    return result.size


# Industry (B/C/D): SME if emp < 1000 or rev < 40000; medium emp>=300 & rev>=2000;
# small emp>=20 & rev>=300; micro otherwise.
@pytest.mark.parametrize(
    ("emp", "rev", "size"),
    [
        (1000, 40000, "large"),  # at both SME bounds ("以下" excludes the number) -> not SME
        (999, 40000, "medium"),  # one bound below is enough for SME
        (1000, "39999.99", "medium"),
        (5000, 100000, "large"),
        (300, 2000, "medium"),  # medium thresholds include the number ("及以上")
        (299, 2000, "small"),
        (300, "1999.99", "small"),
        (20, 300, "small"),
        (19, 300, "micro"),
        (20, "299.99", "micro"),
        (0, 0, "micro"),
        (2000, 1000, "small"),  # many staff, little revenue: SME via revenue, medium needs both
        (5, 30000, "micro"),  # "从业人员20人以下或营业收入300万元以下的为微型企业"
    ],
)
def test_size_industry(emp: int, rev: str | int, size: str) -> None:
    for section in ("B", "C", "D"):
        assert _size(section, emp, rev) == size


# Software and IT services (I 65): SME if emp < 300 or rev < 10000; medium emp>=100 & rev>=1000;
# small emp>=10 & rev>=50.
@pytest.mark.parametrize(
    ("emp", "rev", "size"),
    [
        (300, 10000, "large"),
        (299, 10000, "medium"),
        (300, "9999.99", "medium"),
        (100, 1000, "medium"),
        (99, 1000, "small"),
        (100, "999.99", "small"),
        (10, 50, "small"),
        (9, 50, "micro"),
        (10, "49.99", "micro"),
    ],
)
def test_size_software(emp: int, rev: str | int, size: str) -> None:
    for division in ("65", "651", "6510"):
        assert _size("I", emp, rev, division=division) == size


@pytest.mark.parametrize(
    ("kwargs", "size"),
    [
        # A agriculture: revenue only.
        ({"section": "A", "rev": 20000}, "large"),
        ({"section": "A", "rev": "19999"}, "medium"),
        ({"section": "A", "rev": 500}, "medium"),
        ({"section": "A", "rev": 499}, "small"),
        ({"section": "A", "rev": 50}, "small"),
        ({"section": "A", "rev": 49}, "micro"),
        # E construction: revenue and assets.
        ({"section": "E", "rev": 80000, "assets": 80000}, "large"),
        ({"section": "E", "rev": 80000, "assets": 79999}, "medium"),
        ({"section": "E", "rev": 6000, "assets": 5000}, "medium"),
        ({"section": "E", "rev": 6000, "assets": 4999}, "small"),
        ({"section": "E", "rev": 300, "assets": 299}, "micro"),
        # F wholesale / retail.
        ({"section": "F", "division": "51", "emp": 200, "rev": 40000}, "large"),
        ({"section": "F", "division": "5110", "emp": 20, "rev": 5000}, "medium"),
        ({"section": "F", "division": "51", "emp": 5, "rev": 1000}, "small"),
        ({"section": "F", "division": "51", "emp": 4, "rev": 1000}, "micro"),
        ({"section": "F", "division": "52", "emp": 300, "rev": 20000}, "large"),
        ({"section": "F", "division": "52", "emp": 50, "rev": 500}, "medium"),
        ({"section": "F", "division": "52", "emp": 10, "rev": 100}, "small"),
        ({"section": "F", "division": "52", "emp": 10, "rev": 99}, "micro"),
        # G transport, warehousing, postal.
        ({"section": "G", "division": "54", "emp": 1000, "rev": 30000}, "large"),
        ({"section": "G", "division": "54", "emp": 300, "rev": 3000}, "medium"),
        ({"section": "G", "division": "5910", "emp": 300, "rev": 3000}, "medium"),  # 装卸搬运 counts as transport
        ({"section": "G", "division": "54", "emp": 20, "rev": 200}, "small"),
        ({"section": "G", "division": "59", "emp": 200, "rev": 30000}, "large"),
        ({"section": "G", "division": "5920", "emp": 100, "rev": 1000}, "medium"),
        ({"section": "G", "division": "59", "emp": 20, "rev": 100}, "small"),
        ({"section": "G", "division": "59", "emp": 19, "rev": 100}, "micro"),
        ({"section": "G", "division": "60", "emp": 300, "rev": 2000}, "medium"),
        ({"section": "G", "division": "60", "emp": 20, "rev": 100}, "small"),
        ({"section": "G", "division": "60", "emp": 1000, "rev": 30000}, "large"),
        # H accommodation and catering.
        ({"section": "H", "emp": 300, "rev": 10000}, "large"),
        ({"section": "H", "emp": 100, "rev": 2000}, "medium"),
        ({"section": "H", "emp": 10, "rev": 100}, "small"),
        # I information transmission (63/64).
        ({"section": "I", "division": "63", "emp": 2000, "rev": 100000}, "large"),
        ({"section": "I", "division": "64", "emp": 1999, "rev": 100000}, "medium"),
        ({"section": "I", "division": "64", "emp": 10, "rev": 100}, "small"),
        ({"section": "I", "division": "64", "emp": 10, "rev": 99}, "micro"),
        # K real estate development (7010) and property management (7020).
        ({"section": "K", "division": "7010", "rev": 200000, "assets": 10000}, "large"),
        ({"section": "K", "division": "7010", "rev": 1000, "assets": 5000}, "medium"),
        ({"section": "K", "division": "701", "rev": 100, "assets": 2000}, "small"),
        ({"section": "K", "division": "7010", "rev": 100, "assets": 1999}, "micro"),
        ({"section": "K", "division": "7020", "emp": 1000, "rev": 5000}, "large"),
        ({"section": "K", "division": "7020", "emp": 300, "rev": 1000}, "medium"),
        ({"section": "K", "division": "7020", "emp": 100, "rev": 500}, "small"),
        ({"section": "K", "division": "7020", "emp": 99, "rev": 500}, "micro"),
        ({"section": "K", "division": "7030", "emp": 100}, "medium"),  # 中介: other unlisted
        # L leasing and business services: employees and assets.
        ({"section": "L", "emp": 300, "assets": 120000}, "large"),
        ({"section": "L", "emp": 100, "assets": 8000}, "medium"),
        ({"section": "L", "emp": 10, "assets": 100}, "small"),
        ({"section": "L", "emp": 10, "assets": 99}, "micro"),
        # Other unlisted (M, N, O, P, Q, R): employees only.
        ({"section": "M", "emp": 300}, "large"),
        ({"section": "M", "emp": 299}, "medium"),
        ({"section": "N", "emp": 100}, "medium"),
        ({"section": "R", "emp": 99}, "small"),
        ({"section": "Q", "emp": 10}, "small"),
        ({"section": "O", "emp": 9}, "micro"),
        ({"section": "p", "emp": 0}, "micro"),  # section letter is case-insensitive
    ],
)
def test_size_other_rows(kwargs: dict[str, object], size: str) -> None:
    assert _size(**kwargs) == size  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        ({"section": "C", "emp": 50}, "revenue_wan"),
        ({"section": "C", "rev": 500}, "employees"),
        ({"section": "C"}, "employees, revenue_wan"),
        ({"section": "A"}, "revenue_wan"),
        ({"section": "E", "rev": 500}, "assets_wan"),
        ({"section": "L", "emp": 50}, "assets_wan"),
        ({"section": "M"}, "employees"),
        ({"section": "I", "division": "65", "emp": 50}, "revenue_wan"),
    ],
)
def test_size_none_when_data_missing(kwargs: dict[str, object], missing: str) -> None:
    section = str(kwargs.pop("section"))
    result = size_class(
        industry_section=section,
        employees=kwargs.get("emp"),  # type: ignore[arg-type]
        revenue_wan=None if kwargs.get("rev") is None else D(str(kwargs["rev"])),
        assets_wan=None,
        industry_division=kwargs.get("division"),  # type: ignore[arg-type]
    )
    assert result.size is None
    assert f"without {missing}" in result.reason


def test_unused_figures_are_not_required() -> None:
    # Agriculture uses revenue only; software uses employees and revenue, not assets.
    assert _size("A", rev=100) == "small"
    assert _size("I", emp=50, rev=500, division="65") == "small"


@pytest.mark.parametrize(
    ("section", "division", "fragment"),
    [
        ("F", None, "needs industry_division"),
        ("G", None, "needs industry_division"),
        ("I", None, "needs industry_division"),
        ("K", None, "needs industry_division"),
        ("K", "70", "ambiguous"),
        ("G", "53", "railway"),
        ("J", None, "financial"),
        ("S", None, "not enterprises"),
        ("T", None, "not enterprises"),
    ],
)
def test_size_none_when_regulation_row_unknown(section: str, division: str | None, fragment: str) -> None:
    result = size_class(
        industry_section=section, employees=50, revenue_wan=D(500), assets_wan=D(500), industry_division=division
    )
    assert result.size is None
    assert fragment in result.reason


@pytest.mark.parametrize(
    ("section", "division"),
    [
        ("Z", None),
        ("", None),
        ("C1", None),
        ("F", "65"),
        ("I", "51"),
        ("G", "52"),
        ("K", "71"),
        ("F", "5x"),
        ("F", "5"),
    ],
)
def test_size_bad_codes_raise(section: str, division: str | None) -> None:
    with pytest.raises(ValueError):
        size_class(industry_section=section, employees=1, revenue_wan=D(1), assets_wan=D(1), industry_division=division)


def test_size_negative_raises() -> None:
    with pytest.raises(ValueError, match="negative"):
        size_class(industry_section="C", employees=-1, revenue_wan=D(1), assets_wan=None)


def test_reason_names_thresholds() -> None:
    result = size_class(industry_section="C", employees=500, revenue_wan=D(1000), assets_wan=None)
    assert result.size == "small"
    assert result.category == "industry"
    assert "employees < 1000" in result.reason
    assert "revenue >= 2000 wan" in result.reason
    assert "employees >= 20 and revenue >= 300 wan" in result.reason
    large = size_class(industry_section="C", employees=1500, revenue_wan=D(50000), assets_wan=None)
    assert large.size == "large" and "not below any SME bound" in large.reason


@given(
    emp=st.integers(min_value=0, max_value=5000),
    rev=st.decimals(min_value=0, max_value=200000, places=2),
)
def test_property_size_is_monotonic_in_employees(emp: int, rev: Decimal) -> None:
    order = ["micro", "small", "medium", "large"]
    a = size_class(industry_section="C", employees=emp, revenue_wan=rev, assets_wan=None).size
    b = size_class(industry_section="C", employees=emp + 1, revenue_wan=rev, assets_wan=None).size
    assert a is not None and b is not None
    assert order.index(b) >= order.index(a)


def test_industry_sections() -> None:
    assert list(INDUSTRY_SECTIONS) == [chr(c) for c in range(ord("A"), ord("T") + 1)]
    assert INDUSTRY_SECTIONS["A"] == "农、林、牧、渔业"
    assert INDUSTRY_SECTIONS["C"] == "制造业"
    assert INDUSTRY_SECTIONS["I"] == "信息传输、软件和信息技术服务业"
    assert INDUSTRY_SECTIONS["T"] == "国际组织"
