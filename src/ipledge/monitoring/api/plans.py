"""Plans API (O1, O2): provincial action plans (省级行动方案) with their task ledger (任务台账), progress reports,
reminders (工作提醒), key / demonstration park designations (重点 / 示范园区认定) and the check of at least 3 per
province.

Conventions as in the market APIs: reads start from `restrict(user, "view")` (another province's plan answers 404
like a missing one); the services decide who may act (their `PermissionDenied` answers 403, their
`ValidationError` 400 naming the field and the rule, e.g. `not_draft`, `not_issued`, `before_issue`,
`owner_required`, `stale_version`, `progress_range`; a second active designation of a park for a year is 409
`unique`). Schema names carry the prefix `MonPlan…` so no OpenAPI component collides with another area's.
"""

import datetime
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, File, Path, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from ipledge.core import uploads
from ipledge.core.apikit import (
    MAX_ID,
    ApiError,
    Paginated,
    caller,
    error_responses,
    organisation_or_400,
    region_or_400,
    renamed_fields,
    require,
)
from ipledge.core.context import business_date
from ipledge.core.schemas import InputSchema
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.registry.models import Park

from .. import selectors_plans as selectors
from ..choices import DesignationKind, DesignationStatus, PlanStatus, ReminderKind, TaskStatus
from ..models import KeyParkDesignation, PlanTask, ProvincialPlan, Reminder
from ..services import plans as services

router = Router(tags=["monitoring"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)
READ_ERRORS = error_responses(403, 404)
PlanId = Path(..., ge=1, le=MAX_ID)
TaskId = Path(..., ge=1, le=MAX_ID)
DesignationId = Path(..., ge=1, le=MAX_ID)
Year = Annotated[int, Field(ge=2000, le=2100)]
RENAMED = {"owner_org": "owner_org_id", "region": "region_code", "park": "park_id"}


# ---------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------


class MonPlanOrgRef(Schema):
    id: int
    name: str


class MonPlanOut(Schema):
    id: int
    region_code: str = Field(..., alias="region.code")
    region_name: str = Field(..., alias="region.name")
    issuing_org: MonPlanOrgRef
    title: str
    document_no: str
    year_from: int
    year_to: int
    status: PlanStatus
    issued_on: datetime.date | None
    submission_due_on: datetime.date | None = Field(None, description="Issue date + 10 days (印发后10日内报送).")
    submitted_on: datetime.date | None
    summary: str
    version: int


class MonPlanTaskOut(Schema):
    id: int
    plan_id: int
    number: int
    title: str
    description: str
    requirement: str
    owner_org: MonPlanOrgRef | None
    owner_name: str
    due_on: datetime.date
    status: TaskStatus
    progress: int
    completed_on: datetime.date | None
    is_overdue: bool = Field(..., description="Not done or cancelled and past its deadline.")
    evidence: str
    evidence_file_name: str
    version: int

    @staticmethod
    def resolve_is_overdue(obj: Any) -> bool:
        if hasattr(obj, "is_overdue"):
            return bool(obj.is_overdue)
        return obj.status in services.OPEN_TASK_STATUSES and obj.due_on < business_date()  # type: ignore[no-any-return]


class MonPlanDetailOut(MonPlanOut):
    tasks: list[MonPlanTaskOut] = Field(..., description="The ledger lines you may read, in ledger order.")

    @staticmethod
    def resolve_tasks(obj: Any) -> list[Any]:
        return list(getattr(obj, "tasks_list", []))


class MonPlanFilter(Schema):
    province: str | None = Field(None, pattern=r"^\d{6}$", description="Province code, e.g. 320000.")
    status: PlanStatus | None = None
    year: Year | None = Field(None, description="Plans in force in this year.")


class MonPlanCreateIn(InputSchema):
    region_code: str = Field(..., pattern=r"^\d{2}0000$", description="The province (6-digit code ending 0000).")
    title: str = Field(..., min_length=1, max_length=200)
    document_no: str = Field("", max_length=64)
    year_from: Year
    year_to: Year
    summary: str = Field("", max_length=20_000)


class MonPlanUpdateIn(InputSchema):
    title: str | None = Field(None, min_length=1, max_length=200)
    document_no: str | None = Field(None, max_length=64)
    year_from: Year | None = None
    year_to: Year | None = None
    summary: str | None = Field(None, max_length=20_000)
    version: int | None = Field(None, ge=1, description="The version you edited; a newer one answers 400 stale.")


class MonPlanDateIn(InputSchema):
    day: datetime.date | None = Field(None, description="Issue or submission date; default today.")
    version: int | None = Field(None, ge=1)


class MonPlanTaskIn(InputSchema):
    title: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=20_000)
    requirement: str = Field("", max_length=8)
    owner_org_id: int | None = Field(None, ge=1, le=MAX_ID, description="An organisation on the platform …")
    owner_name: str = Field("", max_length=128, description="… or the name of a unit that is not.")
    due_on: datetime.date


