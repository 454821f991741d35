"""Typical-case API (典型案例, O5): the library (filters as on the page), a case, nominating, editing, withdrawing,
and the review by the province's IP office (open the review, score, select or reject, publish).

Conventions as in the market APIs: reads start from `restrict(user, "view")` (another organisation's unpublished
case answers 404 like a missing one); each action looks the case up within the scope of the action it needs (view
for editing and withdrawing, whose services then check the nominator; approve for the review), so a case outside it
answers 404. The services decide the rest: `PermissionDenied` answers 403, `ValidationError` 400 naming the field and
the rule (`maker_is_checker`, `person_required`, `invalid_state`, `stale`, `not_scored`, `outside_region` …).
A case cannot be reviewed with an API key (the reviewer is always a named person). Schemas carry the prefix
`MonitoringCase…`.
"""

import datetime
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from ipledge.core.apikit import MAX_ID, ApiError, Paginated, caller, error_responses, renamed_fields, require
from ipledge.core.choices import OrganisationKind
from ipledge.core.models import Organisation
from ipledge.core.schemas import InputSchema
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.lending.models import Loan
from ipledge.registry.models import Enterprise, Park
from ipledge.registry.schemas import OrgRef

from .. import selectors_cases as selectors
from ..choices import CaseCategory, CaseStatus
from ..forms_cases import region_prefix
from ..models import TypicalCase
from ..services import cases as services

router = Router(tags=["monitoring"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)
READ_ERRORS = error_responses(403, 404)
CaseId = Path(..., ge=1, le=MAX_ID)
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
RENAMED = {"park": "park_id", "enterprise": "enterprise_id", "bank": "bank_id", "loan": "loan_id"}
Figures = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=128)]], Field(max_length=20)
]


# ---------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------


class MonitoringCaseFilter(Schema):
    q: str | None = Field(None, max_length=64, description="Title or summary contains.")
    year: int | None = Field(None, ge=2000, le=2100, description="Selection year.")
    category: CaseCategory | None = None
    region: str | None = Field(None, pattern=r"^(\d{2}|\d{4}|\d{6})$", description="Region code or prefix.")
    status: CaseStatus | None = None


class MonitoringCaseCreateIn(InputSchema):
    year: int = Field(..., ge=2000, le=2100, description="Selection year (评选年度).")
    title: str = Field(..., max_length=500, description="At most 200 characters.")
    category: CaseCategory
    summary: str = Field(..., max_length=2000, description="At most 500 characters.")
    practice: str = Field(..., max_length=20_000, description="主要做法.")
    results: str = Field(..., max_length=20_000, description="取得成效.")
    figures: Figures = Field(default_factory=dict, description='Key figures, e.g. {"融资金额（万元）": "1000"}.')
    park_id: ObjectId | None = None
    enterprise_id: ObjectId | None = None
    bank_id: ObjectId | None = None
    loan_id: ObjectId | None = None


class MonitoringCaseUpdateIn(InputSchema):
    """Only the fields sent change; links only while the case is nominated."""

    version: int | None = Field(None, ge=1, le=2**31 - 1, description="The version you read; a newer one → 400 stale.")
    year: int | None = Field(None, ge=2000, le=2100)
    title: str | None = Field(None, max_length=500)
    category: CaseCategory | None = None
    summary: str | None = Field(None, max_length=2000)
    practice: str | None = Field(None, max_length=20_000)
    results: str | None = Field(None, max_length=20_000)
    figures: Figures | None = None
    park_id: ObjectId | None = None
    enterprise_id: ObjectId | None = None
    bank_id: ObjectId | None = None
    loan_id: ObjectId | None = None


class MonitoringCaseNoteIn(InputSchema):
    note: str = Field("", max_length=2000)
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class MonitoringCaseScoreIn(InputSchema):
    score: int = Field(..., ge=0, le=100, description="0–100.")
    note: str = Field(..., max_length=5000, description="The reviewer's note (required).")
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class MonitoringCaseDecisionIn(InputSchema):
    select: bool = Field(..., description="true: selected (已入选); false: not selected (未入选, note required).")
    note: str = Field("", max_length=2000)
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class MonitoringCasePublishIn(InputSchema):
    published_on: datetime.date | None = Field(None, description="Default today; never in the future.")
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class MonitoringCaseOut(Schema):
    id: int
    year: int
    title: str
    category: CaseCategory
    category_label: str
    status: CaseStatus
    status_label: str
    region_code: str
    summary: str
    park: OrgRef | None = None
    nominated_by_org: OrgRef
    nominated_on: datetime.date
    review_score: int | None
    published_on: datetime.date | None
    version: int

    @staticmethod
    def resolve_category_label(obj: TypicalCase) -> str:
        return str(obj.get_category_display())

    @staticmethod
    def resolve_status_label(obj: TypicalCase) -> str:
        return str(obj.get_status_display())


