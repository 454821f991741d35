"""Chinese working days: the bundled State Council calendar and the counting rules (no database)."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipledge.registration.engine.workdays import DEFAULT_CSV, WorkingCalendar

CAL = WorkingCalendar.from_csv()

# The days of each notice, as published (国办发明电〔2023〕7号, 〔2024〕12号, 〔2025〕7号).
NOTICE_DAYS = {
    2024: {
        "holidays": 1 + 8 + 3 + 5 + 1 + 3 + 7,
        "workdays": ["2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14",
                     "2024-09-29", "2024-10-12"],
    },
    2025: {
        "holidays": 1 + 8 + 3 + 5 + 3 + 8,
        "workdays": ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"],
    },
    2026: {
        "holidays": 3 + 9 + 3 + 5 + 3 + 3 + 7,
        "workdays": ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"],
    },
}  # fmt: skip


def d(text: str) -> date:
    return date.fromisoformat(text)


def brute_between(cal: WorkingCalendar, start: date, end: date) -> int:
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += cal.is_working_day(day)
    return count


# --- the data file ----------------------------------------------------------------------------------------------


def test_csv_rows_are_well_formed_and_cite_the_notice() -> None:
    with DEFAULT_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and set(rows[0]) == {"date", "kind", "name", "source"}
    seen: set[date] = set()
    notices = {2024: "国办发明电〔2023〕7号", 2025: "国办发明电〔2024〕12号", 2026: "国办发明电〔2025〕7号"}
    for row in rows:
        day = d(row["date"])
        assert day not in seen, f"duplicate row for {day}"
        seen.add(day)
        assert row["kind"] in {"holiday", "workday"}
        assert row["name"]
        assert notices[day.year] in row["source"]
        if row["kind"] == "workday":
            assert day.weekday() >= 5, f"make-up working day {day} is not a weekend"


@pytest.mark.parametrize("year", sorted(NOTICE_DAYS))
def test_each_year_matches_its_notice(year: int) -> None:
    holidays = sorted(h for h in CAL.holidays if h.year == year)
    makeup = sorted(m.isoformat() for m in CAL.makeup_workdays if m.year == year)
    assert len(holidays) == NOTICE_DAYS[year]["holidays"]
    assert makeup == NOTICE_DAYS[year]["workdays"]
    assert CAL.covers_year(year)


def test_2023_and_2027_are_not_covered() -> None:
    assert not CAL.covers_year(2023)
    assert not CAL.covers_year(2027)


# --- known days -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        "2024-01-01", "2024-02-12", "2024-02-16", "2024-04-04", "2024-05-01", "2024-05-03", "2024-06-10",
        "2024-09-16", "2024-09-17", "2024-10-01", "2024-10-04", "2024-10-07",
        "2025-01-01", "2025-01-28", "2025-02-04", "2025-04-04", "2025-05-02", "2025-05-05", "2025-06-02",
        "2025-10-01", "2025-10-08",
        "2026-01-02", "2026-02-16", "2026-02-23", "2026-04-06", "2026-05-05", "2026-06-19", "2026-09-25",
        "2026-10-07",
    ],
)  # fmt: skip
def test_public_holidays_on_weekdays_are_not_working_days(day: str) -> None:
    assert d(day).weekday() < 5
    assert not CAL.is_working_day(d(day))


@pytest.mark.parametrize(
    "day",
    [
        "2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14", "2024-09-29",
        "2024-10-12", "2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11", "2026-01-04",
        "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
    ],
)  # fmt: skip
def test_make_up_days_on_weekends_are_working_days(day: str) -> None:
    assert d(day).weekday() >= 5
    assert CAL.is_working_day(d(day))


def test_spring_festival_eve_2024_is_a_working_day() -> None:
    # The 2024 notice only *encourages* employers to give 除夕 (Fri 9 Feb) off: it is not a public holiday.
    assert CAL.is_working_day(d("2024-02-09"))
    # From 2025 除夕 is a statutory holiday (revised 全国年节及纪念日放假办法).
    assert not CAL.is_working_day(d("2025-01-28"))


def test_ordinary_weekends_and_weekdays() -> None:
    assert not CAL.is_working_day(d("2024-11-09"))  # Saturday
    assert not CAL.is_working_day(d("2024-11-10"))  # Sunday
    assert CAL.is_working_day(d("2024-11-11"))  # Monday
    plain = WorkingCalendar()
    assert [plain.is_working_day(d("2024-07-01") + timedelta(days=i)) for i in range(7)] == [
        True, True, True, True, True, False, False,
    ]  # fmt: skip


# --- counting ---------------------------------------------------------------------------------------------------


def test_add_working_days_across_2024_national_day_golden_week() -> None:
    # Fri 27 Sep 2024 + 1 → Sun 29 Sep (make-up day); + 2 → Mon 30 Sep; + 3 → Tue 8 Oct (after the golden week).
    start = d("2024-09-27")
    assert CAL.add_working_days(start, 1) == d("2024-09-29")
    assert CAL.add_working_days(start, 2) == d("2024-09-30")
    assert CAL.add_working_days(start, 3) == d("2024-10-08")
    # 8, 9, 10, 11 Oct and the make-up Saturday 12 Oct.
    assert CAL.add_working_days(start, 7) == d("2024-10-12")
    assert CAL.add_working_days(start, 8) == d("2024-10-14")
    # A 5-working-day time limit from 30 Sep ends on 12 Oct (a Saturday, but a make-up working day).
    assert CAL.add_working_days(d("2024-09-30"), 5) == d("2024-10-12")
    assert CAL.working_days_between(d("2024-09-30"), d("2024-10-12")) == 5
    assert CAL.working_days_between(d("2024-09-30"), d("2024-10-07")) == 0


def test_add_zero_working_days() -> None:
    assert CAL.add_working_days(d("2024-10-08"), 0) == d("2024-10-08")
    assert CAL.add_working_days(d("2024-10-01"), 0) == d("2024-10-08")
    assert CAL.add_working_days(d("2024-09-28"), 0) == d("2024-09-29")  # Saturday → the make-up Sunday


def test_spring_festival_2025() -> None:
    assert CAL.add_working_days(d("2025-01-27"), 1) == d("2025-02-05")
    assert CAL.working_days_between(d("2025-01-24"), d("2025-02-10")) == 1 + 1 + 3 + 1 + 1  # 26, 27, 5–7, 8, 10 Jan/Feb


def test_negative_days_rejected() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(d("2024-10-08"), -1)


def test_between_is_zero_when_end_not_after_start() -> None:
    assert CAL.working_days_between(d("2024-10-08"), d("2024-10-08")) == 0
    assert CAL.working_days_between(d("2024-10-09"), d("2024-10-08")) == 0
    assert CAL.working_days_in(d("2024-10-08"), d("2024-10-08")) == 1


def test_whole_year_counts() -> None:
    # 2024: 262 weekdays − 19 weekday holidays + 8 make-up days = 251;
    # 2025: 261 weekdays − 18 weekday holidays + 5 make-up days = 248.
    for year in (2024, 2025, 2026):
        first, last = date(year, 1, 1), date(year, 12, 31)
        assert CAL.working_days_in(first, last) == brute_between(CAL, first - timedelta(days=1), last)
    assert CAL.working_days_in(date(2024, 1, 1), date(2024, 12, 31)) == 251
    assert CAL.working_days_in(date(2025, 1, 1), date(2025, 12, 31)) == 248


# --- properties -------------------------------------------------------------------------------------------------

dates = st.dates(min_value=date(2023, 6, 1), max_value=date(2027, 6, 30))


@given(start=dates, days=st.integers(min_value=1, max_value=400))
def test_between_inverts_add(start: date, days: int) -> None:
    end = CAL.add_working_days(start, days)
    assert CAL.is_working_day(end)
    assert CAL.working_days_between(start, end) == days
    assert CAL.working_days_between(start, end - timedelta(days=1)) == days - 1


@given(start=dates, end=dates)
def test_add_inverts_between(start: date, end: date) -> None:
    n = CAL.working_days_between(start, end)
    assert n == brute_between(CAL, start, end)
    if n > 0:
        reached = CAL.add_working_days(start, n)
        assert reached <= end
        if CAL.is_working_day(end):
            assert reached == end


@given(start=dates, a=st.integers(min_value=0, max_value=60), b=st.integers(min_value=0, max_value=60))
def test_add_is_additive_from_working_days(start: date, a: int, b: int) -> None:
    first = CAL.add_working_days(start, a)
    if CAL.is_working_day(start) or a > 0:
        assert CAL.add_working_days(first, b) == CAL.add_working_days(start, a + b)


# --- loading ----------------------------------------------------------------------------------------------------


def test_from_csv_custom_file_with_comments(tmp_path: Path) -> None:
    path = tmp_path / "cal.csv"
    path.write_text(
        "# 2027 rows are added when the notice is published\n"
        "date,kind,name,source\n"
        "2027-01-01,holiday,元旦,test\n"
        "\n"
        "2027-01-02,workday,调休,test\n",
        encoding="utf-8",
    )
    cal = WorkingCalendar.from_csv(path)
    assert not cal.is_working_day(d("2027-01-01"))
    assert cal.is_working_day(d("2027-01-02"))
    assert cal.covered_years == frozenset({2027})


def test_from_csv_rejects_bad_kind(tmp_path: Path) -> None:
    path = tmp_path / "cal.csv"
    path.write_text("date,kind,name,source\n2027-01-01,festival,元旦,test\n", encoding="utf-8")
    with pytest.raises(ValueError, match="kind"):
        WorkingCalendar.from_csv(path)


def test_conflicting_days_rejected() -> None:
    with pytest.raises(ValueError, match="both"):
        WorkingCalendar(holidays=[d("2024-10-12")], makeup_workdays=[d("2024-10-12")])
