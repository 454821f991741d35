"""Plan services (O1, O2): provincial action plans (省级行动方案) with their task ledger (任务台账), the daily
reminders (工作提醒) and key / demonstration park designations (重点 / 示范园区认定).

Lifecycle
---------
- The province's IP office drafts a plan (`plan_create`, `plan_update`), issues it (`plan_issue`: 印发, the
  submission deadline is the issue date + 10 days, 印发后10日内报送) and records its submission to CNIPA
  (`plan_submit`).
- The ledger: the IP office adds, edits and reorders tasks (`task_create`, `task_update`, `task_move`), each with an
  owner (an organisation on the platform or a named unit off it) and a deadline. The owner organisation (or the IP
  office) reports progress, status and evidence (`task_report_progress`, `task_evidence_attach`; the file goes
  through `ipledge.core.uploads` and is stored under its digest).
- `reminders_run(today=…)` is the daily job: one open reminder per kind and subject, raised when the cause appears
  and resolved when it goes (a plan near or past its submission deadline, a task near or past its deadline, a
  province with fewer than 3 key parks this year).
- Key parks: the IP office of the park's region designates (`designation_create`) or revokes
  (`designation_revoke`); `Park.is_key_park` follows through the registry's `park_update`.

Every write is atomic with its audit event; plans and tasks carry a `version` bumped under `select_for_update`, and
callers may pass the version they edited to refuse a lost update.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max, Q
from django.utils.translation import gettext_lazy as _

from ipledge.core import uploads
from ipledge.core.audit import audited_create, record_event, save_validated, snapshot
from ipledge.core.choices import OrganisationKind, RegionLevel
from ipledge.core.context import business_date
from ipledge.core.models import Organisation, Region, User
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.models import Park

from ..choices import DesignationKind, DesignationStatus, PlanStatus, ReminderKind, TaskStatus
from ..models import KeyParkDesignation, PlanTask, ProvincialPlan, Reminder

SUBMISSION_DAYS = 10  # 印发后10日内报送 (the action plan's own rule)
PLAN_WARNING_DAYS = 3  # a reminder this many days before the submission deadline
TASK_WARNING_DAYS = 7  # a reminder this many days before a task's deadline
KEY_PARKS_MINIMUM = 3  # O2: at least 3 key / demonstration parks per province
OPEN_TASK_STATUSES = (TaskStatus.NOT_STARTED, TaskStatus.IN_PROGRESS)
EVIDENCE_DIR = "monitoring/evidence"
# Names a client may give an evidence file; the type itself is decided by the content (ipledge.core.uploads).
EVIDENCE_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png", ".docx")
PLAN_FIELDS = ("title", "document_no", "year_from", "year_to", "summary")
TASK_FIELDS = ("title", "description", "requirement", "owner_org", "owner_name", "due_on")


def _error(field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params)})


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


# ---------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------


def _ip_office_for(user: User, region_code: str, action: str, what: str) -> None:
    """The user's role allows `action` and the user works for an IP office whose region covers `region_code`."""
    scope = scope_for(user)
    if scope is None or not scope.may(action):
        raise PermissionDenied(f"your role may not {what}")
    if scope.is_platform:
        return
    if scope.kind != OrganisationKind.IP_OFFICE or scope.region_prefix is None:
        raise PermissionDenied(f"only an IP office of the region may {what}")
    if not region_code.startswith(scope.region_prefix):
        raise PermissionDenied(f"only an IP office of the region may {what}")