class MonitoringCaseDetailOut(MonitoringCaseOut):
    practice: str
    results: str
    figures: dict[str, Any]
    enterprise: OrgRef | None = None
    bank: OrgRef | None = None
    loan_id: int | None = None
    reviewer: str | None = Field(None, description="Reviewer, note and time: for the nominator and the officials.")
    review_note: str
    reviewed_at: datetime.datetime | None

    @staticmethod
    def resolve_reviewer(obj: TypicalCase) -> str | None:
        return None if obj.reviewer is None else str(obj.reviewer.get_username())


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _detail(user: Any, pk: int) -> TypicalCase:
    case = selectors.visible_cases(user=user).get(pk=pk)
    if not services.may_see_review(user, case):
        # Outsiders reach a published case as published: the review stays with the nominator and the officials.
        case.reviewer, case.review_note, case.reviewed_at = None, "", None
    return case


def _ref(model: Any, pk: int | None, field: str, label_zh: str, label_en: str) -> Any:
    """A record the body names by id; unknown ids are 400 here, ids outside the caller's reach in the service."""
    if pk is None:
        return None
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise ApiError(400, "not_found", f"{label_zh}不存在。", f"{label_en} does not exist.", field=field)
    return found


def _links(payload: Any) -> dict[str, Any]:
    sent = payload.model_fields_set
    links: dict[str, Any] = {}
    specs = (
        ("park", Park, "园区", "Park"),
        ("enterprise", Enterprise, "企业", "Enterprise"),
        ("bank", Organisation, "银行", "Bank"),
        ("loan", Loan, "贷款", "Loan"),
    )
    for name, model, zh, en in specs:
        field = f"{name}_id"
        if field in sent:
            links[name] = _ref(model, getattr(payload, field), field, zh, en)
    bank = links.get("bank")
    if bank is not None and bank.kind != OrganisationKind.BANK:
        raise ApiError(400, "not_bank", "所选机构不是银行。", "The organisation is not a bank.", field="bank_id")
    return links


def _case(user: Any, case_id: int, action: str) -> TypicalCase:
    return scoped_get(TypicalCase, user=user, pk=case_id, action=action)


# ---------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------


@router.get(
    "/monitoring/cases",
    response={200: list[MonitoringCaseOut], **error_responses(403)},
    summary="The typical-case library: published cases, your organisation's nominations and, for officials, the "
    "cases of your region",
)
@paginate(Paginated)
def case_list(request: HttpRequest, filters: Query[MonitoringCaseFilter]) -> QuerySet[TypicalCase]:
    user = caller(request)
    require(user, TypicalCase, Action.VIEW)
    return selectors.case_list(
        user=user,
        filters=selectors.CaseFilters(
            year=filters.year,
            category=str(filters.category or ""),
            region=region_prefix(filters.region or ""),
            status=str(filters.status or ""),
            q=(filters.q or "").strip(),
        ),
    )


@router.post(
    "/monitoring/cases",
    response={201: MonitoringCaseDetailOut, **WRITE_ERRORS},
    summary="Nominate a typical case in your organisation's name (any organisation but an enterprise)",
)
def case_create(request: HttpRequest, payload: MonitoringCaseCreateIn) -> Status[TypicalCase]:
    user = caller(request)
    require(user, TypicalCase, Action.ADD)
    links = _links(payload)
    try:
        case = services.case_create(
            year=payload.year,
            title=payload.title,
            category=str(payload.category),
            summary=payload.summary,
            practice=payload.practice,
            results=payload.results,
            figures=payload.figures,
            acting_user=user,
            **links,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, RENAMED) from exc
    return Status(201, _detail(user, case.pk))


@router.get(
    "/monitoring/cases/{case_id}",
    response={200: MonitoringCaseDetailOut, **READ_ERRORS},
    summary="One typical case with its review",
)
def case_detail(request: HttpRequest, case_id: int = CaseId) -> TypicalCase:
    user = caller(request)
    require(user, TypicalCase, Action.VIEW)
    return _detail(user, _case(user, case_id, Action.VIEW).pk)


