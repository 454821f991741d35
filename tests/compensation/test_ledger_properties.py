"""Property tests of the fund's book through the services: for random schemes, exposures, advance ratios, caps and
recoveries, every entry balances, the fund never pays beyond its cap or its balance, and clearing conserves money
(every party ends having paid exactly its final share, the exposure is cleared to zero)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import count

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipledge.compensation import ledger, services
from ipledge.compensation.choices import ClaimStatus, PaymentStatus
from ipledge.compensation.models import Enrolment, JournalLine
from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.money import Money
from ipledge.lending.models import Loan
from tests.compensation.factories import add_fund, enrolled_loan, publish_scheme, turn_bad
from tests.world import build_world

pytestmark = pytest.mark.django_db
_serial = count(1)


@pytest.fixture
def book():  # type: ignore[no-untyped-def]
    w = build_world()
    fund = add_fund(w, capital="20000000.00")
    template, enrolment = enrolled_loan(w, fund)
    template = turn_bad(w, template)
    services.enrolment_release(enrolment=enrolment, acting_user=None, reason="模板")
    return w, fund, template


def _clone_npl_loan(template: Loan, outstanding_fen: int) -> Loan:
    """Another non-performing loan like the template, with its own balance (test scaffolding, not a service)."""
    loan = Loan.objects.get(pk=template.pk)
    loan.pk = None
    loan.id = None  # type: ignore[assignment]
    loan._state.adding = True
    loan.reference = f"PROP{next(_serial):06d}"
    loan.outstanding_principal = Money.from_fen(outstanding_fen)  # type: ignore[assignment]
    loan.save()
    return loan


shares = st.tuples(
    st.integers(min_value=10, max_value=90),  # fund, in hundredths
    st.integers(min_value=0, max_value=20),  # insurer
    st.integers(min_value=0, max_value=10),  # valuer
).filter(lambda t: t[0] + t[1] + t[2] <= 100)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    split=shares,
    outstanding=st.integers(min_value=1, max_value=800_000_000),
    advance_ratio=st.sampled_from(["1", "0.5", "0.75"]),
    cap=st.one_of(st.none(), st.integers(min_value=1, max_value=500_000_000)),
    recoveries=st.lists(st.integers(min_value=1, max_value=300_000_000), max_size=3),
)
def test_book_balances_and_clearing_conserves_money(book, split, outstanding, advance_ratio, cap, recoveries) -> None:  # type: ignore[no-untyped-def]
    w, fund, template = book
    fund_share, insurer_share, valuer_share = split
    tier_shares = {"fund": f"{fund_share / 100}", "bank": f"{(100 - fund_share - insurer_share - valuer_share) / 100}"}
    if insurer_share:
        tier_shares["insurer"] = f"{insurer_share / 100}"
    if valuer_share:
        tier_shares["valuer"] = f"{valuer_share / 100}"
    code = f"P{next(_serial)}"
    scheme = publish_scheme(
        w,
        fund,
        code,
        "性质测试",
        [{"up_to": None, "shares": tier_shares}],
        advance_ratio=advance_ratio,
        cap_per_loan=None if cap is None else str(Money.from_fen(cap).amount),
    )
    loan = _clone_npl_loan(template, outstanding)
    enrolment = Enrolment.objects.create(
        fund=fund,
        scheme_version=scheme.versions.get(),
        loan=loan,
        borrower=loan.borrower,
        enrolled_on=date(2025, 1, 15),
        covered_amount=loan.principal,
        insurer=w.orgs["insurer"] if insurer_share else None,
        valuer=w.orgs["valuer"] if valuer_share else None,
    )
    cash_before = ledger.cash_fen(fund)
    with as_of(date(2025, 8, 10)):
        claim = services.claim_file(enrolment=enrolment, acting_user=w.user("bank1_sub"), collection_efforts="已起诉")
        claim = services.claim_review(claim=claim, acting_user=w.user("fund"))
        claim = services.claim_approve(claim=claim, acting_user=w.user("fund", Role.REVIEWER))
        fund_advance = claim.terms["advance_fen"].get("fund", 0)
        assert fund_advance <= cash_before
        if cap is not None:
            assert fund_advance <= cap
        for payment in claim.payments.filter(status=PaymentStatus.INSTRUCTED):
            services.payment_mark_paid(payment=payment, acting_user=w.user(payment.payer_role))
    with as_of(date(2025, 10, 1)):
        for n, amount in enumerate(recoveries):
            services.recovery_record(
                claim=claim,
                kind="disposal",
                value_date=date(2025, 10, 1),
                gross_amount=Money.from_fen(amount),
                idempotency_key=f"k{n}",
                acting_user=w.user("bank1_sub"),
            )
        claim = services.claim_clear(claim=claim, acting_user=w.user("fund"))
        for payment in claim.payments.filter(status=PaymentStatus.INSTRUCTED):
            payer = "bank1_sub" if payment.payer_role == "bank" else payment.payer_role
            services.payment_mark_paid(payment=payment, acting_user=w.user(payer))
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.CLEARED

    # Every entry of the book balances.
    unbalanced = JournalLine.objects.values("entry").annotate(total=Sum("amount")).exclude(total=0)
    assert not unbalanced.exists()
    # Clearing conserves money.
    final_loss = max(outstanding - sum(recoveries), 0)
    shares_fen = claim.terms["clearing"]["shares_fen"]
    assert claim.final_loss.fen == final_loss == sum(shares_fen.values())
    positions = ledger.claim_positions(claim)
    bank = loan.bank_id
    assert ("exposure", "bank", bank) not in positions
    assert sum(fen for (kind, _role, _party), fen in positions.items() if kind == "loss") == final_loss
    assert positions.get(("cash", "fund", None), 0) == -shares_fen.get("fund", 0)
    for role, org in (("insurer", w.orgs["insurer"].pk), ("valuer", w.orgs["valuer"].pk)):
        assert positions.get(("settlement", role, org), 0) == -shares_fen.get(role, 0)
    paid_to_bank = sum(fen for role, fen in shares_fen.items() if role != "bank")
    assert positions.get(("settlement", "bank", bank), 0) == paid_to_bank
    # The fund pays no more than its cap, nor more than it had.
    assert shares_fen.get("fund", 0) <= (cap if cap is not None else shares_fen.get("fund", 0))
    assert shares_fen.get("fund", 0) <= cash_before
    assert ledger.cash_fen(fund) == cash_before - shares_fen.get("fund", 0) >= 0
    assert claim.fund_committed.fen == shares_fen.get("fund", 0)
    assert Decimal(claim.terms["advance_ratio"]) == Decimal(advance_ratio)
