"""Money on a loan through the services: tranches, scheduled, partial, early and full repayment, penalty on overdue
amounts, idempotency keys, reversals, and the pledge cancellation on closure."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.lending import selectors, services
from ipledge.lending.choices import LoanStatus, TransactionKind
from ipledge.lending.models import Loan, LoanTransaction
from ipledge.registration.choices import FilingStatus, FilingType
from ipledge.registration.models import PledgeFiling
from tests.lending.factories import active_loan, contracted_loan
from tests.world import World

pytestmark = pytest.mark.django_db

START = date(2025, 1, 15)


def _rule(exc: ValidationError, field: str) -> list[str]:
    return [e.code or "" for e in exc.error_dict[field]]


def _repay(w: World, loan: Loan, amount: Money | str, day: date, key: str = "") -> LoanTransaction:
    with as_of(day):
        tx = services.loan_repay(
            loan=loan,
            amount=amount if isinstance(amount, Money) else Money(amount),
            value_date=day,
            idempotency_key=key,
            acting_user=w.user("bank1_sub"),
        )
    loan.refresh_from_db()
    return tx


def _schedule_sum(loan: Loan) -> int:
    return sum(i.principal_due.fen for i in loan.instalments.all())


def test_scheduled_repayment_settles_the_instalment(world: World) -> None:
    loan = active_loan(world)
    first = loan.instalments.get(number=1)
    due = first.principal_due + first.interest_due
    tx = _repay(world, loan, due, date(2025, 2, 15))
    first.refresh_from_db()
    assert first.settled_on == date(2025, 2, 15)
    assert tx.principal_part == first.principal_due and tx.interest_part == Money("2970.83")
    assert tx.penalty_part == Money(0)
    assert loan.outstanding_principal == Money("1000000") - first.principal_due
    assert loan.instalments.filter(settled_on__isnull=False).count() == 1


def test_overdue_instalment_pays_penalty_first(world: World) -> None:
    loan = active_loan(world)
    day = date(2025, 3, 1)
    position = selectors.loan_position(loan, as_of=day)
    # 84,898.82 overdue 14 days at 3.45 % × 1.5 = 5.175 %, actual/360.
    assert position.days_past_due == 14
    assert position.overdue_principal + position.overdue_interest == Money("84898.82")
    assert position.penalty_due == Money("170.86")
    tx = _repay(world, loan, "1000.00", day)
    assert tx.penalty_part == Money("170.86")
    assert tx.interest_part == Money("829.14") and tx.principal_part == Money(0)
    after = selectors.loan_position(loan, as_of=day)
    assert after.penalty_due == Money(0) and after.days_past_due == 14


def test_prepayment_pays_accrued_interest_then_lowers_instalments_same_maturity(world: World) -> None:
    loan = active_loan(world)
    first = loan.instalments.get(number=1)
    old_second = loan.instalments.get(number=2)
    _repay(world, loan, first.principal_due + first.interest_due, date(2025, 2, 15))
    day = date(2025, 3, 1)
    tx = _repay(world, loan, "100000.00", day)
    # Accrued interest 15 Feb → 1 Mar on 918,072.01 at 3.45 %, actual/360 = 1,231.74.
    assert tx.interest_part == Money("1231.74")
    assert tx.principal_part == Money("98768.26")
    assert tx.allocation == [
        {"number": 2, "principal": "98768.26", "interest": "1231.74", "penalty": "0.00", "prepayment": True}
    ]
    assert loan.outstanding_principal == Money("1000000") - first.principal_due - Money("98768.26")
    assert loan.maturity_date == date(2026, 1, 15)
    rows = list(loan.instalments.order_by("number"))
    assert len(rows) == 12 and rows[-1].due_date == date(2026, 1, 15)
    assert _schedule_sum(loan) == Money("1000000").fen
    second = rows[1]
    assert second.due_date == old_second.due_date and second.period_start == old_second.period_start
    unpaid_second = second.principal_due - second.principal_paid + second.interest_due - second.interest_paid
    assert unpaid_second < old_second.principal_due + old_second.interest_due
    assert selectors.loan_position(loan, as_of=day).accrued_interest == Money(0)


def test_tranches_cumulate_up_to_principal_and_rebuild_schedule(world: World) -> None:
    loan = contracted_loan(world)
    op = world.user("bank1_sub")
    with as_of(START):
        services.loan_disburse(loan=loan, amount=Money("600000"), value_date=START, acting_user=op)
    loan.refresh_from_db()
    assert loan.first_disbursed_on == START and loan.maturity_date == date(2026, 1, 15)
    first_interest = loan.instalments.get(number=1).interest_due
    assert first_interest == Money("1782.50")  # 600,000 × 3.45 % × 31 / 360
    day = date(2025, 2, 1)
    with as_of(day):
        with pytest.raises(ValidationError) as exc:
            services.loan_disburse(loan=loan, amount=Money("400000.01"), value_date=day, acting_user=op)
        assert _rule(exc.value, "amount") == ["exceeds_principal"]
        services.loan_disburse(loan=loan, amount=Money("400000"), value_date=day, acting_user=op)
    loan.refresh_from_db()
    assert loan.disbursed_amount == Money("1000000") and loan.outstanding_principal == Money("1000000")
    assert loan.maturity_date == date(2026, 1, 15)  # the first tranche fixed it
    first = loan.instalments.get(number=1)
    # 600,000 for 17 days, then 1,000,000 for 14 days: 977.50 + 1,341.67 (57.50 and 95.83 a day).
    assert first.period_start == START and first.interest_due == Money("2319.17")
    assert _schedule_sum(loan) == Money("1000000").fen


def test_payoff_closes_loan_and_files_pledge_cancellation(world: World) -> None:
    loan = active_loan(world)
    day = date(2025, 3, 1)
    position = selectors.loan_position(loan, as_of=day)
    with as_of(day), pytest.raises(ValidationError) as exc:
        services.loan_repay(
            loan=loan,
            amount=position.payoff_amount + Money("0.01"),
            value_date=day,
            acting_user=world.user("bank1_sub"),
        )
    assert _rule(exc.value, "amount") == ["exceeds_payoff"]
    assert str(position.payoff_amount) in exc.value.error_dict["amount"][0].message
    tx = _repay(world, loan, position.payoff_amount, day)
    assert loan.status == LoanStatus.CLOSED and loan.closed_on == day
    assert loan.outstanding_principal == Money(0)
    assert not loan.instalments.filter(settled_on__isnull=True).exists()
    assert _schedule_sum(loan) == Money("1000000").fen
    filing = PledgeFiling.objects.get(filing_type=FilingType.CANCELLATION, registration=loan.pledge_registration)
    assert filing.status == FilingStatus.SUBMITTED
    assert "注销" in tx.note
    event = AuditEvent.objects.filter(action="loan.repay", object_id=str(loan.pk)).latest("pk")
    assert event.changes["extra"]["pledge_cancellation"] == "filed"


def test_payoff_by_branch_when_pledgee_is_head_office_records_not_filed(world: World) -> None:
    from tests.lending.factories import pledge_registration

    loan = contracted_loan(world, with_pledge=False)
    # The head office holds the pledge; the tech sub-branch handles the loan.
    registration = pledge_registration(world, borrower="e1", bank="bank1")
    with as_of(START):
        services.loan_pledge_link(loan=loan, registration=registration, acting_user=world.user("bank1_sub"))
        services.loan_disburse(
            loan=loan, amount=Money("1000000"), value_date=START, acting_user=world.user("bank1_sub")
        )
    day = date(2025, 2, 1)
    position = selectors.loan_position(loan, as_of=day)
    tx = _repay(world, loan, position.payoff_amount, day)
    assert loan.status == LoanStatus.CLOSED
    assert not PledgeFiling.objects.filter(filing_type=FilingType.CANCELLATION).exists()
    assert registration.pledgee.name in tx.note
    event = AuditEvent.objects.filter(action="loan.repay", object_id=str(loan.pk)).latest("pk")
    assert event.changes["extra"]["pledge_cancellation"] == "not_filed"


def test_same_idempotency_key_posts_once(world: World) -> None:
    loan = active_loan(world)
    day = date(2025, 2, 15)
    first = _repay(world, loan, "50000.00", day, key="pay-1")
    again = _repay(world, loan, "50000.00", day, key="pay-1")
    assert again.pk == first.pk
    assert loan.transactions.filter(kind=TransactionKind.REPAYMENT).count() == 1
    assert loan.outstanding_principal == Money("1000000") - first.principal_part
    with pytest.raises(ValidationError) as exc:
        _repay(world, loan, "60000.00", day, key="pay-1")
    assert _rule(exc.value, "idempotency_key") == ["idempotency_mismatch"]


def test_idempotency_key_is_unique_in_the_database(world: World) -> None:
    loan = active_loan(world)
    tx = loan.transactions.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        LoanTransaction.objects.create(
            loan=loan,
            kind=TransactionKind.REPAYMENT,
            value_date=START,
            amount=Money("1"),
            principal_part=Money("1"),
            idempotency_key=tx.idempotency_key,
        )


def test_concurrent_duplicate_key_returns_the_winner(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key check and the insert race: when the unique index refuses ours, the winner's transaction answers."""
    loan = active_loan(world)
    day = date(2025, 2, 15)
    winner = _repay(world, loan, "10000.00", day, key="race")
    calls = {"n": 0}
    original = services._replay

    def blind_first(*args: object, **kwargs: object) -> LoanTransaction | None:
        calls["n"] += 1
        return None if calls["n"] == 1 else original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "_replay", blind_first)
    again = _repay(world, loan, "10000.00", day, key="race")
    assert again.pk == winner.pk and calls["n"] == 2
    assert loan.transactions.filter(kind=TransactionKind.REPAYMENT).count() == 1


