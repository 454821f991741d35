"""Monitoring API: measures (工作措施) and generated reports (统计报告: 工作措施一览表 xlsx, 季度/年度工作总结 docx).

Conventions as in the market APIs: reads start from `restrict(user, "view")` (another region's report or a
non-public measure of another organisation answers 404 like a missing one); references in a body (`region_code`,
`park_id`) are resolved within the caller's reach, else 400 `not_found` naming the field; the services decide who
may act (`PermissionDenied` answers 403, `ValidationError` 400 naming the field and the rule, e.g.
`out_of_region`, `before_start`, `not_own_park`). A report's figures each carry the query behind them.
"""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from ipledge.core import uploads
from ipledge.core.apikit import (
    MAX_ID,
    ApiError,
    Paginated,
    caller,
    error_responses,
    forbidden,
    region_or_400,
    renamed_fields,
    require,
    resolve,
)
from ipledge.core.schemas import InputSchema, RegionRef
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.registry.models import Park
from ipledge.registry.schemas import OrgRef

from .. import selectors_reports as selectors
from ..choices import MeasureCategory, MeasureStatus, ReportKind
from ..forms_reports import period_for
from ..models import GeneratedReport, MeasureEntry
from ..services import measures as measure_services
from ..services import reports as report_services

router = Router(tags=["monitoring"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)
READ_ERRORS = error_responses(403, 404)
MeasureId = Path(..., ge=1, le=MAX_ID)
ReportId = Path(..., ge=1, le=MAX_ID)
_MEASURE_FIELDS = {"region": "region_code", "park": "park_id"}


# ---------------------------------------------------------------------------
# Schemas (prefixed: component names are unique across the whole API)
# ---------------------------------------------------------------------------


class MonitoringMeasureParkRef(Schema):
    id: int
    name: str


class MonitoringMeasureOut(Schema):
    id: int
    region: RegionRef
    park: MonitoringMeasureParkRef | None
    category: MeasureCategory
    title: str
    issuing_body: str
    document_no: str
    started_on: datetime.date
    ended_on: datetime.date | None
    status: MeasureStatus
    description: str
    results: str
    is_public: bool
    owner_org: OrgRef
    created_at: datetime.datetime
    updated_at: datetime.datetime


class MonitoringMeasureIn(InputSchema):
    region_code: str | None = Field(
        None, pattern=r"^\d{6}$", description="6-digit region code; a park's measure defaults to the park's region"
    )
    park_id: int | None = Field(None, ge=1, le=MAX_ID)
    category: MeasureCategory
    title: str = Field(..., max_length=200)
    issuing_body: str = Field(..., max_length=128)
    document_no: str = Field("", max_length=64)
    started_on: datetime.date
    ended_on: datetime.date | None = None
    status: MeasureStatus = MeasureStatus.ONGOING
    description: str = Field(..., max_length=20_000)
    results: str = Field("", max_length=20_000)
    is_public: bool = False


class MonitoringMeasurePatch(InputSchema):
    region_code: str | None = Field(None, pattern=r"^\d{6}$")
    park_id: int | None = Field(None, ge=1, le=MAX_ID)
    category: MeasureCategory | None = None
    title: str | None = Field(None, max_length=200)
    issuing_body: str | None = Field(None, max_length=128)
    document_no: str | None = Field(None, max_length=64)
    started_on: datetime.date | None = None
    ended_on: datetime.date | None = None
    status: MeasureStatus | None = None
    description: str | None = Field(None, max_length=20_000)
    results: str | None = Field(None, max_length=20_000)
    is_public: bool | None = None


class MonitoringMeasureFilterIn(Schema):
    region: str | None = Field(None, pattern=r"^(\d{2}|\d{4}|\d{6})$", description="region-code prefix")
    park_id: int | None = Field(None, ge=1, le=MAX_ID)
    category: MeasureCategory | None = None
    status: MeasureStatus | None = None
    year: int | None = Field(None, ge=2000, le=2100, description="in force at some time in the year")
    q: str | None = Field(None, max_length=64)
    public: bool | None = None


class MonitoringReportFigureOut(Schema):
    key: str
    label: str
    value: Any = None
    unit: str
    query: str


class MonitoringReportOut(Schema):
    id: int
    kind: ReportKind
    title: str
    region: RegionRef | None
    period_start: datetime.date
    period_end: datetime.date
    file_name: str
    content_type: str
    size: int
    file_digest: str
    created_at: datetime.datetime
    created_by_org: OrgRef | None
    figure_count: int

    @staticmethod
    def resolve_figure_count(obj: GeneratedReport) -> int:
        return len(obj.figures or [])


class MonitoringReportDetailOut(MonitoringReportOut):
    figures: list[MonitoringReportFigureOut]


class MonitoringReportIn(InputSchema):
    kind: ReportKind
    region_code: str | None = Field(
        None, pattern=r"^\d{6}$", description="province or city code; none for the whole country (national office)"
    )
    year: int = Field(..., ge=2000, le=2100)
    quarter: int | None = Field(None, ge=1, le=4, description="required for quarterly_summary")


class MonitoringReportFilterIn(Schema):
    kind: ReportKind | None = None
    region: str | None = Field(None, pattern=r"^(\d{2}|\d{4}|\d{6})$")


# ---------------------------------------------------------------------------
# Measures
# ---------------------------------------------------------------------------


def _measure(user: Any, measure_id: int, action: str = Action.VIEW) -> MeasureEntry:
    scoped_get(MeasureEntry, user=user, pk=measure_id, action=action)
    return selectors.measure_list(user=user).get(pk=measure_id)


def _park(user: Any, park_id: int | None) -> Park | None:
    if park_id is None:
        return None
    return resolve(Park, user=user, action=Action.VIEW, field="park_id", pk=park_id)


def _require_measure_writer(user: Any) -> None:
    if not measure_services.may_write_measures(user):
        raise forbidden(
            "只有知识产权局或园区管委会可以填报工作措施。",
            "Only an IP office or a park administration records measures.",
        )


@router.get(
    "/monitoring/measures",
    response={200: list[MonitoringMeasureOut], **error_responses(403)},
    summary="Measures (工作措施) you may see: public ones, your organisation's, your region's (officials) and your "
    "parks' (park administrations)",
)
@paginate(Paginated)
def measure_list(request: HttpRequest, filters: Query[MonitoringMeasureFilterIn]) -> QuerySet[MeasureEntry]:
    user = caller(request)
    require(user, MeasureEntry, Action.VIEW)
    return selectors.measure_list(
        user=user,
        filters=selectors.MeasureFilters(
            region=filters.region or "",
            park_id=filters.park_id,
            category=str(filters.category or ""),
            status=str(filters.status or ""),
            year=filters.year,
            q=(filters.q or "").strip(),
            public=filters.public,
        ),
    )


@router.post(
    "/monitoring/measures",
    response={201: MonitoringMeasureOut, **WRITE_ERRORS},
    summary="An IP office records a measure of its jurisdiction, a park administration one of its own parks",
)
def measure_create(request: HttpRequest, payload: MonitoringMeasureIn) -> Status[MeasureEntry]:
    user = caller(request)
    _require_measure_writer(user)
    try:
        measure = measure_services.measure_create(
            region=region_or_400(payload.region_code, "region_code"),
            park=_park(user, payload.park_id),
            category=str(payload.category),
            title=payload.title,
            issuing_body=payload.issuing_body,
            document_no=payload.document_no,
            started_on=payload.started_on,
            ended_on=payload.ended_on,
            status=str(payload.status),
            description=payload.description,
            results=payload.results,
            is_public=payload.is_public,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, _MEASURE_FIELDS) from exc
    return Status(201, _measure(user, measure.pk))


@router.get(
    "/monitoring/measures/{measure_id}", response={200: MonitoringMeasureOut, **READ_ERRORS}, summary="One measure"
)
def measure_detail(request: HttpRequest, measure_id: int = MeasureId) -> MeasureEntry:
    return _measure(caller(request), measure_id)


@router.patch(
    "/monitoring/measures/{measure_id}",
    response={200: MonitoringMeasureOut, **WRITE_ERRORS},
    summary="Change a measure (fields sent are changed); its filing organisation or the region's IP office",
)
def measure_update(request: HttpRequest, payload: MonitoringMeasurePatch, measure_id: int = MeasureId) -> MeasureEntry:
    user = caller(request)
    _require_measure_writer(user)
    measure = _measure(user, measure_id, Action.CHANGE)
    data: dict[str, Any] = payload.model_dump(exclude_unset=True)
    for name in ("category", "title", "issuing_body", "started_on", "status", "description", "is_public"):
        if name in data and data[name] is None:
            raise ApiError(400, "required", "不能为空。", "May not be null.", field=name)
    if "region_code" in data:
        data["region"] = region_or_400(data.pop("region_code"), "region_code")
    if "park_id" in data:
        data["park"] = _park(user, data.pop("park_id"))
    for name in ("document_no", "results"):
        if name in data and data[name] is None:
            data[name] = ""
    for name in ("category", "status"):
        if name in data:
            data[name] = str(data[name])
    try:
        measure_services.measure_update(measure=measure, data=data, acting_user=user)
    except ValidationError as exc:
        raise renamed_fields(exc, _MEASURE_FIELDS) from exc
    return _measure(user, measure_id)


@router.delete(
    "/monitoring/measures/{measure_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a measure (an admin of its filing organisation or of the region's IP office)",
)
def measure_delete(request: HttpRequest, measure_id: int = MeasureId) -> Status[None]:
    user = caller(request)
    require(user, MeasureEntry, Action.DELETE)
    measure = _measure(user, measure_id, Action.DELETE)
    measure_services.measure_delete(measure=measure, acting_user=user)
    return Status(204, None)


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


def _report(user: Any, report_id: int) -> GeneratedReport:
    scoped_get(GeneratedReport, user=user, pk=report_id)
    return selectors.report_list(user=user).get(pk=report_id)


@router.get(
    "/monitoring/reports",
    response={200: list[MonitoringReportOut], **error_responses(403)},
    summary="Generated reports of your jurisdiction (officials)",
)
@paginate(Paginated)
def report_list(request: HttpRequest, filters: Query[MonitoringReportFilterIn]) -> QuerySet[GeneratedReport]:
    user = caller(request)
    require(user, GeneratedReport, Action.VIEW)
    return selectors.report_list(user=user, kind=str(filters.kind or ""), region=filters.region or "")


@router.post(
    "/monitoring/reports",
    response={201: MonitoringReportDetailOut, **WRITE_ERRORS},
    summary="An IP office generates the measures overview table (xlsx) or a quarterly / annual work summary (docx) "
    "of its jurisdiction for a year or quarter; the answer lists every figure with its query",
)
def report_create(request: HttpRequest, payload: MonitoringReportIn) -> Status[GeneratedReport]:
    user = caller(request)
    require(user, GeneratedReport, Action.ADD)
    region = region_or_400(payload.region_code, "region_code")
    period = period_for(str(payload.kind), payload.year, payload.quarter)
    try:
        report = report_services.report_generate(
            kind=str(payload.kind),
            region=region,
            period_start=period.start,
            period_end=period.end,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, {"region": "region_code", "period_start": "year", "period_end": "year"}) from exc
    except PermissionDenied as exc:
        raise forbidden("只有知识产权局可以生成统计报告。", "Only an IP office generates reports.") from exc
    return Status(201, _report(user, report.pk))


@router.get(
    "/monitoring/reports/{report_id}",
    response={200: MonitoringReportDetailOut, **READ_ERRORS},
    summary="One report with every figure it printed and the query behind each",
)
def report_detail(request: HttpRequest, report_id: int = ReportId) -> GeneratedReport:
    return _report(caller(request), report_id)


@router.get(
    "/monitoring/reports/{report_id}/download",
    response=READ_ERRORS,
    openapi_extra={
        "responses": {
            200: {
                "description": "The report file (xlsx or docx).",
                "content": {
                    uploads.CONTENT_TYPES[uploads.XLSX]: {"schema": {"type": "string", "format": "binary"}},
                    uploads.CONTENT_TYPES[uploads.DOCX]: {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    },
    summary="Download a generated report's file",
)
def report_download(request: HttpRequest, report_id: int = ReportId) -> HttpResponse:
    user = caller(request)
    report = _report(user, report_id)
    try:
        content = report_services.report_content(report)
    except (FileNotFoundError, ValueError) as exc:
        raise ApiError(404, "not_found", "报告文件不存在。", "The report file is missing.") from exc
    response = HttpResponse(content, content_type=report.content_type)
    response["Content-Disposition"] = uploads.content_disposition(report.file_name)
    response["X-Content-Type-Options"] = "nosniff"
    return response
