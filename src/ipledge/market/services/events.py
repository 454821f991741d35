"""Bank-enterprise matchmaking events (银企对接活动): events, registrations, one-to-one meetings and their outcomes.

An IP office or a park administration organises an event (date, place, theme, a day of equal time slots). Banks
register with a number of desks (洽谈台, 1–20) and a contact; enterprises register, optionally naming one of their
active demands. The organiser proposes meetings: candidates are the eligible `Match` rows between each registered
enterprise's active demands (the named demand only, when it names one) and the live products of the registered
banks — a product of bank X, or of a bank below X in the organisation tree, counts for X (for the nearest registered
bank above it, when several are registered) — scored by the match score; the meetings already in the schedule stay
where they are and the engine (`market.engine.scheduling`) places the rest, so that no bank desk and no enterprise
is booked twice in a slot and each pair meets at most once. The organiser may also add a meeting by hand at a slot
and desk, or cancel one. After the event, the bank of a meeting (or the organiser) records whether it was held and
its outcome (intent, follow-up, loan, no interest); a loan outcome links the enterprise's loan and, when the
enterprise's demand is known, marks the demand financed (`services.demands.demand_link_loan`).

Lifecycle: open (报名中) → scheduled (已排期, meetings proposed) → held (已举办); open or scheduled → cancelled.

Rules decided here:
- Organisers are IP offices and park administrations; a park administration may hold an event only at a park it
  administers, an IP office only at a park within its region. The event date may not lie in the past; registration
  closes on or before the event date (and not before today when the event is created).
- Registration only while the event is open and until the day registration closes (inclusive), by an officer of the
  organisation (or of one above it) or by the organiser; a withdrawn organisation may register again.
- Withdrawing cancels the participant's meetings that have not taken place.
- No double booking is checked before writing (the error names the slot, the desk and who is busy) and again by the
  database's unique constraints: every write touching an event's schedule first locks the event row, and a unique
  violation that still happens (a concurrent writer) is reported the same way, never as a second booking.
- Outcomes are recorded from the event day on; a no-show has no outcome; a follow-up needs its date (not before the
  event); a loan must be a granted loan (approved or beyond) of the meeting's enterprise from the meeting's bank or a
  bank below it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import audited_create, audited_update, record_event
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date, business_now
from ipledge.core.models import Organisation, User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.models import Enterprise, Park

from ..choices import (
    ACTIVE_DEMAND_STATUSES,
    EventStatus,
    MeetingOutcome,
    MeetingStatus,
    ParticipantKind,
    ProductStatus,
)
from ..engine import scheduling
from ..models import Demand, EventParticipant, Match, MatchmakingEvent, Meeting

ORGANISER_KINDS = (OrganisationKind.IP_OFFICE, OrganisationKind.PARK_ADMIN)
MAX_DESKS = 20
MIN_SLOT_MINUTES, MAX_SLOT_MINUTES = 5, 240
MAX_SLOTS = 48
ACTIVE_EVENT_STATUSES = (EventStatus.OPEN, EventStatus.SCHEDULED)
# Meetings that occupy their slot (every status but cancelled).
LIVE_MEETING_STATUSES = (MeetingStatus.PROPOSED, MeetingStatus.HELD, MeetingStatus.NO_SHOW)
# Loan statuses that show money was granted: approved and beyond, never drafts, withdrawn or rejected applications.
_UNGRANTED_LOAN_STATUSES = (50, 100, 150, 180, 400, 500)

EVENT_FIELDS = (
    "title",
    "theme",
    "description",
    "park",
    "place",
    "event_date",
    "starts_at",
    "slot_minutes",
    "slot_count",
    "registration_closes_on",
)


def _error(field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params)})


class _Errors:
    def __init__(self) -> None:
        self.items: dict[str, list[ValidationError]] = {}

    def add(self, field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> None:
        self.items.setdefault(field, []).append(ValidationError(message, code=code, params=params))

    def raise_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


def _in_tree(org: Organisation | None, root_path: str) -> bool:
    return org is not None and bool(root_path) and org.tree_path.startswith(root_path)


# ---------------------------------------------------------------------------
# Who may do what
# ---------------------------------------------------------------------------


def is_organiser(user: Any, event: MatchmakingEvent, action: str = Action.CHANGE) -> bool:
    """An officer of the organiser (or of an organisation above it) whose role allows the action."""
    return MatchmakingEvent.objects.restrict(user, action).filter(pk=event.pk).exists()


def _require_organiser(user: Any, event: MatchmakingEvent, what: str) -> None:
    if not is_organiser(user, event):
        raise PermissionDenied(f"only the organiser of the event may {what}")


def may_organise(user: Any) -> bool:
    """Whether the user may create events at all (an IP office or park administration officer, or the platform)."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    return scope.is_platform or scope.kind in ORGANISER_KINDS


