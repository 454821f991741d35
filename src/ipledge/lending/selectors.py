"""Lending reads: loan lists within the caller's scope and a loan's position (头寸) on a day.

`loan_position` is what the UI shows and the repayment form suggests: what is overdue, the penalty accrued, the next
instalment and the amount that settles the loan today (结清金额).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from ipledge.core.money import Money
from ipledge.core.scoping import Action

from .engine.arrears import days_past_due, penalty_outstanding_fen
from .models import Instalment, Loan
from .services import accrued_interest_fen, instalment_states, penalty_rate


@dataclass(frozen=True)
class LoanPosition:
    as_of: datetime.date
    outstanding_principal: Money
    overdue_principal: Money  # unpaid principal of instalments due before `as_of`
    overdue_interest: Money
    principal_due_today: Money  # unpaid parts of the instalment due on `as_of` (not yet overdue)
    interest_due_today: Money
    penalty_due: Money  # penalty accrued to `as_of` less penalty paid
    accrued_interest: Money  # interest of the current period earned up to `as_of`, not yet paid (actual/360)
    days_past_due: int
    next_due_date: datetime.date | None  # first instalment on or after `as_of` with something unpaid
    next_due_amount: Money
    payoff_amount: Money  # outstanding + overdue and due interest + accrued interest + penalty

    @property
    def overdue_amount(self) -> Money:
        return self.overdue_principal + self.overdue_interest + self.penalty_due


def loan_list(*, user: Any, filters: dict[str, Any] | None = None, action: str = Action.VIEW) -> QuerySet[Loan]:
    """Loans the user may see, newest first; filters: status, classification, bank (id, with its tree), borrower
    (id), park (id), origin, reference (prefix), q (reference or borrower name), disbursed_from / disbursed_to."""
    qs = Loan.objects.restrict(user, action).select_related("borrower", "bank", "park", "pledge_registration")
    filters = filters or {}
    if filters.get("status") not in (None, ""):
        qs = qs.filter(status=filters["status"])
    if filters.get("classification"):
        qs = qs.filter(classification=filters["classification"])
    if filters.get("bank"):
        qs = qs.filter(bank_id=filters["bank"])
    if filters.get("borrower"):
        qs = qs.filter(borrower_id=filters["borrower"])
    if filters.get("park"):
        qs = qs.filter(park_id=filters["park"])
    if filters.get("origin"):
        qs = qs.filter(origin=filters["origin"])
    if filters.get("reference"):
        qs = qs.filter(reference__startswith=str(filters["reference"]).strip().upper())
    if filters.get("q"):
        from django.db.models import Q

        needle = str(filters["q"]).strip()
        qs = qs.filter(Q(reference__icontains=needle) | Q(borrower__name__icontains=needle))
    if filters.get("disbursed_from"):
        qs = qs.filter(first_disbursed_on__gte=filters["disbursed_from"])
    if filters.get("disbursed_to"):
        qs = qs.filter(first_disbursed_on__lte=filters["disbursed_to"])
    return qs


def loan_position(loan: Loan, *, as_of: datetime.date) -> LoanPosition:
    rows = list(Instalment.objects.filter(loan=loan).order_by("number"))
    states = instalment_states(loan, rows)
    rate = penalty_rate(loan)
    overdue = [i for i in rows if i.due_date < as_of]
    today = [i for i in rows if i.due_date == as_of]
    penalty = sum(penalty_outstanding_fen(s, as_of=as_of, penalty_rate=rate) for s in states)
    carried, current = accrued_interest_fen(rows, on=as_of)
    accrued = max(0, carried - current.interest_paid.fen) if current is not None else 0
    upcoming = next(
        (
            i
            for i in rows
            if i.due_date >= as_of and (i.principal_paid < i.principal_due or i.interest_paid < i.interest_due)
        ),
        None,
    )

    def unpaid_principal(items: list[Instalment]) -> int:
        return sum(i.principal_due.fen - i.principal_paid.fen for i in items)

    def unpaid_interest(items: list[Instalment]) -> int:
        return sum(i.interest_due.fen - i.interest_paid.fen for i in items)

    overdue_interest = unpaid_interest(overdue)
    interest_today = unpaid_interest(today)
    outstanding = loan.outstanding_principal.fen
    return LoanPosition(
        as_of=as_of,
        outstanding_principal=Money.from_fen(outstanding),
        overdue_principal=Money.from_fen(unpaid_principal(overdue)),
        overdue_interest=Money.from_fen(overdue_interest),
        principal_due_today=Money.from_fen(unpaid_principal(today)),
        interest_due_today=Money.from_fen(interest_today),
        penalty_due=Money.from_fen(penalty),
        accrued_interest=Money.from_fen(accrued),
        days_past_due=days_past_due(states, as_of=as_of),
        next_due_date=upcoming.due_date if upcoming is not None else None,
        next_due_amount=Money.from_fen(
            unpaid_principal([upcoming]) + unpaid_interest([upcoming]) if upcoming is not None else 0
        ),
        payoff_amount=Money.from_fen(outstanding + overdue_interest + interest_today + accrued + penalty),
    )
