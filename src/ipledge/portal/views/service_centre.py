"""The one-stop park service centre (一站式服务中心, S2) and the park staff's service queue.

- `service_centre` (park pk): for a member enterprise everything in one place — apply for a valuation, post a
  financing demand, its matched products, start a pledge filing with a bank, the status of its own business, the
  policies that apply to it, the upcoming matchmaking events and a service request to the park's staff. The park's
  administration and the government of the region see the centre with the park's counts (and staff a link to the
  queue). Anyone else gets 404.
- `my_service_centre`: an enterprise user goes to its (first current) park's centre, or is told it has none.
- `service_queue`: the park staff's queue (filters status, kind) with accept / complete / reject (POST).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ipledge.core.apikit import may
from ipledge.core.context import business_date
from ipledge.core.forms import attach_errors
from ipledge.core.scoping import Action
from ipledge.core.views import AuthenticatedRequest
from ipledge.registration.views import may_file
from ipledge.registry.models import Park

from .. import selectors_service_centre as selectors
from ..choices import OPEN_SERVICE_REQUEST_STATUSES, ServiceRequestStatus
from ..forms_consultations import ServiceQueueFilterForm, ServiceRequestForm, ServiceResponseForm
from ..models import ServiceRequest
from ..services import service_requests as services

PER_PAGE = 25


def _park(request: AuthenticatedRequest, pk: int) -> tuple[Park, str]:
    try:
        return selectors.park_for_centre(user=request.user, pk=pk)
    except Park.DoesNotExist as exc:
        raise Http404 from exc


def service_centre(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """一站式服务中心 of one park; a member enterprise may submit a service request here (POST)."""
    user = request.user
    park, role = _park(request, pk)
    may_request = role == selectors.ROLE_ENTERPRISE and may(user, ServiceRequest, Action.ADD)
    form = ServiceRequestForm(request.POST or None) if may_request else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            d = form.cleaned_data
            try:
                created = services.service_request_create(
                    actor=user, park=park, kind=d["kind"], subject=d["subject"], detail=d.get("detail") or ""
                )
            except ValidationError as exc:
                attach_errors(form, exc)
            except PermissionDenied as exc:
                raise Http404 from exc
            else:
                messages.success(request, _("服务事项 %(ref)s 已提交园区。") % {"ref": created.reference})
                return redirect("portal:service_centre", park.pk)
    summary = selectors.centre_summary(user=user, park=park, role=role, today=business_date())
    return render(
        request,
        "portal/service_centre.html",
        {
            **summary,
            "form": form,
            "is_staff_view": role == selectors.ROLE_PARK_ADMIN,
            "may_file": may_file(user),
        },
    )


@require_GET
def my_service_centre(request: AuthenticatedRequest) -> HttpResponse:
    """An enterprise user's own park centre; park staff go to their first park's centre."""
    user = request.user
    enterprise = selectors.user_enterprise(user)
    if enterprise is not None:
        park = selectors.current_parks(enterprise).first()
        if park is not None:
            return redirect("portal:service_centre", park.pk)
    else:
        staff = selectors.staff_parks(user).order_by("pk").first()
        if staff is not None:
            return redirect("portal:service_centre", staff.pk)
    return render(request, "portal/service_centre_none.html", {"enterprise": enterprise}, status=200)


@require_GET
def service_queue(request: AuthenticatedRequest) -> HttpResponse:
    """园区服务事项: the queue of the parks the user's administration runs (government: read-only)."""
    user = request.user
    if selectors.user_enterprise(user) is not None:
        return redirect("portal:my_service_centre")  # an enterprise follows its requests in its centre
    parks = list(selectors.staff_parks(user))
    if not parks and not may(user, ServiceRequest, Action.VIEW):
        raise Http404
    form = ServiceQueueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.service_request_list(user=user, filters=filters)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    may_change = may(user, ServiceRequest, Action.CHANGE)
    return render(
        request,
        "portal/service_queue.html",
        {
            "form": form,
            "page": page,
            "parks": [{"park": p, "counts": selectors.park_counts(user=user, park=p)} for p in parks],
            "may_change": may_change,
            "open_statuses": [str(s) for s in OPEN_SERVICE_REQUEST_STATUSES],
            "submitted": ServiceRequestStatus.SUBMITTED,
            "response_form": ServiceResponseForm(),
        },
    )


def _request(request: AuthenticatedRequest, pk: int) -> ServiceRequest:
    try:
        return selectors.service_request_get(user=request.user, pk=pk, action=Action.CHANGE)
    except ServiceRequest.DoesNotExist as exc:
        raise Http404 from exc


def _act(request: AuthenticatedRequest, pk: int, run: Any, done: str) -> HttpResponse:
    service_request = _request(request, pk)
    form = ServiceResponseForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form.fields[field].label if field in form.fields else ''}：{error}")
        return redirect("portal:service_queue")
    try:
        run(service_request, form.cleaned_data)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for name, problems in exc.error_dict.items():
                label = form.fields[name].label if name in form.fields else name
                for problem in problems:
                    for message in problem.messages:
                        messages.error(request, f"{service_request.reference} {label}：{message}")
        else:
            for message in exc.messages:
                messages.error(request, message)
    except PermissionDenied as exc:
        raise Http404 from exc
    else:
        messages.success(request, done % {"ref": service_request.reference})
    return redirect("portal:service_queue")


@require_POST
def service_request_accept(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda r, d: services.service_request_accept(actor=request.user, request=r, expected_version=d.get("version")),
        _("%(ref)s 已受理。"),
    )


@require_POST
def service_request_complete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda r, d: services.service_request_complete(
            actor=request.user, request=r, response=d.get("response") or "", expected_version=d.get("version")
        ),
        _("%(ref)s 已办结。"),
    )


@require_POST
def service_request_reject(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda r, d: services.service_request_reject(
            actor=request.user, request=r, response=d.get("response") or "", expected_version=d.get("version")
        ),
        _("%(ref)s 已不予受理。"),
    )


urlpatterns: list[URLPattern] = [
    path("service-centre/", my_service_centre, name="my_service_centre"),
    path("parks/<int:pk>/service-centre/", service_centre, name="service_centre"),
    path("service-requests/", service_queue, name="service_queue"),
    path("service-requests/<int:pk>/accept/", service_request_accept, name="service_request_accept"),
    path("service-requests/<int:pk>/complete/", service_request_complete, name="service_request_complete"),
    path("service-requests/<int:pk>/reject/", service_request_reject, name="service_request_reject"),
]
