"""信易贷 exchange pages (数据交换, S5).

Operators (platform staff): the partners (create, edit, rotate the secret — shown once —, sync now: queue the
changed facts, deliver what is due and pull what the partner has for us), the outbound queue with counts per status
and the dead-letter queue (`?status=dead`, 死信队列), one message with its payload and attempts (requeue a dead or
retrying one), and the received messages. Every other user gets 403 on these sections (as on the targets
dashboard) and 404 on an object (a partner, a message), like a missing one.

Enterprises: their sharing consent (授权: what is shared, with whom; grant or revoke) and the credit data and loan
outcomes partners sent about them; officials of the region read the latter too.
"""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ipledge.core.forms import attach_errors
from ipledge.core.scoping import Action
from ipledge.core.views import AuthenticatedRequest

from .. import selectors_exchange as selectors
from ..choices import MessageKind, OutboundStatus
from ..forms_exchange import PARTNER_FIELDS, InboundFilterSet, OutboundFilterSet, PartnerForm, RotateSecretForm
from ..models import ExchangePartner, InboundMessage, OutboundMessage, ShareConsent
from ..services import consent as consent_services
from ..services import partners as partner_services

PER_PAGE = 50
STATUS_BADGES: dict[str, str] = {
    OutboundStatus.PENDING: "text-bg-secondary",
    OutboundStatus.DELIVERED: "text-bg-success",
    OutboundStatus.RETRYING: "text-bg-warning",
    OutboundStatus.DEAD: "text-bg-danger",
}
SHARED_KINDS = (MessageKind.PRODUCT, MessageKind.WHITELIST_ENTRY, MessageKind.REGISTRATION)


def _operator(request: AuthenticatedRequest) -> None:
    """Configuring partners is the operators' (403 for everybody else, like the targets dashboard)."""
    if not selectors.is_operator(request.user):
        raise PermissionDenied


def _watcher(request: AuthenticatedRequest) -> None:
    """The partners and queues are the operators' and, read-only, their region's government bodies' (403 else)."""
    if not selectors.may_watch(request.user):
        raise PermissionDenied


def _partner(request: AuthenticatedRequest, pk: int, action: str = Action.VIEW) -> ExchangePartner:
    try:
        return selectors.partner_get(user=request.user, pk=pk, action=action)
    except ExchangePartner.DoesNotExist as exc:
        raise Http404 from exc


def _page(request: AuthenticatedRequest, qs: Any) -> Any:
    return Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))


def _querystring(request: AuthenticatedRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _report(report: Any) -> dict[str, Any]:
    if report is None:
        return {}
    if is_dataclass(report) and not isinstance(report, type):
        return asdict(report)
    return dict(vars(report))


def _status_cards(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"status": value, "label": label, "n": counts.get(value, 0), "css": STATUS_BADGES.get(value, "")}
        for value, label in OutboundStatus.choices
    ]


def _show_secret(request: AuthenticatedRequest, partner: ExchangePartner, secret: str, title: str) -> HttpResponse:
    """The one page that shows a secret in clear; never cached."""
    response = render(
        request, "integration/partner_secret.html", {"partner": partner, "secret": secret, "title": title}
    )
    response["Cache-Control"] = "no-store"
    return response


# ----------------------------------------------------------------------------------------------------- partners


@require_GET
def partner_list(request: AuthenticatedRequest) -> HttpResponse:
    _watcher(request)
    partners = list(selectors.partner_list(user=request.user))
    counts = selectors.outbound_status_counts(user=request.user)
    per_partner: dict[int, dict[str, int]] = {}
    for partner_id, status, n in (
        OutboundMessage.objects.restrict(request.user, Action.VIEW)
        .order_by()
        .values_list("partner_id", "status")
        .annotate(n=Count("pk"))
    ):
        per_partner.setdefault(partner_id, {})[str(status)] = n
    rows = [{"partner": p, "counts": per_partner.get(p.pk, {})} for p in partners]
    return render(
        request,
        "integration/partner_list.html",
        {"rows": rows, "counts": _status_cards(counts), "is_operator": selectors.is_operator(request.user)},
    )


def partner_create(request: AuthenticatedRequest) -> HttpResponse:
    _operator(request)
    form = PartnerForm(request.POST or None, creating=True)
    if request.method == "POST" and form.is_valid():
        d = dict(form.cleaned_data)
        secret = d.pop("secret", "") or ""
        try:
            created = partner_services.partner_create(actor=request.user, data=d, secret=secret)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("对接平台已创建。请立即将签名密钥安全地交给对方，此后不再显示。"))
            return _show_secret(request, created.partner, created.secret, _("对接平台已创建"))
    return render(request, "integration/partner_form.html", {"form": form, "partner": None})


