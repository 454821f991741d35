"""Collateral-disposal pages (质物处置, D1): cases opened from defaulted loans, their route (maker-checker), the
sale, the transfer and the proceeds waterfall; auction sessions, lots, bidder sign-up, deposits and bids; and the
public auction listing (拍卖公示) anyone may read.

Views are thin. Reads start from `restrict()` (another bank's case answers 404 exactly like a missing one); every
write runs one service of `ipledge.disposal.services` in a transaction, a `ValidationError` from it is shown next to
the field it names (or as a message), and a `PermissionDenied` answers 403. Panels offer only the actions valid for
the case's state and the user's role; the services check both again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from ipledge.core.choices import OrganisationKind
from ipledge.core.forms import attach_errors
from ipledge.core.models import Organisation, User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest
from ipledge.lending.models import Loan
from ipledge.registry.views import history_context

from . import selectors, services
from .choices import CaseStatus, DepositStatus, LotStatus, ProceedsStep, Route, SessionStatus
from .engine import auction as auction_rules
from .filtersets import CaseFilterSet, SessionFilterSet
from .forms import (
    BidForm,
    CaseOpenForm,
    CloseForm,
    DepositForm,
    DistributeForm,
    LicenceIncomeForm,
    LotForm,
    PaymentForm,
    ProposeRouteForm,
    RevalueForm,
    SaleForm,
    SessionForm,
    money,
    new_idempotency_key,
)
from .models import AuctionSession, BidderRegistration, DisposalCase, Lot
from .tables import (
    CASE_BADGES,
    DEPOSIT_BADGES,
    LOT_BADGES,
    SESSION_BADGES,
    CaseTable,
    SessionTable,
    money_text,
)

PER_PAGE = 25
# Who may take the rights in a negotiated sale or an acquisition: anyone but the lenders and the public bodies.
NOT_BUYER_KINDS = (
    OrganisationKind.BANK,
    OrganisationKind.IP_OFFICE,
    OrganisationKind.FINANCIAL_REGULATOR,
    OrganisationKind.DEVELOPMENT_REFORM,
    OrganisationKind.PARK_ADMIN,
    OrganisationKind.FUND_MANAGER,
)
ACCOUNT_LABELS = {
    "proceeds": gettext_lazy("处置价款"),
    "costs": gettext_lazy("处置费用"),
    "bank": gettext_lazy("银行"),
    "fund": gettext_lazy("补偿基金"),
    "pledgor": gettext_lazy("出质人"),
}


def _paged(request: HttpRequest, table: Any) -> Any:
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return table


def _field_label(model: type[Model] | None, name: str) -> str:
    if model is None or name in ("status", "version", "__all__"):
        return ""
    try:
        return str(getattr(model._meta.get_field(name), "verbose_name", ""))
    except Exception:  # noqa: BLE001 - an unknown name is shown as the service wrote it
        return ""


def _attach(
    form: forms.BaseForm,
    exc: ValidationError,
    model: type[Model] | None = None,
    field_map: dict[str, str] | None = None,
) -> None:
    """A service's error next to the visible form field it names; anything else (the case's state, maker-checker,
    a hidden idempotency key) on top of the form, under the field's own label."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    field_map = field_map or {}
    relabelled: dict[str, list[ValidationError]] = {}
    for name, errors in exc.error_dict.items():
        target = field_map.get(name, name)
        if (target in form.fields and not form.fields[target].widget.is_hidden) or name == NON_FIELD_ERRORS:
            relabelled.setdefault(target, []).extend(errors)
            continue
        label = _field_label(model, name)
        for error in errors:
            for message in error.messages:
                text = f"{label}：{message}" if label and not message.startswith(label) else message
                relabelled.setdefault(NON_FIELD_ERRORS, []).append(ValidationError(text, code=error.code))
    attach_errors(form, ValidationError(relabelled))


def _flash_errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _may_add(user: Any, model: Any) -> bool:
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    return scope.is_platform or model.scope_q(scope, Action.ADD) is not None


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------


def may_open(user: Any) -> bool:
    """Banks open cases on their own loans (the service checks the loan)."""
    return _may_add(user, DisposalCase)


def case_list(request: AuthenticatedRequest) -> HttpResponse:
    filterset = CaseFilterSet(request.GET or None, queryset=selectors.case_list(user=request.user))
    table = _paged(request, CaseTable(filterset.qs))
    return render(
        request, "disposal/case_list.html", {"table": table, "filter": filterset, "can_open": may_open(request.user)}
    )


