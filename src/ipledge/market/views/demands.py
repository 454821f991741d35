"""Demand pages (融资项目库): the library, posting (an enterprise for itself, a park for a member enterprise), editing,
withdrawing, linking the loan, the sharing consent, and one demand with its ranked products and the reasons; the
bank's leads (线索) with the respond form; the park's unmet demands.

Views are thin: reads come from `selectors_demands` (every one starts from `restrict()`; another organisation's
demand answers 404 like a missing one), each write runs one service of `services.demands`, a `ValidationError` is
shown next to the field it names and a `PermissionDenied` answers 403. Pages a user can never act on answer 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from ipledge.core.forms import attach_errors
from ipledge.core.money import Money
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest
from ipledge.registry.models import Enterprise, Park
from ipledge.registry.rules import INDUSTRY_SECTIONS

from .. import selectors_demands as selectors
from ..choices import ACTIVE_DEMAND_STATUSES, ProductStatus
from ..forms_demands import (
    DemandEditForm,
    DemandFilterSet,
    DemandForm,
    LeadFilterForm,
    LeadRespondForm,
    LinkLoanForm,
    ShareForm,
    UnmetFilterForm,
    WithdrawForm,
)
from ..models import Demand, Match, Product
from ..services import demands as services
from ..tables_demands import STATUS_BADGES, DemandTable, LeadTable, UnmetTable

PER_PAGE = 25


def _paged(request: AuthenticatedRequest, table: Any) -> Any:
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return table


def _may_change(user: Any, demand: Demand) -> bool:
    return Demand.objects.restrict(user, Action.CHANGE).filter(pk=demand.pk).exists()


def _demand(user: Any, pk: int, action: str = Action.VIEW) -> Demand:
    scoped_get(Demand, user=user, pk=pk, action=action)
    return selectors.demand_get(user=user, pk=pk)


def _errors_to_messages(request: AuthenticatedRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# ---------------------------------------------------------------------------
# The library
# ---------------------------------------------------------------------------


@require_GET
def demand_list(request: AuthenticatedRequest) -> HttpResponse:
    """融资项目库: the enterprise its own demands; a park its enterprises' (filters); an IP office its region's
    (read-only); a bank those shared with it."""
    user = request.user
    filterset = DemandFilterSet(request.GET or None, queryset=selectors.demand_list(user=user))
    table = _paged(request, DemandTable(filterset.qs))
    return render(
        request,
        "market/demands/list.html",
        {
            "table": table,
            "filter": filterset,
            "can_create": services.postable_enterprises(user).exists(),
        },
    )


def _create_enterprise(request: AuthenticatedRequest, enterprises: Any) -> Enterprise | None:
    raw = str((request.POST if request.method == "POST" else request.GET).get("enterprise") or "")
    return enterprises.filter(pk=int(raw)).first() if raw.isdigit() else None


def demand_create(request: AuthenticatedRequest) -> HttpResponse:
    """发布融资需求: an enterprise for itself; a park administration picks a member enterprise first (htmx reloads
    the rights offered with it)."""
    user = request.user
    enterprises = services.postable_enterprises(user).order_by("name")
    if not enterprises.exists():
        raise Http404
    form = DemandForm(
        request.POST or None, enterprises=enterprises, enterprise=_create_enterprise(request, enterprises)
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                demand = services.demand_create(
                    enterprise=d["enterprise"],
                    amount=Money(d["amount"]),
                    term_months=d["term_months"],
                    purpose=d["purpose"],
                    description=d.get("description") or "",
                    right_ids=[r.pk for r in d.get("right_ids") or []],
                    share_bank_ids=[b.pk for b in d.get("share_bank_ids") or []],
                    share_with_matching_banks=bool(d.get("share_with_matching_banks")),
                    expires_on=d.get("expires_on"),
                    acting_user=user,
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(
                request,
                _("融资需求 %(ref)s 已发布，匹配到 %(n)s 个符合准入的产品。")
                % {"ref": demand.reference, "n": demand.matches.filter(eligible=True).count()},
            )
            return redirect("market:demand_detail", demand.pk)
    return render(
        request,
        "market/demands/form.html",
        {"form": form, "pick_enterprise": enterprises.count() > 1, "creating": True},
    )


@require_GET
def demand_rights(request: AuthenticatedRequest) -> HttpResponse:
    """The rights checkbox list for the chosen enterprise (swapped in by htmx on the create form)."""
    enterprises = services.postable_enterprises(request.user)
    if not enterprises.exists():
        raise Http404
    enterprise = _create_enterprise(request, enterprises)
    form = DemandForm(enterprises=enterprises, enterprise=enterprise)
    return render(request, "market/demands/partials/rights_field.html", {"form": form})


@require_GET
def demand_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    demand = _demand(user, pk)
    fits, misses = selectors.ranked_matches(user=user, demand=demand)
    may_change = _may_change(user, demand)
    return render(
        request,
        "market/demands/detail.html",
        {
            "demand": demand,
            "status_css": STATUS_BADGES.get(demand.status, "text-bg-secondary"),
            "rights": selectors.offered_rights(user=user, demand=demand),
            "fits": fits,
            "misses": misses,
            "responses": selectors.lead_responses(user=user, demand=demand),
            "timeline": selectors.status_timeline(demand),
            "shares": demand.shares.select_related("bank").order_by("bank__name"),
            "may_change": may_change,
            "is_active": demand.status in ACTIVE_DEMAND_STATUSES,
            "is_editable": demand.status in services.EDITABLE_STATUSES,
            "is_bank": selectors.is_bank_user(user) and not may_change,
        },
    )


def demand_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    demand = _demand(user, pk, Action.CHANGE)
    if demand.status not in services.EDITABLE_STATUSES:
        # Only open or matched demands are edited; the page says why instead of offering the form.
        return render(request, "market/demands/form.html", {"form": None, "demand": demand, "creating": False})
    form = DemandEditForm(request.POST or None, demand=demand)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                services.demand_update(
                    demand=demand,
                    amount=Money(d["amount"]),
                    term_months=d["term_months"],
                    purpose=d["purpose"],
                    description=d.get("description") or "",
                    right_ids=[r.pk for r in d.get("right_ids") or []],
                    expires_on=d["expires_on"],
                    expected_version=d["version"],
                    acting_user=user,
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("融资需求已修改并重新匹配。"))
            return redirect("market:demand_detail", demand.pk)
    return render(request, "market/demands/form.html", {"form": form, "demand": demand, "creating": False})


def demand_withdraw(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    demand = _demand(user, pk, Action.CHANGE)
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                services.demand_withdraw(demand=demand, note=form.cleaned_data.get("note") or "", acting_user=user)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("融资需求 %(ref)s 已撤回。") % {"ref": demand.reference})
            return redirect("market:demand_detail", demand.pk)
    return render(request, "market/demands/withdraw.html", {"form": form, "demand": demand})


def _granted_loans(user: Any, demand: Demand) -> Any:
    from ipledge.lending.models import Loan

    return (
        Loan.objects.restrict(user, Action.VIEW)
        .filter(borrower_id=demand.enterprise_id)
        .exclude(status__in=services.UNGRANTED_LOAN_STATUSES)
        .exclude(market_demands__isnull=False)
        .select_related("bank")
        .order_by("-created_at", "-pk")
    )


def demand_link_loan(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    demand = _demand(user, pk, Action.CHANGE)
    form = LinkLoanForm(request.POST or None, loans=_granted_loans(user, demand))
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                services.demand_link_loan(demand=demand, loan=form.cleaned_data["loan"], acting_user=user)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("已关联贷款，需求标记为已获贷。"))
            return redirect("market:demand_detail", demand.pk)
    return render(request, "market/demands/link_loan.html", {"form": form, "demand": demand})


def demand_shares(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """授权推送: which banks may see the demand."""
    user = request.user
    demand = _demand(user, pk, Action.CHANGE)
    form = ShareForm(request.POST or None, demand=demand)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                services.demand_shares_set(
                    demand=demand,
                    bank_ids=[b.pk for b in d.get("share_bank_ids") or []],
                    share_with_matching_banks=bool(d.get("share_with_matching_banks")),
                    acting_user=user,
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("推送授权已保存。"))
            return redirect("market:demand_detail", demand.pk)
    return render(request, "market/demands/shares.html", {"form": form, "demand": demand})


@require_POST
def demand_rematch(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    demand = _demand(user, pk, Action.CHANGE)
    try:
        with transaction.atomic():
            matches = services.demand_rematch(demand=demand, acting_user=user)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        eligible = sum(1 for m in matches if m.eligible)
        messages.success(request, _("已重新匹配：%(n)s 个产品符合准入。") % {"n": eligible})
    return redirect("market:demand_detail", demand.pk)


# ---------------------------------------------------------------------------
# Leads (线索)
# ---------------------------------------------------------------------------


@require_GET
def lead_list(request: AuthenticatedRequest) -> HttpResponse:
    """A bank's leads: eligible matches of its tree's products on demands shared with it, best score first."""
    user = request.user
    if not selectors.is_bank_user(user):
        raise Http404
    everything = selectors.lead_list(user=user, filters=selectors.LeadFilters(active=None))
    products = Product.objects.filter(pk__in=everything.values("product_id")).order_by("name")
    parks = Park.objects.filter(pk__in=everything.values("demand__park_id")).order_by("name")
    form = LeadFilterForm(request.GET or None, products=products, parks=parks)
    leads = selectors.lead_list(user=user, filters=form.filters())
    table = _paged(request, LeadTable(leads))
    return render(request, "market/leads/list.html", {"table": table, "filter": {"form": form}})


def _enterprise_facts(enterprise: Enterprise) -> list[tuple[str, str]]:
    """What a bank learns about the enterprise through a demand shared with it."""
    from ipledge.core.models import Region

    region = Region.objects.filter(code=enterprise.region_code).first() if enterprise.region_code else None
    section = enterprise.industry_section
    return [
        (_("企业名称"), enterprise.name),
        (_("登记地"), region.full_name if region is not None else (enterprise.region_code or "—")),
        (_("行业门类"), f"{section} {INDUSTRY_SECTIONS.get(section, '')}".strip() if section else "—"),
        (_("企业规模"), enterprise.get_size_class_display() or "—"),
        (_("成立日期"), enterprise.established_on.isoformat() if enterprise.established_on else "—"),
    ]


def lead_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """One lead: the demand, the enterprise's basic facts, the reasons, and (for the product's bank) the respond
    form. Whoever sees the match (the enterprise, its park, the office of its region) reads the page."""
    user = request.user
    try:
        match = selectors.lead_get(user=user, pk=pk)
    except (Match.DoesNotExist, ValueError) as exc:
        raise Http404(_("线索")) from exc
    demand = match.demand
    may_respond = (
        services.may_respond(user)
        and match.eligible
        and match.product.status == ProductStatus.LIVE
        and demand.status in ACTIVE_DEMAND_STATUSES
        and Match.objects.restrict(user, Action.CHANGE).filter(pk=match.pk).exists()
    )
    form = LeadRespondForm(
        request.POST or None, initial={"response": match.response or None, "note": match.response_note}
    )
    if request.method == "POST":
        if not may_respond:
            messages.error(request, _("该线索当前不能反馈。"))
            return redirect("market:lead_detail", match.pk)
        if form.is_valid():
            d = form.cleaned_data
            try:
                with transaction.atomic():
                    services.lead_respond(
                        match=match, response=d["response"], note=d.get("note") or "", acting_user=user
                    )
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, _("已反馈线索 %(ref)s。") % {"ref": demand.reference})
                return redirect("market:lead_detail", match.pk)
    return render(
        request,
        "market/leads/detail.html",
        {
            "match": match,
            "demand": demand,
            "facts": _enterprise_facts(demand.enterprise),
            "reasons": selectors.reasons_text(match),
            "rights": selectors.offered_rights(user=user, demand=demand),
            "form": form if may_respond else None,
        },
    )


# ---------------------------------------------------------------------------
# The park's unmet demands
# ---------------------------------------------------------------------------


@require_GET
def park_unmet(request: AuthenticatedRequest) -> HttpResponse:
    """园区未满足需求: active demands of the park's enterprises with no eligible product or no bank answer yet."""
    user = request.user
    if not selectors.may_see_unmet(user):
        raise Http404
    parks = Park.objects.filter(pk__in=selectors.demand_list(user=user).values("park_id")).order_by("name")
    form = UnmetFilterForm(request.GET or None, parks=parks)
    park_id = None
    if form.is_bound and form.is_valid() and form.cleaned_data.get("park") is not None:
        park_id = form.cleaned_data["park"].pk
    table = _paged(request, UnmetTable(selectors.unmet_list(user=user, park_id=park_id)))
    return render(
        request,
        "market/demands/unmet.html",
        {
            "table": table,
            "filter": {"form": form},
            "summary": selectors.unmet_summary(user=user, park_id=park_id),
        },
    )


urlpatterns: list[URLPattern] = [
    path("demands/", demand_list, name="demand_list"),
    path("demands/new/", demand_create, name="demand_create"),
    path("demands/new/rights/", demand_rights, name="demand_rights"),
    path("demands/<int:pk>/", demand_detail, name="demand_detail"),
    path("demands/<int:pk>/edit/", demand_edit, name="demand_edit"),
    path("demands/<int:pk>/withdraw/", demand_withdraw, name="demand_withdraw"),
    path("demands/<int:pk>/loan/", demand_link_loan, name="demand_link_loan"),
    path("demands/<int:pk>/sharing/", demand_shares, name="demand_shares"),
    path("demands/<int:pk>/rematch/", demand_rematch, name="demand_rematch"),
    path("leads/", lead_list, name="lead_list"),
    path("leads/<int:pk>/", lead_detail, name="lead_detail"),
    path("park/unmet/", park_unmet, name="park_unmet"),
]

__all__ = ["urlpatterns"]
