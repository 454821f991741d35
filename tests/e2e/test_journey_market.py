"""Browser journey of the product and demand market (产品与需求对接, issue 6) in headless Debian Chromium.

bank1's tech sub-branch publishes a patent-pledge product through the product form (invention patents with at least
10 years left, pledge rate at most 30 %, ¥1–10 m, 6–36 months, LPR+90BP, Beijing); a reviewer of the same bank
(not the submitter) approves it and it is on sale in the library. E1 posts a demand offering its invention patent
r1 and consenting to share with matching banks: the demand page ranks the product first with its reasons in words,
and says why bank2's product does not fit (it needs 15 years of remaining life, r1 has fewer). The sub-branch finds
the lead and answers 有意向, so E1 sees its demand 洽谈中. Park P1's administration holds a matchmaking event; the
sub-branch registers a desk, E1 registers with its demand, the park proposes the schedule, and the bank's and the
enterprise's agendas show the same meeting at the same time. The Beijing IP office runs a survey of enterprises
(a money question written to the demand amount, a choice question written to the purpose), targets E1 and
publishes; E1 answers; the office reads one response with its figures and exports the answers as xlsx.

Only bank2's product (the one that does not fit) is set up in Python; every other step goes through the browser.
"""

from __future__ import annotations

import datetime
import io
import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import expect

from ipledge.core.choices import Role
from ipledge.core.context import business_date
from ipledge.core.money import Money
from ipledge.market.choices import (
    CollateralKind,
    DemandPurpose,
    DemandSource,
    DemandStatus,
    EventStatus,
    LeadResponse,
    MeetingStatus,
    ProductStatus,
    ProductVersionStatus,
    QuestionKind,
    QuestionTarget,
    SurveyStatus,
)
from ipledge.market.engine.matching import remaining_years_floor1
from ipledge.market.models import (
    Demand,
    EventParticipant,
    Match,
    MatchmakingEvent,
    Meeting,
    Product,
    SurveyCampaign,
    SurveyResponse,
    SurveyTarget,
)
from tests.e2e.browser import log_in, log_out, new_page
from tests.market.factories_products import live_product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
    alert = page.locator(".messages .alert-success")
    alert.wait_for()
    return str(alert.inner_text()).strip()


def nav(page: Any, base: str, path: str) -> None:
    """Follow the sidebar link to `path` and wait for the page."""
    page.click(f"#sidebar a[href='{path}']")
    page.wait_for_url(f"{base}{path}")