def open_case(request: AuthenticatedRequest) -> HttpResponse:
    """The bank's defaulted and non-performing loans, each with 立案处置 (or a link to its open case)."""
    user = request.user
    if not may_open(user):
        raise Http404
    loans = selectors.openable_loans(user=user)
    if request.method == "POST":
        form = CaseOpenForm(request.POST, loans=selectors.without_open_case(loans))
        if form.is_valid():
            try:
                with transaction.atomic():
                    case = services.case_open(
                        loan=form.cleaned_data["loan"], acting_user=user, note=form.cleaned_data.get("note") or ""
                    )
            except ValidationError as exc:
                _flash_errors(request, exc)
            else:
                messages.success(
                    request,
                    _("处置案件 %(ref)s 已立案，质押的知识产权已列入案件。请重新评估并提出处置方案。")
                    % {"ref": case.reference},
                )
                return redirect("disposal:case_detail", case.pk)
        else:
            messages.error(request, _("该贷款不能立案处置（已有未结案的处置案件，或不在您的权限范围内）。"))
    rows = list(loans)
    cases = selectors.open_cases_by_loan(user=user, loan_ids=[loan.pk for loan in rows])
    for loan in rows:
        loan.open_case = cases.get(loan.pk)  # type: ignore[attr-defined]
    return render(request, "disposal/open_case.html", {"loans": rows})


def _is_bank_officer(user: Any, case: DisposalCase, action: str = Action.CHANGE) -> bool:
    return selectors.may_act_on_case(case, user, action)


def _buyers(case: DisposalCase) -> QuerySet[Organisation]:
    if case.route == Route.ACQUISITION and case.platform_id:
        return Organisation.objects.filter(pk=case.platform_id)
    return (
        Organisation.objects.filter(is_active=True)
        .exclude(kind__in=NOT_BUYER_KINDS)
        .exclude(pk=case.pledgor.organisation_id or 0)
        .order_by("kind", "name")
    )


def _route_form(case: DisposalCase, data: Any, auto_id: str) -> forms.Form:
    platforms = Organisation.objects.filter(kind=OrganisationKind.DISPOSAL_PLATFORM, is_active=True).order_by("name")
    acquirers = (
        Organisation.objects.filter(is_active=True)
        .exclude(kind__in=NOT_BUYER_KINDS)
        .exclude(pk=case.pledgor.organisation_id or 0)
        .order_by("kind", "name")
    )
    initial: dict[str, Any] = {"route": case.route or Route.AUCTION, "note": case.route_note}
    if case.platform_id:
        initial["platform" if case.route == Route.AUCTION else "acquirer"] = case.platform_id
    return ProposeRouteForm(data, platforms=platforms, acquirers=acquirers, initial=initial, auto_id=auto_id)


def _sale_form(case: DisposalCase, data: Any, auto_id: str) -> forms.Form:
    initial = {"buyer": case.platform_id} if case.route == Route.ACQUISITION else {}
    return SaleForm(data, buyers=_buyers(case), initial=initial, auto_id=auto_id)


def _revalue_form(case: DisposalCase, data: Any, auto_id: str) -> forms.Form:
    agencies = Organisation.objects.filter(kind=OrganisationKind.VALUER, is_active=True).order_by("name")
    return RevalueForm(data, agencies=agencies, auto_id=auto_id)


def _plain(form_class: type[forms.Form]) -> Callable[[DisposalCase, Any, str], forms.Form]:
    return lambda case, data, auto_id: form_class(data, auto_id=auto_id)


@dataclass(frozen=True)
class CaseAction:
    """One action of the case page: who is offered it, in which states, its form and the service it runs."""

    name: str
    label: Any
    permission: str  # the `restrict()` action the case is fetched under
    statuses: frozenset[int]
    form: Callable[[DisposalCase, Any, str], forms.Form]
    run: Callable[[DisposalCase, User, forms.Form], Any]
    success: Any
    offered_to: Callable[[Any, DisposalCase], bool]
    icon: str = "check2"
    style: str = "primary"
    condition: Callable[[DisposalCase, Any], bool] | None = None
    confirm: Any = ""
    field_map: Callable[[forms.Form], dict[str, str]] | None = None

    def available(self, user: Any, case: DisposalCase) -> bool:
        if case.status not in self.statuses or not self.offered_to(user, case):
            return False
        return self.condition is None or self.condition(case, user)

    def make_form(self, case: DisposalCase, data: Any = None) -> forms.Form:
        return self.form(case, data, f"id_{self.name}_%s")

    def url(self, case: DisposalCase) -> str:
        return reverse(f"disposal:case_{self.name}", args=[case.pk])


