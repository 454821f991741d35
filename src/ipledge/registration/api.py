"""Pledge registration API: banks and agencies file, pledgors confirm, examiners decide, pledgees cancel; anyone
looks up the public announcement record.

Same conventions as the registry API: reads start from the registration selectors (`restrict(user, "view")`), one
object comes from `scoped_get` (another organisation's filing answers 404 like a missing one), references in a body
are resolved within the caller's reach (else 400 `not_found` naming the field), and the services decide who may do
what (their `PermissionDenied` answers 403, their `ValidationError` 400 naming the field and the rule — the
examination engine's refusal grounds come through as rules, e.g. `already_pledged`).

`GET /public/pledges` is the one operation without authentication: it answers only the announcement fields.
"""

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from ninja import File, Form, Path, Query, Router, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from ipledge.core import uploads
from ipledge.core.apikit import (
    MAX_ID,
    ApiError,
    Paginated,
    caller,
    error_item,
    error_responses,
    not_found_ref,
    require,
)
from ipledge.core.choices import OrganisationKind
from ipledge.core.money import Money
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.registry.models import IPRight

from . import selectors, services
from .bulk import bulk_file, bulk_template, pledgee_for
from .choices import DocumentType
from .models import FilingDocument, FilingItem, PledgedRight, PledgeFiling, PledgeRegistration
from .monitoring import ip_right_transfer as transfer
from .notices import registration_notice_docx
from .schemas import (
    BulkFilingOut,
    CancellationIn,
    ChangeIn,
    DecisionIn,
    FilingDetailOut,
    FilingFilter,
    FilingIn,
    FilingOut,
    PublicPledgeOut,
    PublicPledgeQuery,
    RegistrationFilter,
    RegistrationOut,
    ResubmitIn,
    RightOwnersOut,
    TransferIn,
)

