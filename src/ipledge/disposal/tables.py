"""django-tables2 tables of the disposal pages (质物处置): cases and auction sessions."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ipledge.core.money import Money

from .choices import CaseStatus, DepositStatus, LotStatus, SessionStatus
from .models import AuctionSession, DisposalCase

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}
MONEY_ATTRS = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}

CASE_BADGES: dict[int, str] = {
    CaseStatus.OPENED: "text-bg-info",
    CaseStatus.ROUTE_PROPOSED: "text-bg-warning",
    CaseStatus.ROUTE_APPROVED: "text-bg-primary",
    CaseStatus.IN_PROGRESS: "text-bg-primary",
    CaseStatus.SOLD: "text-bg-success",
    CaseStatus.PAID: "text-bg-success",
    CaseStatus.TRANSFERRED: "text-bg-success",
    CaseStatus.DISTRIBUTED: "text-bg-success",
    CaseStatus.CLOSED: "text-bg-secondary",
}
SESSION_BADGES: dict[str, str] = {
    SessionStatus.SCHEDULED: "text-bg-primary",
    SessionStatus.CLOSED: "text-bg-secondary",
    SessionStatus.CANCELLED: "text-bg-light border",
}
LOT_BADGES: dict[str, str] = {
    LotStatus.LISTED: "text-bg-primary",
    LotStatus.SOLD: "text-bg-success",
    LotStatus.UNSOLD: "text-bg-warning",
    LotStatus.WITHDRAWN: "text-bg-secondary",
}
DEPOSIT_BADGES: dict[str, str] = {
    DepositStatus.PENDING: "text-bg-warning",
    DepositStatus.PAID: "text-bg-success",
    DepositStatus.APPLIED: "text-bg-primary",
    DepositStatus.REFUNDED: "text-bg-secondary",
}


def money_text(value: Money | None) -> str:
    return f"{value.amount:,.2f}" if isinstance(value, Money) else "—"


def badge(css: str, text: Any, kind: str) -> str:
    return format_html('<span class="badge {} {}">{}</span>', kind, css, text)


class CaseTable(tables.Table):
    reference = tables.LinkColumn("disposal:case_detail", args=[tables.A("pk")], verbose_name=_("案件编号"))
    loan = tables.Column(verbose_name=_("贷款"), order_by=("loan__reference",))
    pledgor = tables.Column(verbose_name=_("出质人"), order_by=("pledgor__name",))
    bank = tables.Column(verbose_name=_("质权人银行"), order_by=("bank__name",))
    route = tables.Column(verbose_name=_("处置方式"))
    platform = tables.Column(verbose_name=_("处置平台/收储机构"), order_by=("platform__name",))
    opened_on = tables.DateColumn(verbose_name=_("立案日"), format="Y-m-d")
    sale_price = tables.Column(verbose_name=_("成交价（元）"), attrs=MONEY_ATTRS)
    status = tables.Column(verbose_name=_("状态"))

    class Meta:
        model = DisposalCase
        fields = ("reference", "loan", "pledgor", "bank", "route", "platform", "opened_on", "sale_price", "status")
        attrs = TABLE_ATTRS
        order_by = "-opened_on"
        empty_text = _("没有处置案件。")
        row_attrs = {"class": "disposal-case", "data-case": lambda record: record.pk}

    def render_loan(self, value: Any) -> str:
        return str(value.reference)

    def render_pledgor(self, value: Any) -> str:
        return str(value.name)

    def render_bank(self, value: Any) -> str:
        return str(value.name)

    def render_route(self, record: DisposalCase) -> str:
        return str(record.get_route_display())

    def render_platform(self, value: Any) -> str:
        return str(value.name)

    def render_sale_price(self, value: Money) -> str:
        return money_text(value)

    def render_status(self, record: DisposalCase) -> str:
        return badge(CASE_BADGES.get(record.status, "text-bg-secondary"), record.get_status_display(), "case-status")


class SessionTable(tables.Table):
    title = tables.LinkColumn("disposal:session_detail", args=[tables.A("pk")], verbose_name=_("场次名称"))
    platform = tables.Column(verbose_name=_("处置平台"), order_by=("platform__name",))
    starts_at = tables.DateTimeColumn(verbose_name=_("开始时间"), format="Y-m-d H:i")
    ends_at = tables.DateTimeColumn(verbose_name=_("结束时间"), format="Y-m-d H:i")
    lot_count = tables.Column(verbose_name=_("标的数"), attrs={"td": {"class": "text-end"}})
    status = tables.Column(verbose_name=_("状态"))

    class Meta:
        model = AuctionSession
        fields = ("title", "platform", "starts_at", "ends_at", "lot_count", "status")
        attrs = TABLE_ATTRS
        order_by = "-starts_at"
        empty_text = _("没有拍卖场次。")
        row_attrs = {"class": "auction-session", "data-session": lambda record: record.pk}

    def render_platform(self, value: Any) -> str:
        return str(value.name)

    def render_status(self, record: AuctionSession) -> str:
        return badge(
            SESSION_BADGES.get(record.status, "text-bg-secondary"), record.get_status_display(), "session-status"
        )
