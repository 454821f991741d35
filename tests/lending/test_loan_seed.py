"""`ipledge seed_loans`: every seeded row satisfies the lending invariants; same seed, same loans; --if-empty."""

from __future__ import annotations

import datetime
import io
import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from ipledge.core.models import AuditEvent
from ipledge.lending.choices import LoanClass, LoanStatus, RenewalKind, TransactionKind
from ipledge.lending.models import (
    BankNplReport,
    ClassificationChange,
    CreditPlan,
    ImplementationReport,
    Instalment,
    InvestmentLink,
    Loan,
    LoanCollateral,
    LoanCover,
    LoanTransaction,
)
from ipledge.lending.seeding import DPD_STEPS, LOAN_SEED_AS_OF, seed_loans
from ipledge.registration.seeding import seed_pledges
from ipledge.registry.seeding import seed_database

pytestmark = pytest.mark.django_db

CLOSED = {LoanStatus.CLOSED, LoanStatus.CLOSED_BY_RENEWAL}
LIVE = {LoanStatus.ACTIVE, LoanStatus.DEFAULTED}


@pytest.fixture
def registry() -> None:
    seed_database(scale="tiny", seed=7)
    seed_pledges(count=30, seed=7)


def _fen(text: str) -> int:
    return int(Decimal(text) * 100)


def _expected_class(dpd: int) -> str:
    reached = [klass for days, klass, _reason in DPD_STEPS if dpd >= days]
    return reached[-1] if reached else LoanClass.NORMAL


