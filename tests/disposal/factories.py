"""A disposal world: the compensation worked example's loan (¥8 m, ¥6 m outstanding, claim advance-paid), its case
opened, revalued, routed to an online auction at `exchange`, approved, and listed in a session open now."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from ipledge.compensation import services as compensation
from ipledge.compensation.models import Claim, Fund
from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.money import Money
from ipledge.disposal import services
from ipledge.disposal.models import AuctionSession, DisposalCase, Lot
from ipledge.lending.models import Loan
from tests.compensation.factories import add_fund, enrolled_loan, turn_bad
from tests.world import World


@dataclass
class Disposal:
    fund: Fund
    loan: Loan
    claim: Claim
    case: DisposalCase
    session: AuctionSession | None = None
    lot: Lot | None = None


def defaulted_with_claim(w: World, *, fund: Fund | None = None) -> Disposal:
    fund = fund or add_fund(w)
    loan, enrolment = enrolled_loan(w, fund)
    loan = turn_bad(w, loan)
    with as_of(date(2025, 8, 10)):
        claim = compensation.claim_file(
            enrolment=enrolment, acting_user=w.user("bank1_sub"), collection_efforts="已起诉"
        )
        claim = compensation.claim_review(claim=claim, acting_user=w.user("fund"))
        claim = compensation.claim_approve(claim=claim, acting_user=w.user("fund", Role.REVIEWER))
    case = services.case_open(loan=loan, acting_user=w.user("bank1_sub"), note="借款人无力清偿")
    return Disposal(fund=fund, loan=loan, claim=claim, case=case)


def listed(w: World, d: Disposal, *, reserve: str = "2000000.00", minutes: int = 60) -> Disposal:
    case = services.case_propose_route(
        case=d.case, route="auction", platform=w.orgs["exchange"], acting_user=w.user("bank1_sub"), note="集中拍卖"
    )
    case = services.case_approve_route(case=case, acting_user=w.user("bank1_sub", Role.REVIEWER))
    now = timezone.now()
    session = services.session_create(
        platform=w.orgs["exchange"],
        title="知识产权质物集中拍卖第1场",
        starts_at=now - datetime.timedelta(minutes=5),
        ends_at=now + datetime.timedelta(minutes=minutes),
        extension_minutes=5,
        acting_user=w.user("exchange"),
    )
    lot = services.lot_list(
        session=session,
        case=case,
        reserve_price=Money(reserve),
        deposit=Money("200000.00"),
        increment=Money("50000.00"),
        acting_user=w.user("exchange"),
    )
    case.refresh_from_db()
    d.case, d.session, d.lot = case, session, lot
    return d


def registered_bidder(w: World, lot: Lot, org_key: str) -> None:
    registration = services.bidder_register(lot=lot, acting_user=w.user(org_key))
    services.deposit_confirm(registration=registration, acting_user=w.user("exchange"))


def _defaulted_loan(w: World, *, fund: Fund, borrower: str, bank: str) -> Loan:
    loan, _ = enrolled_loan(w, fund, borrower=borrower, bank=bank, principal="1000000.00")
    return turn_bad(w, loan, bank=bank)


def add_disposal(w: World) -> dict[str, object]:
    """One of every disposal row on both sides of the walls, for the permission matrices: bank1_sub's auction case
    (listed, ent2 and agency registered, a bid from each) and licensing case (one income), and bank2's licensing
    case in Jiangsu (one income)."""
    from ipledge.core.models import Region

    fund = Fund.objects.filter(code="BJ-IPF").first() or add_fund(w)
    fund_js = Fund.objects.filter(code="JS-IPF").first() or add_fund(
        w, code="JS-IPF", name="江苏省知识产权质押融资风险补偿资金", region="320000", sponsor="ipo_js"
    )
    assert Region.objects.filter(code="320000").exists()
    auction_loan = _defaulted_loan(w, fund=fund, borrower="e1", bank="bank1_sub")
    d = Disposal(
        fund=fund,
        loan=auction_loan,
        claim=None,
        case=services.case_open(loan=auction_loan, acting_user=w.user("bank1_sub")),
    )  # type: ignore[arg-type]
    d = listed(w, d)
    assert d.lot is not None
    registered_bidder(w, d.lot, "ent2")
    registered_bidder(w, d.lot, "agency")
    services.bid_place(lot=d.lot, amount=Money("2000000.00"), acting_user=w.user("ent2"))
    services.bid_place(lot=d.lot, amount=Money("2050000.00"), acting_user=w.user("agency"))
    cases = {"auction": d.case}
    for key, (borrower, bank, pool) in {
        "licensing_bj": ("e1", "bank1_sub", fund),
        "licensing_js": ("e2", "bank2", fund_js),
    }.items():
        loan = _defaulted_loan(w, fund=pool, borrower=borrower, bank=bank)
        case = services.case_open(loan=loan, acting_user=w.user(bank))
        case = services.case_propose_route(case=case, route="licensing", acting_user=w.user(bank))
        case = services.case_approve_route(case=case, acting_user=w.user(bank, Role.REVIEWER))
        services.licence_income_record(
            case=case,
            licensee="被许可企业",
            amount=Money("100000.00"),
            received_on=case.opened_on,
            idempotency_key="first",
            acting_user=w.user(bank),
        )
        cases[key] = case
    return {"lot": d.lot, "session": d.session, **cases}