def may_edit_plans(user: Any) -> bool:
    """Whether the user may draft plans at all (an IP office operator or admin, or the platform)."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    return scope.is_platform or ProvincialPlan.scope_q(scope, Action.ADD) is not None


def may_edit_plan(user: Any, plan: ProvincialPlan) -> bool:
    return ProvincialPlan.objects.restrict(user, Action.CHANGE).filter(pk=plan.pk).exists()


def may_report_progress(user: Any, task: PlanTask) -> bool:
    return PlanTask.objects.restrict(user, Action.CHANGE).filter(pk=task.pk).exists()


def _require_plan_editor(user: User, plan: ProvincialPlan, what: str) -> None:
    _ip_office_for(user, plan.region.code, Action.CHANGE, what)


def _lock_plan(plan: ProvincialPlan, expected_version: int | None) -> ProvincialPlan:
    locked = ProvincialPlan.objects.select_for_update(of=("self",)).select_related("region").get(pk=plan.pk)
    if expected_version is not None and locked.version != expected_version:
        raise _error("version", _("方案已被他人修改，请刷新后重试。"), "stale_version")
    return locked


def _lock_task(task: PlanTask, expected_version: int | None) -> PlanTask:
    locked = PlanTask.objects.select_for_update(of=("self",)).select_related("plan", "plan__region").get(pk=task.pk)
    if expected_version is not None and locked.version != expected_version:
        raise _error("version", _("任务已被他人修改，请刷新后重试。"), "stale_version")
    return locked


def _save_audited(instance: Any, before: dict[str, Any], acting_user: User | None, action: str) -> None:
    instance.version += 1
    save_validated(instance)
    after = snapshot(instance)
    changed = [k for k in after if before.get(k) != after.get(k)]
    record_event(
        acting_user=acting_user,
        action=action,
        instance=instance,
        old={k: before[k] for k in changed},
        new={k: after[k] for k in changed},
    )


# ---------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------


def _clean_plan(data: Mapping[str, Any], current: ProvincialPlan | None = None) -> dict[str, Any]:
    clean = {k: data[k] for k in PLAN_FIELDS if k in data}
    errors: dict[str, list[ValidationError]] = {}
    if "title" in clean:
        clean["title"] = (clean["title"] or "").strip()
        if not clean["title"]:
            errors.setdefault("title", []).append(ValidationError(_("请填写方案名称。"), code="required"))
    for key in ("document_no", "summary"):
        if key in clean:
            clean[key] = (clean[key] or "").strip()
    for key in ("year_from", "year_to"):
        if key in clean and (clean[key] is None or not 2000 <= int(clean[key]) <= 2100):
            errors.setdefault(key, []).append(ValidationError(_("年份应在2000–2100之间。"), code="year_range"))
    year_from = clean.get("year_from", current.year_from if current else None)
    year_to = clean.get("year_to", current.year_to if current else None)
    if not errors and year_from is not None and year_to is not None and year_to < year_from:
        errors["year_to"] = [ValidationError(_("实施截止年不能早于起始年。"), code="year_order")]
    if errors:
        raise ValidationError(errors)
    return clean


@transaction.atomic
def plan_create(
    *,
    region: Region,
    title: str,
    year_from: int,
    year_to: int,
    document_no: str = "",
    summary: str = "",
    acting_user: User,
) -> ProvincialPlan:
    """A draft plan of a province, issued by the user's IP office (the platform names the province's office)."""
    if region.level != RegionLevel.PROVINCE:
        raise _error("region", _("行动方案须按省份制定。"), "not_province")
    _ip_office_for(acting_user, region.code, Action.ADD, "draft plans of this province")
    issuing_org = acting_user.organisation
    if issuing_org is None or issuing_org.kind != OrganisationKind.IP_OFFICE:
        issuing_org = _provincial_office(region)
    if issuing_org is None:
        raise _error("region", _("该省份尚无入驻平台的知识产权局。"), "no_ip_office")
    clean = _clean_plan(
        {"title": title, "document_no": document_no, "year_from": year_from, "year_to": year_to, "summary": summary}
    )
    plan = ProvincialPlan(region=region, issuing_org=issuing_org, created_by=_actor(acting_user), **clean)
    return audited_create(instance=plan, acting_user=acting_user, action="provincial_plan.create")


def _provincial_office(region: Region) -> Organisation | None:
    return (
        Organisation.objects.filter(kind=OrganisationKind.IP_OFFICE, region=region, is_active=True)
        .order_by("pk")
        .first()
    )


@transaction.atomic
def plan_update(
    *, plan: ProvincialPlan, data: Mapping[str, Any], acting_user: User, expected_version: int | None = None
) -> ProvincialPlan:
    """Change a plan's title, number, years or summary (also after issue: the ledger lives on)."""
    locked = _lock_plan(plan, expected_version)
    _require_plan_editor(acting_user, locked, "change this plan")
    clean = _clean_plan(data, locked)
    before = snapshot(locked)
    for name, value in clean.items():
        setattr(locked, name, value)
    if snapshot(locked) == before:
        return locked
    _save_audited(locked, before, acting_user, "provincial_plan.update")
    return locked