def may_register_for(user: Any, event: MatchmakingEvent, organisation: Organisation) -> bool:
    """The organiser registers anyone; an officer registers its own organisation or one below it."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    if scope.is_platform or is_organiser(user, event, Action.ADD):
        return True
    return _in_tree(organisation, scope.org_tree_path)


# ---------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------


def _check_event(values: Mapping[str, Any], *, organiser: Organisation, creating: bool, errors: _Errors) -> None:
    today = business_date()
    if not str(values.get("title") or "").strip():
        errors.add("title", _("请填写活动名称。"), "required")
    if not str(values.get("place") or "").strip():
        errors.add("place", _("请填写活动地点。"), "required")
    event_date: datetime.date | None = values.get("event_date")
    closes: datetime.date | None = values.get("registration_closes_on")
    if event_date is None:
        errors.add("event_date", _("请填写活动日期。"), "required")
    elif event_date < today:
        errors.add("event_date", _("活动日期不能早于今天（%(today)s）。"), "past", {"today": today.isoformat()})
    if closes is None:
        errors.add("registration_closes_on", _("请填写报名截止日期。"), "required")
    elif event_date is not None and closes > event_date:
        errors.add("registration_closes_on", _("报名截止日期不能晚于活动日期。"), "after_event")
    elif creating and closes < today:
        errors.add("registration_closes_on", _("报名截止日期不能早于今天。"), "past")
    minutes, count = values.get("slot_minutes"), values.get("slot_count")
    if minutes is None or not MIN_SLOT_MINUTES <= int(minutes) <= MAX_SLOT_MINUTES:
        errors.add("slot_minutes", _("每场时长须在5到240分钟之间。"), "range")
    if count is None or not 1 <= int(count) <= MAX_SLOTS:
        errors.add("slot_count", _("场次数须在1到48之间。"), "range")
    starts: datetime.time | None = values.get("starts_at")
    if starts is None:
        errors.add("starts_at", _("请填写开始时间。"), "required")
    elif "slot_minutes" not in errors.items and "slot_count" not in errors.items:
        end = starts.hour * 60 + starts.minute + int(minutes) * int(count)  # type: ignore[arg-type]
        if end > 24 * 60:
            errors.add("slot_count", _("全部场次须在当天结束（超过午夜）。"), "past_midnight")
    park: Park | None = values.get("park")
    if park is not None:
        if organiser.kind == OrganisationKind.PARK_ADMIN:
            if not _in_tree(park.administering_org, organiser.tree_path):
                errors.add("park", _("园区管委会只能在本园区举办活动。"), "other_park")
        elif organiser.region_id and not park.region.code.startswith(organiser.region.prefix):  # type: ignore[union-attr]
            errors.add("park", _("只能选择本辖区内的园区。"), "outside_region")


def _region_code(organiser: Organisation, park: Park | None) -> str:
    if park is not None:
        return str(park.region.code)
    return organiser.region.code if organiser.region_id else ""  # type: ignore[union-attr]


def _event_organiser(user: User, organiser: Organisation | None) -> Organisation:
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        raise PermissionDenied("your role may not organise events")
    own = getattr(user, "organisation", None)
    organiser = organiser or own
    if organiser is None:
        raise _error("organiser", _("请指定主办机构。"), "required")
    if not scope.is_platform and not _in_tree(organiser, scope.org_tree_path):
        raise PermissionDenied("an event is organised by your own organisation or one below it")
    if organiser.kind not in ORGANISER_KINDS:
        if not scope.is_platform and scope.kind not in ORGANISER_KINDS:
            raise PermissionDenied("only IP offices and park administrations organise matchmaking events")
        raise _error("organiser", _("主办机构须为知识产权局或园区管委会。"), "kind")
    return organiser


@transaction.atomic
def event_create(
    *,
    title: str,
    place: str,
    event_date: datetime.date,
    registration_closes_on: datetime.date,
    theme: str = "",
    description: str = "",
    park: Park | None = None,
    starts_at: datetime.time = datetime.time(9, 0),
    slot_minutes: int = 20,
    slot_count: int = 9,
    organiser: Organisation | None = None,
    acting_user: User,
) -> MatchmakingEvent:
    """An IP office or park administration announces an event; it opens for registration at once."""
    organiser = _event_organiser(acting_user, organiser)
    values: dict[str, Any] = {
        "title": title,
        "theme": theme,
        "description": description,
        "park": park,
        "place": place,
        "event_date": event_date,
        "starts_at": starts_at,
        "slot_minutes": slot_minutes,
        "slot_count": slot_count,
        "registration_closes_on": registration_closes_on,
    }
    errors = _Errors()
    _check_event(values, organiser=organiser, creating=True, errors=errors)
    errors.raise_any()
    event = MatchmakingEvent(
        organiser=organiser,
        title=title.strip(),
        theme=theme.strip(),
        description=description.strip(),
        park=park,
        region_code=_region_code(organiser, park),
        place=place.strip(),
        event_date=event_date,
        starts_at=starts_at,
        slot_minutes=slot_minutes,
        slot_count=slot_count,
        registration_closes_on=registration_closes_on,
        created_by=_actor(acting_user),
    )
    return audited_create(instance=event, acting_user=acting_user, action="matchmaking_event.create")


def _lock_event(event: MatchmakingEvent) -> MatchmakingEvent:
    return MatchmakingEvent.objects.select_for_update().get(pk=event.pk)


def _refuse_status(event: MatchmakingEvent, what: Any) -> ValidationError:
    return _error(
        "status",
        _("活动当前状态为“%(status)s”，不能%(action)s。"),
        "invalid_state",
        {"status": event.get_status_display(), "action": what},
    )


@transaction.atomic
def event_update(*, event: MatchmakingEvent, data: Mapping[str, Any], acting_user: User) -> MatchmakingEvent:
    """Change an open or scheduled event (title, theme, place, date, slots, registration deadline, park)."""
    _require_organiser(acting_user, event, "change it")
    event = _lock_event(event)
    if event.status not in ACTIVE_EVENT_STATUSES:
        raise _refuse_status(event, _("修改"))
    unknown = sorted(set(data) - set(EVENT_FIELDS))
    if unknown:
        raise _error(unknown[0], _("该字段不能修改。"), "not_editable")
    values = {name: getattr(event, name) for name in EVENT_FIELDS}
    values.update(data)
    errors = _Errors()
    _check_event(values, organiser=event.organiser, creating=False, errors=errors)
    if values.get("slot_count") is not None:
        beyond = event.meetings.filter(status__in=LIVE_MEETING_STATUSES, slot__gt=int(values["slot_count"]))
        if beyond.exists():
            errors.add(
                "slot_count",
                _("已有洽谈安排在第%(slot)s场，场次数不能少于此数。"),
                "meetings_beyond",
                {"slot": max(beyond.values_list("slot", flat=True))},
            )
    errors.raise_any()
    changes: dict[str, Any] = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    if "park" in changes:
        changes["region_code"] = _region_code(event.organiser, changes["park"])
    return audited_update(instance=event, data=changes, acting_user=acting_user, action="matchmaking_event.update")


def _cancel_meetings(meetings: Any, *, acting_user: User | None, action: str) -> int:
    count = 0
    for meeting in meetings.select_for_update().filter(status=MeetingStatus.PROPOSED).order_by("pk"):
        audited_update(
            instance=meeting, data={"status": MeetingStatus.CANCELLED}, acting_user=acting_user, action=action
        )
        count += 1
    return count


@transaction.atomic
def event_cancel(*, event: MatchmakingEvent, note: str = "", acting_user: User) -> MatchmakingEvent:
    """Call an open or scheduled event off: its meetings not yet held are cancelled."""
    _require_organiser(acting_user, event, "cancel it")
    event = _lock_event(event)
    if event.status not in ACTIVE_EVENT_STATUSES:
        raise _refuse_status(event, _("取消"))
    cancelled = _cancel_meetings(event.meetings.all(), acting_user=acting_user, action="meeting.cancel_with_event")
    event = audited_update(
        instance=event,
        data={"status": EventStatus.CANCELLED},
        acting_user=acting_user,
        action="matchmaking_event.cancel",
    )
    if note.strip() or cancelled:
        record_event(
            acting_user=acting_user,
            action="matchmaking_event.cancel_note",
            instance=event,
            extra={"note": note.strip(), "meetings_cancelled": cancelled},
        )
    return event


def _mark_held(event: MatchmakingEvent, *, today: datetime.date, acting_user: User | None) -> MatchmakingEvent:
    event = _lock_event(event)
    if event.status != EventStatus.SCHEDULED:
        raise _refuse_status(event, _("标记为已举办"))
    if event.event_date > today:
        raise _error(
            "event_date",
            _("活动日期（%(date)s）尚未到，不能标记为已举办。"),
            "not_yet",
            {"date": event.event_date.isoformat()},
        )
    return audited_update(
        instance=event, data={"status": EventStatus.HELD}, acting_user=acting_user, action="matchmaking_event.held"
    )


@transaction.atomic
def event_mark_held(*, event: MatchmakingEvent, acting_user: User) -> MatchmakingEvent:
    """The organiser closes a scheduled event on or after its day."""
    _require_organiser(acting_user, event, "close it")
    return _mark_held(event, today=business_date(), acting_user=acting_user)


def events_close(*, today: datetime.date | None = None) -> int:
    """The scheduled job: every scheduled event whose day has passed becomes held (audited, no acting user)."""
    today = today or business_date()
    closed = 0
    due = MatchmakingEvent.objects.filter(status=EventStatus.SCHEDULED, event_date__lt=today)
    for pk in due.order_by("event_date", "pk").values_list("pk", flat=True):
        with transaction.atomic():
            event = MatchmakingEvent.objects.select_for_update().get(pk=pk)
            if event.status != EventStatus.SCHEDULED or event.event_date >= today:
                continue  # cancelled or moved meanwhile
            _mark_held(event, today=today, acting_user=None)
            closed += 1
    return closed


# ---------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------


def _check_registration_open(event: MatchmakingEvent) -> None:
    if event.status != EventStatus.OPEN:
        raise _error(
            "event",
            _("活动当前状态为“%(status)s”，不接受报名。"),
            "not_open",
            {"status": event.get_status_display()},
        )
    if business_date() > event.registration_closes_on:
        raise _error(
            "event",
            _("报名已于%(date)s截止。"),
            "registration_closed",
            {"date": event.registration_closes_on.isoformat()},
        )


@transaction.atomic
def participant_register(
    *,
    event: MatchmakingEvent,
    organisation: Organisation,
    desks: int = 1,
    contact_name: str = "",
    demand: Demand | None = None,
    acting_user: User,
) -> EventParticipant:
    """A bank registers with its desks, an enterprise with (optionally) the demand it comes to discuss."""
    if not may_register_for(acting_user, event, organisation):
        raise PermissionDenied("an officer registers its own organisation; the organiser registers anyone")
    event = _lock_event(event)
    _check_registration_open(event)
    errors = _Errors()
    enterprise: Enterprise | None = None
    if organisation.kind == OrganisationKind.BANK:
        kind = ParticipantKind.BANK
        if not 1 <= int(desks) <= MAX_DESKS:
            errors.add("desks", _("洽谈台数须在1到20之间。"), "range")
        if demand is not None:
            errors.add("demand", _("银行报名不填写融资需求。"), "not_allowed")
    elif organisation.kind == OrganisationKind.ENTERPRISE:
        kind = ParticipantKind.ENTERPRISE
        enterprise = Enterprise.objects.filter(organisation=organisation).first()
        if enterprise is None:
            errors.add("organisation", _("该机构没有企业档案，不能以企业身份报名。"), "no_enterprise")
        if int(desks) != 1:
            errors.add("desks", _("企业报名不设洽谈台。"), "not_allowed")
        if demand is not None and enterprise is not None:
            if demand.enterprise_id != enterprise.pk:
                errors.add("demand", _("只能选择本企业的融资需求。"), "other_enterprise")
            elif demand.status not in ACTIVE_DEMAND_STATUSES:
                errors.add(
                    "demand",
                    _("该融资需求当前状态为“%(status)s”，不能用于对接。"),
                    "inactive",
                    {"status": demand.get_status_display()},
                )
    else:
        raise _error("organisation", _("只有银行和企业可以报名银企对接活动。"), "kind")
    if len(contact_name.strip()) > 64:
        errors.add("contact_name", _("联系人不能超过64个字符。"), "max_length")
    errors.raise_any()
    values: dict[str, Any] = {
        "kind": kind,
        "enterprise": enterprise,
        "demand": demand,
        "desks": int(desks),
        "contact_name": contact_name.strip(),
    }
    existing = EventParticipant.objects.select_for_update().filter(event=event, organisation=organisation).first()
    if existing is not None:
        if existing.withdrawn_at is None:
            raise _error("organisation", _("该机构已报名本次活动。"), "unique")
        values.update(withdrawn_at=None, registered_by=_actor(acting_user))
        return audited_update(
            instance=existing, data=values, acting_user=acting_user, action="event_participant.register_again"
        )
    participant = EventParticipant(event=event, organisation=organisation, registered_by=_actor(acting_user), **values)
    return audited_create(instance=participant, acting_user=acting_user, action="event_participant.register")


@transaction.atomic
def participant_withdraw(*, participant: EventParticipant, acting_user: User) -> EventParticipant:
    """A participant (or the organiser) withdraws the registration; its meetings not yet held are cancelled."""
    if not EventParticipant.objects.restrict(acting_user, Action.CHANGE).filter(pk=participant.pk).exists():
        raise PermissionDenied("only the participant or the organiser may withdraw a registration")
    event = _lock_event(participant.event)
    participant = EventParticipant.objects.select_for_update().get(pk=participant.pk)
    if event.status not in ACTIVE_EVENT_STATUSES:
        raise _refuse_status(event, _("退出"))
    if participant.withdrawn_at is not None:
        raise _error("withdrawn_at", _("该机构已退出本次活动。"), "invalid_state")
    meetings = Meeting.objects.filter(Q(bank_participant=participant) | Q(enterprise_participant=participant))
    cancelled = _cancel_meetings(meetings, acting_user=acting_user, action="meeting.cancel_on_withdrawal")
    participant = audited_update(
        instance=participant,
        data={"withdrawn_at": business_now()},
        acting_user=acting_user,
        action="event_participant.withdraw",
    )
    if cancelled:
        record_event(
            acting_user=acting_user,
            action="event_participant.meetings_cancelled",
            instance=participant,
            extra={"meetings_cancelled": cancelled},
        )
    return participant


# ---------------------------------------------------------------------------
# Meetings: proposal and manual changes
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LeftOut:
    """A candidate pair the proposal could not place, with the engine's reason."""

    bank: EventParticipant
    enterprise: EventParticipant
    score: Decimal
    match_id: int | None
    reason: str


