"""Chinese working days (工作日) with public holidays and make-up working days (调休).

Examination time limits (审查时限) are counted in working days. A day is a working day when it is Monday to
Friday and not a public holiday, or when it is a Saturday or Sunday that the State Council has declared a
make-up working day (调休上班).

The calendar is configuration, not code: `engine/data/cn_public_holidays.csv` holds the days of the State
Council General Office's annual notice (国务院办公厅关于X年部分节假日安排的通知). It covers 2024, 2025 and
2026 (notices 国办发明电〔2023〕7号, 〔2024〕12号 and 〔2025〕7号). An administrator adds the next year's rows
each year when the notice is published (usually in October or November); a year with no rows is counted with
plain Monday-to-Friday weeks, which `covers_year` lets callers detect.

Pure Python, no Django imports.
"""

from __future__ import annotations

import csv
from bisect import bisect_right
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

DEFAULT_CSV = Path(__file__).resolve().parent / "data" / "cn_public_holidays.csv"

HOLIDAY = "holiday"
WORKDAY = "workday"
CSV_FIELDS = ("date", "kind", "name", "source")

_ONE_DAY = timedelta(days=1)


def _is_weekend(day: date) -> bool:
    return day.weekday() >= 5


def _weekdays_through(day: date) -> int:
    """Number of Monday-to-Friday days from the proleptic epoch up to and including `day`."""
    ordinal = day.toordinal()  # date(1, 1, 1) is ordinal 1 and a Monday
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest, 5)


class WorkingCalendar:
    """A set of public holidays and make-up working days on top of the Monday-to-Friday week."""

    def __init__(self, *, holidays: Iterable[date] = (), makeup_workdays: Iterable[date] = ()) -> None:
        self._holidays = frozenset(holidays)
        self._makeup = frozenset(makeup_workdays)
        both = self._holidays & self._makeup
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"days listed both as holiday and as make-up working day: {listed}")
        # Only the days that change the Monday-to-Friday answer matter for counting.
        self._weekday_holidays = tuple(sorted(d for d in self._holidays if not _is_weekend(d)))
        self._weekend_workdays = tuple(sorted(d for d in self._makeup if _is_weekend(d)))

    @property
    def holidays(self) -> frozenset[date]:
        return self._holidays

    @property
    def makeup_workdays(self) -> frozenset[date]:
        return self._makeup

    @property
    def covered_years(self) -> frozenset[int]:
        """Years for which the calendar holds at least one holiday (i.e. the year's notice was loaded)."""
        return frozenset(d.year for d in self._holidays)

    def covers_year(self, year: int) -> bool:
        return year in self.covered_years

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday unless a public holiday; Saturday or Sunday only if a make-up working day."""
        if day in self._makeup:
            return True
        if day in self._holidays:
            return False
        return not _is_weekend(day)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += _ONE_DAY
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (`start` itself is not counted).

        `days=0` returns `start` if it is a working day, else the next working day.
        """
        if days < 0:
            raise ValueError("days must be ≥ 0")
        if days == 0:
            return start if self.is_working_day(start) else self.next_working_day(start)
        day = start
        for _ in range(days):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days in the half-open interval (start, end]; 0 if end ≤ start."""
        if end <= start:
            return 0
        count = _weekdays_through(end) - _weekdays_through(start)
        count -= bisect_right(self._weekday_holidays, end) - bisect_right(self._weekday_holidays, start)
        count += bisect_right(self._weekend_workdays, end) - bisect_right(self._weekend_workdays, start)
        return count

    def working_days_in(self, first: date, last: date) -> int:
        """Number of working days in the closed interval [first, last]; 0 if last < first."""
        if last < first:
            return 0
        return self.working_days_between(first - _ONE_DAY, last)

    @classmethod
    def from_csv(cls, path: Path | None = None) -> WorkingCalendar:
        """Load a calendar from a `date,kind,name,source` CSV (default: the bundled Chinese calendar).

        `kind` is `holiday` or `workday` (make-up working day). Blank lines and lines starting with `#` are
        ignored, so an administrator may annotate the file.
        """
        csv_path = DEFAULT_CSV if path is None else path
        holidays: list[date] = []
        makeup: list[date] = []
        with csv_path.open(encoding="utf-8", newline="") as handle:
            lines = (line for line in handle if line.strip() and not line.lstrip().startswith("#"))
            reader = csv.DictReader(lines)
            missing = [name for name in CSV_FIELDS[:2] if name not in (reader.fieldnames or ())]
            if missing:
                raise ValueError(f"{csv_path}: missing column(s) {', '.join(missing)}")
            for number, row in enumerate(reader, start=1):
                raw_date = (row.get("date") or "").strip()
                kind = (row.get("kind") or "").strip()
                try:
                    day = date.fromisoformat(raw_date)
                except ValueError as exc:
                    raise ValueError(f"{csv_path}: data row {number}: bad date {raw_date!r}") from exc
                if kind == HOLIDAY:
                    holidays.append(day)
                elif kind == WORKDAY:
                    makeup.append(day)
                else:
                    raise ValueError(
                        f"{csv_path}: data row {number}: kind must be 'holiday' or 'workday', not {kind!r}"
                    )
        return cls(holidays=holidays, makeup_workdays=makeup)


__all__ = ["DEFAULT_CSV", "HOLIDAY", "WORKDAY", "WorkingCalendar"]