def test_every_seeded_row_keeps_the_invariants(registry: None) -> None:
    report = seed_loans(scale="tiny", seed=3)
    loans = list(Loan.objects.order_by("pk"))
    assert len(loans) == report.counts["loan"] == 150
    instalments: dict[int, list[Instalment]] = defaultdict(list)
    for inst in Instalment.objects.order_by("loan_id", "number"):
        instalments[inst.loan_id].append(inst)
    transactions: dict[int, list[LoanTransaction]] = defaultdict(list)
    for txn in LoanTransaction.objects.order_by("loan_id", "value_date", "pk"):
        transactions[txn.loan_id].append(txn)
    changes: dict[int, list[ClassificationChange]] = defaultdict(list)
    for change in ClassificationChange.objects.order_by("loan_id", "business_day", "pk"):
        changes[change.loan_id].append(change)

    seen_status: set[int] = set()
    seen_class: set[str] = set()
    for loan in loans:
        seen_status.add(loan.status)
        seen_class.add(loan.classification)
        txns, plan = transactions[loan.pk], instalments[loan.pk]
        if loan.first_disbursed_on is None:  # still in the pipeline, or declined
            assert loan.status < LoanStatus.ACTIVE or loan.status in (LoanStatus.WITHDRAWN, LoanStatus.REJECTED)
            assert loan.disbursed_amount.fen == loan.outstanding_principal.fen == 0
            assert not txns and not plan
            continue
        # Balances: disbursed = Σ disbursements; outstanding = disbursed − principal repaid (repayments, rollovers).
        disbursed = sum(t.amount.fen for t in txns if t.kind == TransactionKind.DISBURSEMENT)
        repaid = sum(
            t.principal_part.fen
            for t in txns
            if t.kind in (TransactionKind.REPAYMENT, TransactionKind.RENEWAL_ROLLOVER)
        )
        assert loan.disbursed_amount.fen == disbursed == loan.principal.fen
        assert loan.outstanding_principal.fen == disbursed - repaid
        # The schedule amortises exactly the principal; what it records as paid is what the transactions applied.
        assert sum(i.principal_due.fen for i in plan) == loan.principal.fen
        applied: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        for t in txns:
            if t.kind == TransactionKind.DISBURSEMENT:
                assert t.allocation == [] and t.value_date == loan.first_disbursed_on
                continue
            assert t.amount.fen == t.principal_part.fen + t.interest_part.fen + t.penalty_part.fen
            lines = t.allocation
            assert [sum(_fen(line[k]) for line in lines) for k in ("principal", "interest", "penalty")] == [
                t.principal_part.fen,
                t.interest_part.fen,
                t.penalty_part.fen,
            ]
            assert loan.first_disbursed_on <= t.value_date <= LOAN_SEED_AS_OF
            for line in lines:
                for k, key in enumerate(("principal", "interest", "penalty")):
                    applied[line["number"]][k] += _fen(line[key])
        previous_due = loan.first_disbursed_on
        for inst in plan:
            paid = [inst.principal_paid.fen, inst.interest_paid.fen, inst.penalty_paid.fen]
            assert paid == applied.get(inst.number, [0, 0, 0]), (loan.reference, inst.number)
            assert inst.period_start == previous_due < inst.due_date
            previous_due = inst.due_date
            fully = paid[0] == inst.principal_due.fen and paid[1] == inst.interest_due.fen
            assert (inst.settled_on is not None) == fully
        assert plan[-1].due_date == loan.maturity_date
        assert loan.contract_signed_on is not None and loan.contract_signed_on <= loan.first_disbursed_on
        assert loan.approved_by_id is not None and loan.approved_by_id != loan.prepared_by_id
        # Status follows the balance; days past due and class follow the oldest unpaid instalment.
        if loan.outstanding_principal.fen == 0:
            assert loan.status in CLOSED and loan.closed_on is not None
            assert loan.first_disbursed_on <= loan.closed_on <= LOAN_SEED_AS_OF
            assert loan.days_past_due == 0
        else:
            assert loan.status in LIVE and loan.closed_on is None
            overdue = [i.due_date for i in plan if i.settled_on is None and i.due_date < LOAN_SEED_AS_OF]
            expected_dpd = (LOAN_SEED_AS_OF - min(overdue)).days if overdue else 0
            assert loan.days_past_due == expected_dpd
            assert loan.classification == _expected_class(expected_dpd)
            assert loan.classified_on == LOAN_SEED_AS_OF
        if loan.status == LoanStatus.DEFAULTED:
            assert loan.defaulted_on is not None and loan.first_disbursed_on < loan.defaulted_on <= LOAN_SEED_AS_OF
        history = changes[loan.pk]
        if history:
            assert history[0].from_class == LoanClass.NORMAL
            assert all(a.to_class == b.from_class for a, b in zip(history, history[1:], strict=False))
            assert history[-1].to_class == loan.classification
            assert loan.classification_since == history[-1].business_day
        else:
            assert loan.classification == LoanClass.NORMAL
        if loan.renewal_of_id is not None:
            old = loans[[x.pk for x in loans].index(loan.renewal_of_id)]
            assert old.status == LoanStatus.CLOSED_BY_RENEWAL and loan.first_disbursed_on >= old.maturity_date
            assert old.closed_on == old.maturity_date
            rollovers = [t for t in transactions[old.pk] if t.kind == TransactionKind.RENEWAL_ROLLOVER]
            assert len(rollovers) == (1 if loan.renewal_kind == RenewalKind.NO_PRINCIPAL_REPAYMENT else 0)

    # The draw reaches the states the demo needs, not only the happy path.
    assert {LoanStatus.ACTIVE, LoanStatus.CLOSED} <= seen_status
    assert seen_class - {LoanClass.NORMAL}
    assert any(loan.pledge_registration_id for loan in loans)
    assert any(loan.renewal_of_id for loan in loans)
    assert any(t.penalty_part.fen for txns in transactions.values() for t in txns)
    assert LoanCollateral.objects.count() >= report.counts["loan"] - 10
    assert ImplementationReport.objects.filter(reported_on__gt=LOAN_SEED_AS_OF).count() == 0
    assert LoanCover.objects.filter(cover_ratio__gt=1).count() == 0
    assert report.counts["investmentlink"] == InvestmentLink.objects.count()
    assert CreditPlan.objects.exists() and BankNplReport.objects.exists()
    events = AuditEvent.objects.filter(action="seed.loans")
    assert events.count() == 1
    assert events.get().changes["extra"]["loan"] == 150


