"""Products API (产品资源库): the library (filters as on the page), a product with its versions, creating, editing a
draft version, a new version, submitting, the bank's internal approval (approve / reject, maker-checker), withdrawal,
and the import of our product template.

Conventions as in the screening APIs: reads start from `restrict(user, "view")` (another bank's draft answers 404
like a missing one); the services decide who may act (their `PermissionDenied` answers 403, their
`ValidationError` 400 naming the field and the rule, e.g. `maker_is_checker`, `open_version_exists`,
`kind_not_accepted`, `unknown_region`; a duplicate code is 409 `unique`). A version submitted with an API key can
only be decided by a person.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import File, Form, Path, Query, Router, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from ipledge.core.apikit import (
    MAX_ID,
    ApiError,
    Paginated,
    caller,
    error_responses,
    organisation_or_400,
    renamed_fields,
    require,
)
from ipledge.core.context import current_request_id
from ipledge.core.models import Organisation
from ipledge.core.money import Money
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get

from .. import selectors_products as selectors
from ..importing import MAX_BYTES
from ..models import Product, ProductVersion
from ..schemas_products import (
    MarketProductCreateIn,
    MarketProductDecisionIn,
    MarketProductDetailOut,
    MarketProductFilter,
    MarketProductImportOut,
    MarketProductImportRejectedOut,
    MarketProductOut,
    MarketProductVersionIn,
    MarketProductVersionOut,
    MarketProductWithdrawIn,
)
from ..services import products as services

router = Router(tags=["market"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)
READ_ERRORS = error_responses(403, 404)
ProductId = Path(..., ge=1, le=MAX_ID)
VersionId = Path(..., ge=1, le=MAX_ID)
RENAMED = {"bank": "bank_id"}


def _own_bank(request: HttpRequest, bank_id: int | None) -> Organisation:
    bank = organisation_or_400(bank_id, "bank_id", "银行", "Bank")
    if bank is None:
        bank = getattr(caller(request), "organisation", None)
    if bank is None:
        raise ApiError(400, "required", "请指定银行。", "Name the bank (bank_id).", field="bank_id")
    return bank  # type: ignore[no-any-return]


def _detail(user: Any, pk: int) -> Product:
    product = selectors.visible_products(user=user).get(pk=pk)
    product.visible_versions = list(selectors.product_versions(user=user, product=product))  # type: ignore[attr-defined]
    return product


def _version(user: Any, product_id: int, version_id: int) -> ProductVersion:
    product = scoped_get(Product, user=user, pk=product_id)
    version = scoped_get(ProductVersion, user=user, pk=version_id)
    if version.product_id != product.pk:
        raise Http404(ProductVersion._meta.verbose_name)  # the same answer as a missing version
    return version


def _filters(filters: MarketProductFilter) -> selectors.ProductFilters:
    return selectors.ProductFilters(
        q=(filters.q or "").strip(),
        region=filters.region or "",
        kind=str(filters.kind or ""),
        amount=Money(filters.amount) if filters.amount is not None else None,
        term_months=filters.term_months,
        bank_id=filters.bank_id,
        rate_kind=str(filters.rate_kind or ""),
        status=str(filters.status or ""),
    )


# ---------------------------------------------------------------------------
# The import (declared before /{product_id} so that its path is matched first)
# ---------------------------------------------------------------------------


@router.post(
    "/market/products/import",
    response={201: MarketProductImportOut, 400: MarketProductImportRejectedOut, **error_responses(403, 404, 409)},
    summary="Import our product template (csv or xlsx): one draft product per row, or nothing with row errors",
    description="Multipart form: `file`, and optionally `bank_id` (your bank or one below it; default yours). The "
    "whole file is validated first; a file with any bad row answers 400 with every error (`row`, `field` = the "
    "column header, `rule`, `message`, `message_en`) and writes nothing. The template: "
    "`/market/products/import/template.xlsx` (web page).",
)
def product_import(request: HttpRequest, file: File[UploadedFile], bank_id: Form[int | None] = None) -> Status[Any]:
    user = caller(request)
    require(user, Product, Action.ADD)
    bank = _own_bank(request, bank_id)
    if file.size is not None and file.size > MAX_BYTES:
        raise ApiError(400, "file_too_large", "文件超过 10 MB。", "The file exceeds 10 MB.", field="file")
    try:
        result = services.product_import(
            bank=bank, file_name=file.name or "upload", content=file.read(), acting_user=user
        )
    except ValidationError as exc:
        raise renamed_fields(exc, RENAMED) from exc
    if result.rejected:
        return Status(400, {"errors": result.errors, "request_id": current_request_id()})
    products = [selectors.visible_products(user=user).get(pk=p.pk) for p in result.products]
    return Status(201, {"rows": result.rows, "products": products})


# ---------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------


@router.get(
    "/market/products",
    response={200: list[MarketProductOut], **error_responses(400, 403)},
    summary="The product library: live products of every bank (and your own bank's drafts and withdrawn ones)",
)
@paginate(Paginated)
def product_list(request: HttpRequest, filters: Query[MarketProductFilter]) -> QuerySet[Product]:
    user = caller(request)
    require(user, Product, Action.VIEW)
    return selectors.product_list(user=user, filters=_filters(filters))


@router.post(
    "/market/products",
    response={201: MarketProductDetailOut, **WRITE_ERRORS},
    summary="Create a draft product with its draft version 1 (goes live after the bank's internal approval)",
)
def product_create(request: HttpRequest, payload: MarketProductCreateIn) -> Status[Product]:
    user = caller(request)
    require(user, Product, Action.ADD)
    bank = _own_bank(request, payload.bank_id)
    try:
        product = services.product_create(
            bank=bank, code=payload.code, name=payload.name, terms=payload.terms(), acting_user=user
        )
    except ValidationError as exc:
        raise renamed_fields(exc, RENAMED) from exc
    return Status(201, _detail(user, product.pk))


@router.get(
    "/market/products/{product_id}",
    response={200: MarketProductDetailOut, **READ_ERRORS},
    summary="One product with the versions you may see (others see only the live one)",
)
def product_detail(request: HttpRequest, product_id: int = ProductId) -> Product:
    user = caller(request)
    require(user, Product, Action.VIEW)
    return _detail(user, scoped_get(Product, user=user, pk=product_id).pk)


@router.post(
    "/market/products/{product_id}/withdraw",
    response={200: MarketProductDetailOut, **WRITE_ERRORS},
    summary="Withdraw a product (已下架): no longer shown to others nor matched; a new approved version relaunches it",
)
def product_withdraw(request: HttpRequest, payload: MarketProductWithdrawIn, product_id: int = ProductId) -> Product:
    user = caller(request)
    require(user, Product, Action.VIEW)
    product = scoped_get(Product, user=user, pk=product_id)
    services.product_withdraw(product=product, acting_user=user, note=payload.note)
    return _detail(user, product.pk)


# ---------------------------------------------------------------------------
# Versions
# ---------------------------------------------------------------------------


@router.get(
    "/market/products/{product_id}/versions",
    response={200: list[MarketProductVersionOut], **READ_ERRORS},
    summary="The product's versions you may see, newest first",
)
def version_list(request: HttpRequest, product_id: int = ProductId) -> QuerySet[ProductVersion]:
    user = caller(request)
    require(user, Product, Action.VIEW)
    product = scoped_get(Product, user=user, pk=product_id)
    return selectors.product_versions(user=user, product=product)


@router.post(
    "/market/products/{product_id}/versions",
    response={201: MarketProductVersionOut, **WRITE_ERRORS},
    summary="Draft a new version of a product (the live version stays in force until the new one is approved)",
)
def version_draft(
    request: HttpRequest, payload: MarketProductVersionIn, product_id: int = ProductId
) -> Status[ProductVersion]:
    user = caller(request)
    require(user, Product, Action.VIEW)
    product = scoped_get(Product, user=user, pk=product_id)
    if payload.name is not None:
        raise ApiError(
            400,
            "not_allowed",
            "起草新版本时不能修改产品名称。",
            "A new version cannot rename the product.",
            field="name",
        )
    version = services.product_version_draft(product=product, terms=payload.terms(), acting_user=user)
    return Status(201, selectors.product_versions(user=user, product=product).get(pk=version.pk))


@router.put(
    "/market/products/{product_id}/versions/{version_id}",
    response={200: MarketProductVersionOut, **WRITE_ERRORS},
    summary="Replace the terms of a draft version (and rename a product that has never been live)",
)
def version_update(
    request: HttpRequest,
    payload: MarketProductVersionIn,
    product_id: int = ProductId,
    version_id: int = VersionId,
) -> ProductVersion:
    user = caller(request)
    require(user, Product, Action.VIEW)
    version = _version(user, product_id, version_id)
    services.product_version_update(version=version, terms=payload.terms(), acting_user=user, name=payload.name)
    return selectors.product_versions(user=user, product=version.product).get(pk=version.pk)


@router.post(
    "/market/products/{product_id}/versions/{version_id}/submit",
    response={200: MarketProductVersionOut, **WRITE_ERRORS},
    summary="Submit a draft version for the bank's internal approval (draft → pending)",
)
def version_submit(request: HttpRequest, product_id: int = ProductId, version_id: int = VersionId) -> ProductVersion:
    user = caller(request)
    require(user, Product, Action.VIEW)
    version = _version(user, product_id, version_id)
    services.product_version_submit(version=version, acting_user=user)
    return selectors.product_versions(user=user, product=version.product).get(pk=version.pk)


@router.post(
    "/market/products/{product_id}/versions/{version_id}/approve",
    response={200: MarketProductVersionOut, **WRITE_ERRORS},
    summary="Approve a pending version (a reviewer or admin of the bank tree, not the submitter): it goes live",
)
def version_approve(
    request: HttpRequest,
    payload: MarketProductDecisionIn,
    product_id: int = ProductId,
    version_id: int = VersionId,
) -> ProductVersion:
    user = caller(request)
    require(user, Product, Action.VIEW)
    version = _version(user, product_id, version_id)
    services.product_version_approve(version=version, acting_user=user, note=payload.note)
    return selectors.product_versions(user=user, product=version.product).get(pk=version.pk)


@router.post(
    "/market/products/{product_id}/versions/{version_id}/reject",
    response={200: MarketProductVersionOut, **WRITE_ERRORS},
    summary="Return a pending version with the reasons (note required); the bank drafts a new version",
)
def version_reject(
    request: HttpRequest,
    payload: MarketProductDecisionIn,
    product_id: int = ProductId,
    version_id: int = VersionId,
) -> ProductVersion:
    user = caller(request)
    require(user, Product, Action.VIEW)
    version = _version(user, product_id, version_id)
    services.product_version_reject(version=version, acting_user=user, note=payload.note)
    return selectors.product_versions(user=user, product=version.product).get(pk=version.pk)
