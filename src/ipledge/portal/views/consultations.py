"""Consultation pages (政策咨询) and the public FAQ (常见问题).

- `faq` (public, no login): published answers only, searchable by `q` and grouped by the linked policy's kind.
- `consultation_list`: an enterprise's own consultations, an office's queue (status filter).
- `consultation_create`: an enterprise user asks; `consultation_detail` shows the question, the answer and, for the
  office it was routed to, the answer / publish / close forms (POST to `consultation_answer`, `_publish`, `_close`).

Reads come from `selectors_consultations` (a consultation out of reach answers 404), writes from
`services.consultations`; a `ValidationError` is shown next to the field or as a message naming it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ipledge.core.apikit import may
from ipledge.core.forms import attach_errors
from ipledge.core.scoping import Action
from ipledge.core.views import AuthenticatedRequest

from .. import selectors_consultations as selectors
from ..choices import ConsultationStatus
from ..forms_consultations import (
    AnswerForm,
    ConsultationFilterForm,
    ConsultationForm,
    FaqSearchForm,
    PublishForm,
    VersionForm,
)
from ..models import Consultation
from ..selectors_policies import public_policies
from ..services import consultations as services

PER_PAGE = 25
FAQ_LIMIT = 200


def _consultation(user: Any, pk: int, action: str = Action.VIEW) -> Consultation:
    try:
        return selectors.consultation_get(user=user, pk=pk, action=action)
    except Consultation.DoesNotExist as exc:
        raise Http404 from exc


def _messages(request: HttpRequest, exc: ValidationError, form: Any = None) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            label = form.fields[field].label if form is not None and field in form.fields else field
            for error in errors:
                for message in error.messages:
                    messages.error(request, f"{label}：{message}")
    else:
        for message in exc.messages:
            messages.error(request, message)


def _form_errors(request: HttpRequest, form: Any) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}：{error}" if label else str(error))


@login_not_required
@require_GET
def faq(request: HttpRequest) -> HttpResponse:
    """常见问题: the published answers, searchable, grouped by the kind of the policy they are about."""
    form = FaqSearchForm(request.GET or None)
    q = kind = ""
    if form.is_valid():
        q, kind = form.cleaned_data.get("q") or "", form.cleaned_data.get("kind") or ""
    entries = selectors.faq_entries(selectors.public_faq(q=q, kind=kind)[:FAQ_LIMIT])
    return render(
        request,
        "portal/faq.html",
        {"form": form, "q": q, "groups": selectors.faq_groups(entries), "count": len(entries)},
    )


@require_GET
def consultation_list(request: AuthenticatedRequest) -> HttpResponse:
    """政策咨询: the enterprise's own consultations, or the queue of the office they were routed to."""
    user = request.user
    if not may(user, Consultation, Action.VIEW):
        raise Http404
    form = ConsultationFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.consultation_list(user=user, filters=filters)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    base = selectors.consultation_list(user=user)
    return render(
        request,
        "portal/consultation_list.html",
        {
            "form": form,
            "page": page,
            "open_count": base.filter(status=ConsultationStatus.OPEN).count(),
            "may_ask": may(user, Consultation, Action.ADD),
            "may_answer": may(user, Consultation, Action.CHANGE),
        },
    )


def consultation_create(request: AuthenticatedRequest) -> HttpResponse:
    """提交咨询: an enterprise user asks, optionally about a published policy (`?policy=<pk>`)."""
    user = request.user
    if not may(user, Consultation, Action.ADD):
        raise Http404
    initial: dict[str, Any] = {}
    raw = request.GET.get("policy") or ""
    if raw.isdigit():
        initial["policy"] = public_policies().filter(pk=int(raw)).first()
    form = ConsultationForm(request.POST or None, initial=initial, policies=public_policies())
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            consultation = services.consultation_create(
                actor=user, subject=d["subject"], question=d["question"], policy=d.get("policy")
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        except PermissionDenied as exc:
            raise Http404 from exc
        else:
            messages.success(
                request,
                _("咨询 %(ref)s 已提交，转交%(office)s答复。")
                % {"ref": consultation.reference, "office": consultation.routed_to.name},
            )
            return redirect("portal:consultation_detail", consultation.pk)
    return render(request, "portal/consultation_form.html", {"form": form})


@require_GET
def consultation_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    consultation = _consultation(user, pk)
    may_change = selectors.may(user, consultation, Action.CHANGE)
    initial = {
        "version": consultation.version,
        "answer": consultation.answer,
        "faq_question": consultation.faq_question,
        "publish": consultation.is_public,
    }
    active = consultation.status in (ConsultationStatus.OPEN, ConsultationStatus.ANSWERED)
    return render(
        request,
        "portal/consultation_detail.html",
        {
            "consultation": consultation,
            "may_change": may_change,
            "answer_form": AnswerForm(initial=initial) if may_change and active else None,
            "publish_form": PublishForm(initial=initial)
            if may_change and consultation.status == ConsultationStatus.ANSWERED
            else None,
            "close_form": VersionForm(initial=initial) if may_change and active else None,
        },
    )


def _act(request: AuthenticatedRequest, pk: int, form_class: Any, run: Any, done: str) -> HttpResponse:
    consultation = _consultation(request.user, pk, Action.CHANGE)
    form = form_class(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("portal:consultation_detail", pk)
    try:
        run(consultation, form.cleaned_data)
    except ValidationError as exc:
        _messages(request, exc, form)
    except PermissionDenied as exc:
        raise Http404 from exc
    else:
        messages.success(request, done)
    return redirect("portal:consultation_detail", pk)


@require_POST
def consultation_answer(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        AnswerForm,
        lambda c, d: services.consultation_answer(
            actor=request.user,
            consultation=c,
            answer=d["answer"],
            publish=bool(d.get("publish")),
            faq_question=d.get("faq_question") or "",
            expected_version=d.get("version"),
        ),
        _("答复已保存。"),
    )


@require_POST
def consultation_publish(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        PublishForm,
        lambda c, d: services.consultation_publish(
            actor=request.user,
            consultation=c,
            publish=bool(d.get("publish")),
            faq_question=d.get("faq_question") or "",
            expected_version=d.get("version"),
        ),
        _("公开设置已保存。"),
    )


@require_POST
def consultation_close(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        VersionForm,
        lambda c, d: services.consultation_close(actor=request.user, consultation=c, expected_version=d.get("version")),
        _("咨询已关闭。"),
    )


urlpatterns: list[URLPattern] = [
    path("faq/", faq, name="faq"),
    path("consultations/", consultation_list, name="consultation_list"),
    path("consultations/new/", consultation_create, name="consultation_create"),
    path("consultations/<int:pk>/", consultation_detail, name="consultation_detail"),
    path("consultations/<int:pk>/answer/", consultation_answer, name="consultation_answer"),
    path("consultations/<int:pk>/publish/", consultation_publish, name="consultation_publish"),
    path("consultations/<int:pk>/close/", consultation_close, name="consultation_close"),
]
