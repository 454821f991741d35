"""Repayment schedule engine (还款计划): hand-computed examples and property tests against an exact recomputation."""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipledge.lending.engine.schedule import (
    CUSTOM,
    EQUAL_INSTALMENT,
    EQUAL_PRINCIPAL,
    INTEREST_ONLY_BULLET,
    SCHEDULE_FRAME_SCHEMA,
    ScheduledInstalment,
    ScheduleError,
    ScheduleTerms,
    build_schedule,
    build_schedules,
    period_interest_fen,
)

D = Decimal
date = datetime.date
PROPERTY = settings(max_examples=200, deadline=None)


def terms(**overrides: object) -> ScheduleTerms:
    base: dict[str, object] = {
        "principal_fen": 100_000_000,  # 1,000,000.00 yuan
        "start": date(2025, 1, 15),
        "maturity": date(2026, 1, 15),
        "interval_months": 1,
        "method": EQUAL_INSTALMENT,
        "annual_rate": D("0.0345"),
    }
    base.update(overrides)
    return ScheduleTerms(**base)  # type: ignore[arg-type]


def rows(schedule: list[ScheduledInstalment]) -> list[tuple[int, date, int, int]]:
    return [(i.number, i.due_date, i.principal_fen, i.interest_fen) for i in schedule]


# --- hand-computed examples -------------------------------------------------------------------------------------


def test_equal_instalment_monthly_hand_computed() -> None:
    # 1,000,000.00 yuan, 12 months, 3.45 %, monthly 等额本息 from 2025-01-15.
    # Periodic rate r = 0.0345 / 12 = 0.002875; level payment = 100,000,000 × r / (1 − 1.002875^−12)
    #   = 8,489,882.13 → 8,489,882 fen (half-up).
    # #1 Jan 15 → Feb 15, 31 days: interest 100,000,000 × 0.0345 × 31 / 360 = 297,083.33 → 297,083;
    #    principal 8,489,882 − 297,083 = 8,192,799; balance 91,807,201.
    # #2 Feb 15 → Mar 15, 28 days: 91,807,201 × 0.0345 × 28 / 360 = 246,349.32 → 246,349;
    #    principal 8,489,882 − 246,349 = 8,243,533.
    # #12 takes the remaining balance 8,483,476; interest 8,483,476 × 0.0345 × 31 / 360 = 25,203.16 → 25,203.
    schedule = build_schedule(terms())
    assert len(schedule) == 12
    assert rows(schedule)[:2] == [
        (1, date(2025, 2, 15), 8_192_799, 297_083),
        (2, date(2025, 3, 15), 8_243_533, 246_349),
    ]
    assert rows(schedule)[-1] == (12, date(2026, 1, 15), 8_483_476, 25_203)
    assert all(i.principal_fen + i.interest_fen == 8_489_882 for i in schedule[:-1])
    assert sum(i.principal_fen for i in schedule) == 100_000_000
    assert sum(i.interest_fen for i in schedule) == 1_897_381
    assert schedule[0].period_start == date(2025, 1, 15)
    assert [i.period_start for i in schedule[1:]] == [i.due_date for i in schedule[:-1]]
    assert {i.annual_rate for i in schedule} == {D("0.0345")}


def test_equal_principal_hand_computed() -> None:
    # 1,200,000.00 yuan, 12 months, 4.2 %, 等额本金 from 2025-03-10: principal 10,000,000 fen a month.
    # #1 Mar 10 → Apr 10, 31 days: 120,000,000 × 0.042 × 31 / 360 = 434,000.00.
    # #2 Apr 10 → May 10, 30 days: 110,000,000 × 0.042 × 30 / 360 = 385,000.00.
    # #12 Feb 10 → Mar 10 2026, 28 days: 10,000,000 × 0.042 × 28 / 360 = 32,666.67 → 32,667.
    schedule = build_schedule(
        terms(
            principal_fen=120_000_000,
            start=date(2025, 3, 10),
            maturity=date(2026, 3, 10),
            method=EQUAL_PRINCIPAL,
            annual_rate=D("0.042"),
        )
    )
    assert {i.principal_fen for i in schedule} == {10_000_000}
    assert [i.interest_fen for i in schedule[:2]] == [434_000, 385_000]
    assert schedule[-1].interest_fen == 32_667


