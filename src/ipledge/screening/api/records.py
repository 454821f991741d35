"""Credit-record API (信用记录): imports of court dishonest-debtor records, administrative penalties, the
abnormal-operation and serious-violation lists and tax credit ratings; the records and their match to enterprises;
the review of uncertain name matches.

Conventions as in the disposal and compensation APIs: reads start from `restrict(user, "view")` (another office's
import answers 404 like a missing one); `require()` answers 403 to organisations that may never do an action on the
model (only IP offices import and review); the services decide the rest (`PermissionDenied` → 403,
`ValidationError` → 400 naming the field and the rule).

A rejected file answers 400 in the one error shape, with two additions: each error carries `row` (the row number as
the user sees it in the file: header = row 1 in csv and xlsx, the first object = row 1 in JSON, 0 = the file as a
whole), its `field` is the file's own header or JSON key, and `import_id` names the stored rejected import, which
`GET /screening/credit-imports/{import_id}` shows again.
"""

import datetime
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, File, Form, Path, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from ipledge.core.apikit import (
    MAX_ID,
    ApiError,
    Paginated,
    caller,
    error_responses,
    forbidden,
    organisation_or_400,
    renamed_fields,
    require,
    resolve,
)
from ipledge.core.context import business_date, current_request_id
from ipledge.core.schemas import InputSchema
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.registry.models import Enterprise
from ipledge.registry.schemas import OrgRef

from .. import selectors_records as selectors
from ..choices import FileFormat, ImportStatus, MatchStatus, RecordKind
from ..importing import MAX_BYTES
from ..models import CreditImport, CreditRecord
from ..services import records as services

router = Router(tags=["screening"])

ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
ImportId = Path(..., ge=1, le=MAX_ID)
RecordId = Path(..., ge=1, le=MAX_ID)
READ_ERRORS = error_responses(403, 404)
WRITE_ERRORS = error_responses(400, 403, 404, 409)


# ----------------------------------------------------------------------------------------------------- schemas


def _username(user: Any) -> str | None:
    return None if user is None else str(user.get_username())


class ScreeningImportRowErrorOut(Schema):
    row: int = Field(
        ..., description="Row number as seen in the file (csv/xlsx header = 1; JSON first object = 1; 0 = file)."
    )
    field: str | None = Field(..., description="The file's own header or JSON key (its Chinese name when missing).")
    rule: str = Field(..., description="Machine code of the rule broken, e.g. `date`, `checksum`, `duplicate`.")
    message: str
    message_en: str


class ScreeningImportRejectedOut(Schema):
    """A rejected file: the one error shape with each error's row, and the stored import's id."""

    errors: list[ScreeningImportRowErrorOut]
    request_id: str
    import_id: int


class ScreeningCreditImportOut(Schema):
    id: int
    organisation: OrgRef
    kind: RecordKind
    file_name: str
    file_format: FileFormat
    sha256: str
    status: ImportStatus
    rows_total: int
    rows_matched: int = Field(..., description="Rows whose record is matched to an enterprise after the import.")
    rows_review: int = Field(..., description="Rows whose record waits in the review queue.")
    rows_unmatched: int
    rows_unchanged: int = Field(..., description="Rows identical to a record already stored.")
    rows_updated: int = Field(..., description="Rows that changed a stored record (e.g. a removal date now given).")
    imported_by: str | None
    created_at: datetime.datetime

    @staticmethod
    def resolve_imported_by(obj: CreditImport) -> str | None:
        return _username(obj.imported_by)


class ScreeningCreditImportDetailOut(ScreeningCreditImportOut):
    errors: list[ScreeningImportRowErrorOut]

    @staticmethod
    def resolve_errors(obj: CreditImport) -> list[dict[str, Any]]:
        return [
            {
                "row": int(e.get("row", 0)),
                "field": e.get("field") or None,
                "rule": str(e.get("rule", "")),
                "message": str(e.get("message", "")),
                "message_en": str(e.get("message_en") or e.get("message", "")),
            }
            for e in obj.errors or ()
            if isinstance(e, dict)
        ]


class ScreeningRecordEnterpriseRef(Schema):
    id: int
    name: str
    uscc: str


class ScreeningRecordCandidateOut(Schema):
    id: int
    name: str
    score: float = Field(..., description="Name similarity 0–100 of the normalised names.")


