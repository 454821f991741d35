"""Anomaly API (异常监测, M6): findings (异常线索) and their case (核查) — assign, start, note, confirm or dismiss —,
the scans (异常扫描: list, run now) and the bulletins (通报: list, detail, issue from confirmed findings).

Conventions as in the market APIs: reads start from `restrict(user, "view")` (a finding outside the caller's region
answers 404 like a missing one); a body reference outside the caller's reach is 400 `not_found` naming the field;
the services decide who may act (`PermissionDenied` → 403) and refuse bad input with a `ValidationError` naming the
field and the rule (400: `required`, `invalid_status`, `stale`, `assignee_out_of_region`, `due_in_past`,
`not_confirmed` …). Schema names carry the prefix `Anomaly…` (the registration API already has a `FindingOut`).
"""

import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from ipledge.core.apikit import MAX_ID, ApiError, Paginated, caller, error_responses, require, resolve
from ipledge.core.context import business_date
from ipledge.core.models import User
from ipledge.core.schemas import InputSchema
from ipledge.core.scoping import Action

from .. import selectors_findings as selectors
from ..anomalies import scan_run
from ..choices import AnomalyRule, FindingSeverity, FindingStatus
from ..models import AnomalyScan, Bulletin, Finding
from ..services import findings as services

router = Router(tags=["monitoring"])

WRITE_ERRORS = error_responses(400, 403, 404)
READ_ERRORS = error_responses(403, 404)
FindingId = Path(..., ge=1, le=MAX_ID)
BulletinId = Path(..., ge=1, le=MAX_ID)


class AnomalyFindingRecordOut(Schema):
    type: str
    id: int
    label: str


class AnomalyFindingOut(Schema):
    id: int
    rule: str
    rule_label: str
    severity: str
    status: str
    status_label: str
    title: str
    summary: str
    records: list[AnomalyFindingRecordOut]
    figures: dict[str, Any]
    region_code: str
    park_id: int | None
    enterprise_id: int | None
    institution_id: int | None
    assignee: str | None
    due_on: datetime.date | None
    decision_note: str
    bulletin_id: int | None
    first_seen_on: datetime.date
    last_seen_on: datetime.date
    version: int

    @staticmethod
    def resolve_rule_label(obj: Finding) -> str:
        return str(obj.get_rule_display())

    @staticmethod
    def resolve_status_label(obj: Finding) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_records(obj: Finding) -> list[dict[str, Any]]:
        return list((obj.evidence or {}).get("records", []))

    @staticmethod
    def resolve_figures(obj: Finding) -> dict[str, Any]:
        return dict((obj.evidence or {}).get("figures", {}))

    @staticmethod
    def resolve_assignee(obj: Finding) -> str | None:
        return None if obj.assignee is None else obj.assignee.get_username()


class AnomalyFindingEventOut(Schema):
    id: int
    kind: str
    from_status: str
    to_status: str
    note: str
    actor: str | None
    occurred_at: datetime.datetime

    @staticmethod
    def resolve_actor(obj: Any) -> str | None:
        return None if obj.actor is None else obj.actor.get_username()


class AnomalyFindingFilter(Schema):
    rule: AnomalyRule | None = None
    severity: FindingSeverity | None = None
    status: FindingStatus | None = None
    region: str | None = Field(None, pattern=r"^\d{2,6}$", description="Region code prefix, e.g. 32 or 3201.")
    active: bool | None = Field(
        None, description="Only findings not yet closed (open, assigned, investigating, confirmed)."
    )


class AnomalyFindingAssignIn(InputSchema):
    assignee_id: int = Field(..., ge=1, le=MAX_ID)
    due_on: datetime.date
    note: str = Field("", max_length=4000)
    version: int | None = Field(None, ge=1, description="The version you saw; an older one is refused as stale.")


class AnomalyFindingNoteIn(InputSchema):
    note: str = Field(..., max_length=4000)
    version: int | None = Field(None, ge=1)


class AnomalyFindingStartIn(InputSchema):
    note: str = Field("", max_length=4000)
    version: int | None = Field(None, ge=1)


class AnomalyFindingDecideIn(InputSchema):
    decision: Literal["confirm", "dismiss"]
    note: str = Field(..., max_length=4000, description="The reasons (认定意见); required.")
    version: int | None = Field(None, ge=1)


