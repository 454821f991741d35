"""`ipledge seed_disposal` on the test world with nine bad loans (three with advance-paid claims, one of them in
Jiangsu, where no disposal platform exists yet): cases in every state, sold auctions whose bids rise by at least the
increment (one extended by a late bid), proceeds that add up to each price, recoveries on the claims (all but one
then cleared), a live auction, a second `--if-empty` run that does nothing, and the `disposal` jobs."""

from __future__ import annotations

import datetime
import io
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.utils import timezone

from ipledge.compensation import services as compensation
from ipledge.compensation.choices import ClaimStatus
from ipledge.compensation.models import Claim, Fund, Recovery
from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent, Organisation, Region
from ipledge.core.money import Money
from ipledge.core.services import organisation_create, user_create
from ipledge.core.synthetic import make_uscc
from ipledge.disposal.choices import CaseStatus, DepositStatus, LotStatus, ProceedsSource, ProceedsStep, Route
from ipledge.disposal.models import AuctionSession, DisposalCase, LicenceIncome, Lot
from ipledge.registry.services import enterprise_create
from tests.compensation.factories import add_fund, enrolled_loan, turn_bad
from tests.world import World, build_world

pytestmark = pytest.mark.django_db


def _bad_loan(w: World, fund: Fund, *, borrower: str, bank: str, claim: bool) -> None:
    loan, enrolment = enrolled_loan(w, fund, borrower=borrower, bank=bank)
    turn_bad(w, loan, bank=bank)
    if claim:
        with as_of(date(2025, 8, 10)):
            filed = compensation.claim_file(enrolment=enrolment, acting_user=w.user(bank), collection_efforts="已起诉")
            compensation.claim_review(claim=filed, acting_user=w.user("fund"))
            compensation.claim_approve(claim=filed, acting_user=w.user("fund", Role.REVIEWER))


def _bidders(w: World) -> None:
    """Two more enterprises with a login in each park, so every pledgor has bidders from another park."""
    regions = {r.code: r for r in Region.objects.filter(code__in=["110108", "320115"])}
    for n, (park, code) in enumerate([("p1", "110108"), ("p1", "110108"), ("p2", "320115"), ("p2", "320115")]):
        name = f"{'北京' if park == 'p1' else '南京'}竞买测试{n}有限公司"
        org = organisation_create(name=name, kind=OrganisationKind.ENTERPRISE, acting_user=None, region=regions[code])
        user_create(username=f"bidder{n}", organisation=org, role=Role.OPERATOR, password="x", acting_user=None)
        enterprise_create(
            uscc=make_uscc(region_code=code, serial=5000 + n),
            name=name,
            industry_section="C",
            employees=50,
            organisation=org,
            park=w.parks[park],
            joined_on=date(2022, 1, 1),
            acting_user=None,
        )


def _seed_world() -> str:
    w = build_world()
    fund = add_fund(w)
    fund_js = add_fund(w, code="JS-IPF", name="江苏省知识产权质押融资风险补偿资金", region="320000", sponsor="ipo_js")
    _bad_loan(w, fund, borrower="e1", bank="bank1_sub", claim=True)
    _bad_loan(w, fund, borrower="e1", bank="bank1_sub", claim=True)
    _bad_loan(w, fund_js, borrower="e2", bank="bank2", claim=True)
    for _ in range(6):
        _bad_loan(w, fund, borrower="e1", bank="bank1_sub", claim=False)
    _bidders(w)
    # The Jiangsu claim's auction needs a platform there: the seed creates one (with a user per role).
    assert not Organisation.objects.filter(kind=OrganisationKind.DISPOSAL_PLATFORM, region__code__startswith="32")
    out = io.StringIO()
    call_command("seed_disposal", "--seed", "3", stdout=out)
    return out.getvalue()


def test_seed_disposal() -> None:
    output = _seed_world()
    assert "Seeded disposal (seed 3)" in output and "refused" not in output, output
    _check_states_and_orgs()
    _check_auctions()
    _check_proceeds_and_claims()
    _check_audit_and_if_empty()
    _check_commands()