@dataclass
class Proposal:
    created: list[Meeting] = field(default_factory=list)
    kept: int = 0
    candidates: int = 0
    left_out: list[LeftOut] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "kept": self.kept,
            "candidates": self.candidates,
            "left_out": len(self.left_out),
        }


def _bank_for_product_bank(banks: Sequence[EventParticipant], product_bank_path: str) -> EventParticipant | None:
    """The registered bank a product counts for: the nearest registered bank at or above the product's bank."""
    best: EventParticipant | None = None
    for bank in banks:
        path = bank.organisation.tree_path
        if product_bank_path.startswith(path) and (best is None or len(path) > len(best.organisation.tree_path)):
            best = bank
    return best


def candidate_matches(event: MatchmakingEvent) -> list[tuple[EventParticipant, EventParticipant, Match]]:
    """(registered bank, registered enterprise, eligible match) for every match that may become a meeting."""
    participants = list(
        EventParticipant.objects.filter(event=event, withdrawn_at__isnull=True).select_related("organisation", "demand")
    )
    banks = [p for p in participants if p.kind == ParticipantKind.BANK]
    enterprises = [p for p in participants if p.kind == ParticipantKind.ENTERPRISE and p.enterprise_id]
    if not banks or not enterprises:
        return []
    by_enterprise = {p.enterprise_id: p for p in enterprises}
    named = {p.demand_id for p in enterprises if p.demand_id and p.demand and p.demand.is_active}
    open_ids = [e for e, p in by_enterprise.items() if not (p.demand_id and p.demand_id in named)]
    demand_filter = Q(demand_id__in=named) | Q(demand__enterprise_id__in=open_ids)
    bank_paths = Q()
    for bank in banks:
        bank_paths |= Q(product__bank__tree_path__startswith=bank.organisation.tree_path)
    matches = (
        Match.objects.filter(demand_filter, bank_paths)
        .filter(
            eligible=True,
            demand__status__in=ACTIVE_DEMAND_STATUSES,
            product__status=ProductStatus.LIVE,
        )
        .select_related("demand", "product__bank")
        .order_by("pk")
    )
    found = []
    for match in matches:
        enterprise = by_enterprise.get(match.demand.enterprise_id)
        bank = _bank_for_product_bank(banks, match.product.bank.tree_path)
        if enterprise is not None and bank is not None:
            found.append((bank, enterprise, match))
    return found


