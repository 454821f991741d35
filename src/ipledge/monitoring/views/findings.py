"""Anomaly pages (异常监测, M6): the findings list (filters rule, severity, status, region), one finding with its
evidence, case timeline and action forms (assign, start, note, confirm or dismiss); the scans with "run scan now";
the bulletins (通报) and issuing one from confirmed findings.

Views are thin: reads come from `selectors_findings` (every one starts from `restrict()`; a finding outside the
user's region answers 404), each write runs one service of `services.findings`, a `ValidationError` is shown as a
message naming the rule and a `PermissionDenied` answers 403. Users whose organisation never sees findings get 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from ipledge.core.apikit import may
from ipledge.core.context import business_date
from ipledge.core.forms import attach_errors
from ipledge.core.scoping import Action
from ipledge.core.views import AuthenticatedRequest

from .. import selectors_findings as selectors
from ..anomalies import scan_run
from ..choices import ACTIVE_FINDING_STATUSES, AnomalyRule, FindingStatus, ScanStatus
from ..forms_findings import AssignForm, BulletinForm, DecideForm, FindingFilterSet, NoteForm, ScanForm, StartForm
from ..models import AnomalyScan, Bulletin, Finding
from ..services import findings as services
from ..tables_findings import SEVERITY_BADGES, STATUS_BADGES, BulletinTable, FindingTable, ScanTable

PER_PAGE = 25


def _require(user: Any, model: type[Any], action: str = Action.VIEW) -> None:
    if not may(user, model, action):
        raise Http404


def _finding(user: Any, pk: int, action: str = Action.VIEW) -> Finding:
    """The finding in the user's scope for the action: a case step on a finding one may only read answers 404."""
    try:
        return selectors.finding_get(user=user, pk=pk, action=action)
    except Finding.DoesNotExist as exc:
        raise Http404 from exc


def _errors(request: AuthenticatedRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _version(request: AuthenticatedRequest) -> int | None:
    raw = str(request.POST.get("version") or "")
    return int(raw) if raw.isdigit() else None


@require_GET
def finding_list(request: AuthenticatedRequest) -> HttpResponse:
    """异常线索: the findings of the user's region."""
    user = request.user
    _require(user, Finding)
    filterset = FindingFilterSet(request.GET or None, queryset=selectors.finding_list(user=user))
    table = FindingTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    base = selectors.finding_list(user=user)
    return render(
        request,
        "monitoring/finding_list.html",
        {
            "table": table,
            "filter": filterset,
            "open_count": base.filter(status__in=ACTIVE_FINDING_STATUSES).count(),
            "confirmed_count": base.filter(status=FindingStatus.CONFIRMED).count(),
            "may_scan": may(user, AnomalyScan, Action.ADD),
            "may_bulletin": may(user, Bulletin, Action.ADD),
            "last_scan": selectors.scan_list(user=user).first(),
        },
    )


@require_GET
def finding_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    finding = _finding(user, pk)
    may_change = selectors.may(user, finding, Action.CHANGE)
    may_approve = selectors.may(user, finding, Action.APPROVE)
    initial = {"version": finding.version}
    status = finding.status
    return render(
        request,
        "monitoring/finding_detail.html",
        {
            "finding": finding,
            "records": selectors.evidence_links(finding),
            "figures": selectors.evidence_figures(finding),
            "events": selectors.finding_events(user=user, finding=finding),
            "severity_css": SEVERITY_BADGES.get(finding.severity, ""),
            "status_css": STATUS_BADGES.get(finding.status, ""),
            "assign_form": AssignForm(initial=initial, assignees=services.assignable_users(finding))
            if may_change and status in (FindingStatus.OPEN, FindingStatus.ASSIGNED)
            else None,
            "start_form": StartForm(initial=initial) if may_change and status == FindingStatus.ASSIGNED else None,
            "note_form": NoteForm(initial=initial) if may_change and status in ACTIVE_FINDING_STATUSES else None,
            "decide_form": DecideForm(initial=initial)
            if may_approve and status in (FindingStatus.ASSIGNED, FindingStatus.INVESTIGATING)
            else None,
        },
    )


@require_POST
def finding_assign(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    finding = _finding(request.user, pk, Action.CHANGE)
    form = AssignForm(request.POST, assignees=services.assignable_users(finding))
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form.fields[field].label if field in form.fields else ''}：{error}")
        return redirect("monitoring:finding_detail", pk)
    d = form.cleaned_data
    try:
        services.finding_assign(
            finding=finding,
            assignee=d["assignee"],
            due_on=d["due_on"],
            note=d.get("note") or "",
            expected_version=d.get("version"),
            acting_user=request.user,
        )
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("已分派核查。"))
    return redirect("monitoring:finding_detail", pk)


