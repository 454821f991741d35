"""Report builders (统计报告): the measures overview table (工作措施一览表) as xlsx, and the quarterly and annual work
summaries (季度/年度工作总结) as docx with charts drawn server-side (`charts.py`).

Every figure a report prints is a `ReportFigure` carrying the query behind it: the SQL of the ORM queryset that was
aggregated (with the aggregate named), or the description the targets overview (`TargetOverview.queries`) gives
for its figures. The same list is stored on the `GeneratedReport` and printed in the report's own appendix
(数据来源), so any number can be traced back to the rows it came from.

Reads go through `restrict(reader, "view")` when a reader is given (a user generating from the UI or the API) and
are unrestricted for jobs (`reader=None`, the CLI and the seed). Builders only read and return bytes; storing the
file and the `GeneratedReport` row is `services/reports.py`'s job.
"""

from __future__ import annotations

import datetime
import importlib
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import BigIntegerField, Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncYear
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from ipledge.core.exports import workbook
from ipledge.core.models import Region, User
from ipledge.core.uploads import CONTENT_TYPES, DOCX, XLSX
from ipledge.lending.models import Loan
from ipledge.registration.models import PledgeRegistration

from . import charts
from .choices import CaseStatus, FindingStatus, MeasureCategory, MeasureStatus, ReportKind
from .models import Finding, MeasureEntry, TypicalCase

WAN = Decimal(10_000)
FEN_PER_WAN = 1_000_000
TREND_YEARS = 5
MAX_MEASURES_IN_SUMMARY = 60
DOCX_FONT = "SimSun"  # the usual body font of Chinese official documents; viewers substitute a CJK font if absent


@dataclass(frozen=True)
class ReportFigure:
    """One printed figure and the query behind it."""

    key: str
    label: str
    value: Any
    unit: str
    query: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def shown(self) -> str:
        if self.value is None:
            return "—"
        return f"{self.value}{self.unit}" if self.unit not in ("", "项") else f"{self.value}"


@dataclass
class BuiltReport:
    kind: str
    title: str
    file_name: str
    content_type: str
    content: bytes
    figures: list[ReportFigure] = field(default_factory=list)


@dataclass(frozen=True)
class Period:
    start: datetime.date
    end: datetime.date

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(datetime.date(year, 1, 1), datetime.date(year, 12, 31))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        first_month = 3 * (quarter - 1) + 1
        start = datetime.date(year, first_month, 1)
        end = (
            datetime.date(year, 12, 31)
            if quarter == 4
            else datetime.date(year, first_month + 3, 1) - datetime.timedelta(days=1)
        )
        return cls(start, end)

    @property
    def label(self) -> str:
        if self.start.month == 1 and self.start.day == 1 and self.end == datetime.date(self.start.year, 12, 31):
            return f"{self.start.year}年"
        if self.start.day == 1 and self.start.year == self.end.year and self.end.month - self.start.month == 2:
            return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"
        return f"{self.start:%Y-%m-%d}至{self.end:%Y-%m-%d}"


def _rows(model: Any, reader: User | None) -> QuerySet[Any]:
    manager = model.objects
    return manager.restrict(reader, "view") if reader is not None else manager.all()


def _in_region(qs: QuerySet[Any], region: Region | None, field_name: str = "region_code") -> QuerySet[Any]:
    return qs.filter(**{f"{field_name}__startswith": region.prefix}) if region is not None else qs


def sql_of(qs: QuerySet[Any], aggregate: str) -> str:
    """The SQL behind a figure: the aggregate over the exact rows the queryset selects."""
    try:
        inner = str(qs.query)
    except Exception:  # noqa: BLE001 - an empty queryset (`.none()`) has no SQL; say so instead of failing
        inner = "(no rows: outside the reader's scope)"
    return f"SELECT {aggregate} FROM ({inner})"


def _wan(fen: int | None) -> str:
    return str((Decimal(fen or 0) / FEN_PER_WAN).quantize(Decimal("0.01")))


def region_name(region: Region | None) -> str:
    return region.name if region is not None else "全国"


# ------------------------------------------------------------------------------------------- measures overview


