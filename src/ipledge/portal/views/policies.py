"""Policy library pages (政策工具箱和资源库, M1/S6).

Public (no login): the library with word search and filters, one policy with its attachments, and 哪些政策适用于我
(which policies apply to an enterprise: prefilled for a signed-in enterprise user). Anonymous visitors read only
published policies; a signed-in user also reaches what `restrict()` lets them view (an issuer's own drafts), so a
draft answers 404 to everybody else, like a missing page.

Management (signed-in issuers: government bodies and park administrations): the list of their own and their
region's policies including drafts, creating, editing, publishing, withdrawing, and the attachments. Each action
first looks the policy up within the CHANGE scope (another organisation's policy answers 404), then runs one service.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ipledge.core import uploads
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.forms import attach_errors
from ipledge.core.views import AuthenticatedRequest
from ipledge.registry.models import Enterprise, Park

from .. import selectors_policies as selectors
from ..forms_policies import (
    AttachmentForm,
    PolicyActionForm,
    PolicyForm,
    PolicyForMeForm,
    PolicyManageFilterForm,
    PolicySearchForm,
)
from ..models import Policy, PolicyAttachment
from ..services import policies as services

PER_PAGE = 20
SNIPPET = 80


# ---------------------------------------------------------------------------
# Highlighting (the text is escaped first; only <mark> is added)
# ---------------------------------------------------------------------------


def highlight(text: str, words: tuple[str, ...]) -> SafeString:
    html = str(escape(text))
    for word in sorted({w for w in words if w}, key=len, reverse=True):
        needle = str(escape(word))
        if needle and needle.lower() in html.lower():
            out, low, start = [], html.lower(), 0
            while True:
                at = low.find(needle.lower(), start)
                if at < 0:
                    break
                out.append(html[start:at])
                out.append(f"<mark>{html[at : at + len(needle)]}</mark>")
                start = at + len(needle)
            out.append(html[start:])
            html = "".join(out)
    return mark_safe(html)  # noqa: S308 - built from escaped text and fixed tags


def snippet(policy: Policy, words: tuple[str, ...]) -> str:
    text = " ".join((policy.summary or policy.body or "").split())
    if words:
        body = " ".join(policy.body.split())
        for word in words:
            at = body.lower().find(word.lower())
            if at >= 0 and word.lower() not in text[: SNIPPET * 2].lower():
                start = max(0, at - SNIPPET // 2)
                return ("…" if start else "") + body[start : start + SNIPPET * 2] + "…"
    return text[: SNIPPET * 2] + ("…" if len(text) > SNIPPET * 2 else "")


def _rows(policies: Any, words: tuple[str, ...], today: datetime.date) -> list[dict[str, Any]]:
    return [
        {
            "policy": p,
            "title_html": highlight(p.title, words),
            "snippet_html": highlight(snippet(p, words), words),
            "in_force": p.effective_from <= today and (p.effective_until is None or p.effective_until >= today),
        }
        for p in policies
    ]


def _page(request: HttpRequest, qs: Any) -> Any:
    return Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))


def _query_string(request: HttpRequest) -> str:
    data = request.GET.copy()
    data.pop("page", None)
    return data.urlencode()


# ---------------------------------------------------------------------------
# Public pages
# ---------------------------------------------------------------------------


@login_not_required
@require_GET
def policy_list(request: HttpRequest) -> HttpResponse:
    today = business_date()
    form = PolicySearchForm(request.GET or None)
    filters = form.filters(today)
    qs = selectors.search_policies(selectors.public_policies(), **filters)
    page = _page(request, qs)
    words = selectors.query_highlights(filters.get("q", ""))
    return render(
        request,
        "portal/policy_list.html",
        {
            "form": form,
            "page_obj": page,
            "rows": _rows(page.object_list, words, today),
            "total": page.paginator.count,
            "query_string": _query_string(request),
            "searched": bool(filters.get("q")),
            "may_manage": services.may_issue(request.user),
        },
    )


def _readable(request: HttpRequest, pk: int) -> Policy:
    return get_object_or_404(selectors.readable_policies(user=request.user), pk=pk)


@login_not_required
@require_GET
def policy_detail(request: HttpRequest, pk: int) -> HttpResponse:
    policy = _readable(request, pk)
    today = business_date()
    may_change = services.may_change(request.user, policy)
    return render(
        request,
        "portal/policy_detail.html",
        {
            "policy": policy,
            "attachments": policy.attachments.all(),
            "in_force": policy.effective_from <= today
            and (policy.effective_until is None or policy.effective_until >= today),
            "not_yet": policy.effective_from > today,
            "may_change": may_change,
            "attachment_form": AttachmentForm() if may_change else None,
            "paragraphs": [p.strip() for p in policy.body.splitlines() if p.strip()],
        },
    )


@login_not_required
@require_GET
def policy_attachment(request: HttpRequest, pk: int, attachment_pk: int) -> FileResponse:
    policy = _readable(request, pk)
    attachment = get_object_or_404(PolicyAttachment, pk=attachment_pk, policy=policy)
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=attachment.content_type)
    response["Content-Disposition"] = uploads.content_disposition(attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _enterprise_initial(request: HttpRequest, today: datetime.date) -> dict[str, Any]:
    """A signed-in enterprise user's own attributes: registration region, current park, size, industry."""
    user = request.user
    org = getattr(user, "organisation", None) if user.is_authenticated else None
    if org is None or org.kind != OrganisationKind.ENTERPRISE:
        return {}
    enterprise = Enterprise.objects.filter(organisation=org).first()
    if enterprise is None:
        return {}
    membership = (
        enterprise.memberships.filter(joined_on__lte=today)
        .exclude(left_on__lt=today)
        .select_related("park")
        .order_by("-joined_on")
        .first()
    )
    return {
        "region": enterprise.region_code,
        "park": membership.park_id if membership else None,
        "size_class": enterprise.size_class,
        "industry_section": enterprise.industry_section,
        "_name": enterprise.name,
    }


