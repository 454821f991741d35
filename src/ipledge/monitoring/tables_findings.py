"""django-tables2 tables of the anomaly pages: findings, scans and bulletins."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from .choices import FindingSeverity, FindingStatus, ScanStatus
from .models import AnomalyScan, Bulletin, Finding

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}

SEVERITY_BADGES: dict[str, str] = {
    FindingSeverity.HIGH: "text-bg-danger",
    FindingSeverity.MEDIUM: "text-bg-warning",
    FindingSeverity.LOW: "text-bg-info",
}
STATUS_BADGES: dict[str, str] = {
    FindingStatus.OPEN: "text-bg-warning",
    FindingStatus.ASSIGNED: "text-bg-info",
    FindingStatus.INVESTIGATING: "text-bg-primary",
    FindingStatus.CONFIRMED: "text-bg-danger",
    FindingStatus.DISMISSED: "text-bg-light border",
    FindingStatus.REPORTED: "text-bg-dark",
    FindingStatus.CLEARED: "text-bg-secondary",
}
SCAN_BADGES: dict[str, str] = {
    ScanStatus.RUNNING: "text-bg-info",
    ScanStatus.FINISHED: "text-bg-success",
    ScanStatus.FAILED: "text-bg-danger",
}


def badge(css: str, text: Any) -> SafeString:
    return format_html('<span class="badge {}">{}</span>', css, text)


class FindingTable(tables.Table):
    id = tables.Column(verbose_name="#", linkify=lambda record: reverse("monitoring:finding_detail", args=[record.pk]))
    rule = tables.Column(verbose_name=_("规则"))
    severity = tables.Column(verbose_name=_("严重程度"))
    title = tables.Column(
        verbose_name=_("标题"), linkify=lambda record: reverse("monitoring:finding_detail", args=[record.pk])
    )
    region_code = tables.Column(verbose_name=_("地区"))
    status = tables.Column(verbose_name=_("状态"))
    assignee = tables.Column(verbose_name=_("核查人"), default="—")
    due_on = tables.DateColumn(verbose_name=_("期限"), format="Y-m-d", default="—")
    last_seen_on = tables.DateColumn(verbose_name=_("最近发现"), format="Y-m-d")

    class Meta:
        model = Finding
        fields = ("id", "rule", "severity", "title", "region_code", "status", "assignee", "due_on", "last_seen_on")
        attrs = TABLE_ATTRS
        empty_text = _("没有符合条件的异常线索。")

    def render_rule(self, record: Finding) -> str:
        return record.get_rule_display()

    def render_severity(self, record: Finding) -> SafeString:
        return badge(SEVERITY_BADGES.get(record.severity, "text-bg-light"), record.get_severity_display())

    def render_status(self, record: Finding) -> SafeString:
        return badge(STATUS_BADGES.get(record.status, "text-bg-light"), record.get_status_display())

    def render_assignee(self, record: Finding) -> str:
        user = record.assignee
        return (user.get_full_name() or user.username) if user else "—"


class ScanTable(tables.Table):
    id = tables.Column(verbose_name="#")
    as_of = tables.DateColumn(verbose_name=_("数据截止日"), format="Y-m-d")
    status = tables.Column(verbose_name=_("状态"))
    found = tables.Column(verbose_name=_("命中"), empty_values=(), orderable=False)
    new = tables.Column(verbose_name=_("新增"), empty_values=(), orderable=False)
    suppressed = tables.Column(verbose_name=_("已排除不再提示"), empty_values=(), orderable=False)
    cleared = tables.Column(verbose_name=_("已消除"), empty_values=(), orderable=False)
    started_at = tables.DateTimeColumn(verbose_name=_("开始时间"), format="Y-m-d H:i")
    started_by = tables.Column(verbose_name=_("发起人"), default=_("定时任务"))

    class Meta:
        model = AnomalyScan
        fields = ("id", "as_of", "status", "found", "new", "suppressed", "cleared", "started_at", "started_by")
        attrs = TABLE_ATTRS
        empty_text = _("尚未运行异常扫描。")

    def _total(self, record: AnomalyScan, key: str) -> int:
        return sum(int(v.get(key, 0)) for v in (record.counts or {}).values())

    def render_status(self, record: AnomalyScan) -> SafeString:
        return badge(SCAN_BADGES.get(record.status, "text-bg-light"), record.get_status_display())

    def render_found(self, record: AnomalyScan) -> int:
        return self._total(record, "found")

    def render_new(self, record: AnomalyScan) -> int:
        return self._total(record, "new")

    def render_suppressed(self, record: AnomalyScan) -> int:
        return self._total(record, "suppressed")

    def render_cleared(self, record: AnomalyScan) -> int:
        return self._total(record, "cleared")


class BulletinTable(tables.Table):
    number = tables.Column(
        verbose_name=_("通报编号"), linkify=lambda record: reverse("monitoring:bulletin_detail", args=[record.pk])
    )
    title = tables.Column(verbose_name=_("标题"))
    issued_by = tables.Column(verbose_name=_("通报机关"))
    issued_on = tables.DateColumn(verbose_name=_("通报日期"), format="Y-m-d")
    region_code = tables.Column(verbose_name=_("地区"))

    class Meta:
        model = Bulletin
        fields = ("number", "title", "issued_by", "issued_on", "region_code")
        attrs = TABLE_ATTRS
        empty_text = _("尚无通报。")