def test_equal_principal_spreads_the_odd_fen_by_cumulative_rounding() -> None:
    # 100 fen over 3: round(100/3)=33, round(200/3)=67 → 34, 100 → 33: no instalment is more than a fen off 33.33.
    schedule = build_schedule(
        terms(principal_fen=100, maturity=date(2025, 4, 15), method=EQUAL_PRINCIPAL, annual_rate=D(0))
    )
    assert [i.principal_fen for i in schedule] == [33, 34, 33]
    assert [i.interest_fen for i in schedule] == [0, 0, 0]


def test_interest_only_bullet_quarterly_month_end() -> None:
    # 500,000.00 yuan, quarterly, 1 year, 3.85 %, from 2025-01-31: due on the last day of Apr, Jul, Oct, Jan.
    # Jan 31 → Apr 30 = 89 days: 50,000,000 × 0.0385 × 89 / 360 = 475,902.78 → 475,903.
    # Apr 30 → Jul 31, Jul 31 → Oct 31, Oct 31 → Jan 31 = 92 days each: × 92 / 360 = 491,944.44 → 491,944.
    schedule = build_schedule(
        terms(
            principal_fen=50_000_000,
            start=date(2025, 1, 31),
            maturity=date(2026, 1, 31),
            interval_months=3,
            method=INTEREST_ONLY_BULLET,
            annual_rate=D("0.0385"),
        )
    )
    assert rows(schedule) == [
        (1, date(2025, 4, 30), 0, 475_903),
        (2, date(2025, 7, 31), 0, 491_944),
        (3, date(2025, 10, 31), 0, 491_944),
        (4, date(2026, 1, 31), 50_000_000, 491_944),
    ]


def test_anchor_day_31_clamps_to_month_end_in_a_leap_year() -> None:
    schedule = build_schedule(terms(start=date(2024, 1, 31), maturity=date(2024, 5, 31)))
    assert [i.due_date for i in schedule] == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
    ]


def test_explicit_anchor_day_and_final_stub() -> None:
    # Start on the 5th, repay on the 20th: the grid counts back from maturity (Jul 5) on day 20, so the first
    # period is Jan 5 → Jan 20 and the last is the stub Jun 20 → Jul 5.
    schedule = build_schedule(terms(start=date(2025, 1, 5), maturity=date(2025, 7, 5), anchor_day=20))
    assert [i.due_date for i in schedule] == [
        date(2025, 1, 20),
        date(2025, 2, 20),
        date(2025, 3, 20),
        date(2025, 4, 20),
        date(2025, 5, 20),
        date(2025, 6, 20),
        date(2025, 7, 5),
    ]


def test_odd_term_puts_the_stub_first() -> None:
    # 13 months quarterly: the grid counts back from maturity, so the one-month stub is the first period.
    schedule = build_schedule(terms(maturity=date(2026, 2, 15), interval_months=3, method=INTEREST_ONLY_BULLET))
    assert [i.due_date for i in schedule] == [
        date(2025, 2, 15),
        date(2025, 5, 15),
        date(2025, 8, 15),
        date(2025, 11, 15),
        date(2026, 2, 15),
    ]


def test_rebuild_from_mid_period_keeps_the_grid_and_numbering() -> None:
    # After a partial prepayment on 2025-03-10 the service rebuilds the rest: the next due date stays Mar 15.
    schedule = build_schedule(
        terms(principal_fen=50_000_000, start=date(2025, 3, 10), anchor_day=15, first_number=3, method=EQUAL_PRINCIPAL)
    )
    assert schedule[0].number == 3
    assert schedule[0].due_date == date(2025, 3, 15)
    # 5 days: 50,000,000 × 0.0345 × 5 / 360 = 23,958.33 → 23,958.
    assert schedule[0].interest_fen == 23_958
    assert [i.number for i in schedule] == list(range(3, 14))


def test_grace_period_carries_interest_only() -> None:
    # 600,000.00 yuan 等额本金, 12 monthly instalments, principal grace until 2025-04-15: #1–#3 interest only,
    # then 60,000,000 over 9 by cumulative rounding: 6,666,667, 6,666,666, 6,666,667, …
    schedule = build_schedule(terms(principal_fen=60_000_000, method=EQUAL_PRINCIPAL, grace_until=date(2025, 4, 15)))
    assert [i.principal_fen for i in schedule[:3]] == [0, 0, 0]
    assert [i.principal_fen for i in schedule[3:6]] == [6_666_667, 6_666_666, 6_666_667]
    # #1 interest on the full balance: 60,000,000 × 0.0345 × 31 / 360 = 178,250.00.
    assert schedule[0].interest_fen == 178_250
    assert sum(i.principal_fen for i in schedule) == 60_000_000


