"""Bulk import / export API (批量导入导出): the same entities, files and rules as the /integration/bulk/ pages.

- ``GET /integration/bulk/entities``: every entity with its columns, and whether the caller may import it.
- ``GET /integration/bulk/{entity}/export?format=csv|xlsx``: the rows the caller may view, as a file (csv: UTF-8
  with BOM; money in yuan with two decimals; dates ISO 8601).
- ``POST /integration/bulk/{entity}/import`` (multipart ``file``, .xlsx or .csv): all rows or none. 200 with the
  counts; 400 with one error per refused cell, ``field`` = ``rows.<row>.<column header>`` (row 0 = the file, row 1
  = the header row) and its ``rule``.
- ``GET /integration/bulk/transfers``: the caller's organisation's transfers, newest first (paginated).
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate

from ipledge.core import uploads
from ipledge.core.apikit import ApiError, Paginated, caller, error_item, error_responses
from ipledge.core.scoping import Action

from ..bulk import exporting
from ..bulk import registry as bulk_registry
from ..models import BulkTransfer
from ..services import bulk as services

router = Router(tags=["integration"])


class BulkColumnOut(Schema):
    label: str = Field(..., description="Header as written in the file (zh-hans).")
    kind: str = Field(..., description="text, date, money (yuan, two decimals), int, decimal or bool (是/否).")


class BulkEntityOut(Schema):
    key: str
    label: str
    columns: list[BulkColumnOut]
    importable: bool = Field(..., description="The caller may import this entity.")


class BulkExportQuery(Schema):
    format: str = Field("xlsx", pattern="^(xlsx|csv)$", description="xlsx or csv (UTF-8 with BOM).")


class BulkImportOut(Schema):
    transfer_id: int
    entity: str
    rows: int
    created: int
    updated: int
    unchanged: int


class BulkTransferOut(Schema):
    id: int
    direction: str
    entity: str
    file_format: str
    file_name: str
    sha256: str
    status: str
    rows_total: int
    rows_created: int
    rows_updated: int
    rows_unchanged: int
    errors: list[dict[str, Any]]
    organisation_id: int | None
    created_at: str

    @staticmethod
    def resolve_created_at(obj: BulkTransfer) -> str:
        return obj.created_at.isoformat()


def _entity(user: Any, key: str) -> bulk_registry.Entity:
    entity = bulk_registry.get(key)
    if entity is None:
        raise ApiError(404, "not_found", "没有该数据类别。", "No such entity.", field="entity")
    if not bulk_registry.may_export(user):
        raise ApiError(403, "forbidden", "只有机构用户可以导入导出数据。", "Only organisation users transfer data.")
    return entity


@router.get(
    "/integration/bulk/entities",
    response={200: list[BulkEntityOut], **error_responses(403)},
    summary="The entities that can be exported (all) and imported (some) as xlsx or csv",
)
def bulk_entities(request: HttpRequest) -> list[dict[str, Any]]:
    user = caller(request)
    if not bulk_registry.may_export(user):
        raise ApiError(403, "forbidden", "只有机构用户可以导入导出数据。", "Only organisation users transfer data.")
    importable = set(services.importable_entities(user))
    return [
        {
            "key": e.key,
            "label": e.label,
            "columns": [{"label": c.label, "kind": c.kind} for c in e.columns],
            "importable": e.key in importable,
        }
        for e in bulk_registry.ENTITIES
    ]


@router.get(
    "/integration/bulk/{entity}/export",
    response={**error_responses(403, 404)},
    summary="Export the rows of an entity the caller may view, as an xlsx or csv file",
    openapi_extra={
        "responses": {
            200: {
                "description": "The file (Content-Disposition: attachment).",
                "content": {
                    exporting.CONTENT_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
                    "text/csv": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    },
)
def bulk_export(request: HttpRequest, entity: str, query: Query[BulkExportQuery]) -> HttpResponse:
    user = caller(request)
    found = _entity(user, entity)
    export, _transfer = services.bulk_export(actor=user, entity_key=found.key, file_format=query.format)
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = uploads.content_disposition(export.file_name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.post(
    "/integration/bulk/{entity}/import",
    response={200: BulkImportOut, **error_responses(400, 403, 404)},
    summary="Import a whole xlsx or csv file of an entity: every row or none",
    description="Multipart form with `file`. Rows are upserted by natural key (enterprises: USCC; IP rights: kind "
    "and number; financials: USCC and year; measures: implementing body, title and start date; policies: issuing "
    "body and document number). A refused file answers 400 with one error per problem, `field` = "
    "`rows.<row>.<column header>` (row 0: the file, row 1: the header row), and writes nothing.",
)
def bulk_import(request: HttpRequest, entity: str, file: File[UploadedFile]) -> dict[str, Any]:
    user = caller(request)
    found = _entity(user, entity)
    if not services.may_import(user, found.key):
        raise ApiError(403, "forbidden", "您的机构无权导入该类数据。", "Your organisation may not import this entity.")
    try:
        outcome, transfer = services.bulk_import(actor=user, entity_key=found.key, upload=file)
    except PermissionDenied as exc:
        raise ApiError(
            403, "forbidden", "您的机构无权导入该类数据。", "Your organisation may not import this."
        ) from exc
    if not outcome.ok:
        raise ApiError(
            400,
            outcome.errors[0].rule,
            "",
            errors=[
                error_item(
                    f"rows.{e.row}.{e.column}" if e.column else f"rows.{e.row}",
                    e.rule,
                    e.message,
                    f"Row {e.row}, column {e.column or '-'}: rule {e.rule}",
                )
                for e in outcome.errors
            ],
        )
    return {
        "transfer_id": transfer.pk,
        "entity": found.key,
        "rows": outcome.rows,
        "created": outcome.created,
        "updated": outcome.updated,
        "unchanged": outcome.unchanged,
    }


@router.get(
    "/integration/bulk/transfers",
    response={200: list[BulkTransferOut], **error_responses(403)},
    summary="Bulk imports and exports of the caller's organisation (and those below it), newest first",
)
@paginate(Paginated)
def bulk_transfers(request: HttpRequest) -> QuerySet[BulkTransfer]:
    user = caller(request)
    if not bulk_registry.may_export(user):
        raise ApiError(403, "forbidden", "只有机构用户可以导入导出数据。", "Only organisation users transfer data.")
    return BulkTransfer.objects.restrict(user, Action.VIEW).order_by("-created_at", "-pk")
