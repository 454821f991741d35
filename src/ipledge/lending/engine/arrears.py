"""Arrears engine (逾期): penalty interest (罚息), days past due and payment allocation. Pure functions, no Django.

Conventions:

* Penalty interest accrues on the overdue principal + interest of an instalment (罚息 on principal and 复利 on
  interest at the same penalty rate) over the days [due date, as_of) — i.e. from the day after the due date up to
  and including `as_of` — actual/360, rounded half-up to the fen once for the whole accrual.
* A payment reduces the overdue base from its value date: paid on the due date costs nothing, paid one day late
  costs one day. Amounts recorded as paid but absent from the payment history are taken as paid by the due date
  (the history is the only evidence of lateness, and the engine must not invent penalty).
* Allocation order (还款顺序): overdue instalments oldest first, each penalty → interest → principal; then the
  instalment due on the value date, interest → principal; the rest is a prepayment of principal (提前还款) that the
  caller applies by rebuilding the remaining schedule.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from .schedule import DAYS_IN_YEAR, round_half_up_div


@dataclass(frozen=True)
class InstalmentState:
    number: int
    due_date: datetime.date
    principal_due_fen: int
    interest_due_fen: int
    principal_paid_fen: int
    interest_paid_fen: int
    penalty_paid_fen: int
    payments: tuple[tuple[datetime.date, int], ...] = ()  # (value date, fen of principal+interest applied) history

    @property
    def principal_outstanding_fen(self) -> int:
        return max(0, self.principal_due_fen - self.principal_paid_fen)

    @property
    def interest_outstanding_fen(self) -> int:
        return max(0, self.interest_due_fen - self.interest_paid_fen)

    def unpaid_on(self, day: datetime.date) -> int:
        """Principal + interest still unpaid at the end of `day`: what was recorded as paid, less the payments
        of the history dated after `day`."""
        later = sum(fen for value_date, fen in self.payments if value_date > day)
        return max(0, self.principal_outstanding_fen + self.interest_outstanding_fen + later)


@dataclass(frozen=True)
class AllocationLine:
    number: int
    principal_fen: int
    interest_fen: int
    penalty_fen: int

    @property
    def total_fen(self) -> int:
        return self.principal_fen + self.interest_fen + self.penalty_fen


@dataclass(frozen=True)
class Allocation:
    lines: tuple[AllocationLine, ...]
    prepayment_fen: int  # amount beyond everything due (early repayment of principal)

    @property
    def principal_fen(self) -> int:
        return sum(line.principal_fen for line in self.lines)

    @property
    def interest_fen(self) -> int:
        return sum(line.interest_fen for line in self.lines)

    @property
    def penalty_fen(self) -> int:
        return sum(line.penalty_fen for line in self.lines)


def penalty_rate_for(annual_rate: Decimal, markup: Decimal) -> Decimal:
    """Penalty rate (罚息利率) = contract rate × (1 + markup); markup 0.5 gives rate × 1.5 (上浮 50%)."""
    if annual_rate < 0 or markup < 0:
        raise ValueError("annual_rate and markup must not be negative")
    return annual_rate * (1 + markup)


def _rate_ratio(rate: Decimal) -> tuple[int, int]:
    if rate < 0:
        raise ValueError("penalty_rate must not be negative")
    numerator, denominator = rate.as_integer_ratio()
    return numerator, denominator


def penalty_accrued_fen(inst: InstalmentState, *, as_of: datetime.date, penalty_rate: Decimal) -> int:
    """Penalty interest accrued on `inst` from its due date up to `as_of` (total, before deducting what was paid)."""
    if as_of <= inst.due_date:
        return 0
    rate_num, rate_den = _rate_ratio(penalty_rate)
    # Base × days over the segments between payment value dates inside (due_date, as_of).
    marks = sorted({d for d, _ in inst.payments if inst.due_date < d < as_of})
    fen_days = 0
    begin = inst.due_date
    for mark in [*marks, as_of]:
        fen_days += inst.unpaid_on(begin) * (mark - begin).days
        begin = mark
    return round_half_up_div(fen_days * rate_num, rate_den * DAYS_IN_YEAR)


def penalty_outstanding_fen(inst: InstalmentState, *, as_of: datetime.date, penalty_rate: Decimal) -> int:
    """Penalty accrued up to `as_of` and not yet paid."""
    return max(0, penalty_accrued_fen(inst, as_of=as_of, penalty_rate=penalty_rate) - inst.penalty_paid_fen)


def days_past_due(instalments: Sequence[InstalmentState], *, as_of: datetime.date) -> int:
    """Days since the oldest due date (before `as_of`) whose principal + interest was not fully paid by `as_of`."""
    overdue = [inst.due_date for inst in instalments if inst.due_date < as_of and inst.unpaid_on(as_of) > 0]
    return (as_of - min(overdue)).days if overdue else 0


def allocate_payment(
    instalments: Sequence[InstalmentState], *, amount_fen: int, value_date: datetime.date, penalty_rate: Decimal
) -> Allocation:
    """Split a repayment of `amount_fen` received on `value_date` over the instalments (see module docstring)."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 0:
        raise ValueError("amount_fen must be a non-negative int")
    ordered = sorted(instalments, key=lambda inst: (inst.due_date, inst.number))
    left = amount_fen
    lines: list[AllocationLine] = []
    for inst in ordered:
        if left == 0 or inst.due_date > value_date:
            break
        penalty = 0
        if inst.due_date < value_date:
            penalty = min(left, penalty_outstanding_fen(inst, as_of=value_date, penalty_rate=penalty_rate))
            left -= penalty
        interest = min(left, inst.interest_outstanding_fen)
        left -= interest
        principal = min(left, inst.principal_outstanding_fen)
        left -= principal
        if penalty or interest or principal:
            lines.append(
                AllocationLine(inst.number, principal_fen=principal, interest_fen=interest, penalty_fen=penalty)
            )
    return Allocation(lines=tuple(lines), prepayment_fen=left)
