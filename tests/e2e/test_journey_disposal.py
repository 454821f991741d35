"""Browser journey of a collateral disposal (质物处置) in headless Debian Chromium.

The worked example: the defaulted ¥8 m loan (¥6 m outstanding) whose risk-compensation claim was advance-paid has its
case opened, routed to an online auction at the exchange, approved and listed; ent2 and the patent agency are
signed up with their deposits confirmed (all from the factories). Then in the browser: ent2 and the agency bid
2.0 m / 2.1 m / 2.2 m; after the end the exchange closes the lot (sold to ent2 at ¥2,200,000.00) and confirms the
payment; the bank transfers the rights and distributes the proceeds with ¥200,000.00 costs (waterfall: costs 0.2 m,
bank principal 2.0 m, fund return 1.6 m); the fund manager clears the claim and the bank confirms its ¥1,600,000.00
true-up: the claim shows 已清算 and the case its waterfall.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from ipledge.compensation.choices import ClaimStatus, PaymentStatus
from ipledge.disposal.choices import CaseStatus, LotStatus
from ipledge.disposal.models import Lot
from tests.disposal.factories import defaulted_with_claim, listed, registered_bidder
from tests.e2e.browser import log_in, log_out, new_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    page = new_page(browser)
    # Closing a lot, confirming a payment or a transfer ask "确认…？" (data-confirm): the officer says yes.
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    page.context.close()


def no_errors(page: Any) -> None:
    assert page.locator(".action-error, .invalid-feedback, .alert-danger").count() == 0, page.locator(
        "main"
    ).inner_text()[:2000]


def case_action(page: Any, action: str, fields: dict[str, str] | None = None) -> None:
    """Open one action card of the case page, fill its form and submit it, waiting for the page it lands on."""
    card = page.locator(f"#action-{action}")
    if card.get_attribute("open") is None:
        card.locator("summary").click()
    form = f"form.case-action[data-action={action}]"
    for name, value in (fields or {}).items():
        page.fill(f"{form} [name={name}]", value)
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")
    no_errors(page)


def claim_action(page: Any, action: str, fields: dict[str, str] | None = None) -> None:
    card = page.locator(f"#action-{action}")
    if card.get_attribute("open") is None:
        card.locator("summary").click()
    form = f"form.claim-action[data-action={action}]"
    for name, value in (fields or {}).items():
        page.fill(f"{form} [name={name}]", value)
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")
    no_errors(page)


def bid(page: Any, amount: str) -> None:
    page.fill("form.bid-form input[name=amount]", amount)
    with page.expect_navigation():
        page.click("form.bid-form button[type=submit]")
    no_errors(page)


def case_status(page: Any) -> str:
    return str(page.locator(".case-status").inner_text()).strip()


def test_auction_to_cleared_claim_in_the_browser(live_server, world, page) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    d = listed(world, defaulted_with_claim(world), minutes=120)
    assert d.lot is not None and d.session is not None
    lot, case, claim = d.lot, d.case, d.claim
    registered_bidder(world, lot, "ent2")
    registered_bidder(world, lot, "agency")
    lot_url = f"{base}/disposal/lots/{lot.pk}/"
    case_url = f"{base}/disposal/cases/{case.pk}/"

    # ent2 finds the lot from the auction sessions and bids the reserve.
    log_in(page, base, "ent2_operator", "pass-ent2")
    page.click("#sidebar a[href='/disposal/auctions/']")
    page.wait_for_url(f"{base}/disposal/auctions/")
    page.click(f"table a[href='/disposal/auctions/{d.session.pk}/']")
    page.click(f"tr.lot[data-lot='{lot.pk}'] a[href='/disposal/lots/{lot.pk}/']")
    page.wait_for_url(lot_url)
    assert page.inner_text(".lot-minimum") == "2,000,000.00 元"
    assert page.inner_text(".my-alias") == "0001"
    bid(page, "2000000")
    assert page.inner_text(".lot-current-price") == "2,000,000.00"
    log_out(page)

    # The agency outbids; it sees aliases, never the other bidder's name.
    log_in(page, base, "agency_operator", "pass-agency")
    page.goto(lot_url)
    assert page.inner_text(".lot-minimum") == "2,050,000.00 元"
    bid(page, "2100000")
    assert page.locator("tr.bid").count() == 2
    assert world.orgs["ent2"].name not in page.locator("main").inner_text()
    log_out(page)

    log_in(page, base, "ent2_operator", "pass-ent2")
    page.goto(lot_url)
    bid(page, "2200000")
    assert page.inner_text(".lot-current-price") == "2,200,000.00"
    assert page.inner_text("tr.bid[data-sequence='3'] .bid-amount") == "2,200,000.00"
    log_out(page)

    # The auction ends; the exchange closes the lot and confirms the buyer's payment.
    Lot.objects.filter(pk=lot.pk).update(ends_at=timezone.now() - datetime.timedelta(seconds=1))
    log_in(page, base, "exchange_operator", "pass-exchange")
    page.goto(lot_url)
    assert page.locator("tr.bid .bid-name").count() == 3  # the platform sees who bid
    with page.expect_navigation():
        page.click("form.close-form button[type=submit]")
    no_errors(page)
    assert page.inner_text(".lot-status") == "已成交"
    assert page.inner_text(".lot-winner") == f"0001 · {world.orgs['ent2'].name}"
    if os.environ.get("IPLEDGE_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["IPLEDGE_SCREENSHOTS"], "disposal-lot.png"), full_page=True)
    page.click("a.lot-case-link")
    page.wait_for_url(case_url)
    assert case_status(page) == "已成交"
    assert page.inner_text(".case-price") == "2,200,000.00"
    case_action(page, "pay")
    assert case_status(page) == "价款已付清"
    log_out(page)

    # The bank transfers the rights (pledge cancellation filed) and distributes with ¥200,000.00 costs.
    log_in(page, base, "bank1_sub_operator", "pass-bank1_sub")
    page.click("#sidebar a[href='/disposal/']")
    page.click(f"table a[href='/disposal/cases/{case.pk}/']")
    page.wait_for_url(case_url)
    case_action(page, "transfer")
    assert case_status(page) == "权利已过户"
    case_action(page, "distribute", {"costs": "200000"})
    assert case_status(page) == "价款已分配"
    waterfall = {
        step: page.inner_text(f"tr.proceeds-entry[data-step={step}] .entry-amount")
        for step in ("costs", "bank_principal", "compensation")
    }
    assert waterfall == {"costs": "200,000.00", "bank_principal": "2,000,000.00", "compensation": "1,600,000.00"}
    assert page.inner_text(".rights-share-total") == "2,200,000.00"
    log_out(page)

    # The fund manager clears the claim from the recovery the disposal recorded.
    log_in(page, base, "fund_operator", "pass-fund")
    page.goto(f"{base}/compensation/claims/{claim.pk}/")
    assert page.inner_text("tr.recovery .recovery-net") == "2,000,000.00"
    claim_action(page, "clear", {"note": "处置完毕"})
    assert page.inner_text(".claim-status") == "清算中"
    log_out(page)

    # The bank follows the case's link to the claim and confirms paying back ¥1,600,000.00.
    log_in(page, base, "bank1_sub_operator", "pass-bank1_sub")
    page.goto(case_url)
    page.click("a.claim-link")
    page.wait_for_url(f"{base}/compensation/claims/{claim.pk}/")
    true_up = claim.payments.get(purpose="true_up")
    row = page.locator(f"tr.payment[data-payment='{true_up.pk}']")
    assert row.locator(".payment-amount").inner_text() == "1,600,000.00"
    with page.expect_navigation():
        row.locator("form.pay-form button[type=submit]").click()
    no_errors(page)
    assert page.inner_text(".claim-status") == "已清算"
    true_up.refresh_from_db()
    claim.refresh_from_db()
    assert true_up.status == PaymentStatus.PAID and claim.status == ClaimStatus.CLEARED

    # Back on the case: the claim is cleared, the waterfall stays; the bank closes the case.
    page.goto(case_url)
    assert page.inner_text(".case-claim .claim-status") == "已清算"
    assert page.locator("tr.proceeds-entry").count() == 3
    case_action(page, "close", {"note": "处置完毕"})
    assert case_status(page) == "已结案"
    case.refresh_from_db()
    lot.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and lot.status == LotStatus.SOLD
    if os.environ.get("IPLEDGE_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["IPLEDGE_SCREENSHOTS"], "disposal-case.png"), full_page=True)
    log_out(page)

    # Anyone can read the result on the public listing, without the bidders.
    page.goto(f"{base}/disposal/public/auctions/")
    listing = page.locator("main").inner_text()
    assert "2,200,000.00" in listing
    assert world.orgs["ent2"].name not in listing and world.orgs["agency"].name not in listing
    if os.environ.get("IPLEDGE_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["IPLEDGE_SCREENSHOTS"], "disposal-public.png"), full_page=True)
