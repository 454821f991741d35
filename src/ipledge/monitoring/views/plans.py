"""Plan pages (O1, O2): provincial action plans (省级行动方案) with their task ledger (任务台账) and its xlsx, progress
reports with evidence by the task owners, reminders (工作提醒), and key / demonstration parks (重点 / 示范园区) per
province and year with the check of at least 3.

Views are thin: reads start from `restrict()` (another province's plan answers 404 like a missing one), each write
runs one service of `ipledge.monitoring.services.plans`, a `ValidationError` is shown next to the field it names,
and a `PermissionDenied` answers 403. Create pages answer 404 to users who may never create.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from ipledge.core import uploads
from ipledge.core.choices import OrganisationKind, RegionLevel
from ipledge.core.context import business_date
from ipledge.core.forms import attach_errors
from ipledge.core.models import Organisation, Region
from ipledge.core.scoping import Action, scope_for
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest

from .. import selectors_plans as selectors
from ..choices import DesignationStatus, PlanStatus
from ..forms_plans import (
    DateForm,
    DesignationForm,
    KeyParkFilterForm,
    PlanFilterForm,
    PlanForm,
    ProgressForm,
    ReminderFilterForm,
    RevokeForm,
    TaskForm,
)
from ..models import KeyParkDesignation, PlanTask, ProvincialPlan
from ..services import plans as services
from ..tables_plans import DesignationTable, LedgerTable, PlanTable, ReminderTable, plan_badge, task_badge

PER_PAGE = 25
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _flash(request: AuthenticatedRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _provinces(user: Any) -> QuerySet[Region]:
    """Provinces the user may draft plans for."""
    scope = scope_for(user)
    provinces = Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code")
    if scope is None:
        return provinces.none()
    if scope.is_platform:
        return provinces
    if scope.region_prefix is None:
        return provinces.none()
    return provinces.filter(code__startswith=scope.region_prefix)


def _owners(user: Any) -> QuerySet[Organisation]:
    """Organisations a task may be given to: those the user reads, enterprises aside."""
    return (
        Organisation.objects.restrict(user, Action.VIEW)
        .filter(is_active=True)
        .exclude(kind=OrganisationKind.ENTERPRISE)
        .order_by("tree_path", "name")
    )


# ---------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------


@require_GET
def plan_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    data = request.GET.copy()
    for key in ("page", "sort"):
        data.pop(key, None)
    form = PlanFilterForm(data or None)
    table = PlanTable(selectors.plan_list(user=user, filters=form.filters()))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    my_tasks = selectors.task_list(user=user, owned_only=True)
    return render(
        request,
        "monitoring/plan_list.html",
        {
            "filter": {"form": form},
            "table": table,
            "can_create": services.may_edit_plans(user),
            "reminder_count": selectors.open_reminders(user).count(),
            "my_tasks": my_tasks[:50],
        },
    )


def plan_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not services.may_edit_plans(user):
        raise Http404
    year = business_date().year
    provinces = _provinces(user)
    form = PlanForm(
        request.POST or None,
        provinces=provinces,
        initial={"region": provinces.first(), "year_from": year, "year_to": year + 2},
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                plan = services.plan_create(
                    region=d["region"],
                    title=d["title"],
                    document_no=d["document_no"],
                    year_from=d["year_from"],
                    year_to=d["year_to"],
                    summary=d["summary"],
                    acting_user=user,
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("行动方案“%(title)s”已创建（起草中）。") % {"title": plan.title})
            return redirect("monitoring:plan_detail", plan.pk)
    return render(request, "monitoring/plan_form.html", {"form": form, "creating": True})


def _plan(user: Any, pk: int, action: str = Action.VIEW) -> ProvincialPlan:
    scoped_get(ProvincialPlan, user=user, pk=pk, action=action)
    return ProvincialPlan.objects.select_related("region", "issuing_org", "created_by").get(pk=pk)


@require_GET
def plan_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    plan = _plan(user, pk)
    tasks = selectors.plan_tasks(user=user, plan=plan)
    table = LedgerTable(tasks)
    may_edit = services.may_edit_plan(user, plan)
    today = business_date()
    return render(
        request,
        "monitoring/plan_detail.html",
        {
            "plan": plan,
            "status_badge": plan_badge(plan),
            "table": table,
            "may_edit": may_edit,
            "can_issue": may_edit and plan.status == PlanStatus.DRAFT,
            "can_submit": may_edit and plan.status == PlanStatus.ISSUED,
            "issue_form": DateForm(initial={"day": today, "version": plan.version}, label=_("印发日期")),
            "submit_form": DateForm(initial={"day": today, "version": plan.version}, label=_("报送日期")),
            "submission_overdue": plan.status == PlanStatus.ISSUED
            and plan.submission_due_on is not None
            and plan.submission_due_on < today,
            "tasks": list(tasks),
            "overdue": sum(1 for t in tasks if getattr(t, "is_overdue", False)),
            "submission_days": services.SUBMISSION_DAYS,
        },
    )


def plan_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    plan = _plan(user, pk, Action.CHANGE)
    initial = {k: getattr(plan, k) for k in services.PLAN_FIELDS} | {"version": plan.version}
    form = PlanForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                services.plan_update(
                    plan=plan,
                    data={k: d[k] for k in services.PLAN_FIELDS},
                    acting_user=user,
                    expected_version=d.get("version"),
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("方案已保存。"))
            return redirect("monitoring:plan_detail", plan.pk)
    return render(request, "monitoring/plan_form.html", {"form": form, "plan": plan})


def _date_action(request: AuthenticatedRequest, pk: int, run: Any, done: str) -> HttpResponse:
    user = request.user
    plan = _plan(user, pk, Action.CHANGE)
    form = DateForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("monitoring:plan_detail", plan.pk)
    try:
        with transaction.atomic():
            run(plan, form.cleaned_data["day"], user, form.cleaned_data.get("version"))
    except ValidationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, done)
    return redirect("monitoring:plan_detail", plan.pk)


@require_POST
def plan_issue(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _date_action(
        request,
        pk,
        lambda plan, day, user, version: services.plan_issue(
            plan=plan, issued_on=day, acting_user=user, expected_version=version
        ),
        _("方案已印发，须于%(days)s日内报送。") % {"days": services.SUBMISSION_DAYS},
    )


@require_POST
def plan_submit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _date_action(
        request,
        pk,
        lambda plan, day, user, version: services.plan_submit(
            plan=plan, submitted_on=day, acting_user=user, expected_version=version
        ),
        _("已记录方案报送。"),
    )


@require_GET
def plan_ledger_xlsx(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    plan = _plan(user, pk)
    content = selectors.ledger_workbook(plan, selectors.plan_tasks(user=user, plan=plan))
    response = HttpResponse(content, content_type=XLSX)
    name = f"{plan.title}-任务台账.xlsx"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------


def task_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    plan = _plan(user, pk, Action.CHANGE)
    form = TaskForm(request.POST or None, owners=_owners(user))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                task = services.task_create(
                    plan=plan,
                    title=d["title"],
                    description=d["description"],
                    requirement=d["requirement"],
                    owner_org=d["owner_org"],
                    owner_name=d["owner_name"],
                    due_on=d["due_on"],
                    acting_user=user,
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("任务 %(n)s 已加入台账。") % {"n": task.number})
            return redirect("monitoring:plan_detail", plan.pk)
    return render(request, "monitoring/plan_task_form.html", {"form": form, "plan": plan, "creating": True})


def task_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """One ledger line: the plan's IP office edits it; the owner (and the IP office) reports progress."""
    user = request.user
    task = scoped_get(PlanTask, user=user, pk=pk, action=Action.CHANGE)
    task = PlanTask.objects.select_related("plan", "plan__region", "owner_org").get(pk=task.pk)
    may_edit = services.may_edit_plan(user, task.plan)
    which = request.POST.get("form") if request.method == "POST" else None
    initial = {k: getattr(task, k) for k in services.TASK_FIELDS} | {"version": task.version}
    task_form = (
        TaskForm(request.POST if which == "task" else None, owners=_owners(user), initial=initial) if may_edit else None
    )
    progress_form = ProgressForm(
        request.POST if which == "progress" else None,
        request.FILES if which == "progress" else None,
        initial={
            "status": task.status,
            "progress": task.progress,
            "completed_on": task.completed_on,
            "evidence": task.evidence,
            "version": task.version,
        },
    )
    if which == "task" and task_form is not None and task_form.is_valid():
        d = task_form.cleaned_data
        try:
            with transaction.atomic():
                services.task_update(
                    task=task,
                    data={k: d[k] for k in services.TASK_FIELDS},
                    acting_user=user,
                    expected_version=d.get("version"),
                )
        except ValidationError as exc:
            attach_errors(task_form, exc)
        else:
            messages.success(request, _("任务已保存。"))
            return redirect("monitoring:plan_detail", task.plan_id)
    if which == "progress" and progress_form.is_valid():
        d = progress_form.cleaned_data
        upload = d.get("file")
        try:
            with transaction.atomic():
                updated = services.task_report_progress(
                    task=task,
                    report=services.TaskProgress(
                        status=d["status"],
                        progress=d["progress"],
                        evidence=d["evidence"],
                        completed_on=d.get("completed_on"),
                    ),
                    acting_user=user,
                    expected_version=d.get("version"),
                )
                if upload:
                    services.task_evidence_attach(
                        task=updated, filename=upload.name, content=upload.read(), acting_user=user
                    )
        except ValidationError as exc:
            attach_errors(progress_form, exc)
        else:
            messages.success(request, _("进展已更新。"))
            return redirect("monitoring:task_edit", task.pk)
    task.is_overdue = task.status in services.OPEN_TASK_STATUSES and task.due_on < business_date()  # type: ignore[attr-defined]
    return render(
        request,
        "monitoring/plan_task_form.html",
        {
            "task": task,
            "plan": task.plan,
            "status_badge": task_badge(task),
            "form": task_form,
            "progress_form": progress_form,
            "may_edit": may_edit,
        },
    )