def measure_rows(*, reader: User | None, region: Region | None, period: Period) -> QuerySet[MeasureEntry]:
    """Measures in force at some time in the period: started by its end, not ended before its start."""
    qs = _in_region(_rows(MeasureEntry, reader), region).filter(started_on__lte=period.end)
    qs = qs.filter(Q(ended_on__isnull=True) | Q(ended_on__gte=period.start))
    return qs.select_related("region", "park", "owner_org").order_by("region_code", "park__name", "started_on", "pk")


def measure_figures(qs: QuerySet[MeasureEntry], prefix: str = "measures") -> list[ReportFigure]:
    figures = [ReportFigure(f"{prefix}.total", "工作措施总数", qs.count(), "项", sql_of(qs, "COUNT(*)"))]
    by_category = dict(qs.order_by().values_list("category").annotate(n=Count("pk")))
    for value, label in MeasureCategory.choices:
        one = qs.filter(category=value)
        figures.append(
            ReportFigure(
                f"{prefix}.category.{value}", f"{label}类措施", by_category.get(value, 0), "项", sql_of(one, "COUNT(*)")
            )
        )
    done = qs.filter(status=MeasureStatus.COMPLETED)
    figures.append(ReportFigure(f"{prefix}.completed", "已完成措施", done.count(), "项", sql_of(done, "COUNT(*)")))
    public = qs.filter(is_public=True)
    figures.append(ReportFigure(f"{prefix}.public", "公开展示措施", public.count(), "项", sql_of(public, "COUNT(*)")))
    return figures


MEASURE_COLUMNS = (
    ("序号", 6),
    ("地区", 12),
    ("园区", 24),
    ("类别", 12),
    ("措施名称", 32),
    ("实施单位", 22),
    ("文号", 18),
    ("实施日期", 12),
    ("截止日期", 12),
    ("状态", 8),
    ("主要内容", 48),
    ("取得成效", 40),
    ("填报单位", 22),
)


def _figures_sheet(book: Any, figures: Iterable[ReportFigure], header: Any, wrap: Any) -> None:
    sheet = book.add_worksheet("数据来源")
    for col, (title, width) in enumerate(
        (("编号", 28), ("指标", 24), ("数值", 14), ("单位", 8), ("数据来源查询", 100))
    ):
        sheet.write(0, col, title, header)
        sheet.set_column(col, col, width)
    for row, figure in enumerate(figures, start=1):
        value = figure.value
        sheet.write_string(row, 0, figure.key)
        sheet.write_string(row, 1, figure.label)
        if isinstance(value, int | float) and not isinstance(value, bool):
            sheet.write_number(row, 2, value)
        else:
            sheet.write_string(row, 2, "" if value is None else str(value))
        sheet.write_string(row, 3, figure.unit)
        sheet.write_string(row, 4, figure.query, wrap)


