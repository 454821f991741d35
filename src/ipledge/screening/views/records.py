"""Credit-record pages (信用记录): the records with their match, imports (upload, the row errors of a rejected
file, the counts of a committed one) and the review queue of uncertain name matches (人工复核).

Views are thin: reads start from `restrict()` through `selectors_records` (another office's import or a record
outside the user's reach answers 404 like a missing one); writes run one service of `services.records`; a
`ValidationError` is shown as a message, a `PermissionDenied` answers 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from ipledge.core.context import business_date
from ipledge.core.context_processors import can
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest
from ipledge.registry.models import Enterprise
from ipledge.registry.views import history_context

from .. import selectors_records as selectors
from ..choices import ImportStatus, MatchStatus, RecordKind
from ..forms_records import CreditImportForm, RecordFilterForm
from ..importing import fields_of
from ..models import CreditImport, CreditRecord
from ..services import records as services
from ..tables_records import IMPORT_BADGES, MATCH_BADGES, ImportTable, RecordTable

PER_PAGE = 25
QUEUE_PER_PAGE = 20
ERRORS_SHOWN = 500


def _paged(request: AuthenticatedRequest, table: Any) -> Any:
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return table


def _back(request: AuthenticatedRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)


# ----------------------------------------------------------------------------------------------------- records


def record_list(request: AuthenticatedRequest) -> HttpResponse:
    form = RecordFilterForm(request.GET or None)
    queryset = selectors.record_list(user=request.user, filters=form.filters())
    table = _paged(request, RecordTable(queryset))
    user = request.user
    return render(
        request,
        "screening/records/record_list.html",
        {
            "table": table,
            "filter": {"form": form},
            "can_import": services.may_import(user),
            "can_review": services.may_review(user),
            "can_see_imports": can(user, CreditImport),
        },
    )


def record_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    record = selectors.record_detail(user=user, pk=pk)
    today = business_date()
    may_decide = CreditRecord.objects.restrict(user, Action.CHANGE).filter(pk=record.pk).exists()
    batch_visible = CreditImport.objects.restrict(user).filter(pk=record.batch_id).exists()
    enterprise_visible = (
        record.enterprise_id is not None and Enterprise.objects.restrict(user).filter(pk=record.enterprise_id).exists()
    )
    return render(
        request,
        "screening/records/record_detail.html",
        {
            "record": record,
            "status_css": MATCH_BADGES.get(record.match_status, "text-bg-secondary"),
            "in_force": record.counts_on(today),
            "today": today,
            "raw": sorted(record.raw.items()) if isinstance(record.raw, dict) else [],
            "candidates": selectors.candidate_enterprises(user=user, record=record),
            "may_confirm": may_decide and record.match_status in (MatchStatus.PENDING, MatchStatus.UNMATCHED),
            "may_reject": may_decide and record.match_status in services.REJECTABLE,
            "batch_visible": batch_visible,
            "enterprise_visible": enterprise_visible,
            **history_context(user, record),
        },
    )


# ----------------------------------------------------------------------------------------------------- imports


def import_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not can(user, CreditImport):
        raise Http404
    table = _paged(request, ImportTable(selectors.import_list(user=user)))
    return render(
        request, "screening/records/import_list.html", {"table": table, "can_import": services.may_import(user)}
    )


def import_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not services.may_import(user):
        raise Http404
    organisations = selectors.importing_organisations(user=user)
    form = CreditImportForm(request.POST or None, request.FILES or None, organisations=organisations)
    context: dict[str, Any] = {"form": form, "kinds": _kind_fields()}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        try:
            batch = services.credit_import(
                organisation=data["organisation"],
                kind=data["kind"],
                file_name=upload.name,
                content=upload.read(),
                acting_user=user,
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            if batch.status == ImportStatus.COMMITTED:
                messages.success(
                    request,
                    _(
                        "已导入 %(total)s 条记录：已匹配 %(matched)s 条，待复核 %(review)s 条，未匹配 %(unmatched)s 条"
                        "（其中更新 %(updated)s 条，未变化 %(unchanged)s 条）。"
                    )
                    % {
                        "total": batch.rows_total,
                        "matched": batch.rows_matched,
                        "review": batch.rows_review,
                        "unmatched": batch.rows_unmatched,
                        "updated": batch.rows_updated,
                        "unchanged": batch.rows_unchanged,
                    },
                )
                return redirect("screening:import_detail", batch.pk)
            context["rejected"] = batch
            context["errors"] = batch.errors[:ERRORS_SHOWN]
    return render(request, "screening/records/import_create.html", context)


def _kind_fields() -> list[dict[str, Any]]:
    """Per record kind, the field names a file may use: required ones first (the page's guide)."""
    out = []
    for value, label in RecordKind.choices:
        specs = fields_of(value)
        out.append(
            {
                "value": value,
                "label": label,
                "required": [s.label for s in specs if s.required],
                "optional": [s.label for s in specs if not s.required],
            }
        )
    return out


def import_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    batch = scoped_get(CreditImport, user=user, pk=pk)
    records = selectors.record_list(user=user, filters=selectors.RecordFilters(batch_id=batch.pk))
    table = _paged(request, RecordTable(records))
    return render(
        request,
        "screening/records/import_detail.html",
        {
            "batch": batch,
            "status_css": IMPORT_BADGES.get(batch.status, "text-bg-secondary"),
            "errors": batch.errors[:ERRORS_SHOWN] if batch.status == ImportStatus.REJECTED else [],
            "error_count": len(batch.errors),
            "table": table,
            **history_context(user, batch),
        },
    )


# ----------------------------------------------------------------------------------------------------- review


def review_queue(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not services.may_review(user):
        raise Http404
    queue = selectors.review_queue(user=user)
    page = Paginator(queue, QUEUE_PER_PAGE).get_page(request.GET.get("page"))
    items = [{"record": r, "candidates": selectors.candidate_enterprises(user=user, record=r)} for r in page]
    return render(
        request,
        "screening/records/review_queue.html",
        {"queue": queue, "page": page, "items": items, "next": request.get_full_path()},
    )


def _decidable(user: Any, pk: int) -> CreditRecord:
    """The record when the user may decide its match: 404 when out of sight, 403 when seen but not the user's to
    review (another office's import, or a role without "change")."""
    record = scoped_get(CreditRecord, user=user, pk=pk)
    if not CreditRecord.objects.restrict(user, Action.CHANGE).filter(pk=record.pk).exists():
        raise PermissionDenied
    return record


@require_POST
def record_confirm(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    record = _decidable(user, pk)
    detail = reverse("screening:record_detail", args=[record.pk])
    chosen = request.POST.get("enterprise") or ""
    enterprise = Enterprise.objects.restrict(user).filter(pk=int(chosen)).first() if chosen.isdigit() else None
    if enterprise is None:
        messages.error(request, _("请选择要匹配的企业（须在您的权限范围内）。"))
        return _back(request, detail)
    try:
        services.record_match_confirm(record=record, enterprise=enterprise, acting_user=user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("已确认：%(subject)s 的记录匹配到 %(name)s。")
            % {"subject": record.subject_name, "name": enterprise.name},
        )
    return _back(request, detail)


@require_POST
def record_reject(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    record = _decidable(user, pk)
    detail = reverse("screening:record_detail", args=[record.pk])
    try:
        services.record_match_reject(record=record, acting_user=user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("已驳回：%(subject)s 的记录不匹配任何候选企业。") % {"subject": record.subject_name}
        )
    return _back(request, detail)


urlpatterns = [
    path("records/", record_list, name="record_list"),
    path("records/<int:pk>/", record_detail, name="record_detail"),
    path("records/<int:pk>/confirm/", record_confirm, name="record_confirm"),
    path("records/<int:pk>/reject/", record_reject, name="record_reject"),
    path("imports/", import_list, name="import_list"),
    path("imports/new/", import_create, name="import_create"),
    path("imports/<int:pk>/", import_detail, name="import_detail"),
    path("review/", review_queue, name="review_queue"),
]
