"""Impact pages (成效分析, O3): the matched difference-in-differences of the enterprises financed in a year against
similar unfinanced ones, with the satisfaction (满意度 / 获得感) of the follow-up surveys (跟踪调查); and the yearly
enterprise figures (企业年度经营数据) behind it: list, entry and correction.

Who: the impact page is for IP offices, regulators and NDRC (their region), park administrations (their member
enterprises) and the platform; the figures for whoever may read them (an enterprise its own), entry by the
enterprise itself or the IP office of its region. Reads come from `selectors_impact` (restricted); writes go through
`services.financials`. A page the user can never use answers 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from ipledge.core.apikit import may
from ipledge.core.context import business_date
from ipledge.core.forms import attach_errors
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest

from .. import selectors_impact as selectors
from ..engine.impact import OutcomeEffect
from ..forms_impact import FinancialsFilterForm, FinancialsForm, ImpactFilterForm
from ..models import EnterpriseFinancials
from ..services import financials as services

PER_PAGE = 25
OUTCOME_LABELS = {
    "rd_spending": "研发投入（万元）",
    "revenue": "营业收入（万元）",
    "employees": "从业人员（人）",
    "patents_implemented": "已实施专利（件）",
}


def _display(outcome: OutcomeEffect, value: float | None) -> float | None:
    """Money outcomes shown in 万元 (fen ÷ 1,000,000), counts as they are; rounded for the page only."""
    if value is None:
        return None
    return round(value / 1_000_000, 2) if outcome.is_money else round(value, 2)


def _outcome_rows(outcomes: list[OutcomeEffect]) -> list[dict[str, Any]]:
    return [
        {
            "key": o.key,
            "label": _(OUTCOME_LABELS[o.key]),
            "pairs": o.pairs,
            "treated_before": _display(o, o.treated_before),
            "treated_after": _display(o, o.treated_after),
            "control_before": _display(o, o.control_before),
            "control_after": _display(o, o.control_after),
            "treated_change": _display(o, o.treated_change),
            "control_change": _display(o, o.control_change),
            "effect": _display(o, o.effect),
            "ci_low": _display(o, o.ci_low),
            "ci_high": _display(o, o.ci_high),
            "significant": o.significant,
        }
        for o in outcomes
    ]


def _charts(rows: list[dict[str, Any]], satisfaction: list[Any]) -> dict[str, Any]:
    charts: dict[str, Any] = {}
    for row in rows:
        if row["pairs"]:
            charts[f"change_{row['key']}"] = {
                "name": row["label"],
                "labels": [_("获贷企业"), _("对照组")],
                "values": [row["treated_change"], row["control_change"]],
            }
    if satisfaction:
        charts["satisfaction"] = {
            "name": _("平均分"),
            "labels": [s.question[:20] for s in satisfaction],
            "values": [round(s.mean, 2) for s in satisfaction],
        }
    return charts


@require_GET
def impact(request: AuthenticatedRequest) -> HttpResponse:
    """成效分析: filters year (the financing cohort) and province."""
    user = request.user
    if not selectors.may_view_impact(user):
        raise Http404
    provinces = selectors.province_choices(user=user)
    default = selectors.default_year(user=user)
    years = sorted({*selectors.financing_years(user=user), default}, reverse=True)
    form = ImpactFilterForm(request.GET or None, years=years, provinces=provinces)
    year, province = default, ""
    if form.is_valid():
        year = form.cleaned_data.get("year") or default
        province = form.cleaned_data.get("province") or ""
    elif request.GET:
        messages.warning(request, _("筛选条件无效，已显示默认年度。"))
    overview = selectors.impact_overview(user=user, year=year, province_code=province)
    rows = _outcome_rows(overview.result.outcomes)
    return render(
        request,
        "monitoring/impact.html",
        {
            "filter": {"form": form},
            "overview": overview,
            "result": overview.result,
            "rows": rows,
            "chart": _charts(rows, overview.satisfaction),
            "province_name": dict(provinces).get(province, ""),
            "can_list_financials": may(user, EnterpriseFinancials, Action.VIEW),
        },
    )


@require_GET
def financials_list(request: AuthenticatedRequest) -> HttpResponse:
    """企业年度经营数据: the rows the user may read, filters enterprise name, year, province and source."""
    user = request.user
    if not may(user, EnterpriseFinancials, Action.VIEW):
        raise Http404
    form = FinancialsFilterForm(request.GET or None, provinces=selectors.province_choices(user=user))
    filters = selectors.FinancialsFilters()
    if form.is_valid():
        d = form.cleaned_data
        filters = selectors.FinancialsFilters(
            year=d.get("year"),
            province_code=d.get("province") or "",
            source=d.get("source") or "",
            enterprise=d.get("enterprise") or "",
        )
    page = Paginator(selectors.financials_list(user=user, filters=filters), PER_PAGE).get_page(request.GET.get("page"))
    changeable = set(
        EnterpriseFinancials.objects.restrict(user, Action.CHANGE)
        .filter(pk__in=[row.pk for row in page.object_list])
        .values_list("pk", flat=True)
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "monitoring/financials_list.html",
        {
            "filter": {"form": form},
            "page": page,
            "rows": page.object_list,
            "changeable": changeable,
            "query": query.urlencode(),
            "can_create": may(user, EnterpriseFinancials, Action.ADD),
            "can_view_impact": selectors.may_view_impact(user),
        },
    )


def financials_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not may(user, EnterpriseFinancials, Action.ADD):
        raise Http404
    enterprises = services.writable_enterprises(user)
    initial: dict[str, Any] = {"year": business_date().year - 1}
    if enterprises.count() == 1:
        initial["enterprise"] = enterprises.first().pk  # type: ignore[union-attr]
    form = FinancialsForm(request.POST or None, enterprises=enterprises, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            row = services.financials_create(
                enterprise=form.cleaned_data["enterprise"],
                year=form.cleaned_data["year"],
                figures=form.figures(),
                acting_user=user,
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        except PermissionDenied as exc:
            raise Http404 from exc
        else:
            messages.success(
                request, _("%(name)s %(year)s年度经营数据已保存。") % {"name": row.enterprise, "year": row.year}
            )
            return redirect("monitoring:financials")
    return render(request, "monitoring/financials_form.html", {"form": form, "row": None})


def financials_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    row = scoped_get(EnterpriseFinancials, user=user, pk=pk, action=Action.CHANGE)
    initial = {name: getattr(row, name) for name in services.FIGURES}
    for name in services.MONEY_FIGURES:
        initial[name] = initial[name].amount if initial[name] is not None else None
    initial["updated_at"] = row.updated_at.isoformat()
    form = FinancialsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        seen = parse_datetime(form.cleaned_data.get("updated_at") or "")
        try:
            services.financials_update(
                financials=row, figures=form.figures(), expected_updated_at=seen, acting_user=user
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        except PermissionDenied as exc:
            raise Http404 from exc
        else:
            messages.success(
                request, _("%(name)s %(year)s年度经营数据已修改。") % {"name": row.enterprise, "year": row.year}
            )
            return redirect("monitoring:financials")
    return render(request, "monitoring/financials_form.html", {"form": form, "row": row})


urlpatterns: list[URLPattern] = [
    path("impact/", impact, name="impact"),
    path("financials/", financials_list, name="financials"),
    path("financials/new/", financials_create, name="financials_create"),
    path("financials/<int:pk>/edit/", financials_edit, name="financials_edit"),
]