def partner_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    partner = _partner(request, pk, Action.CHANGE)
    form = PartnerForm(request.POST or None, creating=False, initial=PartnerForm.initial_for(partner))
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in PARTNER_FIELDS}
        try:
            partner_services.partner_update(actor=request.user, partner=partner, data=data)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("对接平台设置已保存。"))
            return redirect("integration:partner_list")
    return render(
        request,
        "integration/partner_form.html",
        {
            "form": form,
            "partner": partner,
            "rotate_form": RotateSecretForm(),
            "counts": selectors.partner_status_counts(partner),
        },
    )


@require_POST
def partner_rotate_secret(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    partner = _partner(request, pk, Action.CHANGE)
    form = RotateSecretForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("integration:partner_edit", pk)
    try:
        rotated = partner_services.partner_rotate_secret(
            actor=request.user, partner=partner, secret=form.cleaned_data.get("secret") or ""
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("integration:partner_edit", pk)
    return _show_secret(request, rotated.partner, rotated.secret, _("签名密钥已更换"))


@require_POST
def partner_sync(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Queue what changed for this partner, deliver what is due now, pull what the partner has for us."""
    partner = _partner(request, pk, Action.CHANGE)
    from ..services.delivery import deliver_due
    from ..services.inbound import pull
    from ..services.outbound import enqueue_all

    queued = enqueue_all(partner=partner)
    delivered = _report(deliver_due(partner=partner))
    pulled = _report(pull(partner=partner, actor=request.user))
    messages.success(
        request,
        _(
            "同步完成：新入队 产品 %(p)s、白名单 %(w)s、登记 %(r)s 条；本次投递 %(picked)s 条（送达 %(ok)s，"
            "重试 %(retry)s，死信 %(dead)s）；拉取 %(fetched)s 条（已处理 %(applied)s，拒收 %(rejected)s，"
            "重复 %(dup)s）。"
        )
        % {
            "p": queued.get(MessageKind.PRODUCT, 0),
            "w": queued.get(MessageKind.WHITELIST_ENTRY, 0),
            "r": queued.get(MessageKind.REGISTRATION, 0),
            "picked": delivered.get("picked", 0),
            "ok": delivered.get("delivered", 0),
            "retry": delivered.get("retrying", 0),
            "dead": delivered.get("dead", 0),
            "fetched": pulled.get("fetched", 0),
            "applied": pulled.get("applied", 0),
            "rejected": pulled.get("rejected", 0),
            "dup": pulled.get("duplicates", 0),
        },
    )
    for error in [*delivered.get("errors", []), *pulled.get("errors", [])][:5]:
        messages.warning(request, str(error))
    return redirect("integration:partner_list")


# ----------------------------------------------------------------------------------------------------- outbound


@require_GET
def outbound_list(request: AuthenticatedRequest) -> HttpResponse:
    """推送队列; `?status=dead` is the dead-letter queue (死信队列)."""
    _watcher(request)
    filterset = OutboundFilterSet(
        request.GET or None, queryset=selectors.outbound_list(user=request.user), user=request.user
    )
    page = _page(request, filterset.qs)
    partner_id = filterset.form.cleaned_data.get("partner") if filterset.form.is_valid() else None
    counts = selectors.outbound_status_counts(user=request.user, partner_id=int(partner_id) if partner_id else None)
    return render(
        request,
        "integration/outbound_list.html",
        {
            "filter": filterset,
            "page_obj": page,
            "counts": _status_cards(counts),
            "dead_only": request.GET.get("status") == OutboundStatus.DEAD,
            "partner_filter": partner_id or "",
            "badges": STATUS_BADGES,
            "querystring": _querystring(request),
        },
    )


@require_GET
def outbound_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        message = selectors.outbound_get(user=request.user, pk=pk)
    except OutboundMessage.DoesNotExist as exc:
        raise Http404 from exc
    is_operator = selectors.is_operator(request.user)
    return render(
        request,
        "integration/outbound_detail.html",
        {
            "message": message,
            "payload": json.dumps(message.payload, ensure_ascii=False, indent=2, sort_keys=True),
            "badge": STATUS_BADGES.get(message.status, ""),
            "may_requeue": is_operator and message.status in (OutboundStatus.DEAD, OutboundStatus.RETRYING),
            "is_operator": is_operator,
        },
    )


@require_POST
def outbound_requeue(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        message = selectors.outbound_get(user=request.user, pk=pk)
    except OutboundMessage.DoesNotExist as exc:
        raise Http404 from exc
    from ..services.delivery import requeue

    try:
        requeue(actor=request.user, message=message)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("消息已重新入队，将在下次投递时发送。"))
    return redirect("integration:outbound_detail", pk)


# ------------------------------------------------------------------------------------------------------ inbound


@require_GET
def inbound_list(request: AuthenticatedRequest) -> HttpResponse:
    _watcher(request)
    filterset = InboundFilterSet(
        request.GET or None, queryset=selectors.inbound_list(user=request.user), user=request.user
    )
    return render(
        request,
        "integration/inbound_list.html",
        {"filter": filterset, "page_obj": _page(request, filterset.qs), "querystring": _querystring(request)},
    )


@require_GET
def inbound_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        message = selectors.inbound_get(user=request.user, pk=pk)
    except InboundMessage.DoesNotExist as exc:
        raise Http404 from exc
    return render(
        request,
        "integration/inbound_detail.html",
        {
            "message": message,
            "payload": json.dumps(message.payload, ensure_ascii=False, indent=2, sort_keys=True),
            "result": json.dumps(message.result, ensure_ascii=False, indent=2, sort_keys=True),
        },
    )


# ------------------------------------------------------------------------------------------------------ consent


def _own_enterprise(request: AuthenticatedRequest) -> Any:
    enterprise = selectors.own_enterprise(request.user)
    if enterprise is None:
        raise PermissionDenied
    return enterprise


@require_GET
def consent(request: AuthenticatedRequest) -> HttpResponse:
    """The enterprise's sharing consent: what is shared, with whom, and the history of grants and revocations."""
    enterprise = _own_enterprise(request)
    history = list(selectors.consent_history(user=request.user, enterprise=enterprise))
    live = next((c for c in history if c.revoked_at is None), None)
    partners = list(ExchangePartner.objects.filter(is_active=True, push_whitelist=True).order_by("name"))
    partners = [p for p in partners if not p.region_code or enterprise.region_code.startswith(_prefix(p.region_code))]
    return render(
        request,
        "integration/consent.html",
        {
            "enterprise": enterprise,
            "live": live,
            "history": history,
            "partners": partners,
            "may_change": consent_services.may_consent(request.user, enterprise),
        },
    )


def _prefix(code: str) -> str:
    from ..services.outbound import region_prefix

    return region_prefix(code)


@require_POST
def consent_grant(request: AuthenticatedRequest) -> HttpResponse:
    enterprise = _own_enterprise(request)
    consent_services.consent_grant(actor=request.user, enterprise=enterprise)
    messages.success(request, _("已授权向信易贷平台共享本企业的白名单信息。"))
    return redirect("integration:consent")


@require_POST
def consent_revoke(request: AuthenticatedRequest) -> HttpResponse:
    enterprise = _own_enterprise(request)
    raw = str(request.POST.get("consent") or "")
    qs = ShareConsent.objects.restrict(request.user, Action.CHANGE).filter(
        enterprise=enterprise, revoked_at__isnull=True
    )
    live = qs.filter(pk=int(raw)).first() if raw.isdigit() else qs.first()
    if live is None:
        raise Http404
    try:
        consent_services.consent_revoke(actor=request.user, consent=live)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("授权已撤回，今后不再向信易贷平台推送本企业的白名单信息。"))
    return redirect("integration:consent")


# ------------------------------------------------------------------------------------------------ credit reports


@require_GET
def credit_reports(request: AuthenticatedRequest) -> HttpResponse:
    """What 信易贷 partners sent about the enterprise (credit data, loan outcomes); officials see their region's."""
    if not selectors.may_see_credit_reports(request.user):
        raise PermissionDenied
    q = str(request.GET.get("q") or "").strip()
    reports = selectors.credit_reports(user=request.user)
    outcomes = selectors.loan_outcomes(user=request.user)
    if q:
        reports = reports.filter(enterprise__name__icontains=q) | reports.filter(enterprise__uscc=q.upper())
        outcomes = outcomes.filter(enterprise__name__icontains=q) | outcomes.filter(enterprise__uscc=q.upper())
    return render(
        request,
        "integration/credit_reports.html",
        {
            "reports": Paginator(reports, PER_PAGE).get_page(request.GET.get("page")),
            "outcomes": list(outcomes[:200]),
            "q": q,
            "is_enterprise": selectors.own_enterprise(request.user) is not None,
            "querystring": f"q={q}" if q else "",
        },
    )


urlpatterns: list[URLPattern] = [
    path("partners/", partner_list, name="partner_list"),
    path("partners/new/", partner_create, name="partner_create"),
    path("partners/<int:pk>/", partner_edit, name="partner_edit"),
    path("partners/<int:pk>/rotate-secret/", partner_rotate_secret, name="partner_rotate_secret"),
    path("partners/<int:pk>/sync/", partner_sync, name="partner_sync"),
    path("outbound/", outbound_list, name="outbound_list"),
    path("outbound/<int:pk>/", outbound_detail, name="outbound_detail"),
    path("outbound/<int:pk>/requeue/", outbound_requeue, name="outbound_requeue"),
    path("inbound/", inbound_list, name="inbound_list"),
    path("inbound/<int:pk>/", inbound_detail, name="inbound_detail"),
    path("consent/", consent, name="consent"),
    path("consent/grant/", consent_grant, name="consent_grant"),
    path("consent/revoke/", consent_revoke, name="consent_revoke"),
    path("credit-reports/", credit_reports, name="credit_reports"),
]
