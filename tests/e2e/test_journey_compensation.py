"""Browser journeys of the risk-compensation fund (风险补偿) in headless Debian Chromium.

1. The worked example (research/domain.md §4.3): an ¥8 m Jiangsu-tier loan is ¥6 m outstanding when it turns bad.
   The fund manager sees the fund; the bank files the claim from the enrolled loan; the fund's operator reviews and
   a second fund user approves, so the fund advances ¥4,800,000.00; the bank records the disposal (¥2.2 m less
   ¥0.2 m costs); the fund clears; the bank confirms paying back ¥1,600,000.00: the claim shows 已清算 and the fund's
   balance 26,800,000.00.
2. A four-party Zhongshan claim (fund 54 : bank 26 : insurer 16 : valuer 4): after approval the insurer and the
   valuer each log in and confirm their advance payments; a recovery comes in, and clearing shows four final shares.

The fund, its schemes and the bad loan come from the factories (dated so that the claim window is still open
today); every claim step goes through the browser.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from typing import Any

import pytest

from ipledge.compensation import ledger
from ipledge.compensation.choices import ClaimStatus, PaymentStatus
from ipledge.compensation.models import Claim
from ipledge.core.context import business_date
from ipledge.core.money import Money
from tests.compensation.factories import add_fund, enrolled_loan, turn_bad
from tests.e2e.browser import log_in, log_out, new_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    page = new_page(browser)
    # Payment confirmations ask "确认…？" (data-confirm): the officer says yes.
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    page.context.close()


def bad_loan(world: Any, fund: Any, **parties: Any) -> tuple[Any, Any]:
    """An ¥8 m loan disbursed about seven months ago, one quarterly instalment repaid, classified 次级 ten days ago
    (so today is inside the scheme's 180-day claim window)."""
    today = business_date()
    loan, enrolment = enrolled_loan(world, fund, start=today - datetime.timedelta(days=210), **parties)
    loan = turn_bad(world, loan, npl_day=today - datetime.timedelta(days=10))
    assert loan.outstanding_principal == Money("6000000.00")
    return loan, enrolment


def post_action(
    page: Any, action: str, fields: dict[str, str] | None = None, selects: dict[str, str] | None = None
) -> None:
    """Open one action card of the claim page, fill its form and submit it, waiting for the page it lands on."""
    card = page.locator(f"#action-{action}")
    if card.get_attribute("open") is None:
        card.locator("summary").click()
    form = f"form.claim-action[data-action={action}]"
    for name, value in (selects or {}).items():
        page.select_option(f"{form} select[name={name}]", value)
    for name, value in (fields or {}).items():
        page.fill(f"{form} [name={name}]", value)
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")
    assert page.locator(".action-error, .invalid-feedback, .alert-danger").count() == 0, page.locator(
        "main"
    ).inner_text()[:2000]


def confirm_payment(page: Any, payment_pk: int) -> None:
    with page.expect_navigation():
        page.click(f"tr.payment[data-payment='{payment_pk}'] form.pay-form button[type=submit]")
    assert page.locator(".alert-danger").count() == 0, page.locator("main").inner_text()[:2000]


def status_of(page: Any) -> str:
    return str(page.locator(".claim-status").inner_text()).strip()


def test_worked_example_end_to_end(live_server, world, page) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    today = business_date()
    fund = add_fund(world)
    loan, enrolment = bad_loan(world, fund)

    # The fund manager sees the fund, its ¥30 m balance and its two schemes.
    log_in(page, base, "fund_operator", "pass-fund")
    page.click("#sidebar a[href='/compensation/']")
    page.wait_for_url(f"{base}/compensation/")
    page.click(f"table a[href='/compensation/funds/{fund.pk}/']")
    assert page.inner_text(".figure-balance") == "30,000,000.00"
    assert page.locator("section.scheme").count() == 2
    log_out(page)

    # The bank files the claim from its enrolled, non-performing loan.
    log_in(page, base, "bank1_sub_operator", "pass-bank1_sub")
    page.click("#sidebar a[href='/compensation/enrolments/']")
    page.click(f"table a[href='/compensation/enrolments/{enrolment.pk}/']")
    page.fill("form.claim-file-form textarea[name=collection_efforts]", "已起诉并申请财产保全")
    with page.expect_navigation():
        page.click("form.claim-file-form button[type=submit]")
    claim = Claim.objects.get(enrolment=enrolment)
    assert page.url == f"{base}/compensation/claims/{claim.pk}/"
    assert status_of(page) == "已申请"
    assert page.inner_text(".claim-exposure") == "6,000,000.00"
    log_out(page)

    # The fund's operator reviews, seeing what approval will pay.
    log_in(page, base, "fund_operator", "pass-fund")
    page.click("#sidebar a[href='/compensation/claims/']")
    page.click(f"table a[href='/compensation/claims/{claim.pk}/']")
    assert page.inner_text("#preview .preview-total") == "4,800,000.00"
    post_action(page, "review", fields={"note": "材料齐全"})
    assert status_of(page) == "已初审"
    assert page.locator("#action-approve").count() == 0  # never offered to the reviewer
    log_out(page)

    # Another fund user approves: the fund advances 80% of the ¥6 m exposure at once.
    log_in(page, base, "fund_reviewer", "pass-fund")
    page.goto(f"{base}/compensation/claims/{claim.pk}/")
    post_action(page, "approve", fields={"note": "同意先行拨付"})
    assert status_of(page) == "已先行拨付"
    assert page.inner_text(".claim-advance") == "4,800,000.00"
    log_out(page)

    # The bank records the disposal proceeds.
    log_in(page, base, "bank1_sub_operator", "pass-bank1_sub")
    page.goto(f"{base}/compensation/claims/{claim.pk}/")
    post_action(
        page,
        "recovery",
        fields={"value_date": today.isoformat(), "gross_amount": "2200000", "costs": "200000"},
        selects={"kind": "disposal"},
    )
    assert page.inner_text("tr.recovery .recovery-net") == "2,000,000.00"
    log_out(page)

    # The fund clears: final loss ¥4 m, the fund bears ¥3.2 m and the bank ¥0.8 m; the bank returns ¥1.6 m.
    log_in(page, base, "fund_operator", "pass-fund")
    page.goto(f"{base}/compensation/claims/{claim.pk}/")
    post_action(page, "clear", fields={"note": "处置完毕"})
    assert status_of(page) == "清算中"
    assert page.inner_text("#clearing .final-loss") == "4,000,000.00"
    assert page.inner_text("tr.final-share[data-role=fund] .final-amount") == "3,200,000.00"
    assert page.inner_text("tr.final-share[data-role=bank] .final-amount") == "800,000.00"
    log_out(page)

    # The bank confirms paying its true-up.
    log_in(page, base, "bank1_sub_operator", "pass-bank1_sub")
    page.goto(f"{base}/compensation/claims/{claim.pk}/")
    true_up = claim.payments.get(purpose="true_up")
    row = page.locator(f"tr.payment[data-payment='{true_up.pk}']")
    assert row.locator(".payment-amount").inner_text() == "1,600,000.00"
    row.locator("input[name=reference]").fill("BANK-REF-1")
    confirm_payment(page, true_up.pk)
    assert status_of(page) == "已清算"
    true_up.refresh_from_db()
    assert true_up.status == PaymentStatus.PAID and true_up.reference == "BANK-REF-1"
    log_out(page)

    log_in(page, base, "fund_operator", "pass-fund")
    page.goto(f"{base}/compensation/funds/{fund.pk}/")
    assert page.inner_text(".figure-balance") == "26,800,000.00"
    assert ledger.cash_fen(fund) == Money("26800000.00").fen
    if os.environ.get("IPLEDGE_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["IPLEDGE_SCREENSHOTS"], "compensation-fund.png"), full_page=True)
        page.goto(f"{base}/compensation/claims/{claim.pk}/")
        page.screenshot(path=os.path.join(os.environ["IPLEDGE_SCREENSHOTS"], "compensation-claim.png"), full_page=True)


def test_four_party_claim_with_insurer_and_valuer_paying(live_server, world, page) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    today = business_date()
    fund = add_fund(world)
    loan, enrolment = bad_loan(world, fund, scheme="ZS", insurer=world.orgs["insurer"], valuer=world.orgs["valuer"])

    log_in(page, base, "bank1_sub_operator", "pass-bank1_sub")
    page.goto(f"{base}/compensation/enrolments/{enrolment.pk}/")
    page.fill("form.claim-file-form textarea[name=collection_efforts]", "已起诉")
    with page.expect_navigation():
        page.click("form.claim-file-form button[type=submit]")
    claim = Claim.objects.get(enrolment=enrolment)
    log_out(page)

    log_in(page, base, "fund_operator", "pass-fund")
    page.goto(f"{base}/compensation/claims/{claim.pk}/")
    assert page.inner_text("#preview tr[data-role=insurer] td:last-child") == "960,000.00"
    post_action(page, "review")
    log_out(page)
    log_in(page, base, "fund_reviewer", "pass-fund")
    page.goto(f"{base}/compensation/claims/{claim.pk}/")
    post_action(page, "approve")
    assert status_of(page) == "已先行拨付"
    assert page.inner_text(".claim-advance") == "4,440,000.00"  # 54% + 16% + 4% of ¥6 m, paid ahead
    log_out(page)

    # The insurer confirms from its payment list, the valuer from the claim page.
    insurer_payment = claim.payments.get(payer_role="insurer")
    valuer_payment = claim.payments.get(payer_role="valuer")
    log_in(page, base, "insurer_operator", "pass-insurer")
    page.click("#sidebar a[href='/compensation/payments/']")
    page.wait_for_url(f"{base}/compensation/payments/")
    page.wait_for_selector("tr.payment")  # count() does not wait for the new page to render
    assert page.locator("tr.payment").count() == 1
    with page.expect_navigation():
        page.click(f"tr.payment[data-payment='{insurer_payment.pk}'] form.pay-form button[type=submit]")
    assert page.locator("tr.payment .payment-status").inner_text() == "已支付"
    log_out(page)
    log_in(page, base, "valuer_operator", "pass-valuer")
    page.goto(f"{base}/compensation/claims/{claim.pk}/")
    assert page.locator("form.pay-form").count() == 1  # its own instruction only
    confirm_payment(page, valuer_payment.pk)
    log_out(page)
    insurer_payment.refresh_from_db()
    valuer_payment.refresh_from_db()
    assert insurer_payment.status == valuer_payment.status == PaymentStatus.PAID

    # A ¥1 m repayment comes in; the fund records it and clears: a ¥5 m final loss in four shares.
    log_in(page, base, "fund_operator", "pass-fund")
    page.goto(f"{base}/compensation/claims/{claim.pk}/")
    post_action(
        page,
        "recovery",
        fields={"value_date": today.isoformat(), "gross_amount": "1000000"},
        selects={"kind": "repayment"},
    )
    post_action(page, "clear")
    assert page.inner_text("#clearing .final-loss") == "5,000,000.00"
    shares = {
        role: page.inner_text(f"tr.final-share[data-role={role}] .final-amount")
        for role in ("fund", "bank", "insurer", "valuer")
    }
    assert shares == {
        "fund": "2,700,000.00",
        "bank": "1,300,000.00",
        "insurer": "800,000.00",
        "valuer": "200,000.00",
    }
    assert page.locator("#clearing li.transfer").count() == 3  # the bank returns the over-payments
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.CLEARING
    if os.environ.get("IPLEDGE_SCREENSHOTS"):
        page.screenshot(
            path=os.path.join(os.environ["IPLEDGE_SCREENSHOTS"], "compensation-four-party.png"), full_page=True
        )
