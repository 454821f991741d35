"""django-tables2 tables of the risk-compensation pages (风险补偿): funds, enrolled loans, claims and payments."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ipledge.core.money import Money

from .choices import ClaimStatus, EnrolmentStatus, FundStatus, PaymentStatus, SchemeStatus, StressRunStatus
from .models import Claim, Enrolment, Fund, Payment
from .selectors import FundFigures

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}
MONEY_ATTRS = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}

FUND_BADGES: dict[str, str] = {
    FundStatus.ACTIVE: "text-bg-success",
    FundStatus.SUSPENDED: "text-bg-warning",
    FundStatus.CLOSED: "text-bg-secondary",
}
SCHEME_BADGES: dict[str, str] = {
    SchemeStatus.DRAFT: "text-bg-light border",
    SchemeStatus.PENDING: "text-bg-warning",
    SchemeStatus.PUBLISHED: "text-bg-success",
    SchemeStatus.RETIRED: "text-bg-secondary",
}
ENROLMENT_BADGES: dict[str, str] = {
    EnrolmentStatus.ACTIVE: "text-bg-success",
    EnrolmentStatus.CLAIMED: "text-bg-warning",
    EnrolmentStatus.RELEASED: "text-bg-secondary",
}
CLAIM_BADGES: dict[int, str] = {
    ClaimStatus.FILED: "text-bg-info",
    ClaimStatus.REVIEWED: "text-bg-warning",
    ClaimStatus.ADVANCE_PAID: "text-bg-primary",
    ClaimStatus.CLEARING: "text-bg-primary",
    ClaimStatus.CLEARED: "text-bg-success",
    ClaimStatus.REJECTED: "text-bg-secondary",
    ClaimStatus.WITHDRAWN: "text-bg-secondary",
}
PAYMENT_BADGES: dict[str, str] = {PaymentStatus.INSTRUCTED: "text-bg-warning", PaymentStatus.PAID: "text-bg-success"}
STRESS_BADGES: dict[str, str] = {
    StressRunStatus.QUEUED: "text-bg-light border",
    StressRunStatus.DONE: "text-bg-success",
    StressRunStatus.FAILED: "text-bg-danger",
}


def money_text(value: Money | None) -> str:
    return f"{value.amount:,.2f}" if isinstance(value, Money) else "—"


def percent_text(value: Decimal | float | None, places: int = 2) -> str:
    return "—" if value is None else f"{Decimal(str(value)) * 100:.{places}f}%"


def badge(css: str, text: Any, kind: str) -> str:
    return format_html('<span class="badge {} {}">{}</span>', kind, css, text)


class FundTable(tables.Table):
    code = tables.LinkColumn("compensation:fund_detail", args=[tables.A("pk")], verbose_name=_("基金编号"))
    name = tables.Column(verbose_name=_("基金名称"))
    manager = tables.Column(verbose_name=_("管理机构"), order_by=("manager__name",))
    region = tables.Column(verbose_name=_("适用地区"), order_by=("region__code",))
    capital = tables.Column(verbose_name=_("认缴规模（元）"), attrs=MONEY_ATTRS)
    status = tables.Column(verbose_name=_("状态"))
    balance = tables.Column(verbose_name=_("专户余额（元）"), empty_values=(), orderable=False, attrs=MONEY_ATTRS)
    covered = tables.Column(verbose_name=_("在池本金（元）"), empty_values=(), orderable=False, attrs=MONEY_ATTRS)
    leverage = tables.Column(
        verbose_name=_("放大倍数（已用/上限）"), empty_values=(), orderable=False, attrs={"td": {"class": "text-end"}}
    )

    class Meta:
        model = Fund
        fields = ("code", "name", "manager", "region", "capital", "status", "balance", "covered", "leverage")
        attrs = TABLE_ATTRS
        empty_text = _("没有可查看的风险补偿基金。")

    def __init__(self, *args: Any, figures_of: Callable[[Fund], FundFigures | None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._figures_of = figures_of

    def render_manager(self, value: Any) -> str:
        return str(value.name)

    def render_region(self, value: Any) -> str:
        return str(value.name)

    def render_capital(self, value: Money) -> str:
        return money_text(value)

    def render_status(self, record: Fund) -> str:
        return badge(FUND_BADGES.get(record.status, "text-bg-secondary"), record.get_status_display(), "fund-status")

    def render_balance(self, record: Fund) -> str:
        figures = self._figures_of(record)
        return "—" if figures is None else money_text(figures.balance)

    def render_covered(self, record: Fund) -> str:
        figures = self._figures_of(record)
        return "—" if figures is None else money_text(figures.covered_amount)

    def render_leverage(self, record: Fund) -> str:
        figures = self._figures_of(record)
        if figures is None:
            return "—"
        return f"{figures.leverage_used:.2f} / {record.leverage_cap:.2f}"


class EnrolmentTable(tables.Table):
    loan = tables.LinkColumn(
        "compensation:enrolment_detail", args=[tables.A("pk")], verbose_name=_("贷款"), order_by=("loan__reference",)
    )
    borrower = tables.Column(verbose_name=_("借款企业"), order_by=("borrower__name",))
    bank = tables.Column(verbose_name=_("贷款银行"), accessor="loan__bank", order_by=("loan__bank__name",))
    fund = tables.Column(verbose_name=_("基金"), order_by=("fund__code",))
    scheme_version = tables.Column(verbose_name=_("方案版本"), orderable=False)
    ip_share = tables.Column(verbose_name=_("知识产权占比"), attrs={"td": {"class": "text-end"}})
    covered_amount = tables.Column(verbose_name=_("在池本金（元）"), attrs=MONEY_ATTRS)
    enrolled_on = tables.DateColumn(verbose_name=_("入池日"), format="Y-m-d")
    status = tables.Column(verbose_name=_("状态"))

    class Meta:
        model = Enrolment
        fields = (
            "loan",
            "borrower",
            "bank",
            "fund",
            "scheme_version",
            "ip_share",
            "covered_amount",
            "enrolled_on",
            "status",
        )
        attrs = TABLE_ATTRS
        empty_text = _("没有入池贷款。")

    def render_loan(self, record: Enrolment) -> str:
        return str(record.loan.reference)

    def render_borrower(self, value: Any) -> str:
        return str(value.name)

    def render_bank(self, value: Any) -> str:
        return str(value.name)

    def render_fund(self, value: Any) -> str:
        return str(value.code)

    def render_scheme_version(self, record: Enrolment) -> str:
        version = record.scheme_version
        return f"{version.scheme.code} v{version.number}"

    def render_ip_share(self, value: Decimal) -> str:
        return percent_text(value, 0)

    def render_covered_amount(self, value: Money) -> str:
        return money_text(value)

    def render_status(self, record: Enrolment) -> str:
        return badge(
            ENROLMENT_BADGES.get(record.status, "text-bg-secondary"), record.get_status_display(), "enrolment-status"
        )


class ClaimTable(tables.Table):
    reference = tables.LinkColumn("compensation:claim_detail", args=[tables.A("pk")], verbose_name=_("申请编号"))
    loan = tables.Column(verbose_name=_("贷款"), order_by=("loan__reference",))
    borrower = tables.Column(
        verbose_name=_("借款企业"), accessor="enrolment__borrower", order_by=("enrolment__borrower__name",)
    )
    bank = tables.Column(verbose_name=_("贷款银行"), accessor="loan__bank", order_by=("loan__bank__name",))
    fund = tables.Column(verbose_name=_("基金"), order_by=("fund__code",))
    exposure = tables.Column(verbose_name=_("代偿敞口（元）"), attrs=MONEY_ATTRS)
    advance_total = tables.Column(verbose_name=_("先行拨付合计（元）"), attrs=MONEY_ATTRS)
    filed_on = tables.DateColumn(verbose_name=_("申请日"), format="Y-m-d")
    status = tables.Column(verbose_name=_("状态"))

    class Meta:
        model = Claim
        fields = ("reference", "loan", "borrower", "bank", "fund", "exposure", "advance_total", "filed_on", "status")
        attrs = TABLE_ATTRS
        order_by = "-filed_on"
        empty_text = _("没有代偿申请。")

    def render_loan(self, value: Any) -> str:
        return str(value.reference)

    def render_borrower(self, value: Any) -> str:
        return str(value.name)

    def render_bank(self, value: Any) -> str:
        return str(value.name)

    def render_fund(self, value: Any) -> str:
        return str(value.code)

    def render_exposure(self, value: Money) -> str:
        return money_text(value)

    def render_advance_total(self, value: Money) -> str:
        return money_text(value)

    def render_status(self, record: Claim) -> str:
        return badge(CLAIM_BADGES.get(record.status, "text-bg-secondary"), record.get_status_display(), "claim-status")


class PaymentTable(tables.Table):
    instructed_on = tables.DateColumn(verbose_name=_("指令日"), format="Y-m-d")
    fund = tables.Column(verbose_name=_("基金"), order_by=("fund__code",))
    claim = tables.Column(verbose_name=_("代偿申请"), order_by=("claim__reference",))
    purpose = tables.Column(verbose_name=_("用途"))
    payer = tables.Column(verbose_name=_("付款方"), order_by=("payer__name",))
    payee = tables.Column(verbose_name=_("收款方"), order_by=("payee__name",))
    amount = tables.Column(verbose_name=_("金额（元）"), attrs=MONEY_ATTRS)
    status = tables.Column(verbose_name=_("状态"))
    paid_on = tables.DateColumn(verbose_name=_("支付日"), format="Y-m-d")
    pay = tables.TemplateColumn(
        template_name="compensation/partials/pay_button.html",
        verbose_name="",
        orderable=False,
        empty_values=(),
        extra_context=lambda record, table, **kwargs: {
            "payable": record.pk in table.payable,
            "next_url": table.next_url,
        },
    )

    class Meta:
        model = Payment
        fields = ("instructed_on", "fund", "claim", "purpose", "payer", "payee", "amount", "status", "paid_on", "pay")
        attrs = TABLE_ATTRS
        order_by = "-instructed_on"
        empty_text = _("没有划款指令。")
        row_attrs = {"class": "payment", "data-payment": lambda record: record.pk}

    def __init__(self, *args: Any, payable: set[int], next_url: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.payable = payable
        self.next_url = next_url

    def render_fund(self, value: Any) -> str:
        return str(value.code)

    def render_claim(self, value: Any) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("compensation:claim_detail", args=[value.pk]), value.reference
        )

    def render_payer(self, record: Payment) -> str:
        return format_html(
            '{} <span class="text-body-secondary small">{}</span>', record.payer.name, record.get_payer_role_display()
        )

    def render_payee(self, record: Payment) -> str:
        return format_html(
            '{} <span class="text-body-secondary small">{}</span>', record.payee.name, record.get_payee_role_display()
        )

    def render_amount(self, value: Money) -> str:
        return money_text(value)

    def render_status(self, record: Payment) -> str:
        return badge(
            PAYMENT_BADGES.get(record.status, "text-bg-secondary"), record.get_status_display(), "payment-status"
        )