@transaction.atomic
def plan_issue(
    *, plan: ProvincialPlan, issued_on: datetime.date, acting_user: User, expected_version: int | None = None
) -> ProvincialPlan:
    """Issue (印发) a draft plan: the submission deadline becomes the issue date + 10 days."""
    locked = _lock_plan(plan, expected_version)
    _require_plan_editor(acting_user, locked, "issue this plan")
    if locked.status != PlanStatus.DRAFT:
        raise _error("status", _("只有起草中的方案可以印发。"), "not_draft")
    if issued_on is None:
        raise _error("issued_on", _("请填写印发日期。"), "required")
    if issued_on > business_date():
        raise _error("issued_on", _("印发日期不能晚于今天。"), "future_date")
    before = snapshot(locked)
    locked.status = PlanStatus.ISSUED
    locked.issued_on = issued_on
    locked.submission_due_on = submission_due_on(issued_on)
    _save_audited(locked, before, acting_user, "provincial_plan.issue")
    return locked


def submission_due_on(issued_on: datetime.date) -> datetime.date:
    """印发后10日内报送: calendar days, the deadline day included."""
    return issued_on + datetime.timedelta(days=SUBMISSION_DAYS)


@transaction.atomic
def plan_submit(
    *, plan: ProvincialPlan, submitted_on: datetime.date, acting_user: User, expected_version: int | None = None
) -> ProvincialPlan:
    """Record the issued plan's submission (报送) to CNIPA; its submission reminders resolve."""
    locked = _lock_plan(plan, expected_version)
    _require_plan_editor(acting_user, locked, "submit this plan")
    if locked.status != PlanStatus.ISSUED:
        raise _error("status", _("只有已印发的方案可以报送。"), "not_issued")
    if submitted_on is None:
        raise _error("submitted_on", _("请填写报送日期。"), "required")
    assert locked.issued_on is not None
    if submitted_on < locked.issued_on:
        raise _error("submitted_on", _("报送日期不能早于印发日期。"), "before_issue")
    if submitted_on > business_date():
        raise _error("submitted_on", _("报送日期不能晚于今天。"), "future_date")
    before = snapshot(locked)
    locked.status = PlanStatus.SUBMITTED
    locked.submitted_on = submitted_on
    _save_audited(locked, before, acting_user, "provincial_plan.submit")
    _resolve(
        Reminder.objects.filter(
            subject_key=f"plan:{locked.pk}",
            kind__in=(ReminderKind.PLAN_SUBMISSION_DUE, ReminderKind.PLAN_SUBMISSION_OVERDUE),
        ),
        submitted_on,
    )
    return locked


# ---------------------------------------------------------------------------
# Tasks (the ledger)
# ---------------------------------------------------------------------------


