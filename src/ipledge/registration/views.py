"""Pledge registration pages: filing (bank or agency), pledgor confirmation, examiner workbench and decisions,
registrations with cancellation and the notice, documents, and the public announcement query.

Reads come from the registration selectors (which start from `restrict()`), single objects from `scoped_get`
(404 outside the scope); writes go through the registration services. Documents are served only through
`document_download`, which checks the scope first; they are never linked as public media URLs.
"""

from __future__ import annotations

import base64
import datetime
import importlib
import secrets
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from ipledge.core import uploads
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.forms import attach_errors
from ipledge.core.models import AuditEvent, Organisation
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest
from ipledge.registry.choices import IPKind

from .choices import OPEN_FILING_STATUSES, FilingStatus, FilingType, RegistrationStatus, Severity
from .filtersets import FilingFilterSet, RegistrationFilterSet
from .forms import (
    MAX_ITEMS,
    BulkFilingForm,
    CalendarDayForm,
    CancellationForm,
    ChangeForm,
    DecisionForm,
    DocumentForm,
    FiguresForm,
    FilingForm,
    ItemFormSet,
    PublicQueryForm,
    ResubmitForm,
)
from .models import Alert, CalendarDay, FilingDocument, PledgeFiling, PledgeRegistration
from .selectors import awaiting_confirmation, examination_queue, filing_list, registration_list
from .services import (
    FILER_KINDS,
    calendar_day_remove,
    calendar_day_set,
    cancellation_file,
    change_file,
    document_add,
    filing_confirm,
    filing_create,
    filing_decide,
    filing_resubmit,
    filing_withdraw,
    public_registration_lookup,
)
from .services import calendar as services_calendar
from .tables import AlertTable, FilingTable, QueueTable, RegistrationTable

PER_PAGE = 25
ITEM_PREFIX = "items"


def _kind(user: Any) -> str | None:
    scope = scope_for(user)
    return None if scope is None else scope.kind


def _may(user: Any, action: str) -> bool:
    scope = scope_for(user)
    return scope is not None and scope.may(action)


def may_file(user: Any) -> bool:
    return _kind(user) in FILER_KINDS and _may(user, Action.ADD)


def may_examine(user: Any) -> bool:
    return _kind(user) == OrganisationKind.IP_OFFICE and _may(user, Action.APPROVE)


def _paged(request: HttpRequest, table: Any) -> Any:
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return table


# Filing


def pledgees_for(user: Any) -> QuerySet[Organisation]:
    """Banks a filer may name as pledgee: its own bank and those below it; a patent agency files for any bank."""
    banks = Organisation.objects.filter(kind=OrganisationKind.BANK, is_active=True)
    organisation = user.organisation
    if _kind(user) == OrganisationKind.BANK and organisation is not None:
        return (
            Organisation.objects.restrict(user, Action.VIEW)
            .filter(kind=OrganisationKind.BANK, is_active=True, tree_path__startswith=organisation.tree_path)
            .order_by("tree_path")
        )
    # Bank names are public; an agency's own organisation tree holds no bank, so it picks from all of them.
    return banks.order_by("name")


def _rows_requested(request: HttpRequest) -> int:
    raw = request.POST.get(f"{ITEM_PREFIX}-TOTAL_FORMS", "")
    try:
        rows = int(raw)
    except ValueError:
        rows = 0
    return max(1, min(MAX_ITEMS, rows))


def filing_create_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not may_file(user):
        raise Http404
    pledgees = pledgees_for(user)
    if request.method == "POST" and "add_row" in request.POST:
        # "Add a row" re-renders the form with what was typed and one more empty row (no script needed).
        data = request.POST.copy()
        data[f"{ITEM_PREFIX}-TOTAL_FORMS"] = str(min(MAX_ITEMS, _rows_requested(request) + 1))
        form = FilingForm(data, pledgees=pledgees)
        formset = ItemFormSet(data, prefix=ITEM_PREFIX)
        return render(request, "registration/filing_form.html", _form_context(form, formset, show_errors=False))
    form = FilingForm(request.POST or None, pledgees=pledgees)
    formset = ItemFormSet(request.POST or None, prefix=ITEM_PREFIX)
    if request.method == "POST":
        form_ok = form.is_valid()
        items_ok = formset.is_valid()
        if form_ok and items_ok and form.pledgor is not None:
            filing = _create(form, formset, user)
            if filing is not None:
                messages.success(
                    request,
                    _("申请 #%(pk)s 已提交，等待出质人“%(name)s”在其账号中确认。")
                    % {"pk": filing.pk, "name": filing.pledgor.name},
                )
                return redirect("registration:filing_detail", filing.pk)
    return render(request, "registration/filing_form.html", _form_context(form, formset, show_errors=True))


