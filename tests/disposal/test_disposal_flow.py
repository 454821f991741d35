"""The disposal of a defaulted loan's patents end to end through the services: auction, payment, transfer,
waterfall, and the risk-compensation claim cleared from the proceeds (the worked example's figures)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ipledge.compensation import ledger
from ipledge.compensation import services as compensation
from ipledge.compensation.choices import ClaimStatus
from ipledge.core.choices import Role
from ipledge.core.money import Money
from ipledge.disposal import services
from ipledge.disposal.choices import CaseStatus, DepositStatus, LotStatus
from ipledge.disposal.engine import auction, waterfall
from ipledge.registration.choices import FilingType
from ipledge.valuation.models import ComparableTransaction
from tests.disposal.factories import defaulted_with_claim, listed, registered_bidder
from tests.world import build_world

pytestmark = pytest.mark.django_db


def _codes(exc: ValidationError) -> dict[str, str]:
    return {field: errors[0].code or "" for field, errors in exc.error_dict.items()}


def test_waterfall_places_every_fen_in_order() -> None:
    steps = waterfall.distribute(
        gross_fen=220_000_000, costs_fen=20_000_000, principal_due_fen=600_000_000, interest_due_fen=0
    )
    assert steps.as_dict() == {"costs": 20_000_000, "bank_principal": 200_000_000, "bank_interest": 0, "surplus": 0}
    rich = waterfall.distribute(gross_fen=1_000, costs_fen=100, principal_due_fen=500, interest_due_fen=50)
    assert rich.as_dict() == {"costs": 100, "bank_principal": 500, "bank_interest": 50, "surplus": 350}
    assert rich.total_fen == 1_000
    with pytest.raises(ValueError):
        waterfall.distribute(gross_fen=-1, costs_fen=0, principal_due_fen=0, interest_due_fen=0)


def test_anti_sniping_extends_only_late_bids() -> None:
    end = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
    window = datetime.timedelta(minutes=5)
    assert auction.extended_end(ends_at=end, placed_at=end - datetime.timedelta(minutes=10), window=window) == end
    late = end - datetime.timedelta(minutes=1)
    assert auction.extended_end(ends_at=end, placed_at=late, window=window) == late + window
    assert auction.minimum_bid_fen(reserve_fen=100, increment_fen=10, current_fen=None) == 100
    assert auction.minimum_bid_fen(reserve_fen=100, increment_fen=10, current_fen=150) == 160


def test_auction_to_cleared_claim() -> None:
    w = build_world()
    d = listed(w, defaulted_with_claim(w))
    assert d.case.status == CaseStatus.IN_PROGRESS and d.lot is not None
    lot = d.lot
    with pytest.raises(ValidationError) as pledgee:
        services.bidder_register(lot=lot, acting_user=w.user("bank1"))
    assert _codes(pledgee.value) == {"lot": "pledgee"}
    registered_bidder(w, lot, "ent2")
    registered_bidder(w, lot, "agency")
    with pytest.raises(ValidationError) as low:
        services.bid_place(lot=lot, amount=Money("1999999.99"), acting_user=w.user("ent2"))
    assert _codes(low.value) == {"amount": "too_low"}
    services.bid_place(lot=lot, amount=Money("2000000.00"), acting_user=w.user("ent2"))
    with pytest.raises(ValidationError):
        services.bid_place(lot=lot, amount=Money("2020000.00"), acting_user=w.user("agency"))  # below the increment
    services.bid_place(lot=lot, amount=Money("2100000.00"), acting_user=w.user("agency"))
    lot.refresh_from_db()
    late = lot.ends_at - datetime.timedelta(minutes=1)
    services.bid_place(lot=lot, amount=Money("2200000.00"), acting_user=w.user("ent2"), now=late)
    lot.refresh_from_db()
    assert lot.ends_at == late + datetime.timedelta(minutes=5)  # anti-sniping
    assert [b.amount for b in lot.bids.order_by("sequence")] == [Money("2000000"), Money("2100000"), Money("2200000")]
    with pytest.raises(ValidationError) as early:
        services.lot_close(lot=lot, acting_user=w.user("exchange"))
    assert _codes(early.value) == {"ends_at": "not_ended"}
    lot = services.lot_close(lot=lot, acting_user=w.user("exchange"), now=lot.ends_at)
    assert lot.status == LotStatus.SOLD and lot.winner is not None and lot.winner.bidder == w.orgs["ent2"]
    deposits = dict(lot.bidders.values_list("bidder__name", "deposit_status"))
    assert deposits == {w.orgs["ent2"].name: DepositStatus.APPLIED, w.orgs["agency"].name: DepositStatus.REFUNDED}

    case = d.case
    case.refresh_from_db()
    assert (case.status, case.sale_price, case.buyer_id) == (CaseStatus.SOLD, Money("2200000.00"), w.orgs["ent2"].pk)
    case = services.payment_confirm(case=case, acting_user=w.user("exchange"))
    with pytest.raises(PermissionDenied):
        services.case_transfer(case=case, acting_user=w.user("bank2"))
    case = services.case_transfer(case=case, acting_user=w.user("bank1_sub"))
    assert case.status == CaseStatus.TRANSFERRED
    for item in case.rights.select_related("ip_right"):
        owners = list(item.ip_right.owners.values_list("enterprise_id", flat=True))
        assert owners == [w.enterprises["e2"].pk]
        assert ComparableTransaction.objects.filter(ip_right=item.ip_right, transaction_kind="disposal").exists()
    assert case.cancellation_filing is not None and case.cancellation_filing.filing_type == FilingType.CANCELLATION

    case = services.proceeds_distribute(case=case, costs=Money("200000.00"), acting_user=w.user("bank1_sub"))
    steps = {e.step: e.amount for e in case.entries.all()}
    assert steps == {
        "costs": Money("200000.00"),
        "bank_principal": Money("2000000.00"),
        "compensation": Money("1600000.00"),
    }
    claim = d.claim
    claim.refresh_from_db()
    assert claim.recoveries_total == Money("2000000.00")
    claim = compensation.claim_clear(claim=claim, acting_user=w.user("fund"))
    (true_up,) = claim.payments.filter(purpose="true_up")
    assert true_up.amount == Money("1600000.00")
    compensation.payment_mark_paid(payment=true_up, acting_user=w.user("bank1_sub"))
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.CLEARED
    assert ledger.cash_fen(d.fund) == Money("26800000.00").fen
    case = services.case_close(case=case, acting_user=w.user("bank1_sub"))
    assert case.status == CaseStatus.CLOSED
    history = services.disposal_history()
    assert history[0]["sale_price"] == Money("2200000.00") and history[0]["days_to_sale"] is not None


def test_route_needs_a_second_officer_and_negotiated_sale() -> None:
    w = build_world()
    d = defaulted_with_claim(w)
    bank = w.user("bank1_sub", Role.ADMIN)
    case = services.case_propose_route(case=d.case, route="negotiated", acting_user=bank)
    with pytest.raises(ValidationError) as same:
        services.case_approve_route(case=case, acting_user=bank)
    assert _codes(same.value) == {"approved_by": "maker_is_checker"}
    case = services.case_approve_route(case=case, acting_user=w.user("bank1_sub", Role.REVIEWER))
    with pytest.raises(ValidationError) as party:
        services.sale_record(
            case=case, buyer=w.orgs["bank1_sub"], price=Money("1000000"), acting_user=w.user("bank1_sub")
        )
    assert _codes(party.value) == {"buyer": "party"}
    case = services.sale_record(
        case=case, buyer=w.orgs["ent2"], price=Money("1500000"), acting_user=w.user("bank1_sub")
    )
    assert case.status == CaseStatus.SOLD


def test_licensing_income_runs_down_the_waterfall_idempotently() -> None:
    w = build_world()
    d = defaulted_with_claim(w)
    case = services.case_propose_route(case=d.case, route="licensing", acting_user=w.user("bank1_sub"))
    case = services.case_approve_route(case=case, acting_user=w.user("bank1_sub", Role.REVIEWER))
    assert case.status == CaseStatus.IN_PROGRESS
    kwargs = {
        "case": case,
        "licensee": "苏州某制造有限公司",
        "amount": Money("300000.00"),
        "received_on": case.opened_on,
        "idempotency_key": "2026-Q4",
        "acting_user": w.user("bank1_sub"),
    }
    first = services.licence_income_record(**kwargs)
    again = services.licence_income_record(**kwargs)
    assert first.pk == again.pk
    d.claim.refresh_from_db()
    assert d.claim.recoveries_total == Money("300000.00")
    assert sum(e.amount.fen for e in case.entries.filter(step="bank_principal")) == 30_000_000


def test_open_case_needs_a_defaulted_loan() -> None:
    w = build_world()
    from tests.compensation.factories import add_fund, enrolled_loan

    fund = add_fund(w)
    loan, _ = enrolled_loan(w, fund)
    with pytest.raises(ValidationError) as performing:
        services.case_open(loan=loan, acting_user=w.user("bank1_sub"))
    assert _codes(performing.value) == {"loan": "not_defaulted"}


def test_sale_above_the_debt_pays_interest_then_the_pledgor() -> None:
    w = build_world()
    d = defaulted_with_claim(w)
    case = services.case_propose_route(case=d.case, route="negotiated", acting_user=w.user("bank1_sub"))
    case = services.case_approve_route(case=case, acting_user=w.user("bank1_sub", Role.REVIEWER))
    case = services.sale_record(
        case=case, buyer=w.orgs["ent2"], price=Money("7000000"), acting_user=w.user("bank1_sub")
    )
    case = services.payment_confirm(case=case, acting_user=w.user("bank1_sub"))
    case = services.case_transfer(case=case, acting_user=w.user("bank1_sub"))
    case = services.proceeds_distribute(case=case, costs=Money("100000.00"), acting_user=w.user("bank1_sub"))
    steps = {e.step: e.amount.fen for e in case.entries.all()}
    interest = services._unpaid_interest_fen(d.loan)
    assert interest > 0
    assert steps["costs"] == 10_000_000 and steps["bank_principal"] == 600_000_000
    assert steps["bank_interest"] == interest
    assert steps["surplus"] == 700_000_000 - 10_000_000 - 600_000_000 - interest
    assert sum(fen for step, fen in steps.items() if step != "compensation") == 700_000_000
    assert steps["compensation"] == 480_000_000  # no loss left: the whole advance comes back
    assert all(e.debit_account != e.credit_account for e in case.entries.all())
    d.claim.refresh_from_db()
    assert d.claim.recoveries_total == Money("6000000.00")  # capped at the exposure