def _clean_task(data: Mapping[str, Any], current: PlanTask | None = None) -> dict[str, Any]:
    clean = {k: data[k] for k in TASK_FIELDS if k in data}
    errors: dict[str, list[ValidationError]] = {}
    for key in ("title", "description", "requirement", "owner_name"):
        if key in clean:
            clean[key] = (clean[key] or "").strip()
    if "title" in clean and not clean["title"]:
        errors.setdefault("title", []).append(ValidationError(_("请填写任务。"), code="required"))
    if "due_on" in clean and clean["due_on"] is None:
        errors.setdefault("due_on", []).append(ValidationError(_("请填写完成时限。"), code="required"))
    owner_org = clean.get("owner_org", current.owner_org if current else None)
    owner_name = clean.get("owner_name", current.owner_name if current else "")
    if owner_org is None and not owner_name:
        errors.setdefault("owner_org", []).append(
            ValidationError(_("请指定责任单位（平台机构或未入驻单位名称）。"), code="owner_required")
        )
    if owner_org is not None and not owner_org.is_active:
        errors.setdefault("owner_org", []).append(ValidationError(_("责任单位已停用。"), code="inactive"))
    if errors:
        raise ValidationError(errors)
    return clean


@transaction.atomic
def task_create(
    *,
    plan: ProvincialPlan,
    title: str,
    due_on: datetime.date,
    owner_org: Organisation | None = None,
    owner_name: str = "",
    description: str = "",
    requirement: str = "",
    acting_user: User,
) -> PlanTask:
    """A new line at the end of the plan's ledger."""
    locked = _lock_plan(plan, None)
    _require_plan_editor(acting_user, locked, "add tasks to this plan")
    clean = _clean_task(
        {
            "title": title,
            "due_on": due_on,
            "owner_org": owner_org,
            "owner_name": owner_name,
            "description": description,
            "requirement": requirement,
        }
    )
    number = (locked.tasks.aggregate(top=Max("number"))["top"] or 0) + 1
    task = PlanTask(plan=locked, number=number, updated_by=_actor(acting_user), **clean)
    return audited_create(instance=task, acting_user=acting_user, action="plan_task.create")


@transaction.atomic
def task_update(
    *, task: PlanTask, data: Mapping[str, Any], acting_user: User, expected_version: int | None = None
) -> PlanTask:
    """Change what a task is, who owns it and by when (the plan's IP office only)."""
    locked = _lock_task(task, expected_version)
    _require_plan_editor(acting_user, locked.plan, "change the ledger")
    clean = _clean_task(data, locked)
    before = snapshot(locked)
    for name, value in clean.items():
        setattr(locked, name, value)
    if snapshot(locked) == before:
        return locked
    locked.updated_by = _actor(acting_user)
    _save_audited(locked, before, acting_user, "plan_task.update")
    return locked


@transaction.atomic
def task_move(*, task: PlanTask, direction: int, acting_user: User) -> PlanTask:
    """Swap a task with its neighbour above (direction -1) or below (+1) in the ledger."""
    if direction not in (-1, 1):
        raise _error("direction", _("移动方向只能是上移或下移。"), "invalid")
    locked = _lock_task(task, None)
    _require_plan_editor(acting_user, locked.plan, "reorder the ledger")
    siblings = PlanTask.objects.select_for_update(of=("self",)).filter(plan_id=locked.plan_id)
    neighbour = (
        siblings.filter(number__lt=locked.number).order_by("-number").first()
        if direction < 0
        else siblings.filter(number__gt=locked.number).order_by("number").first()
    )
    if neighbour is None:
        return locked
    mine, theirs = locked.number, neighbour.number
    # Through a free number, so the (plan, number) unique constraint holds at every step.
    PlanTask.objects.filter(pk=locked.pk).update(number=0)
    PlanTask.objects.filter(pk=neighbour.pk).update(number=mine, version=neighbour.version + 1)
    PlanTask.objects.filter(pk=locked.pk).update(number=theirs, version=locked.version + 1)
    record_event(
        acting_user=acting_user,
        action="plan_task.move",
        instance=locked,
        old={"number": mine},
        new={"number": theirs},
        extra={"swapped_with": neighbour.pk},
    )
    locked.refresh_from_db()
    return locked


