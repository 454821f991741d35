"""django-tables2 tables of the valuation pages."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .choices import BatchStatus, ValuationStatus
from .models import RevaluationBatch, Valuation

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}

STATUS_BADGES = {
    ValuationStatus.COMPUTED: "text-bg-light border",
    ValuationStatus.SUBMITTED: "text-bg-warning",
    ValuationStatus.SIGNED_OFF: "text-bg-success",
    ValuationStatus.RETURNED: "text-bg-secondary",
}
BATCH_BADGES = {
    BatchStatus.QUEUED: "text-bg-light border",
    BatchStatus.RUNNING: "text-bg-info",
    BatchStatus.DONE: "text-bg-success",
    BatchStatus.FAILED: "text-bg-danger",
}


def grade_badge(grade: str) -> str:
    tone = "success" if grade in ("AAA", "AA", "A") else "primary" if grade in ("BBB", "BB") else "warning"
    if grade in ("CC", "C"):
        tone = "danger"
    return format_html('<span class="badge text-bg-{} grade-badge">{}</span>', tone, grade)


def yuan(value: Any) -> str:
    return "—" if value is None else f"¥{value.amount:,.0f}"


class ValuationTable(tables.Table):
    subject = tables.Column(verbose_name=_("评估对象"), empty_values=(), orderable=False)
    version = tables.Column(verbose_name=_("版本"))
    valuation_date = tables.DateColumn(verbose_name=_("评估基准日"), format="Y-m-d")
    score = tables.Column(verbose_name=_("评分"))
    grade = tables.Column(verbose_name=_("等级"))
    p50 = tables.Column(verbose_name=_("价值区间（P10–P90）"), empty_values=())
    loan_ceiling = tables.Column(verbose_name=_("建议贷款上限"))
    status = tables.Column(verbose_name=_("状态"))

    class Meta:
        model = Valuation
        fields = ("subject", "version", "valuation_date", "score", "grade", "p50", "loan_ceiling", "status")
        attrs = TABLE_ATTRS
        order_by = ("-valuation_date",)

    def render_subject(self, record: Valuation) -> str:
        url = reverse("valuation:detail", args=[record.pk])
        if record.ip_right_id and record.ip_right is not None:
            return format_html(
                '<a href="{}"><code>{}</code></a> {}', url, record.ip_right.number, record.ip_right.title
            )
        name = record.bundle.name if record.bundle is not None else ""
        return format_html('<a href="{}"><i class="bi bi-collection"></i> {}</a>', url, name)

    def render_grade(self, value: str) -> str:
        return grade_badge(value)

    def render_p50(self, record: Valuation) -> str:
        return format_html(
            '<span class="text-nowrap">{} <span class="text-body-secondary small">({} – {})</span></span>',
            yuan(record.p50),
            yuan(record.p10),
            yuan(record.p90),
        )

    def render_loan_ceiling(self, value: Any) -> str:
        return yuan(value)

    def render_status(self, record: Valuation) -> str:
        return format_html(
            '<span class="badge {}">{}</span>',
            STATUS_BADGES.get(record.status, "text-bg-secondary"),  # type: ignore[call-overload]
            record.get_status_display(),
        )


class BatchTable(tables.Table):
    id = tables.Column(verbose_name=_("编号"), linkify=("valuation:batch_detail", {"pk": tables.A("pk")}))
    scope = tables.Column(verbose_name=_("范围"), empty_values=(), orderable=False)
    status = tables.Column(verbose_name=_("状态"))
    progress = tables.Column(verbose_name=_("进度"), empty_values=(), orderable=False)
    created_at = tables.DateTimeColumn(verbose_name=_("提交时间"), format="Y-m-d H:i")

    class Meta:
        model = RevaluationBatch
        fields = ("id", "scope", "status", "progress", "created_at")
        attrs = TABLE_ATTRS

    def render_scope(self, record: RevaluationBatch) -> str:
        return str(record.park or record.region or "")

    def render_status(self, record: RevaluationBatch) -> str:
        return format_html(
            '<span class="badge {}">{}</span>',
            BATCH_BADGES.get(record.status, "text-bg-secondary"),  # type: ignore[call-overload]
            record.get_status_display(),
        )

    def render_progress(self, record: RevaluationBatch) -> str:
        return f"{record.done:,} / {record.total:,}"