def build_measures_table(*, reader: User | None, region: Region | None, period: Period) -> BuiltReport:
    """工作措施一览表: one row per measure in force in the period, a summary by category, and the data sources."""
    qs = measure_rows(reader=reader, region=region, period=period)
    figures = measure_figures(qs)
    title = f"{region_name(region)}知识产权质押融资工作措施一览表（{period.label}）"
    buffer = io.BytesIO()
    book = workbook(buffer)
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    date = book.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
    sheet = book.add_worksheet("工作措施一览表")
    sheet.merge_range(0, 0, 0, len(MEASURE_COLUMNS) - 1, title, book.add_format({"bold": True, "font_size": 14}))
    for col, (name, width) in enumerate(MEASURE_COLUMNS):
        sheet.write(1, col, name, header)
        sheet.set_column(col, col, width)
    labels = dict(MeasureCategory.choices)
    statuses = dict(MeasureStatus.choices)
    row = 1
    for row, measure in enumerate(qs, start=2):
        sheet.write_number(row, 0, row - 1)
        sheet.write_string(row, 1, measure.region.name, wrap)
        sheet.write_string(row, 2, measure.park.name if measure.park else "", wrap)
        sheet.write_string(row, 3, str(labels.get(measure.category, measure.category)), wrap)
        sheet.write_string(row, 4, measure.title, wrap)
        sheet.write_string(row, 5, measure.issuing_body, wrap)
        sheet.write_string(row, 6, measure.document_no, wrap)
        sheet.write_datetime(row, 7, datetime.datetime.combine(measure.started_on, datetime.time()), date)
        if measure.ended_on:
            sheet.write_datetime(row, 8, datetime.datetime.combine(measure.ended_on, datetime.time()), date)
        sheet.write_string(row, 9, str(statuses.get(measure.status, measure.status)), wrap)
        sheet.write_string(row, 10, measure.description, wrap)
        sheet.write_string(row, 11, measure.results, wrap)
        sheet.write_string(row, 12, measure.owner_org.name, wrap)
    sheet.freeze_panes(2, 0)
    sheet.autofilter(1, 0, max(row, 1), len(MEASURE_COLUMNS) - 1)
    summary = book.add_worksheet("分类汇总")
    summary.write(0, 0, "类别", header)
    summary.write(0, 1, "措施数", header)
    summary.set_column(0, 0, 20)
    for index, figure in enumerate(f for f in figures if ".category." in f.key):
        summary.write_string(index + 1, 0, figure.label)
        summary.write_number(index + 1, 1, figure.value)
    _figures_sheet(book, figures, header, wrap)
    book.close()
    stamp = f"{period.start:%Y%m%d}-{period.end:%Y%m%d}"
    return BuiltReport(
        kind=ReportKind.MEASURES_TABLE,
        title=title,
        file_name=f"工作措施一览表_{region_name(region)}_{stamp}.xlsx",
        content_type=CONTENT_TYPES[XLSX],
        content=buffer.getvalue(),
        figures=figures,
    )


# ------------------------------------------------------------------------------------------------ work summaries


@dataclass
class SummaryData:
    figures: list[ReportFigure]
    monthly: list[tuple[str, int, str]]  # (YYYY-MM, registrations, amount in 万元)
    yearly: list[tuple[int, int, str, int, str]]  # (year, registrations, amount 万元, loans, loan amount 万元)
    measures: list[MeasureEntry]
    targets_available: bool


def _target_overview(reader: User | None, year: int, region: Region | None) -> Any | None:
    """The targets overview of area A (`targets.py`) when it is installed; the summary leaves its figures out
    rather than failing while that module is absent."""
    try:
        module = importlib.import_module("ipledge.monitoring.targets")
    except ImportError:
        return None
    build = getattr(module, "target_overview", None)
    if build is None:
        return None
    return build(user=reader, year=year, region_prefix=region.prefix if region is not None else "")


def _target_figures(overview: Any) -> list[ReportFigure]:
    queries: dict[str, str] = dict(getattr(overview, "queries", {}) or {})

    def query(*keys: str) -> str:
        for key in keys:
            if key in queries:
                return queries[key]
        return "target_overview(): " + ", ".join(keys)

    def pct(value: float | None) -> str | None:
        return None if value is None else f"{value * 100:.1f}"

    def days(value: float | None) -> str | None:
        return None if value is None else f"{value:.1f}"

    return [
        ReportFigure(
            "targets.parks_reaching",
            "质押项目数和金额均增长20%以上的园区",
            int(overview.parks_reaching),
            "个",
            query("parks_reaching"),
        ),
        ReportFigure(
            "targets.new_smes", "通过知识产权融资的新增中小微企业", int(overview.new_smes), "家", query("new_smes")
        ),
        ReportFigure(
            "targets.implementation_rate",
            "质押专利实施率",
            pct(overview.implementation_rate),
            "%",
            query("implementation_rate"),
        ),
        ReportFigure(
            "targets.turnaround_days_avg",
            "质押登记平均办理时长",
            days(overview.turnaround_days_avg),
            "个工作日",
            query("turnaround_days_avg"),
        ),
        ReportFigure("targets.online_share", "线上办理占比", pct(overview.online_share), "%", query("online_share")),
        ReportFigure(
            "targets.demand_to_loan_days_median",
            "融资需求至放款天数中位数",
            days(overview.demand_to_loan_days_median),
            "天",
            query("demand_to_loan_days_median"),
        ),
    ]