@dataclass(frozen=True)
class TaskProgress:
    status: str
    progress: int
    evidence: str = ""
    completed_on: datetime.date | None = None


@transaction.atomic
def task_report_progress(
    *, task: PlanTask, report: TaskProgress, acting_user: User, expected_version: int | None = None
) -> PlanTask:
    """The owner organisation (or the plan's IP office) reports status, progress and evidence. Done means 100 %
    with a completion date (today when not given); any other status clears the completion date."""
    locked = _lock_task(task, expected_version)
    if not may_report_progress(acting_user, locked):
        raise PermissionDenied("only the task's owner or the plan's IP office reports progress")
    errors: dict[str, list[ValidationError]] = {}
    if report.status not in TaskStatus.values:
        errors.setdefault("status", []).append(ValidationError(_("状态无效。"), code="invalid_choice"))
    if not 0 <= report.progress <= 100:
        errors.setdefault("progress", []).append(ValidationError(_("进度应为0–100。"), code="progress_range"))
    completed_on = report.completed_on
    if report.status == TaskStatus.DONE:
        completed_on = completed_on or business_date()
        if completed_on > business_date():
            errors.setdefault("completed_on", []).append(
                ValidationError(_("完成日期不能晚于今天。"), code="future_date")
            )
    else:
        completed_on = None
    if errors:
        raise ValidationError(errors)
    before = snapshot(locked)
    locked.status = report.status
    locked.progress = 100 if report.status == TaskStatus.DONE else report.progress
    locked.completed_on = completed_on
    locked.evidence = (report.evidence or "").strip()
    if snapshot(locked) == before:
        return locked
    locked.updated_by = _actor(acting_user)
    _save_audited(locked, before, acting_user, "plan_task.progress")
    if locked.status not in OPEN_TASK_STATUSES:
        _resolve(
            Reminder.objects.filter(
                subject_key=f"task:{locked.pk}", kind__in=(ReminderKind.TASK_DUE, ReminderKind.TASK_OVERDUE)
            ),
            business_date(),
        )
    return locked


@transaction.atomic
def task_evidence_attach(*, task: PlanTask, filename: str, content: bytes, acting_user: User) -> PlanTask:
    """Attach the evidence file (佐证材料) after the upload checks; stored under its digest, the client's name kept
    as display text only. A new file replaces the previous one (the audit keeps both digests)."""
    locked = _lock_task(task, None)
    if not may_report_progress(acting_user, locked):
        raise PermissionDenied("only the task's owner or the plan's IP office attaches evidence")
    if not content:
        raise _error("file", _("文件为空。"), "empty")
    suffix = PurePath(uploads.display_name(filename)).suffix.lower()
    if suffix not in EVIDENCE_SUFFIXES:  # the name can only refuse, the type is decided by the content
        raise _error("file", _("只接受 PDF、JPG、PNG 或 DOCX 文件。"), "file_type")
    try:
        checked = uploads.check(content, filename=filename, policy=uploads.DOCUMENT)
    except uploads.UploadRefused as exc:
        if exc.rule in ("file_type", "file_format"):
            raise _error("file", _("文件内容与扩展名不符。"), "content_mismatch") from exc
        raise
    digest = hashlib.sha256(content).hexdigest()
    stored = f"{digest}{checked.extension}"
    path = evidence_path(stored)
    if not default_storage.exists(path):
        default_storage.save(path, ContentFile(content))
    before = snapshot(locked)
    locked.evidence_file = stored
    locked.evidence_file_name = checked.display_name[:255]
    locked.updated_by = _actor(acting_user)
    _save_audited(locked, before, acting_user, "plan_task.evidence")
    return locked


def evidence_path(stored: str) -> str:
    """Where an evidence file lives in the default storage (names are ours: digest + extension)."""
    return f"{EVIDENCE_DIR}/{stored}"