class MonPlanTaskUpdateIn(InputSchema):
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=20_000)
    requirement: str | None = Field(None, max_length=8)
    owner_org_id: int | None = Field(None, ge=1, le=MAX_ID)
    owner_name: str | None = Field(None, max_length=128)
    due_on: datetime.date | None = None
    version: int | None = Field(None, ge=1)


class MonPlanProgressIn(InputSchema):
    status: TaskStatus
    progress: int = Field(..., ge=0, le=100)
    evidence: str = Field("", max_length=20_000)
    completed_on: datetime.date | None = Field(None, description="For status done; default today.")
    version: int | None = Field(None, ge=1)


class MonPlanReminderOut(Schema):
    id: int
    kind: ReminderKind
    subject_key: str
    plan_id: int | None
    task_id: int | None
    region_code: str
    recipient: MonPlanOrgRef | None
    message: str
    due_on: datetime.date | None
    raised_on: datetime.date
    resolved_on: datetime.date | None


class MonPlanReminderFilter(Schema):
    open: bool = Field(True, description="Only unresolved reminders.")
    kind: ReminderKind | None = None


class MonPlanDesignationOut(Schema):
    id: int
    park: MonPlanOrgRef
    year: int
    kind: DesignationKind
    status: DesignationStatus
    region_code: str
    designated_by: MonPlanOrgRef
    designated_on: datetime.date
    rationale: str
    goals: str
    revoked_on: datetime.date | None
    revoke_reason: str


class MonPlanDesignationFilter(Schema):
    year: Year | None = None
    province: str | None = Field(None, pattern=r"^\d{6}$")
    active: bool = False


class MonPlanDesignationIn(InputSchema):
    park_id: int = Field(..., ge=1, le=MAX_ID)
    year: Year
    kind: DesignationKind = DesignationKind.KEY
    designated_on: datetime.date | None = None
    rationale: str = Field("", max_length=20_000)
    goals: str = Field("", max_length=20_000)


class MonPlanRevokeIn(InputSchema):
    reason: str = Field(..., min_length=1, max_length=255)
    revoked_on: datetime.date | None = None


class MonPlanKeyParkOut(Schema):
    designation_id: int
    park_id: int
    park_name: str
    kind: DesignationKind
    projects: int | None
    amount_fen: int | None
    projects_growth: float | None
    amount_growth: float | None
    reaches_goal: bool | None


class MonPlanKeyParkCheckOut(Schema):
    province_code: str
    province_name: str
    year: int
    active: int
    minimum: int
    missing: int
    meets: bool
    parks: list[MonPlanKeyParkOut]


class MonPlanCheckFilter(Schema):
    year: Year | None = Field(None, description="Default: this year.")
    province: str | None = Field(None, pattern=r"^\d{6}$")


# ---------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------


def _detail(user: Any, pk: int) -> ProvincialPlan:
    plan = selectors.plan_list(user=user).get(pk=pk)
    plan.tasks_list = list(selectors.plan_tasks(user=user, plan=plan))  # type: ignore[attr-defined]
    return plan


@router.get(
    "/monitoring/plans",
    response={200: list[MonPlanOut], **error_responses(400, 403)},
    summary="Provincial action plans you may read (officials of the region, and the owners of ledger tasks)",
)
@paginate(Paginated)
def plan_list(request: HttpRequest, filters: Query[MonPlanFilter]) -> QuerySet[ProvincialPlan]:
    user = caller(request)
    require(user, ProvincialPlan, Action.VIEW)
    return selectors.plan_list(
        user=user,
        filters=selectors.PlanFilters(
            province=filters.province or "", status=str(filters.status or ""), year=filters.year
        ),
    )


