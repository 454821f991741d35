"""django-tables2 tables of the plans area: plans (省级行动方案), the task ledger (任务台账), reminders (工作提醒) and
key-park designations (重点 / 示范园区认定)."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from .choices import DesignationStatus, PlanStatus, TaskStatus
from .models import KeyParkDesignation, PlanTask, ProvincialPlan, Reminder

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}

PLAN_BADGES: dict[str, str] = {
    PlanStatus.DRAFT: "text-bg-light border",
    PlanStatus.ISSUED: "text-bg-primary",
    PlanStatus.SUBMITTED: "text-bg-success",
}
TASK_BADGES: dict[str, str] = {
    TaskStatus.NOT_STARTED: "text-bg-light border",
    TaskStatus.IN_PROGRESS: "text-bg-info",
    TaskStatus.DONE: "text-bg-success",
    TaskStatus.CANCELLED: "text-bg-secondary",
}


def plan_badge(plan: ProvincialPlan) -> SafeString:
    return format_html(
        '<span class="badge plan-status {}">{}</span>', PLAN_BADGES.get(plan.status, ""), plan.get_status_display()
    )


def task_badge(task: PlanTask) -> SafeString:
    badge = format_html(
        '<span class="badge task-status {}">{}</span>', TASK_BADGES.get(task.status, ""), task.get_status_display()
    )
    if getattr(task, "is_overdue", False):
        badge = format_html('{} <span class="badge text-bg-danger task-overdue">{}</span>', badge, _("逾期"))
    return badge


class PlanTable(tables.Table):
    title = tables.Column(verbose_name=_("方案名称"), linkify=("monitoring:plan_detail", {"pk": tables.A("pk")}))
    region = tables.Column(verbose_name=_("省份"), order_by=("region__code",))
    years = tables.Column(verbose_name=_("实施年度"), empty_values=(), order_by=("year_from",))
    status = tables.Column(verbose_name=_("状态"))
    issued_on = tables.DateColumn(verbose_name=_("印发日期"), format="Y-m-d")
    submission_due_on = tables.DateColumn(verbose_name=_("报送期限"), format="Y-m-d")
    submitted_on = tables.DateColumn(verbose_name=_("报送日期"), format="Y-m-d")
    tasks = tables.Column(verbose_name=_("任务（完成/逾期）"), empty_values=(), orderable=False)

    class Meta:
        model = ProvincialPlan
        fields = ("title", "region", "years", "status", "issued_on", "submission_due_on", "submitted_on", "tasks")
        attrs = TABLE_ATTRS
        empty_text = _("暂无行动方案。")

    def render_years(self, record: ProvincialPlan) -> str:
        return f"{record.year_from}–{record.year_to}"

    def render_status(self, record: ProvincialPlan) -> SafeString:
        return plan_badge(record)

    def render_tasks(self, record: Any) -> SafeString:
        overdue = getattr(record, "overdue_count", 0)
        return format_html(
            "{} ({} / {}){}",
            getattr(record, "task_count", 0),
            getattr(record, "done_count", 0),
            overdue,
            format_html(' <i class="bi bi-exclamation-circle text-danger" title="{}"></i>', _("有逾期任务"))
            if overdue
            else "",
        )


class LedgerTable(tables.Table):
    number = tables.Column(verbose_name=_("序号"))
    title = tables.Column(verbose_name=_("任务"))
    requirement = tables.Column(verbose_name=_("对应要求"))
    owner = tables.Column(verbose_name=_("责任单位"), empty_values=(), orderable=False)
    due_on = tables.DateColumn(verbose_name=_("完成时限"), format="Y-m-d")
    status = tables.Column(verbose_name=_("状态"))
    progress = tables.Column(verbose_name=_("进度"))
    completed_on = tables.DateColumn(verbose_name=_("完成日期"), format="Y-m-d")
    evidence = tables.Column(verbose_name=_("佐证材料"), empty_values=(), orderable=False)
    actions = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta:
        model = PlanTask
        fields = ("number", "title", "requirement", "owner", "due_on", "status", "progress", "completed_on")
        attrs = {**TABLE_ATTRS, "class": "table table-sm table-hover align-middle mb-0 ledger-table"}
        row_attrs = {"class": lambda record: "table-danger" if getattr(record, "is_overdue", False) else ""}
        orderable = False
        empty_text = _("台账暂无任务。")

    def render_owner(self, record: PlanTask) -> str:
        return str(record.owner_org) if record.owner_org_id else record.owner_name

    def render_status(self, record: PlanTask) -> SafeString:
        return task_badge(record)

    def render_progress(self, value: int) -> str:
        return f"{value}%"

    def render_evidence(self, record: PlanTask) -> SafeString | str:
        parts = []
        if record.evidence:
            parts.append(format_html('<span class="small">{}</span>', record.evidence[:60]))
        if record.evidence_file:
            parts.append(
                format_html(
                    '<a class="small task-evidence-link" href="{}"><i class="bi bi-paperclip"></i> {}</a>',
                    reverse("monitoring:task_evidence", args=[record.pk]),
                    record.evidence_file_name or _("附件"),
                )
            )
        return format_html("<br>".join(["{}"] * len(parts)), *parts) if parts else "—"

    def render_actions(self, record: PlanTask) -> SafeString:
        return format_html(
            '<a class="btn btn-sm btn-outline-primary task-edit-link" href="{}">{}</a>',
            reverse("monitoring:task_edit", args=[record.pk]),
            _("更新"),
        )


class ReminderTable(tables.Table):
    kind = tables.Column(verbose_name=_("类型"))
    message = tables.Column(verbose_name=_("内容"), empty_values=())
    recipient = tables.Column(verbose_name=_("提醒对象"))
    due_on = tables.DateColumn(verbose_name=_("期限"), format="Y-m-d")
    raised_on = tables.DateColumn(verbose_name=_("提醒日期"), format="Y-m-d")
    resolved_on = tables.DateColumn(verbose_name=_("解除日期"), format="Y-m-d")

    class Meta:
        model = Reminder
        fields = ("kind", "message", "recipient", "due_on", "raised_on", "resolved_on")
        attrs = TABLE_ATTRS
        empty_text = _("暂无提醒。")

    def render_kind(self, record: Reminder) -> SafeString:
        css = "text-bg-danger" if record.kind.endswith("overdue") else "text-bg-warning"
        if record.resolved_on:
            css = "text-bg-secondary"
        return format_html('<span class="badge reminder-kind {}">{}</span>', css, record.get_kind_display())

    def render_message(self, record: Reminder) -> SafeString:
        target = None
        if record.task_id:
            target = reverse("monitoring:task_edit", args=[record.task_id])
        elif record.plan_id:
            target = reverse("monitoring:plan_detail", args=[record.plan_id])
        elif record.kind == "key_parks_short":
            target = reverse("monitoring:key_parks") + f"?province={record.region_code}"
        if target is None:
            return format_html("{}", record.message)
        return format_html('<a href="{}">{}</a>', target, record.message)


class DesignationTable(tables.Table):
    park = tables.Column(verbose_name=_("园区"), order_by=("park__name",))
    region_code = tables.Column(verbose_name=_("所在地区"), empty_values=())
    year = tables.Column(verbose_name=_("年度"))
    kind = tables.Column(verbose_name=_("类型"))
    status = tables.Column(verbose_name=_("状态"))
    designated_by = tables.Column(verbose_name=_("认定机关"))
    designated_on = tables.DateColumn(verbose_name=_("认定日期"), format="Y-m-d")
    revoked = tables.Column(verbose_name=_("撤销"), empty_values=(), orderable=False)

    class Meta:
        model = KeyParkDesignation
        fields = ("park", "region_code", "year", "kind", "status", "designated_by", "designated_on", "revoked")
        attrs = TABLE_ATTRS
        empty_text = _("暂无认定。")

    def render_region_code(self, record: KeyParkDesignation) -> str:
        return record.park.region.name if record.park.region_id else record.region_code

    def render_status(self, record: KeyParkDesignation) -> SafeString:
        css = "text-bg-success" if record.status == DesignationStatus.ACTIVE else "text-bg-secondary"
        return format_html('<span class="badge designation-status {}">{}</span>', css, record.get_status_display())

    def render_revoked(self, record: KeyParkDesignation) -> str:
        if record.status != DesignationStatus.REVOKED:
            return "—"
        return f"{record.revoked_on:%Y-%m-%d} {record.revoke_reason}"