def test_grace_then_equal_instalments_level_over_the_rest() -> None:
    schedule = build_schedule(terms(grace_until=date(2025, 6, 15)))
    assert [i.principal_fen for i in schedule[:5]] == [0] * 5
    payments = {i.principal_fen + i.interest_fen for i in schedule[5:-1]}
    # level payment over 7 instalments: 100,000,000 × 0.002875 / (1 − 1.002875^−7) = 14,450,471.64 → 14,450,472.
    assert payments == {14_450_472}


def test_rate_reset_inside_a_period_splits_interest_by_days() -> None:
    # Bullet, 1,000,000.00 yuan at 3.45 %, LPR reset to 3.10 % effective 2025-02-20.
    # #2 Feb 15 → Mar 15: 5 days at 3.45 % + 23 days at 3.10 %:
    #    100,000,000 × (0.0345 × 5 + 0.031 × 23) / 360 = 100,000,000 × 0.8855 / 360 = 245,972.22 → 245,972.
    # #3 Mar 15 → Apr 15: 100,000,000 × 0.031 × 31 / 360 = 266,944.44 → 266,944.
    schedule = build_schedule(
        terms(
            maturity=date(2025, 4, 15),
            method=INTEREST_ONLY_BULLET,
            rate_resets=((date(2025, 2, 20), D("0.031")),),
        )
    )
    assert [(i.annual_rate, i.interest_fen) for i in schedule] == [
        (D("0.0345"), 297_083),
        (D("0.0345"), 245_972),
        (D("0.031"), 266_944),
    ]


def test_period_interest_for_an_arbitrary_span() -> None:
    # The same split as #2 above: 245,972; and to a payoff date mid-period, Mar 15 → Mar 25 at 3.10 %:
    # 100,000,000 × 0.031 × 10 / 360 = 86,111.11 → 86,111.
    resets = ((date(2025, 2, 20), D("0.031")),)
    feb = period_interest_fen(
        100_000_000, date(2025, 2, 15), date(2025, 3, 15), annual_rate=D("0.0345"), rate_resets=resets
    )
    assert feb == 245_972
    mar = period_interest_fen(
        100_000_000, date(2025, 3, 15), date(2025, 3, 25), annual_rate=D("0.0345"), rate_resets=resets
    )
    assert mar == 86_111
    assert period_interest_fen(100_000_000, date(2025, 3, 15), date(2025, 3, 15), annual_rate=D("0.0345")) == 0


def test_rate_reset_relevels_equal_instalments_on_the_remaining_balance() -> None:
    plain = build_schedule(terms())
    reset = build_schedule(terms(rate_resets=((date(2025, 7, 15), D("0.031")),)))
    assert rows(reset)[:6] == rows(plain)[:6]
    balance = 100_000_000 - sum(i.principal_fen for i in plain[:6])
    # Re-levelled on the balance after #6 over 6 instalments at r = 0.031 / 12.
    with localcontext() as ctx:
        ctx.prec = 40
        r = D("0.031") / 12
        level = int((balance * r / (1 - (1 + r) ** -6)).to_integral_value(ROUND_HALF_UP))
    assert {i.principal_fen + i.interest_fen for i in reset[6:-1]} == {level}
    assert {i.annual_rate for i in reset[6:]} == {D("0.031")}
    assert sum(i.principal_fen for i in reset) == 100_000_000


def test_resets_outside_the_loan_are_ignored() -> None:
    ignored = ((date(2025, 1, 15), D("0.05")), (date(2026, 2, 1), D("0.06")))
    assert rows(build_schedule(terms(rate_resets=ignored))) == rows(build_schedule(terms()))


def test_zero_rate_equal_instalment() -> None:
    schedule = build_schedule(terms(principal_fen=100_000, maturity=date(2025, 4, 15), annual_rate=D(0)))
    assert [(i.principal_fen, i.interest_fen) for i in schedule] == [(33_333, 0), (33_333, 0), (33_334, 0)]


