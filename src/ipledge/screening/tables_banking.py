"""django-tables2 tables of the banking pages: subscriptions, credit decisions and intended credit lines."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ipledge.core.money import Money

from .choices import DecisionOutcome, LineStatus
from .models import CreditDecision, IntendedCreditLine, Subscription

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}
MONEY_ATTRS = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}

LINE_BADGES: dict[str, str] = {
    LineStatus.ACTIVE: "text-bg-success",
    LineStatus.EXPIRED: "text-bg-secondary",
    LineStatus.WITHDRAWN: "text-bg-light border",
}
OUTCOME_BADGES: dict[str, str] = {
    DecisionOutcome.GRANTED: "text-bg-success",
    DecisionOutcome.DECLINED: "text-bg-secondary",
}


def money_text(value: Money | None) -> str:
    return f"{value.amount:,.2f}" if isinstance(value, Money) else "—"


def badge(css: str, text: Any, kind: str) -> SafeString:
    return format_html('<span class="badge {} {}">{}</span>', kind, css, text)


class SubscriptionTable(tables.Table):
    bank = tables.Column(verbose_name=_("银行"), order_by=("bank__name",))
    target = tables.Column(verbose_name=_("订阅范围"), empty_values=(), orderable=False)
    created_at = tables.DateTimeColumn(verbose_name=_("订阅时间"), format="Y-m-d H:i")
    created_by = tables.Column(verbose_name=_("订阅人"), orderable=False)
    is_active = tables.Column(verbose_name=_("状态"))
    actions = tables.TemplateColumn(
        template_name="screening/banking/partials/subscription_actions.html",
        verbose_name="",
        orderable=False,
    )

    class Meta:
        model = Subscription
        fields = ("bank", "target", "created_at", "created_by", "is_active", "actions")
        attrs = TABLE_ATTRS
        order_by = "-created_at"
        empty_text = _("尚未订阅任何园区或地区的白名单。")
        row_attrs = {"class": "subscription", "data-subscription": lambda record: record.pk}

    def render_bank(self, value: Any) -> str:
        return str(value.name)

    def render_target(self, record: Subscription) -> str:
        if record.park is not None:
            return format_html("{}：{}", _("园区"), record.park.name)
        region = record.region
        assert region is not None
        return format_html("{}：{}（{}）", _("地区"), region.full_name, region.code)

    def render_created_by(self, value: Any) -> str:
        return str(value.get_username()) if value is not None else "—"

    def render_is_active(self, value: bool) -> SafeString:
        if value:
            return badge("text-bg-success", _("有效"), "subscription-status")
        return badge("text-bg-secondary", _("已取消"), "subscription-status")


class DecisionTable(tables.Table):
    decided_on = tables.DateColumn(verbose_name=_("决定日"), format="Y-m-d")
    enterprise = tables.Column(verbose_name=_("企业"), order_by=("enterprise__name",))
    park = tables.Column(
        verbose_name=_("园区"),
        accessor="entry__version__whitelist__park",
        order_by=("entry__version__whitelist__park__name",),
    )
    bank = tables.Column(verbose_name=_("银行"), order_by=("bank__name",))
    outcome = tables.Column(verbose_name=_("决定"))
    amount = tables.Column(verbose_name=_("授信金额（元）"), attrs=MONEY_ATTRS)
    term_months = tables.Column(verbose_name=_("期限（月）"), attrs={"td": {"class": "text-end"}})
    renewal_without_repayment = tables.BooleanColumn(verbose_name=_("无还本续贷"), yesno="✔,")
    allocation = tables.Column(verbose_name=_("占用意向额度"), orderable=False)
    note = tables.Column(verbose_name=_("说明"), orderable=False)

    class Meta:
        model = CreditDecision
        fields = (
            "decided_on",
            "enterprise",
            "park",
            "bank",
            "outcome",
            "amount",
            "term_months",
            "renewal_without_repayment",
            "allocation",
            "note",
        )
        attrs = TABLE_ATTRS
        order_by = "-decided_on"
        empty_text = _("没有授信决定。")
        row_attrs = {"class": "credit-decision", "data-decision": lambda record: record.pk}

    def render_enterprise(self, value: Any) -> str:
        return str(value.name)

    def render_park(self, value: Any) -> str:
        return str(value.name)

    def render_bank(self, value: Any) -> str:
        return str(value.name)

    def render_outcome(self, record: CreditDecision) -> SafeString:
        return badge(OUTCOME_BADGES.get(record.outcome, "text-bg-secondary"), record.get_outcome_display(), "outcome")

    def render_amount(self, value: Money) -> str:
        return money_text(value)

    def render_allocation(self, value: Any) -> str:
        line = value.line
        return format_html(
            '<a href="{}">{}</a>', reverse("screening:line_detail", args=[line.pk]), line.ipc_group or line.brand
        )


class LineTable(tables.Table):
    basis_text = tables.Column(
        verbose_name=_("集群/品牌"), accessor="pk", order_by=("ipc_group", "brand"), linkify=False
    )
    bank = tables.Column(verbose_name=_("银行"), order_by=("bank__name",))
    park = tables.Column(verbose_name=_("园区"), order_by=("park__name",))
    amount = tables.Column(verbose_name=_("意向额度（元）"), attrs=MONEY_ATTRS)
    allocated = tables.Column(verbose_name=_("已分配（元）"), attrs=MONEY_ATTRS)
    utilised_total = tables.Column(verbose_name=_("已使用（元）"), attrs=MONEY_ATTRS)
    remaining = tables.Column(verbose_name=_("剩余可分配（元）"), accessor="pk", attrs=MONEY_ATTRS, orderable=False)
    valid_to = tables.DateColumn(verbose_name=_("有效期止"), format="Y-m-d")
    status = tables.Column(verbose_name=_("状态"))

    class Meta:
        model = IntendedCreditLine
        fields = (
            "basis_text",
            "bank",
            "park",
            "amount",
            "allocated",
            "utilised_total",
            "remaining",
            "valid_to",
            "status",
        )
        attrs = TABLE_ATTRS
        order_by = "-valid_to"
        empty_text = _("没有园区意向性授信额度。")
        row_attrs = {"class": "credit-line", "data-line": lambda record: record.pk}

    def render_basis_text(self, record: IntendedCreditLine) -> SafeString:
        label = record.ipc_group or record.brand
        return format_html(
            '<a href="{}">{}</a> <span class="text-body-secondary small">{}</span>',
            reverse("screening:line_detail", args=[record.pk]),
            label,
            record.get_basis_display(),
        )

    def render_bank(self, value: Any) -> str:
        return str(value.name)

    def render_park(self, value: Any) -> str:
        return str(value.name)

    def render_amount(self, value: Money) -> str:
        return money_text(value)

    def render_allocated(self, value: Money) -> str:
        return money_text(value)

    def render_utilised_total(self, value: Money) -> str:
        return money_text(value)

    def render_remaining(self, record: IntendedCreditLine) -> str:
        return money_text(record.amount - record.allocated)

    def render_status(self, record: IntendedCreditLine) -> SafeString:
        return badge(LINE_BADGES.get(record.status, "text-bg-secondary"), record.get_status_display(), "line-status")
