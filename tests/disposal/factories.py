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