def test_custom_plan() -> None:
    plan = ((date(2025, 4, 15), 20_000_000), (date(2025, 9, 30), 0), (date(2026, 1, 15), 80_000_000))
    schedule = build_schedule(terms(method=CUSTOM, custom_principal=plan))
    assert [(i.due_date, i.principal_fen) for i in schedule] == [(d, p) for d, p in plan]
    # #2 Apr 15 → Sep 30, 168 days on 80,000,000: × 0.0345 × 168 / 360 = 1,288,000.00.
    assert schedule[1].interest_fen == 1_288_000


def test_single_short_period() -> None:
    # One instalment: 10,000.00 yuan for 10 days at 3.6 %: 1,000,000 × 0.036 × 10 / 360 = 1,000.00.
    schedule = build_schedule(terms(principal_fen=1_000_000, maturity=date(2025, 1, 25), annual_rate=D("0.036")))
    assert rows(schedule) == [(1, date(2025, 1, 25), 1_000_000, 1_000)]


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"principal_fen": 0}, "principal_fen", "principal_not_positive"),
        ({"principal_fen": -5}, "principal_fen", "principal_not_positive"),
        ({"maturity": date(2025, 1, 15)}, "maturity", "maturity_not_after_start"),
        ({"maturity": date(2024, 1, 15)}, "maturity", "maturity_not_after_start"),
        ({"interval_months": 0}, "interval_months", "interval_too_small"),
        ({"method": "balloon"}, "method", "unknown_method"),
        ({"annual_rate": D("-0.01")}, "annual_rate", "negative_rate"),
        ({"annual_rate": D("1.2")}, "annual_rate", "rate_too_high"),
        ({"annual_rate": 0.0345}, "annual_rate", "rate_not_decimal"),
        ({"anchor_day": 32}, "anchor_day", "invalid_anchor_day"),
        ({"first_number": 0}, "first_number", "invalid_first_number"),
        ({"grace_until": date(2026, 1, 15)}, "grace_until", "grace_not_before_maturity"),
        ({"rate_resets": ((date(2025, 6, 1), D("-0.001")),)}, "rate_resets", "negative_rate"),
        (
            {"rate_resets": ((date(2025, 6, 1), D("0.03")), (date(2025, 6, 1), D("0.04")))},
            "rate_resets",
            "reset_dates_not_unique",
        ),
        ({"method": CUSTOM}, "custom_principal", "custom_plan_missing"),
        ({"custom_principal": ((date(2026, 1, 15), 100_000_000),)}, "custom_principal", "custom_plan_unexpected"),
        (
            {"method": CUSTOM, "custom_principal": ((date(2026, 1, 15), 99_999_999),)},
            "custom_principal",
            "custom_sum_mismatch",
        ),
        (
            {"method": CUSTOM, "custom_principal": ((date(2025, 1, 15), 1), (date(2026, 1, 15), 99_999_999))},
            "custom_principal",
            "custom_date_out_of_range",
        ),
        (
            {"method": CUSTOM, "custom_principal": ((date(2026, 2, 1), 100_000_000),)},
            "custom_principal",
            "custom_date_out_of_range",
        ),
        (
            {"method": CUSTOM, "custom_principal": ((date(2025, 6, 1), 1), (date(2025, 3, 1), 99_999_999))},
            "custom_principal",
            "custom_dates_not_increasing",
        ),
        (
            {"method": CUSTOM, "custom_principal": ((date(2025, 6, 1), 1), (date(2025, 6, 1), 99_999_999))},
            "custom_principal",
            "custom_dates_not_increasing",
        ),
        (
            {"method": CUSTOM, "custom_principal": ((date(2025, 6, 1), -1), (date(2026, 1, 15), 100_000_001))},
            "custom_principal",
            "custom_negative_principal",
        ),
        (
            {"method": CUSTOM, "custom_principal": ((date(2025, 6, 1), 100_000_000),)},
            "custom_principal",
            "custom_last_not_maturity",
        ),
        (
            {
                "method": CUSTOM,
                "grace_until": date(2025, 7, 1),
                "custom_principal": ((date(2025, 6, 1), 1), (date(2026, 1, 15), 99_999_999)),
            },
            "custom_principal",
            "custom_principal_in_grace",
        ),
    ],
)
def test_invalid_terms_raise_schedule_error(overrides: dict[str, object], field: str, code: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        build_schedule(terms(**overrides))
    error = caught.value
    assert (error.field, error.code) == (field, code)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error.message)  # zh-hans message
    assert issubclass(ScheduleError, ValueError)