@login_not_required
@require_GET
def policy_for_me(request: HttpRequest) -> HttpResponse:
    today = business_date()
    initial = _enterprise_initial(request, today)
    enterprise_name = initial.pop("_name", "")
    if request.GET:
        form = PolicyForMeForm(request.GET)
    elif initial:
        form = PolicyForMeForm({k: v if v is not None else "" for k, v in initial.items()})
    else:
        form = PolicyForMeForm()
    rows: list[dict[str, Any]] | None = None
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        park: Park | None = d.get("park")
        criteria: dict[str, Any] = {
            "region_code": d.get("region") or "",
            "park": park,
            "size_class": d.get("size_class") or "",
            "industry_section": d.get("industry_section") or "",
        }
        rows = [
            {"policy": p, "reasons": selectors.applicability_reasons(p, **criteria)}
            for p in selectors.applicable_policies(**criteria, today=today)
        ]
    return render(
        request,
        "portal/policy_for_me.html",
        {"form": form, "rows": rows, "enterprise_name": enterprise_name, "today": today},
    )


# ---------------------------------------------------------------------------
# Management (signed-in issuers)
# ---------------------------------------------------------------------------


def _issuer(request: AuthenticatedRequest) -> None:
    if not services.may_issue(request.user):
        raise Http404


def _changeable(request: AuthenticatedRequest, pk: int) -> Policy:
    return get_object_or_404(selectors.editable_policies(user=request.user), pk=pk)


@require_GET
def policy_manage(request: AuthenticatedRequest) -> HttpResponse:
    _issuer(request)
    today = business_date()
    form = PolicyManageFilterForm(request.GET or None)
    qs = selectors.search_policies(selectors.managed_policies(user=request.user), **form.filters(today))
    page = _page(request, qs)
    editable = set(
        selectors.editable_policies(user=request.user)
        .filter(pk__in=[p.pk for p in page.object_list])
        .values_list("pk", flat=True)
    )
    return render(
        request,
        "portal/policy_manage.html",
        {
            "form": form,
            "page_obj": page,
            "rows": [{"policy": p, "editable": p.pk in editable} for p in page.object_list],
            "total": page.paginator.count,
            "query_string": _query_string(request),
        },
    )