def _live_meetings(event: MatchmakingEvent) -> Any:
    return Meeting.objects.filter(event=event, status__in=LIVE_MEETING_STATUSES)


@transaction.atomic
def meetings_propose(
    *, event: MatchmakingEvent, acting_user: User | None, max_per_enterprise: int | None = None
) -> Proposal:
    """Propose one-to-one meetings from the matches (see the module docstring); the event becomes scheduled.

    `acting_user=None` is the platform itself (the `ipledge market schedule-event` command)."""
    if acting_user is not None:
        _require_organiser(acting_user, event, "propose meetings")
    if max_per_enterprise is not None and max_per_enterprise < 1:
        raise _error("max_per_enterprise", _("每家企业的洽谈上限须至少为1。"), "min_value")
    event = _lock_event(event)
    if event.status not in ACTIVE_EVENT_STATUSES:
        raise _refuse_status(event, _("安排洽谈"))
    active = EventParticipant.objects.filter(event=event, withdrawn_at__isnull=True)
    if (
        not active.filter(kind=ParticipantKind.BANK).exists()
        or not active.filter(kind=ParticipantKind.ENTERPRISE).exists()
    ):
        raise _error("participants", _("至少需要一家银行和一家企业报名，才能安排洽谈。"), "no_participants")
    by_id = {p.pk: p for p in active.select_related("organisation")}
    existing = list(_live_meetings(event))
    fixed = [scheduling.Fixed(m.bank_participant_id, m.enterprise_participant_id, m.slot, m.desk) for m in existing]
    found = candidate_matches(event)
    candidates = [
        scheduling.Candidate(bank=b.pk, enterprise=e.pk, score=match.score, match_id=match.pk) for b, e, match in found
    ]
    plan = scheduling.schedule(
        candidates=candidates,
        desks={p.pk: p.desks for p in by_id.values() if p.kind == ParticipantKind.BANK},
        slot_count=event.slot_count,
        fixed=fixed,
        max_per_enterprise=max_per_enterprise,
    )
    proposal = Proposal(kept=len(existing), candidates=len({(c.bank, c.enterprise) for c in candidates}))
    for item in plan.assignments:
        meeting = Meeting(
            event=event,
            bank_participant=by_id[item.bank],
            enterprise_participant=by_id[item.enterprise],
            match_id=item.match_id,
            slot=item.slot,
            desk=item.desk,
        )
        try:
            audited_create(instance=meeting, acting_user=acting_user, action="meeting.propose")
        except (IntegrityError, ValidationError):
            # A concurrent writer took the slot after we read the schedule: the constraint kept it single.
            proposal.left_out.append(
                LeftOut(by_id[item.bank], by_id[item.enterprise], item.score, item.match_id, "conflict")
            )
            continue
        proposal.created.append(meeting)
    for left in plan.unscheduled:
        if left.reason in (scheduling.ALREADY_MET, scheduling.DUPLICATE_PAIR):
            continue  # not a pair left out: it meets already, or it is the same pair as a better candidate
        c = left.candidate
        proposal.left_out.append(LeftOut(by_id[c.bank], by_id[c.enterprise], c.score, c.match_id, left.reason))
    if event.status == EventStatus.OPEN:
        event = audited_update(
            instance=event,
            data={"status": EventStatus.SCHEDULED},
            acting_user=acting_user,
            action="matchmaking_event.schedule",
        )
    record_event(
        acting_user=acting_user,
        action="matchmaking_event.propose",
        instance=event,
        extra={**proposal.counts(), "max_per_enterprise": max_per_enterprise},
    )
    return proposal