@router.patch(
    "/monitoring/cases/{case_id}",
    response={200: MonitoringCaseDetailOut, **WRITE_ERRORS},
    summary="Edit a case: the nominator while it is nominated, the reviewing IP office during review",
)
def case_update(request: HttpRequest, payload: MonitoringCaseUpdateIn, case_id: int = CaseId) -> TypicalCase:
    user = caller(request)
    require(user, TypicalCase, Action.VIEW)
    case = _case(user, case_id, Action.VIEW)
    sent = payload.model_fields_set
    values: dict[str, Any] = {
        name: getattr(payload, name) if name != "category" else str(payload.category)
        for name in services.EDITABLE_FIELDS
        if name in sent
    }
    for name in ("year", "title", "category", "summary", "practice", "results", "figures"):
        if name in values and values[name] is None:
            raise ApiError(400, "required", "不能清空此字段。", "This field cannot be cleared.", field=name)
    values |= _links(payload)
    try:
        services.case_update(case=case, values=values, acting_user=user, expected_version=payload.version)
    except ValidationError as exc:
        raise renamed_fields(exc, RENAMED) from exc
    return _detail(user, case.pk)


@router.post(
    "/monitoring/cases/{case_id}/withdraw",
    response={200: MonitoringCaseDetailOut, **WRITE_ERRORS},
    summary="Withdraw a nominated case (the nominating organisation, before the review opens)",
)
def case_withdraw(request: HttpRequest, payload: MonitoringCaseNoteIn, case_id: int = CaseId) -> TypicalCase:
    user = caller(request)
    require(user, TypicalCase, Action.VIEW)
    case = _case(user, case_id, Action.VIEW)
    services.case_withdraw(case=case, acting_user=user, note=payload.note, expected_version=payload.version)
    return _detail(user, case.pk)


@router.post(
    "/monitoring/cases/{case_id}/review/open",
    response={200: MonitoringCaseDetailOut, **WRITE_ERRORS},
    summary="Open the review of a nominated case (an IP office covering the case; nominated → under review)",
)
def case_review_open(request: HttpRequest, payload: MonitoringCaseNoteIn, case_id: int = CaseId) -> TypicalCase:
    user = caller(request)
    require(user, TypicalCase, Action.APPROVE)
    case = _case(user, case_id, Action.APPROVE)
    services.case_review_open(case=case, acting_user=user, expected_version=payload.version)
    return _detail(user, case.pk)


@router.post(
    "/monitoring/cases/{case_id}/review",
    response={200: MonitoringCaseDetailOut, **WRITE_ERRORS},
    summary="Score a case under review (0–100, note required; the reviewer is never the nominator)",
)
def case_review(request: HttpRequest, payload: MonitoringCaseScoreIn, case_id: int = CaseId) -> TypicalCase:
    user = caller(request)
    require(user, TypicalCase, Action.APPROVE)
    case = _case(user, case_id, Action.APPROVE)
    services.case_review_score(
        case=case, score=payload.score, note=payload.note, acting_user=user, expected_version=payload.version
    )
    return _detail(user, case.pk)


@router.post(
    "/monitoring/cases/{case_id}/decide",
    response={200: MonitoringCaseDetailOut, **WRITE_ERRORS},
    summary="Select or reject a scored case (rejecting needs a note)",
)
def case_decide(request: HttpRequest, payload: MonitoringCaseDecisionIn, case_id: int = CaseId) -> TypicalCase:
    user = caller(request)
    require(user, TypicalCase, Action.APPROVE)
    case = _case(user, case_id, Action.APPROVE)
    services.case_decide(
        case=case, select=payload.select, note=payload.note, acting_user=user, expected_version=payload.version
    )
    return _detail(user, case.pk)


@router.post(
    "/monitoring/cases/{case_id}/publish",
    response={200: MonitoringCaseDetailOut, **WRITE_ERRORS},
    summary="Publish a selected case on the public showcase (/showcase/)",
)
def case_publish(request: HttpRequest, payload: MonitoringCasePublishIn, case_id: int = CaseId) -> TypicalCase:
    user = caller(request)
    require(user, TypicalCase, Action.APPROVE)
    case = _case(user, case_id, Action.APPROVE)
    services.case_publish(
        case=case, acting_user=user, published_on=payload.published_on, expected_version=payload.version
    )
    return _detail(user, case.pk)