def test_build_schedules_frame_matches_build_schedule() -> None:
    many = [
        terms(),
        terms(method=EQUAL_PRINCIPAL, first_number=4, rate_resets=((date(2025, 5, 1), D("0.031")),)),
        terms(method=INTEREST_ONLY_BULLET, interval_months=3, annual_rate=D("0.0385")),
    ]
    frame = build_schedules(many)
    assert frame.schema == pl.Schema(SCHEDULE_FRAME_SCHEMA)
    expected = [
        (index, i.number, i.period_start, i.due_date, i.annual_rate, i.principal_fen, i.interest_fen)
        for index, t in enumerate(many)
        for i in build_schedule(t)
    ]
    assert frame.rows() == expected
    assert frame.height == 12 + 12 + 4


def test_build_schedules_names_the_bad_loan() -> None:
    with pytest.raises(ScheduleError) as caught:
        build_schedules([terms(), terms(interval_months=0)])
    assert caught.value.code == "interval_too_small"
    assert "第 1 笔" in caught.value.message


def test_build_schedules_empty() -> None:
    frame = build_schedules([])
    assert frame.height == 0
    assert frame.schema == pl.Schema(SCHEDULE_FRAME_SCHEMA)


# --- property tests ---------------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for candidate in (31, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


rates = st.integers(min_value=0, max_value=240_000).map(lambda micro: Decimal(micro).scaleb(-6))