def _busy_error(
    event: MatchmakingEvent, *, bank: EventParticipant, enterprise: EventParticipant, slot: int, desk: int
) -> ValidationError | None:
    """The first reason the meeting cannot be booked in the current schedule, naming slot and desk, else None."""
    live = _live_meetings(event)
    params = {
        "slot": slot,
        "time": event.slot_start(slot).strftime("%H:%M"),
        "desk": desk,
        "bank": bank.organisation.name,
        "enterprise": enterprise.organisation.name,
    }
    if live.filter(bank_participant=bank, desk=desk, slot=slot).exists():
        return _error(
            "slot",
            _("第%(slot)s场（%(time)s）%(bank)s的%(desk)s号洽谈台已有安排。"),
            "desk_busy",
            params,
        )
    if live.filter(enterprise_participant=enterprise, slot=slot).exists():
        return _error("slot", _("第%(slot)s场（%(time)s）%(enterprise)s已有其他洽谈。"), "enterprise_busy", params)
    other = live.filter(bank_participant=bank, enterprise_participant=enterprise).first()
    if other is not None:
        params.update(other_slot=other.slot, other_desk=other.desk)
        return _error(
            "enterprise_participant",
            _("%(bank)s与%(enterprise)s已安排在第%(other_slot)s场%(other_desk)s号洽谈台洽谈。"),
            "pair_once",
            params,
        )
    return None