class ScreeningCreditRecordOut(Schema):
    id: int
    kind: RecordKind
    source_key: str = Field(..., description="What makes the record the same record on re-import.")
    subject_name: str
    subject_uscc: str
    enterprise: ScreeningRecordEnterpriseRef | None
    match_status: MatchStatus
    match_score: float | None
    region_code: str
    reference: str
    authority: str
    category: str
    listed_on: datetime.date
    removed_on: datetime.date | None
    expires_on: datetime.date | None
    tax_rating: str | None
    rating_year: int | None
    in_force: bool = Field(..., description="Counts today: listed, not removed or repaired, publicity not over.")
    import_id: int
    reviewed_by: str | None
    reviewed_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_match_score(obj: CreditRecord) -> float | None:
        return None if obj.match_score is None else float(obj.match_score)

    @staticmethod
    def resolve_tax_rating(obj: CreditRecord) -> str | None:
        return obj.tax_rating or None

    @staticmethod
    def resolve_in_force(obj: CreditRecord) -> bool:
        return obj.counts_on(business_date())

    @staticmethod
    def resolve_import_id(obj: CreditRecord) -> int:
        return obj.batch_id

    @staticmethod
    def resolve_reviewed_by(obj: CreditRecord) -> str | None:
        return _username(obj.reviewed_by)


class ScreeningCreditRecordDetailOut(ScreeningCreditRecordOut):
    candidates: list[ScreeningRecordCandidateOut] = Field(
        ..., description="Enterprises the name matched (best first); kept on a dismissed record as the rejected ones."
    )
    raw: dict[str, Any] = Field(..., description="The row's fields as the file wrote them.")

    @staticmethod
    def resolve_candidates(obj: CreditRecord) -> list[dict[str, Any]]:
        return [c for c in obj.candidates or () if isinstance(c, dict)]


class ScreeningRecordFilter(Schema):
    kind: RecordKind | None = None
    match_status: MatchStatus | None = None
    enterprise_id: ObjectId | None = None
    import_id: ObjectId | None = None
    in_force_on: datetime.date | None = Field(None, description="Only records counting on this day.")
    q: str | None = Field(None, max_length=128, description="Subject or matched enterprise: name contains, or USCC.")


class ScreeningImportFilter(Schema):
    kind: RecordKind | None = None
    status: ImportStatus | None = None


class ScreeningConfirmMatchIn(InputSchema):
    enterprise_id: ObjectId = Field(..., description="A candidate, or any enterprise you can see.")


# ----------------------------------------------------------------------------------------------------- imports


@router.post(
    "/screening/credit-imports",
    response={201: ScreeningCreditImportOut, 400: ScreeningImportRejectedOut, **error_responses(403, 404, 409)},
    summary="Import a file of credit records (csv, xlsx or JSON) of one kind: all of it, or nothing with row errors",
    description="Multipart form: `kind`, `file`, and optionally `organisation_id` (an IP office at or below yours; "
    "default your own). A file with any bad row is stored as a rejected import and answers 400 with every error "
    "(`row`, `field`, `rule`, `message`) and `import_id`; a 400 without `import_id` (request problems such as a "
    "missing or oversized file) uses the one error shape.",
)
def credit_import_create(
    request: HttpRequest,
    kind: Form[RecordKind],
    file: File[UploadedFile],
    organisation_id: Form[int | None] = None,
) -> Status[Any]:
    user = caller(request)
    require(user, CreditImport, Action.ADD)
    organisation = user.organisation
    if organisation_id is not None:
        organisation = organisation_or_400(organisation_id, "organisation_id", "导入机构", "Importing organisation")
    if organisation is None:
        raise ApiError(400, "required", "须指定导入机构。", "Name the importing organisation.", field="organisation_id")
    if not services.may_import(user, organisation):
        raise forbidden(
            "只能为本机构或下级知识产权局导入信用记录。", "You may import for your own office or those below it."
        )
    if file.size is not None and file.size > MAX_BYTES:
        raise ApiError(400, "file_too_large", "文件超过 50 MB。", "The file exceeds 50 MB.", field="file")
    try:
        batch = services.credit_import(
            organisation=organisation,
            kind=str(kind),
            file_name=file.name or "upload",
            content=file.read(),
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, {"organisation": "organisation_id"}) from exc
    if batch.status == ImportStatus.REJECTED:
        detail = ScreeningCreditImportDetailOut.resolve_errors(batch)
        return Status(400, {"errors": detail, "request_id": current_request_id(), "import_id": batch.pk})
    return Status(201, _import(batch.pk))


def _import(pk: int) -> CreditImport:
    return CreditImport.objects.select_related("organisation", "imported_by").get(pk=pk)