def summary_data(*, reader: User | None, region: Region | None, period: Period) -> SummaryData:
    """Every figure of a work summary, each with its query; the monthly and yearly series for the charts."""
    figures: list[ReportFigure] = []
    registrations = _in_region(_rows(PledgeRegistration, reader), region).filter(
        registered_on__gte=period.start, registered_on__lte=period.end
    )
    reg_totals = registrations.aggregate(
        n=Count("pk"), fen=Sum("claim_amount", output_field=BigIntegerField()), pledgors=Count("pledgor", distinct=True)
    )
    figures += [
        ReportFigure(
            "registrations.count", "知识产权质押登记", reg_totals["n"], "笔", sql_of(registrations, "COUNT(*)")
        ),
        ReportFigure(
            "registrations.amount",
            "质押登记金额",
            _wan(reg_totals["fen"]),
            "万元",
            sql_of(registrations, "SUM(claim_amount) / 1000000 -- fen to 万元"),
        ),
        ReportFigure(
            "registrations.pledgors",
            "出质企业",
            reg_totals["pledgors"],
            "家",
            sql_of(registrations, "COUNT(DISTINCT pledgor_id)"),
        ),
    ]
    loans = _in_region(_rows(Loan, reader), region).filter(
        is_ip_pledge=True, first_disbursed_on__gte=period.start, first_disbursed_on__lte=period.end
    )
    loan_totals = loans.aggregate(
        n=Count("pk"), fen=Sum("principal", output_field=BigIntegerField()), borrowers=Count("borrower", distinct=True)
    )
    figures += [
        ReportFigure("loans.count", "知识产权质押贷款放款", loan_totals["n"], "笔", sql_of(loans, "COUNT(*)")),
        ReportFigure(
            "loans.amount",
            "放款金额",
            _wan(loan_totals["fen"]),
            "万元",
            sql_of(loans, "SUM(principal) / 1000000 -- fen to 万元"),
        ),
        ReportFigure(
            "loans.borrowers", "获贷企业", loan_totals["borrowers"], "家", sql_of(loans, "COUNT(DISTINCT borrower_id)")
        ),
    ]
    overview = _target_overview(reader, period.end.year, region)
    if overview is not None:
        figures += _target_figures(overview)
    measures_qs = measure_rows(reader=reader, region=region, period=period)
    figures += measure_figures(measures_qs)
    cases = _in_region(_rows(TypicalCase, reader), region).filter(
        status=CaseStatus.PUBLISHED, published_on__gte=period.start, published_on__lte=period.end
    )
    figures.append(ReportFigure("cases.published", "发布典型案例", cases.count(), "个", sql_of(cases, "COUNT(*)")))
    findings = _in_region(_rows(Finding, reader), region).filter(
        first_seen_on__gte=period.start, first_seen_on__lte=period.end
    )
    confirmed = findings.filter(status__in=[FindingStatus.CONFIRMED, FindingStatus.REPORTED])
    figures += [
        ReportFigure("findings.raised", "新发现异常线索", findings.count(), "条", sql_of(findings, "COUNT(*)")),
        ReportFigure("findings.confirmed", "经核查确认的异常", confirmed.count(), "条", sql_of(confirmed, "COUNT(*)")),
    ]

    monthly_rows = (
        registrations.order_by()
        .annotate(month=TruncMonth("registered_on"))
        .values("month")
        .annotate(n=Count("pk"), fen=Sum("claim_amount", output_field=BigIntegerField()))
        .order_by("month")
    )
    by_month = {row["month"].strftime("%Y-%m"): (row["n"], row["fen"]) for row in monthly_rows}
    monthly: list[tuple[str, int, str]] = []
    cursor = period.start.replace(day=1)
    while cursor <= period.end:
        key = cursor.strftime("%Y-%m")
        n, fen = by_month.get(key, (0, 0))
        monthly.append((key, n, _wan(fen)))
        cursor = (cursor + datetime.timedelta(days=32)).replace(day=1)

    first_year = period.end.year - TREND_YEARS + 1
    trend_start = datetime.date(first_year, 1, 1)
    reg_years = (
        _in_region(_rows(PledgeRegistration, reader), region)
        .filter(registered_on__gte=trend_start, registered_on__lte=period.end)
        .order_by()
        .annotate(year=TruncYear("registered_on"))
        .values("year")
        .annotate(n=Count("pk"), fen=Sum("claim_amount", output_field=BigIntegerField()))
    )
    loan_years = (
        _in_region(_rows(Loan, reader), region)
        .filter(is_ip_pledge=True, first_disbursed_on__gte=trend_start, first_disbursed_on__lte=period.end)
        .order_by()
        .annotate(year=TruncYear("first_disbursed_on"))
        .values("year")
        .annotate(n=Count("pk"), fen=Sum("principal", output_field=BigIntegerField()))
    )
    reg_by_year = {row["year"].year: (row["n"], row["fen"]) for row in reg_years}
    loan_by_year = {row["year"].year: (row["n"], row["fen"]) for row in loan_years}
    yearly: list[tuple[int, int, str, int, str]] = []
    for year in range(first_year, period.end.year + 1):
        reg_n, reg_fen = reg_by_year.get(year, (0, 0))
        loan_n, loan_fen = loan_by_year.get(year, (0, 0))
        yearly.append((year, reg_n, _wan(reg_fen), loan_n, _wan(loan_fen)))
        figures.append(
            ReportFigure(
                f"trend.{year}.registrations",
                f"{year}年质押登记",
                reg_n,
                "笔",
                sql_of(reg_years, "year, COUNT(*), SUM(claim_amount)") + f" -- row {year}",
            )
        )
        figures.append(
            ReportFigure(
                f"trend.{year}.loans",
                f"{year}年质押贷款放款",
                loan_n,
                "笔",
                sql_of(loan_years, "year, COUNT(*), SUM(principal)") + f" -- row {year}",
            )
        )
    return SummaryData(
        figures=figures,
        monthly=monthly,
        yearly=yearly,
        measures=list(measures_qs[:MAX_MEASURES_IN_SUMMARY]),
        targets_available=overview is not None,
    )


