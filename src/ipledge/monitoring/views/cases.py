"""Typical-case pages (典型案例, O5): the library with filters, the year's selection ranked by score, a case with its
review, nominating and editing, and the workflow actions (withdraw; open review, score, select or reject, publish).

Views are thin: reads start from `restrict()` (another organisation's unpublished case answers 404 like a missing
one), each action first looks the case up within the scope of the action it needs (so an out-of-scope POST answers
404), then runs one service of `ipledge.monitoring.services.cases`; a `ValidationError` is shown next to its field
or as a message, a `PermissionDenied` answers 403. The create page answers 404 to users who may never nominate.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from ipledge.core.context import business_date
from ipledge.core.forms import attach_errors
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest
from ipledge.lending.models import Loan
from ipledge.registry.models import Enterprise
from ipledge.registry.views import history_context

from .. import selectors_cases as selectors
from ..choices import CaseStatus
from ..forms_cases import CaseFilterForm, CaseForm, DecideForm, NoteForm, ReviewForm, figures_text
from ..models import TypicalCase
from ..services import cases as services
from ..tables_cases import CaseTable, SelectionTable, case_badge

PER_PAGE = 25


def _flash(request: AuthenticatedRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# ---------------------------------------------------------------------------
# The library and the yearly selection
# ---------------------------------------------------------------------------


@require_GET
def case_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    data = request.GET.copy()
    for key in ("page", "sort"):
        data.pop(key, None)
    form = CaseFilterForm(data or None)
    table = CaseTable(selectors.case_list(user=user, filters=form.filters()))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(
        request,
        "monitoring/cases.html",
        {
            "filter": {"form": form},
            "table": table,
            "can_nominate": services.may_nominate(user),
            "awaiting": selectors.awaiting_review(user=user).count(),
        },
    )


@require_GET
def case_selection(request: AuthenticatedRequest) -> HttpResponse:
    """The year's selection: every visible case that entered review, ranked by its score."""
    user = request.user
    years = selectors.selection_years(user=user)
    try:
        year = int(request.GET.get("year") or (years[0] if years else business_date().year))
    except ValueError:
        year = business_date().year
    ranked = selectors.selection(user=user, year=year)
    ranks = {
        pk: rank
        for rank, pk in enumerate(ranked.filter(review_score__isnull=False).values_list("pk", flat=True), start=1)
    }
    names = selectors.region_names(ranked.values_list("region_code", flat=True))
    table = SelectionTable(ranked, ranks=ranks, region_names=names)
    RequestConfig(request, paginate=False).configure(table)
    counts = {
        str(label): ranked.filter(status=status).count()
        for status, label in CaseStatus.choices
        if status in selectors.RANKED_STATUSES
    }
    return render(
        request,
        "monitoring/case_selection.html",
        {"table": table, "year": year, "years": years or [year], "counts": counts},
    )


# ---------------------------------------------------------------------------
# One case
# ---------------------------------------------------------------------------


def _links(user: Any, case: TypicalCase) -> dict[str, bool]:
    """Which linked records the viewer may open (their own pages check again)."""
    return {
        "enterprise": case.enterprise_id is not None
        and Enterprise.objects.restrict(user, Action.VIEW).filter(pk=case.enterprise_id).exists(),
        "loan": case.loan_id is not None and Loan.objects.restrict(user, Action.VIEW).filter(pk=case.loan_id).exists(),
    }


def _detail_context(request: AuthenticatedRequest, case: TypicalCase, **forms: Any) -> dict[str, Any]:
    user = request.user
    reviewer = services.may_review(user, case)
    insider = services.may_see_review(user, case)
    return {
        "case": case,
        "insider": insider,
        **(history_context(user, case) if insider else {"history": []}),
        "badge": case_badge(case),
        "region_name": selectors.region_names([case.region_code]).get(case.region_code, case.region_code),
        "links": _links(user, case),
        "can_edit": services.may_edit(user, case),
        "can_withdraw": case.status == CaseStatus.NOMINATED and services.is_nominator(user, case),
        "can_open_review": reviewer and case.status == CaseStatus.NOMINATED,
        "can_score": reviewer and case.status == CaseStatus.UNDER_REVIEW,
        "can_decide": reviewer and case.status == CaseStatus.UNDER_REVIEW and case.review_score is not None,
        "can_publish": reviewer and case.status == CaseStatus.SELECTED,
        "is_nominator_reviewer": reviewer and case.nominated_by_id == user.pk,
        "review_form": forms.get("review_form")
        or ReviewForm(prefix="review", initial={"score": case.review_score, "note": case.review_note}),
        "decide_form": forms.get("decide_form") or DecideForm(prefix="decide"),
        "withdraw_form": NoteForm(prefix="withdraw"),
    }