@require_POST
def task_move(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    task = scoped_get(PlanTask, user=request.user, pk=pk, action=Action.CHANGE)
    direction = -1 if request.POST.get("direction") == "up" else 1
    try:
        with transaction.atomic():
            services.task_move(task=task, direction=direction, acting_user=request.user)
    except ValidationError as exc:
        _flash(request, exc)
    return redirect("monitoring:plan_detail", task.plan_id)


@require_GET
def task_evidence(request: AuthenticatedRequest, pk: int) -> FileResponse:
    task = scoped_get(PlanTask, user=request.user, pk=pk)
    if not task.evidence_file:
        raise Http404(_("该任务没有佐证材料文件。"))
    try:
        handle = default_storage.open(services.evidence_path(task.evidence_file), "rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=services.evidence_content_type(task.evidence_file))
    # Always a download under the display name, never rendered inline, whatever the content.
    response["Content-Disposition"] = uploads.content_disposition(task.evidence_file_name or task.evidence_file)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------------------
# Reminders
# ---------------------------------------------------------------------------


@require_GET
def reminder_list(request: AuthenticatedRequest) -> HttpResponse:
    data = request.GET.copy()
    for key in ("page", "sort"):
        data.pop(key, None)
    form = ReminderFilterForm(data or None)
    kind, show = "", "open"
    if form.is_bound and form.is_valid():
        kind = form.cleaned_data.get("kind") or ""
        show = form.cleaned_data.get("show") or "open"
    table = ReminderTable(selectors.reminder_list(user=request.user, open_only=show != "all", kind=kind))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, "monitoring/reminder_list.html", {"filter": {"form": form}, "table": table})


# ---------------------------------------------------------------------------
# Key parks
# ---------------------------------------------------------------------------


def _may_designate(user: Any) -> bool:
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    return scope.is_platform or KeyParkDesignation.scope_q(scope, Action.ADD) is not None


@require_GET
def key_parks(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    data = request.GET.copy()
    for key in ("page", "sort"):
        data.pop(key, None)
    form = KeyParkFilterForm(data or None)
    year, province = business_date().year, ""
    if form.is_bound and form.is_valid():
        year = form.cleaned_data.get("year") or year
        province = form.cleaned_data.get("province") or ""
    checks = selectors.key_park_check(user=user, year=year, province=province)
    table = DesignationTable(selectors.designation_list(user=user, province=province))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    may_revoke = _may_designate(user)
    revocable = (
        list(
            KeyParkDesignation.objects.restrict(user, Action.CHANGE)
            .filter(status=DesignationStatus.ACTIVE, year=year)
            .values_list("pk", flat=True)
        )
        if may_revoke
        else []
    )
    return render(
        request,
        "monitoring/key_parks.html",
        {
            "filter": {"form": form},
            "year": year,
            "checks": checks,
            "table": table,
            "can_designate": _may_designate(user),
            "revocable": set(revocable),
            "revoke_form": RevokeForm(),
            "minimum": services.KEY_PARKS_MINIMUM,
        },
    )


def designation_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not _may_designate(user):
        raise Http404
    form = DesignationForm(
        request.POST or None, parks=selectors.designable_parks(user=user), initial={"year": business_date().year}
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                designation = services.designation_create(
                    park=d["park"],
                    year=d["year"],
                    kind=d["kind"],
                    designated_on=d.get("designated_on"),
                    rationale=d["rationale"],
                    goals=d["goals"],
                    acting_user=user,
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(
                request,
                _("已认定“%(park)s”为%(year)s年度%(kind)s。")
                % {
                    "park": designation.park.name,
                    "year": designation.year,
                    "kind": designation.get_kind_display(),
                },
            )
            return redirect(reverse("monitoring:key_parks") + f"?year={designation.year}")
    return render(request, "monitoring/key_park_form.html", {"form": form})


@require_POST
def designation_revoke(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    designation = scoped_get(KeyParkDesignation, user=request.user, pk=pk, action=Action.CHANGE)
    form = RevokeForm(request.POST)
    form.is_valid()
    try:
        with transaction.atomic():
            services.designation_revoke(
                designation=designation, reason=form.cleaned_data.get("reason", ""), acting_user=request.user
            )
    except ValidationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("认定已撤销。"))
    return redirect("monitoring:key_parks")


urlpatterns: list[URLPattern] = [
    path("plans/", plan_list, name="plans"),
    path("plans/new/", plan_create, name="plan_create"),
    path("plans/<int:pk>/", plan_detail, name="plan_detail"),
    path("plans/<int:pk>/edit/", plan_edit, name="plan_edit"),
    path("plans/<int:pk>/issue/", plan_issue, name="plan_issue"),
    path("plans/<int:pk>/submit/", plan_submit, name="plan_submit"),
    path("plans/<int:pk>/ledger.xlsx", plan_ledger_xlsx, name="plan_ledger_xlsx"),
    path("plans/<int:pk>/tasks/new/", task_create, name="task_create"),
    path("tasks/<int:pk>/", task_edit, name="task_edit"),
    path("tasks/<int:pk>/move/", task_move, name="task_move"),
    path("tasks/<int:pk>/evidence/", task_evidence, name="task_evidence"),
    path("reminders/", reminder_list, name="reminders"),
    path("key-parks/", key_parks, name="key_parks"),
    path("key-parks/new/", designation_create, name="designation_create"),
    path("key-parks/<int:pk>/revoke/", designation_revoke, name="designation_revoke"),
]