@router.post(
    "/monitoring/plans",
    response={201: MonPlanDetailOut, **WRITE_ERRORS},
    summary="Draft a province's action plan (the province's IP office)",
)
def plan_create(request: HttpRequest, payload: MonPlanCreateIn) -> Status[Any]:
    user = caller(request)
    require(user, ProvincialPlan, Action.ADD)
    region = region_or_400(payload.region_code, "region_code")
    try:
        plan = services.plan_create(
            region=region,
            title=payload.title,
            document_no=payload.document_no,
            year_from=payload.year_from,
            year_to=payload.year_to,
            summary=payload.summary,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, RENAMED) from exc
    return Status(201, _detail(user, plan.pk))


@router.get(
    "/monitoring/plans/{plan_id}",
    response={200: MonPlanDetailOut, **READ_ERRORS},
    summary="One plan with the ledger lines you may read (an owner organisation reads only its own tasks)",
)
def plan_detail(request: HttpRequest, plan_id: int = PlanId) -> ProvincialPlan:
    user = caller(request)
    require(user, ProvincialPlan, Action.VIEW)
    return _detail(user, scoped_get(ProvincialPlan, user=user, pk=plan_id).pk)


@router.put(
    "/monitoring/plans/{plan_id}",
    response={200: MonPlanDetailOut, **WRITE_ERRORS},
    summary="Change a plan's title, number, years or summary (the fields you send)",
)
def plan_update(request: HttpRequest, payload: MonPlanUpdateIn, plan_id: int = PlanId) -> ProvincialPlan:
    user = caller(request)
    require(user, ProvincialPlan, Action.VIEW)
    plan = scoped_get(ProvincialPlan, user=user, pk=plan_id)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version", None)
    services.plan_update(plan=plan, data=data, acting_user=user, expected_version=version)
    return _detail(user, plan.pk)


@router.post(
    "/monitoring/plans/{plan_id}/issue",
    response={200: MonPlanDetailOut, **WRITE_ERRORS},
    summary="Issue a draft plan (印发): the submission deadline becomes the issue date + 10 days",
)
def plan_issue(request: HttpRequest, payload: MonPlanDateIn, plan_id: int = PlanId) -> ProvincialPlan:
    user = caller(request)
    require(user, ProvincialPlan, Action.VIEW)
    plan = scoped_get(ProvincialPlan, user=user, pk=plan_id)
    services.plan_issue(
        plan=plan, issued_on=payload.day or business_date(), acting_user=user, expected_version=payload.version
    )
    return _detail(user, plan.pk)


@router.post(
    "/monitoring/plans/{plan_id}/submit",
    response={200: MonPlanDetailOut, **WRITE_ERRORS},
    summary="Record the issued plan's submission (报送) to CNIPA",
)
def plan_submit(request: HttpRequest, payload: MonPlanDateIn, plan_id: int = PlanId) -> ProvincialPlan:
    user = caller(request)
    require(user, ProvincialPlan, Action.VIEW)
    plan = scoped_get(ProvincialPlan, user=user, pk=plan_id)
    services.plan_submit(
        plan=plan, submitted_on=payload.day or business_date(), acting_user=user, expected_version=payload.version
    )
    return _detail(user, plan.pk)


# ---------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------


@router.get(
    "/monitoring/plans/{plan_id}/tasks",
    response={200: list[MonPlanTaskOut], **READ_ERRORS},
    summary="The plan's ledger lines you may read, in ledger order, with the overdue flag",
)
def task_list(request: HttpRequest, plan_id: int = PlanId) -> QuerySet[PlanTask]:
    user = caller(request)
    require(user, ProvincialPlan, Action.VIEW)
    plan = scoped_get(ProvincialPlan, user=user, pk=plan_id)
    return selectors.plan_tasks(user=user, plan=plan)


def _task_out(user: Any, pk: int) -> PlanTask:
    task = PlanTask.objects.select_related("plan").get(pk=pk)
    return selectors.plan_tasks(user=user, plan=task.plan).get(pk=pk)


@router.post(
    "/monitoring/plans/{plan_id}/tasks",
    response={201: MonPlanTaskOut, **WRITE_ERRORS},
    summary="Add a line at the end of the plan's ledger (the plan's IP office)",
)
def task_create(request: HttpRequest, payload: MonPlanTaskIn, plan_id: int = PlanId) -> Status[PlanTask]:
    user = caller(request)
    require(user, ProvincialPlan, Action.VIEW)
    plan = scoped_get(ProvincialPlan, user=user, pk=plan_id)
    owner = organisation_or_400(payload.owner_org_id, "owner_org_id", "责任单位", "Owner organisation")
    try:
        task = services.task_create(
            plan=plan,
            title=payload.title,
            description=payload.description,
            requirement=payload.requirement,
            owner_org=owner,
            owner_name=payload.owner_name,
            due_on=payload.due_on,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, RENAMED) from exc
    return Status(201, _task_out(user, task.pk))


