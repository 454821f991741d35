"""Matchmaking-event pages (银企对接活动): the list (upcoming and past, for everyone signed in), create / edit for
organisers, the event page (theme, date, place, slots with times, registration for banks and enterprises, the
participants for the organiser), the schedule (the organiser's grid of slots × bank desks with propose / add /
cancel; a bank's grid of its own desks; an enterprise's agenda), the outcome form, the report and the xlsx export.

Views are thin: reads start from `restrict()` (an event another organiser runs answers 404 on its edit pages), each
write runs one service of `ipledge.market.services.events`, a `ValidationError` is shown next to the field it names
(or as a message on POST-only actions), and a `PermissionDenied` answers 403.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from ipledge.core.choices import OrganisationKind
from ipledge.core.forms import attach_errors
from ipledge.core.scoping import Action, scope_for
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest
from ipledge.registry.models import Park

from .. import selectors_events as selectors
from ..choices import EventStatus, MeetingStatus, ParticipantKind
from ..export_events import XLSX, event_workbook, export_filename
from ..forms_events import (
    BankRegistrationForm,
    EnterpriseRegistrationForm,
    EventFilterForm,
    EventForm,
    MeetingAddForm,
    OutcomeForm,
    money_or_none,
)
from ..models import EventParticipant, MatchmakingEvent, Meeting
from ..services import events as services
from ..tables_events import EventTable, ParticipantTable, event_badge

PER_PAGE = 25


def _messages_from(request: AuthenticatedRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _organiser_parks(user: Any) -> Any:
    """Parks an organiser may hold an event at: a park administration's own parks, an IP office's region's."""
    scope = scope_for(user)
    parks = Park.objects.select_related("region").order_by("name")
    if scope is None or scope.is_platform:
        return parks
    if scope.kind == OrganisationKind.PARK_ADMIN:
        return parks.filter(administering_org__tree_path__startswith=scope.org_tree_path)
    if scope.region_prefix is None:
        return parks.none()
    return parks.filter(region__code__startswith=scope.region_prefix)


# ---------------------------------------------------------------------------
# List, create, edit
# ---------------------------------------------------------------------------


@require_GET
def event_list(request: AuthenticatedRequest) -> HttpResponse:
    """Upcoming events (soonest first) and past ones (latest first); the filter narrows to one of them or a status."""
    user = request.user
    form = EventFilterForm(request.GET or None)
    when, status = form.values()
    tables_shown = []
    if when == "all":
        table = EventTable(selectors.event_list(user=user, status=status).order_by("-event_date", "-pk"))
        RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
        tables_shown.append({"key": "all", "title": _("全部活动"), "table": table})
    for key, title in (("upcoming", _("即将举办")), ("past", _("往期活动"))):
        if when in (key, ""):
            table = EventTable(selectors.event_list(user=user, when=key, status=status), prefix=f"{key}-")
            RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
            tables_shown.append({"key": key, "title": title, "table": table})
    return render(
        request,
        "market/events/event_list.html",
        {"tables": tables_shown, "filter": {"form": form}, "can_create": services.may_organise(user)},
    )


def _event_values(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": d["title"],
        "theme": d.get("theme") or "",
        "description": d.get("description") or "",
        "park": d.get("park"),
        "place": d["place"],
        "event_date": d["event_date"],
        "starts_at": d["starts_at"],
        "slot_minutes": d["slot_minutes"],
        "slot_count": d["slot_count"],
        "registration_closes_on": d["registration_closes_on"],
    }


def event_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not services.may_organise(user):
        raise Http404
    form = EventForm(request.POST or None, parks=_organiser_parks(user))
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                event = services.event_create(acting_user=user, **_event_values(form.cleaned_data))
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("活动“%(title)s”已发布，开始报名。") % {"title": event.title})
            return redirect("market:event_detail", event.pk)
    return render(request, "market/events/event_form.html", {"form": form, "event": None})