def _simple(
    request: AuthenticatedRequest, pk: int, form_class: Any, action: Any, done: str, scope: str = Action.CHANGE
) -> HttpResponse:
    finding = _finding(request.user, pk, scope)
    form = form_class(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form.fields[field].label if field in form.fields else ''}：{error}")
        return redirect("monitoring:finding_detail", pk)
    try:
        action(finding, form.cleaned_data)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, done)
    return redirect("monitoring:finding_detail", pk)


@require_POST
def finding_start(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _simple(
        request,
        pk,
        StartForm,
        lambda finding, d: services.finding_start_investigation(
            finding=finding, note=d.get("note") or "", expected_version=d.get("version"), acting_user=request.user
        ),
        _("已开始核查。"),
    )


@require_POST
def finding_note(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _simple(
        request,
        pk,
        NoteForm,
        lambda finding, d: services.finding_note(
            finding=finding, note=d["note"], expected_version=d.get("version"), acting_user=request.user
        ),
        _("核查记录已保存。"),
    )


@require_POST
def finding_decide(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _simple(
        request,
        pk,
        DecideForm,
        lambda finding, d: services.finding_decide(
            finding=finding,
            confirm=d["decision"] == "confirm",
            note=d["note"],
            expected_version=d.get("version"),
            acting_user=request.user,
        ),
        _("认定已保存。"),
        Action.APPROVE,
    )


# ----------------------------------------------------------------------------------------------------------- scans


def scan_list(request: AuthenticatedRequest) -> HttpResponse:
    """异常扫描: past scans with their counts; an IP office may run one now (POST)."""
    user = request.user
    _require(user, AnomalyScan)
    may_scan = may(user, AnomalyScan, Action.ADD)
    form = ScanForm(request.POST or None, initial={"as_of": business_date()})
    if request.method == "POST":
        if not may_scan:
            raise Http404
        if form.is_valid():
            as_of = form.cleaned_data.get("as_of") or business_date()
            if as_of > business_date():
                messages.error(request, _("数据截止日不能晚于今天。"))
            else:
                scan = scan_run(as_of=as_of, acting_user=user)
                total = sum(v.get("new", 0) for v in scan.counts.values())
                messages.success(request, _("扫描完成：新增 %(n)s 条异常线索。") % {"n": total})
            return redirect("monitoring:scans")
    table = ScanTable(selectors.scan_list(user=user))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    latest = selectors.scan_list(user=user).filter(status=ScanStatus.FINISHED).first()
    labels = dict(AnomalyRule.choices)
    breakdown = [
        {"rule": rule, "label": labels.get(rule, rule), **counts}
        for rule, counts in (latest.counts if latest else {}).items()
    ]
    return render(
        request,
        "monitoring/scan_list.html",
        {"table": table, "form": form, "may_scan": may_scan, "latest": latest, "breakdown": breakdown},
    )


# ------------------------------------------------------------------------------------------------------- bulletins


@require_GET
def bulletin_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    _require(user, Bulletin)
    table = BulletinTable(selectors.bulletin_list(user=user))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(
        request,
        "monitoring/bulletin_list.html",
        {"table": table, "may_issue": may(user, Bulletin, Action.ADD)},
    )


@require_GET
def bulletin_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    bulletin = selectors.bulletin_list(user=user).filter(pk=pk).first()
    if bulletin is None:
        raise Http404
    return render(
        request,
        "monitoring/bulletin_detail.html",
        {"bulletin": bulletin, "findings": selectors.bulletin_findings(user=user, bulletin=bulletin)},
    )


def bulletin_create(request: AuthenticatedRequest) -> HttpResponse:
    """发布通报: from the confirmed findings of the user's region."""
    user = request.user
    if not (may(user, Bulletin, Action.ADD)):
        raise Http404
    confirmed = Finding.objects.restrict(user, Action.CHANGE).filter(status=FindingStatus.CONFIRMED).order_by("-pk")
    form = BulletinForm(request.POST or None, confirmed=confirmed, initial={"issued_on": business_date()})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            bulletin = services.bulletin_issue(
                findings=list(d["findings"]),
                title=d["title"],
                body=d["body"],
                issued_on=d.get("issued_on"),
                acting_user=user,
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("通报 %(number)s 已发布。") % {"number": bulletin.number})
            return redirect("monitoring:bulletin_detail", bulletin.pk)
    return render(request, "monitoring/bulletin_form.html", {"form": form})


urlpatterns: list[URLPattern] = [
    path("findings/", finding_list, name="findings"),
    path("findings/<int:pk>/", finding_detail, name="finding_detail"),
    path("findings/<int:pk>/assign/", finding_assign, name="finding_assign"),
    path("findings/<int:pk>/start/", finding_start, name="finding_start"),
    path("findings/<int:pk>/note/", finding_note, name="finding_note"),
    path("findings/<int:pk>/decide/", finding_decide, name="finding_decide"),
    path("scans/", scan_list, name="scans"),
    path("bulletins/", bulletin_list, name="bulletins"),
    path("bulletins/new/", bulletin_create, name="bulletin_create"),
    path("bulletins/<int:pk>/", bulletin_detail, name="bulletin_detail"),
]
