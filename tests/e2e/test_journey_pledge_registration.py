"""Browser journey in headless Debian Chromium: bank files → enterprise confirms → examiner registers →
the public query shows the registration to an anonymous visitor."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import pytest
from django.utils import timezone

from ipledge.core.synthetic import make_patent_number
from ipledge.registration.choices import FilingStatus
from ipledge.registration.models import PledgeFiling, PledgeRegistration
from ipledge.registry.services import ip_right_create, ip_right_update
from tests.e2e.browser import log_in, log_out, new_page
from tests.world import PDF_BYTES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bank_files_enterprise_confirms_examiner_registers_public_sees(  # type: ignore[no-untyped-def]
    live_server, world, browser, tmp_path: Path
) -> None:
    base = live_server.url
    today = timezone.localdate()
    r1 = world.rights["r1"]
    ip_right_update(right=r1, data={"annual_fee_paid_until": today + datetime.timedelta(days=365)}, acting_user=None)
    # A bundle (打包质押): r1, a second patent and a trademark of the same enterprise.
    e1 = world.enterprises["e1"]
    r1c = ip_right_create(
        kind="patent",
        number=make_patent_number(year=2020, type_digit=1, serial=5550001),
        title="一种图像降噪电路",
        filing_date=datetime.date(2020, 4, 1),
        grant_date=datetime.date(2022, 9, 6),
        main_ipc="H04N5/357",
        annual_fee_paid_until=today + datetime.timedelta(days=300),
        owners=[{"enterprise": e1}],
        acting_user=None,
    )
    tm = ip_right_create(
        kind="trademark",
        number="40123456",
        title="智芯",
        grant_date=datetime.date(2021, 3, 7),
        valid_from=datetime.date(2021, 3, 7),
        term_end=datetime.date(2031, 3, 6),
        nice_classes=[9],
        owners=[{"enterprise": e1}],
        acting_user=None,
    )
    contract = tmp_path / "质押合同.pdf"
    identity = tmp_path / "身份证明.pdf"
    contract.write_bytes(PDF_BYTES)
    identity.write_bytes(PDF_BYTES)

    # The bank's tech sub-branch files the pledge of e1's patent and uploads the documents.
    page = new_page(browser)
    log_in(page, base, "bank1_sub_operator", "pass-bank1_sub")
    page.click("#sidebar a[href='/pledges/new/']")
    page.wait_for_url(f"{base}/pledges/new/")
    page.fill("input[name=pledgor_uscc]", world.enterprises["e1"].uscc)
    page.fill("input[name=claim_amount]", "3000000")
    page.fill("input[name=performance_start]", today.isoformat())
    page.fill("input[name=performance_end]", (today + datetime.timedelta(days=365)).isoformat())
    page.fill("input[name=contract_no]", "ZY-E2E-001")
    for row, (kind, number) in enumerate((("patent", r1.number), ("patent", r1c.number), ("trademark", tm.number))):
        page.select_option(f"select[name=items-{row}-kind]", kind)
        page.fill(f"input[name=items-{row}-number]", number)
    page.click("form.filing-form button[type=submit]:not([name=add_row])")
    page.wait_for_url(f"{base}/pledges/*/")
    filing = PledgeFiling.objects.get()
    assert filing.status == FilingStatus.AWAITING_PLEDGOR
    assert sorted(filing.items.values_list("ip_right__kind", flat=True)) == ["patent", "patent", "trademark"]
    for doc_type, path in (("contract", contract), ("identity", identity)):
        page.select_option("form.document-form select[name=doc_type]", doc_type)
        page.set_input_files("form.document-form input[name=file]", str(path))
        page.click("form.document-form button[type=submit]")
        page.wait_for_url(f"{base}/pledges/{filing.pk}/")
    assert page.locator("#documents li.document").count() == 2
    log_out(page)

    # The enterprise confirms in its own account.
    log_in(page, base, "ent1_operator", "pass-ent1")
    page.click("#sidebar a[href='/pledges/awaiting-confirmation/']")
    page.click(f"table a[href='/pledges/{filing.pk}/']")
    page.click("button[name=confirm]")
    page.locator(".alert-success").wait_for()
    filing.refresh_from_db()
    assert filing.status == FilingStatus.SUBMITTED
    log_out(page)

    # The Beijing examiner opens the queue and registers.
    log_in(page, base, "ipo_bj_reviewer", "pass-ipo_bj")
    page.click("#sidebar a[href='/pledges/examination/']")
    page.wait_for_url(f"{base}/pledges/examination/")
    page.click(f"table a[href='/pledges/{filing.pk}/']")
    page.check("input[name=decision][value=register]")
    page.click("#decision button[type=submit]")
    page.locator(".filing-status", has_text="已登记").wait_for()
    registration = PledgeRegistration.objects.get(filing=filing)
    assert registration.pledged_rights.filter(is_active=True).count() == 3
    page.context.close()

    # Anyone, not logged in, finds it on the public query page.
    anonymous = new_page(browser)
    anonymous.goto(f"{base}/public/pledges/?number={r1.number}")
    row = anonymous.locator("table.public-results tbody tr", has_text=registration.registration_no)
    row.wait_for()
    text = row.inner_text()
    assert r1.number in text and "北京智芯科技有限公司" in text and "北京银行中关村科技支行" in text
    assert "3,000,000" not in anonymous.content()
    anonymous.screenshot(
        path=os.environ.get("E2E_SCREENSHOT_PLEDGE", "/tmp/ipledge-e2e-public-query.png"), full_page=True
    )
    anonymous.context.close()