def _check_states_and_orgs() -> None:
    statuses = set(DisposalCase.objects.values_list("status", flat=True))
    assert statuses >= {
        CaseStatus.OPENED,
        CaseStatus.ROUTE_PROPOSED,
        CaseStatus.IN_PROGRESS,
        CaseStatus.PAID,
        CaseStatus.DISTRIBUTED,
        CaseStatus.CLOSED,
    }
    assert DisposalCase.objects.count() == 9
    routes = set(DisposalCase.objects.exclude(route="").values_list("route", flat=True))
    assert routes == set(Route.values)
    jiangsu = Organisation.objects.get(kind=OrganisationKind.DISPOSAL_PLATFORM, region__code__startswith="32")
    assert jiangsu.name == "江苏知识产权交易中心"
    assert set(jiangsu.users.values_list("role", flat=True)) == set(Role.values)
    acquisition = DisposalCase.objects.get(route=Route.ACQUISITION)
    assert acquisition.platform is not None and acquisition.buyer_id == acquisition.platform_id
    assert acquisition.platform.name == "北京知识产权运营管理有限公司"
    assert acquisition.status == CaseStatus.PAID
    opened = DisposalCase.objects.get(status=CaseStatus.OPENED)
    assert opened.opened_on == timezone.localdate() and opened.route == ""
    for case in DisposalCase.objects.exclude(status=CaseStatus.OPENED):
        assert case.route_approved_on is None or case.approved_by_id != case.proposed_by_id


def _check_auctions() -> None:
    sold = list(Lot.objects.filter(status=LotStatus.SOLD).select_related("session", "case", "winner"))
    assert len(sold) == 3
    extended = 0
    for lot in sold:
        bids = list(lot.bids.order_by("sequence"))
        assert [b.sequence for b in bids] == list(range(1, len(bids) + 1)) and len(bids) >= 3
        assert bids[0].amount.fen >= lot.reserve_price.fen
        for before, after in zip(bids, bids[1:], strict=False):
            assert after.amount.fen >= before.amount.fen + lot.increment.fen
            assert after.placed_at > before.placed_at and after.registration_id != before.registration_id
        session = lot.session
        assert session.status == "closed" and session.ends_at < timezone.now()
        assert all(session.starts_at <= b.placed_at < lot.ends_at for b in bids)
        extended += lot.ends_at > session.ends_at
        top = bids[-1]
        assert lot.winner_id == top.registration_id and lot.current_price == top.amount == lot.case.sale_price
        assert (
            lot.case.buyer_id == top.registration.bidder_id
            and lot.case.sold_on == timezone.localtime(session.ends_at).date()
        )
        deposits = dict(lot.bidders.values_list("pk", "deposit_status"))
        assert deposits.pop(top.registration_id) == DepositStatus.APPLIED
        assert set(deposits.values()) == {DepositStatus.REFUNDED}
        pledgor_parks = set(lot.case.pledgor.memberships.values_list("park_id", flat=True))
        for registration in lot.bidders.select_related("bidder"):
            assert registration.bidder.kind == OrganisationKind.ENTERPRISE
            parks = set(registration.bidder.enterprise.memberships.values_list("park_id", flat=True))
            assert not parks & pledgor_parks
    assert extended >= 1  # a late bid pushed a lot's end (anti-sniping)
    # The case that found no bidder in the past session is relisted, 20 % lower, in the session open now.
    (unsold,) = Lot.objects.filter(status=LotStatus.UNSOLD)
    live = Lot.objects.get(status=LotStatus.LISTED)
    assert live.case_id == unsold.case_id and abs(live.reserve_price.fen - unsold.reserve_price.fen * 0.8) <= 50_000
    assert live.session.starts_at <= timezone.now() < live.ends_at and live.bid_count == 2
    assert live.case.status == CaseStatus.IN_PROGRESS
    assert AuctionSession.objects.count() == 3  # Beijing's and Jiangsu's past sessions, and the live one