def _bank(action: str = Action.CHANGE) -> Callable[[Any, DisposalCase], bool]:
    return lambda user, case: _is_bank_officer(user, case, action)


def _payment_confirmer(user: Any, case: DisposalCase) -> bool:
    return selectors.runs_platform(user, case.platform_id) or _is_bank_officer(user, case)


def _not_proposer(case: DisposalCase, user: Any) -> bool:
    return case.proposed_by_id != user.pk


def _sale_route(case: DisposalCase, user: Any) -> bool:
    return case.route in (Route.NEGOTIATED, Route.ACQUISITION)


def _licensing(case: DisposalCase, user: Any) -> bool:
    return case.route == Route.LICENSING


def _closable(case: DisposalCase, user: Any) -> bool:
    return case.status == CaseStatus.DISTRIBUTED or case.route == Route.LICENSING


def _propose(case: DisposalCase, user: User, form: forms.Form) -> Any:
    assert isinstance(form, ProposeRouteForm)
    d = form.cleaned_data
    return services.case_propose_route(
        case=case, route=d["route"], platform=form.party(), note=d.get("note") or "", acting_user=user
    )


def _licence(case: DisposalCase, user: User, form: forms.Form) -> Any:
    d = form.cleaned_data
    return services.licence_income_record(
        case=case,
        licensee=d["licensee"],
        amount=Money(d["amount"]),
        costs=money(d.get("costs")),
        received_on=d["received_on"],
        idempotency_key=d.get("idempotency_key") or new_idempotency_key(),
        acting_user=user,
    )


ROUTE_STATES = frozenset({CaseStatus.OPENED, CaseStatus.ROUTE_PROPOSED, CaseStatus.ROUTE_APPROVED})

CASE_ACTIONS: dict[str, CaseAction] = {
    a.name: a
    for a in (
        CaseAction(
            "revalue",
            gettext_lazy("重新评估"),
            Action.CHANGE,
            ROUTE_STATES,
            _revalue_form,
            lambda c, u, f: services.case_revalue(case=c, acting_user=u, agency=f.cleaned_data.get("agency")),
            gettext_lazy("已对案件中的知识产权重新机评，处置评估值（P50）已更新。"),
            _bank(),
            icon="arrow-repeat",
            style="outline-primary",
        ),
        CaseAction(
            "propose",
            gettext_lazy("提出处置方案"),
            Action.CHANGE,
            ROUTE_STATES,
            _route_form,
            _propose,
            gettext_lazy("处置方案已提出，等待另一位有审批权限的人员审批。"),
            _bank(),
            icon="signpost-split",
            field_map=lambda f: {"platform": f.party_field()} if isinstance(f, ProposeRouteForm) else {},
        ),
        CaseAction(
            "approve",
            gettext_lazy("审批处置方案"),
            Action.APPROVE,
            frozenset({CaseStatus.ROUTE_PROPOSED}),
            _plain(forms.Form),
            lambda c, u, f: services.case_approve_route(case=c, acting_user=u),
            gettext_lazy("处置方案已审批。"),
            _bank(Action.APPROVE),
            icon="check2-circle",
            style="success",
            condition=_not_proposer,
        ),
        CaseAction(
            "sale",
            gettext_lazy("登记成交"),
            Action.CHANGE,
            frozenset({CaseStatus.ROUTE_APPROVED}),
            _sale_form,
            lambda c, u, f: services.sale_record(
                case=c, buyer=f.cleaned_data["buyer"], price=Money(f.cleaned_data["price"]), acting_user=u
            ),
            gettext_lazy("成交已登记，等待买受人付清价款。"),
            _bank(),
            icon="hand-thumbs-up",
            condition=_sale_route,
        ),
        CaseAction(
            "pay",
            gettext_lazy("确认价款付清"),
            Action.VIEW,
            frozenset({CaseStatus.SOLD}),
            _plain(PaymentForm),
            lambda c, u, f: services.payment_confirm(case=c, acting_user=u, paid_on=f.cleaned_data.get("paid_on")),
            gettext_lazy("已确认买受人付清价款。"),
            _payment_confirmer,
            icon="cash-coin",
            style="success",
            confirm=gettext_lazy("确认买受人已付清成交价款？"),
        ),
        CaseAction(
            "transfer",
            gettext_lazy("办理过户并注销质押"),
            Action.CHANGE,
            frozenset({CaseStatus.PAID}),
            _plain(forms.Form),
            lambda c, u, f: services.case_transfer(case=c, acting_user=u),
            gettext_lazy("知识产权已过户给买受人，质押注销登记已提交。"),
            _bank(),
            icon="arrow-left-right",
            confirm=gettext_lazy("确认将知识产权过户给买受人并申请注销质押登记？"),
        ),
        CaseAction(
            "distribute",
            gettext_lazy("分配价款"),
            Action.CHANGE,
            frozenset({CaseStatus.TRANSFERRED}),
            _plain(DistributeForm),
            lambda c, u, f: services.proceeds_distribute(case=c, costs=Money(f.cleaned_data["costs"]), acting_user=u),
            gettext_lazy("价款已按分配顺序入账；有代偿的，回收已计入代偿申请，待基金清算。"),
            _bank(),
            icon="diagram-3",
            style="success",
        ),
        CaseAction(
            "licence",
            gettext_lazy("登记许可收入"),
            Action.CHANGE,
            frozenset({CaseStatus.IN_PROGRESS}),
            _plain(LicenceIncomeForm),
            _licence,
            gettext_lazy("许可收入已登记并按分配顺序入账。"),
            _bank(),
            icon="cash-stack",
            style="outline-primary",
            condition=_licensing,
        ),
        CaseAction(
            "close",
            gettext_lazy("结案"),
            Action.CHANGE,
            frozenset({CaseStatus.DISTRIBUTED, CaseStatus.IN_PROGRESS}),
            _plain(CloseForm),
            lambda c, u, f: services.case_close(case=c, acting_user=u, note=f.cleaned_data.get("note") or ""),
            gettext_lazy("处置案件已结案。"),
            _bank(),
            icon="archive",
            style="outline-secondary",
            condition=_closable,
        ),
    )
}