def evidence_content_type(stored: str) -> str:
    """The content type of a stored evidence file, from the extension we gave it after sniffing its content."""
    for kind, extension in uploads.EXTENSIONS.items():
        if kind != uploads.TEXT and stored.endswith(extension):
            return uploads.CONTENT_TYPES[kind]
    return "application/octet-stream"


# ---------------------------------------------------------------------------
# Key parks
# ---------------------------------------------------------------------------


def _sync_key_park(park: Park, acting_user: User, today: datetime.date) -> None:
    """`Park.is_key_park` means: an active designation for this year or a later one."""
    from ipledge.registry.services import park_update

    wanted = KeyParkDesignation.objects.filter(
        park=park, status=DesignationStatus.ACTIVE, year__gte=today.year
    ).exists()
    if park.is_key_park != wanted:
        park_update(park=park, data={"is_key_park": wanted}, acting_user=acting_user)


@transaction.atomic
def designation_create(
    *,
    park: Park,
    year: int,
    kind: str = DesignationKind.KEY,
    designated_on: datetime.date | None = None,
    rationale: str = "",
    goals: str = "",
    acting_user: User,
) -> KeyParkDesignation:
    """Designate a park key or demonstration park (重点 / 示范园区) for a year (the IP office of its region)."""
    park = Park.objects.select_for_update(of=("self",)).select_related("region").get(pk=park.pk)
    _ip_office_for(acting_user, park.region.code, Action.ADD, "designate parks of this region")
    errors: dict[str, list[ValidationError]] = {}
    if kind not in DesignationKind.values:
        errors.setdefault("kind", []).append(ValidationError(_("类型无效。"), code="invalid_choice"))
    if year is None or not 2000 <= int(year) <= 2100:
        errors.setdefault("year", []).append(ValidationError(_("年份应在2000–2100之间。"), code="year_range"))
    elif KeyParkDesignation.objects.filter(park=park, year=year, status=DesignationStatus.ACTIVE).exists():
        errors.setdefault("year", []).append(ValidationError(_("该园区本年度已被认定。"), code="unique"))
    today = business_date()
    designated_on = designated_on or today
    if designated_on > today:
        errors.setdefault("designated_on", []).append(ValidationError(_("认定日期不能晚于今天。"), code="future_date"))
    if errors:
        raise ValidationError(errors)
    org = acting_user.organisation
    if org is None or org.kind != OrganisationKind.IP_OFFICE:
        province = _province_of(park.region.code)
        org = _provincial_office(province) if province is not None else None
    if org is None:
        raise _error("park", _("该园区所在省份尚无入驻平台的知识产权局。"), "no_ip_office")
    designation = KeyParkDesignation(
        park=park,
        year=year,
        kind=kind,
        region_code=park.region.code,
        designated_by=org,
        designated_on=designated_on,
        rationale=(rationale or "").strip(),
        goals=(goals or "").strip(),
        created_by=_actor(acting_user),
    )
    audited_create(instance=designation, acting_user=acting_user, action="key_park_designation.create")
    _sync_key_park(park, acting_user, today)
    _resolve_key_parks_if_met(park.region.code, int(year), today)
    return designation