def _check_proceeds_and_claims() -> None:
    for case in DisposalCase.objects.filter(status__in=[CaseStatus.DISTRIBUTED, CaseStatus.CLOSED]):
        if case.route == Route.LICENSING:
            continue
        assert case.sale_price is not None
        from_proceeds = case.entries.filter(source=ProceedsSource.SALE, credit_account=f"proceeds:{case.reference}")
        assert sum(e.amount.fen for e in from_proceeds) == case.sale_price.fen
        costs = case.entries.get(step=ProceedsStep.COSTS).amount.fen
        assert costs == case.costs.fen and 0.049 <= costs / case.sale_price.fen <= 0.1
        assert case.transferred_on is not None and case.cancellation_filing_id is not None
    licensing = DisposalCase.objects.get(route=Route.LICENSING)
    incomes = list(LicenceIncome.objects.filter(case=licensing))
    assert len(incomes) == 2 and licensing.status == CaseStatus.IN_PROGRESS
    for income in incomes:
        assert sum(e.amount.fen for e in income.entries.exclude(step=ProceedsStep.COMPENSATION)) == income.amount.fen
    # Every claim got its sale as a recovery; all but one were then cleared; the last waits for the fund manager.
    claims = list(Claim.objects.order_by("pk"))
    assert len(claims) == 3
    for claim in claims:
        (case,) = DisposalCase.objects.filter(loan=claim.loan)
        assert case.route == Route.AUCTION
        (recovery,) = Recovery.objects.filter(claim=claim, source_reference=case.reference)
        bank_share = case.entries.filter(step__in=[ProceedsStep.BANK_PRINCIPAL, ProceedsStep.BANK_INTEREST])
        assert recovery.gross_amount.fen == sum(e.amount.fen for e in bank_share)
        assert case.entries.filter(step=ProceedsStep.COMPENSATION).exists()
    assert sorted(c.status for c in claims) == [ClaimStatus.ADVANCE_PAID, ClaimStatus.CLEARED, ClaimStatus.CLEARED]
    (waiting,) = [c for c in claims if c.status == ClaimStatus.ADVANCE_PAID]
    assert waiting.recoveries_total.fen > 0
    assert DisposalCase.objects.get(loan=waiting.loan).status == CaseStatus.DISTRIBUTED


def _check_audit_and_if_empty() -> None:
    (event,) = AuditEvent.objects.filter(action="seed.disposal")
    extra = event.changes["extra"]
    assert extra["cases"] == 9 and extra["lots_sold"] == 3 and extra["claims_left_to_clear"] == 1
    assert extra["organisations_created"] == 2 and extra["seed"] == 3
    before = (DisposalCase.objects.count(), Lot.objects.count(), AuditEvent.objects.count())
    out = io.StringIO()
    call_command("seed_disposal", "--if-empty", stdout=out)
    assert "nothing seeded" in out.getvalue()
    assert (DisposalCase.objects.count(), Lot.objects.count(), AuditEvent.objects.count()) == before


def _check_commands() -> None:
    """`disposal close-auctions` closes the live lot once its end has passed; `disposal history` lists the sales."""
    out = io.StringIO()
    call_command("disposal", "close-auctions", "--json", stdout=out)
    assert json.loads(out.getvalue())["sold"] == 0  # nothing due yet
    live = Lot.objects.get(status=LotStatus.LISTED)
    Lot.objects.filter(pk=live.pk).update(ends_at=timezone.now() - datetime.timedelta(minutes=1))
    out = io.StringIO()
    call_command("disposal", "close-auctions", stdout=out)
    assert "1 lots sold, 0 unsold" in out.getvalue()
    live.refresh_from_db()
    top = live.bids.order_by("-sequence").first()
    assert top is not None and live.status == LotStatus.SOLD and live.winner_id == top.registration_id
    assert live.case.status == CaseStatus.SOLD and live.case.sale_price == top.amount
    out = io.StringIO()
    call_command("disposal", "history", "--json", stdout=out)
    rows = json.loads(out.getvalue())
    assert len(rows) == DisposalCase.objects.filter(sale_price__isnull=False).count() == 6
    assert all(Money(r["sale_price"]).fen > 0 and r["days_to_sale"] >= 0 for r in rows)
    out = io.StringIO()
    call_command("disposal", "history", stdout=out)
    assert "6 sales" in out.getvalue()
