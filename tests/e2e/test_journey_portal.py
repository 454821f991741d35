"""Journey of an anonymous visitor through the public portal (公共服务门户): "/" lands on the portal home, a product
search by amount and term, one product opened, a pledge registration looked up by its number, a policy found by
Chinese words in the policy library and opened, then the page switched to English; no console errors throughout."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from ipledge.core.models import Region
from ipledge.market.models import Product
from ipledge.portal.choices import PolicyKind, PolicyStatus
from ipledge.portal.models import Policy
from ipledge.portal.search import build_search_text
from ipledge.registration.models import PledgeRegistration
from tests.e2e.browser import new_page
from tests.market.factories import add_market
from tests.world import add_pledges

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLICY_TITLE = "北京市知识产权质押融资风险补偿资金管理办法"


def _watch(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def _published_policy(world: Any) -> Policy:
    parts = {
        "title": POLICY_TITLE,
        "document_number": "京知局发〔2026〕8号",
        "issuing_body": world.orgs["ipo_bj"].name,
        "summary": "对合作银行发放的知识产权质押贷款发生的损失给予风险补偿。",
        "body": "第一条 为鼓励银行开展知识产权质押融资业务，设立风险补偿资金。",
    }
    return Policy.objects.create(
        **parts,
        kind=PolicyKind.RISK_COMPENSATION,
        region=Region.objects.get(code="110000"),
        region_code="110000",
        issued_on=datetime.date(2026, 1, 5),
        effective_from=datetime.date(2026, 1, 5),
        status=PolicyStatus.PUBLISHED,
        owner_org=world.orgs["ipo_bj"],
        search_text=build_search_text(parts.values()),
    )


def test_anonymous_visitor_finds_a_product_a_registration_and_a_policy(live_server, world, browser) -> None:  # type: ignore[no-untyped-def]
    add_pledges(world)
    market = add_market(world)
    policy = _published_policy(world)
    registration = PledgeRegistration.objects.order_by("pk").first()
    assert registration is not None
    base = live_server.url
    page = new_page(browser)
    problems = _watch(page)

    # "/" without a session lands on the portal home, not on the login page.
    page.goto(f"{base}/")
    page.wait_for_url(f"{base}/portal/")
    assert "行动成效" in page.inner_text("main")

    # Search a product by amount (50万) and term (12 months) from the home page.
    page.fill("form.portal-product-search input[name=amount]", "50")
    page.fill("form.portal-product-search input[name=term]", "12")
    page.click("form.portal-product-search button[type=submit]")
    page.wait_for_url("**/portal/products/?**")
    cards = page.locator(".portal-product-card")
    live = {market.products["bank1"].pk, market.products["bank2"].pk}
    assert {int(cards.nth(i).get_attribute("data-product")) for i in range(cards.count())} == live
    # A term no product offers empties the list.
    page.fill("form.portal-product-filter input[name=term]", "48")
    page.click("form.portal-product-filter button[type=submit]")
    page.wait_for_selector(".portal-product-empty")
    page.fill("form.portal-product-filter input[name=term]", "12")
    page.click("form.portal-product-filter button[type=submit]")
    product = Product.objects.get(pk=market.products["bank2"].pk)
    page.click(f".portal-product-card[data-product='{product.pk}'] a")
    page.wait_for_url(f"**/portal/products/{product.pk}/")
    main = page.inner_text("main")
    assert product.name in main and "LPR+100BP" in main and "6–36个月" in main

    # Look a registration up by its number from the home page.
    page.goto(f"{base}/portal/")
    page.fill("form.portal-registration-query input[name=number]", registration.registration_no)
    page.click("form.portal-registration-query button[type=submit]")
    page.wait_for_selector("table.public-results")
    results = page.inner_text("table.public-results")
    assert registration.registration_no in results and registration.pledgor.name in results

    # Find the policy by Chinese words in the policy library, and open it.
    page.goto(f"{base}/portal/")
    page.click("nav.portal-nav >> text=政策库")
    page.wait_for_url("**/portal/policies/")
    page.fill("form.policy-search input[name=q]", "风险补偿")
    page.click("form.policy-search button[type=submit]")
    page.click(f"a[href='/portal/policies/{policy.pk}/']")
    page.wait_for_url(f"**/portal/policies/{policy.pk}/")
    assert POLICY_TITLE in page.inner_text("main")

    # Switch to English: the page comes back in English, at the same address.
    page.click("form.language-switch button[value=en]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/portal/policies/{policy.pk}/")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("form.language-switch button[value=zh-hans]").count() == 1
    assert problems == []