@transaction.atomic
def meeting_add(
    *,
    event: MatchmakingEvent,
    bank_participant: EventParticipant,
    enterprise_participant: EventParticipant,
    slot: int,
    desk: int = 1,
    match: Match | None = None,
    acting_user: User,
) -> Meeting:
    """The organiser books one meeting by hand at a slot and desk (refused naming the slot and desk when taken)."""
    _require_organiser(acting_user, event, "add meetings")
    event = _lock_event(event)
    if event.status not in ACTIVE_EVENT_STATUSES:
        raise _refuse_status(event, _("安排洽谈"))
    errors = _Errors()
    bank = EventParticipant.objects.select_related("organisation").get(pk=bank_participant.pk)
    enterprise = EventParticipant.objects.select_related("organisation").get(pk=enterprise_participant.pk)
    for name, p, kind in (
        ("bank_participant", bank, ParticipantKind.BANK),
        ("enterprise_participant", enterprise, ParticipantKind.ENTERPRISE),
    ):
        if p.event_id != event.pk:
            errors.add(name, _("该机构未报名本次活动。"), "other_event")
        elif p.kind != kind:
            errors.add(name, _("参会机构类别不符。"), "kind")
        elif p.withdrawn_at is not None:
            errors.add(name, _("该机构已退出本次活动。"), "withdrawn")
    if not 1 <= int(slot) <= event.slot_count:
        errors.add("slot", _("场次须在1到%(count)s之间。"), "range", {"count": event.slot_count})
    if bank.kind == ParticipantKind.BANK and not 1 <= int(desk) <= bank.desks:
        errors.add("desk", _("洽谈台须在1到%(count)s之间。"), "range", {"count": bank.desks})
    if match is not None and enterprise.enterprise_id is not None:
        match = Match.objects.select_related("demand", "product__bank").get(pk=match.pk)
        if match.demand.enterprise_id != enterprise.enterprise_id or not match.product.bank.tree_path.startswith(
            bank.organisation.tree_path
        ):
            errors.add("match", _("该匹配结果不属于这家银行与企业。"), "other_pair")
    errors.raise_any()
    busy = _busy_error(event, bank=bank, enterprise=enterprise, slot=int(slot), desk=int(desk))
    if busy is not None:
        raise busy
    meeting = Meeting(
        event=event,
        bank_participant=bank,
        enterprise_participant=enterprise,
        match=match,
        slot=int(slot),
        desk=int(desk),
    )
    try:
        return audited_create(instance=meeting, acting_user=acting_user, action="meeting.add")
    except (IntegrityError, ValidationError) as exc:
        # A concurrent booking won after our check; the unique constraints refused the second one.
        busy = _busy_error(event, bank=bank, enterprise=enterprise, slot=int(slot), desk=int(desk))
        raise (busy or _error("slot", _("该场次与洽谈台已被占用，请刷新后重试。"), "conflict")) from exc