def _set_fonts(document: Any) -> None:
    for style_name in ("Normal", "Title", "Heading 1", "Heading 2", "Table Grid", "Caption"):
        try:
            style = document.styles[style_name]
        except KeyError:
            continue
        style.font.name = DOCX_FONT
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        fonts.set(qn("w:eastAsia"), DOCX_FONT)
    document.styles["Normal"].font.size = Pt(11)


def _table(document: Any, header: list[str], rows: Iterable[list[str]], widths: list[float] | None = None) -> None:
    table = document.add_table(rows=1, cols=len(header))
    table.style = document.styles["Table Grid"]
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for values in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, values, strict=True):
            cell.text = text
    if widths:
        for row in table.rows:
            for cell, width in zip(row.cells, widths, strict=True):
                cell.width = Cm(width)


def _picture(document: Any, png: bytes, caption: str) -> None:
    document.add_picture(io.BytesIO(png), width=Cm(15))
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph = document.add_paragraph(caption)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER


def build_work_summary(*, reader: User | None, region: Region | None, period: Period, kind: str) -> BuiltReport:
    """季度/年度工作总结 as docx: an overview with the key figures, two charts, the measures in force, the targets
    (when area A's overview is installed), anomaly monitoring, and the appendix 数据来源 listing every figure with
    its query."""
    data = summary_data(reader=reader, region=region, period=period)
    by_key = {figure.key: figure for figure in data.figures}

    def f(key: str) -> str:
        return by_key[key].shown

    kind_label = "季度工作总结" if kind == ReportKind.QUARTERLY_SUMMARY else "年度工作总结"
    title = f"{region_name(region)}知识产权质押融资{period.label}{kind_label}"
    document = Document()
    _set_fonts(document)
    heading = document.add_heading(title, level=0)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph(
        f"统计期间：{period.start:%Y年%m月%d日}至{period.end:%Y年%m月%d日}。本总结中的每项数据均列于附录“数据来源”，并注明其查询。"
    )

    document.add_heading("一、总体情况", level=1)
    document.add_paragraph(
        f"统计期内，{'全国' if region is None else '全' + region.name}办理知识产权质押登记{f('registrations.count')}笔，"
        f"登记金额{f('registrations.amount')}，涉及出质企业{f('registrations.pledgors')}；"
        f"银行发放知识产权质押贷款{f('loans.count')}笔，放款金额{f('loans.amount')}，"
        f"惠及企业{f('loans.borrowers')}。"
    )
    _picture(
        document,
        charts.bar_chart(
            categories=[month for month, _, _ in data.monthly],
            series=[charts.Series(charts.Text("质押登记（笔）", "registrations"), [n for _, n, _ in data.monthly])],
            y_label=charts.Text("笔数", "count"),
        ),
        "图1　统计期内各月知识产权质押登记笔数",
    )
    _picture(
        document,
        charts.line_chart(
            categories=[str(year) for year, *_ in data.yearly],
            series=[
                charts.Series(
                    charts.Text("质押登记金额", "registered (10k CNY)"), [float(a) for _, _, a, _, _ in data.yearly]
                ),
                charts.Series(charts.Text("质押贷款放款金额", "loans (10k CNY)"), [float(a) for *_, a in data.yearly]),
            ],
            y_label=charts.Text("万元", "10k CNY"),
        ),
        f"图2　近{TREND_YEARS}年质押登记金额与质押贷款放款金额（万元）",
    )

    document.add_heading("二、“百园万企”目标进展", level=1)
    if data.targets_available:
        document.add_paragraph(
            f"{period.end.year}年，质押项目数和金额均同比增长20%以上的园区{f('targets.parks_reaching')}（目标100个）；"
            f"通过知识产权融资的新增中小微企业{f('targets.new_smes')}（目标10000家）。"
            f"质押专利实施率{f('targets.implementation_rate')}，质押登记平均办理时长{f('targets.turnaround_days_avg')}，"
            f"线上办理占比{f('targets.online_share')}，融资需求至放款天数中位数{f('targets.demand_to_loan_days_median')}。"
        )
    else:
        document.add_paragraph("目标测算模块尚未启用，本节数据暂缺。")

    document.add_heading("三、主要工作措施", level=1)
    document.add_paragraph(
        f"统计期内实施中的工作措施{f('measures.total')}，其中已完成{f('measures.completed')}，"
        f"公开展示{f('measures.public')}。"
    )
    labels = dict(MeasureCategory.choices)
    if data.measures:
        _table(
            document,
            ["类别", "措施名称", "实施单位", "实施日期", "取得成效"],
            (
                [
                    str(labels.get(m.category, m.category)),
                    m.title,
                    m.issuing_body,
                    f"{m.started_on:%Y-%m-%d}",
                    m.results or "—",
                ]
                for m in data.measures
            ),
            [2.5, 5, 3.5, 2.5, 4],
        )
    else:
        document.add_paragraph("统计期内无登记的工作措施。")

    document.add_heading("四、典型案例与异常监测", level=1)
    document.add_paragraph(
        f"统计期内发布典型案例{f('cases.published')}；监测发现异常线索{f('findings.raised')}，"
        f"经核查确认{f('findings.confirmed')}。"
    )

    document.add_heading("附录　数据来源", level=1)
    document.add_paragraph("下表列出本总结引用的每项数据、其数值及产生该数值的查询。")
    _table(
        document,
        ["编号", "指标", "数值", "单位", "查询"],
        (
            [fig.key, fig.label, "—" if fig.value is None else str(fig.value), fig.unit, fig.query]
            for fig in data.figures
        ),
        [3, 3, 2, 1.5, 7.5],
    )
    buffer = io.BytesIO()
    document.save(buffer)
    stamp = f"{period.start:%Y%m%d}-{period.end:%Y%m%d}"
    return BuiltReport(
        kind=kind,
        title=title,
        file_name=f"{kind_label}_{region_name(region)}_{stamp}.docx",
        content_type=CONTENT_TYPES[DOCX],
        content=buffer.getvalue(),
        figures=data.figures,
    )


def build(*, kind: str, reader: User | None, region: Region | None, period: Period) -> BuiltReport:
    if kind == ReportKind.MEASURES_TABLE:
        return build_measures_table(reader=reader, region=region, period=period)
    if kind in (ReportKind.QUARTERLY_SUMMARY, ReportKind.ANNUAL_SUMMARY):
        return build_work_summary(reader=reader, region=region, period=period, kind=kind)
    raise ValueError(f"unknown report kind {kind!r}")