class AnomalyScanOut(Schema):
    id: int
    as_of: datetime.date
    status: str
    rules: list[str]
    counts: dict[str, dict[str, int]]
    error: str
    started_at: datetime.datetime
    finished_at: datetime.datetime | None


class AnomalyScanIn(InputSchema):
    as_of: datetime.date | None = Field(None, description="Data cut-off date; today when omitted.")
    rules: list[AnomalyRule] | None = Field(None, description="Only these rules; all when omitted.")


class AnomalyBulletinOut(Schema):
    id: int
    number: str
    title: str
    body: str
    region_code: str
    issued_by_id: int
    issued_on: datetime.date
    finding_ids: list[int]

    @staticmethod
    def resolve_finding_ids(obj: Bulletin) -> list[int]:
        return sorted(obj.findings.values_list("pk", flat=True))


class AnomalyBulletinIn(InputSchema):
    title: str = Field(..., min_length=1, max_length=200)
    body: str = Field(..., min_length=1, max_length=20000)
    issued_on: datetime.date | None = None
    finding_ids: list[int] = Field(..., min_length=1, max_length=500)


def _finding(user: Any, pk: int) -> Finding:
    require(user, Finding, Action.VIEW)
    try:
        return selectors.finding_get(user=user, pk=pk)
    except Finding.DoesNotExist as exc:
        from django.http import Http404

        raise Http404(Finding._meta.verbose_name) from exc


# ------------------------------------------------------------------------------------------------------ findings


@router.get(
    "/monitoring/findings",
    response={200: list[AnomalyFindingOut], **error_responses(403)},
    summary="Anomaly findings (异常线索) of the caller's region, newest first; filter by rule, severity, status, region",
)
@paginate(Paginated)
def finding_list(request: HttpRequest, filters: Query[AnomalyFindingFilter]) -> QuerySet[Finding]:
    user = caller(request)
    require(user, Finding, Action.VIEW)
    return selectors.finding_list(user=user, filters=filters.model_dump())


@router.get(
    "/monitoring/findings/{finding_id}", response={200: AnomalyFindingOut, **READ_ERRORS}, summary="One finding"
)
def finding_detail(request: HttpRequest, finding_id: int = FindingId) -> Finding:
    return _finding(caller(request), finding_id)


@router.get(
    "/monitoring/findings/{finding_id}/events",
    response={200: list[AnomalyFindingEventOut], **READ_ERRORS},
    summary="The finding's case timeline (raised, assigned, notes, decision, bulletin, reopened, cleared)",
)
def finding_events(request: HttpRequest, finding_id: int = FindingId) -> Any:
    user = caller(request)
    return list(selectors.finding_events(user=user, finding=_finding(user, finding_id)))


