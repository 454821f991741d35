"""django-tables2 tables of the measures (工作措施) and generated reports (统计报告) pages."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from .models import GeneratedReport, MeasureEntry

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}


class MeasureTable(tables.Table):
    title = tables.Column(verbose_name=_("措施名称"))
    region = tables.Column(verbose_name=_("地区"), order_by=("region_code",))
    park = tables.Column(verbose_name=_("园区"), order_by=("park__name",), default="—")
    category = tables.Column(verbose_name=_("类别"))
    issuing_body = tables.Column(verbose_name=_("实施单位"))
    started_on = tables.DateColumn(verbose_name=_("实施日期"), format="Y-m-d")
    status = tables.Column(verbose_name=_("状态"))
    is_public = tables.BooleanColumn(verbose_name=_("公开"))

    class Meta:
        model = MeasureEntry
        fields = ("title", "region", "park", "category", "issuing_body", "started_on", "status", "is_public")
        attrs = TABLE_ATTRS
        empty_text = _("没有符合条件的工作措施。")
        row_attrs = {"class": "measure", "data-measure": lambda record: record.pk}

    def render_title(self, record: MeasureEntry) -> SafeString:
        return format_html(
            '<a class="measure-link" href="{}">{}</a><div class="small text-body-secondary">{}</div>',
            reverse("monitoring:measure_detail", args=[record.pk]),
            record.title,
            record.document_no,
        )

    def render_region(self, record: MeasureEntry) -> str:
        return record.region.name

    def render_park(self, record: MeasureEntry) -> str:
        return record.park.name if record.park else "—"


class ReportTable(tables.Table):
    title = tables.Column(verbose_name=_("标题"))
    kind = tables.Column(verbose_name=_("报告类型"))
    period = tables.Column(verbose_name=_("统计期间"), empty_values=(), order_by=("period_start",))
    figures = tables.Column(verbose_name=_("数据项"), empty_values=(), orderable=False)
    created_at = tables.DateTimeColumn(verbose_name=_("生成时间"), format="Y-m-d H:i")
    created_by_org = tables.Column(verbose_name=_("生成单位"), default="—")
    download = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta:
        model = GeneratedReport
        fields = ("title", "kind", "period", "figures", "created_at", "created_by_org", "download")
        attrs = TABLE_ATTRS
        empty_text = _("尚未生成报告。")
        row_attrs = {"class": "report", "data-report": lambda record: record.pk}

    def render_title(self, record: GeneratedReport) -> SafeString:
        return format_html(
            '<a class="report-link" href="{}">{}</a>',
            reverse("monitoring:report_detail", args=[record.pk]),
            record.title,
        )

    def render_period(self, record: GeneratedReport) -> str:
        return f"{record.period_start:%Y-%m-%d} – {record.period_end:%Y-%m-%d}"

    def render_figures(self, record: GeneratedReport) -> int:
        return len(record.figures or [])

    def render_download(self, record: GeneratedReport) -> SafeString:
        return format_html(
            '<a class="btn btn-sm btn-outline-primary report-download" href="{}"><i class="bi bi-download"></i> {}</a>',
            reverse("monitoring:report_download", args=[record.pk]),
            _("下载"),
        )
