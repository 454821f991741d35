"""Loan pages (贷款): the list with filters and xlsx export, the application form, the loan page with its position,
schedule, transactions, covers, investment links (投贷联动), collateral and classification history, and one POST
route per lifecycle action; plus the banks' credit plans (单列信贷计划) and bank-wide NPL reports.

Views are thin. Reads start from `restrict()` (a loan of another bank answers 404 exactly like a missing one);
every write runs one service of `ipledge.lending.services` or `ipledge.lending.classification` in a transaction,
and a `ValidationError` from it is shown next to the field it names. The action panel offers only the actions
valid for the loan's status and the user's role; the services check both again.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from ipledge.core import exports
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.forms import attach_errors
from ipledge.core.models import AuditEvent, Organisation, User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.core.selectors import scoped_get
from ipledge.core.tables import AuditTable
from ipledge.core.views import AuthenticatedRequest
from ipledge.registration.choices import RegistrationStatus
from ipledge.registration.models import PledgeFiling, PledgeRegistration
from ipledge.registration.selectors import resolve_pledgor
from ipledge.registration.views import pledgees_for
from ipledge.registry.models import Enterprise, IPRight

from . import classification as lending_classification
from . import services
from .choices import LIVE_STATUSES, DueDiligenceItem, LoanStatus
from .filtersets import LoanFilterSet
from .forms import (
    ApplyForm,
    CollateralForm,
    ContractForm,
    CoverForm,
    CreditPlanForm,
    DecisionForm,
    DefaultForm,
    DueDiligenceForm,
    EmptyForm,
    ImplementationForm,
    InvestmentForm,
    MoneyMovementForm,
    NplReportForm,
    OverrideForm,
    PledgeLinkForm,
    ReasonForm,
    RejectForm,
    RenewForm,
    ReverseForm,
    RiskFlagsForm,
    TermsForm,
    fraction,
    money,
)
from .models import (
    COVER_PROVIDER_KINDS,
    BankNplReport,
    ClassificationChange,
    CreditPlan,
    ImplementationReport,
    InvestmentLink,
    Loan,
    LoanCollateral,
    LoanCover,
    LoanTransaction,
)
from .selectors import LoanPosition, loan_position
from .tables import (
    CLASS_BADGES,
    EXPORT_COLUMNS,
    STATUS_BADGES,
    CreditPlanTable,
    LoanTable,
    NplReportTable,
    percent_text,
)

PER_PAGE = 25
# One workbook is built in memory: beyond this many loans the user narrows the filter first.
EXPORT_MAX_ROWS = 100_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ENDED_STATUSES = frozenset(
    {
        LoanStatus.WITHDRAWN,
        LoanStatus.REJECTED,
        LoanStatus.CLOSED,
        LoanStatus.WRITTEN_OFF,
        LoanStatus.CLOSED_BY_RENEWAL,
    }
)
OPEN_STATUSES = frozenset(LoanStatus) - ENDED_STATUSES


def _kind(user: Any) -> str | None:
    scope = scope_for(user)
    return None if scope is None else scope.kind


def _may(user: Any, action: str) -> bool:
    scope = scope_for(user)
    return scope is not None and scope.may(action)


def _is_lender(user: Any, loan: Loan) -> bool:
    """The user works in the lending bank's tree (the handling branch or an office above it)."""
    scope = scope_for(user)
    if scope is None:
        return False
    if scope.is_platform:
        return True
    return scope.kind == OrganisationKind.BANK and loan.bank.tree_path.startswith(scope.org_tree_path)


def _is_borrower(user: Any, loan: Loan) -> bool:
    return user.organisation_id is not None and loan.borrower.organisation_id == user.organisation_id


def _paged(request: AuthenticatedRequest, table: Any) -> Any:
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return table


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _workbook(sheet: str, headers: list[Any], rows: list[list[Any]]) -> bytes:
    """One sheet with a header row; dates as dates and amounts as exact decimals (never via float text)."""
    buffer = io.BytesIO()
    book = exports.workbook(buffer, {"in_memory": True, "default_date_format": "yyyy-mm-dd"})
    page = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    amount = book.add_format({"num_format": "#,##0.00"})
    page.write_row(0, 0, [str(h) for h in headers], bold)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, Decimal):
                # xlsx stores numbers as doubles; amounts below 2^53 fen keep their exact two places.
                page.write_number(r, c, float(value), amount)
            elif value is None:
                page.write_blank(r, c, None)
            else:
                page.write(r, c, value)
    page.set_column(0, len(headers) - 1, 16)
    page.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


