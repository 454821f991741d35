"""Bulk export and import (批量导入导出) with their `BulkTransfer` record.

Every export and every import attempt, applied or rejected (a refused upload included), leaves one `BulkTransfer`
row with the file's SHA-256 and the counts or the errors, audited (``bulk.export`` / ``bulk.import``). An applied
import writes its rows and its transfer in the same transaction; a rejected one writes only the transfer.
"""

import datetime
import hashlib
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from ipledge.core import uploads
from ipledge.core.audit import audited_create
from ipledge.core.context import business_date
from ipledge.core.models import User

from ..bulk import exporting, importing
from ..bulk import registry as bulk_registry
from ..choices import BulkDirection, BulkStatus
from ..models import BulkTransfer

MAX_STORED_ERRORS = 500


class UnknownEntity(LookupError):
    pass


def _entity(key: str) -> bulk_registry.Entity:
    entity = bulk_registry.get(key)
    if entity is None:
        raise UnknownEntity(key)
    return entity


def _record(
    *,
    actor: User,
    direction: str,
    entity: str,
    file_format: str,
    file_name: str,
    content: bytes,
    status: str,
    rows: int = 0,
    outcome: importing.ImportOutcome | None = None,
) -> BulkTransfer:
    transfer = BulkTransfer(
        direction=direction,
        entity=entity,
        file_format=file_format,
        file_name=uploads.display_name(file_name)[:255],
        sha256=hashlib.sha256(content).hexdigest() if content else "",
        status=status,
        rows_total=rows,
        organisation=getattr(actor, "organisation", None),
        created_by=actor if actor.pk else None,
    )
    if outcome is not None:
        transfer.rows_total = outcome.rows
        transfer.rows_created = outcome.created
        transfer.rows_updated = outcome.updated
        transfer.rows_unchanged = outcome.unchanged
        transfer.errors = [e.as_dict() for e in outcome.errors[:MAX_STORED_ERRORS]]
    return audited_create(instance=transfer, acting_user=actor, action=f"bulk.{direction}")


def may_import(user: Any, entity_key: str) -> bool:
    importer = importing.get(entity_key)
    return importer is not None and importer.may_import(user)


def importable_entities(user: Any) -> list[str]:
    return [key for key, importer in importing.importers().items() if importer.may_import(user)]


def bulk_export(
    *, actor: User, entity_key: str, file_format: str, today: datetime.date | None = None
) -> tuple[exporting.ExportFile, BulkTransfer]:
    """The rows of ``entity_key`` the actor may view, as xlsx or csv, recorded as a transfer."""
    entity = _entity(entity_key)
    if not bulk_registry.may_export(actor):
        raise PermissionDenied("only organisation users export")
    if file_format not in exporting.FORMATS:
        raise ValueError(file_format)
    export = exporting.export(entity, actor, file_format, today=today or business_date())
    with transaction.atomic():
        transfer = _record(
            actor=actor,
            direction=BulkDirection.EXPORT,
            entity=entity.key,
            file_format=file_format,
            file_name=export.file_name,
            content=export.content,
            status=BulkStatus.EXPORTED,
            rows=export.rows,
        )
    return export, transfer


def bulk_import(*, actor: User, entity_key: str, upload: Any) -> tuple[importing.ImportOutcome, BulkTransfer]:
    """Check, validate and apply a whole file (all rows or none); PermissionDenied when the actor may not import
    this entity at all."""
    _entity(entity_key)
    importer = importing.get(entity_key)
    if importer is None or not importer.may_import(actor):
        raise PermissionDenied("the actor may not import this entity")
    name = uploads.display_name(getattr(upload, "name", None), default="upload")
    content = b""
    try:
        content, checked = uploads.read(upload, policy=importing.POLICY)
    except uploads.UploadRefused as exc:
        outcome = importing.ImportOutcome(entity=entity_key)
        outcome.errors.append(importing.RowError(0, "file", exc.rule, exc.text))
        with transaction.atomic():
            transfer = _record(
                actor=actor,
                direction=BulkDirection.IMPORT,
                entity=entity_key,
                file_format="xlsx" if name.lower().endswith(".xlsx") else "csv",
                file_name=name,
                content=content,
                status=BulkStatus.REJECTED,
                outcome=outcome,
            )
        return outcome, transfer
    file_format = "xlsx" if checked.kind == uploads.XLSX else "csv"
    with transaction.atomic():
        outcome = importer.run(content=content, checked=checked, user=actor)
        if outcome.ok:
            transfer = _record(
                actor=actor,
                direction=BulkDirection.IMPORT,
                entity=entity_key,
                file_format=file_format,
                file_name=name,
                content=content,
                status=BulkStatus.APPLIED,
                outcome=outcome,
            )
            return outcome, transfer
    with transaction.atomic():
        transfer = _record(
            actor=actor,
            direction=BulkDirection.IMPORT,
            entity=entity_key,
            file_format=file_format,
            file_name=name,
            content=content,
            status=BulkStatus.REJECTED,
            outcome=outcome,
        )
    return outcome, transfer


def template(*, entity_key: str, file_format: str) -> tuple[bytes, str]:
    """A blank import template (header, one example row; xlsx with a notes sheet) and its file name."""
    entity = _entity(entity_key)
    importer = importing.get(entity_key)
    if importer is None or file_format not in exporting.FORMATS:
        raise UnknownEntity(entity_key)
    if file_format == "xlsx":
        return importing.template_xlsx(importer, entity.label), f"{entity.label}-导入模板.xlsx"
    return importing.template_csv(importer), f"{entity.label}-导入模板.csv"
