"""Banking pages (白名单推送与意向性授信额度): the whitelist as a bank receives it (filters, each row expandable to its
explanation, xlsx export), subscriptions, credit decisions, and park intended credit lines with their allocations.

Views are thin: reads start from `restrict()` (another organisation's object answers 404 like a missing one), each
write runs one service of `ipledge.screening.services.banking`, a `ValidationError` is shown next to the field it
names, and a `PermissionDenied` answers 403. Create pages answer 404 to users who may never create such a row.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from ipledge.core.choices import OrganisationKind
from ipledge.core.forms import attach_errors
from ipledge.core.models import Organisation
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest
from ipledge.registry.models import Park

from .. import selectors_banking as selectors
from ..choices import LineStatus
from ..export_banking import XLSX, export_filename, whitelist_workbook
from ..forms_banking import (
    AllocationForm,
    BankWhitelistFilterForm,
    DecisionForm,
    LineForm,
    SubscriptionForm,
    money_or_none,
)
from ..models import IntendedCreditLine, LineAllocation, Subscription, WhitelistEntry
from ..services import banking as services
from ..tables_banking import DecisionTable, LineTable, SubscriptionTable, money_text

PER_PAGE = 25


def _paged(request: AuthenticatedRequest, table: Any) -> Any:
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return table


def _may_add(user: Any, model: Any) -> bool:
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    return scope.is_platform or model.scope_q(scope, Action.ADD) is not None


def _own_banks(user: Any) -> QuerySet[Organisation]:
    scope = scope_for(user)
    banks = Organisation.objects.filter(kind=OrganisationKind.BANK, is_active=True)
    if scope is not None and not scope.is_platform:
        banks = banks.filter(tree_path__startswith=scope.org_tree_path)
    return banks.order_by("tree_path", "name")


def is_deciding_bank(user: Any) -> bool:
    """A bank officer who may record credit decisions (what `services.decision_record` accepts)."""
    scope = scope_for(user)
    return scope is not None and scope.kind == OrganisationKind.BANK and scope.may(Action.ADD)


# ---------------------------------------------------------------------------
# The bank's whitelist
# ---------------------------------------------------------------------------


def _filtered_entries(
    request: AuthenticatedRequest,
) -> tuple[BankWhitelistFilterForm, QuerySet[WhitelistEntry], str]:
    """The filter form, the entries it selects, and its query string (without the page number)."""
    user = request.user
    parks = Park.objects.filter(
        pk__in=selectors.current_entries(user=user).values("version__whitelist__park_id")
    ).order_by("name")
    data = request.GET.copy()
    data.pop("page", None)
    form = BankWhitelistFilterForm(data or None, parks=parks)
    return form, selectors.bank_entries(user=user, filters=form.filters()), data.urlencode()


@require_GET
def bank_whitelist(request: AuthenticatedRequest) -> HttpResponse:
    """授信白名单 (bank view): entries of the current approved whitelists the user receives, best score first."""
    user = request.user
    form, entries, query = _filtered_entries(request)
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
    deciding = is_deciding_bank(user)
    rows = [
        {
            "entry": entry,
            "explanation": selectors.explain_entry(entry),
            "outcome": selectors.outcome_label(entry.latest_outcome),  # type: ignore[attr-defined]
            "amount": money_text(entry.latest_amount),  # type: ignore[attr-defined]
        }
        for entry in page
    ]
    scope = scope_for(user)
    subscribed = (
        selectors.subscription_list(user=user, active=True).exists()
        if scope is not None and scope.kind == OrganisationKind.BANK
        else True
    )
    return render(
        request,
        "screening/banking/whitelist.html",
        {
            "filter": {"form": form},
            "entries": entries,
            "page": page,
            "rows": rows,
            "can_decide": deciding,
            "subscribed": subscribed,
            "export_url": reverse("screening:bank_export") + (f"?{query}" if query else ""),
            "page_query": query,
        },
    )


@require_GET
def bank_export(request: AuthenticatedRequest) -> HttpResponse:
    """The same entries, filters included, as an xlsx workbook."""
    _form, entries, _query = _filtered_entries(request)
    response = HttpResponse(whitelist_workbook(entries.iterator(chunk_size=500)), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(export_filename())}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------------------
# Subscriptions
# ---------------------------------------------------------------------------


def subscription_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    table = _paged(request, SubscriptionTable(selectors.subscription_list(user=user)))
    can_cancel = scope_for(user) is not None and scope_for(user).may(Action.CHANGE)  # type: ignore[union-attr]
    return render(
        request,
        "screening/banking/subscription_list.html",
        {"table": table, "can_create": _may_add(user, Subscription), "can_cancel": can_cancel},
    )


def subscription_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not _may_add(user, Subscription):
        raise Http404
    form = SubscriptionForm(request.POST or None, banks=_own_banks(user), parks=Park.objects.order_by("name"))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                subscription = services.subscription_create(
                    bank=d["bank"], park=d.get("park"), region=d.get("region"), acting_user=user
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(
                request,
                _("已订阅“%(target)s”的授信白名单。") % {"target": subscription.park or subscription.region},
            )
            return redirect("screening:subscription_list")
    return render(request, "screening/banking/subscription_form.html", {"form": form})


@require_POST
def subscription_cancel(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    subscription = scoped_get(Subscription, user=request.user, pk=pk)
    try:
        with transaction.atomic():
            services.subscription_cancel(subscription=subscription, acting_user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("订阅已取消，不再接收该范围的白名单。"))
    return redirect("screening:subscription_list")


# ---------------------------------------------------------------------------
# Credit decisions
# ---------------------------------------------------------------------------


def decision_list(request: AuthenticatedRequest) -> HttpResponse:
    table = _paged(request, DecisionTable(selectors.decision_list(user=request.user)))
    return render(request, "screening/banking/decision_list.html", {"table": table})


def decision_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """One entry within the user's reach with its explanation and the decisions the user sees on the enterprise;
    a bank officer who may record decisions gets the form (作出授信决定) when the entry is in a current approved
    version it receives. Outside the user's reach: 404; a POST by anyone else: 403."""
    user = request.user
    scoped_get(WhitelistEntry, user=user, pk=pk)
    current = selectors.bank_entries(user=user).filter(pk=pk).first()
    deciding = current is not None and is_deciding_bank(user)
    if request.method == "POST" and not deciding:
        raise PermissionDenied
    entry = current or WhitelistEntry.objects.select_related(
        "enterprise", "version", "version__whitelist", "version__whitelist__park", "version__scorecard"
    ).get(pk=pk)
    form: DecisionForm | None = None
    allocations = selectors.drawable_allocations(user=user, entry=entry) if deciding else LineAllocation.objects.none()
    if deciding:
        form = DecisionForm(request.POST or None, allocations=allocations)
    if form is not None and request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                services.decision_record(
                    entry=entry,
                    outcome=d["outcome"],
                    amount=money_or_none(d.get("amount")),
                    term_months=d.get("term_months"),
                    renewal_without_repayment=bool(d.get("renewal_without_repayment")),
                    allocation=d.get("allocation"),
                    decided_on=d.get("decided_on"),
                    note=d.get("note") or "",
                    acting_user=user,
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("已记录对“%(name)s”的授信决定。") % {"name": entry.enterprise.name})
            return redirect("screening:bank_whitelist")
    history = selectors.decision_list(user=user).filter(entry__enterprise_id=entry.enterprise_id)
    return render(
        request,
        "screening/banking/decision_form.html",
        {
            "form": form,
            "entry": entry,
            "is_current": current is not None,
            "explanation": selectors.explain_entry(entry),
            "history": history,
            "has_allocations": allocations.exists(),
        },
    )