@router.get(
    "/monitoring/tasks/{task_id}",
    response={200: MonPlanTaskOut, **READ_ERRORS},
    summary="One ledger line",
)
def task_detail(request: HttpRequest, task_id: int = TaskId) -> PlanTask:
    user = caller(request)
    require(user, PlanTask, Action.VIEW)
    return _task_out(user, scoped_get(PlanTask, user=user, pk=task_id).pk)


@router.put(
    "/monitoring/tasks/{task_id}",
    response={200: MonPlanTaskOut, **WRITE_ERRORS},
    summary="Change what a task is, who owns it and by when (the plan's IP office; the fields you send)",
)
def task_update(request: HttpRequest, payload: MonPlanTaskUpdateIn, task_id: int = TaskId) -> PlanTask:
    user = caller(request)
    require(user, PlanTask, Action.VIEW)
    task = scoped_get(PlanTask, user=user, pk=task_id)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version", None)
    if "owner_org_id" in data:
        data["owner_org"] = organisation_or_400(data.pop("owner_org_id"), "owner_org_id", "责任单位", "Owner")
    try:
        services.task_update(task=task, data=data, acting_user=user, expected_version=version)
    except ValidationError as exc:
        raise renamed_fields(exc, RENAMED) from exc
    return _task_out(user, task.pk)


@router.post(
    "/monitoring/tasks/{task_id}/progress",
    response={200: MonPlanTaskOut, **WRITE_ERRORS},
    summary="Report a task's status, progress and evidence (the owner organisation or the plan's IP office)",
)
def task_progress(request: HttpRequest, payload: MonPlanProgressIn, task_id: int = TaskId) -> PlanTask:
    user = caller(request)
    require(user, PlanTask, Action.VIEW)
    task = scoped_get(PlanTask, user=user, pk=task_id)
    services.task_report_progress(
        task=task,
        report=services.TaskProgress(
            status=payload.status,
            progress=payload.progress,
            evidence=payload.evidence,
            completed_on=payload.completed_on,
        ),
        acting_user=user,
        expected_version=payload.version,
    )
    return _task_out(user, task.pk)


