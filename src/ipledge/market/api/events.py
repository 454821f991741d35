"""Matchmaking-events API (银企对接活动, S6): events (announced to everyone; organisers create, change, cancel and
close them), registration and withdrawal, participants, the proposal of meetings from matches, meetings (list, add
by hand, cancel, record the outcome), the report as JSON and the schedule with outcomes as xlsx.

Conventions as in the screening APIs: reads start from `restrict(user, "view")` (another bank's or enterprise's
meetings answer 404 like missing ones); references in a body are resolved within the caller's reach (else 400
`not_found` naming the field); the services decide who may act (their `PermissionDenied` answers 403, their
`ValidationError` 400 naming the field and the rule, e.g. `desk_busy`, `enterprise_busy`, `registration_closed`).
The organiser's operations (change, cancel, close, propose, book) answer 403 to a role or organisation kind that never
organises events and 404 for an event another organiser runs, as the pages do.
"""

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Status
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
    resolve,
)
from ipledge.core.money import Money
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.registry.models import Park

from .. import selectors_events as selectors
from ..export_events import XLSX, event_workbook, export_filename
from ..models import Demand, EventParticipant, Match, MatchmakingEvent, Meeting
from ..schemas_events import (
    MarketEventFilter,
    MarketEventIn,
    MarketEventMeetingIn,
    MarketEventMeetingOut,
    MarketEventNoteIn,
    MarketEventOut,
    MarketEventOutcomeIn,
    MarketEventParticipantOut,
    MarketEventPatch,
    MarketEventProposalOut,
    MarketEventProposeIn,
    MarketEventRegisterIn,
    MarketEventReportOut,
)
from ..services import events as services