def _attach(form: forms.BaseForm, exc: ValidationError, field_map: dict[str, str] | None = None) -> None:
    """A service's error next to the form field it names; errors about the loan itself (its status, the maker…)
    and hidden fields on top, under the loan field's own label."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    field_map = field_map or {}
    relabelled: dict[str, list[ValidationError]] = {}
    for name, errors in exc.error_dict.items():
        target = field_map.get(name, name)
        # A hidden field (idempotency key, the transaction to reverse) has nowhere to show its error: on top.
        if (target in form.fields and not form.fields[target].widget.is_hidden) or name == NON_FIELD_ERRORS:
            relabelled.setdefault(target, []).extend(errors)
            continue
        label = _loan_field_label(name)
        for error in errors:
            for message in error.messages:
                text = f"{label}：{message}" if label else message
                relabelled.setdefault(NON_FIELD_ERRORS, []).append(ValidationError(text, code=error.code))
    attach_errors(form, ValidationError(relabelled))


def _loan_field_label(name: str) -> str:
    if name in ("status", "loan", "version"):
        return ""
    try:
        return str(getattr(Loan._meta.get_field(name), "verbose_name", ""))
    except Exception:  # noqa: BLE001 - an unknown name is shown as the service wrote it
        return ""


# List and export


def loan_list_queryset(user: Any) -> QuerySet[Loan]:
    return Loan.objects.restrict(user, Action.VIEW).select_related("borrower", "bank", "park")


def may_apply(user: Any) -> bool:
    return _kind(user) in (OrganisationKind.BANK, OrganisationKind.ENTERPRISE) and _may(user, Action.ADD)


def loan_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    filterset = LoanFilterSet(request.GET or None, queryset=loan_list_queryset(user))
    table = _paged(request, LoanTable(filterset.qs))
    query = request.GET.urlencode()
    return render(
        request,
        "lending/loan_list.html",
        {
            "table": table,
            "filter": filterset,
            "can_apply": may_apply(user),
            "export_url": reverse("lending:loan_export") + (f"?{query}" if query else ""),
        },
    )


@require_GET
def loan_export(request: AuthenticatedRequest) -> HttpResponse:
    filterset = LoanFilterSet(request.GET or None, queryset=loan_list_queryset(request.user))
    loans = filterset.qs.order_by("-created_at", "-pk")
    if loans.count() > EXPORT_MAX_ROWS:
        messages.error(request, _("筛选结果超过 %(n)s 笔，请缩小筛选范围后再导出。") % {"n": f"{EXPORT_MAX_ROWS:,}"})
        query = request.GET.urlencode()
        return redirect(reverse("lending:loan_list") + (f"?{query}" if query else ""))
    rows = [[value(loan) for _header, value in EXPORT_COLUMNS] for loan in loans]
    content = _workbook(_("贷款"), [header for header, _value in EXPORT_COLUMNS], rows)
    return _xlsx_response(content, f"贷款清单-{business_date():%Y%m%d}.xlsx")


# Application


def borrower_candidates(user: Any) -> QuerySet[Enterprise]:
    """Enterprises the bank already reaches (its borrowers and pledgors). Others are named by their USCC, an
    exact-key lookup as on the pledge filing form: a first loan to a new customer starts from its contract."""
    return Enterprise.objects.restrict(user, Action.VIEW).order_by("name")


def loan_apply_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not may_apply(user):
        raise Http404
    own: Enterprise | None = None
    if _kind(user) == OrganisationKind.ENTERPRISE:
        own = Enterprise.objects.filter(organisation_id=user.organisation_id).first()
        if own is None:
            raise Http404
    form = ApplyForm(
        request.POST or None,
        borrowers=None if own is not None else borrower_candidates(user),
        banks=pledgees_for(user),
        uscc_lookup=resolve_pledgor,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                loan = services.loan_apply(
                    borrower=own or data["borrower"],
                    bank=data["bank"],
                    requested_amount=Money(data["requested_amount"]),
                    requested_term_months=data["requested_term_months"],
                    purpose=data.get("purpose") or "",
                    acting_user=user,
                )
        except PermissionDenied:
            form.add_error(None, _("您的机构无权为该企业提交贷款申请。"))
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, _("贷款申请 %(ref)s 已提交。") % {"ref": loan.reference})
            return redirect("lending:loan_detail", loan.pk)
    return render(request, "lending/loan_apply.html", {"form": form, "for_itself": own})


# Loan page and its actions


@dataclass(frozen=True)
class LoanAction:
    """One action of the loan page: who may see it, in which states, its form and the service it runs."""

    name: str
    label: Any
    permission: Action
    statuses: frozenset[int]
    form: type[forms.Form]
    run: Callable[[Loan, User, Any], Any]
    success: Any
    icon: str = "check2"
    style: str = "primary"
    borrower_may: bool = False
    condition: Callable[[Loan, User], bool] | None = None
    form_kwargs: Callable[[Loan, User], dict[str, Any]] | None = None
    field_map: dict[str, str] | None = None
    section: str = "actions"

    def available(self, user: Any, loan: Loan) -> bool:
        if loan.status not in self.statuses or not _may(user, self.permission):
            return False
        if not (_is_lender(user, loan) or (self.borrower_may and _is_borrower(user, loan))):
            return False
        return self.condition is None or self.condition(loan, user)

    def make_form(self, loan: Loan, user: Any, data: Any = None, **extra: Any) -> forms.Form:
        kwargs = self.form_kwargs(loan, user) if self.form_kwargs else {}
        # Many action forms share one page: ids carry the action so that labels point at their own field.
        return self.form(data, auto_id=f"id_{self.name}_%s", **kwargs, **extra)

    def url(self, loan: Loan) -> str:
        return reverse(f"lending:loan_{self.name}", args=[loan.pk])


def _pledge_candidates(loan: Loan, user: Any) -> dict[str, Any]:
    """The borrower's active registrations whose pledgee is in the lending bank's tree (from its head office)."""
    root = "/".join(loan.bank.tree_path.split("/")[:2]) + "/"
    registrations = (
        PledgeRegistration.objects.restrict(user, Action.VIEW)
        .filter(pledgor=loan.borrower, status=RegistrationStatus.ACTIVE, pledgee__tree_path__startswith=root)
        .select_related("pledgee")
        .order_by("-registered_on")
    )
    return {"registrations": registrations}


def amount_due(position: LoanPosition) -> Money:
    """What the borrower owes now (overdue, penalty and today's instalment), else the next instalment."""
    now = position.overdue_amount + position.principal_due_today + position.interest_due_today
    return now if now.fen > 0 else position.next_due_amount


def _repay_prefill(loan: Loan, user: Any) -> dict[str, Any]:
    due = amount_due(loan_position(loan, as_of=business_date()))
    return {"amount": due.amount if due.fen > 0 else None}


def _position_rows(position: LoanPosition | None) -> list[dict[str, Any]]:
    if position is None:
        return []

    def yuan(value: Money) -> str:
        return f"{value.amount:,.2f}"

    overdue = position.overdue_amount
    rows: list[dict[str, Any]] = [
        {"key": "outstanding", "label": _("贷款余额（元）"), "value": yuan(position.outstanding_principal)},
        {"key": "overdue-principal", "label": _("逾期本金（元）"), "value": yuan(position.overdue_principal)},
        {"key": "overdue-interest", "label": _("逾期利息（元）"), "value": yuan(position.overdue_interest)},
        {"key": "penalty", "label": _("应付罚息（元）"), "value": yuan(position.penalty_due)},
        {"key": "days-past-due", "label": _("逾期天数"), "value": str(position.days_past_due)},
        {
            "key": "next-due",
            "label": _("下一还款日 / 金额（元）"),
            "value": (
                f"{position.next_due_date:%Y-%m-%d} / {yuan(position.next_due_amount)}"
                if position.next_due_date
                else "—"
            ),
        },
        {"key": "accrued", "label": _("当期已计利息（元）"), "value": yuan(position.accrued_interest)},
        {"key": "amount-due", "label": _("当前应还（元）"), "value": yuan(amount_due(position))},
        {"key": "payoff", "label": _("提前结清金额（元）"), "value": yuan(position.payoff_amount)},
    ]
    for row in rows:
        row["alert"] = overdue.fen > 0 and row["key"] in (
            "overdue-principal",
            "overdue-interest",
            "penalty",
            "days-past-due",
        )
    return rows


def _cover_providers(loan: Loan, user: Any) -> dict[str, Any]:
    providers = Organisation.objects.filter(kind__in=COVER_PROVIDER_KINDS, is_active=True).order_by("name")
    return {"providers": providers}


def _borrower_rights(loan: Loan, user: Any) -> dict[str, Any]:
    # The borrower's own rights, reached through the loan rather than by browsing the registry; a right already
    # held as collateral is offered too, to record its appraisal.
    rights = IPRight.objects.filter(owners__enterprise=loan.borrower)
    return {"rights": rights.distinct().order_by("kind", "number")}


def _loan_collateral(loan: Loan, user: Any) -> dict[str, Any]:
    return {"collateral": loan.collateral.select_related("ip_right")}


def _reversible(loan: Loan, user: Any) -> dict[str, Any]:
    return {"transactions": loan.transactions.filter(reversed_at__isnull=True)}


def _not_maker(loan: Loan, user: Any) -> bool:
    return loan.prepared_by_id != user.pk


def _undisbursed(loan: Loan, user: Any) -> bool:
    return loan.principal is not None and loan.disbursed_amount < loan.principal


def _run_apply_terms(loan: Loan, user: User, form: Any) -> Any:
    return services.loan_submit_for_approval(loan=loan, acting_user=user, **form.service_kwargs())


def _run_flags(loan: Loan, user: User, form: Any) -> Any:
    return lending_classification.loan_risk_flags_set(loan=loan, acting_user=user, **form.service_kwargs())


def _money_movement(kind: str) -> Callable[[Loan, User, Any], Any]:
    service = services.loan_disburse if kind == "disburse" else services.loan_repay

    def run(loan: Loan, user: User, form: Any) -> Any:
        data = form.cleaned_data
        return service(
            loan=loan,
            amount=Money(data["amount"]),
            value_date=data["value_date"],
            idempotency_key=data.get("idempotency_key") or "",
            acting_user=user,
        )

    return run


def _data(run: Callable[[Loan, User, dict[str, Any]], Any]) -> Callable[[Loan, User, Any], Any]:
    """Adapt a runner over cleaned data to the (loan, user, form) signature."""
    return lambda loan, user, form: run(loan, user, form.cleaned_data)


CHANGE, APPROVE = Action.CHANGE, Action.APPROVE
LIVE = frozenset(LIVE_STATUSES)

ACTIONS: dict[str, LoanAction] = {
    a.name: a
    for a in (
        LoanAction(
            "dd_start",
            gettext_lazy("开始尽职调查"),
            CHANGE,
            frozenset({LoanStatus.SUBMITTED}),
            EmptyForm,
            _data(lambda loan, user, d: services.loan_due_diligence_start(loan=loan, acting_user=user)),
            gettext_lazy("已开始尽职调查。"),
            icon="search",
        ),
        LoanAction(
            "dd_record",
            gettext_lazy("记录尽职调查事项"),
            CHANGE,
            frozenset({LoanStatus.SUBMITTED, LoanStatus.DUE_DILIGENCE}),
            DueDiligenceForm,
            _data(
                lambda loan, user, d: services.loan_due_diligence_record(
                    loan=loan, item=d["item"], done=d["done"], note=d.get("note") or "", acting_user=user
                )
            ),
            gettext_lazy("尽职调查事项已记录。"),
            icon="list-check",
            style="outline-primary",
            section="due_diligence",
        ),
        LoanAction(
            "submit",
            gettext_lazy("提交审批"),
            CHANGE,
            frozenset({LoanStatus.DUE_DILIGENCE}),
            TermsForm,
            _run_apply_terms,
            gettext_lazy("已提交审批，等待审批人审批。"),
            icon="send",
        ),
        LoanAction(
            "approve",
            gettext_lazy("审批通过"),
            APPROVE,
            frozenset({LoanStatus.PENDING_APPROVAL}),
            DecisionForm,
            _data(lambda loan, user, d: services.loan_approve(loan=loan, acting_user=user, note=d.get("note") or "")),
            gettext_lazy("贷款已审批通过。"),
            icon="check2-circle",
            style="success",
            condition=_not_maker,
        ),
        LoanAction(
            "reject",
            gettext_lazy("审批拒绝"),
            APPROVE,
            frozenset({LoanStatus.SUBMITTED, LoanStatus.DUE_DILIGENCE, LoanStatus.PENDING_APPROVAL}),
            RejectForm,
            _data(lambda loan, user, d: services.loan_reject(loan=loan, acting_user=user, note=d["note"])),
            gettext_lazy("贷款申请已拒绝。"),
            icon="x-circle",
            style="outline-danger",
            condition=_not_maker,
        ),
        LoanAction(
            "sign",
            gettext_lazy("签订借款合同"),
            CHANGE,
            frozenset({LoanStatus.APPROVED}),
            ContractForm,
            _data(
                lambda loan, user, d: services.loan_contract_sign(
                    loan=loan, contract_no=d["contract_no"], signed_on=d["signed_on"], acting_user=user
                )
            ),
            gettext_lazy("借款合同已签订。"),
            icon="pen",
        ),
        LoanAction(
            "pledge",
            gettext_lazy("关联质押登记"),
            CHANGE,
            frozenset({LoanStatus.APPROVED, LoanStatus.CONTRACTED, LoanStatus.ACTIVE}),
            PledgeLinkForm,
            _data(
                lambda loan, user, d: services.loan_pledge_link(
                    loan=loan, registration=d["registration"], acting_user=user
                )
            ),
            gettext_lazy("质押登记已关联。"),
            icon="patch-check",
            style="outline-primary",
            condition=lambda loan, user: loan.pledge_registration_id is None,
            form_kwargs=_pledge_candidates,
        ),
        LoanAction(
            "disburse",
            gettext_lazy("放款"),
            CHANGE,
            frozenset({LoanStatus.CONTRACTED, LoanStatus.ACTIVE}),
            MoneyMovementForm,
            _money_movement("disburse"),
            gettext_lazy("放款已入账。"),
            icon="cash-coin",
            condition=_undisbursed,
        ),
        LoanAction(
            "repay",
            gettext_lazy("还款"),
            CHANGE,
            LIVE,
            MoneyMovementForm,
            _money_movement("repay"),
            gettext_lazy("还款已入账。"),
            icon="cash-stack",
            style="success",
            form_kwargs=_repay_prefill,
        ),
        LoanAction(
            "reverse",
            gettext_lazy("冲正"),
            CHANGE,
            LIVE | {LoanStatus.CLOSED},
            ReverseForm,
            _data(
                lambda loan, user, d: services.loan_transaction_reverse(
                    transaction=d["transaction"], reason=d["reason"], acting_user=user
                )
            ),
            gettext_lazy("交易已冲正。"),
            icon="arrow-counterclockwise",
            style="outline-danger",
            form_kwargs=_reversible,
            field_map={"reversal_reason": "reason"},
            section="transactions",
        ),
        LoanAction(
            "renew",
            gettext_lazy("续贷"),
            APPROVE,
            frozenset({LoanStatus.ACTIVE}),
            RenewForm,
            _data(
                lambda loan, user, d: services.loan_renew(
                    loan=loan,
                    kind=d["kind"],
                    principal=Money(d["principal"]),
                    term_months=d["term_months"],
                    annual_rate=fraction(d["annual_rate"]),
                    repayment_method=d["repayment_method"],
                    contract_no=d.get("contract_no") or "",
                    acting_user=user,
                )
            ),
            gettext_lazy("续贷已办理。"),
            icon="arrow-repeat",
            style="outline-primary",
        ),
        LoanAction(
            "default",
            gettext_lazy("认定违约"),
            CHANGE,
            frozenset({LoanStatus.ACTIVE}),
            DefaultForm,
            _data(
                lambda loan, user, d: services.loan_default(loan=loan, on=d["on"], reason=d["reason"], acting_user=user)
            ),
            gettext_lazy("贷款已认定违约，转入风险补偿与处置。"),
            icon="exclamation-octagon",
            style="outline-danger",
        ),
        LoanAction(
            "withdraw",
            gettext_lazy("撤回申请"),
            CHANGE,
            frozenset(services.BANK_WITHDRAWABLE),
            ReasonForm,
            _data(lambda loan, user, d: services.loan_withdraw(loan=loan, reason=d["reason"], acting_user=user)),
            gettext_lazy("贷款申请已撤回。"),
            icon="x-circle",
            style="outline-secondary",
            borrower_may=True,
            condition=lambda loan, user: _is_lender(user, loan) or loan.status in services.BORROWER_WITHDRAWABLE,
        ),
        LoanAction(
            "cover",
            gettext_lazy("添加增信措施"),
            CHANGE,
            OPEN_STATUSES,
            CoverForm,
            _data(
                lambda loan, user, d: services.cover_add(
                    loan=loan,
                    kind=d["kind"],
                    provider=d.get("provider"),
                    provider_name=d["provider_name"],
                    cover_ratio=fraction(d["cover_ratio"]),
                    policy_no=d.get("policy_no") or "",
                    valid_until=d.get("valid_until"),
                    acting_user=user,
                )
            ),
            gettext_lazy("增信措施已添加。"),
            icon="shield-check",
            style="outline-primary",
            form_kwargs=_cover_providers,
            section="covers",
        ),
        LoanAction(
            "investment",
            gettext_lazy("添加投贷联动"),
            CHANGE,
            OPEN_STATUSES,
            InvestmentForm,
            _data(
                lambda loan, user, d: services.investment_link_add(
                    loan=loan,
                    investor_name=d["investor_name"],
                    term_kind=d["term_kind"],
                    amount=money(d.get("amount")),
                    equity_ratio=fraction(d.get("equity_ratio")),
                    exercise_deadline=d.get("exercise_deadline"),
                    terms=d.get("terms") or "",
                    acting_user=user,
                )
            ),
            gettext_lazy("投贷联动已添加。"),
            icon="graph-up-arrow",
            style="outline-primary",
            section="investments",
        ),
        LoanAction(
            "collateral",
            gettext_lazy("添加质押物或评估价值"),
            CHANGE,
            OPEN_STATUSES,
            CollateralForm,
            _data(
                lambda loan, user, d: services.collateral_add(
                    loan=loan,
                    ip_right=d["ip_right"],
                    appraised_value=money(d.get("appraised_value")),
                    appraised_on=d.get("appraised_on"),
                    valuer_name=d.get("valuer_name") or "",
                    acting_user=user,
                )
            ),
            gettext_lazy("质押物已添加。"),
            icon="file-earmark-lock",
            style="outline-primary",
            form_kwargs=_borrower_rights,
            section="collateral",
        ),
        LoanAction(
            "implementation",
            gettext_lazy("报告专利实施情况"),
            CHANGE,
            OPEN_STATUSES | {LoanStatus.CLOSED, LoanStatus.CLOSED_BY_RENEWAL},
            ImplementationForm,
            _data(
                lambda loan, user, d: services.implementation_report_add(
                    collateral=d["collateral"],
                    status=d["status"],
                    reported_on=d["reported_on"],
                    note=d.get("note") or "",
                    acting_user=user,
                )
            ),
            gettext_lazy("实施情况已记录。"),
            icon="clipboard-data",
            style="outline-primary",
            borrower_may=True,
            condition=lambda loan, user: loan.collateral.exists(),
            form_kwargs=_loan_collateral,
            section="collateral",
        ),
        LoanAction(
            "override",
            gettext_lazy("人工认定分类"),
            APPROVE,
            LIVE,
            OverrideForm,
            _data(
                lambda loan, user, d: lending_classification.loan_classification_override(
                    loan=loan, to_class=d["to_class"], reason=d["reason"], acting_user=user
                )
            ),
            gettext_lazy("已人工认定分类。"),
            icon="sliders",
            style="outline-warning",
            section="classification",
        ),
        LoanAction(
            "override_clear",
            gettext_lazy("取消人工认定"),
            APPROVE,
            LIVE,
            ReasonForm,
            _data(
                lambda loan, user, d: lending_classification.loan_classification_override_clear(
                    loan=loan, reason=d["reason"], acting_user=user
                )
            ),
            gettext_lazy("已取消人工认定，分类恢复由规则确定。"),
            icon="arrow-counterclockwise",
            style="outline-secondary",
            condition=lambda loan, user: bool(loan.manual_class),
            section="classification",
        ),
        LoanAction(
            "flags",
            gettext_lazy("风险事件标记"),
            CHANGE,
            LIVE,
            RiskFlagsForm,
            _run_flags,
            gettext_lazy("风险事件标记已更新。"),
            icon="flag",
            style="outline-warning",
            section="classification",
        ),
    )
}


RISK_FLAGS = ("funds_misused", "credit_impaired", "refinanced_by_new_loan", "external_rating_downgraded")


def _blank_form(spec: LoanAction, loan: Loan, user: Any) -> forms.Form:
    if spec.name == "flags":
        return spec.make_form(loan, user, initial=RiskFlagsForm.initial_for(loan))
    return spec.make_form(loan, user)


def _due_diligence_rows(loan: Loan) -> list[dict[str, Any]]:
    answers = loan.due_diligence or {}
    return [{"item": value, "label": label, **(answers.get(value) or {})} for value, label in DueDiligenceItem.choices]


def _detail_context(
    request: AuthenticatedRequest, loan: Loan, bound: dict[str, forms.Form] | None = None
) -> dict[str, Any]:
    user = request.user
    bound = bound or {}
    panels: dict[str, list[dict[str, Any]]] = {}
    forms_by_name: dict[str, forms.Form] = {}
    for spec in ACTIONS.values():
        if not spec.available(user, loan):
            continue
        form = bound.get(spec.name) or _blank_form(spec, loan, user)
        forms_by_name[spec.name] = form
        panels.setdefault(spec.section, []).append(
            {"spec": spec, "form": form, "url": spec.url(loan), "open": spec.name in bound}
        )
    today = business_date()
    position = loan_position(loan, as_of=today) if loan.status in LIVE_STATUSES else None
    collateral = list(
        LoanCollateral.objects.filter(loan=loan).select_related("ip_right").prefetch_related("implementation_reports")
    )
    instalments = list(loan.instalments.order_by("number"))
    for instalment in instalments:
        instalment.rate_text = percent_text(instalment.annual_rate, 4)  # type: ignore[attr-defined]
    covers = list(LoanCover.objects.filter(loan=loan).select_related("provider"))
    for cover in covers:
        cover.ratio_text = percent_text(cover.cover_ratio)  # type: ignore[attr-defined]
    investments = list(InvestmentLink.objects.filter(loan=loan))
    for link in investments:
        ratio = link.equity_ratio
        link.ratio_text = "" if ratio is None else percent_text(ratio)  # type: ignore[attr-defined]
    return {
        "loan": loan,
        "today": today,
        "position": position,
        "position_rows": _position_rows(position),
        "status_css": STATUS_BADGES.get(loan.status, "text-bg-secondary"),
        "class_css": CLASS_BADGES.get(loan.classification, "text-bg-secondary"),
        "classified": loan.first_disbursed_on is not None or loan.classified_on is not None,
        "rate_percent": percent_text(loan.annual_rate, 4) if loan.annual_rate is not None else "",
        "penalty_percent": percent_text(loan.penalty_markup, 0),
        "show_due_diligence": bool(loan.due_diligence) or "due_diligence" in panels,
        "risk_flags": [_loan_field_label(name) for name in RISK_FLAGS if getattr(loan, name)],
        "instalments": instalments,
        "transactions": list(loan.transactions.select_related("posted_by", "reversed_by").order_by("value_date", "pk")),
        "covers": covers,
        "investments": investments,
        "collateral": collateral,
        "classification_changes": list(
            ClassificationChange.objects.filter(loan=loan).select_related("actor").order_by("-business_day", "-pk")
        ),
        "due_diligence": _due_diligence_rows(loan),
        "panels": panels,
        "action_forms": forms_by_name,
        "renewal": Loan.objects.restrict(user, Action.VIEW).filter(renewal_of=loan).first(),
        "previous": (
            Loan.objects.restrict(user, Action.VIEW).filter(pk=loan.renewal_of_id).first()
            if loan.renewal_of_id
            else None
        ),
        "pledge_registration": (
            PledgeRegistration.objects.restrict(user, Action.VIEW).filter(pk=loan.pledge_registration_id).first()
            if loan.pledge_registration_id
            else None
        ),
        "cancellations": _cancellation_filings(user, loan),
    }


def _cancellation_filings(user: Any, loan: Loan) -> list[PledgeFiling]:
    if not loan.pledge_registration_id:
        return []
    return list(
        PledgeFiling.objects.restrict(user, Action.VIEW)
        .filter(registration_id=loan.pledge_registration_id, filing_type="cancellation")
        .order_by("-created_at")
    )


def _loan(user: Any, pk: int, action: str = Action.VIEW) -> Loan:
    return scoped_get(Loan, user=user, pk=pk, action=action)


def loan_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    loan = _loan(request.user, pk)
    return render(request, "lending/loan_detail.html", _detail_context(request, loan))


@require_POST
def loan_action(request: AuthenticatedRequest, pk: int, action: str) -> HttpResponse:
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    user = request.user
    loan = _loan(user, pk, spec.permission)
    if not (_is_lender(user, loan) or (spec.borrower_may and _is_borrower(user, loan))):
        raise Http404
    form = spec.make_form(loan, user, request.POST)
    if not spec.available(user, loan):
        return _unavailable(request, loan, spec, form)
    if form.is_valid():
        try:
            with transaction.atomic():
                spec.run(loan, user, form)
        except PermissionDenied as exc:
            raise Http404 from exc
        except ValidationError as exc:
            _attach(form, exc, spec.field_map)
        else:
            messages.success(request, str(spec.success))
            return redirect(reverse("lending:loan_detail", args=[loan.pk]) + f"#{spec.section}")
    loan.refresh_from_db()
    return render(request, "lending/loan_detail.html", _detail_context(request, loan, {spec.name: form}))


def _unavailable(request: AuthenticatedRequest, loan: Loan, spec: LoanAction, form: forms.Form) -> HttpResponse:
    """An action the page does not offer (another status, or the maker approving): the service still gets the
    request, so its rule is what the user reads, as a message on the loan page."""
    if form.is_valid():
        try:
            with transaction.atomic():
                spec.run(loan, request.user, form)
        except PermissionDenied as exc:
            raise Http404 from exc
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, str(spec.success))
    else:
        messages.error(
            request,
            _("贷款当前状态为“%(status)s”，不能%(action)s。")
            % {"status": loan.get_status_display(), "action": spec.label},
        )
    return redirect("lending:loan_detail", loan.pk)