def _binary(content_type: str, description: str) -> dict[str, Any]:
    """OpenAPI: a 200 answer that is a file rather than JSON."""
    return {
        "responses": {
            200: {
                "description": description,
                "content": {content_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


@router.post(
    "/monitoring/tasks/{task_id}/evidence",
    response={200: MonPlanTaskOut, **WRITE_ERRORS},
    summary="Attach the task's evidence file (佐证材料: PDF, JPG, PNG or DOCX, at most 20 MB; replaces the previous)",
)
def task_evidence_upload(request: HttpRequest, file: File[UploadedFile], task_id: int = TaskId) -> PlanTask:
    user = caller(request)
    require(user, PlanTask, Action.VIEW)
    task = scoped_get(PlanTask, user=user, pk=task_id)
    if file.size is not None and file.size > uploads.DOCUMENT.max_bytes:
        raise ApiError(400, "file_too_large", "文件不能超过 20 MB。", "The file exceeds 20 MB.", field="file")
    services.task_evidence_attach(task=task, filename=file.name or "evidence", content=file.read(), acting_user=user)
    return _task_out(user, task.pk)


@router.get(
    "/monitoring/tasks/{task_id}/evidence",
    response=error_responses(403, 404),
    openapi_extra=_binary("application/octet-stream", "The evidence file as uploaded (its own content type)."),
    summary="Download a task's evidence file (404 when it has none)",
)
def task_evidence_download(request: HttpRequest, task_id: int = TaskId) -> HttpResponse:
    user = caller(request)
    require(user, PlanTask, Action.VIEW)
    task = scoped_get(PlanTask, user=user, pk=task_id)
    if not task.evidence_file:
        raise Http404(PlanTask._meta.verbose_name)
    try:
        with default_storage.open(services.evidence_path(task.evidence_file), "rb") as handle:
            content = handle.read()
    except FileNotFoundError as exc:
        raise Http404(PlanTask._meta.verbose_name) from exc
    response = HttpResponse(content, content_type=services.evidence_content_type(task.evidence_file))
    response["Content-Disposition"] = uploads.content_disposition(task.evidence_file_name or task.evidence_file)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------------------
# Reminders
# ---------------------------------------------------------------------------


@router.get(
    "/monitoring/reminders",
    response={200: list[MonPlanReminderOut], **error_responses(400, 403)},
    summary="Reminders for your organisation (officials: also those of their region); open ones by default",
)
@paginate(Paginated)
def reminder_list(request: HttpRequest, filters: Query[MonPlanReminderFilter]) -> QuerySet[Reminder]:
    user = caller(request)
    require(user, Reminder, Action.VIEW)
    return selectors.reminder_list(user=user, open_only=filters.open, kind=str(filters.kind or ""))


# ---------------------------------------------------------------------------
# Key parks
# ---------------------------------------------------------------------------


@router.get(
    "/monitoring/designations",
    response={200: list[MonPlanDesignationOut], **error_responses(400, 403)},
    summary="Key / demonstration park designations (public to every signed-in organisation)",
)
@paginate(Paginated)
def designation_list(request: HttpRequest, filters: Query[MonPlanDesignationFilter]) -> QuerySet[KeyParkDesignation]:
    user = caller(request)
    require(user, KeyParkDesignation, Action.VIEW)
    return selectors.designation_list(
        user=user, year=filters.year, province=filters.province or "", active_only=filters.active
    )


@router.post(
    "/monitoring/designations",
    response={201: MonPlanDesignationOut, **WRITE_ERRORS},
    summary="Designate a park key or demonstration park for a year (the IP office of the park's region)",
)
def designation_create(request: HttpRequest, payload: MonPlanDesignationIn) -> Status[KeyParkDesignation]:
    user = caller(request)
    require(user, KeyParkDesignation, Action.ADD)
    park = Park.objects.filter(pk=payload.park_id).first()
    if park is None:
        raise ApiError(400, "not_found", "园区不存在。", "Park does not exist.", field="park_id")
    try:
        designation = services.designation_create(
            park=park,
            year=payload.year,
            kind=payload.kind,
            designated_on=payload.designated_on,
            rationale=payload.rationale,
            goals=payload.goals,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, RENAMED) from exc
    return Status(201, selectors.designation_list(user=user).get(pk=designation.pk))


@router.post(
    "/monitoring/designations/{designation_id}/revoke",
    response={200: MonPlanDesignationOut, **WRITE_ERRORS},
    summary="Revoke a designation (a reason is required)",
)
def designation_revoke(
    request: HttpRequest, payload: MonPlanRevokeIn, designation_id: int = DesignationId
) -> KeyParkDesignation:
    user = caller(request)
    require(user, KeyParkDesignation, Action.VIEW)
    designation = scoped_get(KeyParkDesignation, user=user, pk=designation_id)
    services.designation_revoke(
        designation=designation, reason=payload.reason, revoked_on=payload.revoked_on, acting_user=user
    )
    return selectors.designation_list(user=user).get(pk=designation.pk)


@router.get(
    "/monitoring/key-parks/check",
    response={200: list[MonPlanKeyParkCheckOut], **error_responses(400, 403)},
    summary="Per province: active key / demonstration parks for the year against the minimum of 3, with each "
    "park's results (pledge projects, amount, growth, ≥ 20 % goal) where the targets overview provides them",
)
def key_park_check(request: HttpRequest, filters: Query[MonPlanCheckFilter]) -> list[dict[str, Any]]:
    user = caller(request)
    require(user, KeyParkDesignation, Action.VIEW)
    checks = selectors.key_park_check(
        user=user, year=filters.year or business_date().year, province=filters.province or ""
    )
    return [
        {
            "province_code": c.province_code,
            "province_name": c.province_name,
            "year": c.year,
            "active": c.active,
            "minimum": c.minimum,
            "missing": c.missing,
            "meets": c.meets,
            "parks": [
                {
                    "designation_id": p.designation.pk,
                    "park_id": p.designation.park_id,
                    "park_name": p.designation.park.name,
                    "kind": p.designation.kind,
                    "projects": p.projects,
                    "amount_fen": p.amount_fen,
                    "projects_growth": p.projects_growth,
                    "amount_growth": p.amount_growth,
                    "reaches_goal": p.reaches_goal,
                }
                for p in c.parks
            ],
        }
        for c in checks
    ]