# ---------------------------------------------------------------------------
# Intended credit lines
# ---------------------------------------------------------------------------


def line_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    table = _paged(request, LineTable(selectors.line_list(user=user)))
    return render(
        request,
        "screening/banking/line_list.html",
        {"table": table, "can_create": _may_add(user, IntendedCreditLine)},
    )


def line_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not _may_add(user, IntendedCreditLine):
        raise Http404
    form = LineForm(request.POST or None, banks=_own_banks(user))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                line = services.line_create(
                    bank=d["bank"],
                    park=d["park"],
                    basis=d["basis"],
                    ipc_group=d.get("ipc_group") or "",
                    brand=d.get("brand") or "",
                    amount=Money(d["amount"]),
                    valid_from=d["valid_from"],
                    valid_to=d["valid_to"],
                    conditions=d.get("conditions") or "",
                    acting_user=user,
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("意向性授信额度已授予“%(park)s”。") % {"park": line.park.name})
            return redirect("screening:line_detail", line.pk)
    return render(request, "screening/banking/line_form.html", {"form": form})


def _is_allocator(user: Any, line: IntendedCreditLine) -> bool:
    """An officer of the line's park administration (what `services.allocation_create` accepts)."""
    try:
        services.require_park_officer(user, line, Action.ADD)
    except PermissionDenied:
        return False
    return True