@require_GET
def loan_schedule_export(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    loan = _loan(request.user, pk)
    headers = [
        _("期次"),
        _("计息起日"),
        _("应还日"),
        _("本期年利率"),
        _("应还本金（元）"),
        _("应还利息（元）"),
        _("已还本金（元）"),
        _("已还利息（元）"),
        _("已还罚息（元）"),
        _("结清日"),
    ]
    rows = [
        [
            i.number,
            i.period_start,
            i.due_date,
            i.annual_rate,
            i.principal_due.amount,
            i.interest_due.amount,
            i.principal_paid.amount,
            i.interest_paid.amount,
            i.penalty_paid.amount,
            i.settled_on,
        ]
        for i in loan.instalments.order_by("number")
    ]
    return _xlsx_response(_workbook(_("还款计划"), headers, rows), f"{loan.reference}-还款计划.xlsx")


AUDITED_CHILDREN: tuple[tuple[type[Any], str], ...] = (
    (LoanTransaction, "loan"),
    (LoanCover, "loan"),
    (InvestmentLink, "loan"),
    (LoanCollateral, "loan"),
    (ClassificationChange, "loan"),
    (ImplementationReport, "collateral__loan"),
)


def loan_audit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The audit trail of one loan and the rows that hang off it; visible to whoever sees the loan."""
    loan = _loan(request.user, pk)
    q = Q(object_type=Loan._meta.label_lower, object_id=str(loan.pk))
    for model, path in AUDITED_CHILDREN:
        ids = [str(v) for v in model.objects.filter(**{path: loan}).values_list("pk", flat=True)]
        if ids:
            q |= Q(object_type=model._meta.label_lower, object_id__in=ids)
    events = AuditEvent.objects.filter(q).select_related("actor", "organisation").order_by("-occurred_at", "-pk")
    table = _paged(request, AuditTable(events))
    return render(request, "lending/loan_audit.html", {"loan": loan, "table": table})


# Bank-level reports: credit plans (单列信贷计划) and bank-wide NPL ratios


def _own_banks(user: Any) -> QuerySet[Organisation]:
    organisation = user.organisation
    if _kind(user) != OrganisationKind.BANK or organisation is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(
        kind=OrganisationKind.BANK, is_active=True, tree_path__startswith=organisation.tree_path
    ).order_by("tree_path")


@dataclass(frozen=True)
class BankReport:
    model: type[Any]
    table: type[Any]
    form: type[Any]
    title: Any
    intro: Any
    save: Callable[[User, dict[str, Any]], Any]
    success: Any


def _save_plan(user: User, d: dict[str, Any]) -> Any:
    return services.credit_plan_set(
        bank=d["bank"],
        year=d["year"],
        planned_amount=Money(d["planned_amount"]),
        planned_clients=d["planned_clients"],
        note=d.get("note") or "",
        acting_user=user,
    )


def _save_npl(user: User, d: dict[str, Any]) -> Any:
    return services.npl_report_set(
        bank=d["bank"], as_of=d["as_of"], npl_ratio=fraction(d["npl_ratio"]), acting_user=user
    )


REPORT_READERS = frozenset({OrganisationKind.BANK, OrganisationKind.FINANCIAL_REGULATOR, OrganisationKind.IP_OFFICE})

REPORTS = {
    "credit_plans": BankReport(
        CreditPlan,
        CreditPlanTable,
        CreditPlanForm,
        gettext_lazy("单列信贷计划"),
        gettext_lazy("银行每年为知识产权质押融资单列的信贷计划（银保监发〔2019〕34号），指标看板据此计算完成率。"),
        _save_plan,
        gettext_lazy("单列信贷计划已保存。"),
    ),
    "npl_reports": BankReport(
        BankNplReport,
        NplReportTable,
        NplReportForm,
        gettext_lazy("全行不良率报告"),
        gettext_lazy("银行全部贷款的不良率；知识产权质押贷款不良率高于它3个百分点以内属于容忍范围。"),
        _save_npl,
        gettext_lazy("全行不良率已保存。"),
    ),
}


def _bank_report(request: AuthenticatedRequest, key: str) -> HttpResponse:
    user = request.user
    report = REPORTS[key]
    rows = report.model.objects.restrict(user, Action.VIEW).select_related("bank")
    scope = scope_for(user)
    if scope is None or not (scope.is_platform or scope.kind in REPORT_READERS):
        raise Http404
    banks = _own_banks(user)
    may_edit = _may(user, Action.ADD) and banks.exists()
    form = report.form(request.POST or None, banks=banks) if may_edit else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                with transaction.atomic():
                    report.save(user, form.cleaned_data)
            except PermissionDenied as exc:
                raise Http404 from exc
            except ValidationError as exc:
                _attach(form, exc)
            else:
                messages.success(request, str(report.success))
                return redirect(f"lending:{key}")
    table = _paged(request, report.table(rows))
    return render(
        request,
        "lending/bank_report.html",
        {"report": report, "table": table, "form": form, "may_edit": may_edit},
    )


def credit_plans(request: AuthenticatedRequest) -> HttpResponse:
    return _bank_report(request, "credit_plans")


def npl_reports(request: AuthenticatedRequest) -> HttpResponse:
    return _bank_report(request, "npl_reports")
