"""django-tables2 tables of the demand pages: the demand library, the bank's leads and the park's unmet demands."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ipledge.core.money import Money

from .choices import DemandStatus, LeadResponse
from .models import Demand, Match
from .selectors_demands import days_waiting

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}
MONEY_ATTRS = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}
NUM_ATTRS = {"td": {"class": "text-end"}, "th": {"class": "text-end"}}

STATUS_BADGES: dict[str, str] = {
    DemandStatus.OPEN: "text-bg-warning",
    DemandStatus.MATCHED: "text-bg-info",
    DemandStatus.IN_TALKS: "text-bg-primary",
    DemandStatus.FINANCED: "text-bg-success",
    DemandStatus.WITHDRAWN: "text-bg-light border",
    DemandStatus.EXPIRED: "text-bg-secondary",
}
RESPONSE_BADGES: dict[str, str] = {
    LeadResponse.NONE: "text-bg-light border",
    LeadResponse.INTERESTED: "text-bg-success",
    LeadResponse.CONTACTED: "text-bg-primary",
    LeadResponse.DECLINED: "text-bg-secondary",
}


def money_text(value: Money | None) -> str:
    return f"{value.amount:,.2f}" if isinstance(value, Money) else "—"


def wan_text(value: Money | None) -> str:
    """An amount in 万元 (ten thousand yuan), as the library lists it."""
    if not isinstance(value, Money):
        return "—"
    return f"{(value.amount / Decimal(10000)).quantize(Decimal('0.01')):,}"


def status_badge(demand: Demand) -> SafeString:
    return format_html(
        '<span class="badge demand-status {}" data-status="{}">{}</span>',
        STATUS_BADGES.get(demand.status, "text-bg-secondary"),
        demand.status,
        demand.get_status_display(),
    )


def response_badge(match: Match) -> SafeString:
    return format_html(
        '<span class="badge lead-response {}" data-response="{}">{}</span>',
        RESPONSE_BADGES.get(match.response, "text-bg-secondary"),
        match.response or "none",
        match.get_response_display(),
    )


class DemandTable(tables.Table):
    reference = tables.Column(verbose_name=_("需求编号"))
    enterprise = tables.Column(verbose_name=_("企业"), order_by=("enterprise__name",))
    amount = tables.Column(verbose_name=_("金额（万元）"), attrs=MONEY_ATTRS)
    term_months = tables.Column(verbose_name=_("期限（月）"), attrs=NUM_ATTRS)
    purpose = tables.Column(verbose_name=_("资金用途"))
    status = tables.Column(verbose_name=_("状态"))
    best = tables.Column(verbose_name=_("最佳匹配"), accessor="best_score", order_by=("-best_score",))
    updated_at = tables.DateTimeColumn(verbose_name=_("更新时间"), format="Y-m-d H:i")

    class Meta:
        model = Demand
        fields = ("reference", "enterprise", "amount", "term_months", "purpose", "status", "best", "updated_at")
        attrs = TABLE_ATTRS
        order_by = "-updated_at"
        empty_text = _("没有融资需求。")
        row_attrs = {"class": "demand-row", "data-demand": lambda record: record.pk}

    def render_reference(self, record: Demand) -> SafeString:
        return format_html(
            '<a href="{}" class="demand-link">{}</a>',
            reverse("market:demand_detail", args=[record.pk]),
            record.reference,
        )

    def render_enterprise(self, record: Demand) -> SafeString:
        source = "" if record.source == "enterprise" else record.get_source_display()
        return format_html('{} <span class="small text-body-secondary">{}</span>', record.enterprise.name, source)

    def render_amount(self, value: Money) -> str:
        return wan_text(value)

    def render_purpose(self, record: Demand) -> str:
        return str(record.get_purpose_display())

    def render_status(self, record: Demand) -> SafeString:
        return status_badge(record)

    def render_best(self, record: Demand) -> SafeString:
        name = getattr(record, "best_product_name", None)
        if not name:
            return format_html('<span class="text-body-secondary best-match">{}</span>', _("暂无符合的产品"))
        return format_html(
            '<span class="best-match">{} · {}</span> <span class="badge text-bg-light border">{}</span>'
            ' <span class="small text-body-secondary">{}</span>',
            getattr(record, "best_bank_name", ""),
            name,
            record.best_score,  # type: ignore[attr-defined]
            _("共 %(n)s 个产品符合") % {"n": getattr(record, "eligible_count", 0)},
        )


class LeadTable(tables.Table):
    score = tables.Column(verbose_name=_("匹配度"), attrs=NUM_ATTRS)
    demand = tables.Column(verbose_name=_("需求编号"), order_by=("demand__reference",))
    enterprise = tables.Column(
        verbose_name=_("企业"), accessor="demand__enterprise", order_by=("demand__enterprise__name",)
    )
    park = tables.Column(verbose_name=_("园区"), accessor="demand__park", order_by=("demand__park__name",))
    amount = tables.Column(verbose_name=_("金额（万元）"), accessor="demand__amount", attrs=MONEY_ATTRS)
    term = tables.Column(verbose_name=_("期限（月）"), accessor="demand__term_months", attrs=NUM_ATTRS)
    product = tables.Column(verbose_name=_("产品"), order_by=("product__name",))
    expected_approval = tables.Column(verbose_name=_("预计获批"), attrs=NUM_ATTRS)
    response = tables.Column(verbose_name=_("反馈"))
    waiting = tables.Column(verbose_name=_("发布天数"), accessor="demand__created_at", attrs=NUM_ATTRS)

    class Meta:
        model = Match
        fields = (
            "score",
            "demand",
            "enterprise",
            "park",
            "amount",
            "term",
            "product",
            "expected_approval",
            "response",
            "waiting",
        )
        attrs = TABLE_ATTRS
        empty_text = _("暂无线索：尚无向本行授权推送且与本行产品匹配的融资需求。")
        row_attrs = {"class": "lead-row", "data-lead": lambda record: record.pk}

    def render_demand(self, record: Match) -> SafeString:
        return format_html(
            '<a href="{}" class="lead-link">{}</a>',
            reverse("market:lead_detail", args=[record.pk]),
            record.demand.reference,
        )

    def render_enterprise(self, value: Any) -> str:
        return str(value.name)

    def render_park(self, value: Any) -> str:
        return str(value.name) if value is not None else "—"

    def render_amount(self, value: Money) -> str:
        return wan_text(value)

    def render_product(self, record: Match) -> str:
        return str(record.product.name)

    def render_expected_approval(self, value: Decimal) -> str:
        return f"{(value * 100).quantize(Decimal('1'))}%"

    def render_response(self, record: Match) -> SafeString:
        return response_badge(record)

    def render_waiting(self, record: Match) -> int:
        return days_waiting(record.demand)


class UnmetTable(tables.Table):
    reference = tables.Column(verbose_name=_("需求编号"))
    enterprise = tables.Column(verbose_name=_("企业"), order_by=("enterprise__name",))
    amount = tables.Column(verbose_name=_("金额（万元）"), attrs=MONEY_ATTRS)
    term_months = tables.Column(verbose_name=_("期限（月）"), attrs=NUM_ATTRS)
    status = tables.Column(verbose_name=_("状态"))
    why = tables.Column(verbose_name=_("未满足原因"), accessor="pk", orderable=False)
    waiting = tables.Column(verbose_name=_("已等待（天）"), accessor="created_at", attrs=NUM_ATTRS)

    class Meta:
        model = Demand
        fields = ("reference", "enterprise", "amount", "term_months", "status", "why", "waiting")
        attrs = TABLE_ATTRS
        empty_text = _("园区企业的融资需求均已有银行响应。")
        row_attrs = {"class": "unmet-row", "data-demand": lambda record: record.pk}

    def render_reference(self, record: Demand) -> SafeString:
        return format_html('<a href="{}">{}</a>', reverse("market:demand_detail", args=[record.pk]), record.reference)

    def render_enterprise(self, record: Demand) -> str:
        return str(record.enterprise.name)

    def render_amount(self, value: Money) -> str:
        return wan_text(value)

    def render_status(self, record: Demand) -> SafeString:
        return status_badge(record)

    def render_why(self, record: Demand) -> SafeString:
        if not getattr(record, "has_product", False):
            return format_html('<span class="unmet-why" data-why="no_product">{}</span>', _("无符合准入的产品"))
        return format_html('<span class="unmet-why" data-why="no_response">{}</span>', _("已匹配，银行尚未反馈"))

    def render_waiting(self, record: Demand) -> int:
        return days_waiting(record)