@transaction.atomic
def designation_revoke(
    *, designation: KeyParkDesignation, reason: str, revoked_on: datetime.date | None = None, acting_user: User
) -> KeyParkDesignation:
    """Revoke a designation (a reason is required); the park stops being a key park unless another holds."""
    locked = KeyParkDesignation.objects.select_for_update(of=("self",)).select_related("park").get(pk=designation.pk)
    _ip_office_for(acting_user, locked.region_code, Action.CHANGE, "revoke designations of this region")
    if locked.status != DesignationStatus.ACTIVE:
        raise _error("status", _("该认定已撤销。"), "not_active")
    reason = (reason or "").strip()
    today = business_date()
    revoked_on = revoked_on or today
    errors: dict[str, list[ValidationError]] = {}
    if not reason:
        errors.setdefault("reason", []).append(ValidationError(_("请填写撤销原因。"), code="required"))
    if revoked_on < locked.designated_on:
        errors.setdefault("revoked_on", []).append(
            ValidationError(_("撤销日期不能早于认定日期。"), code="before_designation")
        )
    if revoked_on > today:
        errors.setdefault("revoked_on", []).append(ValidationError(_("撤销日期不能晚于今天。"), code="future_date"))
    if errors:
        raise ValidationError(errors)
    before = snapshot(locked)
    locked.status = DesignationStatus.REVOKED
    locked.revoked_on = revoked_on
    locked.revoke_reason = reason[:255]
    save_validated(locked)
    record_event(
        acting_user=acting_user,
        action="key_park_designation.revoke",
        instance=locked,
        old={k: before[k] for k in ("status", "revoked_on", "revoke_reason")},
        new=snapshot(locked, ("status", "revoked_on", "revoke_reason")),
    )
    _sync_key_park(locked.park, acting_user, today)
    return locked


def _province_of(region_code: str) -> Region | None:
    return Region.objects.filter(code=f"{region_code[:2]}0000").first()


def active_designations(*, province_prefix: str, year: int) -> Any:
    return KeyParkDesignation.objects.filter(
        status=DesignationStatus.ACTIVE, year=year, region_code__startswith=province_prefix
    )


def _resolve_key_parks_if_met(region_code: str, year: int, today: datetime.date) -> None:
    prefix = region_code[:2]
    if active_designations(province_prefix=prefix, year=year).count() >= KEY_PARKS_MINIMUM:
        _resolve(
            Reminder.objects.filter(kind=ReminderKind.KEY_PARKS_SHORT, subject_key=f"keyparks:{prefix}:{year}"), today
        )


# ---------------------------------------------------------------------------
# Reminders
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Wanted:
    kind: str
    subject_key: str
    region_code: str
    message: str
    due_on: datetime.date | None
    recipient_id: int | None
    plan_id: int | None = None
    task_id: int | None = None


def _resolve(reminders: Any, day: datetime.date) -> int:
    found = list(reminders.filter(resolved_on__isnull=True))
    for reminder in found:
        reminder.resolved_on = max(day, reminder.raised_on)
        reminder.save(update_fields=["resolved_on"])
        record_event(
            acting_user=None, action="reminder.resolve", instance=reminder, new={"resolved_on": reminder.resolved_on}
        )
    return len(found)


def _plan_reminders(today: datetime.date) -> list[_Wanted]:
    wanted = []
    plans = ProvincialPlan.objects.filter(status=PlanStatus.ISSUED, submission_due_on__isnull=False).select_related(
        "region"
    )
    for plan in plans:
        due = plan.submission_due_on
        assert due is not None
        if today > due:
            kind, text = ReminderKind.PLAN_SUBMISSION_OVERDUE, _("“%(title)s”已超过报送期限（%(due)s），尚未报送。")
        elif today >= due - datetime.timedelta(days=PLAN_WARNING_DAYS):
            kind, text = ReminderKind.PLAN_SUBMISSION_DUE, _("“%(title)s”须于%(due)s前报送。")
        else:
            continue
        wanted.append(
            _Wanted(
                kind=kind,
                subject_key=f"plan:{plan.pk}",
                region_code=plan.region.code,
                message=str(text % {"title": plan.title, "due": due.isoformat()})[:255],
                due_on=due,
                recipient_id=plan.issuing_org_id,
                plan_id=plan.pk,
            )
        )
    return wanted