@st.composite
def schedule_terms(draw: st.DrawFn, method: str | None = None) -> ScheduleTerms:
    method = method or draw(st.sampled_from([EQUAL_INSTALMENT, EQUAL_PRINCIPAL, INTEREST_ONLY_BULLET, CUSTOM]))
    start = date(2015, 1, 1) + datetime.timedelta(days=draw(st.integers(0, 5_000)))
    maturity = add_months(start, draw(st.integers(1, 60))) + datetime.timedelta(days=draw(st.integers(0, 40)))
    span = (maturity - start).days
    principal = draw(st.integers(1, 10**11))
    resets = draw(
        st.lists(
            st.tuples(st.integers(-30, span + 30).map(lambda d: start + datetime.timedelta(days=d)), rates),
            max_size=3,
            unique_by=lambda r: r[0],
        )
    )
    custom: tuple[tuple[date, int], ...] = ()
    grace = None
    if method == CUSTOM:
        offsets = draw(st.lists(st.integers(1, span - 1), max_size=12, unique=True)) if span > 1 else []
        days = [start + datetime.timedelta(days=o) for o in sorted(offsets)] + [maturity]
        weights = draw(st.lists(st.integers(0, 100), min_size=len(days), max_size=len(days)))
        total = sum(weights) or 1
        cuts = [principal * sum(weights[: k + 1]) // total for k in range(len(days))]
        cuts[-1] = principal
        custom = tuple(zip(days, [cuts[0]] + [b - a for a, b in zip(cuts, cuts[1:], strict=False)], strict=True))
    elif draw(st.booleans()):
        grace = start + datetime.timedelta(days=draw(st.integers(0, span - 1)))
    return ScheduleTerms(
        principal_fen=principal,
        start=start,
        maturity=maturity,
        interval_months=draw(st.sampled_from([1, 1, 3, 6, 12])),
        method=method,
        annual_rate=draw(rates),
        anchor_day=draw(st.none() | st.integers(1, 31)),
        grace_until=grace,
        rate_resets=tuple(resets),
        custom_principal=custom,
        first_number=draw(st.integers(1, 30)),
    )


def rate_on(t: ScheduleTerms, day: date) -> Decimal:
    """The rate in force on `day` (resets effective on or before `start` do not apply)."""
    applicable = [(d, r) for d, r in t.rate_resets if t.start < d <= day]
    return max(applicable)[1] if applicable else t.annual_rate


def exact_period_interest(t: ScheduleTerms, balance: Fraction, begin: date, end: date) -> Fraction:
    """balance × Σ rate × days / 360 over [begin, end), day by day — slow, obviously right."""
    weighted = sum(
        (Fraction(rate_on(t, begin + datetime.timedelta(days=k))) for k in range((end - begin).days)), Fraction(0)
    )
    return balance * weighted / 360


def round_half_up(value: Fraction) -> int:
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


@given(schedule_terms())
@PROPERTY
def test_principal_repaid_equals_principal_lent(t: ScheduleTerms) -> None:
    schedule = build_schedule(t)
    assert sum(i.principal_fen for i in schedule) == t.principal_fen
    assert all(i.principal_fen >= 0 and i.interest_fen >= 0 for i in schedule)


@given(schedule_terms())
@PROPERTY
def test_dates_numbers_and_periods_are_consistent(t: ScheduleTerms) -> None:
    schedule = build_schedule(t)
    dues = [i.due_date for i in schedule]
    assert all(a < b for a, b in zip(dues, dues[1:], strict=False))
    assert dues[-1] == t.maturity
    assert dues[0] > t.start
    assert [i.period_start for i in schedule] == [t.start, *dues[:-1]]
    assert [i.number for i in schedule] == list(range(t.first_number, t.first_number + len(schedule)))
    assert [i.annual_rate for i in schedule] == [rate_on(t, i.period_start) for i in schedule]
    if t.grace_until is not None:
        assert all(i.principal_fen == 0 for i in schedule[:-1] if i.due_date <= t.grace_until)


@given(schedule_terms())
@PROPERTY
def test_interest_is_rounded_once_per_instalment_on_the_balance(t: ScheduleTerms) -> None:
    later_resets = [(day, rate) for day, rate in t.rate_resets if day > t.start]
    balance = t.principal_fen
    for inst in build_schedule(t):
        exact = exact_period_interest(t, Fraction(balance), inst.period_start, inst.due_date)
        assert inst.interest_fen == round_half_up(exact)
        assert inst.interest_fen == period_interest_fen(
            balance, inst.period_start, inst.due_date, annual_rate=t.annual_rate, rate_resets=later_resets
        )
        balance -= inst.principal_fen


def exact_schedule(t: ScheduleTerms) -> list[tuple[Fraction, Fraction]]:
    """(principal, interest) per instalment with no rounding at all, on the engine's due dates."""
    dates = [i.due_date for i in build_schedule(t)]
    n = len(dates)
    grace = sum(1 for d in dates[:-1] if t.grace_until is not None and d <= t.grace_until)
    balance = Fraction(t.principal_fen)
    begin = t.start
    payment, levelled_at = Fraction(0), None
    result = []
    for index, due in enumerate(dates):
        interest = exact_period_interest(t, balance, begin, due)
        rate = rate_on(t, begin)
        if index == n - 1:
            principal = balance
        elif t.method == INTEREST_ONLY_BULLET or index < grace:
            principal = Fraction(0)
        elif t.method == EQUAL_PRINCIPAL:
            principal = Fraction(t.principal_fen, n - grace)
        else:
            if levelled_at is None or rate != levelled_at:
                with localcontext() as ctx:
                    ctx.prec = 60
                    r = rate * t.interval_months / 12
                    factor = 1 / Decimal(n - index) if r == 0 else r / (1 - (1 + r) ** -(n - index))
                payment, levelled_at = balance * Fraction(factor), rate
            principal = min(balance, max(Fraction(0), payment - interest))
        result.append((principal, interest))
        balance -= principal
        begin = due
    return result


@given(schedule_terms(method=EQUAL_INSTALMENT) | schedule_terms(method=EQUAL_PRINCIPAL))
@PROPERTY
def test_no_rounding_drift_beyond_one_fen_per_instalment(t: ScheduleTerms) -> None:
    schedule = build_schedule(t)
    exact = exact_schedule(t)
    cumulative_principal = cumulative_exact = Fraction(0)
    for k, (inst, (principal, _)) in enumerate(zip(schedule, exact, strict=True), start=1):
        cumulative_principal += inst.principal_fen
        cumulative_exact += principal
        assert abs(cumulative_principal - cumulative_exact) <= k
        if t.method == EQUAL_PRINCIPAL:  # cumulative rounding: every instalment, the last too, within a fen
            assert abs(inst.principal_fen - principal) < 1
    interest_drift = Fraction(sum(i.interest_fen for i in schedule)) - sum((i for _, i in exact), Fraction(0))
    assert abs(interest_drift) <= len(schedule)