def event_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    event = scoped_get(MatchmakingEvent, user=user, pk=pk, action=Action.CHANGE)
    form = EventForm(request.POST or None, parks=_organiser_parks(user), initial=EventForm.initial_from(event))
    if request.method == "POST" and form.is_valid():
        values = _event_values(form.cleaned_data)
        changed = {k: v for k, v in values.items() if getattr(event, k) != v}
        try:
            with transaction.atomic():
                services.event_update(event=event, data=changed, acting_user=user)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("活动信息已更新。"))
            return redirect("market:event_detail", event.pk)
    return render(request, "market/events/event_form.html", {"form": form, "event": event})


@require_POST
def event_cancel(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = scoped_get(MatchmakingEvent, user=request.user, pk=pk, action=Action.CHANGE)
    try:
        with transaction.atomic():
            services.event_cancel(event=event, note=request.POST.get("note", ""), acting_user=request.user)
    except ValidationError as exc:
        _messages_from(request, exc)
    else:
        messages.success(request, _("活动已取消，未举行的洽谈已一并取消。"))
    return redirect("market:event_detail", event.pk)


@require_POST
def event_mark_held(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = scoped_get(MatchmakingEvent, user=request.user, pk=pk, action=Action.CHANGE)
    try:
        with transaction.atomic():
            services.event_mark_held(event=event, acting_user=request.user)
    except ValidationError as exc:
        _messages_from(request, exc)
    else:
        messages.success(request, _("活动已标记为已举办。"))
    return redirect("market:event_detail", event.pk)


# ---------------------------------------------------------------------------
# The event page and registration
# ---------------------------------------------------------------------------


def _slots(event: MatchmakingEvent) -> list[dict[str, Any]]:
    return [
        {"number": n, "start": event.slot_start(n), "end": selectors.slot_end(event, n)}
        for n in range(1, event.slot_count + 1)
    ]


def _registration_forms(
    request: AuthenticatedRequest,
    event: MatchmakingEvent,
    bank_form: BankRegistrationForm | None = None,
    enterprise_form: EnterpriseRegistrationForm | None = None,
) -> dict[str, Any]:
    user = request.user
    open_now = selectors.upcoming_status_label(event) == "open"
    scope = scope_for(user)
    if not open_now or scope is None or not scope.may(Action.ADD):
        return {"bank_form": None, "enterprise_form": None, "registration_open": open_now}
    banks = selectors.registrable_organisations(user=user, event=event, kind=ParticipantKind.BANK)
    enterprises = selectors.registrable_organisations(user=user, event=event, kind=ParticipantKind.ENTERPRISE)
    if bank_form is None and banks.exists():
        bank_form = BankRegistrationForm(organisations=banks)
    if enterprise_form is None and enterprises.exists():
        # The organiser picks the enterprise first; htmx then reloads the demand choices of that enterprise.
        picked = enterprises.filter(pk=request.GET.get("enterprise-organisation") or 0).first()
        own = picked or (enterprises.first() if enterprises.count() == 1 else None)
        enterprise_form = EnterpriseRegistrationForm(
            organisations=enterprises,
            demands=selectors.enterprise_demands(user=user, organisation=own),
            initial={"organisation": own},
        )
    if enterprise_form is not None:
        enterprise_form.fields["organisation"].widget.attrs.update(
            {
                "hx-get": reverse("market:event_detail", args=[event.pk]),
                "hx-trigger": "change",
                "hx-target": "#event-demand-field",
                "hx-select": "#event-demand-field",
                "hx-swap": "outerHTML",
            }
        )
    return {"bank_form": bank_form, "enterprise_form": enterprise_form, "registration_open": open_now}


def _detail_context(request: AuthenticatedRequest, event: MatchmakingEvent, **forms: Any) -> dict[str, Any]:
    user = request.user
    organiser = services.is_organiser(user, event)
    context: dict[str, Any] = {
        "event": event,
        "badge": event_badge(event),
        "slots": _slots(event),
        "is_organiser": organiser,
        "own": selectors.own_participations(user=user, event=event),
        "may_withdraw": event.status in services.ACTIVE_EVENT_STATUSES,
        "participants": None,
        "meeting_count": selectors.meetings(user=user, event=event).count(),
    }
    if organiser or selectors.reads_as_organiser(user, event):
        table = ParticipantTable(selectors.participants(user=user, event=event))
        table.may_withdraw = organiser and event.status in services.ACTIVE_EVENT_STATUSES  # type: ignore[attr-defined]
        RequestConfig(request, paginate={"per_page": 100}).configure(table)
        context["participants"] = table
    context.update(_registration_forms(request, event, **forms))
    return context


@require_GET
def event_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = selectors.event_get(user=request.user, pk=pk)
    return render(request, "market/events/event_detail.html", _detail_context(request, event))


@require_POST
def register_bank(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    event = selectors.event_get(user=user, pk=pk)
    form = BankRegistrationForm(
        request.POST,
        organisations=selectors.registrable_organisations(user=user, event=event, kind=ParticipantKind.BANK),
    )
    if form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                services.participant_register(
                    event=event,
                    organisation=d["organisation"],
                    desks=d["desks"],
                    contact_name=d.get("contact_name") or "",
                    acting_user=user,
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("“%(name)s”已报名本次活动。") % {"name": d["organisation"].name})
            return redirect("market:event_detail", event.pk)
    return render(request, "market/events/event_detail.html", _detail_context(request, event, bank_form=form))


@require_POST
def register_enterprise(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    event = selectors.event_get(user=user, pk=pk)
    organisations = selectors.registrable_organisations(user=user, event=event, kind=ParticipantKind.ENTERPRISE)
    chosen = organisations.filter(pk=request.POST.get("enterprise-organisation") or 0).first()
    form = EnterpriseRegistrationForm(
        request.POST,
        organisations=organisations,
        demands=selectors.enterprise_demands(user=user, organisation=chosen),
    )
    if form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                services.participant_register(
                    event=event,
                    organisation=d["organisation"],
                    demand=d.get("demand"),
                    contact_name=d.get("contact_name") or "",
                    acting_user=user,
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("“%(name)s”已报名本次活动。") % {"name": d["organisation"].name})
            return redirect("market:event_detail", event.pk)
    return render(request, "market/events/event_detail.html", _detail_context(request, event, enterprise_form=form))


@require_POST
def participant_withdraw(request: AuthenticatedRequest, pk: int, participant_pk: int) -> HttpResponse:
    participant = scoped_get(EventParticipant, user=request.user, pk=participant_pk, action=Action.CHANGE)
    if participant.event_id != pk:
        raise Http404
    try:
        with transaction.atomic():
            services.participant_withdraw(participant=participant, acting_user=request.user)
    except ValidationError as exc:
        _messages_from(request, exc)
    else:
        messages.success(
            request, _("“%(name)s”已退出本次活动，其洽谈安排已取消。") % {"name": participant.organisation.name}
        )
    return redirect("market:event_detail", pk)


# ---------------------------------------------------------------------------
# The schedule
# ---------------------------------------------------------------------------


def _add_form(event: MatchmakingEvent, data: Any = None) -> MeetingAddForm:
    active = EventParticipant.objects.filter(event=event, withdrawn_at__isnull=True).select_related("organisation")
    return MeetingAddForm(
        data,
        event=event,
        banks=active.filter(kind=ParticipantKind.BANK).order_by("organisation__name"),
        enterprises=active.filter(kind=ParticipantKind.ENTERPRISE).order_by("organisation__name"),
    )


def _schedule_context(
    request: AuthenticatedRequest, event: MatchmakingEvent, add_form: MeetingAddForm | None = None
) -> dict[str, Any]:
    user = request.user
    organiser = services.is_organiser(user, event)
    editable = organiser and event.status in services.ACTIVE_EVENT_STATUSES
    own = selectors.own_participations(user=user, event=event)
    agendas = [{"participant": p, "items": selectors.agenda(user=user, event=event, participant=p)} for p in own]
    changeable = set(Meeting.objects.restrict(user, Action.CHANGE).filter(event=event).values_list("pk", flat=True))
    from ipledge.core.context import business_date

    return {
        "event": event,
        "badge": event_badge(event),
        "grid": selectors.schedule_grid(user=user, event=event),
        "is_organiser": organiser,
        "editable": editable,
        "add_form": (add_form or _add_form(event)) if editable else None,
        "agendas": agendas,
        "changeable": changeable,
        "may_record": event.status != EventStatus.CANCELLED and business_date() >= event.event_date,
        "proposal": request.session.pop(f"market-proposal-{event.pk}", None),
    }


@require_GET
def schedule(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = selectors.event_get(user=request.user, pk=pk)
    return render(request, "market/events/schedule.html", _schedule_context(request, event))


@require_POST
def propose(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = scoped_get(MatchmakingEvent, user=request.user, pk=pk, action=Action.CHANGE)
    raw_cap = (request.POST.get("max_per_enterprise") or "").strip()
    cap = int(raw_cap) if raw_cap.isdigit() else None
    if raw_cap and cap is None:
        messages.error(request, _("每家企业洽谈上限须为正整数。"))
        return redirect("market:event_schedule", event.pk)
    try:
        with transaction.atomic():
            result = services.meetings_propose(event=event, acting_user=request.user, max_per_enterprise=cap)
    except ValidationError as exc:
        _messages_from(request, exc)
    else:
        messages.success(
            request,
            _("已安排 %(created)s 场洽谈（保留原有 %(kept)s 场）。")
            % {"created": len(result.created), "kept": result.kept},
        )
        request.session[f"market-proposal-{event.pk}"] = [
            {
                "bank": x.bank.organisation.name,
                "enterprise": x.enterprise.organisation.name,
                "score": f"{x.score:.2f}",
                "reason": x.reason,
            }
            for x in result.left_out
        ]
    return redirect("market:event_schedule", event.pk)


@require_POST
def meeting_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    event = scoped_get(MatchmakingEvent, user=user, pk=pk, action=Action.CHANGE)
    form = _add_form(event, request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                meeting = services.meeting_add(
                    event=event,
                    bank_participant=d["bank_participant"],
                    enterprise_participant=d["enterprise_participant"],
                    slot=d["slot"],
                    desk=d["desk"],
                    acting_user=user,
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(
                request,
                _("已安排第%(slot)s场（%(time)s）%(desk)s号洽谈台。")
                % {
                    "slot": meeting.slot,
                    "time": event.slot_start(meeting.slot).strftime("%H:%M"),
                    "desk": meeting.desk,
                },
            )
            return redirect("market:event_schedule", event.pk)
    event = selectors.event_get(user=user, pk=pk)
    return render(request, "market/events/schedule.html", _schedule_context(request, event, form), status=200)


def _meeting(request: AuthenticatedRequest, pk: int, meeting_pk: int, action: str = Action.VIEW) -> Meeting:
    event = selectors.event_get(user=request.user, pk=pk)
    return selectors.meeting_get(user=request.user, event=event, pk=meeting_pk, action=action)


@require_POST
def meeting_cancel(request: AuthenticatedRequest, pk: int, meeting_pk: int) -> HttpResponse:
    meeting = _meeting(request, pk, meeting_pk)
    try:
        with transaction.atomic():
            services.meeting_cancel(meeting=meeting, note=request.POST.get("note", ""), acting_user=request.user)
    except ValidationError as exc:
        _messages_from(request, exc)
    else:
        messages.success(request, _("洽谈已取消，该场次洽谈台已空出。"))
    return redirect("market:event_schedule", pk)


def meeting_outcome(request: AuthenticatedRequest, pk: int, meeting_pk: int) -> HttpResponse:
    """The bank of the meeting (or the organiser) records whether it was held and its outcome."""
    user = request.user
    meeting = _meeting(request, pk, meeting_pk)
    if not Meeting.objects.restrict(user, Action.CHANGE).filter(pk=meeting.pk).exists():
        raise PermissionDenied
    loans = selectors.loan_choices(user=user, meeting=meeting)
    initial = {
        "status": meeting.status if meeting.status in (MeetingStatus.HELD, MeetingStatus.NO_SHOW) else "held",
        "outcome": meeting.outcome,
        "intended_amount": meeting.intended_amount.amount if meeting.intended_amount is not None else None,
        "follow_up_on": meeting.follow_up_on,
        "loan": meeting.loan_id,
        "note": meeting.outcome_note,
    }
    form = OutcomeForm(request.POST or None, loans=loans, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                services.meeting_record_outcome(
                    meeting=meeting,
                    status=d["status"],
                    outcome=d.get("outcome") or "",
                    intended_amount=money_or_none(d.get("intended_amount")),
                    follow_up_on=d.get("follow_up_on"),
                    loan=d.get("loan"),
                    note=d.get("note") or "",
                    acting_user=user,
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("洽谈结果已记录。"))
            return redirect("market:event_schedule", pk)
    return render(
        request,
        "market/events/outcome_form.html",
        {
            "form": form,
            "meeting": meeting,
            "event": meeting.event,
            "start": meeting.event.slot_start(meeting.slot),
        },
    )


# ---------------------------------------------------------------------------
# Report and export
# ---------------------------------------------------------------------------


@require_GET
def report(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    event = selectors.event_get(user=user, pk=pk)
    figures = selectors.event_report(user=user, event=event)
    chart = {
        "outcomes": {
            "name": _("洽谈数"),
            "labels": [o.label for o in figures.outcomes],
            "values": [o.meetings for o in figures.outcomes],
        }
    }
    return render(
        request,
        "market/events/report.html",
        {
            "event": event,
            "badge": event_badge(event),
            "report": figures,
            "chart": chart if any(chart["outcomes"]["values"]) else None,
            "is_organiser": selectors.reads_as_organiser(user, event),
        },
    )


@require_GET
def export(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = selectors.event_get(user=request.user, pk=pk)
    content = event_workbook(event, selectors.meetings(user=request.user, event=event))
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(export_filename(event))}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


urlpatterns = [
    path("events/", event_list, name="event_list"),
    path("events/new/", event_create, name="event_create"),
    path("events/<int:pk>/", event_detail, name="event_detail"),
    path("events/<int:pk>/edit/", event_edit, name="event_edit"),
    path("events/<int:pk>/cancel/", event_cancel, name="event_cancel"),
    path("events/<int:pk>/held/", event_mark_held, name="event_mark_held"),
    path("events/<int:pk>/register/bank/", register_bank, name="event_register_bank"),
    path("events/<int:pk>/register/enterprise/", register_enterprise, name="event_register_enterprise"),
    path(
        "events/<int:pk>/participants/<int:participant_pk>/withdraw/",
        participant_withdraw,
        name="event_participant_withdraw",
    ),
    path("events/<int:pk>/schedule/", schedule, name="event_schedule"),
    path("events/<int:pk>/propose/", propose, name="event_propose"),
    path("events/<int:pk>/meetings/add/", meeting_add, name="event_meeting_add"),
    path("events/<int:pk>/meetings/<int:meeting_pk>/cancel/", meeting_cancel, name="event_meeting_cancel"),
    path("events/<int:pk>/meetings/<int:meeting_pk>/outcome/", meeting_outcome, name="event_meeting_outcome"),
    path("events/<int:pk>/report/", report, name="event_report"),
    path("events/<int:pk>/export.xlsx", export, name="event_export"),
]