def _create(form: FilingForm, formset: Any, user: Any) -> PledgeFiling | None:
    data = form.cleaned_data
    try:
        with transaction.atomic():
            return filing_create(
                pledgor=form.pledgor,  # type: ignore[arg-type]
                pledgee=data["pledgee"],
                items=formset.items(),
                acting_user=user,
                claim_kind=data["claim_kind"],
                claim_amount=Money(data["claim_amount"]),
                performance_start=data["performance_start"],
                performance_end=data["performance_end"],
                guarantee_scope=data["guarantee_scope"],
                contract_no=data.get("contract_no", ""),
                has_valuation=bool(data.get("has_valuation")),
                declarations=form.declarations(),
                channel=data["channel"],
            )
    except ValidationError as exc:
        _attach_service_errors(form, exc, {"pledgor": "pledgor_uscc"})
    except PermissionDenied:
        form.add_error(None, _("您的机构无权提交质押登记申请。"))
    return None


def _attach_service_errors(form: Any, exc: ValidationError, field_map: dict[str, str] | None = None) -> None:
    """A service error next to its field; errors about the filing as a whole (items, status…) on top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    field_map = field_map or {}
    for name, errors in exc.error_dict.items():
        target = field_map.get(name, name)
        form.add_error(target if target in form.fields else None, errors)


def _form_context(form: FilingForm, formset: Any, *, show_errors: bool) -> dict[str, Any]:
    return {
        "form": form,
        "formset": formset,
        "show_errors": show_errors,
        "max_items": MAX_ITEMS,
        "can_add_row": formset.total_form_count() < MAX_ITEMS,
        "ic_layout_kind": IPKind.IC_LAYOUT,
    }


# Filing detail and its actions


def _is_filer(user: Any, filing: PledgeFiling) -> bool:
    organisation = user.organisation
    return (
        organisation is not None
        and organisation.kind in FILER_KINDS
        and filing.filed_by_org.tree_path.startswith(organisation.tree_path)
    )


def _is_pledgor(user: Any, filing: PledgeFiling) -> bool:
    return user.organisation_id is not None and filing.pledgor.organisation_id == user.organisation_id


def _findings_by_right(filing: PledgeFiling) -> tuple[list[Any], list[dict[str, Any]]]:
    """Filing-level findings, and per right (in item order) its findings."""
    findings = list(filing.findings.all())
    general = [f for f in findings if f.ip_right_id is None]
    per_right = [
        {"item": item, "right": item.ip_right, "findings": [f for f in findings if f.ip_right_id == item.ip_right_id]}
        for item in filing.items.select_related("ip_right").order_by("pk")
    ]
    return general, per_right


def _when(value: datetime.date | datetime.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _timeline(filing: PledgeFiling) -> list[dict[str, Any]]:
    steps = _timeline_steps(filing)
    for step in steps:
        step["at"] = _when(step.get("at"))
    return steps


def _timeline_steps(filing: PledgeFiling) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = [{"label": _("提交申请"), "at": filing.created_at, "by": filing.filed_by_org.name}]
    if filing.filing_type == FilingType.REGISTRATION:
        steps.append(
            {
                "label": _("出质人确认"),
                "at": filing.pledgor_confirmed_at,
                "by": filing.pledgor.name,
                "pending": filing.status == FilingStatus.AWAITING_PLEDGOR,
            }
        )
    steps.append(
        {
            "label": _("受理（进入审查）"),
            "at": filing.submitted_on,
            "note": _("审查期限 %(due)s") % {"due": filing.due_on} if filing.due_on else "",
            "pending": filing.status == FilingStatus.SUBMITTED,
        }
    )
    if filing.status == FilingStatus.CORRECTION_REQUESTED:
        due = _("补正期限 %(due)s") % {"due": _when(filing.correction_due_on)}
        steps.append({"label": _("要求补正"), "note": f"{filing.decision_note}（{due}）", "pending": True})
    if filing.status in (FilingStatus.REGISTERED, FilingStatus.REFUSED, FilingStatus.WITHDRAWN):
        steps.append(
            {
                "label": filing.get_status_display(),
                "at": filing.decided_at or filing.updated_at,
                "note": filing.decision_note,
                "done": True,
            }
        )
    return steps


def _detail_context(request: AuthenticatedRequest, filing: PledgeFiling, **forms: Any) -> dict[str, Any]:
    user = request.user
    general, per_right = _findings_by_right(filing)
    is_open = filing.status in OPEN_FILING_STATUSES
    can_change = PledgeFiling.objects.restrict(user, Action.CHANGE).filter(pk=filing.pk).exists()
    can_decide = (
        may_examine(user)
        and filing.status == FilingStatus.SUBMITTED
        and PledgeFiling.objects.restrict(user, Action.APPROVE).filter(pk=filing.pk).exists()
    )
    registration = PledgeRegistration.objects.restrict(user, Action.VIEW).filter(filing=filing).first()
    if registration is None and filing.registration_id:
        registration = PledgeRegistration.objects.restrict(user, Action.VIEW).filter(pk=filing.registration_id).first()
    return {
        "filing": filing,
        "timeline": _timeline(filing),
        "general_findings": general,
        "items": per_right,
        "refusal_count": sum(1 for f in filing.findings.all() if f.severity == Severity.REFUSE),
        "documents": list(filing.documents.all()),
        "registration": registration,
        "can_upload": can_change and is_open,
        "can_confirm": (
            filing.status == FilingStatus.AWAITING_PLEDGOR and _is_pledgor(user, filing) and _may(user, Action.CHANGE)
        ),
        "can_withdraw": is_open and can_change and _is_filer(user, filing),
        "can_resubmit": (filing.status == FilingStatus.CORRECTION_REQUESTED and can_change and _is_filer(user, filing)),
        "resubmit_form": forms.get("resubmit_form") or ResubmitForm.for_filing(filing),
        "can_decide": can_decide,
        "document_form": forms.get("document_form") or DocumentForm(),
        "decision_form": forms.get("decision_form") or DecisionForm(),
        "decision_errors": forms.get("decision_errors", []),
        "change_rows": _change_rows(filing),
        "REFUSE": Severity.REFUSE,
    }


def _money_text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    amount = value.amount if isinstance(value, Money) else Decimal(str(value))
    return f"{amount:,.2f}"


def _date_text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def _change_rows(filing: PledgeFiling) -> list[dict[str, Any]]:
    """Old → new values of a change filing (变更登记).

    While open, "old" is what the registration carries now; once registered, it is what the registration carried
    just before, as recorded by the decision's audit event (the filing itself is already in the reader's scope).
    """
    registration = filing.registration
    if filing.filing_type != FilingType.CHANGE or registration is None:
        return []
    old: dict[str, Any] = {"claim_amount": registration.claim_amount, "performance_end": registration.performance_end}
    if filing.status == FilingStatus.REGISTERED:
        event = (
            AuditEvent.objects.filter(
                action="pledge_registration.change",
                object_type=PledgeRegistration._meta.label_lower,
                object_id=str(registration.pk),
                changes__extra__filing=filing.pk,
            )
            .order_by("-pk")
            .first()
        )
        if event is not None:
            for name, change in (event.changes.get("fields") or {}).items():
                old[name] = change.get("old")
    rows = []
    if filing.claim_amount is not None:
        rows.append(
            {
                "label": _("被担保债权数额（元）"),
                "field": "claim_amount",
                "old": _money_text(old["claim_amount"]),
                "new": _money_text(filing.claim_amount),
            }
        )
    if filing.performance_end is not None:
        rows.append(
            {
                "label": _("债务履行期限止"),
                "field": "performance_end",
                "old": _date_text(old["performance_end"]),
                "new": _date_text(filing.performance_end),
            }
        )
    return rows


def filing_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    filing = scoped_get(PledgeFiling, user=request.user, pk=pk)
    return render(request, "registration/filing_detail.html", _detail_context(request, filing))


def _filing_action(
    request: AuthenticatedRequest, filing: PledgeFiling, run: Callable[[], object], success: Callable[[], str]
) -> HttpResponse:
    """Run one filing service in a transaction; refusals become 404 or messages, and the user returns to the filing."""
    try:
        with transaction.atomic():
            run()
    except PermissionDenied as exc:
        raise Http404 from exc
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, success())
    return redirect("registration:filing_detail", filing.pk)


@require_POST
def filing_confirm_view(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    filing = scoped_get(PledgeFiling, user=user, pk=pk, action=Action.CHANGE)
    if not _is_pledgor(user, filing):
        raise Http404
    return _filing_action(
        request,
        filing,
        lambda: filing_confirm(filing=filing, acting_user=user),
        lambda: _("已确认出质，申请已提交登记机关审查（审查期限 %(due)s）。") % {"due": filing.due_on},
    )


@require_POST
def filing_withdraw_view(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    filing = scoped_get(PledgeFiling, user=user, pk=pk, action=Action.CHANGE)
    if not _is_filer(user, filing):
        raise Http404
    return _filing_action(
        request, filing, lambda: filing_withdraw(filing=filing, acting_user=user), lambda: str(_("申请已撤回。"))
    )


@require_POST
def filing_resubmit_view(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The filer resubmits after a correction request, with the corrected contract data."""
    user = request.user
    filing = scoped_get(PledgeFiling, user=user, pk=pk, action=Action.CHANGE)
    if not _is_filer(user, filing):
        raise Http404
    form = ResubmitForm(request.POST)
    if form.is_valid():
        changes = {**form.cleaned_data, "claim_amount": Money(form.cleaned_data["claim_amount"])}
        return _filing_action(
            request,
            filing,
            lambda: filing_resubmit(filing=filing, acting_user=user, changes=changes),
            lambda: str(_("已提交补正，申请重新进入审查。")),
        )
    for field, errors in form.errors.items():
        for error in errors:
            messages.error(request, f"{form.fields[field].label if field in form.fields else ''}：{error}")
    return redirect("registration:filing_detail", filing.pk)