def _line_context(
    request: AuthenticatedRequest, line: IntendedCreditLine, form: AllocationForm | None = None
) -> dict[str, Any]:
    user = request.user
    allocations = selectors.line_allocations(user=user, line=line)
    may_allocate = line.status == LineStatus.ACTIVE and _is_allocator(user, line)
    if may_allocate and form is None:
        form = AllocationForm(entries=selectors.allocatable_entries(line=line))
    may_release = LineAllocation.objects.restrict(user, Action.CHANGE).filter(line=line).exists()
    may_withdraw = (
        line.status == LineStatus.ACTIVE
        and IntendedCreditLine.objects.restrict(user, Action.CHANGE).filter(pk=line.pk).exists()
    )
    return {
        "line": line,
        "figures": selectors.line_figures(line),
        "allocations": allocations,
        "form": form if may_allocate else None,
        "may_release": may_release,
        "may_withdraw": may_withdraw,
        "decisions": selectors.decision_list(user=user).filter(allocation__line=line),
    }


def _line(user: Any, pk: int) -> IntendedCreditLine:
    scoped_get(IntendedCreditLine, user=user, pk=pk)
    return selectors.line_list(user=user).get(pk=pk)


def line_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    line = _line(request.user, pk)
    return render(request, "screening/banking/line_detail.html", _line_context(request, line))


@require_POST
def line_allocate(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    line = _line(user, pk)
    if not _is_allocator(user, line):
        raise PermissionDenied
    form = AllocationForm(request.POST, entries=selectors.allocatable_entries(line=line))
    if form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                allocation = services.allocation_create(
                    line=line, entry=d["entry"], amount=Money(d["amount"]), note=d.get("note") or "", acting_user=user
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(
                request,
                _("已向“%(name)s”分配意向额度 %(amount)s 元。")
                % {"name": allocation.enterprise.name, "amount": money_text(allocation.amount)},
            )
            return redirect("screening:line_detail", line.pk)
    line = _line(user, pk)
    return render(request, "screening/banking/line_detail.html", _line_context(request, line, form))


@require_POST
def line_withdraw(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    line = scoped_get(IntendedCreditLine, user=request.user, pk=pk)
    try:
        with transaction.atomic():
            services.line_withdraw(line=line, acting_user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("意向性授信额度已撤销，未使用的分配已释放。"))
    return redirect("screening:line_detail", line.pk)


@require_POST
def allocation_release(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    allocation = scoped_get(LineAllocation, user=request.user, pk=pk)
    try:
        with transaction.atomic():
            allocation = services.allocation_release(allocation=allocation, acting_user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        unused = allocation.amount - allocation.utilised
        messages.success(request, _("已释放分配，%(amount)s 元退回额度。") % {"amount": money_text(unused)})
    return redirect("screening:line_detail", allocation.line_id)


urlpatterns = [
    path("bank/", bank_whitelist, name="bank_whitelist"),
    path("bank/export.xlsx", bank_export, name="bank_export"),
    path("subscriptions/", subscription_list, name="subscription_list"),
    path("subscriptions/new/", subscription_create, name="subscription_create"),
    path("subscriptions/<int:pk>/cancel/", subscription_cancel, name="subscription_cancel"),
    path("decisions/", decision_list, name="decision_list"),
    path("entries/<int:pk>/decide/", decision_create, name="decision_create"),
    path("lines/", line_list, name="line_list"),
    path("lines/new/", line_create, name="line_create"),
    path("lines/<int:pk>/", line_detail, name="line_detail"),
    path("lines/<int:pk>/allocate/", line_allocate, name="line_allocate"),
    path("lines/<int:pk>/withdraw/", line_withdraw, name="line_withdraw"),
    path("allocations/<int:pk>/release/", allocation_release, name="allocation_release"),
]
