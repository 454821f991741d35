"""Disposal pages (质物处置): the worked example driven through the forms — a case opened from the defaulted ¥8 m loan,
revalued, routed to an online auction at `exchange` by one bank officer and approved by another, listed, bid on by
ent2 and the agency, sold at ¥2,200,000.00, paid, transferred and distributed (costs ¥200,000.00 → bank principal
¥2,000,000.00, fund return ¥1,600,000.00), the claim cleared in the compensation pages and the case closed; and who
may do what: another bank gets 404, the proposer is never offered the approval (and is refused it), the pledgee
bank cannot bid, bidder identities stay with the platform and the bank, and the public listing needs no login and
names no bidder."""

from __future__ import annotations

import datetime
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ipledge.compensation import services as compensation
from ipledge.compensation.choices import ClaimStatus
from ipledge.compensation.models import Claim
from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.context_processors import build_navigation
from ipledge.core.money import Money
from ipledge.disposal.choices import CaseStatus, DepositStatus, LotStatus
from ipledge.disposal.models import AuctionSession, BidderRegistration, DisposalCase, Lot
from ipledge.lending.models import Loan
from tests.compensation.factories import add_fund, enrolled_loan, turn_bad
from tests.disposal.factories import defaulted_with_claim, listed, registered_bidder

pytestmark = pytest.mark.django_db


def login(client: Client, world: Any, org: str, role: str = Role.OPERATOR) -> Any:
    user = world.user(org, role)
    client.force_login(user)
    return user


def text(response: Any) -> str:
    return str(response.content.decode())