@require_POST
def filing_decide_view(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    filing = scoped_get(PledgeFiling, user=user, pk=pk, action=Action.APPROVE)
    if not may_examine(user):
        raise Http404
    form = DecisionForm(request.POST)
    errors: list[str] = []
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                filing_decide(
                    filing=filing,
                    decision=data["decision"],
                    note=data.get("note") or "",
                    correction_working_days=data.get("correction_working_days") or 10,
                    acting_user=user,
                )
        except PermissionDenied as exc:
            raise Http404 from exc
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and set(exc.error_dict) <= set(form.fields):
                attach_errors(form, exc)
            else:
                errors = list(exc.messages)
        else:
            messages.success(request, _("审查决定已作出：%(status)s。") % {"status": filing.get_status_display()})
            return redirect("registration:filing_detail", filing.pk)
    filing.refresh_from_db()
    context = _detail_context(request, filing, decision_form=form, decision_errors=errors)
    return render(request, "registration/filing_detail.html", context, status=200)


@require_POST
def document_upload(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    filing = scoped_get(PledgeFiling, user=user, pk=pk, action=Action.CHANGE)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            with transaction.atomic():
                document_add(
                    filing=filing,
                    doc_type=form.cleaned_data["doc_type"],
                    filename=upload.name,
                    content=upload.read(),
                    acting_user=user,
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("材料“%(name)s”已上传。") % {"name": upload.name})
            return redirect("registration:filing_detail", filing.pk)
    return render(request, "registration/filing_detail.html", _detail_context(request, filing, document_form=form))


@require_GET
def document_download(request: AuthenticatedRequest, pk: int) -> FileResponse:
    document = scoped_get(FilingDocument, user=request.user, pk=pk)
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=document.content_type)
    # Always a download under the display name (RFC 5987), never rendered inline, whatever the content.
    response["Content-Disposition"] = uploads.content_disposition(document.original_name)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# Lists


def filing_list_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    filterset = FilingFilterSet(request.GET or None, queryset=filing_list(user=user))
    table = _paged(request, FilingTable(filterset.qs))
    return render(
        request,
        "registration/filing_list.html",
        {"table": table, "filter": filterset, "can_file": may_file(user), "heading": _("质押登记申请")},
    )


def awaiting_confirmation_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if _kind(user) != OrganisationKind.ENTERPRISE:
        raise Http404
    table = _paged(request, FilingTable(awaiting_confirmation(user=user)))
    return render(request, "registration/awaiting_confirmation.html", {"table": table})


def examination_queue_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not may_examine(user):
        raise Http404
    queue = examination_queue(user=user).annotate(
        refusals=Count("findings", filter=Q(findings__severity=Severity.REFUSE))
    )
    calendar = services_calendar()
    today = business_date()

    def days_left(due_on: datetime.date | None) -> int | None:
        if due_on is None:
            return None
        if due_on >= today:
            return calendar.working_days_between(today, due_on)
        return -calendar.working_days_between(due_on, today)

    table = _paged(request, QueueTable(queue, days_left=days_left))
    return render(request, "registration/examination_queue.html", {"table": table, "today": today})


def registration_list_view(request: AuthenticatedRequest) -> HttpResponse:
    filterset = RegistrationFilterSet(request.GET or None, queryset=registration_list(user=request.user))
    table = _paged(request, RegistrationTable(filterset.qs))
    return render(request, "registration/registration_list.html", {"table": table, "filter": filterset})


# Registrations


def _is_pledgee(user: Any, registration: PledgeRegistration) -> bool:
    organisation = user.organisation
    return (
        organisation is not None
        and organisation.kind == OrganisationKind.BANK
        and registration.pledgee.tree_path.startswith(organisation.tree_path)
    )


def _notices() -> ModuleType | None:
    try:
        return importlib.import_module("ipledge.registration.notices")
    except ImportError:
        return None


def _registration_context(
    request: AuthenticatedRequest,
    registration: PledgeRegistration,
    form: CancellationForm | None = None,
    change_form: ChangeForm | None = None,
) -> dict[str, Any]:
    user = request.user
    follow_ups = filing_list(user=user).filter(registration=registration).order_by("-created_at")
    open_cancellation = follow_ups.filter(
        filing_type=FilingType.CANCELLATION, status__in=list(OPEN_FILING_STATUSES)
    ).exists()
    open_follow_up = follow_ups.filter(
        filing_type__in=[FilingType.CHANGE, FilingType.CANCELLATION], status__in=list(OPEN_FILING_STATUSES)
    ).exists()
    pledgee_may_act = (
        registration.status == RegistrationStatus.ACTIVE
        and _is_pledgee(user, registration)
        and _may(user, Action.CHANGE)
    )
    return {
        "registration": registration,
        "rights": list(registration.pledged_rights.select_related("ip_right").order_by("ip_right__kind", "pk")),
        "filing": filing_list(user=user).filter(pk=registration.filing_id).first(),
        "follow_ups": list(follow_ups),
        "can_cancel": (
            registration.status == RegistrationStatus.ACTIVE
            and not open_cancellation
            and _is_pledgee(user, registration)
            and _may(user, Action.CHANGE)
        ),
        "cancellation_form": form or CancellationForm(),
        "can_change": pledgee_may_act and (not open_follow_up or change_form is not None),
        "change_form": change_form or ChangeForm(),
        "has_notice": _notices() is not None,
    }


def registration_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    registration = scoped_get(PledgeRegistration, user=request.user, pk=pk)
    return render(request, "registration/registration_detail.html", _registration_context(request, registration))


@require_POST
def registration_cancel(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    registration = scoped_get(PledgeRegistration, user=user, pk=pk, action=Action.CHANGE)
    if not _is_pledgee(user, registration):
        raise Http404
    form = CancellationForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                filing = cancellation_file(
                    registration=registration, reason=form.cleaned_data["reason"], acting_user=user
                )
        except PermissionDenied as exc:
            raise Http404 from exc
        except ValidationError as exc:
            _attach_service_errors(form, exc, {"cancellation_reason": "reason"})
        else:
            messages.success(request, _("注销登记申请 #%(pk)s 已提交登记机关审查。") % {"pk": filing.pk})
            return redirect("registration:filing_detail", filing.pk)
    return render(request, "registration/registration_detail.html", _registration_context(request, registration, form))


@require_POST
def registration_change(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The pledgee files a change (变更登记); the change agreement is then uploaded to the new filing."""
    user = request.user
    registration = scoped_get(PledgeRegistration, user=user, pk=pk, action=Action.CHANGE)
    if not _is_pledgee(user, registration):
        raise Http404
    form = ChangeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                filing = change_file(
                    registration=registration,
                    acting_user=user,
                    claim_amount=Money(data["claim_amount"]) if data.get("claim_amount") is not None else None,
                    performance_end=data.get("performance_end"),
                    change_description=data["change_description"],
                )
        except PermissionDenied as exc:
            raise Http404 from exc
        except ValidationError as exc:
            _attach_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("变更登记申请 #%(pk)s 已提交登记机关审查，请上传变更协议。") % {"pk": filing.pk},
            )
            return redirect("registration:filing_detail", filing.pk)
    return render(
        request,
        "registration/registration_detail.html",
        _registration_context(request, registration, change_form=form),
    )


@require_GET
def registration_notice(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    registration = scoped_get(PledgeRegistration, user=request.user, pk=pk)
    notices = _notices()
    if notices is None:
        raise Http404
    content = notices.registration_notice_docx(registration)
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    response["Content-Disposition"] = f'attachment; filename="{registration.registration_no}.docx"'
    response["Cache-Control"] = "private, no-store"
    return response


# Public announcement query


@login_not_required
@require_GET
def public_query(request: HttpRequest) -> HttpResponse:
    form = PublicQueryForm(request.GET or None)
    results: list[dict[str, Any]] | None = None
    if form.is_valid():
        results = public_registration_lookup(number=form.cleaned_data["number"])
        kinds = dict(IPKind.choices)
        statuses = {**dict(RegistrationStatus.choices), "released": _("已解除")}
        for row in results:
            row["right_kind_label"] = kinds.get(row["right_kind"], row["right_kind"])
            row["status_label"] = statuses.get(row["status"], row["status"])
    return render(request, "registration/public_query.html", {"form": form, "results": results})


# Collateral monitoring: the alert inbox and the T4 turnaround figures (`ipledge.registration.monitoring`)

FIGURE_KINDS = frozenset({OrganisationKind.IP_OFFICE, OrganisationKind.FINANCIAL_REGULATOR})


def _monitoring() -> ModuleType | None:
    """The monitoring module, looked up at call time; None while it is missing (the pages then answer 404)."""
    try:
        return importlib.import_module("ipledge.registration.monitoring")
    except ImportError:
        return None


def may_see_figures(user: Any) -> bool:
    scope = scope_for(user)
    return scope is not None and (scope.is_platform or scope.kind in FIGURE_KINDS) and scope.may(Action.VIEW)


def alerts_view(request: AuthenticatedRequest) -> HttpResponse:
    monitoring = _monitoring()
    if monitoring is None:
        raise Http404
    user = request.user
    alerts = monitoring.alert_list(user=user)
    show = request.GET.get("show", "unread")
    if show != "all":
        alerts = alerts.filter(read_at__isnull=True)
    table = _paged(request, AlertTable(alerts, can_mark=_may(user, Action.CHANGE)))
    unread = monitoring.alert_list(user=user).filter(read_at__isnull=True).count()
    return render(request, "registration/alerts.html", {"table": table, "show": show, "unread": unread})


@require_POST
def alert_read(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    monitoring = _monitoring()
    if monitoring is None:
        raise Http404
    alert = scoped_get(Alert, user=request.user, pk=pk, action=Action.CHANGE)
    try:
        monitoring.alert_mark_read(alert=alert, acting_user=request.user)
    except PermissionDenied as exc:
        raise Http404 from exc
    messages.success(request, _("提醒已标为已读。"))
    return redirect("registration:alerts")


def figures_view(request: AuthenticatedRequest) -> HttpResponse:
    monitoring = _monitoring()
    user = request.user
    if monitoring is None or not may_see_figures(user):
        raise Http404
    today = business_date()
    form = FiguresForm(request.GET or {"date_from": today.replace(month=1, day=1), "date_to": today})
    rows = None
    if form.is_valid():
        rows = monitoring.turnaround_figures(
            user=user, date_from=form.cleaned_data["date_from"], date_to=form.cleaned_data["date_to"]
        )
    return render(request, "registration/figures.html", {"form": form, "rows": rows})


# Examination calendar (节假日安排): public to read, kept by national and provincial IP office administrators


def calendar_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    scope = scope_for(user)
    if scope is None or not (scope.is_platform or scope.kind == OrganisationKind.IP_OFFICE):
        raise Http404
    may_edit = CalendarDay.scope_q(scope, Action.ADD) is not None and scope.may(Action.ADD)
    form = CalendarDayForm()
    if request.method == "POST":
        if not may_edit:
            raise Http404
        form = CalendarDayForm(request.POST)
        if form.is_valid():
            try:
                calendar_day_set(acting_user=user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("已保存 %(day)s。") % {"day": form.cleaned_data["day"]})
                return redirect(f"{reverse('registration:calendar')}?year={form.cleaned_data['day'].year}")
    try:
        year = int(request.GET.get("year", "") or business_date().year)
    except ValueError:
        year = business_date().year
    days = CalendarDay.objects.restrict(user, Action.VIEW).filter(day__year=year)
    years = sorted({d.year for d in CalendarDay.objects.restrict(user, Action.VIEW).dates("day", "year")})
    return render(
        request,
        "registration/calendar.html",
        {"days": days, "year": year, "years": years, "form": form, "may_edit": may_edit},
    )


@require_POST
def calendar_remove(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    calendar_day = scoped_get(CalendarDay, user=request.user, pk=pk, action=Action.DELETE)
    try:
        calendar_day_remove(calendar_day=calendar_day, acting_user=request.user)
    except PermissionDenied as exc:
        raise Http404 from exc
    messages.success(request, _("已删除 %(day)s。") % {"day": calendar_day.day})
    return redirect(f"{reverse('registration:calendar')}?year={calendar_day.day.year}")


# Bulk filing (集中代办): a whole .xlsx validated first, then every filing or none (`ipledge.registration.bulk`)

BULK_ERRORS_SHOWN = 100
BULK_WORKBOOK_MAX_BYTES = 5 * 1024 * 1024
BULK_SESSION_KEY = "registration_bulk_errors"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _bulk() -> ModuleType | None:
    try:
        return importlib.import_module("ipledge.registration.bulk")
    except ImportError:
        return None


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    from urllib.parse import quote

    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def bulk_filing_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    bulk = _bulk()
    if not may_file(user) or bulk is None:
        raise Http404
    form = BulkFilingForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = bulk.bulk_file(filename=upload.name, content=upload.read(), acting_user=user)
        except PermissionDenied as exc:
            raise Http404 from exc
        context["result"] = result
        if result.ok:
            context["filings"] = list(filing_list(user=user).filter(pk__in=result.filing_ids).order_by("pk"))
            messages.success(request, _("已提交 %(n)s 件质押登记申请，等待出质人确认。") % {"n": result.created})
        else:
            context["errors"] = list(result.errors[:BULK_ERRORS_SHOWN])
            context["error_count"] = len(result.errors)
            workbook = bulk.bulk_errors_workbook(result)
            if len(workbook) <= BULK_WORKBOOK_MAX_BYTES:
                token = secrets.token_urlsafe(16)
                # One error workbook per session: a new upload replaces the last one.
                request.session[BULK_SESSION_KEY] = {
                    "token": token,
                    "data": base64.b64encode(workbook).decode("ascii"),
                }
                context["error_token"] = token
    return render(request, "registration/bulk_filing.html", context)


@require_GET
def bulk_template_view(request: AuthenticatedRequest) -> HttpResponse:
    bulk = _bulk()
    if not may_file(request.user) or bulk is None:
        raise Http404
    return _xlsx_response(bulk.bulk_template(), "质押登记集中代办模板.xlsx")


@require_GET
def bulk_errors_view(request: AuthenticatedRequest, token: str) -> HttpResponse:
    if not may_file(request.user):
        raise Http404
    stored = request.session.get(BULK_SESSION_KEY)
    if not stored or not secrets.compare_digest(str(stored.get("token", "")), token):
        raise Http404
    return _xlsx_response(base64.b64decode(stored["data"]), "质押登记集中代办错误清单.xlsx")
