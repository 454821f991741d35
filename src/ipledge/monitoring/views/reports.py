"""Measures (工作措施) and report (统计报告) pages: the measures list with filters, a measure, recording, editing and
deleting one; the generated reports with the form that generates a measures overview table (工作措施一览表) or a
quarterly / annual work summary (季度/年度工作总结), a report with every figure and its query, and the download.

Views are thin: reads start from `restrict()` (another region's report answers 404 like a missing one), each write
runs one service, a `ValidationError` is shown next to the field it names. Pages that create answer 404 to users
who may never create there.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from ipledge.core import uploads
from ipledge.core.forms import attach_errors
from ipledge.core.models import Region
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest

from .. import selectors_reports as selectors
from ..forms_reports import MeasureFilterForm, MeasureForm, ReportForm, initial_from_measure
from ..models import GeneratedReport, MeasureEntry
from ..services import measures as measure_services
from ..services import reports as report_services
from ..tables_reports import MeasureTable, ReportTable

PER_PAGE = 25


# ---------------------------------------------------------------------------
# Measures
# ---------------------------------------------------------------------------


@require_GET
def measure_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    data = request.GET.copy()
    for key in ("page", "sort"):
        data.pop(key, None)
    form = MeasureFilterForm(data or None)
    table = MeasureTable(selectors.measure_list(user=user, filters=form.filters()))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(
        request,
        "monitoring/measure_list.html",
        {
            "filter": {"form": form},
            "table": table,
            "can_create": measure_services.may_write_measures(user),
            "can_report": report_services.may_generate_reports(user),
        },
    )


def _measure_form(request: AuthenticatedRequest, measure: MeasureEntry | None = None, **kwargs: Any) -> MeasureForm:
    user = request.user
    regions = selectors.writable_regions(user)
    if measure is not None:
        # A measure may sit in a county the region list does not offer; keep its own region selectable.
        regions = (regions | Region.objects.filter(pk=measure.region_id)).distinct()
    return MeasureForm(request.POST or None, regions=regions, parks=selectors.writable_parks(user), **kwargs)


def measure_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not measure_services.may_write_measures(user):
        raise Http404
    form = _measure_form(request)
    if request.method == "POST" and form.is_valid():
        try:
            measure = measure_services.measure_create(**form.values(), acting_user=user)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("工作措施“%(title)s”已保存。") % {"title": measure.title})
            return redirect("monitoring:measure_detail", measure.pk)
    return render(request, "monitoring/measure_form.html", {"form": form, "creating": True})


@require_GET
def measure_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    measure = scoped_get(MeasureEntry, user=user, pk=pk)
    return render(
        request,
        "monitoring/measure_detail.html",
        {
            "measure": measure,
            "can_change": selectors.may_change_measure(user, measure),
            "can_delete": selectors.may_delete_measure(user, measure),
        },
    )


def measure_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    measure = scoped_get(MeasureEntry, user=user, pk=pk, action=Action.CHANGE)
    form = _measure_form(request, measure, initial=initial_from_measure(measure))
    if request.method == "POST" and form.is_valid():
        try:
            measure_services.measure_update(measure=measure, data=form.values(), acting_user=user)
        except ValidationError as exc:
            attach_errors(form, exc)
        except PermissionDenied as exc:
            raise Http404 from exc
        else:
            messages.success(request, _("工作措施已更新。"))
            return redirect("monitoring:measure_detail", measure.pk)
    return render(request, "monitoring/measure_form.html", {"form": form, "measure": measure})


@require_POST
def measure_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    measure = scoped_get(MeasureEntry, user=user, pk=pk, action=Action.DELETE)
    measure_services.measure_delete(measure=measure, acting_user=user)
    messages.success(request, _("工作措施已删除。"))
    return redirect("monitoring:measures")


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


def _report_form(request: AuthenticatedRequest) -> ReportForm:
    return ReportForm(request.POST or None, regions=selectors.writable_regions(request.user))


@require_GET
def report_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    table = ReportTable(selectors.report_list(user=user, kind=request.GET.get("kind", "")))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    can_generate = report_services.may_generate_reports(user)
    return render(
        request,
        "monitoring/report_list.html",
        {"table": table, "can_generate": can_generate, "form": _report_form(request) if can_generate else None},
    )


def report_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not report_services.may_generate_reports(user):
        raise Http404
    form = _report_form(request)
    if request.method == "POST" and form.is_valid():
        period = form.period()
        try:
            report = report_services.report_generate(
                kind=form.cleaned_data["kind"],
                region=form.cleaned_data.get("region"),
                period_start=period.start,
                period_end=period.end,
                acting_user=user,
            )
        except ValidationError as exc:
            attach_errors(form, exc, {"period_start": "year", "period_end": "year"})
        else:
            messages.success(request, _("报告已生成：%(title)s") % {"title": report.title})
            return redirect("monitoring:report_detail", report.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "monitoring/report_form.html", {"form": form}, status=status)


@require_GET
def report_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    report = scoped_get(GeneratedReport, user=request.user, pk=pk)
    return render(request, "monitoring/report_detail.html", {"report": report, "figures": report.figures or []})


@require_GET
def report_download(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    report = scoped_get(GeneratedReport, user=request.user, pk=pk)
    try:
        content = report_services.report_content(report)
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = HttpResponse(content, content_type=report.content_type)
    response["Content-Disposition"] = uploads.content_disposition(report.file_name)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


urlpatterns = [
    path("measures/", measure_list, name="measures"),
    path("measures/new/", measure_create, name="measure_create"),
    path("measures/<int:pk>/", measure_detail, name="measure_detail"),
    path("measures/<int:pk>/edit/", measure_edit, name="measure_edit"),
    path("measures/<int:pk>/delete/", measure_delete, name="measure_delete"),
    path("reports/", report_list, name="reports"),
    path("reports/new/", report_create, name="report_create"),
    path("reports/<int:pk>/", report_detail, name="report_detail"),
    path("reports/<int:pk>/download/", report_download, name="report_download"),
]