def _account(code: str) -> dict[str, str]:
    kind, _sep, _rest = code.partition(":")
    return {"label": str(ACCOUNT_LABELS.get(kind, kind)), "code": code}


def _entries(case: DisposalCase) -> dict[str, Any]:
    rows = []
    total_fen = 0
    for entry in case.entries.select_related("payee").order_by("posted_on", "sequence", "pk"):
        rows.append(
            {
                "entry": entry,
                "step": entry.step,
                "step_label": entry.get_step_display(),
                "source": entry.get_source_display(),
                "payee": entry.payee.name if entry.payee is not None else "—",
                "debit": _account(entry.debit_account),
                "credit": _account(entry.credit_account),
                "amount": money_text(entry.amount),
            }
        )
        if entry.step != ProceedsStep.COMPENSATION:  # the fund's return comes out of the bank's share
            total_fen += entry.amount.fen
    return {"rows": rows, "total": money_text(Money.from_fen(total_fen)) if rows else ""}


def _rights(case: DisposalCase, user: Any) -> dict[str, Any]:
    from ipledge.valuation.models import Valuation

    items = list(selectors.case_rights(case))
    ids = {i.prior_valuation_id for i in items} | {i.fresh_valuation_id for i in items}
    visible = set(
        Valuation.objects.restrict(user, Action.VIEW).filter(pk__in=[i for i in ids if i]).values_list("pk", flat=True)
    )
    rows = [
        {
            "item": item,
            "right": item.ip_right,
            "prior": money_text(item.prior_value),
            "prior_link": item.prior_valuation_id if item.prior_valuation_id in visible else None,
            "fresh": money_text(item.fresh_value),
            "fresh_link": item.fresh_valuation_id if item.fresh_valuation_id in visible else None,
            "share": money_text(item.price_share),
        }
        for item in items
    ]
    return {
        "rows": rows,
        "prior_total": _sum_text([i.prior_value for i in items]),
        "fresh_total": _sum_text([i.fresh_value for i in items]),
        "share_total": _sum_text([i.price_share for i in items]),
    }


def _sum_text(values: list[Money | None]) -> str:
    known = [v for v in values if v is not None]
    return money_text(sum(known, Money(0))) if known else "—"


