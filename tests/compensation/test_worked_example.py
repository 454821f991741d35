"""The worked example of research/domain.md §4.3, through the services, to the fen.

Loan ¥8 m; outstanding principal when non-performing ¥6 m (≤ ¥10 m tier: fund 80%, bank 20%). Advance: the fund
pays ¥4.80 m. Disposal: the patents sell for ¥2.20 m less ¥0.20 m costs, net ¥2.00 m. Clearing: final loss
¥4.00 m; the fund's final share ¥3.20 m, so the bank returns ¥1.60 m; the bank's final share is ¥0.80 m.
"""

from __future__ import annotations

from datetime import date

import pytest

from ipledge.compensation import ledger, services
from ipledge.compensation.choices import AccountKind, ClaimStatus, EnrolmentStatus, PartyRole, PaymentStatus
from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.money import Money
from tests.compensation.factories import add_fund, enrolled_loan, turn_bad
from tests.world import build_world

pytestmark = pytest.mark.django_db


def test_jiangsu_worked_example_to_the_fen() -> None:
    w = build_world()
    fund = add_fund(w)
    loan, enrolment = enrolled_loan(w, fund)
    loan = turn_bad(w, loan)
    assert loan.outstanding_principal == Money("6000000.00")
    bank, operator, reviewer = w.user("bank1_sub"), w.user("fund"), w.user("fund", Role.REVIEWER)

    with as_of(date(2025, 8, 10)):
        claim = services.claim_file(enrolment=enrolment, acting_user=bank, collection_efforts="已起诉并申请财产保全")
    assert claim.exposure == Money("6000000.00")
    with as_of(date(2025, 8, 15)):
        claim = services.claim_review(claim=claim, acting_user=operator, note="材料齐全")
        claim = services.claim_approve(claim=claim, acting_user=reviewer, note="同意先行拨付")
    assert claim.status == ClaimStatus.ADVANCE_PAID
    assert claim.advance_total == Money("4800000.00")
    assert ledger.cash_fen(fund) == Money("25200000.00").fen

    with as_of(date(2025, 12, 1)):
        services.recovery_record(
            claim=claim,
            kind="disposal",
            value_date=date(2025, 12, 1),
            gross_amount=Money("2200000.00"),
            costs=Money("200000.00"),
            idempotency_key="auction-1",
            acting_user=bank,
        )
    with as_of(date(2025, 12, 10)):
        claim = services.claim_clear(claim=claim, acting_user=operator)
    assert claim.status == ClaimStatus.CLEARING
    assert claim.final_loss == Money("4000000.00")
    assert claim.fund_committed == Money("3200000.00")
    clearing = claim.terms["clearing"]
    assert clearing["shares_fen"] == {"fund": 320000000, "bank": 80000000}
    (true_up,) = claim.payments.filter(purpose="true_up")
    assert (true_up.payer_role, true_up.payee_role, true_up.amount) == ("bank", "fund", Money("1600000.00"))

    with as_of(date(2025, 12, 12)):
        services.payment_mark_paid(payment=true_up, acting_user=bank, reference="BANK-REF-1")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.CLEARED
    assert ledger.cash_fen(fund) == Money("26800000.00").fen  # 30 m − 4.8 m + 1.6 m
    positions = ledger.claim_positions(claim)
    bank_org = loan.bank_id
    assert positions[(AccountKind.LOSS, PartyRole.FUND, None)] == 320000000
    assert positions[(AccountKind.LOSS, PartyRole.BANK, bank_org)] == 80000000
    assert positions[(AccountKind.CASH, PartyRole.FUND, None)] == -320000000
    assert positions[(AccountKind.SETTLEMENT, PartyRole.BANK, bank_org)] == 320000000
    assert positions[(AccountKind.LOAN_BOOK, PartyRole.BANK, bank_org)] == -400000000
    assert (AccountKind.EXPOSURE, PartyRole.BANK, bank_org) not in positions  # cleared to zero
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.RELEASED
    assert not claim.payments.filter(status=PaymentStatus.INSTRUCTED).exists()
