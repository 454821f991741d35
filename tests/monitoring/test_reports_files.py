"""Generated reports (统计报告): the measures overview table (xlsx) and the work summaries (docx) open in LibreOffice
(converted to PDF here), hold what they claim, and every figure printed is stored with the query behind it and
equals a recount made independently; the file is kept by its digest and comes back unchanged."""

from __future__ import annotations

import datetime
import io
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from docx import Document

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent, Region
from ipledge.lending.models import Loan
from ipledge.monitoring import charts
from ipledge.monitoring.choices import MeasureCategory, ReportKind
from ipledge.monitoring.reports import Period, build, summary_data
from ipledge.monitoring.services.measures import measure_create
from ipledge.monitoring.services.reports import report_content, report_generate, storage_name
from ipledge.registration.models import PledgeRegistration
from tests.lending.factories import add_loans
from tests.monitoring.factories_reports import add_reports
from tests.world import World

pytestmark = pytest.mark.django_db
needs_libreoffice = pytest.mark.skipif(
    not shutil.which("libreoffice"), reason="needs LibreOffice on PATH (apt-get install libreoffice-writer-nogui)"
)
YEAR_2025 = Period.year(2025)


def _to_pdf(tmp_path: Path, name: str, content: bytes) -> Path:
    source = tmp_path / name
    source.write_bytes(content)
    out = tmp_path / "pdf"
    # A private profile: parallel runs (and a user's open LibreOffice) must not share one.
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(
        [
            "libreoffice",
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = out / (source.stem + ".pdf")
    assert pdf.exists() and pdf.stat().st_size > 1000, list(out.iterdir()) if out.exists() else "no output"
    assert pdf.read_bytes().startswith(b"%PDF")
    return pdf


@needs_libreoffice
def test_measures_table_xlsx_opens_in_libreoffice(world: World, tmp_path: Path) -> None:
    add_reports(world)
    built = build(
        kind=ReportKind.MEASURES_TABLE, reader=None, region=Region.objects.get(code="320000"), period=YEAR_2025
    )
    book = openpyxl.load_workbook(io.BytesIO(built.content))
    assert book.sheetnames == ["工作措施一览表", "分类汇总", "数据来源"]
    sheet = book["工作措施一览表"]
    titles = [sheet.cell(row=r, column=5).value for r in range(3, sheet.max_row + 1)]
    assert sorted(titles) == sorted(["江宁高新区知识产权金融服务站", "南京市质押贷款贴息"])  # Jiangsu only
    figures = {f.key: f.value for f in built.figures}
    assert figures["measures.total"] == 2 and figures["measures.category.subsidy"] == 1
    sources = book["数据来源"]
    assert [sources.cell(row=1, column=c).value for c in range(1, 6)] == [
        "编号",
        "指标",
        "数值",
        "单位",
        "数据来源查询",
    ]
    assert sources.max_row == len(built.figures) + 1
    _to_pdf(tmp_path, built.file_name, built.content)


@needs_libreoffice
@pytest.mark.parametrize("kind", [ReportKind.ANNUAL_SUMMARY, ReportKind.QUARTERLY_SUMMARY])
def test_work_summary_docx_opens_in_libreoffice(world: World, tmp_path: Path, kind: str) -> None:
    add_loans(world)
    add_reports(world)
    period = YEAR_2025 if kind == ReportKind.ANNUAL_SUMMARY else Period.quarter(2025, 1)
    built = build(kind=kind, reader=None, region=Region.objects.get(code="110000"), period=period)
    document = Document(io.BytesIO(built.content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert built.title in text and "附录　数据来源" in text
    assert ("2025年第1季度" if kind == ReportKind.QUARTERLY_SUMMARY else "2025年") in built.title
    with zipfile.ZipFile(io.BytesIO(built.content)) as archive:
        pictures = [n for n in archive.namelist() if n.startswith("word/media/")]
    assert len(pictures) == 2  # the two charts
    appendix = document.tables[-1]
    assert len(appendix.rows) == len(built.figures) + 1
    assert [c.text for c in appendix.rows[1].cells[:2]] == [built.figures[0].key, built.figures[0].label]
    _to_pdf(tmp_path, built.file_name, built.content)


def test_summary_figures_equal_an_independent_recount_and_name_their_query(world: World) -> None:
    loans = add_loans(world)
    region = Region.objects.get(code="110000")
    data = summary_data(reader=None, region=region, period=YEAR_2025)
    figures = {f.key: f for f in data.figures}
    disbursed = [
        loan
        for loan in Loan.objects.filter(is_ip_pledge=True)
        if loan.region_code.startswith("11")
        and loan.first_disbursed_on
        and datetime.date(2025, 1, 1) <= loan.first_disbursed_on <= datetime.date(2025, 12, 31)
    ]
    assert loans["l1"] in disbursed
    assert figures["loans.count"].value == len(disbursed)
    total = sum((loan.principal.amount for loan in disbursed if loan.principal), Decimal(0))
    assert Decimal(figures["loans.amount"].value) == (total / 10_000).quantize(Decimal("0.01"))
    assert figures["loans.amount"].unit == "万元"
    registrations = [
        r for r in PledgeRegistration.objects.all() if r.region_code.startswith("11") and r.registered_on.year == 2025
    ]
    assert figures["registrations.count"].value == len(registrations)
    for figure in data.figures:
        assert figure.query, figure.key
    assert '"lending_loan"' in figures["loans.count"].query and "11%" in figures["loans.count"].query
    assert figures["loans.amount"].query.startswith("SELECT SUM(principal)")
    assert '"registration_pledgeregistration"' in figures["registrations.count"].query
    trend = {year: loans_n for year, _, _, loans_n, _ in data.yearly}
    assert trend[2025] == len(disbursed) and figures["trend.2025.loans"].value == len(disbursed)


def test_figures_read_only_what_the_generating_user_reaches(world: World) -> None:
    add_loans(world)
    bj_office = world.user("ipo_bj")
    js_office = world.user("ipo_js")
    national = summary_data(reader=None, region=None, period=YEAR_2025)
    beijing = summary_data(reader=bj_office, region=None, period=YEAR_2025)
    jiangsu = summary_data(reader=js_office, region=None, period=YEAR_2025)
    value = {f.key: f.value for f in national.figures}
    assert (
        value["loans.count"]
        == {f.key: f.value for f in beijing.figures}["loans.count"]
        + {f.key: f.value for f in jiangsu.figures}["loans.count"]
    )
    assert {f.key: f.value for f in beijing.figures}["loans.count"] >= 1


def test_generate_stores_the_file_by_digest_with_its_figures(world: World) -> None:
    add_loans(world)
    user = world.user("ipo_bj")
    report = report_generate(
        kind=ReportKind.ANNUAL_SUMMARY,
        region=Region.objects.get(code="110000"),
        period_start=datetime.date(2025, 1, 1),
        period_end=datetime.date(2025, 12, 31),
        acting_user=user,
    )
    assert report.created_by == user and report.created_by_org == world.orgs["ipo_bj"]
    assert report.region_code == "110000" and report.file_name.endswith(".docx")
    assert default_storage.exists(storage_name(report.file_digest, report.content_type))
    content = report_content(report)
    assert len(content) == report.size and content.startswith(b"PK")
    keys = [f["key"] for f in report.figures]
    assert "loans.count" in keys and all(set(f) == {"key", "label", "value", "unit", "query"} for f in report.figures)
    event = AuditEvent.objects.get(action="generated_report.create", object_id=str(report.pk))
    assert event.changes["fields"]["figures"]["new"] == len(report.figures)


def test_generate_checks_reach_and_period(world: World) -> None:
    js = Region.objects.get(code="320000")
    with pytest.raises(ValidationError) as exc:
        report_generate(
            kind=ReportKind.ANNUAL_SUMMARY,
            region=js,
            period_start=datetime.date(2025, 1, 1),
            period_end=datetime.date(2025, 12, 31),
            acting_user=world.user("ipo_bj"),
        )
    assert [e.code for e in exc.value.error_dict["region"]] == ["out_of_region"]
    with pytest.raises(ValidationError) as exc:
        report_generate(
            kind=ReportKind.MEASURES_TABLE,
            region=None,  # the whole country: only the national office
            period_start=datetime.date(2025, 12, 31),
            period_end=datetime.date(2025, 1, 1),
            acting_user=world.user("ipo_js"),
        )
    assert set(exc.value.error_dict) == {"region", "period_end"}
    for key in ("park1", "bank1", "reg_bj"):
        with pytest.raises(PermissionDenied):
            report_generate(
                kind=ReportKind.MEASURES_TABLE,
                region=js,
                period_start=datetime.date(2025, 1, 1),
                period_end=datetime.date(2025, 12, 31),
                acting_user=world.user(key),
            )
    with pytest.raises(PermissionDenied):
        report_generate(
            kind=ReportKind.MEASURES_TABLE,
            region=js,
            period_start=datetime.date(2025, 1, 1),
            period_end=datetime.date(2025, 12, 31),
            acting_user=world.user("ipo_js", Role.VIEWER),
        )
    national = report_generate(
        kind=ReportKind.MEASURES_TABLE,
        region=None,
        period_start=datetime.date(2025, 1, 1),
        period_end=datetime.date(2025, 12, 31),
        acting_user=world.user("cnipa"),
    )
    assert national.region_code == "" and "全国" in national.title


def test_measure_in_force_during_the_period_only(world: World) -> None:
    region = Region.objects.get(code="320000")
    office = world.user("ipo_js")
    for title, started, ended in (
        ("早已结束", datetime.date(2023, 1, 1), datetime.date(2024, 6, 30)),
        ("跨年实施", datetime.date(2024, 6, 1), datetime.date(2025, 2, 1)),
        ("次年开始", datetime.date(2026, 1, 5), None),
    ):
        measure_create(
            region=region,
            category=MeasureCategory.OTHER,
            title=title,
            issuing_body="江苏省知识产权局",
            started_on=started,
            ended_on=ended,
            description="—",
            acting_user=office,
        )
    built = build(kind=ReportKind.MEASURES_TABLE, reader=office, region=region, period=YEAR_2025)
    sheet = openpyxl.load_workbook(io.BytesIO(built.content))["工作措施一览表"]
    assert [sheet.cell(row=r, column=5).value for r in range(3, sheet.max_row + 1)] == ["跨年实施"]


def test_charts_fall_back_to_ascii_without_a_cjk_font() -> None:
    series = [charts.Series(charts.Text("质押登记", "registrations"), [1, 2, 3])]
    for font in (None, charts.cjk_font()):
        png = charts.bar_chart(
            categories=["2023", "2024", "2025"], series=series, y_label=charts.Text("笔", "count"), font=font
        )
        assert png.startswith(b"\x89PNG")
    assert charts.Text("质押登记", "registrations").shown(None) == "registrations"
    assert charts.Text("质押登记", "registrations").shown("WenQuanYi Micro Hei") == "质押登记"


def test_period_labels() -> None:
    assert Period.quarter(2025, 4) == Period(datetime.date(2025, 10, 1), datetime.date(2025, 12, 31))
    assert Period.quarter(2025, 2).end == datetime.date(2025, 6, 30)
    assert Period.quarter(2025, 2).label == "2025年第2季度"
    assert Period.year(2024).label == "2024年"