def flashed(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def bad_loan_with_claim(world: Any) -> tuple[Loan, Claim]:
    """The worked example's loan (¥8 m, ¥6 m outstanding, 次级) and its advance-paid claim, without a case yet."""
    fund = add_fund(world)
    loan, enrolment = enrolled_loan(world, fund)
    loan = turn_bad(world, loan)
    with as_of(date(2025, 8, 10)):
        claim = compensation.claim_file(
            enrolment=enrolment, acting_user=world.user("bank1_sub"), collection_efforts="已起诉"
        )
        claim = compensation.claim_review(claim=claim, acting_user=world.user("fund"))
        claim = compensation.claim_approve(claim=claim, acting_user=world.user("fund", Role.REVIEWER))
    return loan, claim


def case_post(client: Client, case: DisposalCase, action: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(reverse(f"disposal:case_{action}", args=[case.pk]), data or {})


def local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_auction_flow_through_the_pages(world: Any) -> None:
    loan, claim = bad_loan_with_claim(world)
    bank, maker, checker, platform = Client(), Client(), Client(), Client()
    login(bank, world, "bank1_sub")
    login(maker, world, "bank1_sub", Role.ADMIN)
    login(checker, world, "bank1_sub", Role.REVIEWER)
    login(platform, world, "exchange")

    # The bank opens the case from its list of defaulted / non-performing loans.
    page = bank.get(reverse("disposal:open"))
    assert page.status_code == 200
    assert [row.pk for row in page.context["loans"]] == [loan.pk]
    assert "立案处置" in text(page)
    response = bank.post(reverse("disposal:open"), {"loan": loan.pk, "note": "借款人无力清偿"})
    case = DisposalCase.objects.get(loan=loan)
    assert response.status_code == 302 and response["Location"] == reverse("disposal:case_detail", args=[case.pk])
    assert case.status == CaseStatus.OPENED and case.rights.count() >= 1
    again = bank.get(reverse("disposal:open"))
    assert f'href="{reverse("disposal:case_detail", args=[case.pk])}"' in text(again)  # linked, not reopened

    # A fresh machine valuation of the rights (P50), then the route: an online auction at the exchange.
    assert case_post(bank, case, "revalue").status_code == 302
    assert all(item.fresh_value is not None for item in case.rights.all())
    response = case_post(
        maker, case, "propose", {"route": "auction", "platform": world.orgs["exchange"].pk, "note": "集中拍卖"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.ROUTE_PROPOSED and case.platform == world.orgs["exchange"]

    # The proposer is not offered the approval, and posting it anyway is refused by the service.
    page = maker.get(reverse("disposal:case_detail", args=[case.pk]))
    names = [panel["spec"].name for panel in page.context["panels"]]
    assert "approve" not in names and "propose" in names
    assert 'id="action-approve"' not in text(page)
    refused = case_post(maker, case, "approve")
    assert refused.status_code == 302
    followed = maker.get(refused["Location"])
    assert any("审批人不能是方案提出人" in m for m in flashed(followed))
    case.refresh_from_db()
    assert case.status == CaseStatus.ROUTE_PROPOSED and case.approved_by is None

    # A second officer with the approving role approves.
    page = checker.get(reverse("disposal:case_detail", args=[case.pk]))
    assert 'id="action-approve"' in text(page)
    assert case_post(checker, case, "approve").status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.ROUTE_APPROVED and case.approved_by == world.user("bank1_sub", Role.REVIEWER)

    # The platform opens a session and lists the case as a lot.
    assert platform.get(reverse("disposal:session_create")).status_code == 200
    now = timezone.now()
    response = platform.post(
        reverse("disposal:session_create"),
        {
            "platform": world.orgs["exchange"].pk,
            "title": "知识产权质物集中拍卖第1场",
            "starts_at": local(now - datetime.timedelta(minutes=5)),
            "ends_at": local(now + datetime.timedelta(hours=2)),
            "extension_minutes": "5",
        },
    )
    session = AuctionSession.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("disposal:session_detail", args=[session.pk])
    form_page = platform.get(reverse("disposal:lot_create", args=[session.pk]))
    assert list(form_page.context["form"].fields["case"].queryset) == [case]
    response = platform.post(
        reverse("disposal:lot_create", args=[session.pk]),
        {"case": case.pk, "reserve_price": "2000000", "deposit": "200000", "increment": "50000"},
    )
    lot = Lot.objects.get(case=case)
    assert response.status_code == 302 and response["Location"] == reverse("disposal:lot_detail", args=[lot.pk])
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS

    # The pledgee bank may neither sign up nor bid: the service's reasons are shown.
    lot_url = reverse("disposal:lot_detail", args=[lot.pk])
    page = bank.get(lot_url)
    assert page.context["party"] and not page.context["can_register"]
    followed = bank.post(reverse("disposal:lot_register", args=[lot.pk]), follow=True)
    assert any("质权人不能参与竞买" in m for m in flashed(followed))
    refused = bank.post(reverse("disposal:lot_bid", args=[lot.pk]), {"amount": "2000000"})
    assert refused.status_code == 200 and "请先登记竞买并缴纳保证金" in text(refused)
    assert not BidderRegistration.objects.filter(bidder=world.orgs["bank1_sub"]).exists()

    # ent2 and the agency sign up; the platform confirms their deposits.
    bidders = {}
    for key in ("ent2", "agency"):
        client = Client()
        login(client, world, key)
        page = client.get(lot_url)
        assert page.context["can_register"]
        assert client.post(reverse("disposal:lot_register", args=[lot.pk])).status_code == 302
        bidders[key] = client
    page = platform.get(lot_url)
    assert [b["name"] for b in page.context["bidders"]] == [world.orgs["ent2"].name, world.orgs["agency"].name]
    for registration in BidderRegistration.objects.filter(lot=lot):
        response = platform.post(reverse("disposal:registration_deposit", args=[registration.pk]))
        assert response.status_code == 302
    assert set(BidderRegistration.objects.filter(lot=lot).values_list("deposit_status", flat=True)) == {
        DepositStatus.PAID
    }

    # Bids: below the reserve is refused next to the field with the minimum; then 2.0 m, 2.1 m, 2.2 m.
    ent2, agency = bidders["ent2"], bidders["agency"]
    page = ent2.get(lot_url)
    assert page.context["minimum"] == "2,000,000.00" and page.context["can_bid"]
    low = ent2.post(reverse("disposal:lot_bid", args=[lot.pk]), {"amount": "1999999.99"})
    assert low.status_code == 200
    assert low.context["bid_form"].errors["amount"] == ["出价须不低于 2,000,000.00 元。"]
    for client, amount in ((ent2, "2000000"), (agency, "2100000"), (ent2, "2200000")):
        assert client.post(reverse("disposal:lot_bid", args=[lot.pk]), {"amount": amount}).status_code == 302
    lot.refresh_from_db()
    assert (lot.current_price, lot.bid_count) == (Money("2200000.00"), 3)

    # Bidders see aliases only; the platform and the case's bank see who stands behind them.
    seen_by_ent2 = ent2.get(lot_url)
    assert world.orgs["agency"].name not in text(seen_by_ent2)
    assert [b["alias"] for b in seen_by_ent2.context["bids"]] == ["0001", "0002", "0001"]
    assert not seen_by_ent2.context["names_shown"]
    assert platform.get(lot_url).context["names_shown"]
    assert world.orgs["agency"].name in text(bank.get(lot_url))
    assert bank.get(reverse("disposal:lot_detail", args=[lot.pk])).status_code == 200

    # The public listing shows the lot and its price, anonymously and with no bidder.
    public = Client().get(reverse("disposal:public_auctions"))
    assert public.status_code == 200
    body = text(public)
    assert "2,200,000.00" in body and "知识产权质物集中拍卖第1场" in body
    for key in ("ent2", "agency", "bank1_sub"):
        assert world.orgs[key].name not in body
    assert "0001" not in body and "0002" not in body

    # Closing before the end is refused; after the (extended) end the lot is sold to ent2.
    early = platform.post(reverse("disposal:lot_close", args=[lot.pk]), follow=True)
    assert any("竞价尚未结束" in m for m in flashed(early))
    Lot.objects.filter(pk=lot.pk).update(ends_at=timezone.now() - datetime.timedelta(seconds=1))
    assert platform.post(reverse("disposal:lot_close", args=[lot.pk])).status_code == 302
    lot.refresh_from_db()
    assert lot.status == LotStatus.SOLD and lot.winner is not None and lot.winner.bidder == world.orgs["ent2"]
    case.refresh_from_db()
    assert (case.status, case.sale_price, case.buyer) == (CaseStatus.SOLD, Money("2200000.00"), world.orgs["ent2"])

    # The platform confirms the payment; the bank transfers and distributes.
    page = platform.get(reverse("disposal:case_detail", args=[case.pk]))
    assert [p["spec"].name for p in page.context["panels"]] == ["pay"]
    assert case_post(platform, case, "pay").status_code == 302
    assert case_post(bank, case, "transfer").status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.TRANSFERRED and case.cancellation_filing is not None
    bad = case_post(bank, case, "distribute", {"costs": "-1"})
    assert bad.status_code == 200 and "costs" in bad.context["panels"][0]["form"].errors
    assert case_post(bank, case, "distribute", {"costs": "200000"}).status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.DISTRIBUTED
    page = bank.get(reverse("disposal:case_detail", args=[case.pk]))
    rows = [(r["step"], r["amount"]) for r in page.context["entries"]["rows"]]
    assert rows == [
        ("costs", "200,000.00"),
        ("bank_principal", "2,000,000.00"),
        ("compensation", "1,600,000.00"),
    ]
    assert page.context["rights"]["share_total"] == "2,200,000.00"
    claim_url = reverse("compensation:claim_detail", args=[claim.pk])
    assert f'href="{claim_url}"' in text(page)

    # The fund manager clears the claim; the bank confirms paying back ¥1,600,000.00.
    fund = Client()
    login(fund, world, "fund")
    response = fund.post(reverse("compensation:claim_clear", args=[claim.pk]), {"note": "处置完毕"})
    assert response.status_code == 302
    true_up = claim.payments.get(purpose="true_up")
    assert true_up.amount == Money("1600000.00")
    assert bank.post(reverse("compensation:payment_pay", args=[true_up.pk]), {"reference": "B-1"}).status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.CLEARED

    # The bank closes the case.
    assert case_post(bank, case, "close", {"note": "处置完毕"}).status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    page = bank.get(reverse("disposal:case_detail", args=[case.pk]))
    assert all(step["done"] for step in page.context["timeline"])
    assert "已清算" in text(page)


def test_another_bank_gets_404_and_lists_stay_scoped(world: Any) -> None:
    d = listed(world, defaulted_with_claim(world))
    assert d.lot is not None
    other = Client()
    login(other, world, "bank2")
    assert other.get(reverse("disposal:case_detail", args=[d.case.pk])).status_code == 404
    assert other.post(reverse("disposal:case_transfer", args=[d.case.pk])).status_code == 404
    assert other.get(reverse("disposal:case_list")).context["table"].data.data.count() == 0
    assert other.post(reverse("disposal:lot_close", args=[d.lot.pk])).status_code == 404
    assert other.get(reverse("disposal:open")).status_code == 200  # its own (empty) list
    own = Client()
    login(own, world, "bank1")  # the head office sees its sub-branch's case
    listed_cases = own.get(reverse("disposal:case_list")).context["table"].data.data
    assert list(listed_cases) == [d.case]
    viewer = Client()
    login(viewer, world, "bank1_sub", Role.VIEWER)
    assert viewer.get(reverse("disposal:open")).status_code == 404  # may not open cases
    assert viewer.get(reverse("disposal:case_detail", args=[d.case.pk])).context["panels"] == []
    enterprise = Client()
    login(enterprise, world, "ent2")
    assert enterprise.get(reverse("disposal:session_create")).status_code == 404
    assert enterprise.get(reverse("disposal:lot_create", args=[d.session.pk])).status_code == 404  # type: ignore[union-attr]


def test_a_bidder_cannot_confirm_its_own_deposit(world: Any) -> None:
    d = listed(world, defaulted_with_claim(world))
    assert d.lot is not None
    ent2 = Client()
    login(ent2, world, "ent2")
    ent2.post(reverse("disposal:lot_register", args=[d.lot.pk]))
    registration = BidderRegistration.objects.get(lot=d.lot)
    assert ent2.post(reverse("disposal:registration_deposit", args=[registration.pk])).status_code == 403
    registration.refresh_from_db()
    assert registration.deposit_status == DepositStatus.PENDING
    page = ent2.get(reverse("disposal:lot_detail", args=[d.lot.pk]))
    assert page.context["mine"] == registration and not page.context["can_bid"]
    assert page.context["bidders"] == []


def test_negotiated_sale_and_licensing_through_the_panels(world: Any) -> None:
    d = defaulted_with_claim(world)
    maker, checker = Client(), Client()
    login(maker, world, "bank1_sub")
    login(checker, world, "bank1_sub", Role.REVIEWER)
    missing = case_post(maker, d.case, "propose", {"route": "auction"})
    assert missing.status_code == 200
    form = next(p["form"] for p in missing.context["panels"] if p["spec"].name == "propose")
    assert "platform" in form.errors  # the service's rule, next to the field
    case_post(maker, d.case, "propose", {"route": "negotiated", "note": "协议转让"})
    case_post(checker, d.case, "approve")
    page = maker.get(reverse("disposal:case_detail", args=[d.case.pk]))
    sale = next(p["form"] for p in page.context["panels"] if p["spec"].name == "sale")
    buyers = set(sale.fields["buyer"].queryset)
    assert world.orgs["ent2"] in buyers and world.orgs["ent1"] not in buyers and world.orgs["bank2"] not in buyers
    zero = case_post(maker, d.case, "sale", {"buyer": world.orgs["ent2"].pk, "price": "0"})
    assert zero.status_code == 200
    response = case_post(maker, d.case, "sale", {"buyer": world.orgs["ent2"].pk, "price": "1500000"})
    assert response.status_code == 302
    d.case.refresh_from_db()
    assert d.case.status == CaseStatus.SOLD and d.case.sale_price == Money("1500000.00")
    assert case_post(maker, d.case, "pay").status_code == 302  # the bank confirms the payment itself
    d.case.refresh_from_db()
    assert d.case.status == CaseStatus.PAID


def test_licence_income_is_idempotent_through_the_form(world: Any) -> None:
    d = defaulted_with_claim(world)
    maker, checker = Client(), Client()
    login(maker, world, "bank1_sub")
    login(checker, world, "bank1_sub", Role.REVIEWER)
    case_post(maker, d.case, "propose", {"route": "licensing"})
    case_post(checker, d.case, "approve")
    d.case.refresh_from_db()
    assert d.case.status == CaseStatus.IN_PROGRESS
    page = maker.get(reverse("disposal:case_detail", args=[d.case.pk]))
    panel = next(p for p in page.context["panels"] if p["spec"].name == "licence")
    key = panel["form"]["idempotency_key"].value()
    assert key and 'type="hidden" name="idempotency_key"' in text(page)
    data = {
        "licensee": "苏州某制造有限公司",
        "received_on": d.case.opened_on.isoformat(),
        "amount": "300000",
        "idempotency_key": key,
    }
    assert case_post(maker, d.case, "licence", data).status_code == 302
    assert case_post(maker, d.case, "licence", data).status_code == 302  # a double submit records it once
    assert d.case.licence_incomes.count() == 1
    page = maker.get(reverse("disposal:case_detail", args=[d.case.pk]))
    assert [r["step"] for r in page.context["entries"]["rows"]] == ["bank_principal", "compensation"]
    assert "close" in [p["spec"].name for p in page.context["panels"]]


def test_public_listing_is_anonymous_and_names_no_bidder(world: Any) -> None:
    d = listed(world, defaulted_with_claim(world))
    assert d.lot is not None
    registered_bidder(world, d.lot, "ent2")
    registered_bidder(world, d.lot, "agency")
    from ipledge.disposal import services

    services.bid_place(lot=d.lot, amount=Money("2000000"), acting_user=world.user("ent2"))
    services.bid_place(lot=d.lot, amount=Money("2100000"), acting_user=world.user("agency"))
    response = Client().get(reverse("disposal:public_auctions"))
    assert response.status_code == 200
    body = text(response)
    assert "2,100,000.00" in body and "2,000,000.00" in body  # current price, reserve
    for key in ("ent2", "agency", "bank1_sub", "ent1"):
        assert world.orgs[key].name not in body
    assert d.case.reference not in body
    assert f'href="{reverse("disposal:lot_detail", args=[d.lot.pk])}"' not in body  # lot pages need a login
    assert Client().get(reverse("disposal:case_list"))["Location"].startswith("/login/")
    assert Client().get(reverse("disposal:lot_detail", args=[d.lot.pk])).status_code == 302


def test_navigation_offers_disposal_by_role(world: Any) -> None:
    def labels(org: str, role: str = Role.OPERATOR) -> list[str]:
        sections = build_navigation(world.user(org, role), "disposal:case_list")
        return [str(item.label) for s in sections if str(s.label) == "质物处置" for item in s.items]

    assert labels("bank1_sub") == ["处置案件", "立案处置", "拍卖场次", "拍卖公示"]
    assert labels("bank1_sub", Role.VIEWER) == ["处置案件", "拍卖场次", "拍卖公示"]
    assert labels("exchange") == ["处置案件", "拍卖场次", "拍卖公示"]
    assert labels("ent2") == ["处置案件", "拍卖场次", "拍卖公示"]