@transaction.atomic
def meeting_cancel(*, meeting: Meeting, note: str = "", acting_user: User) -> Meeting:
    """The organiser cancels a meeting that has not taken place; its slot and desk become free."""
    _require_organiser(acting_user, meeting.event, "cancel meetings")
    _lock_event(meeting.event)
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.status != MeetingStatus.PROPOSED:
        raise _error(
            "status",
            _("洽谈当前状态为“%(status)s”，不能取消。"),
            "invalid_state",
            {"status": meeting.get_status_display()},
        )
    meeting = audited_update(
        instance=meeting, data={"status": MeetingStatus.CANCELLED}, acting_user=acting_user, action="meeting.cancel"
    )
    if note.strip():
        record_event(acting_user=acting_user, action="meeting.cancel_note", instance=meeting, extra={"note": note})
    return meeting


# ---------------------------------------------------------------------------
# Outcomes
# ---------------------------------------------------------------------------


def _check_outcome(
    meeting: Meeting,
    *,
    status: str,
    outcome: str,
    intended_amount: Money | None,
    follow_up_on: datetime.date | None,
    loan: Any,
) -> None:
    errors = _Errors()
    if status not in (MeetingStatus.HELD, MeetingStatus.NO_SHOW):
        errors.add("status", _("请选择“已会谈”或“缺席”。"), "choice")
    if outcome not in MeetingOutcome.values:
        errors.add("outcome", _("洽谈结果无效。"), "choice")
    if status == MeetingStatus.NO_SHOW:
        if outcome:
            errors.add("outcome", _("缺席的洽谈没有洽谈结果。"), "no_show")
        if intended_amount is not None:
            errors.add("intended_amount", _("缺席的洽谈不填写意向金额。"), "no_show")
        if follow_up_on is not None:
            errors.add("follow_up_on", _("缺席的洽谈不填写跟进日期。"), "no_show")
        if loan is not None:
            errors.add("loan", _("缺席的洽谈不能关联贷款。"), "no_show")
    if intended_amount is not None:
        if intended_amount.fen <= 0:
            errors.add("intended_amount", _("意向金额须大于零。"), "positive")
        elif outcome in (MeetingOutcome.NO_INTEREST, MeetingOutcome.NONE) and status == MeetingStatus.HELD:
            errors.add("intended_amount", _("只有达成意向、需跟进或已放款时填写意向金额。"), "not_allowed")
    if outcome == MeetingOutcome.FOLLOW_UP:
        if follow_up_on is None:
            errors.add("follow_up_on", _("需跟进时请填写跟进日期。"), "required")
        elif follow_up_on < meeting.event.event_date:
            errors.add("follow_up_on", _("跟进日期不能早于活动日期。"), "before_event")
    elif follow_up_on is not None and status == MeetingStatus.HELD:
        errors.add("follow_up_on", _("只有需跟进时填写跟进日期。"), "not_allowed")
    if outcome == MeetingOutcome.LOAN:
        if loan is None:
            errors.add("loan", _("结果为已放款时须关联贷款。"), "required")
        else:
            enterprise_id = meeting.enterprise_participant.enterprise_id
            bank_path = meeting.bank_participant.organisation.tree_path
            if loan.borrower_id != enterprise_id:
                errors.add(
                    "loan",
                    _("贷款 %(ref)s 的借款企业不是本次洽谈的企业。"),
                    "other_enterprise",
                    {"ref": loan.reference},
                )
            elif not loan.bank.tree_path.startswith(bank_path):
                errors.add(
                    "loan",
                    _("贷款 %(ref)s 不是本次洽谈银行（或其下级机构）发放的。"),
                    "other_bank",
                    {"ref": loan.reference},
                )
            elif loan.status in _UNGRANTED_LOAN_STATUSES:
                errors.add(
                    "loan",
                    _("贷款 %(ref)s 的状态为“%(status)s”，尚未获批。"),
                    "not_granted",
                    {"ref": loan.reference, "status": loan.get_status_display()},
                )
    elif loan is not None:
        errors.add("loan", _("只有结果为已放款时关联贷款。"), "not_allowed")
    errors.raise_any()