@router.get(
    "/screening/credit-imports",
    response={200: list[ScreeningCreditImportOut], **error_responses(403)},
    summary="Credit-record imports of your office and the offices below it, newest first",
)
@paginate(Paginated)
def credit_import_list(request: HttpRequest, filters: Query[ScreeningImportFilter]) -> QuerySet[CreditImport]:
    user = caller(request)
    require(user, CreditImport, Action.VIEW)
    qs = selectors.import_list(user=user)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.status:
        qs = qs.filter(status=filters.status)
    return qs


@router.get(
    "/screening/credit-imports/{import_id}",
    response={200: ScreeningCreditImportDetailOut, **READ_ERRORS},
    summary="One import with its counts, or the row errors that rejected it",
)
def credit_import_detail(request: HttpRequest, import_id: int = ImportId) -> CreditImport:
    user = caller(request)
    require(user, CreditImport, Action.VIEW)
    return _import(scoped_get(CreditImport, user=user, pk=import_id).pk)


# ----------------------------------------------------------------------------------------------------- records


def _record(request: HttpRequest, record_id: int) -> CreditRecord:
    user = caller(request)
    require(user, CreditRecord, Action.VIEW)
    return selectors.record_detail(user=user, pk=record_id)


def _record_to_review(request: HttpRequest, record_id: int) -> CreditRecord:
    """The record, when the caller reviews its matches: 404 out of sight, 403 when seen but another office's."""
    record = _record(request, record_id)
    if not CreditRecord.objects.restrict(caller(request), Action.CHANGE).filter(pk=record.pk).exists():
        raise forbidden(
            "只有导入该记录的知识产权局（或其上级）的经办人员可以复核匹配。",
            "Only officers of the importing IP office (or above) review this record's match.",
        )
    return record


@router.get(
    "/screening/credit-records",
    response={200: list[ScreeningCreditRecordOut], **error_responses(403)},
    summary="Credit records within your reach: those your office imported or that lie in its region, and those "
    "about enterprises you can see",
)
@paginate(Paginated)
def credit_record_list(request: HttpRequest, filters: Query[ScreeningRecordFilter]) -> QuerySet[CreditRecord]:
    user = caller(request)
    require(user, CreditRecord, Action.VIEW)
    return selectors.record_list(
        user=user,
        filters=selectors.RecordFilters(
            kind=filters.kind or "",
            match_status=filters.match_status or "",
            enterprise_id=filters.enterprise_id,
            batch_id=filters.import_id,
            in_force_on=filters.in_force_on,
            q=filters.q or "",
        ),
    )


@router.get(
    "/screening/credit-records/{record_id}",
    response={200: ScreeningCreditRecordDetailOut, **READ_ERRORS},
    summary="One credit record with its raw fields, its match and the candidate enterprises",
)
def credit_record_detail(request: HttpRequest, record_id: int = RecordId) -> CreditRecord:
    return _record(request, record_id)


@router.get(
    "/screening/match-reviews",
    response={200: list[ScreeningCreditRecordDetailOut], **error_responses(403)},
    summary="The review queue: pending records you may decide, with their candidate enterprises, oldest first",
)
@paginate(Paginated)
def match_review_list(request: HttpRequest) -> QuerySet[CreditRecord]:
    user = caller(request)
    require(user, CreditRecord, Action.CHANGE)
    return selectors.review_queue(user=user)


@router.post(
    "/screening/credit-records/{record_id}/confirm-match",
    response={200: ScreeningCreditRecordDetailOut, **WRITE_ERRORS},
    summary="Tie a pending or unmatched record to an enterprise (a candidate, or any enterprise you can see)",
)
def credit_record_confirm(
    request: HttpRequest, payload: ScreeningConfirmMatchIn, record_id: int = RecordId
) -> CreditRecord:
    user = caller(request)
    record = _record_to_review(request, record_id)
    enterprise = resolve(
        Enterprise,
        user=user,
        action=Action.VIEW,
        field="enterprise_id",
        label_en="enterprise",
        pk=payload.enterprise_id,
    )
    try:
        services.record_match_confirm(record=record, enterprise=enterprise, acting_user=user)
    except ValidationError as exc:
        raise renamed_fields(exc, {"enterprise": "enterprise_id"}) from exc
    return selectors.record_detail(user=user, pk=record.pk)


@router.post(
    "/screening/credit-records/{record_id}/reject-match",
    response={200: ScreeningCreditRecordDetailOut, **WRITE_ERRORS},
    summary="Dismiss a pending record's candidates, or untie a name-based match: the record becomes unmatched and "
    "is never matched again to those enterprises",
)
def credit_record_reject(request: HttpRequest, record_id: int = RecordId) -> CreditRecord:
    user = caller(request)
    record = _record_to_review(request, record_id)
    services.record_match_reject(record=record, acting_user=user)
    return selectors.record_detail(user=user, pk=record.pk)