def _task_reminders(today: datetime.date) -> list[_Wanted]:
    wanted = []
    horizon = today + datetime.timedelta(days=TASK_WARNING_DAYS)
    tasks = (
        PlanTask.objects.filter(status__in=OPEN_TASK_STATUSES, due_on__lte=horizon)
        .exclude(plan__status=PlanStatus.DRAFT)
        .select_related("plan", "plan__region")
    )
    for task in tasks:
        if today > task.due_on:
            kind, text = ReminderKind.TASK_OVERDUE, _("任务“%(title)s”已逾期（完成时限%(due)s）。")
        else:
            kind, text = ReminderKind.TASK_DUE, _("任务“%(title)s”须于%(due)s前完成。")
        wanted.append(
            _Wanted(
                kind=kind,
                subject_key=f"task:{task.pk}",
                region_code=task.plan.region.code,
                message=str(text % {"title": task.title, "due": task.due_on.isoformat()})[:255],
                due_on=task.due_on,
                # A unit off the platform cannot read a reminder: the plan's issuing office follows it up.
                recipient_id=task.owner_org_id or task.plan.issuing_org_id,
                plan_id=task.plan_id,
                task_id=task.pk,
            )
        )
    return wanted


def _province_codes() -> list[str]:
    """Provinces the check covers: those with a plan or with a park on the platform."""
    prefixes = set(ProvincialPlan.objects.values_list("region__code", flat=True))
    prefixes |= {code for code in Park.objects.values_list("region__code", flat=True) if code}
    return sorted({f"{code[:2]}0000" for code in prefixes})


def _key_park_reminders(today: datetime.date) -> list[_Wanted]:
    wanted = []
    year = today.year
    counts: dict[str, int] = {}
    for code in KeyParkDesignation.objects.filter(status=DesignationStatus.ACTIVE, year=year).values_list(
        "region_code", flat=True
    ):
        counts[code[:2]] = counts.get(code[:2], 0) + 1
    provinces = {r.code: r for r in Region.objects.filter(code__in=_province_codes())}
    for code, region in sorted(provinces.items()):
        have = counts.get(code[:2], 0)
        if have >= KEY_PARKS_MINIMUM:
            continue
        office = _provincial_office(region)
        wanted.append(
            _Wanted(
                kind=ReminderKind.KEY_PARKS_SHORT,
                subject_key=f"keyparks:{code[:2]}:{year}",
                region_code=code,
                message=str(
                    _("%(province)s%(year)s年有效的重点/示范园区%(have)s个，至少须3个，还差%(missing)s个。")
                    % {"province": region.name, "year": year, "have": have, "missing": KEY_PARKS_MINIMUM - have}
                )[:255],
                due_on=None,
                recipient_id=office.pk if office else None,
            )
        )
    return wanted


@transaction.atomic
def reminders_run(*, today: datetime.date) -> dict[str, int]:
    """The daily check: raise the reminders whose cause holds today, resolve those whose cause went away.
    Idempotent: a second run on the same day changes nothing."""
    wanted = {(w.kind, w.subject_key): w for w in _plan_reminders(today) + _task_reminders(today)}
    wanted.update({(w.kind, w.subject_key): w for w in _key_park_reminders(today)})
    open_now = {
        (r.kind, r.subject_key): r for r in Reminder.objects.select_for_update().filter(resolved_on__isnull=True)
    }
    raised = 0
    for key, item in wanted.items():
        if key in open_now:
            continue
        reminder = Reminder.objects.create(
            kind=item.kind,
            subject_key=item.subject_key,
            plan_id=item.plan_id,
            task_id=item.task_id,
            region_code=item.region_code,
            recipient_id=item.recipient_id,
            message=item.message,
            due_on=item.due_on,
            raised_on=today,
        )
        record_event(acting_user=None, action="reminder.raise", instance=reminder, new=snapshot(reminder))
        raised += 1
    gone = [r.pk for key, r in open_now.items() if key not in wanted]
    resolved = _resolve(Reminder.objects.filter(pk__in=gone), today)
    return {
        "raised": raised,
        "resolved": resolved,
        "open": Reminder.objects.filter(resolved_on__isnull=True).count(),
    }


def overdue_q(today: datetime.date) -> Q:
    """Tasks past their deadline and not finished (the ledger's overdue flag)."""
    return Q(status__in=OPEN_TASK_STATUSES, due_on__lt=today)