def _timeline(case: DisposalCase) -> list[dict[str, Any]]:
    """The case's way through the state machine: each step done, current (next to do) or to come."""
    sale = case.route != Route.LICENSING
    first_lot = case.lots.order_by("created_at").first()
    steps: list[tuple[int, Any, Any, Any]] = [
        (CaseStatus.OPENED, _("已立案"), case.opened_on, case.opened_by),
        (
            CaseStatus.ROUTE_PROPOSED,
            _("提出处置方案"),
            case.get_route_display() if case.route else None,
            case.proposed_by,
        ),
        (CaseStatus.ROUTE_APPROVED, _("方案审批"), case.route_approved_on, case.approved_by),
        (
            CaseStatus.IN_PROGRESS,
            _("许可运营中") if not sale else _("挂牌拍卖") if case.route == Route.AUCTION else _("洽谈转让"),
            timezone.localdate(first_lot.created_at) if first_lot is not None else None,
            None,
        ),
    ]
    if sale:
        steps += [
            (CaseStatus.SOLD, _("成交"), case.sold_on, case.buyer.name if case.buyer else None),
            (CaseStatus.PAID, _("价款付清"), case.paid_on, None),
            (CaseStatus.TRANSFERRED, _("过户及注销质押"), case.transferred_on, None),
            (CaseStatus.DISTRIBUTED, _("价款分配"), case.distributed_on, None),
        ]
    steps.append((CaseStatus.CLOSED, _("结案"), case.closed_on, None))
    rows = []
    current_found = False
    for status, label, at, by in steps:
        done = case.status >= status and not (status == CaseStatus.IN_PROGRESS and sale and first_lot is None)
        if status == CaseStatus.IN_PROGRESS and case.route in (Route.NEGOTIATED, Route.ACQUISITION):
            continue  # a negotiated sale or an acquisition goes from the approval straight to the sale
        current = not done and not current_found
        current_found = current_found or current
        rows.append(
            {
                "status": int(status),
                "label": label,
                "at": at.strftime("%Y-%m-%d") if hasattr(at, "strftime") else (str(at) if at else ""),
                "by": str(by) if by else "",
                "done": done,
                "current": current,
            }
        )
    return rows


def _claims(case: DisposalCase, user: Any) -> list[dict[str, Any]]:
    from ipledge.compensation.models import Claim

    claims = list(Claim.objects.filter(loan_id=case.loan_id).select_related("fund").order_by("-pk"))
    visible = set(
        Claim.objects.restrict(user, Action.VIEW).filter(pk__in=[c.pk for c in claims]).values_list("pk", flat=True)
    )
    return [{"claim": c, "visible": c.pk in visible} for c in claims]


def _case_context(
    request: AuthenticatedRequest, case: DisposalCase, bound: dict[str, forms.Form] | None = None
) -> dict[str, Any]:
    user = request.user
    bound = bound or {}
    panels: list[dict[str, Any]] = []
    for spec in CASE_ACTIONS.values():
        if not spec.available(user, case):
            continue
        form = bound.get(spec.name) or spec.make_form(case)
        panels.append({"spec": spec, "form": form, "url": spec.url(case), "open": spec.name in bound})
    lots = list(case.lots.select_related("session").order_by("-created_at"))
    for lot in lots:
        lot.badge_css = LOT_BADGES.get(lot.status, "text-bg-secondary")  # type: ignore[attr-defined]
    proposer_waiting = (
        case.status == CaseStatus.ROUTE_PROPOSED
        and case.proposed_by_id == user.pk
        and "approve" not in {p["spec"].name for p in panels}
    )
    return {
        "case": case,
        "loan": case.loan,
        "status_css": CASE_BADGES.get(case.status, "text-bg-secondary"),
        "loan_visible": Loan.objects.restrict(user, Action.VIEW).filter(pk=case.loan_id).exists(),
        "rights": _rights(case, user),
        "timeline": _timeline(case),
        "lots": lots,
        "licence_incomes": list(case.licence_incomes.order_by("received_on", "pk")),
        "entries": _entries(case),
        "claims": _claims(case, user),
        "panels": panels,
        "proposer_waiting": proposer_waiting,
        "is_lender": _is_bank_officer(user, case, Action.VIEW),
        **history_context(user, case),
    }


def _case(user: Any, pk: int, action: str = Action.VIEW) -> DisposalCase:
    case = scoped_get(DisposalCase, user=user, pk=pk, action=action)
    return DisposalCase.objects.select_related(
        "loan__bank",
        "loan__borrower",
        "bank",
        "pledgor",
        "registration",
        "platform",
        "buyer",
        "proposed_by",
        "approved_by",
        "opened_by",
        "cancellation_filing",
    ).get(pk=case.pk)


def case_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    case = _case(request.user, pk)
    return render(request, "disposal/case_detail.html", _case_context(request, case))


