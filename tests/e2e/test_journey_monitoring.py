"""Journey of an IP-office official through action monitoring (行动监测): from the 百园万企 dashboard to an anomaly
case worked to a bulletin (通报), then an annual work summary (年度工作总结) generated and downloaded.

The anomaly is real data, not a made-up finding: a Beijing loan 120 days past due still classified normal, which
the scan the official starts from the page must find.
"""

from __future__ import annotations

import datetime
import io
import zipfile
from typing import Any

import pytest
from docx import Document

from ipledge.core.context import business_date
from ipledge.lending.models import Loan
from ipledge.monitoring.models import Finding, GeneratedReport
from tests.e2e.browser import log_in, new_page
from tests.lending.factories import add_loans
from tests.world import add_pledges

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def _accept_confirmations(page: Any) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def test_official_from_dashboard_to_an_anomaly_case_and_a_report(live_server, world, browser) -> None:  # type: ignore[no-untyped-def]
    add_pledges(world)
    loans = add_loans(world)
    overdue = loans["l1"]
    Loan.objects.filter(pk=overdue.pk).update(days_past_due=120, classification="normal")
    base = live_server.url
    page = new_page(browser)
    problems = _watch(page)
    _accept_confirmations(page)
    log_in(page, base, "ipo_bj_admin", "pass-ipo_bj")

    # The workbench offers the monitoring section; the targets dashboard draws its map and charts.
    page.goto(f"{base}/")
    page.click("nav >> text=百园万企目标")
    page.wait_for_selector("canvas")
    assert "园区" in page.inner_text("main")

    # Start a scan from the scans page; the overdue loan is found with its evidence.
    page.goto(f"{base}/monitoring/scans/")
    page.click("form.scan-run button[type=submit]")
    page.wait_for_load_state("networkidle")
    finding = Finding.objects.get(rule="classification_inconsistent", subject_id=str(overdue.pk))
    page.goto(f"{base}/monitoring/findings/")
    page.click(f"a[href='/monitoring/findings/{finding.pk}/']")
    main = page.inner_text("main")
    assert overdue.reference in main and "120" in main

    # Assign to oneself, investigate, record a note, confirm.
    due = (business_date() + datetime.timedelta(days=14)).isoformat()
    page.select_option("form.finding-assign select[name=assignee]", index=1)
    page.fill("form.finding-assign input[name=due_on]", due)
    page.click("form.finding-assign button[type=submit]")
    page.click("form.finding-start button[type=submit]")
    page.fill("form.finding-note textarea[name=note]", "已调取贷款档案，逾期120天。")
    page.click("form.finding-note button[type=submit]")
    page.check("form.finding-decide input[name=decision][value=confirm]")
    page.fill("form.finding-decide textarea[name=note]", "逾期超过90天仍列正常类，属实。")
    page.click("form.finding-decide button[type=submit]")
    page.wait_for_load_state("networkidle")
    finding.refresh_from_db()
    assert finding.status == "confirmed", page.inner_text("main")
    timeline = page.inner_text("main")
    assert "已调取贷款档案" in timeline and "属实" in timeline

    # Report it in a bulletin.
    page.goto(f"{base}/monitoring/bulletins/new/")
    page.fill("form.bulletin-form input[name=title]", "关于贷款风险分类不实的通报")
    page.fill("form.bulletin-form textarea[name=body]", "经核查，一笔逾期超过90天的贷款仍列为正常类。")
    page.check(f"form.bulletin-form input[name=findings][value='{finding.pk}']")
    page.click("form.bulletin-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    finding.refresh_from_db()
    assert finding.status == "reported" and finding.bulletin is not None
    assert "关于贷款风险分类不实的通报" in page.inner_text("main")

    # An annual work summary for Beijing: generated, its figures listed with their queries, and downloaded.
    page.goto(f"{base}/monitoring/reports/new/")
    page.select_option("form.report-form select[name=kind]", "annual_summary")
    page.select_option("form.report-form select[name=region]", label="北京市")
    page.fill("form.report-form input[name=year]", str(business_date().year))
    page.click("form.report-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    report = GeneratedReport.objects.get(kind="annual_summary")
    assert page.url.rstrip("/").endswith(f"/monitoring/reports/{report.pk}")
    assert report.figures and all(figure.get("query") for figure in report.figures)
    with page.expect_download() as download_info:
        page.click(f"a[href='/monitoring/reports/{report.pk}/download/']")
    content = open(download_info.value.path(), "rb").read()  # noqa: SIM115 — the download's temporary file
    assert zipfile.is_zipfile(io.BytesIO(content))
    text = "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
    assert "年度工作总结" in text
    assert problems == []