def _case(user: Any, pk: int, action: str = Action.VIEW) -> TypicalCase:
    """The case within the user's scope for `action` (else 404), with what its pages show."""
    scoped_get(TypicalCase, user=user, pk=pk, action=action)
    return TypicalCase.objects.select_related(
        "park", "park__region", "enterprise", "bank", "loan", "nominated_by_org", "nominated_by", "reviewer"
    ).get(pk=pk)


@require_GET
def case_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    case = _case(request.user, pk)
    return render(request, "monitoring/case_detail.html", _detail_context(request, case))


def case_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not services.may_nominate(user):
        raise Http404
    form = CaseForm(request.POST or None, user=user, initial={"year": business_date().year})
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                case = services.case_create(**form.values(), acting_user=user)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("案例“%(title)s”已推荐，等待省级知识产权局评审。") % {"title": case.title})
            return redirect("monitoring:case_detail", case.pk)
    return render(request, "monitoring/case_form.html", {"form": form, "creating": True})


def case_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    case = _case(user, pk, Action.CHANGE)
    editable = services.may_edit(user, case)
    links = case.status == CaseStatus.NOMINATED
    initial = {
        "year": case.year,
        "title": case.title,
        "category": case.category,
        "summary": case.summary,
        "practice": case.practice,
        "results": case.results,
        "figures": figures_text(case.figures),
        "park": case.park_id,
        "enterprise": case.enterprise.uscc if case.enterprise else "",
        "bank": case.bank_id,
        "loan": case.loan.reference if case.loan else "",
    }
    form = CaseForm(request.POST or None, user=user, links=links, initial=initial)
    if request.method == "POST" and editable and form.is_valid():
        try:
            with transaction.atomic():
                services.case_update(case=case, values=form.values(), acting_user=user)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("案例已保存。"))
            return redirect("monitoring:case_detail", case.pk)
    return render(
        request,
        "monitoring/case_form.html",
        {"form": form, "case": case, "editable": editable},
        status=400 if request.method == "POST" and not editable else 200,
    )


def _act(request: AuthenticatedRequest, pk: int, action: str, run: Any, done: str) -> HttpResponse:
    """Look the case up within the action's scope (404 outside it), run the service, report and go back."""
    case = _case(request.user, pk, action)
    try:
        with transaction.atomic():
            run(case)
    except ValidationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, done)
    return redirect("monitoring:case_detail", case.pk)


@require_POST
def case_withdraw(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    form = NoteForm(request.POST, prefix="withdraw")
    form.is_valid()
    note = form.cleaned_data.get("note") or ""
    return _act(
        request,
        pk,
        Action.CHANGE,
        lambda case: services.case_withdraw(case=case, acting_user=request.user, note=note),
        _("案例已撤回。"),
    )


@require_POST
def case_review_open(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        Action.APPROVE,
        lambda case: services.case_review_open(case=case, acting_user=request.user),
        _("已开始评审，推荐单位不能再撤回。"),
    )


@require_POST
def case_review(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    case = _case(user, pk, Action.APPROVE)
    form = ReviewForm(request.POST, prefix="review")
    if form.is_valid():
        try:
            with transaction.atomic():
                services.case_review_score(
                    case=case, score=form.cleaned_data["score"], note=form.cleaned_data["note"], acting_user=user
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("评分已保存。"))
            return redirect("monitoring:case_detail", case.pk)
    shown = _case(user, pk)
    return render(request, "monitoring/case_detail.html", _detail_context(request, shown, review_form=form), status=400)


@require_POST
def case_decide(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    case = _case(user, pk, Action.APPROVE)
    form = DecideForm(request.POST, prefix="decide")
    if form.is_valid():
        select = form.cleaned_data["decision"] == "select"
        try:
            with transaction.atomic():
                services.case_decide(case=case, select=select, note=form.cleaned_data["note"], acting_user=user)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("案例已入选，可发布。") if select else _("已作出不入选决定。"))
            return redirect("monitoring:case_detail", case.pk)
    shown = _case(user, pk)
    return render(request, "monitoring/case_detail.html", _detail_context(request, shown, decide_form=form), status=400)


@require_POST
def case_publish(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        Action.APPROVE,
        lambda case: services.case_publish(case=case, acting_user=request.user),
        _("案例已发布到成效展示。"),
    )


urlpatterns = [
    path("cases/", case_list, name="cases"),
    path("cases/new/", case_create, name="case_create"),
    path("cases/selection/", case_selection, name="case_selection"),
    path("cases/<int:pk>/", case_detail, name="case_detail"),
    path("cases/<int:pk>/edit/", case_edit, name="case_edit"),
    path("cases/<int:pk>/withdraw/", case_withdraw, name="case_withdraw"),
    path("cases/<int:pk>/review/open/", case_review_open, name="case_review_open"),
    path("cases/<int:pk>/review/", case_review, name="case_review"),
    path("cases/<int:pk>/decide/", case_decide, name="case_decide"),
    path("cases/<int:pk>/publish/", case_publish, name="case_publish"),
]
