"""Browser journey in headless Debian Chromium: a park operator registers a patent, fixing a wrong check digit."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ipledge.core.synthetic import make_patent_number
from ipledge.registry.models import IPRight
from tests.e2e.browser import new_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    page = new_page(browser)
    yield page
    page.context.close()


def test_park_operator_adds_patent_after_fixing_check_digit(live_server, world, page) -> None:  # type: ignore[no-untyped-def]
    good = make_patent_number(year=2022, type_digit=1, serial=3141592)
    body, check = good.split(".")
    wrong = f"{body}.{(int(check) + 1) % 10 if check != 'X' else 0}"
    enterprise = world.enterprises["e1"]

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "park1_operator")
    page.fill("input[name=password]", "pass-park1")
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/registry/ip-rights/new/")
    page.select_option("select[name=kind]", "patent")
    page.wait_for_selector("input[name=filing_date]")
    page.fill("input[name=number]", wrong)
    page.fill("input[name=title]", "一种基于深度学习的缺陷检测方法")
    page.fill("input[name=filing_date]", "2022-03-14")
    page.select_option("select[name=owner_enterprise]", enterprise.uscc)
    page.click("form:has(input[name=number]) button[type=submit]")

    error = page.locator("input[name=number] ~ .invalid-feedback, .invalid-feedback:near(input[name=number])").first
    error.wait_for()
    assert "校验" in error.inner_text()
    assert page.input_value("input[name=number]") == wrong  # what the user typed is kept
    assert not IPRight.objects.filter(number__startswith=body).exists()

    page.fill("input[name=number]", f"ZL {good}")  # a usual written form; stored canonically
    page.click("form:has(input[name=number]) button[type=submit]")
    page.wait_for_url(f"{live_server.url}/registry/ip-rights/*/")
    assert IPRight.objects.get(number=good).patent_type == "invention"

    page.goto(f"{live_server.url}/registry/ip-rights/?q={body}")
    row = page.locator("table tbody tr", has_text=good)
    row.first.wait_for()
    assert "一种基于深度学习的缺陷检测方法" in row.first.inner_text()
    page.screenshot(path=os.environ.get("E2E_SCREENSHOT", "/tmp/ipledge-e2e-ipright-list.png"), full_page=True)