def screenshot(page: Any, name: str) -> None:
    if os.environ.get("IPLEDGE_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["IPLEDGE_SCREENSHOTS"], name), full_page=True)


def test_product_demand_lead_event_and_survey_in_the_browser(live_server, world, page) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    today = business_date()
    e1, r1, p1 = world.enterprises["e1"], world.rights["r1"], world.parks["p1"]
    bank, bank2 = world.orgs["bank1_sub"], world.orgs["bank2"]
    assert r1.term_end is not None
    r1_years = remaining_years_floor1((r1.term_end - today).days)
    assert r1_years is not None and 10 <= r1_years < 15, r1_years  # between the two products' minimums

    # bank2's product needs 15 years of remaining life on an invention patent: it will not fit r1.
    long_life = live_product(
        world,
        "bank2",
        code="JS-LONG-15",
        name="苏知长效贷",
        min_remaining_years={CollateralKind.INVENTION: 15, CollateralKind.UTILITY_MODEL: 4},
        region_codes=(),
    )
    assert long_life.status == ProductStatus.LIVE

    # 1. bank1's tech sub-branch drafts its product through the form …
    log_in(page, base, "bank1_sub_operator", "pass-bank1_sub")
    nav(page, base, "/market/products/")
    page.click("a.product-create-link")
    page.wait_for_url(f"{base}/market/products/new/")
    form = "form.product-form"
    assert page.input_value(f"{form} select[name=bank]") == str(bank.pk)  # its only bank, preselected
    page.fill(f"{form} [name=code]", "ZGC-ZQD-01")
    page.fill(f"{form} [name=name]", "中关村智权贷")
    page.fill(f"{form} [name=summary]", "面向园区科技型中小企业的发明专利质押贷款")
    page.check(f"{form} input[name=collateral_kinds][value=invention]")
    page.fill(f"{form} [name=years_invention]", "10")
    page.fill(f"{form} [name=cap_invention]", "30")
    page.fill(f"{form} [name=amount_min]", "1000000")
    page.fill(f"{form} [name=amount_max]", "10000000")
    page.fill(f"{form} [name=term_min_months]", "6")
    page.fill(f"{form} [name=term_max_months]", "36")
    assert page.input_value(f"{form} select[name=rate_kind]") == "lpr_spread"
    page.fill(f"{form} [name=rate_spread_bp]", "90")
    page.fill(f"{form} [name=region_codes]", "110000")
    assert page.is_checked(f"{form} input[name=excludes_dishonest]")
    page.fill(f"{form} [name=required_documents]", "营业执照\n专利证书")
    submit(page, form)
    no_errors(page)
    page.wait_for_url(f"{base}/market/products/*/")
    product = Product.objects.get(code="ZGC-ZQD-01")
    assert page.url == f"{base}/market/products/{product.pk}/"
    assert "中关村智权贷" in success(page)
    assert page.inner_text(".product-status") == "未上架"
    assert page.inner_text(".kind-rule[data-kind=invention]") == "发明专利：剩余有效期≥10年，质押率≤30%"
    assert page.inner_text(".figure-rate") == "LPR+90BP"

    # … and submits it for the bank's internal approval; the maker cannot approve it.
    submit(page, "form.version-submit")
    no_errors(page)
    assert "审批分离" in success(page)
    expect(page.locator(".submitter-note")).to_be_visible()
    assert page.locator("form.version-approve").count() == 0
    log_out(page)

    # A reviewer of the same sub-branch approves it from the approval queue; it goes on sale.
    version = product.versions.get()
    log_in(page, base, "bank1_sub_reviewer", "pass-bank1_sub")
    nav(page, base, "/market/products/approvals/")
    page.click(f"tr.pending-version[data-version='{version.pk}'] a")
    page.wait_for_url(f"{base}/market/products/{product.pk}/**")
    page.fill("form.version-approve [name=approve-note]", "同意上架")
    submit(page, "form.version-approve")
    no_errors(page)
    assert success(page) == "已批准，产品已上架。"
    assert page.inner_text(".product-status") == "在售"
    assert page.inner_text("#v1 .version-status") == "现行"
    nav(page, base, "/market/products/")
    row = page.locator(f"tr.product[data-product='{product.pk}']")
    expect(row.locator(".product-status")).to_have_text("在售")
    assert bank.name in row.inner_text()
    expect(page.locator(f"tr.product[data-product='{long_life.pk}'] .product-status")).to_have_text("在售")
    screenshot(page, "market-products.png")
    log_out(page)

    # 2. E1 posts a demand offering r1, consenting to share it with the banks whose products fit.
    log_in(page, base, "ent1_operator", "pass-ent1")
    nav(page, base, "/market/demands/")
    page.click("a.demand-create-link")
    page.wait_for_url(f"{base}/market/demands/new/")
    form = "form.demand-form"
    page.fill(f"{form} [name=amount]", "3000000")
    page.fill(f"{form} [name=term_months]", "12")
    page.select_option(f"{form} select[name=purpose]", DemandPurpose.RESEARCH)
    page.fill(f"{form} [name=description]", "图像传感芯片新一代产品研发")
    page.check(f"{form} input[name=right_ids][value='{r1.pk}']")
    assert page.is_checked(f"{form} input[name=share_with_matching_banks]")
    submit(page, form)
    no_errors(page)
    page.wait_for_url(f"{base}/market/demands/*/")
    demand = Demand.objects.get(enterprise=e1)
    assert page.url == f"{base}/market/demands/{demand.pk}/"
    assert success(page) == f"融资需求 {demand.reference} 已发布，匹配到 1 个符合准入的产品。"
    assert page.inner_text(".demand-status") == "已匹配"

    # The product is ranked first, with its reasons in words …
    ranked = page.locator("tr.ranked-product")
    expect(ranked).to_have_count(1)
    assert ranked.get_attribute("data-product") == str(product.pk)
    assert ranked.get_attribute("data-rank") == "1"
    assert "中关村智权贷" in ranked.inner_text() and bank.name in ranked.inner_text()
    reasons = {li.get_attribute("data-code"): li.inner_text().strip() for li in ranked.locator("li.match-reason").all()}
    assert reasons["remaining_life"] == f"发明专利剩余有效期{r1_years:g}年，满足本产品至少10年的要求", reasons
    assert reasons["collateral_kind"] == "所提供的发明专利属于本产品可接受的质押物", reasons
    assert reasons["amount_range"] == "融资金额300万元在产品额度100万元至1000万元之内", reasons
    assert reasons["term_range"] == "融资期限12个月在产品期限6至36个月之内", reasons
    assert reasons["region"].startswith("企业登记地"), reasons

    # … and bank2's product is listed as not fitting, with the reason.
    unfit = page.locator(f"li.unfit-product[data-product='{long_life.pk}']")
    expect(unfit).to_be_visible()
    assert "苏知长效贷" in unfit.inner_text() and bank2.name in unfit.inner_text()
    failed = [t.strip() for t in unfit.locator("li.match-reason").all_inner_texts()]
    assert failed == [f"发明专利剩余有效期{r1_years:g}年，本产品要求至少15年"], failed
    assert unfit.locator("li.match-reason").get_attribute("data-code") == "remaining_life"
    screenshot(page, "market-demand.png")
    log_out(page)

    # 3. The sub-branch sees the lead and answers that it is interested.
    lead = Match.objects.get(demand=demand, product=product)
    log_in(page, base, "bank1_sub_operator", "pass-bank1_sub")
    nav(page, base, "/market/leads/")
    lead_row = page.locator(f"tr.lead-row[data-lead='{lead.pk}']")
    expect(lead_row).to_be_visible()
    assert page.locator("tr.lead-row").count() == 1
    assert e1.name in lead_row.inner_text() and "中关村智权贷" in lead_row.inner_text()
    lead_row.locator("a.lead-link").click()
    page.wait_for_url(f"{base}/market/leads/{lead.pk}/")
    assert page.get_attribute(".lead-response", "data-response") == "none"
    assert e1.name in page.inner_text(".enterprise-facts")
    assert page.locator(".match-reason[data-code=remaining_life]").count() == 1
    form = "form.lead-respond-form"
    page.check(f"{form} input[name=response][value=interested]")
    page.fill(f"{form} [name=note]", "客户经理将于本周联系企业")
    submit(page, form)
    no_errors(page)
    page.wait_for_url(f"{base}/market/leads/{lead.pk}/")
    assert success(page) == f"已反馈线索 {demand.reference}。"
    assert page.get_attribute(".lead-response", "data-response") == "interested"
    assert page.inner_text(".lead-response") == "有意向"
    log_out(page)

    # E1 finds its demand in talks, with the bank's answer.
    log_in(page, base, "ent1_operator", "pass-ent1")
    nav(page, base, "/market/demands/")
    page.click(f"a[href='/market/demands/{demand.pk}/']")
    page.wait_for_url(f"{base}/market/demands/{demand.pk}/")
    expect(page.locator(".demand-status")).to_have_text("洽谈中")
    assert page.get_attribute(".demand-status", "data-status") == DemandStatus.IN_TALKS
    answer = page.locator("li.lead-response-row[data-response=interested]")
    expect(answer).to_be_visible()
    assert bank.name in answer.inner_text() and "客户经理将于本周联系企业" in answer.inner_text()
    log_out(page)

    # 4. Park P1's administration holds a matchmaking event.
    event_day = today + datetime.timedelta(days=14)
    closes = today + datetime.timedelta(days=7)
    log_in(page, base, "park1_operator", "pass-park1")
    nav(page, base, "/market/events/")
    page.click("a.event-create-link")
    page.wait_for_url(f"{base}/market/events/new/")
    form = "form.event-form"
    page.fill(f"{form} [name=title]", "海淀园知识产权质押融资银企对接会")
    page.select_option(f"{form} select[name=park]", str(p1.pk))
    page.fill(f"{form} [name=theme]", "专利质押助力科技型中小企业")
    page.fill(f"{form} [name=place]", "海淀园创新中心三层会议室")
    page.fill(f"{form} [name=event_date]", event_day.isoformat())
    page.fill(f"{form} [name=starts_at]", "14:00")
    page.fill(f"{form} [name=slot_minutes]", "30")
    page.fill(f"{form} [name=slot_count]", "4")
    page.fill(f"{form} [name=registration_closes_on]", closes.isoformat())
    submit(page, form)
    no_errors(page)
    page.wait_for_url(f"{base}/market/events/*/")
    event = MatchmakingEvent.objects.get()
    assert page.url == f"{base}/market/events/{event.pk}/"
    assert "已发布，开始报名" in success(page)
    assert page.inner_text(".event-slot[data-slot='1']").split() == ["第1场", "14:00–14:30"]
    log_out(page)

    # The sub-branch registers one desk …
    log_in(page, base, "bank1_sub_operator", "pass-bank1_sub")
    nav(page, base, "/market/events/")
    page.click(f"tr.matchmaking-event[data-event='{event.pk}'] a[href='/market/events/{event.pk}/']")
    page.wait_for_url(f"{base}/market/events/{event.pk}/")
    form = "form.bank-registration"
    assert page.input_value(f"{form} select[name=bank-organisation]") == str(bank.pk)
    page.fill(f"{form} [name=bank-desks]", "1")
    page.fill(f"{form} [name=bank-contact_name]", "王经理")
    submit(page, form)
    no_errors(page)
    page.wait_for_url(f"{base}/market/events/{event.pk}/")
    assert success(page) == f"“{bank.name}”已报名本次活动。"
    expect(page.locator("li.own-registration")).to_have_count(1)
    log_out(page)

    # … and E1 registers with its demand.
    log_in(page, base, "ent1_operator", "pass-ent1")
    nav(page, base, "/market/events/")
    page.click(f"tr.matchmaking-event[data-event='{event.pk}'] a[href='/market/events/{event.pk}/']")
    page.wait_for_url(f"{base}/market/events/{event.pk}/")
    form = "form.enterprise-registration"
    assert page.input_value(f"{form} select[name=enterprise-organisation]") == str(world.orgs["ent1"].pk)
    page.select_option(f"{form} select[name=enterprise-demand]", str(demand.pk))
    page.fill(f"{form} [name=enterprise-contact_name]", "李总")
    submit(page, form)
    no_errors(page)
    page.wait_for_url(f"{base}/market/events/{event.pk}/")
    assert success(page) == f"“{world.orgs['ent1'].name}”已报名本次活动。"
    expect(page.locator("li.own-registration")).to_have_count(1)
    assert demand.reference in page.inner_text("li.own-registration")
    log_out(page)

    # The park proposes the schedule from the matches: one meeting, in the first slot.
    log_in(page, base, "park1_operator", "pass-park1")
    page.goto(f"{base}/market/events/{event.pk}/schedule/")
    submit(page, "form.event-propose")
    no_errors(page)
    page.wait_for_url(f"{base}/market/events/{event.pk}/schedule/")
    assert success(page) == "已安排 1 场洽谈（保留原有 0 场）。"
    cell = page.locator(".schedule-grid tr.grid-row[data-slot='1'] .meeting-cell")
    expect(cell).to_have_count(1)
    assert cell.locator(".meeting-enterprise").inner_text() == e1.name
    assert page.locator(".schedule-grid .meeting-cell").count() == 1
    screenshot(page, "market-event-schedule.png")
    log_out(page)

    # Both agendas show the same meeting at the same time.
    meeting = Meeting.objects.get(event=event)
    agendas = {}
    for username, password, other in (
        ("bank1_sub_operator", "pass-bank1_sub", e1.name),
        ("ent1_operator", "pass-ent1", bank.name),
    ):
        log_in(page, base, username, password)
        nav(page, base, "/market/events/")
        page.click(f"tr.matchmaking-event[data-event='{event.pk}'] a[href='/market/events/{event.pk}/']")
        page.wait_for_url(f"{base}/market/events/{event.pk}/")
        page.click("li.own-registration a[href$='/schedule/']")
        page.wait_for_url(f"{base}/market/events/{event.pk}/schedule/")
        item = page.locator(f".agenda tr.agenda-item[data-meeting='{meeting.pk}']")
        expect(item).to_have_count(1)
        cells = [t.strip() for t in item.locator("td").all_inner_texts()]
        assert cells[0] == "1" and other in cells, cells
        agendas[username] = cells[1]
        log_out(page)
    assert agendas == {"bank1_sub_operator": "14:00–14:30", "ent1_operator": "14:00–14:30"}, agendas

    # 5. The Beijing IP office runs a survey of enterprises' financing needs.
    log_in(page, base, "ipo_bj_operator", "pass-ipo_bj")
    nav(page, base, "/market/surveys/")
    page.click("a.survey-create-link")
    page.wait_for_url(f"{base}/market/surveys/new/")
    form = "form.survey-form"
    assert page.input_value(f"{form} select[name=organiser]") == str(world.orgs["ipo_bj"].pk)
    page.fill(f"{form} [name=title]", "北京市企业知识产权融资需求调查")
    page.select_option(f"{form} select[name=audience]", "enterprise")
    page.select_option(f"{form} select[name=recurrence]", "once")
    page.fill(f"{form} [name=period_label]", f"{today.year}年末")
    page.fill(f"{form} [name=opens_on]", today.isoformat())
    page.fill(f"{form} [name=closes_on]", (today + datetime.timedelta(days=14)).isoformat())
    page.fill(f"{form} [name=reminder_every_days]", "7")
    assert page.is_checked(f"{form} input[name=flows_into_library]")
    submit(page, form)
    no_errors(page)
    page.wait_for_url(f"{base}/market/surveys/*/")
    campaign = SurveyCampaign.objects.get()
    assert page.url == f"{base}/market/surveys/{campaign.pk}/"
    assert "请添加题目和调查对象" in success(page)

    # Two questions, added with htmx: the amount (written to the demand) and the purpose (a choice).
    questions = (
        (QuestionKind.MONEY, "计划融资金额（元）", "", QuestionTarget.DEMAND_AMOUNT),
        (QuestionKind.CHOICE, "主要资金用途", "补充流动资金\n研发投入\n设备购置", QuestionTarget.DEMAND_PURPOSE),
    )
    for count, (kind, text, choices, maps_to) in enumerate(questions, start=1):
        form = "form.question-add-form"
        page.select_option(f"{form} select[name=new-kind]", kind)
        page.fill(f"{form} [name=new-text]", text)
        page.fill(f"{form} [name=new-choices]", choices)
        page.select_option(f"{form} select[name=new-maps_to]", maps_to)
        assert page.is_checked(f"{form} input[name=new-required]")
        page.click(f"{form} button[type=submit]")
        expect(page.locator(".survey-question")).to_have_count(count)  # the htmx swap has landed
        no_errors(page)
        added = page.locator(".survey-question").nth(count - 1)
        assert added.locator(".question-text").inner_text().startswith(text)
        assert added.locator(".question-maps-to").get_attribute("data-maps-to") == maps_to
    money_q, choice_q = campaign.questions.order_by("position")
    assert (money_q.kind, choice_q.kind) == (QuestionKind.MONEY, QuestionKind.CHOICE)
    assert choice_q.choices == ["补充流动资金", "研发投入", "设备购置"]

    # E1 is the target, then the office publishes.
    page.click(f"a[href='/market/surveys/{campaign.pk}/targets/']")
    page.wait_for_url(f"{base}/market/surveys/{campaign.pk}/targets/")
    form = "form.target-form"
    page.select_option(f"{form} select[name=organisations]", [str(world.orgs["ent1"].pk)])
    submit(page, form)
    no_errors(page)
    page.wait_for_url(f"{base}/market/surveys/{campaign.pk}/targets/")
    assert success(page) == "已添加 1 个调查对象。"
    assert page.inner_text(".figure-total") == "1"
    submit(page, "form.survey-publish")  # the confirm dialog is accepted
    no_errors(page)
    page.wait_for_url(f"{base}/market/surveys/{campaign.pk}/")
    assert success(page) == "调查已发布，1 个调查对象可在“我的调查”中答卷。"
    assert page.get_attribute(".survey-status", "data-status") == SurveyStatus.OPEN
    log_out(page)

    # E1 answers from 我的调查: ¥5 m (typed as 500万) for research; the answer becomes a demand.
    log_in(page, base, "ent1_operator", "pass-ent1")
    nav(page, base, "/market/surveys/mine/")
    mine = page.locator(f"tr.my-survey[data-campaign='{campaign.pk}']")
    expect(mine).to_be_visible()
    mine.locator("a.survey-respond-link").click()
    page.wait_for_url(f"{base}/market/surveys/{campaign.pk}/respond/")
    form = "form.survey-answer-form"
    page.fill(f"{form} [name=q_{money_q.pk}]", "500万")
    page.check(f"{form} input[name=q_{choice_q.pk}][value=研发投入]")
    submit(page, form)
    no_errors(page)
    page.wait_for_url(f"{base}/market/surveys/mine/")
    survey_demand = Demand.objects.get(source=DemandSource.SURVEY)
    assert f"编号 {survey_demand.reference}" in success(page)
    expect(page.locator(f"table.my-done tr.my-survey[data-campaign='{campaign.pk}']")).to_have_count(1)
    assert page.locator(f"table.my-pending tr.my-survey[data-campaign='{campaign.pk}']").count() == 0
    log_out(page)

    # The office reads the results: one response of one target, its figures, and the xlsx export.
    log_in(page, base, "ipo_bj_operator", "pass-ipo_bj")
    nav(page, base, "/market/surveys/")
    page.click(f"a[href='/market/surveys/{campaign.pk}/']")
    page.wait_for_url(f"{base}/market/surveys/{campaign.pk}/")
    page.click(f"a[href='/market/surveys/{campaign.pk}/results/']")
    page.wait_for_url(f"{base}/market/surveys/{campaign.pk}/results/")
    expect(page.locator(".figure-responses")).to_have_text("1")
    assert page.inner_text(".figure-targets") == "1"
    assert page.inner_text(".figure-rate") == "100.0%"
    assert page.inner_text(".figure-library") == "1"
    money_result = page.locator(f".question-result[data-question='{money_q.pk}']")
    assert money_result.locator(".stat-count").inner_text() == "1"
    assert "5,000,000" in money_result.locator(".stat-mean").inner_text()
    choice_rows = page.locator(f".question-result[data-question='{choice_q.pk}'] .result-table tr")
    counts = {r.locator("td").nth(0).inner_text(): r.locator("td").nth(1).inner_text() for r in choice_rows.all()}
    assert counts == {"补充流动资金": "0", "研发投入": "1", "设备购置": "0"}, counts
    library = page.locator(f"tr.library-demand[data-demand='{survey_demand.pk}']")
    expect(library).to_be_visible()
    assert e1.name in library.inner_text() and "5,000,000.00" in library.inner_text()
    assert page.locator(".response-list li a").all_inner_texts() == [e1.name]
    screenshot(page, "market-survey-results.png")
    export = page.request.get(f"{base}/market/surveys/{campaign.pk}/export.xlsx")
    assert export.status == 200
    assert export.headers["content-type"] == XLSX
    book = openpyxl.load_workbook(io.BytesIO(export.body()), read_only=True)
    written = {str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row if c}
    assert e1.name in written and "研发投入" in written, sorted(written)[:50]
    log_out(page)

    # The database agrees.
    product.refresh_from_db()
    live = product.live_version
    assert product.status == ProductStatus.LIVE and live is not None and live.status == ProductVersionStatus.APPROVED
    assert live.submitted_by == world.user("bank1_sub") and live.decided_by == world.user("bank1_sub", Role.REVIEWER)
    assert live.decided_by != live.submitted_by
    assert live.collateral_kinds == [CollateralKind.INVENTION]
    assert live.min_remaining_years == {CollateralKind.INVENTION: 10}
    assert live.amount_min == Money("1000000") and live.amount_max == Money("10000000")
    assert (live.term_min_months, live.term_max_months, live.rate_spread_bp) == (6, 36, 90)
    demand.refresh_from_db()
    assert demand.status == DemandStatus.IN_TALKS and demand.share_with_matching_banks
    assert demand.amount == Money("3000000") and demand.term_months == 12
    assert list(demand.rights.values_list("ip_right_id", flat=True)) == [r1.pk]
    lead.refresh_from_db()
    assert lead.eligible and lead.rank == 1 and lead.response == LeadResponse.INTERESTED
    assert lead.responded_by == world.user("bank1_sub")
    assert not Match.objects.get(demand=demand, product=long_life).eligible
    event.refresh_from_db()
    assert event.status == EventStatus.SCHEDULED and event.organiser == world.orgs["park1"]
    assert event.event_date == event_day and event.park == p1
    bank_p = EventParticipant.objects.get(event=event, organisation=bank)
    ent_p = EventParticipant.objects.get(event=event, organisation=world.orgs["ent1"])
    assert bank_p.desks == 1 and ent_p.demand == demand
    assert (meeting.bank_participant, meeting.enterprise_participant) == (bank_p, ent_p)
    assert (meeting.slot, meeting.desk, meeting.status) == (1, 1, MeetingStatus.PROPOSED)
    assert meeting.match == lead
    campaign.refresh_from_db()
    assert campaign.status == SurveyStatus.OPEN and campaign.organiser == world.orgs["ipo_bj"]
    response = SurveyResponse.objects.get(campaign=campaign)
    assert response.organisation == world.orgs["ent1"] and response.submitted_by == world.user("ent1")
    assert response.demand == survey_demand
    assert Decimal(response.answers[str(money_q.pk)]) == Decimal("5000000")
    assert response.answers[str(choice_q.pk)] == "研发投入"
    assert SurveyTarget.objects.get(campaign=campaign).responded_at is not None
    assert survey_demand.enterprise == e1 and survey_demand.amount == Money("5000000")
    assert survey_demand.purpose == DemandPurpose.RESEARCH
