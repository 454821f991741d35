"""Arrears engine (逾期): penalty interest (罚息), days past due and payment allocation."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipledge.lending.engine.arrears import (
    Allocation,
    AllocationLine,
    InstalmentState,
    allocate_payment,
    days_past_due,
    penalty_accrued_fen,
    penalty_outstanding_fen,
    penalty_rate_for,
)

D = Decimal
date = datetime.date
PROPERTY = settings(max_examples=200, deadline=None)
PENALTY = D("0.05175")  # 3.45 % × (1 + 0.5)


def inst(
    number: int,
    due: date,
    principal: int,
    interest: int,
    *,
    principal_paid: int = 0,
    interest_paid: int = 0,
    penalty_paid: int = 0,
    payments: tuple[tuple[date, int], ...] = (),
) -> InstalmentState:
    return InstalmentState(
        number=number,
        due_date=due,
        principal_due_fen=principal,
        interest_due_fen=interest,
        principal_paid_fen=principal_paid,
        interest_paid_fen=interest_paid,
        penalty_paid_fen=penalty_paid,
        payments=payments,
    )


# The instalment #2 of the 1,000,000.00 yuan 等额本息 example: 8,243,533 principal + 246,349 interest = 8,489,882.
MARCH = inst(2, date(2025, 3, 15), 8_243_533, 246_349)


def test_penalty_rate_for() -> None:
    assert penalty_rate_for(D("0.0345"), D("0.5")) == PENALTY
    assert penalty_rate_for(D("0.04"), D("0")) == D("0.04")
    with pytest.raises(ValueError):
        penalty_rate_for(D("0.04"), D("-0.1"))


def test_penalty_on_the_full_overdue_amount() -> None:
    # 30 days (Mar 15 → Apr 14): 8,489,882 × 0.05175 × 30 / 360 = 36,612.62 → 36,613.
    assert penalty_accrued_fen(MARCH, as_of=date(2025, 4, 14), penalty_rate=PENALTY) == 36_613


def test_a_partial_payment_reduces_the_base_from_its_value_date() -> None:
    # 4,000,000 paid on Mar 25 (interest 246,349 first, then 3,753,651 principal).
    # 8,489,882 × 10 days + 4,489,882 × 20 days = 174,696,460 fen-days; × 0.05175 / 360 = 25,112.62 → 25,113.
    partly = inst(
        2,
        date(2025, 3, 15),
        8_243_533,
        246_349,
        principal_paid=3_753_651,
        interest_paid=246_349,
        payments=((date(2025, 3, 25), 4_000_000),),
    )
    assert penalty_accrued_fen(partly, as_of=date(2025, 4, 14), penalty_rate=PENALTY) == 25_113
    # Before the payment the whole amount was overdue: 10 days → 8,489,882 × 0.05175 × 10 / 360 = 12,204.21.
    assert penalty_accrued_fen(partly, as_of=date(2025, 3, 25), penalty_rate=PENALTY) == 12_204


def test_paid_on_time_costs_nothing_and_one_day_late_costs_one_day() -> None:
    on_time = inst(
        2, date(2025, 3, 15), 8_243_533, 246_349, principal_paid=8_243_533, interest_paid=246_349,
        payments=((date(2025, 3, 15), 8_489_882),),
    )  # fmt: skip
    late = inst(
        2, date(2025, 3, 15), 8_243_533, 246_349, principal_paid=8_243_533, interest_paid=246_349,
        payments=((date(2025, 3, 16), 8_489_882),),
    )  # fmt: skip
    assert penalty_accrued_fen(on_time, as_of=date(2025, 6, 1), penalty_rate=PENALTY) == 0
    # 8,489,882 × 0.05175 × 1 / 360 = 1,220.42 → 1,220, and no more afterwards.
    assert penalty_accrued_fen(late, as_of=date(2025, 6, 1), penalty_rate=PENALTY) == 1_220


def test_no_penalty_up_to_the_due_date() -> None:
    assert penalty_accrued_fen(MARCH, as_of=date(2025, 3, 15), penalty_rate=PENALTY) == 0
    assert penalty_accrued_fen(MARCH, as_of=date(2025, 1, 1), penalty_rate=PENALTY) == 0


def test_paid_amounts_without_history_count_as_paid_on_time() -> None:
    settled = inst(2, date(2025, 3, 15), 8_243_533, 246_349, principal_paid=8_243_533, interest_paid=246_349)
    assert penalty_accrued_fen(settled, as_of=date(2025, 6, 1), penalty_rate=PENALTY) == 0


def test_penalty_is_rounded_once_for_the_whole_accrual() -> None:
    # 1,000 fen at 18 % for 2 days = 1,000 × 0.18 × 2 / 360 = 1.00 fen; rounding each day (0.5 → 1) would give 2.
    small = inst(1, date(2025, 3, 15), 1_000, 0)
    assert penalty_accrued_fen(small, as_of=date(2025, 3, 17), penalty_rate=D("0.18")) == 1


def test_penalty_outstanding_deducts_what_was_paid() -> None:
    paid = inst(2, date(2025, 3, 15), 8_243_533, 246_349, penalty_paid=10_000)
    assert penalty_outstanding_fen(paid, as_of=date(2025, 4, 14), penalty_rate=PENALTY) == 26_613


def test_days_past_due() -> None:
    jan = inst(1, date(2025, 1, 15), 100, 10)
    feb = inst(2, date(2025, 2, 15), 100, 10)
    jan_paid_late = inst(1, date(2025, 1, 15), 100, 10, principal_paid=100, interest_paid=10,
                         payments=((date(2025, 2, 20), 110),))  # fmt: skip
    assert days_past_due([], as_of=date(2025, 3, 1)) == 0
    assert days_past_due([jan, feb], as_of=date(2025, 1, 15)) == 0  # due today is not yet overdue
    assert days_past_due([jan, feb], as_of=date(2025, 1, 16)) == 1
    assert days_past_due([feb, jan], as_of=date(2025, 3, 1)) == 45  # oldest unpaid: Jan 15
    assert days_past_due([jan_paid_late, feb], as_of=date(2025, 3, 1)) == 14  # Feb 15 → Mar 1
    # Looking back to a day before the late payment, January was still unpaid.
    assert days_past_due([jan_paid_late, feb], as_of=date(2025, 2, 19)) == 35
    partly = inst(1, date(2025, 1, 15), 100, 10, principal_paid=99, interest_paid=10)
    assert days_past_due([partly], as_of=date(2025, 1, 25)) == 10  # one fen short is still past due


def allocation_book() -> list[InstalmentState]:
    return [
        inst(1, date(2025, 1, 15), 1_000_000, 30_000),
        inst(2, date(2025, 2, 15), 1_000_000, 28_000),
        inst(3, date(2025, 3, 15), 1_000_000, 31_000),
        inst(4, date(2025, 4, 15), 1_000_000, 30_000),
    ]


def test_allocation_overdue_oldest_first_then_current_then_prepayment() -> None:
    # On Mar 15 at 5.175 %:
    # #1 penalty 1,030,000 × 59 days (Jan 15 → Mar 15) × 0.05175 / 360 = 8,735.69 → 8,736
    # #2 penalty 1,028,000 × 28 days (Feb 15 → Mar 15) × 0.05175 / 360 = 4,137.70 → 4,138
    # #3 is due today: interest 31,000 and principal 1,000,000, no penalty.
    # 1,038,736 + 1,032,138 + 1,031,000 = 3,101,874; of 3,200,000 the remaining 98,126 is a prepayment.
    allocation = allocate_payment(
        allocation_book(), amount_fen=3_200_000, value_date=date(2025, 3, 15), penalty_rate=PENALTY
    )
    assert allocation == Allocation(
        lines=(
            AllocationLine(1, principal_fen=1_000_000, interest_fen=30_000, penalty_fen=8_736),
            AllocationLine(2, principal_fen=1_000_000, interest_fen=28_000, penalty_fen=4_138),
            AllocationLine(3, principal_fen=1_000_000, interest_fen=31_000, penalty_fen=0),
        ),
        prepayment_fen=98_126,
    )
    assert (allocation.principal_fen, allocation.interest_fen, allocation.penalty_fen) == (3_000_000, 89_000, 12_874)


def test_partial_allocation_pays_penalty_then_interest_then_principal() -> None:
    # 1,050,000 − 1,038,736 (all of #1) = 11,264 → #2 penalty 4,138, interest 7,126, principal 0.
    allocation = allocate_payment(
        allocation_book(), amount_fen=1_050_000, value_date=date(2025, 3, 15), penalty_rate=PENALTY
    )
    assert allocation.lines == (
        AllocationLine(1, principal_fen=1_000_000, interest_fen=30_000, penalty_fen=8_736),
        AllocationLine(2, principal_fen=0, interest_fen=7_126, penalty_fen=4_138),
    )
    assert allocation.prepayment_fen == 0


def test_allocation_skips_what_is_already_paid() -> None:
    book = allocation_book()
    book[0] = inst(1, date(2025, 1, 15), 1_000_000, 30_000, principal_paid=1_000_000, interest_paid=30_000,
                   penalty_paid=500, payments=((date(2025, 1, 20), 1_030_000),))  # fmt: skip
    # #1 was 5 days late: 1,030,000 × 5 × 0.05175 / 360 = 740.31 → 740, of which 500 paid: 240 left.
    allocation = allocate_payment(book, amount_fen=300, value_date=date(2025, 2, 10), penalty_rate=PENALTY)
    assert allocation.lines == (AllocationLine(1, principal_fen=0, interest_fen=0, penalty_fen=240),)
    assert allocation.prepayment_fen == 60  # nothing else is due before Feb 15


def test_allocation_of_nothing_and_of_a_negative_amount() -> None:
    assert allocate_payment(allocation_book(), amount_fen=0, value_date=date(2025, 3, 15), penalty_rate=PENALTY) == (
        Allocation(lines=(), prepayment_fen=0)
    )
    with pytest.raises(ValueError):
        allocate_payment(allocation_book(), amount_fen=-1, value_date=date(2025, 3, 15), penalty_rate=PENALTY)


# --- property tests ---------------------------------------------------------------------------------------------

penalty_rates = st.integers(min_value=0, max_value=360_000).map(lambda micro: Decimal(micro).scaleb(-6))
days = st.integers(min_value=0, max_value=800).map(lambda d: date(2024, 1, 1) + datetime.timedelta(days=d))


@st.composite
def instalment_state(draw: st.DrawFn, number: int = 1, due: date | None = None) -> InstalmentState:
    due = due or draw(days)
    principal = draw(st.integers(0, 10**9))
    interest = draw(st.integers(0, 10**7))
    principal_paid = draw(st.integers(0, principal))
    interest_paid = draw(st.integers(0, interest))
    paid = principal_paid + interest_paid
    cuts = sorted(draw(st.lists(st.integers(0, paid), max_size=2)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, paid], strict=True)]
    value_dates = sorted(due + datetime.timedelta(days=draw(st.integers(-30, 120))) for _ in parts)
    return inst(
        number,
        due,
        principal,
        interest,
        principal_paid=principal_paid,
        interest_paid=interest_paid,
        penalty_paid=draw(st.integers(0, 10**5)),
        payments=tuple((d, fen) for d, fen in zip(value_dates, parts, strict=True) if fen),
    )


@st.composite
def instalment_book(draw: st.DrawFn) -> list[InstalmentState]:
    first = draw(days)
    gaps = draw(st.lists(st.integers(1, 92), min_size=0, max_size=7))
    dues = [first]
    for gap in gaps:
        dues.append(dues[-1] + datetime.timedelta(days=gap))
    return [draw(instalment_state(number=k + 1, due=d)) for k, d in enumerate(dues)]


@given(book=instalment_book(), amount=st.integers(0, 3 * 10**9), value_date=days, rate=penalty_rates)
@PROPERTY
def test_allocation_never_exceeds_the_amount_nor_what_is_due(
    book: list[InstalmentState], amount: int, value_date: date, rate: Decimal
) -> None:
    allocation = allocate_payment(book, amount_fen=amount, value_date=value_date, penalty_rate=rate)
    allocated = sum(line.total_fen for line in allocation.lines)
    assert allocated + allocation.prepayment_fen == amount
    assert allocated <= amount
    assert allocation.prepayment_fen >= 0
    by_number = {i.number: i for i in book}
    numbers = [line.number for line in allocation.lines]
    assert numbers == sorted(numbers)  # oldest first (dues increase with the number here)
    for line in allocation.lines:
        state = by_number[line.number]
        assert state.due_date <= value_date
        assert 0 <= line.principal_fen <= state.principal_due_fen - state.principal_paid_fen
        assert 0 <= line.interest_fen <= state.interest_due_fen - state.interest_paid_fen
        assert 0 <= line.penalty_fen <= penalty_outstanding_fen(state, as_of=value_date, penalty_rate=rate)
        if state.due_date == value_date:
            assert line.penalty_fen == 0
    if allocation.prepayment_fen:  # a prepayment only once everything due has been covered
        due_total = sum(
            i.principal_outstanding_fen
            + i.interest_outstanding_fen
            + penalty_outstanding_fen(i, as_of=value_date, penalty_rate=rate)
            for i in book
            if i.due_date <= value_date
        )
        assert allocated == due_total


@given(state=instalment_state(), a=days, b=days, rate=penalty_rates)
@PROPERTY
def test_penalty_is_monotone_in_as_of_and_bounded(state: InstalmentState, a: date, b: date, rate: Decimal) -> None:
    early, late = sorted((a, b))
    before = penalty_accrued_fen(state, as_of=early, penalty_rate=rate)
    after = penalty_accrued_fen(state, as_of=late, penalty_rate=rate)
    assert 0 <= before <= after
    # Never more than the whole amount due, unpaid throughout.
    overdue_days = max(0, (late - state.due_date).days)
    whole = (state.principal_due_fen + state.interest_due_fen) * overdue_days * rate / 360
    assert after <= int(whole) + 1


@given(state=instalment_state(), as_of=days, low=penalty_rates, high=penalty_rates)
@PROPERTY
def test_penalty_is_monotone_in_the_rate(state: InstalmentState, as_of: date, low: Decimal, high: Decimal) -> None:
    low, high = sorted((low, high))
    assert penalty_accrued_fen(state, as_of=as_of, penalty_rate=low) <= penalty_accrued_fen(
        state, as_of=as_of, penalty_rate=high
    )


@given(book=instalment_book(), as_of=days, later=st.integers(1, 60))
@PROPERTY
def test_days_past_due_points_at_the_oldest_unpaid_due_date(
    book: list[InstalmentState], as_of: date, later: int
) -> None:
    dpd = days_past_due(book, as_of=as_of)
    paid_by = {
        i.number: i.principal_paid_fen + i.interest_paid_fen - sum(f for d, f in i.payments if d > as_of) for i in book
    }
    unpaid = [
        i.due_date for i in book if i.due_date < as_of and paid_by[i.number] < i.principal_due_fen + i.interest_due_fen
    ]
    assert dpd == ((as_of - min(unpaid)).days if unpaid else 0)
    # Without payments in between, an overdue loan is `later` days further past due `later` days on.
    then = as_of + datetime.timedelta(days=later)
    if dpd and not any(as_of < d <= then for i in book for d, _ in i.payments):
        assert days_past_due(book, as_of=then) == dpd + later
