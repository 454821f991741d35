"""Browser journey of the credit whitelist (授信白名单, issue 5) in headless Debian Chromium.

The Beijing office publishes a baseline; park P1's administration screens its park, sees E1 in and E1b out (on the
dishonest-debtor list, with the reason in words) and submits; another officer of the office approves; bank1's tech
sub-branch subscribes to P1, reads the whitelist with each row's explanation, grants E1 ¥3,000,000.00 for 12 months
with 无还本续贷, and grants P1 an intended credit line around the patent cluster H01L 27/ (E1's r1 is H01L27/146);
the park allocates ¥2,000,000.00 of it to E1, and is refused ¥2,000,000.00 on a second, ¥1,000,000.00 line.

Only E1b's credit record is set up in Python (as the whitelist tests build them); every step after it goes through
the browser. The baseline's minimum score is set just below what the default expert card gives E1 and E1b, so E1 is
in on its score and E1b is out on the exclusion alone, whatever the card's weights are.
"""

from __future__ import annotations

import datetime
import math
import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from ipledge.core.context import business_date
from ipledge.core.models import Region
from ipledge.core.money import Money
from ipledge.screening.choices import (
    AllocationStatus,
    CriteriaLevel,
    CriteriaStatus,
    DecisionOutcome,
    LineBasis,
    RecordKind,
    VersionStatus,
)
from ipledge.screening.engine.spec import RULE_DISHONEST
from ipledge.screening.explain import EXCLUSION_TEXT
from ipledge.screening.models import (
    CreditDecision,
    Criteria,
    IntendedCreditLine,
    LineAllocation,
    Subscription,
    WhitelistEntry,
    WhitelistVersion,
)
from ipledge.screening.services.scorecards import score_enterprise, scorecard_default
from tests.e2e.browser import log_in, log_out, new_page
from tests.screening.factories_whitelists import add_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    page = new_page(browser)
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    page.context.close()


def no_errors(page: Any) -> None:
    assert page.locator(".invalid-feedback, .alert-danger").count() == 0, page.locator("main").inner_text()[:2000]


def submit(page: Any, form: str) -> None:
    """Submit a form by its button and wait for the page it lands on (a redirect or the form again)."""
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")


def success(page: Any) -> str:
    return str(page.locator(".messages .alert-success").inner_text()).strip()


