"""Browser journey in headless Debian Chromium: an enterprise values its patent from the IP-right page with a
valuation agency named, the charts draw, the agency's valuer submits it and a second person signs it off."""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator

import pytest
from django.utils import timezone

from ipledge.registry.services import ip_right_update
from ipledge.valuation.choices import ValuationStatus
from ipledge.valuation.models import Valuation
from tests.e2e.browser import log_in, log_out, new_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    page = new_page(browser)
    yield page
    page.context.close()


def test_enterprise_values_a_patent_and_the_agency_signs_it_off(live_server, world, page) -> None:  # type: ignore[no-untyped-def]
    right = world.rights["r1"]
    ip_right_update(
        right=right,
        data={"annual_fee_paid_until": timezone.localdate() + datetime.timedelta(days=300)},
        acting_user=None,
    )
    base = live_server.url
    log_in(page, base, "ent1_operator", "pass-ent1")
    page.goto(f"{base}/registry/ip-rights/{right.pk}/")
    page.click("#link-valuation")
    page.wait_for_selector("#no-valuation")
    page.select_option("#run-valuation select[name=agency]", str(world.orgs["valuer"].pk))
    page.click("#run-valuation button[type=submit]")
    page.wait_for_selector("#valuation-grade")
    valuation = Valuation.objects.get(ip_right=right)
    assert page.inner_text("#valuation-grade").strip() == valuation.grade
    # ECharts drew both charts (a canvas each) from the server's data.
    page.wait_for_selector("#chart-contributions canvas")
    page.wait_for_selector("#chart-range canvas")
    rows = page.locator(".contributions-table tbody tr").count()
    assert rows == len(valuation.contributions) or (rows == 1 and not valuation.contributions)
    if os.environ.get("IPLEDGE_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["IPLEDGE_SCREENSHOTS"], "valuation.png"), full_page=True)
    log_out(page)

    log_in(page, base, "valuer_operator", "pass-valuer")
    page.goto(f"{base}/valuation/{valuation.pk}/")
    page.fill("#id_submit_note", "已核对登记簿、年费与许可记录。")
    page.click("form[action$='/submit/'] button[type=submit]")
    page.wait_for_selector(".alert-success")
    log_out(page)

    log_in(page, base, "valuer_reviewer", "pass-valuer")
    page.goto(f"{base}/valuation/{valuation.pk}/")
    page.check("input[name=decision][value=approve]")
    page.click("form[action$='/sign-off/'] button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert "已签发" in page.inner_text("#valuation-status")
    valuation.refresh_from_db()
    assert valuation.status == ValuationStatus.SIGNED_OFF and valuation.signed_off_by.username == "valuer_reviewer"