@require_POST
def case_action(request: AuthenticatedRequest, pk: int, action: str) -> HttpResponse:
    spec = CASE_ACTIONS.get(action)
    if spec is None:
        raise Http404
    user = request.user
    case = _case(user, pk, spec.permission)
    form = spec.make_form(case, request.POST)
    if not spec.available(user, case):
        return _unavailable(request, case, spec, form)
    if form.is_valid():
        try:
            with transaction.atomic():
                spec.run(case, user, form)
        except ValidationError as exc:
            _attach(form, exc, DisposalCase, spec.field_map(form) if spec.field_map else None)
        else:
            messages.success(request, str(spec.success))
            return redirect(reverse("disposal:case_detail", args=[case.pk]) + "#actions")
    case = _case(user, pk)
    return render(request, "disposal/case_detail.html", _case_context(request, case, {spec.name: form}))


def _unavailable(request: AuthenticatedRequest, case: DisposalCase, spec: CaseAction, form: forms.Form) -> HttpResponse:
    """An action the page does not offer (another state, someone else's role, the proposer approving): the service
    still gets the request, so its rule is what the user reads (or 403 when the role may never do it)."""
    if form.is_valid():
        try:
            with transaction.atomic():
                spec.run(case, request.user, form)
        except ValidationError as exc:
            _flash_errors(request, exc)
        else:
            messages.success(request, str(spec.success))
    else:
        messages.error(
            request,
            _("处置案件当前状态为“%(status)s”，不能%(action)s。")
            % {"status": case.get_status_display(), "action": spec.label},
        )
    return redirect("disposal:case_detail", case.pk)


# ---------------------------------------------------------------------------
# Auction sessions and lots
# ---------------------------------------------------------------------------


def may_run_sessions(user: Any) -> bool:
    """Disposal platforms open their own sessions."""
    return _may_add(user, AuctionSession)


def session_list(request: AuthenticatedRequest) -> HttpResponse:
    filterset = SessionFilterSet(request.GET or None, queryset=selectors.session_list(user=request.user))
    table = _paged(request, SessionTable(filterset.qs))
    return render(
        request,
        "disposal/session_list.html",
        {"table": table, "filter": filterset, "can_create": may_run_sessions(request.user)},
    )


def _own_platforms(user: Any) -> QuerySet[Organisation]:
    scope = scope_for(user)
    platforms = Organisation.objects.filter(kind=OrganisationKind.DISPOSAL_PLATFORM, is_active=True)
    if scope is not None and not scope.is_platform:
        platforms = platforms.filter(tree_path__startswith=scope.org_tree_path)
    return platforms.order_by("name")


def session_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not may_run_sessions(user):
        raise Http404
    form = SessionForm(request.POST or None, platforms=_own_platforms(user))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                session = services.session_create(
                    platform=d["platform"],
                    title=d["title"],
                    starts_at=d["starts_at"],
                    ends_at=d["ends_at"],
                    extension_minutes=d["extension_minutes"],
                    acting_user=user,
                )
        except ValidationError as exc:
            _attach(form, exc, AuctionSession)
        else:
            messages.success(request, _("拍卖场次“%(title)s”已创建，可以挂牌标的。") % {"title": session.title})
            return redirect("disposal:session_detail", session.pk)
    return render(request, "disposal/session_form.html", {"form": form})


def _runs(user: Any, session: AuctionSession) -> bool:
    return AuctionSession.objects.restrict(user, Action.CHANGE).filter(pk=session.pk).exists()


def _lot_row(lot: Lot) -> dict[str, Any]:
    """The public face of a lot: its rights and their values, prices and times (never who bid)."""
    items = list(lot.case.rights.all())
    return {
        "lot": lot,
        "rights": [item.ip_right for item in items],
        "prior_total": _sum_text([i.prior_value for i in items]),
        "fresh_total": _sum_text([i.fresh_value for i in items]),
        "reserve": money_text(lot.reserve_price),
        "deposit": money_text(lot.deposit),
        "increment": money_text(lot.increment),
        "current": money_text(lot.current_price),
        "sold_price": money_text(lot.current_price) if lot.status == LotStatus.SOLD else "",
        "extended": lot.ends_at > lot.session.ends_at,
        "badge_css": LOT_BADGES.get(lot.status, "text-bg-secondary"),
    }


def session_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    session = scoped_get(AuctionSession, user=user, pk=pk)
    runs = _runs(user, session)
    lots = [_lot_row(lot) for lot in selectors.session_lots(session)]
    return render(
        request,
        "disposal/session_detail.html",
        {
            "session": session,
            "status_css": SESSION_BADGES.get(session.status, "text-bg-secondary"),
            "lots": lots,
            "can_list": runs and session.status == SessionStatus.SCHEDULED and session.ends_at > timezone.now(),
            "runs": runs,
        },
    )


