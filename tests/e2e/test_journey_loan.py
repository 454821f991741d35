"""Browser journeys of a loan in headless Debian Chromium.

1. A bank operator applies for e1, completes due diligence and submits; the reviewer approves; the operator signs,
   links the pledge, disburses and takes the repayment of everything: the loan shows 已结清 and the pledge
   cancellation filing exists.
2. Another loan is disbursed in the browser and then misses its payments: the close-of-business job for a day more
   than 90 days after the first missed due date classifies it 次级, which the loan page shows in its badge and
   history.
"""

from __future__ import annotations

import datetime
import os

import pytest

from ipledge.core.context import as_of, business_date
from ipledge.core.money import Money
from ipledge.lending import services
from ipledge.lending.choices import DueDiligenceItem, LoanClass, LoanStatus
from ipledge.lending.classification import close_of_business
from ipledge.lending.models import Loan
from ipledge.registration.models import PledgeFiling
from tests.e2e.browser import log_in, log_out, new_page
from tests.lending.factories import contracted_loan, pledge_registration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def post_action(  # type: ignore[no-untyped-def]
    page, action: str, fields: dict[str, str] | None = None, selects: dict[str, str] | None = None
) -> None:
    """Fill one action form of the loan page and submit it, waiting for the page it lands on."""
    form = f"form.loan-action[data-action={action}]"
    for name, value in (selects or {}).items():
        page.select_option(f"{form} select[name={name}]", value)
    for name, value in (fields or {}).items():
        page.fill(f"{form} [name={name}]", value)
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")
    assert page.locator(".action-error, .invalid-feedback").count() == 0, page.locator("main").inner_text()[:2000]


def test_loan_from_application_to_closure(live_server, world, browser) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    today = business_date()
    registration = pledge_registration(world)  # e1's patent registered to bank1's tech sub-branch
    e1 = world.enterprises["e1"]

    page = new_page(browser)
    log_in(page, base, "bank1_sub_operator", "pass-bank1_sub")
    page.click("#sidebar a[href='/lending/apply/']")
    page.wait_for_url(f"{base}/lending/apply/")
    page.select_option("select[name=borrower]", str(e1.pk))
    page.fill("input[name=requested_amount]", "1000000")
    page.fill("input[name=requested_term_months]", "12")
    page.fill("textarea[name=purpose]", "研发投入与流动资金")
    with page.expect_navigation():
        page.click("form.loan-apply-form button[type=submit]")
    loan = Loan.objects.get()
    assert page.url == f"{base}/lending/{loan.pk}/"
    assert page.locator(".loan-status").inner_text() == "已申请"

    post_action(page, "dd_start")
    for item in DueDiligenceItem.values:
        post_action(page, "dd_record", fields={"note": "核查无误"}, selects={"item": item})
    assert page.locator("tr.dd-item .badge.text-bg-success").count() == len(DueDiligenceItem.values)
    post_action(
        page,
        "submit",
        fields={"principal": "1000000", "term_months": "12", "annual_rate": "3.45"},
        selects={"repayment_method": "equal_instalment"},
    )
    assert page.locator(".loan-status").inner_text() == "待审批"
    assert page.locator("form.loan-action[data-action=approve]").count() == 0  # never offered to the maker
    log_out(page)

    log_in(page, base, "bank1_sub_reviewer", "pass-bank1_sub")
    page.click("#sidebar a[href='/lending/']")
    page.click(f"table a[href='/lending/{loan.pk}/']")
    post_action(page, "approve", fields={"note": "同意"})
    assert page.locator(".loan-status").inner_text() == "已审批"
    log_out(page)

    log_in(page, base, "bank1_sub_operator", "pass-bank1_sub")
    page.goto(f"{base}/lending/{loan.pk}/")
    post_action(page, "sign", fields={"contract_no": "HT-E2E-001", "signed_on": today.isoformat()})
    post_action(page, "pledge", selects={"registration": str(registration.pk)})
    assert registration.registration_no in page.locator(".pledge-registration").inner_text()
    # The hidden idempotency key is posted with the form; a second submit of the same form would post it again.
    key = page.input_value("form.loan-action[data-action=disburse] input[name=idempotency_key]")
    assert len(key) == 32
    post_action(page, "disburse", fields={"amount": "1000000", "value_date": today.isoformat()})
    assert page.locator(".loan-status").inner_text() == "已放款"
    assert page.locator("table.schedule-table tr.instalment").count() == 12
    loan.refresh_from_db()
    payoff = Money.from_fen(services.payoff_fen(loan, on=today))
    post_action(page, "repay", fields={"amount": str(payoff.amount), "value_date": today.isoformat()})
    page.locator(".loan-status", has_text="已结清").wait_for()
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED and loan.outstanding_principal == Money(0)
    cancellation = PledgeFiling.objects.get(registration=registration, filing_type="cancellation")
    assert page.locator(f".cancellation-filing a[href='/pledges/{cancellation.pk}/']").count() == 1
    page.screenshot(path=os.environ.get("E2E_SCREENSHOT_LOAN", "/tmp/ipledge-e2e-loan-closed.png"), full_page=True)
    page.context.close()


def test_missed_payments_make_the_loan_substandard(live_server, world, browser) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    today = business_date()
    loan = contracted_loan(world, start=today, principal="600000.00", term_months=12)

    page = new_page(browser)
    log_in(page, base, "bank1_sub_operator", "pass-bank1_sub")
    page.goto(f"{base}/lending/{loan.pk}/")
    post_action(page, "disburse", fields={"amount": "600000", "value_date": today.isoformat()})
    assert page.locator(".loan-class").inner_text().startswith("正常")

    # Nothing is repaid: the close of business 95 days after the first due date finds it more than 90 days overdue.
    first_due = loan.instalments.get(number=1).due_date
    day = first_due + datetime.timedelta(days=95)
    with as_of(day):
        close_of_business(business_day=day)
    loan.refresh_from_db()
    assert loan.classification == LoanClass.SUBSTANDARD and loan.days_past_due == 95

    page.reload()
    badge = page.locator(".loan-class").inner_text()
    assert badge.startswith("次级") and "逾期 95 天" in badge
    change = page.locator("table.classification-history tr.classification-change").first
    assert "次级" in change.inner_text() and "dpd" in change.inner_text()
    page.screenshot(
        path=os.environ.get("E2E_SCREENSHOT_LOAN_NPL", "/tmp/ipledge-e2e-loan-substandard.png"), full_page=True
    )
    page.context.close()