router = Router(tags=["registration"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAX_BULK_BYTES = 20 * 1024 * 1024


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


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = uploads.content_disposition(filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------------------
# Filings
# ---------------------------------------------------------------------------


def _require_filer(user: Any) -> None:
    """403 before any lookup when the caller's organisation does not file pledges at all."""
    require(user, PledgeFiling, Action.ADD)
    org = getattr(user, "organisation", None)
    if org is None or org.kind not in services.FILER_KINDS:
        raise ApiError(
            403,
            "forbidden",
            "只有银行或专利代理机构可以提交质押登记申请。",
            "Only banks and patent agencies file pledge registrations.",
        )


def _filings(user: Any) -> QuerySet[PledgeFiling]:
    return selectors.filing_list(user=user).select_related("created_registration")


def _filing_detail(user: Any, pk: int) -> PledgeFiling:
    return (
        _filings(user)
        .prefetch_related(
            Prefetch("items", queryset=FilingItem.objects.select_related("ip_right").order_by("pk")),
            "documents",
            "findings",
        )
        .get(pk=pk)
    )


def _filing(user: Any, pk: int) -> PledgeFiling:
    return scoped_get(PledgeFiling, user=user, pk=pk)


@router.get("/pledge-filings", response={200: list[FilingOut], **error_responses(403)}, summary="Pledge filings")
@paginate(Paginated)
def filing_list(request: HttpRequest, filters: Query[FilingFilter]) -> QuerySet[PledgeFiling]:
    user = caller(request)
    require(user, PledgeFiling, Action.VIEW)
    qs = _filings(user)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.filing_type:
        qs = qs.filter(filing_type=filters.filing_type)
    return qs


@router.post(
    "/pledge-filings",
    response={201: FilingDetailOut, **WRITE_ERRORS},
    summary="File a pledge registration (banks and patent agencies); it then awaits the pledgor's confirmation",
)
def filing_create(request: HttpRequest, payload: FilingIn) -> Status[PledgeFiling]:
    user = caller(request)
    _require_filer(user)
    pledgor = selectors.resolve_pledgor(payload.pledgor_uscc)
    pledgee = pledgee_for(user, payload.pledgee_id)
    if pledgee is None:
        raise not_found_ref("pledgee_id", "质权人", "Pledgee")
    items = []
    for i, item in enumerate(payload.items):
        right = selectors.resolve_right(kind=item.kind, number=item.number, field=f"items.{i}.number")
        items.append(
            {
                "ip_right": right,
                "co_owner_consent": item.co_owner_consent,
                "licence_revenue": item.licence_revenue,
                "licence_contract_ref": item.licence_contract_ref,
            }
        )
    with transaction.atomic():
        filing = services.filing_create(
            pledgor=pledgor,
            pledgee=pledgee,
            items=items,
            acting_user=user,
            claim_kind=payload.claim_kind,
            claim_amount=Money(Decimal(payload.claim_amount)),
            performance_start=payload.performance_start,
            performance_end=payload.performance_end,
            guarantee_scope=payload.guarantee_scope,
            contract_no=payload.contract_no,
            has_valuation=payload.has_valuation,
            declarations=list(payload.declarations),
            channel=payload.channel,
        )
    return Status(201, _filing_detail(user, filing.pk))


@router.get(
    "/pledge-filings/bulk/template",
    response=error_responses(403),
    openapi_extra=_binary(XLSX, "The empty bulk-filing workbook (集中代办模板)."),
    summary="Bulk-filing template (.xlsx)",
)
def bulk_filing_template(request: HttpRequest) -> HttpResponse:
    require(caller(request), PledgeFiling, Action.VIEW)
    return _attachment(bulk_template(), XLSX, "质押登记集中代办模板.xlsx")


@router.post(
    "/pledge-filings/bulk",
    response={201: BulkFilingOut, **WRITE_ERRORS},
    summary="File many pledge registrations from one .xlsx (集中代办): all of it or nothing",
    description="Every refused cell is one error with `field` = `rows.<row number>.<column header>` (row 0: the "
    "file as a whole, row 1: the header) and its rule; when any is refused, no filing is created.",
)
def bulk_filing(request: HttpRequest, file: File[UploadedFile]) -> Status[dict[str, Any]]:
    user = caller(request)
    _require_filer(user)
    if file.size is not None and file.size > MAX_BULK_BYTES:
        raise ApiError(400, "file_too_large", "文件超过20 MB。", "The file exceeds 20 MB.", field="file")
    result = bulk_file(filename=file.name or "bulk.xlsx", content=file.read(), acting_user=user)
    if not result.ok:
        raise ApiError(
            400,
            result.errors[0].rule,
            "",
            errors=[
                error_item(
                    f"rows.{e.row}.{e.column}" if e.column else f"rows.{e.row}",
                    e.rule,
                    e.message,
                    f"Row {e.row}, column {e.column or '-'} ({e.value}): rule {e.rule}",
                )
                for e in result.errors
            ],
        )
    return Status(201, {"rows": result.rows, "created": result.created, "filing_ids": result.filing_ids})


@router.get(
    "/pledge-filings/{filing_id}",
    response={200: FilingDetailOut, **error_responses(403, 404)},
    summary="One filing with its items, documents and examination findings",
)
def filing_detail(request: HttpRequest, filing_id: int = Path(..., ge=1, le=MAX_ID)) -> PledgeFiling:
    user = caller(request)
    require(user, PledgeFiling, Action.VIEW)
    return _filing_detail(user, _filing(user, filing_id).pk)


@router.post(
    "/pledge-filings/{filing_id}/confirm",
    response={200: FilingDetailOut, **WRITE_ERRORS},
    summary="The pledgor confirms the filing; it goes to examination",
)
def filing_confirm(request: HttpRequest, filing_id: int = Path(..., ge=1, le=MAX_ID)) -> PledgeFiling:
    user = caller(request)
    require(user, PledgeFiling, Action.CHANGE)
    filing = _filing(user, filing_id)
    services.filing_confirm(filing=filing, acting_user=user)
    return _filing_detail(user, filing.pk)


@router.post(
    "/pledge-filings/{filing_id}/documents",
    response={201: FilingDetailOut, **WRITE_ERRORS},
    summary="Upload a document of the filing (PDF, JPG, PNG or DOCX, at most 20 MB)",
)
def document_upload(
    request: HttpRequest,
    file: File[UploadedFile],
    doc_type: Form[DocumentType],
    filing_id: int = Path(..., ge=1, le=MAX_ID),
) -> Status[PledgeFiling]:
    user = caller(request)
    require(user, PledgeFiling, Action.CHANGE)
    filing = _filing(user, filing_id)
    org = user.organisation
    if org is None or org.kind not in (*services.FILER_KINDS, OrganisationKind.ENTERPRISE):
        raise ApiError(
            403,
            "forbidden",
            "只有提交机构或出质人可以上传申请材料。",
            "Only the filer or the pledgor uploads documents.",
        )
    if file.size is not None and file.size > services.MAX_DOCUMENT_BYTES:
        raise ApiError(400, "file_too_large", "文件不能超过 20 MB。", "The file exceeds 20 MB.", field="file")
    services.document_add(
        filing=filing, doc_type=doc_type, filename=file.name or "document", content=file.read(), acting_user=user
    )
    return Status(201, _filing_detail(user, filing.pk))


@router.get(
    "/pledge-filings/{filing_id}/documents/{document_id}",
    response=error_responses(403, 404),
    openapi_extra=_binary("application/octet-stream", "The document as uploaded (its own content type)."),
    summary="Download a document of a filing",
)
def document_download(
    request: HttpRequest,
    filing_id: int = Path(..., ge=1, le=MAX_ID),
    document_id: int = Path(..., ge=1, le=MAX_ID),
) -> HttpResponse:
    user = caller(request)
    require(user, PledgeFiling, Action.VIEW)
    filing = _filing(user, filing_id)
    document = scoped_get(FilingDocument, user=user, pk=document_id)
    if document.filing_id != filing.pk:
        raise Http404(FilingDocument._meta.verbose_name)
    with document.file.open("rb") as handle:
        content = handle.read()
    return _attachment(content, document.content_type, document.original_name)


@router.post(
    "/pledge-filings/{filing_id}/decision",
    response={200: FilingDetailOut, **WRITE_ERRORS},
    summary="The examiner registers, requests a correction or refuses (IP office reviewers)",
)
def filing_decision(
    request: HttpRequest, payload: DecisionIn, filing_id: int = Path(..., ge=1, le=MAX_ID)
) -> PledgeFiling:
    user = caller(request)
    require(user, PledgeFiling, Action.APPROVE)
    filing = _filing(user, filing_id)
    services.filing_decide(
        filing=filing,
        decision=payload.decision,
        note=payload.note,
        correction_working_days=payload.correction_working_days,
        acting_user=user,
    )
    return _filing_detail(user, filing.pk)


@router.post(
    "/pledge-filings/{filing_id}/withdraw",
    response={200: FilingDetailOut, **WRITE_ERRORS},
    summary="Withdraw an open filing",
)
def filing_withdraw(request: HttpRequest, filing_id: int = Path(..., ge=1, le=MAX_ID)) -> PledgeFiling:
    user = caller(request)
    require(user, PledgeFiling, Action.CHANGE)
    filing = _filing(user, filing_id)
    services.filing_withdraw(filing=filing, acting_user=user)
    return _filing_detail(user, filing.pk)


@router.post(
    "/pledge-filings/{filing_id}/resubmit",
    response={200: FilingDetailOut, **WRITE_ERRORS},
    summary="Resubmit a filing after the examiner's correction request (补正), with corrected contract data",
)
def filing_resubmit(
    request: HttpRequest, payload: ResubmitIn, filing_id: int = Path(..., ge=1, le=MAX_ID)
) -> PledgeFiling:
    user = caller(request)
    require(user, PledgeFiling, Action.CHANGE)
    filing = _filing(user, filing_id)
    changes = payload.dict(exclude_unset=True, exclude_none=True)
    if "claim_amount" in changes:
        changes["claim_amount"] = Money(Decimal(changes["claim_amount"]))
    with transaction.atomic():
        services.filing_resubmit(filing=filing, acting_user=user, changes=changes)
    return _filing_detail(user, filing.pk)


@router.post(
    "/ip-rights/{right_id}/transfer",
    response={200: RightOwnersOut, **WRITE_ERRORS},
    summary="Register a transfer of a right (IP offices); refused for a pledged right without the pledgee's consent",
)
def ip_right_transfer(request: HttpRequest, payload: TransferIn, right_id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    user = caller(request)
    right = scoped_get(IPRight, user=user, pk=right_id, action=Action.CHANGE)
    owners: list[dict[str, Any]] = []
    for index, owner in enumerate(payload.owners):
        entry: dict[str, Any] = {"share": Decimal(owner.share), "holder_name": owner.holder_name}
        if owner.enterprise_uscc:
            try:
                entry["enterprise"] = selectors.resolve_pledgor(owner.enterprise_uscc)
            except ValidationError as exc:
                raise ValidationError({f"owners.{index}.enterprise_uscc": exc.error_dict["pledgor_uscc"]}) from exc
        owners.append(entry)
    with transaction.atomic():
        transfer(right=right, new_owners=owners, acting_user=user, pledgee_consent=payload.pledgee_consent)
    right.refresh_from_db()
    return {
        "id": right.pk,
        "number": right.number,
        "owners": [
            {
                "enterprise_id": o.enterprise_id,
                "name": o.enterprise.name if o.enterprise else o.holder_name,
                "share": str(o.share),
            }
            for o in right.owners.select_related("enterprise")
        ],
    }


# ---------------------------------------------------------------------------
# Registrations
# ---------------------------------------------------------------------------


def _registrations(user: Any) -> QuerySet[PledgeRegistration]:
    return selectors.registration_list(user=user).prefetch_related(
        Prefetch("pledged_rights", queryset=PledgedRight.objects.select_related("ip_right").order_by("pk"))
    )


@router.get(
    "/pledge-registrations",
    response={200: list[RegistrationOut], **error_responses(403)},
    summary="Registered pledges",
)
@paginate(Paginated)
def registration_list(request: HttpRequest, filters: Query[RegistrationFilter]) -> QuerySet[PledgeRegistration]:
    user = caller(request)
    require(user, PledgeRegistration, Action.VIEW)
    qs = _registrations(user)
    if filters.status:
        qs = qs.filter(status=filters.status)
    return qs


@router.get(
    "/pledge-registrations/{registration_id}",
    response={200: RegistrationOut, **error_responses(403, 404)},
    summary="One registered pledge",
)
def registration_detail(request: HttpRequest, registration_id: int = Path(..., ge=1, le=MAX_ID)) -> PledgeRegistration:
    user = caller(request)
    require(user, PledgeRegistration, Action.VIEW)
    registration = scoped_get(PledgeRegistration, user=user, pk=registration_id)
    return _registrations(user).get(pk=registration.pk)


@router.post(
    "/pledge-registrations/{registration_id}/cancellation",
    response={201: FilingDetailOut, **WRITE_ERRORS},
    summary="The pledgee files the cancellation (注销) of a registered pledge",
)
def registration_cancel(
    request: HttpRequest, payload: CancellationIn, registration_id: int = Path(..., ge=1, le=MAX_ID)
) -> Status[PledgeFiling]:
    user = caller(request)
    require(user, PledgeFiling, Action.ADD)
    registration = scoped_get(PledgeRegistration, user=user, pk=registration_id)
    filing = services.cancellation_file(registration=registration, reason=payload.reason, acting_user=user)
    return Status(201, _filing_detail(user, filing.pk))


@router.post(
    "/pledge-registrations/{registration_id}/changes",
    response={201: FilingDetailOut, **WRITE_ERRORS},
    summary="The pledgee files a change (变更登记) of a registered pledge: new secured amount and/or performance end",
    description="The filing goes straight to examination; upload the change agreement (变更协议) to it through "
    "`POST /pledge-filings/{filing_id}/documents`. A new performance end past a pledged patent's or copyright's term "
    "is refused with the rule `term_before_performance_end` on the field `performance_end`.",
)
def registration_change(
    request: HttpRequest, payload: ChangeIn, registration_id: int = Path(..., ge=1, le=MAX_ID)
) -> Status[PledgeFiling]:
    user = caller(request)
    require(user, PledgeFiling, Action.ADD)
    registration = scoped_get(PledgeRegistration, user=user, pk=registration_id)
    with transaction.atomic():
        filing = services.change_file(
            registration=registration,
            acting_user=user,
            claim_amount=Money(Decimal(payload.claim_amount)) if payload.claim_amount is not None else None,
            performance_end=payload.performance_end,
            change_description=payload.change_description,
        )
    return Status(201, _filing_detail(user, filing.pk))


@router.get(
    "/pledge-registrations/{registration_id}/notice.docx",
    response=error_responses(403, 404),
    openapi_extra=_binary(DOCX, "The registration notice (质押登记通知书) as Word document."),
    summary="Registration notice (.docx)",
)
def registration_notice(request: HttpRequest, registration_id: int = Path(..., ge=1, le=MAX_ID)) -> HttpResponse:
    user = caller(request)
    require(user, PledgeRegistration, Action.VIEW)
    registration = scoped_get(PledgeRegistration, user=user, pk=registration_id)
    content = registration_notice_docx(registration)
    return _attachment(content, DOCX, f"质押登记通知书-{registration.registration_no}.docx")


# ---------------------------------------------------------------------------
# Public announcement record
# ---------------------------------------------------------------------------


@router.get(
    "/public/pledges",
    auth=None,
    response={200: list[PublicPledgeOut], **error_responses()},
    summary="Public query (no login): announcement records by right number or registration number",
)
def public_pledges(request: HttpRequest, query: Query[PublicPledgeQuery]) -> list[dict[str, Any]]:
    return services.public_registration_lookup(number=query.number)
