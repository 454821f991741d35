"""django-tables2 tables of the loan pages (贷款): the loan list (also exported to xlsx), credit plans and bank NPL
reports."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ipledge.core.money import Money

from .choices import LoanClass, LoanStatus
from .models import BankNplReport, CreditPlan, Loan

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}

STATUS_BADGES: dict[int, str] = {
    LoanStatus.DRAFT: "text-bg-light",
    LoanStatus.SUBMITTED: "text-bg-info",
    LoanStatus.DUE_DILIGENCE: "text-bg-info",
    LoanStatus.PENDING_APPROVAL: "text-bg-warning",
    LoanStatus.APPROVED: "text-bg-primary",
    LoanStatus.CONTRACTED: "text-bg-primary",
    LoanStatus.ACTIVE: "text-bg-success",
    LoanStatus.DEFAULTED: "text-bg-danger",
    LoanStatus.WITHDRAWN: "text-bg-secondary",
    LoanStatus.REJECTED: "text-bg-secondary",
    LoanStatus.CLOSED: "text-bg-dark",
    LoanStatus.WRITTEN_OFF: "text-bg-dark",
    LoanStatus.CLOSED_BY_RENEWAL: "text-bg-dark",
}

CLASS_BADGES: dict[str, str] = {
    LoanClass.NORMAL: "text-bg-success",
    LoanClass.SPECIAL_MENTION: "text-bg-warning",
    LoanClass.SUBSTANDARD: "text-bg-danger",
    LoanClass.DOUBTFUL: "text-bg-danger",
    LoanClass.LOSS: "text-bg-dark",
}


def status_badge(loan: Loan) -> str:
    return format_html(
        '<span class="badge loan-status {}">{}</span>',
        STATUS_BADGES.get(loan.status, "text-bg-secondary"),
        loan.get_status_display(),
    )


def class_badge(loan: Loan) -> str:
    return format_html(
        '<span class="badge loan-class {}">{}</span>',
        CLASS_BADGES.get(loan.classification, "text-bg-secondary"),
        loan.get_classification_display(),
    )


def money_text(value: Money | None) -> str:
    return f"{value.amount:,.2f}" if isinstance(value, Money) else "—"


def percent_text(value: Decimal | None, places: int = 2) -> str:
    return "—" if value is None else f"{value * 100:.{places}f}%"


MONEY_ATTRS = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}


class LoanTable(tables.Table):
    reference = tables.LinkColumn("lending:loan_detail", args=[tables.A("pk")], verbose_name=_("贷款编号"))
    borrower = tables.Column(verbose_name=_("借款企业"), order_by=("borrower__name",))
    bank = tables.Column(verbose_name=_("贷款银行"), order_by=("bank__name",))
    status = tables.Column(verbose_name=_("状态"))
    classification = tables.Column(verbose_name=_("五级分类"))
    days_past_due = tables.Column(verbose_name=_("逾期天数"), attrs={"td": {"class": "text-end"}})
    requested_amount = tables.Column(verbose_name=_("申请金额（元）"), attrs=MONEY_ATTRS)
    principal = tables.Column(verbose_name=_("批准金额（元）"), attrs=MONEY_ATTRS)
    outstanding_principal = tables.Column(verbose_name=_("贷款余额（元）"), attrs=MONEY_ATTRS)
    first_disbursed_on = tables.DateColumn(verbose_name=_("首次放款日"), format="Y-m-d")
    maturity_date = tables.DateColumn(verbose_name=_("到期日"), format="Y-m-d")
    created_at = tables.DateColumn(verbose_name=_("申请日期"), format="Y-m-d")

    class Meta:
        model = Loan
        fields = (
            "reference",
            "borrower",
            "bank",
            "status",
            "classification",
            "days_past_due",
            "requested_amount",
            "principal",
            "outstanding_principal",
            "first_disbursed_on",
            "maturity_date",
            "created_at",
        )
        attrs = TABLE_ATTRS
        order_by = "-created_at"
        empty_text = _("没有符合条件的贷款。")

    def render_borrower(self, value: Any) -> str:
        return str(value.name)

    def render_bank(self, value: Any) -> str:
        return str(value.name)

    def render_status(self, record: Loan) -> str:
        return status_badge(record)

    def render_classification(self, record: Loan) -> str:
        return class_badge(record)

    def render_requested_amount(self, value: Money) -> str:
        return money_text(value)

    def render_principal(self, value: Money) -> str:
        return money_text(value)

    def render_outstanding_principal(self, value: Money) -> str:
        return money_text(value)


# The xlsx export of the loan list: (header, value of a loan). Money stays exact: written as a Decimal in yuan.
EXPORT_COLUMNS: tuple[tuple[Any, Any], ...] = (
    (_("贷款编号"), lambda loan: loan.reference),
    (_("借款企业"), lambda loan: loan.borrower.name),
    (_("统一社会信用代码"), lambda loan: loan.borrower.uscc),
    (_("贷款银行"), lambda loan: loan.bank.name),
    (_("所在园区"), lambda loan: loan.park.name if loan.park else ""),
    (_("状态"), lambda loan: loan.get_status_display()),
    (_("五级分类"), lambda loan: loan.get_classification_display()),
    (_("逾期天数"), lambda loan: loan.days_past_due),
    (_("申请金额（元）"), lambda loan: loan.requested_amount.amount),
    (_("批准金额（元）"), lambda loan: loan.principal.amount if loan.principal else None),
    (_("执行年利率"), lambda loan: loan.annual_rate),
    (_("累计放款（元）"), lambda loan: loan.disbursed_amount.amount),
    (_("贷款余额（元）"), lambda loan: loan.outstanding_principal.amount),
    (_("首次放款日"), lambda loan: loan.first_disbursed_on),
    (_("到期日"), lambda loan: loan.maturity_date),
    (_("结清日"), lambda loan: loan.closed_on),
    (_("申请日期"), lambda loan: loan.created_at.date()),
)


class CreditPlanTable(tables.Table):
    bank = tables.Column(verbose_name=_("银行"), order_by=("bank__name",))
    year = tables.Column(verbose_name=_("年度"))
    planned_amount = tables.Column(verbose_name=_("计划投放金额（元）"), attrs=MONEY_ATTRS)
    planned_clients = tables.Column(verbose_name=_("计划服务户数"), attrs={"td": {"class": "text-end"}})
    note = tables.Column(verbose_name=_("说明"), orderable=False)

    class Meta:
        model = CreditPlan
        fields = ("bank", "year", "planned_amount", "planned_clients", "note")
        attrs = TABLE_ATTRS
        empty_text = _("还没有单列信贷计划。")

    def render_bank(self, value: Any) -> str:
        return str(value.name)

    def render_planned_amount(self, value: Money) -> str:
        return money_text(value)


class NplReportTable(tables.Table):
    bank = tables.Column(verbose_name=_("银行"), order_by=("bank__name",))
    as_of = tables.DateColumn(verbose_name=_("统计日"), format="Y-m-d")
    npl_ratio = tables.Column(verbose_name=_("全行不良贷款率"), attrs={"td": {"class": "text-end"}})

    class Meta:
        model = BankNplReport
        fields = ("bank", "as_of", "npl_ratio")
        attrs = TABLE_ATTRS
        empty_text = _("还没有全行不良率报告。")

    def render_bank(self, value: Any) -> str:
        return str(value.name)

    def render_npl_ratio(self, value: Decimal) -> str:
        return percent_text(value)
