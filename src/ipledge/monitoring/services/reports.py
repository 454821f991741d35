"""Report services (统计报告): generate a report file (`reports.py` builds it), store it by its SHA-256 digest under
`DATA_DIR/media` (as `core/uploads.py`-checked documents are stored: a name of our own, never the client's) and keep
a `GeneratedReport` row with every figure the report printed and the query behind each.

Who: an IP office (知识产权局) generates reports for its own jurisdiction (a province's office for the province or
any city in it; the national office also for the whole country, `region=None`); the platform and jobs (no user)
for any region. The report's figures are read within the generating user's reach (`restrict(user, "view")`).
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import record_event, save_validated
from ipledge.core.choices import OrganisationKind
from ipledge.core.models import Region, User
from ipledge.core.scoping import Action, scope_for

from ..choices import ReportKind
from ..models import GeneratedReport
from ..reports import Period, build

STORAGE_DIR = "monitoring/reports"
EXTENSIONS = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
MAX_PERIOD_DAYS = 366 * 5


def _error(field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params)})


def may_generate_reports(user: Any) -> bool:
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    return scope.is_platform or scope.kind == OrganisationKind.IP_OFFICE


def storage_name(digest: str, content_type: str) -> str:
    return f"{STORAGE_DIR}/{digest}{EXTENSIONS.get(content_type, '.bin')}"


def _check(
    *, kind: str, region: Region | None, period_start: Any, period_end: Any, acting_user: User | None
) -> list[ValidationError]:
    errors: list[ValidationError] = []
    if kind not in ReportKind.values:
        errors.append(_error("kind", _("请选择有效的报告类型。"), "invalid_choice"))
    if not isinstance(period_start, datetime.date):
        errors.append(_error("period_start", _("请填写统计起始日。"), "required"))
    if not isinstance(period_end, datetime.date):
        errors.append(_error("period_end", _("请填写统计截止日。"), "required"))
    if isinstance(period_start, datetime.date) and isinstance(period_end, datetime.date):
        if period_end < period_start:
            errors.append(_error("period_end", _("统计截止日不能早于起始日。"), "before_start"))
        elif (period_end - period_start).days > MAX_PERIOD_DAYS:
            errors.append(_error("period_end", _("统计期间不能超过5年。"), "too_long"))
    scope = scope_for(acting_user) if acting_user is not None else None
    if scope is not None and not scope.is_platform:
        prefix = scope.region_prefix
        inside = prefix == "" if region is None else prefix is not None and region.code.startswith(prefix)
        if not inside:
            errors.append(_error("region", _("只能生成本机关辖区内的报告。"), "out_of_region"))
    return errors


def report_generate(
    *,
    kind: str,
    region: Region | None,
    period_start: datetime.date,
    period_end: datetime.date,
    acting_user: User | None,
) -> GeneratedReport:
    """Build the report, store its file and record it with its figures (one audit event).

    The build only reads and may take seconds on a large deployment; it runs before the write transaction so that
    no write lock is held meanwhile (SQLite's IMMEDIATE transactions would block every other writer). The row and
    its audit event are then written atomically."""
    if acting_user is not None and not may_generate_reports(acting_user):
        raise PermissionDenied("only an IP office generates monitoring reports")
    errors = _check(kind=kind, region=region, period_start=period_start, period_end=period_end, acting_user=acting_user)
    if errors:
        merged: dict[str, list[ValidationError]] = {}
        for exc in errors:
            for name, items in exc.error_dict.items():
                merged.setdefault(name, []).extend(items)
        raise ValidationError(merged)
    built = build(kind=kind, reader=acting_user, region=region, period=Period(period_start, period_end))
    digest = hashlib.sha256(built.content).hexdigest()
    name = storage_name(digest, built.content_type)
    # The same bytes are stored once; a transaction rolled back after this leaves only an unreferenced file.
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(built.content))
    actor = acting_user if acting_user is not None and acting_user.pk else None
    report = GeneratedReport(
        kind=kind,
        title=built.title[:200],
        region=region,
        region_code=region.code if region is not None else "",
        period_start=period_start,
        period_end=period_end,
        file_digest=digest,
        file_name=built.file_name[:255],
        content_type=built.content_type,
        size=len(built.content),
        figures=[figure.as_json() for figure in built.figures],
        created_by_org=getattr(acting_user, "organisation", None) if acting_user is not None else None,
        created_by=actor,
    )
    with transaction.atomic():
        return _record(report, acting_user)


def _record(report: GeneratedReport, acting_user: User | None) -> GeneratedReport:
    save_validated(report)
    # The figures (with their SQL) stay on the row; the audit event names the file and how many figures it holds.
    record_event(
        acting_user=acting_user,
        action="generated_report.create",
        instance=report,
        new={
            "kind": report.kind,
            "region_code": report.region_code,
            "period_start": report.period_start,
            "period_end": report.period_end,
            "file_digest": report.file_digest,
            "size": report.size,
            "figures": len(report.figures),
        },
    )
    return report


def report_content(report: GeneratedReport) -> bytes:
    """The stored file's bytes, checked against the digest recorded when it was generated."""
    with default_storage.open(storage_name(report.file_digest, report.content_type), "rb") as handle:
        content: bytes = handle.read()
    if hashlib.sha256(content).hexdigest() != report.file_digest:
        raise ValueError(f"stored file of report {report.pk} does not match its digest")
    return content