def _link_demand(meeting: Meeting, loan: Any, acting_user: User) -> str:
    """Mark the enterprise's demand financed by the loan (helper of the demands area), when the demand is known and
    still active; answers what happened ("linked", "none", "inactive", "loan_taken", "not_permitted")."""
    demand = meeting.match.demand if meeting.match_id and meeting.match else meeting.enterprise_participant.demand
    if demand is None:
        return "none"
    demand = Demand.objects.get(pk=demand.pk)
    if demand.status not in ACTIVE_DEMAND_STATUSES:
        return "inactive"
    try:
        from .demands import demand_link_loan
    except ImportError:  # the demands area is not installed
        return "none"
    if demand.loan_id is not None or Demand.objects.filter(loan=loan).exclude(pk=demand.pk).exists():
        return "loan_taken"  # the demand already has its loan, or the loan is another demand's
    try:
        with transaction.atomic():
            demand_link_loan(demand=demand, loan=loan, acting_user=acting_user)
    except PermissionDenied:
        # The demands area decides who may close a demand (the enterprise, its park, or the lending bank when the
        # demand was shared with it): otherwise the loan stays on the meeting and the audit event says so.
        return "not_permitted"
    return "linked"


@transaction.atomic
def meeting_record_outcome(
    *,
    meeting: Meeting,
    status: str,
    outcome: str = "",
    intended_amount: Money | None = None,
    follow_up_on: datetime.date | None = None,
    loan: Any = None,
    note: str = "",
    acting_user: User,
) -> Meeting:
    """The bank of the meeting (or the organiser) records whether it was held and what came of it."""
    if not Meeting.objects.restrict(acting_user, Action.CHANGE).filter(pk=meeting.pk).exists():
        raise PermissionDenied("only the bank of the meeting or the organiser records its outcome")
    event = _lock_event(meeting.event)  # lock order everywhere: the event, then its meetings
    meeting = (
        Meeting.objects.select_for_update(of=("self",))
        .select_related("event", "bank_participant__organisation", "enterprise_participant__demand", "match__demand")
        .get(pk=meeting.pk)
    )
    if event.status == EventStatus.CANCELLED:
        raise _refuse_status(event, _("记录洽谈结果"))
    if meeting.status == MeetingStatus.CANCELLED:
        raise _error("status", _("该洽谈已取消，不能记录结果。"), "cancelled")
    if business_date() < event.event_date:
        raise _error(
            "status",
            _("活动（%(date)s）尚未举行，不能记录洽谈结果。"),
            "not_yet",
            {"date": event.event_date.isoformat()},
        )
    if loan is not None:
        from ipledge.lending.models import Loan

        loan = Loan.objects.select_related("bank").get(pk=loan.pk)
    _check_outcome(
        meeting, status=status, outcome=outcome, intended_amount=intended_amount, follow_up_on=follow_up_on, loan=loan
    )
    meeting = audited_update(
        instance=meeting,
        data={
            "status": status,
            "outcome": outcome,
            "intended_amount": intended_amount,
            "follow_up_on": follow_up_on,
            "loan": loan,
            "outcome_note": note.strip(),
            "recorded_by": _actor(acting_user),
            "recorded_at": business_now(),
        },
        acting_user=acting_user,
        action="meeting.record_outcome",
    )
    if outcome == MeetingOutcome.LOAN:
        linked = _link_demand(meeting, loan, acting_user)
        record_event(
            acting_user=acting_user,
            action="meeting.loan_demand",
            instance=meeting,
            extra={"loan": loan.reference, "demand_link": linked},
        )
    return meeting