def lot_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The platform lists an approved online-auction case as a lot of its session (集中拍卖)."""
    user = request.user
    session = scoped_get(AuctionSession, user=user, pk=pk, action=Action.CHANGE)
    cases = selectors.listable_cases(user=user, session=session)
    initial = {"case": request.GET["case"]} if request.GET.get("case", "").isdigit() else {}
    form = LotForm(request.POST or None, cases=cases, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                lot = services.lot_list(
                    session=session,
                    case=d["case"],
                    reserve_price=Money(d["reserve_price"]),
                    deposit=Money(d["deposit"]),
                    increment=Money(d["increment"]),
                    acting_user=user,
                )
        except ValidationError as exc:
            _attach(form, exc, Lot)
        else:
            messages.success(request, _("标的 %(n)s 已挂牌。") % {"n": lot.number})
            return redirect("disposal:lot_detail", lot.pk)
    candidates = [
        {
            "case": case,
            "prior_total": _sum_text([r.prior_value for r in case.rights.all()]),
            "fresh_total": _sum_text([r.fresh_value for r in case.rights.all()]),
            "rights": len(case.rights.all()),
        }
        for case in cases
    ]
    return render(request, "disposal/lot_form.html", {"form": form, "session": session, "candidates": candidates})


def _lot(user: Any, pk: int, action: str = Action.VIEW) -> Lot:
    lot = scoped_get(Lot, user=user, pk=pk, action=action)
    return Lot.objects.select_related("session__platform", "case__bank", "case__pledgor", "winner").get(pk=lot.pk)


def _is_party(user: Any, case: DisposalCase) -> bool:
    """The pledgee bank's tree and the pledgor may not bid (the service refuses them)."""
    org = getattr(user, "organisation", None)
    if org is None:
        return False
    bank_path = case.bank.tree_path
    return (
        bank_path.startswith(org.tree_path)
        or org.tree_path.startswith(bank_path)
        or case.pledgor.organisation_id == org.pk
    )


def _lot_context(request: AuthenticatedRequest, lot: Lot, bid_form: BidForm | None = None) -> dict[str, Any]:
    user = request.user
    now = timezone.now()
    case = lot.case
    listed = lot.status == LotStatus.LISTED
    started = lot.session.starts_at <= now
    ended = now >= lot.ends_at
    minimum = Money.from_fen(
        auction_rules.minimum_bid_fen(
            reserve_fen=lot.reserve_price.fen,
            increment_fen=lot.increment.fen,
            current_fen=lot.current_price.fen if lot.current_price is not None else None,
        )
    )
    mine = selectors.own_registration(lot, user)
    names = selectors.identities(lot, user)
    bids = [
        {
            "sequence": bid.sequence,
            "alias": bid.registration.alias,
            "name": names.get(bid.registration_id, ""),
            "amount": money_text(bid.amount),
            "fen": bid.amount.fen,
            "placed_at": bid.placed_at,
            "mine": mine is not None and bid.registration_id == mine.pk,
            "leading": bid.sequence == lot.bid_count,
        }
        for bid in selectors.bid_history(lot)
    ]
    runs = _runs(user, lot.session)
    sees_bidders = runs or selectors.may_act_on_case(case, user, Action.VIEW)
    registrations = selectors.lot_bidders(lot, user).order_by("alias") if sees_bidders else []
    bidders = [
        {
            "registration": registration,
            "name": registration.bidder.name,
            "badge_css": DEPOSIT_BADGES.get(registration.deposit_status, "text-bg-secondary"),
            "confirmable": runs and registration.deposit_status == DepositStatus.PENDING,
        }
        for registration in registrations
    ]
    scope = scope_for(user)
    party = _is_party(user, case)
    may_sign_up = scope is not None and scope.may(Action.ADD) and getattr(user, "organisation", None) is not None
    can_bid = mine is not None and mine.deposit_status == DepositStatus.PAID and listed and started and not ended
    chart = None
    if bids:
        ordered = sorted(bids, key=lambda b: b["sequence"])
        chart = {
            "bids": {
                "name": str(_("出价（万元）")),
                "labels": [f"#{b['sequence']}" for b in ordered],
                "values": [b["fen"] / 1_000_000 for b in ordered],
            }
        }
    return {
        "lot": lot,
        "session": lot.session,
        "case": case,
        "row": _lot_row(lot),
        "rights": _rights(case, user),
        "status_css": LOT_BADGES.get(lot.status, "text-bg-secondary"),
        "case_visible": DisposalCase.objects.restrict(user, Action.VIEW).filter(pk=case.pk).exists(),
        "listed": listed,
        "started": started,
        "ended": ended,
        "minimum": money_text(minimum) if listed else "",
        "bids": bids,
        "names_shown": bool(names),
        "mine": mine,
        "mine_css": DEPOSIT_BADGES.get(mine.deposit_status, "text-bg-secondary") if mine else "",
        "runs": runs,
        "sees_bidders": sees_bidders,
        "bidders": bidders,
        "party": party,
        "can_register": listed and not ended and mine is None and may_sign_up and not party,
        "can_bid": can_bid,
        "bid_form": bid_form or (BidForm(minimum=minimum) if can_bid else None),
        "can_close": runs and listed and ended,
        "deposit_form": DepositForm(),
        "winner_name": names.get(lot.winner_id or 0, "") if lot.winner_id else "",
        "winner_alias": lot.winner.alias if lot.winner is not None else "",
        "chart": chart,
    }