def policy_create(request: AuthenticatedRequest) -> HttpResponse:
    _issuer(request)
    user = request.user
    org = user.organisation
    today = business_date()
    initial = {"issuing_body": org.name if org else "", "issued_on": today, "effective_from": today}
    form = PolicyForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                policy = services.policy_create(actor=user, **form.values())
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("政策“%(title)s”已保存为草稿。") % {"title": policy.title})
            return redirect("portal:policy_detail", policy.pk)
    return render(request, "portal/policy_form.html", {"form": form, "creating": True})


def policy_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    policy = _changeable(request, pk)
    initial = {name: getattr(policy, name) for name in services.EDITABLE_FIELDS} | {
        "region": policy.region_id,
        "park": policy.park_id,
        "version": policy.version,
    }
    form = PolicyForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                services.policy_update(
                    actor=user,
                    policy=policy,
                    values=form.values(),
                    expected_version=form.cleaned_data.get("version"),
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("政策已保存。"))
            return redirect("portal:policy_detail", policy.pk)
    return render(request, "portal/policy_form.html", {"form": form, "policy": policy})


def _act(request: AuthenticatedRequest, pk: int, run: Any, done: str) -> HttpResponse:
    policy = _changeable(request, pk)
    form = PolicyActionForm(request.POST)
    form.is_valid()
    try:
        with transaction.atomic():
            run(policy, form.cleaned_data.get("version"), form.cleaned_data.get("reason") or "")
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect("portal:policy_detail", policy.pk)


@require_POST
def policy_publish(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda p, v, _r: services.policy_publish(actor=request.user, policy=p, expected_version=v),
        _("政策已发布，公众可在政策库中查阅。"),
    )


@require_POST
def policy_withdraw(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda p, v, r: services.policy_withdraw(actor=request.user, policy=p, expected_version=v, reason=r),
        _("政策已撤回，不再对外公开。"),
    )


@require_POST
def policy_attachment_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    policy = _changeable(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            with transaction.atomic():
                attachment = services.attachment_add(
                    actor=request.user, policy=policy, upload=form.cleaned_data["file"]
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("附件“%(name)s”已上传。") % {"name": attachment.name})
            return redirect("portal:policy_detail", policy.pk)
    for errors in form.errors.values():
        for message in errors:
            messages.error(request, str(message))
    return redirect("portal:policy_detail", policy.pk)


@require_POST
def policy_attachment_remove(request: AuthenticatedRequest, pk: int, attachment_pk: int) -> HttpResponse:
    policy = _changeable(request, pk)
    attachment = get_object_or_404(PolicyAttachment, pk=attachment_pk, policy=policy)
    try:
        with transaction.atomic():
            services.attachment_remove(actor=request.user, attachment=attachment)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("附件已删除。"))
    return redirect("portal:policy_detail", policy.pk)


urlpatterns = [
    path("policies/", policy_list, name="policy_list"),
    path("policies/for-me/", policy_for_me, name="policy_for_me"),
    path("policies/manage/", policy_manage, name="policy_manage"),
    path("policies/new/", policy_create, name="policy_create"),
    path("policies/<int:pk>/", policy_detail, name="policy_detail"),
    path("policies/<int:pk>/edit/", policy_edit, name="policy_edit"),
    path("policies/<int:pk>/publish/", policy_publish, name="policy_publish"),
    path("policies/<int:pk>/withdraw/", policy_withdraw, name="policy_withdraw"),
    path("policies/<int:pk>/attachments/", policy_attachment_add, name="policy_attachment_add"),
    path(
        "policies/<int:pk>/attachments/<int:attachment_pk>/",
        policy_attachment,
        name="policy_attachment",
    ),
    path(
        "policies/<int:pk>/attachments/<int:attachment_pk>/remove/",
        policy_attachment_remove,
        name="policy_attachment_remove",
    ),
]