router = Router(tags=["market"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)
READ_ERRORS = error_responses(403, 404)
EventId = Path(..., ge=1, le=MAX_ID)
ParticipantId = Path(..., ge=1, le=MAX_ID)
MeetingId = Path(..., ge=1, le=MAX_ID)

_EVENT_FIELDS = {"park": "park_id", "organiser": "organiser_id"}


def _event(user: Any, event_id: int, action: str = Action.VIEW) -> MatchmakingEvent:
    """The event (everyone signed in sees it). For the organiser's operations (`action=change`): 403 for a role or
    organisation kind that never organises, 404 for an event another organiser runs."""
    require(user, MatchmakingEvent, action)
    scoped_get(MatchmakingEvent, user=user, pk=event_id, action=action)
    return selectors.event_list(user=user).get(pk=event_id)


def _meeting(user: Any, event: MatchmakingEvent, meeting_id: int) -> Meeting:
    meeting = selectors.meetings(user=user, event=event, include_cancelled=True).filter(pk=meeting_id).first()
    if meeting is None:
        from django.http import Http404

        raise Http404(Meeting._meta.verbose_name)
    return meeting


def _park(user: Any, park_id: int | None) -> Park | None:
    if park_id is None:
        return None
    return resolve(Park, user=user, action=Action.VIEW, field="park_id", pk=park_id)


# ---------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------


@router.get(
    "/market/events",
    response={200: list[MarketEventOut], **error_responses(403)},
    summary="Matchmaking events (银企对接活动), announced to everyone signed in; upcoming or past",
)
@paginate(Paginated)
def event_list(request: HttpRequest, filters: Query[MarketEventFilter]) -> QuerySet[MatchmakingEvent]:
    user = caller(request)
    require(user, MatchmakingEvent, Action.VIEW)
    status = str(filters.status) if filters.status is not None else ""
    qs = selectors.event_list(user=user, when=filters.when or "", status=status)
    if not filters.when:
        qs = qs.order_by("-event_date", "-pk")
    return qs


@router.post(
    "/market/events",
    response={201: MarketEventOut, **WRITE_ERRORS},
    summary="An IP office or park administration announces an event (date, place, theme, slots); it opens for "
    "registration at once",
)
def event_create(request: HttpRequest, payload: MarketEventIn) -> Status[MatchmakingEvent]:
    user = caller(request)
    require(user, MatchmakingEvent, Action.ADD)
    organiser = organisation_or_400(payload.organiser_id, "organiser_id", "主办机构", "Organiser")
    try:
        event = services.event_create(
            title=payload.title,
            theme=payload.theme,
            description=payload.description,
            park=_park(user, payload.park_id),
            place=payload.place,
            event_date=payload.event_date,
            starts_at=payload.starts_at,
            slot_minutes=payload.slot_minutes,
            slot_count=payload.slot_count,
            registration_closes_on=payload.registration_closes_on,
            organiser=organiser,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, _EVENT_FIELDS) from exc
    return Status(201, _event(user, event.pk))


@router.get("/market/events/{event_id}", response={200: MarketEventOut, **READ_ERRORS}, summary="One event")
def event_detail(request: HttpRequest, event_id: int = EventId) -> MatchmakingEvent:
    return _event(caller(request), event_id)


@router.patch(
    "/market/events/{event_id}",
    response={200: MarketEventOut, **WRITE_ERRORS},
    summary="The organiser changes an open or scheduled event (fields sent are changed; slots cannot shrink below "
    "a booked meeting)",
)
def event_update(request: HttpRequest, payload: MarketEventPatch, event_id: int = EventId) -> MatchmakingEvent:
    user = caller(request)
    event = _event(user, event_id, Action.CHANGE)
    data: dict[str, Any] = payload.model_dump(exclude_unset=True)
    if "park_id" in data:
        data["park"] = _park(user, data.pop("park_id"))
    for name in ("title", "place"):
        if name in data and data[name] is None:
            raise ApiError(400, "required", "不能为空。", "May not be null.", field=name)
    try:
        services.event_update(event=event, data=data, acting_user=user)
    except ValidationError as exc:
        raise renamed_fields(exc, _EVENT_FIELDS) from exc
    return _event(user, event_id)


@router.post(
    "/market/events/{event_id}/cancel",
    response={200: MarketEventOut, **WRITE_ERRORS},
    summary="The organiser calls an open or scheduled event off (its meetings not yet held are cancelled)",
)
def event_cancel(request: HttpRequest, payload: MarketEventNoteIn, event_id: int = EventId) -> MatchmakingEvent:
    user = caller(request)
    event = _event(user, event_id, Action.CHANGE)
    services.event_cancel(event=event, note=payload.note, acting_user=user)
    return _event(user, event_id)


@router.post(
    "/market/events/{event_id}/held",
    response={200: MarketEventOut, **WRITE_ERRORS},
    summary="The organiser marks a scheduled event held (on or after its day)",
)
def event_mark_held(request: HttpRequest, event_id: int = EventId) -> MatchmakingEvent:
    user = caller(request)
    event = _event(user, event_id, Action.CHANGE)
    services.event_mark_held(event=event, acting_user=user)
    return _event(user, event_id)


# ---------------------------------------------------------------------------
# Participants
# ---------------------------------------------------------------------------


@router.get(
    "/market/events/{event_id}/participants",
    response={200: list[MarketEventParticipantOut], **READ_ERRORS},
    summary="Registrations you may see: the organiser every one; a bank its own tree's and the enterprises it "
    "meets; an enterprise its own",
)
@paginate(Paginated)
def participant_list(request: HttpRequest, event_id: int = EventId) -> QuerySet[EventParticipant]:
    user = caller(request)
    event = _event(user, event_id)
    return selectors.participants(user=user, event=event)


@router.post(
    "/market/events/{event_id}/participants",
    response={201: MarketEventParticipantOut, **WRITE_ERRORS},
    summary="Register a bank (with its desks, 1–20) or an enterprise (optionally naming an active demand) while "
    "registration is open",
)
def participant_register(
    request: HttpRequest, payload: MarketEventRegisterIn, event_id: int = EventId
) -> Status[EventParticipant]:
    user = caller(request)
    event = _event(user, event_id)
    require(user, EventParticipant, Action.ADD)
    organisation = organisation_or_400(payload.organisation_id, "organisation_id", "参会机构", "Organisation")
    if organisation is None:
        organisation = getattr(user, "organisation", None)
    if organisation is None:
        raise ApiError(
            400, "required", "请指定参会机构。", "Name the organisation (organisation_id).", field="organisation_id"
        )
    demand = None
    if payload.demand_id is not None:
        demand = resolve(
            Demand, user=user, action=Action.VIEW, field="demand_id", label_en="demand", pk=payload.demand_id
        )
    try:
        participant = services.participant_register(
            event=event,
            organisation=organisation,
            desks=payload.desks,
            contact_name=payload.contact_name,
            demand=demand,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(
            exc, {"organisation": "organisation_id", "demand": "demand_id", "event": "event_id"}
        ) from exc
    return Status(201, selectors.participants(user=user, event=event).get(pk=participant.pk))


@router.post(
    "/market/events/{event_id}/participants/{participant_id}/withdraw",
    response={200: MarketEventParticipantOut, **WRITE_ERRORS},
    summary="Withdraw a registration (yours, or any for the organiser); its meetings not yet held are cancelled",
)
def participant_withdraw(
    request: HttpRequest, event_id: int = EventId, participant_id: int = ParticipantId
) -> EventParticipant:
    user = caller(request)
    event = _event(user, event_id)
    participant = selectors.participants(user=user, event=event).filter(pk=participant_id).first()
    if participant is None:
        from django.http import Http404

        raise Http404(EventParticipant._meta.verbose_name)
    services.participant_withdraw(participant=participant, acting_user=user)
    return selectors.participants(user=user, event=event).get(pk=participant_id)


# ---------------------------------------------------------------------------
# Meetings
# ---------------------------------------------------------------------------


@router.post(
    "/market/events/{event_id}/propose",
    response={200: MarketEventProposalOut, **WRITE_ERRORS},
    summary="The organiser proposes one-to-one meetings from the eligible matches of the registered enterprises' "
    "demands and the registered banks' products, around the meetings already booked; the event is then scheduled",
)
def propose(request: HttpRequest, payload: MarketEventProposeIn, event_id: int = EventId) -> dict[str, Any]:
    user = caller(request)
    event = _event(user, event_id, Action.CHANGE)
    result = services.meetings_propose(event=event, acting_user=user, max_per_enterprise=payload.max_per_enterprise)
    created = {m.pk for m in result.created}
    return {
        "created": list(selectors.meetings(user=user, event=event).filter(pk__in=created)),
        "kept": result.kept,
        "candidates": result.candidates,
        "left_out": [
            {
                "bank_participant_id": x.bank.pk,
                "enterprise_participant_id": x.enterprise.pk,
                "score": f"{x.score:.2f}",
                "match_id": x.match_id,
                "reason": x.reason,
            }
            for x in result.left_out
        ],
    }


@router.get(
    "/market/events/{event_id}/meetings",
    response={200: list[MarketEventMeetingOut], **READ_ERRORS},
    summary="Meetings you may see, by slot: the organiser's whole schedule, a bank's own desks, an enterprise's own",
)
@paginate(Paginated)
def meeting_list(request: HttpRequest, event_id: int = EventId, include_cancelled: bool = False) -> QuerySet[Meeting]:
    user = caller(request)
    event = _event(user, event_id)
    return selectors.meetings(user=user, event=event, include_cancelled=include_cancelled)


@router.post(
    "/market/events/{event_id}/meetings",
    response={201: MarketEventMeetingOut, **WRITE_ERRORS},
    summary="The organiser books a meeting by hand at a slot and desk (a double booking answers 400 naming the slot "
    "and desk: desk_busy, enterprise_busy, pair_once)",
)
def meeting_add(request: HttpRequest, payload: MarketEventMeetingIn, event_id: int = EventId) -> Status[Meeting]:
    user = caller(request)
    event = _event(user, event_id, Action.CHANGE)
    reachable = EventParticipant.objects.restrict(user, Action.VIEW).filter(event=event)
    bank = reachable.filter(pk=payload.bank_participant_id).first()
    if bank is None:
        raise ApiError(
            400, "not_found", "参会银行不存在。", "Bank participant does not exist.", field="bank_participant_id"
        )
    enterprise = reachable.filter(pk=payload.enterprise_participant_id).first()
    if enterprise is None:
        raise ApiError(
            400,
            "not_found",
            "参会企业不存在。",
            "Enterprise participant does not exist.",
            field="enterprise_participant_id",
        )
    match = None
    if payload.match_id is not None:
        match = resolve(Match, user=user, action=Action.VIEW, field="match_id", label_en="match", pk=payload.match_id)
    meeting = services.meeting_add(
        event=event,
        bank_participant=bank,
        enterprise_participant=enterprise,
        slot=payload.slot,
        desk=payload.desk,
        match=match,
        acting_user=user,
    )
    return Status(201, _meeting(user, event, meeting.pk))


@router.post(
    "/market/events/{event_id}/meetings/{meeting_id}/cancel",
    response={200: MarketEventMeetingOut, **WRITE_ERRORS},
    summary="The organiser cancels a meeting not yet held (its slot and desk become free)",
)
def meeting_cancel(
    request: HttpRequest, payload: MarketEventNoteIn, event_id: int = EventId, meeting_id: int = MeetingId
) -> Meeting:
    user = caller(request)
    event = _event(user, event_id)
    meeting = _meeting(user, event, meeting_id)
    services.meeting_cancel(meeting=meeting, note=payload.note, acting_user=user)
    return _meeting(user, event, meeting_id)


@router.post(
    "/market/events/{event_id}/meetings/{meeting_id}/outcome",
    response={200: MarketEventMeetingOut, **WRITE_ERRORS},
    summary="The meeting's bank (or the organiser) records from the event day on whether it was held and its "
    "outcome: intent, follow-up (with its date), loan (a granted loan of the enterprise from the bank's tree; "
    "the enterprise's demand is marked financed when the caller may change it) or no interest",
)
def meeting_outcome(
    request: HttpRequest, payload: MarketEventOutcomeIn, event_id: int = EventId, meeting_id: int = MeetingId
) -> Meeting:
    from ipledge.lending.models import Loan

    user = caller(request)
    event = _event(user, event_id)
    meeting = _meeting(user, event, meeting_id)
    loan = None
    if payload.loan_id is not None:
        loan = resolve(Loan, user=user, action=Action.VIEW, field="loan_id", label_en="loan", pk=payload.loan_id)
    try:
        services.meeting_record_outcome(
            meeting=meeting,
            status=payload.status,
            outcome=str(payload.outcome),
            intended_amount=None if payload.intended_amount is None else Money(Decimal(payload.intended_amount)),
            follow_up_on=payload.follow_up_on,
            loan=loan,
            note=payload.note,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, {"loan": "loan_id"}) from exc
    return _meeting(user, event, meeting_id)


# ---------------------------------------------------------------------------
# Report and export
# ---------------------------------------------------------------------------


@router.get(
    "/market/events/{event_id}/report",
    response={200: MarketEventReportOut, **READ_ERRORS},
    summary="The event's report over what you may see: registrations, meetings held / no-show, outcomes by kind "
    "with intended amounts, loans and their amount (exact decimal strings)",
)
def report(request: HttpRequest, event_id: int = EventId) -> dict[str, Any]:
    user = caller(request)
    event = _event(user, event_id)
    return {"event_id": event.pk, **selectors.event_report(user=user, event=event).as_dict()}


@router.get(
    "/market/events/{event_id}/schedule.xlsx",
    response=READ_ERRORS,
    openapi_extra={
        "responses": {
            200: {
                "description": "The schedule and outcomes you may see as an Excel workbook (two sheets).",
                "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
    summary="The schedule and outcomes as an xlsx workbook",
)
def schedule_xlsx(request: HttpRequest, event_id: int = EventId) -> HttpResponse:
    user = caller(request)
    event = _event(user, event_id)
    response = HttpResponse(event_workbook(event, selectors.meetings(user=user, event=event)), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(export_filename(event))}"
    response["X-Content-Type-Options"] = "nosniff"
    return response