def test_reversal_of_repayment_restores_balances_newest_first(world: World) -> None:
    loan = active_loan(world)
    first = loan.instalments.get(number=1)
    scheduled = _repay(world, loan, first.principal_due + first.interest_due, date(2025, 2, 15))
    prepay = _repay(world, loan, "100000.00", date(2025, 3, 1))
    op = world.user("bank1_sub")
    with as_of(date(2025, 3, 2)):
        with pytest.raises(ValidationError) as exc:
            services.loan_transaction_reverse(transaction=scheduled, reason="错账", acting_user=op)
        assert _rule(exc.value, "transaction") == ["later_transaction"]
        with pytest.raises(ValidationError) as exc:
            services.loan_transaction_reverse(transaction=prepay, reason="", acting_user=op)
        assert _rule(exc.value, "reason") == ["required"]
        services.loan_transaction_reverse(transaction=prepay, reason="客户退票", acting_user=op)
        services.loan_transaction_reverse(transaction=scheduled, reason="错账", acting_user=op)
    loan.refresh_from_db()
    assert loan.outstanding_principal == Money("1000000")
    assert LoanTransaction.objects.filter(loan=loan, reversed_at__isnull=False).count() == 2
    assert loan.transactions.count() == 3  # nothing deleted
    first.refresh_from_db()
    assert first.principal_paid == Money(0) and first.settled_on is None
    assert _schedule_sum(loan) == Money("1000000").fen
    # The second period again charges interest on the full balance, give or take the re-levelled split.
    second = loan.instalments.get(number=2)
    assert second.interest_paid == Money(0) and second.principal_paid == Money(0)