@router.post(
    "/monitoring/findings/{finding_id}/assign",
    response={200: AnomalyFindingOut, **WRITE_ERRORS},
    summary="Assign the case to an IP-office user of the finding's region with a due date (核查期限)",
)
def finding_assign(request: HttpRequest, payload: AnomalyFindingAssignIn, finding_id: int = FindingId) -> Finding:
    user = caller(request)
    finding = _finding(user, finding_id)
    require(user, Finding, Action.CHANGE)
    assignee = User.objects.filter(pk=payload.assignee_id, is_active=True).first()
    if assignee is None:
        raise ApiError(400, "not_found", "核查人不存在。", "Assignee not found.", field="assignee_id")
    try:
        services.finding_assign(
            finding=finding,
            assignee=assignee,
            due_on=payload.due_on,
            note=payload.note,
            expected_version=payload.version,
            acting_user=user,
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "assignee" in exc.error_dict:
            exc.error_dict["assignee_id"] = exc.error_dict.pop("assignee")
        raise
    return _finding(user, finding_id)


@router.post(
    "/monitoring/findings/{finding_id}/start",
    response={200: AnomalyFindingOut, **WRITE_ERRORS},
    summary="Start the investigation (核查中) of an assigned finding",
)
def finding_start(request: HttpRequest, payload: AnomalyFindingStartIn, finding_id: int = FindingId) -> Finding:
    user = caller(request)
    finding = _finding(user, finding_id)
    require(user, Finding, Action.CHANGE)
    services.finding_start_investigation(
        finding=finding, note=payload.note, expected_version=payload.version, acting_user=user
    )
    return _finding(user, finding_id)


@router.post(
    "/monitoring/findings/{finding_id}/notes",
    response={200: AnomalyFindingOut, **WRITE_ERRORS},
    summary="Add a note to the case file (核查记录)",
)
def finding_note(request: HttpRequest, payload: AnomalyFindingNoteIn, finding_id: int = FindingId) -> Finding:
    user = caller(request)
    finding = _finding(user, finding_id)
    require(user, Finding, Action.CHANGE)
    services.finding_note(finding=finding, note=payload.note, expected_version=payload.version, acting_user=user)
    return _finding(user, finding_id)


@router.post(
    "/monitoring/findings/{finding_id}/decide",
    response={200: AnomalyFindingOut, **WRITE_ERRORS},
    summary="Confirm (确认) or dismiss (排除) the finding with the reasons; a dismissal is remembered against the "
    "evidence, so the same evidence does not raise it again",
)
def finding_decide(request: HttpRequest, payload: AnomalyFindingDecideIn, finding_id: int = FindingId) -> Finding:
    user = caller(request)
    finding = _finding(user, finding_id)
    require(user, Finding, Action.APPROVE)
    services.finding_decide(
        finding=finding,
        confirm=payload.decision == "confirm",
        note=payload.note,
        expected_version=payload.version,
        acting_user=user,
    )
    return _finding(user, finding_id)


# --------------------------------------------------------------------------------------------------------- scans


@router.get(
    "/monitoring/scans",
    response={200: list[AnomalyScanOut], **error_responses(403)},
    summary="Anomaly scans (异常扫描) with per-rule counts: found, new, suppressed by a dismissal, cleared",
)
@paginate(Paginated)
def scan_list(request: HttpRequest) -> QuerySet[AnomalyScan]:
    user = caller(request)
    require(user, AnomalyScan, Action.VIEW)
    return selectors.scan_list(user=user)


@router.post(
    "/monitoring/scans",
    response={201: AnomalyScanOut, **error_responses(400, 403)},
    summary="Run a scan now (an IP office): every rule, or the rules named, over the data as of a date",
)
def scan_create(request: HttpRequest, payload: AnomalyScanIn) -> Status[AnomalyScan]:
    user = caller(request)
    require(user, AnomalyScan, Action.ADD)
    as_of = payload.as_of or business_date()
    if as_of > business_date():
        raise ApiError(
            400, "future", "数据截止日不能晚于今天。", "The cut-off date may not be in the future.", field="as_of"
        )
    rules = [str(r) for r in payload.rules] if payload.rules else None
    return Status(201, scan_run(as_of=as_of, acting_user=user, rules=rules))


# ----------------------------------------------------------------------------------------------------- bulletins


@router.get(
    "/monitoring/bulletins",
    response={200: list[AnomalyBulletinOut], **error_responses(403)},
    summary="Bulletins (通报) issued within the caller's region",
)
@paginate(Paginated)
def bulletin_list(request: HttpRequest) -> QuerySet[Bulletin]:
    user = caller(request)
    require(user, Bulletin, Action.VIEW)
    return selectors.bulletin_list(user=user)


@router.get(
    "/monitoring/bulletins/{bulletin_id}", response={200: AnomalyBulletinOut, **READ_ERRORS}, summary="One bulletin"
)
def bulletin_detail(request: HttpRequest, bulletin_id: int = BulletinId) -> Bulletin:
    user = caller(request)
    require(user, Bulletin, Action.VIEW)
    bulletin = selectors.bulletin_list(user=user).filter(pk=bulletin_id).first()
    if bulletin is None:
        from django.http import Http404

        raise Http404(Bulletin._meta.verbose_name)
    return bulletin


@router.post(
    "/monitoring/bulletins",
    response={201: AnomalyBulletinOut, **WRITE_ERRORS},
    summary="Issue a bulletin (通报) on confirmed findings of the caller's region; they become reported",
)
def bulletin_create(request: HttpRequest, payload: AnomalyBulletinIn) -> Status[Bulletin]:
    user = caller(request)
    require(user, Bulletin, Action.ADD)
    findings = [
        resolve(Finding, user=user, action=Action.VIEW, field="finding_ids", pk=pk)
        for pk in sorted(set(payload.finding_ids))
    ]
    try:
        bulletin = services.bulletin_issue(
            findings=findings, title=payload.title, body=payload.body, issued_on=payload.issued_on, acting_user=user
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "findings" in exc.error_dict:
            exc.error_dict["finding_ids"] = exc.error_dict.pop("findings")
        raise
    return Status(201, bulletin)