def screenshot(page: Any, name: str) -> None:
    if os.environ.get("IPLEDGE_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["IPLEDGE_SCREENSHOTS"], name), full_page=True)


def test_baseline_to_allocated_credit_line_in_the_browser(live_server, world, page) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    today = business_date()
    period = str(today.year)
    e1, e1b, p1 = world.enterprises["e1"], world.enterprises["e1b"], world.parks["p1"]

    # E1b is on the dishonest-debtor list (a committed import of the Beijing office).
    add_record(world, e1b, RecordKind.DISHONEST, today - datetime.timedelta(days=90))
    card = scorecard_default()
    e1_score = Decimal(str(score_enterprise(enterprise=e1, card=card)["score"])).quantize(Decimal("0.01"))
    e1b_score = Decimal(str(score_enterprise(enterprise=e1b, card=card)["score"])).quantize(Decimal("0.01"))
    min_score = max(0, math.floor(min(e1_score, e1b_score)) - 1)
    assert min_score < e1_score
    dishonest_text = str(EXCLUSION_TEXT[RULE_DISHONEST])

    # 1. The Beijing office drafts the baseline (default expert card, dishonest and tax-rating-D exclusions) …
    log_in(page, base, "ipo_bj_operator", "pass-ipo_bj")
    page.click("#sidebar a[href='/screening/criteria/']")
    page.wait_for_url(f"{base}/screening/criteria/")
    page.click("a.criteria-create")
    page.wait_for_url(f"{base}/screening/criteria/new/")
    form = "form.criteria-form"
    page.fill(f"{form} [name=name]", f"北京市{period}年度授信白名单基准标准")
    page.fill(f"{form} [name=period]", period)
    page.select_option(f"{form} select[name=region]", str(Region.objects.get(code="110000").pk))
    offered = page.locator(f"{form} select[name=scorecard] option").all_inner_texts()
    assert card.name in offered, offered
    page.select_option(f"{form} select[name=scorecard]", str(card.pk))
    page.fill(f"{form} [name=min_score]", str(min_score))
    page.check(f"{form} input[name=dishonest_on]")
    page.check(f"{form} input[name=tax_rating_on]")
    assert page.is_checked(f"{form} input[name=tax_rating_ratings][value=D]")  # D is ticked for the officer
    submit(page, form)
    no_errors(page)
    page.wait_for_url(f"{base}/screening/criteria/*/")
    assert "核对无误后请发布" in success(page)
    baseline = Criteria.objects.get(level=CriteriaLevel.BASELINE, period=period)
    assert page.inner_text(".criteria-status") == "草稿"
    assert page.inner_text(".criteria-min-score") == f"{Decimal(min_score):.2f}"
    assert sorted(page.locator("#exclusions li.exclusion").evaluate_all("els => els.map(e => e.dataset.rule)")) == [
        "dishonest",
        "tax_rating",
    ]

    # … and publishes it.
    submit(page, "form.criteria-publish")
    no_errors(page)
    assert page.inner_text(".criteria-status") == "已发布"
    assert "基准标准已发布" in success(page)
    assert page.locator("form.criteria-publish").count() == 0
    baseline.refresh_from_db()
    assert baseline.status == CriteriaStatus.PUBLISHED and baseline.scorecard_id == card.pk
    screenshot(page, "screening-criteria.png")
    log_out(page)

    # 2. The park screens P1 for the period: E1 in on its score, E1b out on the dishonest-debtor exclusion.
    log_in(page, base, "park1_operator", "pass-park1")
    page.click("#sidebar a[href='/screening/whitelists/']")
    page.wait_for_url(f"{base}/screening/whitelists/")
    page.click("a.screen-park")
    page.wait_for_url(f"{base}/screening/whitelists/screen/")
    assert page.input_value("form.screen-form select[name=park]") == str(p1.pk)  # its only park, preselected
    page.fill("form.screen-form [name=period]", period)
    submit(page, "form.screen-form")
    no_errors(page)
    page.wait_for_url(f"{base}/screening/versions/*/")
    version = WhitelistVersion.objects.get(whitelist__park=p1, whitelist__period=period)
    assert page.url == f"{base}/screening/versions/{version.pk}/"
    assert "纳入 1 家" in success(page)
    assert page.inner_text(".version-status") == "园区筛选中"
    assert page.inner_text(".figure-candidates") == "2"
    assert page.inner_text(".figure-included") == "1"
    e1_row = page.locator(f"tr.entry[data-enterprise='{e1.pk}']")
    e1b_row = page.locator(f"tr.entry[data-enterprise='{e1b.pk}']")
    assert e1_row.locator(".entry-result").inner_text() == "纳入"
    assert e1_row.locator(".entry-score").inner_text() == f"{e1_score}"
    assert [t.strip() for t in e1_row.locator("li.reason").all_inner_texts()] == ["符合全部筛选条件"]
    e1_row.locator(".entry-score").click()  # the score opens its points per characteristic
    assert e1_row.locator("tr.points-row[data-characteristic=is_high_tech]").is_visible()
    assert e1b_row.locator(".entry-result").inner_text() == "未纳入"
    reasons = e1b_row.locator("li.reason")
    assert reasons.count() == 1  # the exclusion alone keeps it out
    assert reasons.get_attribute("data-code") == "exclusion:dishonest"
    assert reasons.inner_text().strip() == dishonest_text
    screenshot(page, "screening-version-draft.png")
    submit(page, "form.version-submit")
    no_errors(page)
    assert page.inner_text(".version-status") == "已报省级审核"
    assert "已报送省级知识产权管理部门审核" in success(page)
    assert page.locator(".submitter-note").count() == 1
    log_out(page)

    # 3. A reviewer of the office (not the submitter) approves it from the approval queue.
    log_in(page, base, "ipo_bj_reviewer", "pass-ipo_bj")
    page.click("#sidebar a[href='/screening/whitelists/']")
    page.wait_for_url(f"{base}/screening/whitelists/")
    page.click(f"#approval-queue a[href='/screening/versions/{version.pk}/']")
    page.wait_for_url(f"{base}/screening/versions/{version.pk}/")
    page.fill("form.version-approve [name=approve-note]", "同意")
    submit(page, "form.version-approve")
    no_errors(page)
    assert page.inner_text(".version-status") == "已批准（现行）"
    assert "该版本成为现行白名单" in success(page)
    version.refresh_from_db()
    assert version.status == VersionStatus.APPROVED and version.whitelist.current_version_id == version.pk
    log_out(page)
    e1_entry = WhitelistEntry.objects.get(version=version, enterprise=e1)
    e1b_entry = WhitelistEntry.objects.get(version=version, enterprise=e1b)
    assert e1_entry.included and not e1b_entry.included

    # 4. bank1's tech sub-branch subscribes to P1 and finds E1 (never E1b) with its explanation.
    log_in(page, base, "bank1_sub_operator", "pass-bank1_sub")
    page.click("#sidebar a[href='/screening/bank/']")
    page.wait_for_url(f"{base}/screening/bank/")
    page.wait_for_selector(".no-subscription")
    assert page.locator("tr.whitelist-entry").count() == 0  # nothing before the subscription
    page.click(".no-subscription a[href='/screening/subscriptions/new/']")
    page.wait_for_url(f"{base}/screening/subscriptions/new/")
    assert page.input_value("form.subscription-form select[name=bank]") == str(world.orgs["bank1_sub"].pk)
    page.select_option("form.subscription-form select[name=park]", str(p1.pk))
    submit(page, "form.subscription-form")
    no_errors(page)
    page.wait_for_url(f"{base}/screening/subscriptions/")
    assert p1.name in success(page)
    assert Subscription.objects.filter(bank=world.orgs["bank1_sub"], park=p1, is_active=True).count() == 1

    page.click("#sidebar a[href='/screening/bank/']")
    page.wait_for_url(f"{base}/screening/bank/")
    page.wait_for_selector("tr.whitelist-entry")
    assert page.locator("tr.whitelist-entry").count() == 1
    listing = page.locator("main").inner_text()
    assert e1.name in listing and e1b.name not in listing
    row = page.locator(f"tr.whitelist-entry[data-entry='{e1_entry.pk}']")
    assert row.locator(".entry-score").inner_text() == f"{e1_score}"
    assert row.locator(".entry-decision").inner_text() == "未作决定"
    explanation = page.locator(f"#explain-{e1_entry.pk}")
    assert not explanation.is_visible()
    row.locator(".explain-toggle").click()
    explanation.wait_for(state="visible")
    points = explanation.locator("tr.points-row")
    assert points.count() == len(e1_entry.points)
    high_tech = explanation.locator("tr.points-row[data-characteristic=is_high_tech]").inner_text()
    assert "高新技术企业" in high_tech and "是" in high_tech
    assert explanation.locator(".entry-reasons li[data-reason=passed]").inner_text() == "符合全部筛选条件"
    assert explanation.locator("tfoot").inner_text().split()[-1] == f"{e1_score}"
    screenshot(page, "screening-bank-whitelist.png")

    # The bank grants E1 ¥3,000,000.00 for 12 months, renewable without repaying the principal.
    row.locator("a.decide-link").click()
    page.wait_for_url(f"{base}/screening/entries/{e1_entry.pk}/decide/")
    form = "form.decision-form"
    assert page.is_checked(f"{form} input[name=outcome][value=granted]")
    page.fill(f"{form} [name=amount]", "3000000")
    page.fill(f"{form} [name=term_months]", "12")
    page.check(f"{form} input[name=renewal_without_repayment]")
    submit(page, form)
    no_errors(page)
    page.wait_for_url(f"{base}/screening/bank/")
    assert success(page) == f"已记录对“{e1.name}”的授信决定。"
    row = page.locator(f"tr.whitelist-entry[data-entry='{e1_entry.pk}']")
    assert row.locator(".entry-decision").inner_text().startswith("授信")
    assert row.locator("td").nth(5).inner_text() == "3,000,000.00"  # the amount cell has no class of its own

    # It grants P1 an intended credit line around H01L 27/ (¥10 m), and a second one around H01L (¥1 m).
    lines = {}
    for group, amount in (("H01L 27/", "10000000"), ("H01L", "1000000")):
        page.click("#sidebar a[href='/screening/lines/']")
        page.wait_for_url(f"{base}/screening/lines/")
        page.click("a.line-create-link")
        page.wait_for_url(f"{base}/screening/lines/new/")
        form = "form.line-form"
        assert page.input_value(f"{form} select[name=bank]") == str(world.orgs["bank1_sub"].pk)
        page.select_option(f"{form} select[name=park]", str(p1.pk))
        page.select_option(f"{form} select[name=basis]", LineBasis.PATENT_CLUSTER)
        page.fill(f"{form} [name=ipc_group]", group)
        page.fill(f"{form} [name=amount]", amount)
        page.fill(f"{form} [name=valid_from]", datetime.date(today.year, 1, 1).isoformat())
        page.fill(f"{form} [name=valid_to]", datetime.date(today.year, 12, 31).isoformat())
        page.fill(f"{form} [name=conditions]", "以园区白名单企业的专利质押为主")
        submit(page, form)
        no_errors(page)
        page.wait_for_url(f"{base}/screening/lines/*/")
        line = IntendedCreditLine.objects.get(park=p1, ipc_group=group)
        assert page.url == f"{base}/screening/lines/{line.pk}/"
        assert p1.name in success(page)
        assert page.inner_text(".line-basis") == group
        assert page.inner_text(".figure-amount") == f"{Money(amount)}"
        assert page.inner_text(".figure-allocated") == "0.00"
        lines[group] = line
    log_out(page)

    # 5. The park allocates ¥2,000,000.00 of the H01L 27/ line to E1 …
    big, small = lines["H01L 27/"], lines["H01L"]
    log_in(page, base, "park1_operator", "pass-park1")
    page.click("#sidebar a[href='/screening/lines/']")
    page.wait_for_url(f"{base}/screening/lines/")
    page.wait_for_selector("tr.credit-line")
    assert page.locator("tr.credit-line").count() == 2
    page.click(f"tr.credit-line[data-line='{big.pk}'] a[href='/screening/lines/{big.pk}/']")
    page.wait_for_url(f"{base}/screening/lines/{big.pk}/")
    form = "form.allocation-form"
    offered = page.locator(f"{form} select[name=entry] option").all_inner_texts()
    assert f"{e1.name}（评分 {e1_score}）" in offered and not any(e1b.name in o for o in offered), offered
    page.select_option(f"{form} select[name=entry]", str(e1_entry.pk))
    page.fill(f"{form} [name=amount]", "2000000")
    page.fill(f"{form} [name=note]", "首批分配")
    submit(page, form)
    no_errors(page)
    page.wait_for_url(f"{base}/screening/lines/{big.pk}/")
    assert success(page) == f"已向“{e1.name}”分配意向额度 2,000,000.00 元。"
    assert page.inner_text(".figure-allocated") == "2,000,000.00"
    assert page.inner_text(".figure-remaining") == "8,000,000.00"
    assert page.locator("tr.line-allocation").count() == 1
    assert e1.name in page.inner_text("tr.line-allocation")
    screenshot(page, "screening-line.png")

    # … and is refused ¥2,000,000.00 on the ¥1,000,000.00 line, with the remainder named; nothing is written.
    page.click("#sidebar a[href='/screening/lines/']")
    page.wait_for_url(f"{base}/screening/lines/")
    page.click(f"tr.credit-line[data-line='{small.pk}'] a[href='/screening/lines/{small.pk}/']")
    page.wait_for_url(f"{base}/screening/lines/{small.pk}/")
    page.select_option(f"{form} select[name=entry]", str(e1_entry.pk))
    page.fill(f"{form} [name=amount]", "2000000")
    submit(page, form)
    page.wait_for_selector(f"{form} .invalid-feedback[data-field=amount]")
    error = page.inner_text(f"{form} .invalid-feedback[data-field=amount]")
    assert "剩余 1,000,000.00 元" in error, error
    assert page.input_value(f"{form} [name=amount]") == "2000000"  # what the officer typed is kept
    assert page.inner_text(".figure-allocated") == "0.00"
    assert page.locator("tr.line-allocation").count() == 0
    log_out(page)

    # The database agrees.
    decision = CreditDecision.objects.get()
    assert decision.bank == world.orgs["bank1_sub"] and decision.entry_id == e1_entry.pk
    assert decision.enterprise_id == e1.pk and decision.outcome == DecisionOutcome.GRANTED
    assert decision.amount == Money("3000000") and decision.term_months == 12
    assert decision.renewal_without_repayment and decision.allocation_id is None
    assert decision.decided_on == today
    allocation = LineAllocation.objects.get()
    assert allocation.line_id == big.pk and allocation.entry_id == e1_entry.pk and allocation.enterprise_id == e1.pk
    assert allocation.amount == Money("2000000") and allocation.utilised == Money("0")
    assert allocation.status == AllocationStatus.ACTIVE and allocation.allocated_on == today
    big.refresh_from_db()
    small.refresh_from_db()
    assert big.ipc_group == "H01L 27/" and big.amount == Money("10000000") and big.allocated == Money("2000000")
    assert small.amount == Money("1000000") and small.allocated == Money("0")