def test_reversal_reopens_closed_loan_and_of_only_disbursement_returns_to_contracted(world: World) -> None:
    loan = active_loan(world)
    day = date(2025, 2, 1)
    payoff = selectors.loan_position(loan, as_of=day).payoff_amount
    closing = _repay(world, loan, payoff, day)
    assert loan.status == LoanStatus.CLOSED
    op = world.user("bank1_sub")
    with as_of(day):
        services.loan_transaction_reverse(transaction=closing, reason="资金未到账", acting_user=op)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE and loan.closed_on is None
    assert loan.outstanding_principal == Money("1000000")
    assert selectors.loan_position(loan, as_of=day).payoff_amount == payoff
    with as_of(day):
        services.loan_transaction_reverse(
            transaction=loan.transactions.get(kind=TransactionKind.DISBURSEMENT), reason="放款失败", acting_user=op
        )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CONTRACTED and loan.disbursed_amount == Money(0)
    assert loan.first_disbursed_on is None and not loan.instalments.exists()


def test_repayment_refused_before_last_transaction_or_in_the_future(world: World) -> None:
    loan = active_loan(world)
    _repay(world, loan, "1000.00", date(2025, 2, 20))
    with as_of(date(2025, 3, 1)):
        with pytest.raises(ValidationError) as exc:
            services.loan_repay(
                loan=loan, amount=Money("1"), value_date=date(2025, 2, 10), acting_user=world.user("bank1_sub")
            )
        assert _rule(exc.value, "value_date") == ["value_date_order"]
        with pytest.raises(ValidationError) as exc:
            services.loan_repay(
                loan=loan, amount=Money("1"), value_date=date(2025, 3, 2), acting_user=world.user("bank1_sub")
            )
        assert _rule(exc.value, "value_date") == ["future_date"]