def _snapshot() -> dict[str, Any]:
    return {
        "loans": list(
            Loan.objects.order_by("reference").values_list(
                "reference",
                "borrower_id",
                "bank_id",
                "status",
                "principal",
                "annual_rate",
                "repayment_method",
                "outstanding_principal",
                "classification",
                "first_disbursed_on",
                "maturity_date",
            )
        ),
        "instalments": list(
            Instalment.objects.order_by("loan__reference", "number").values_list(
                "loan__reference", "number", "due_date", "principal_due", "interest_due", "principal_paid", "settled_on"
            )
        ),
        "transactions": list(
            LoanTransaction.objects.order_by("loan__reference", "value_date", "kind", "amount").values_list(
                "loan__reference", "kind", "value_date", "amount", "penalty_part", "allocation"
            )
        ),
        "changes": list(
            ClassificationChange.objects.order_by("loan__reference", "business_day").values_list(
                "loan__reference", "business_day", "to_class"
            )
        ),
    }


def _delete_loans() -> None:
    LoanTransaction.objects.all().delete()
    for model in (ImplementationReport, LoanCollateral, LoanCover, InvestmentLink, ClassificationChange, Instalment):
        model.objects.all().delete()
    for loan in Loan.objects.order_by("-pk"):  # renewals (later ids) before the loans they renew
        loan.delete()
    CreditPlan.objects.all().delete()
    BankNplReport.objects.all().delete()


def test_same_seed_gives_the_same_loans(registry: None) -> None:
    seed_loans(scale="tiny", seed=5)
    first = _snapshot()
    _delete_loans()
    seed_loans(scale="tiny", seed=5)
    assert _snapshot() == first
    _delete_loans()
    seed_loans(scale="tiny", seed=6)
    other = _snapshot()
    assert other["loans"] != first["loans"]
    assert len(other["loans"]) == len(first["loans"]) == 150


def test_if_empty_leaves_existing_loans_alone(registry: None) -> None:
    out = io.StringIO()
    call_command("seed_loans", "--scale", "tiny", "--if-empty", "--seed", "9", stdout=out)
    assert "Seeded loans at scale tiny (seed 9)" in out.getvalue()
    counts = (Loan.objects.count(), LoanTransaction.objects.count(), Instalment.objects.count())
    assert counts[0] == 150 and counts[1] > 60
    out = io.StringIO()
    call_command("seed_loans", "--scale", "tiny", "--if-empty", stdout=out)
    assert "nothing seeded" in out.getvalue()
    assert (Loan.objects.count(), LoanTransaction.objects.count(), Instalment.objects.count()) == counts
    assert AuditEvent.objects.filter(action="seed.loans").count() == 1
    # Stored JSON is well-formed for the UI: allocation lines carry the instalment number and money strings.
    sample = LoanTransaction.objects.filter(kind=TransactionKind.REPAYMENT).first()
    assert sample is not None
    line = sample.allocation[0]
    assert isinstance(line["number"], int) and json.dumps(line)
    assert datetime.date.fromisoformat(str(sample.value_date)) <= LOAN_SEED_AS_OF


@pytest.mark.parametrize(
    ("period_start", "period_end"),
    [
        (datetime.date(2026, 1, 1), LOAN_SEED_AS_OF),  # year to date: the benchmark's period, current classes
        (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)),  # a past year: classes from the change history
    ],
)
def test_indicator_set_agrees_with_the_naive_loop(registry: None, period_start: Any, period_end: Any) -> None:
    from ipledge.lending.indicators import lending_frames
    from ipledge.lending.management.commands.bench import fast_figures, naive_figures, restrict_frames

    seed_loans(scale="tiny", seed=3)
    ids = list(Loan.objects.order_by("pk").values_list("pk", flat=True))
    frames = lending_frames(user=None, as_of=LOAN_SEED_AS_OF)
    period = {"period_start": period_start, "period_end": period_end}
    naive = naive_figures(ids, as_of=LOAN_SEED_AS_OF, **period)
    assert fast_figures(frames, **period) == naive
    assert naive["new_loans"] > 0 and naive["balance_fen"] > 0 and naive["by_bank"]
    sample = ids[::3]  # the benchmark's restriction to a sample gives the sample's figures
    assert fast_figures(restrict_frames(frames, sample), **period) == naive_figures(
        sample, as_of=LOAN_SEED_AS_OF, **period
    )