def lot_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    lot = _lot(request.user, pk)
    context = _lot_context(request, lot)
    if getattr(request, "htmx", False):
        return render(request, "disposal/partials/lot_live.html", context)
    return render(request, "disposal/lot_detail.html", context)


@require_POST
def lot_register(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """An organisation signs up to bid (竞买登记); the service refuses the pledgee bank and the pledgor."""
    user = request.user
    lot = _lot(user, pk)
    try:
        with transaction.atomic():
            registration = services.bidder_register(lot=lot, acting_user=user)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        messages.success(
            request,
            _("已登记竞买，竞买号 %(alias)s。请缴纳保证金 %(deposit)s 元，平台确认到账后即可出价。")
            % {"alias": registration.alias, "deposit": money_text(lot.deposit)},
        )
    return redirect("disposal:lot_detail", lot.pk)


@require_POST
def registration_deposit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The platform confirms a bidder's deposit arrived (保证金到账)."""
    user = request.user
    registration = scoped_get(BidderRegistration, user=user, pk=pk, action=Action.CHANGE)
    form = DepositForm(request.POST)
    paid_on = form.cleaned_data.get("paid_on") if form.is_valid() else None
    try:
        with transaction.atomic():
            services.deposit_confirm(registration=registration, acting_user=user, paid_on=paid_on)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        messages.success(request, _("竞买号 %(alias)s 的保证金已确认到账。") % {"alias": registration.alias})
    return redirect(reverse("disposal:lot_detail", args=[registration.lot_id]) + "#bidders")


@require_POST
def lot_bid(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    lot = _lot(user, pk)
    form = BidForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                bid = services.bid_place(lot=lot, amount=Money(form.cleaned_data["amount"]), acting_user=user)
        except ValidationError as exc:
            _attach(form, exc, Lot)
        else:
            messages.success(
                request,
                _("出价成功：%(amount)s 元（第 %(n)s 次出价）。")
                % {"amount": money_text(bid.amount), "n": bid.sequence},
            )
            return redirect(reverse("disposal:lot_detail", args=[lot.pk]) + "#bid")
    lot = _lot(user, pk)
    return render(request, "disposal/lot_detail.html", _lot_context(request, lot, form))


@require_POST
def lot_close(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The platform closes a lot after its (possibly extended) end: the highest bid wins, or it goes unsold."""
    user = request.user
    lot = _lot(user, pk, Action.CHANGE)
    try:
        with transaction.atomic():
            lot = services.lot_close(lot=lot, acting_user=user)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        if lot.status == LotStatus.SOLD:
            messages.success(request, _("拍卖成交：%(price)s 元。") % {"price": money_text(lot.current_price)})
        else:
            messages.warning(request, _("无人出价，标的流拍；案件回到“处置方式已审批”，可重新挂牌或改变处置方式。"))
    return redirect("disposal:lot_detail", lot.pk)


# ---------------------------------------------------------------------------
# Public listing (拍卖公示)
# ---------------------------------------------------------------------------


@login_not_required
def public_auctions(request: HttpRequest) -> HttpResponse:
    """Sessions with lots on sale or recently closed: the rights and their values, reserve, current price, end and
    the result. Public fields only: no bidder, alias, pledgor or bank."""
    sessions: list[dict[str, Any]] = []
    index: dict[int, dict[str, Any]] = {}
    for lot in selectors.public_lots():
        group = index.get(lot.session_id)
        if group is None:
            group = {"session": lot.session, "lots": []}
            index[lot.session_id] = group
            sessions.append(group)
        group["lots"].append(_lot_row(lot))
    return render(
        request,
        "disposal/public_auctions.html",
        {"sessions": sessions, "results_days": selectors.PUBLIC_RESULTS_DAYS},
    )