def test_only_the_bank_posts_money(world: World) -> None:
    loan = active_loan(world)
    with as_of(date(2025, 2, 15)):
        for user in (world.user("ent1"), world.user("bank2"), world.user("bank1_sub", Role.VIEWER)):
            with pytest.raises(PermissionDenied):
                services.loan_repay(loan=loan, amount=Money("100"), value_date=date(2025, 2, 15), acting_user=user)
        # The head office's operator may post on its branch's loan.
        services.loan_repay(
            loan=loan, amount=Money("100"), value_date=date(2025, 2, 15), acting_user=world.user("bank1")
        )


def test_full_life_principal_repaid_equals_principal_lent(world: World) -> None:
    loan = active_loan(world, method="equal_principal", term_months=6, principal="600000.00")
    for row in list(loan.instalments.order_by("number")):
        _repay(world, loan, row.principal_due + row.interest_due, row.due_date)
    assert loan.status == LoanStatus.CLOSED and loan.closed_on == date(2025, 7, 15)
    repaid = sum(t.principal_part.fen for t in loan.transactions.filter(kind=TransactionKind.REPAYMENT))
    assert repaid == Money("600000").fen


def test_lpr_loan_fixes_rate_at_disbursement_and_reprices_on_rebuild(world: World) -> None:
    loan = contracted_loan(
        world, method="interest_only_bullet", rate_type="lpr", lpr_tenor="1y", lpr_spread_bp=35, repricing_months=3
    )
    op = world.user("bank1_sub")
    with as_of(START):
        services.loan_disburse(loan=loan, amount=Money("500000"), value_date=START, acting_user=op)
    loan.refresh_from_db()
    assert loan.annual_rate == Decimal("0.0345")  # 1y LPR 3.10 % on 15 Jan 2025 + 35 bp
    day = date(2025, 8, 1)
    with as_of(day):
        services.loan_disburse(loan=loan, amount=Money("500000"), value_date=day, acting_user=op)
    rates = dict(loan.instalments.values_list("due_date", "annual_rate"))
    # The 15 Jul 2025 repricing took the LPR cut of 20 May (3.00 %): 3.35 % from then on.
    assert rates[date(2025, 7, 15)] == Decimal("0.0345")
    assert rates[date(2025, 8, 15)] == Decimal("0.0335")
    assert rates[date(2026, 1, 15)] == Decimal("0.0335")


def test_lpr_repricing_day_rebuilds_the_rest_at_the_new_rate(world: World) -> None:
    loan = active_loan(world, method="interest_only_bullet", term_months=12)
    assert services.lpr_reprice_due(business_day=date(2025, 7, 15)) == 0  # fixed-rate loans never reprice
    lpr = contracted_loan(
        world, method="interest_only_bullet", rate_type="lpr", lpr_tenor="1y", lpr_spread_bp=35, repricing_months=6
    )
    with as_of(START):
        services.loan_disburse(loan=lpr, amount=Money("1000000"), value_date=START, acting_user=world.user("bank1_sub"))
    assert not services.is_repricing_day(lpr, date(2025, 7, 14))
    with as_of(date(2025, 7, 15)):
        assert services.lpr_reprice_due(business_day=date(2025, 7, 15)) == 1
        assert services.lpr_reprice_due(business_day=date(2025, 7, 15)) == 0  # idempotent
    lpr.refresh_from_db()
    assert lpr.annual_rate == Decimal("0.0335")  # LPR 3.00 % (cut on 20 May) + 35 bp
    rows = {i.due_date: i for i in lpr.instalments.all()}
    assert rows[date(2025, 7, 15)].annual_rate == Decimal("0.0345")
    assert rows[date(2025, 8, 15)].annual_rate == Decimal("0.0335")
    # 1,000,000 × 3.35 % × 31 days / 360.
    assert rows[date(2025, 8, 15)].interest_due == Money("2884.72")
    assert sum(i.principal_due.fen for i in rows.values()) == Money("1000000").fen
    loan.refresh_from_db()
    assert loan.annual_rate == Decimal("0.0345") and loan.instalments.count() == 12
