"""django-tables2 tables of the pledge registration lists (sortable, paginated by the view)."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from ipledge.core.money import Money

from .choices import FilingStatus, RegistrationStatus
from .models import Alert, PledgeFiling, PledgeRegistration

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0"}

STATUS_BADGES: dict[str, str] = {
    FilingStatus.DRAFT: "text-bg-light",
    FilingStatus.AWAITING_PLEDGOR: "text-bg-warning",
    FilingStatus.SUBMITTED: "text-bg-info",
    FilingStatus.CORRECTION_REQUESTED: "text-bg-warning",
    FilingStatus.REGISTERED: "text-bg-success",
    FilingStatus.REFUSED: "text-bg-danger",
    FilingStatus.WITHDRAWN: "text-bg-secondary",
    RegistrationStatus.ACTIVE: "text-bg-success",
    RegistrationStatus.CANCELLED: "text-bg-secondary",
}


def status_badge(value: str, label: Any) -> str:
    return format_html('<span class="badge {}">{}</span>', STATUS_BADGES.get(value, "text-bg-secondary"), label)


def money_text(value: Money | None) -> str:
    return f"{value.amount:,.2f}" if isinstance(value, Money) else "—"


class FilingTable(tables.Table):
    pk = tables.LinkColumn("registration:filing_detail", args=[tables.A("pk")], verbose_name=_("申请号"))
    filing_type = tables.Column(verbose_name=_("申请类型"))
    status = tables.Column(verbose_name=_("状态"))
    pledgor = tables.Column(verbose_name=_("出质人"), order_by=("pledgor__name",))
    pledgee = tables.Column(verbose_name=_("质权人"), order_by=("pledgee__name",))
    claim_amount = tables.Column(verbose_name=_("债权数额（元）"), attrs={"td": {"class": "text-end text-nowrap"}})
    submitted_on = tables.DateColumn(verbose_name=_("受理日"), format="Y-m-d")
    due_on = tables.DateColumn(verbose_name=_("审查期限"), format="Y-m-d")
    created_at = tables.DateTimeColumn(verbose_name=_("创建时间"), format="Y-m-d H:i")

    class Meta:
        model = PledgeFiling
        fields = (
            "pk",
            "filing_type",
            "status",
            "pledgor",
            "pledgee",
            "claim_amount",
            "submitted_on",
            "due_on",
            "created_at",
        )
        attrs = TABLE_ATTRS
        order_by = "-created_at"
        empty_text = _("没有符合条件的申请。")

    def render_pk(self, value: int) -> str:
        return f"#{value}"

    def render_status(self, value: str, record: PledgeFiling) -> str:
        return status_badge(record.status, value)

    def render_claim_amount(self, value: Money) -> str:
        return money_text(value)


class QueueTable(tables.Table):
    """The examiner's workbench: submitted filings, the most urgent first."""

    pk = tables.LinkColumn("registration:filing_detail", args=[tables.A("pk")], verbose_name=_("申请号"))
    filing_type = tables.Column(verbose_name=_("申请类型"))
    due_on = tables.DateColumn(verbose_name=_("审查期限"), format="Y-m-d")
    days_left = tables.Column(verbose_name=_("剩余工作日"), empty_values=(), orderable=False)
    pledgor = tables.Column(verbose_name=_("出质人"), order_by=("pledgor__name",))
    pledgee = tables.Column(verbose_name=_("质权人"), order_by=("pledgee__name",))
    submitted_on = tables.DateColumn(verbose_name=_("受理日"), format="Y-m-d")
    refusals = tables.Column(verbose_name=_("不予登记事由"), attrs={"td": {"class": "text-end"}})

    class Meta:
        model = PledgeFiling
        fields = ("pk", "filing_type", "due_on", "days_left", "pledgor", "pledgee", "submitted_on", "refusals")
        attrs = TABLE_ATTRS
        empty_text = _("审查队列为空。")

    def __init__(self, *args: Any, days_left: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.days_left_of = days_left

    def render_pk(self, value: int) -> str:
        return f"#{value}"

    def render_days_left(self, record: PledgeFiling) -> str:
        days = self.days_left_of(record.due_on)
        if days is None:
            return "—"
        css = "text-bg-danger" if days < 0 else ("text-bg-warning" if days <= 1 else "text-bg-light")
        return format_html('<span class="badge {} days-left">{}</span>', css, days)

    def render_refusals(self, value: int) -> str:
        if not value:
            return mark_safe('<span class="text-body-secondary">0</span>')  # noqa: S308 - constant markup
        return format_html('<span class="badge text-bg-danger">{}</span>', value)


class RegistrationTable(tables.Table):
    registration_no = tables.LinkColumn(
        "registration:registration_detail", args=[tables.A("pk")], verbose_name=_("登记号")
    )
    status = tables.Column(verbose_name=_("状态"))
    pledgor = tables.Column(verbose_name=_("出质人"), order_by=("pledgor__name",))
    pledgee = tables.Column(verbose_name=_("质权人"), order_by=("pledgee__name",))
    claim_amount = tables.Column(verbose_name=_("债权数额（元）"), attrs={"td": {"class": "text-end text-nowrap"}})
    registered_on = tables.DateColumn(verbose_name=_("登记日"), format="Y-m-d")
    performance_end = tables.DateColumn(verbose_name=_("债务履行期限止"), format="Y-m-d")
    cancelled_on = tables.DateColumn(verbose_name=_("注销日"), format="Y-m-d")

    class Meta:
        model = PledgeRegistration
        fields = (
            "registration_no",
            "status",
            "pledgor",
            "pledgee",
            "claim_amount",
            "registered_on",
            "performance_end",
            "cancelled_on",
        )
        attrs = TABLE_ATTRS
        empty_text = _("没有符合条件的质押登记。")

    def render_status(self, value: str, record: PledgeRegistration) -> str:
        return status_badge(record.status, value)

    def render_claim_amount(self, value: Money) -> str:
        return money_text(value)


ALERT_BADGES = {"info": "text-bg-info", "warning": "text-bg-warning", "critical": "text-bg-danger"}


class AlertTable(tables.Table):
    created_on = tables.DateColumn(verbose_name=_("提醒日期"), format="Y-m-d")
    severity = tables.Column(verbose_name=_("级别"))
    kind = tables.Column(verbose_name=_("类型"))
    ip_right = tables.Column(verbose_name=_("知识产权"), order_by=("ip_right__number",))
    registration = tables.Column(verbose_name=_("质押登记"), order_by=("registration__registration_no",))
    message = tables.Column(verbose_name=_("内容"), orderable=False)
    due_on = tables.DateColumn(verbose_name=_("相关日期"), format="Y-m-d")
    organisation = tables.Column(verbose_name=_("接收机构"), order_by=("organisation__name",))
    actions = tables.TemplateColumn(
        template_name="registration/partials/alert_actions.html", verbose_name="", orderable=False
    )

    class Meta:
        model = Alert
        fields = (
            "created_on",
            "severity",
            "kind",
            "ip_right",
            "registration",
            "message",
            "due_on",
            "organisation",
            "actions",
        )
        attrs = TABLE_ATTRS
        empty_text = _("没有提醒。")

    def __init__(self, *args: Any, can_mark: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.can_mark = can_mark

    def render_severity(self, value: str, record: Alert) -> str:
        return format_html(
            '<span class="badge {}">{}</span>', ALERT_BADGES.get(record.severity, "text-bg-light"), value
        )

    def render_ip_right(self, value: Any) -> str:
        return format_html("<code>{}</code> {}", value.number, value.title)

    def render_registration(self, value: PledgeRegistration) -> str:
        url = reverse("registration:registration_detail", args=[value.pk])
        return format_html('<a href="{}">{}</a>', url, value.registration_no)
