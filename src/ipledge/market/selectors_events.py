"""Reads of the matchmaking-events area (银企对接活动): events (announced to everyone signed in), participants,
meetings, the schedule grid, agendas and the event report.

Every read starts from `restrict(user, action)`: the organiser sees every registration and meeting of its events;
a bank sees its own tree's registrations and the meetings at its desks (and the enterprises it meets); an
enterprise its own registration and meetings. The report is computed over the meetings and registrations the user
sees, so a bank's report of an event is the report of its own desks.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.models import Organisation
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for

from .choices import ACTIVE_DEMAND_STATUSES, EventStatus, MeetingOutcome, MeetingStatus, ParticipantKind
from .models import Demand, EventParticipant, MatchmakingEvent, Meeting
from .services.events import is_organiser, may_organise

__all__ = [
    "is_organiser",
    "may_organise",
]


def reads_as_organiser(user: Any, event: MatchmakingEvent) -> bool:
    """Any officer (whatever the role) of the organiser or of an organisation above it, or the platform."""
    scope = scope_for(user)
    if scope is None:
        return False
    if scope.is_platform:
        return True
    return scope.organisation_id is not None and event.organiser.tree_path.startswith(scope.org_tree_path)


# ---------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------


def event_list(
    *, user: Any, when: str = "", status: str = "", today: datetime.date | None = None
) -> QuerySet[MatchmakingEvent]:
    """Events within reach (all of them: events are announced), with their registration and meeting counts.
    `when`: "upcoming" (today or later, soonest first) or "past" (before today, latest first)."""
    today = today or business_date()
    active = Q(participants__withdrawn_at__isnull=True)
    qs = (
        MatchmakingEvent.objects.restrict(user, Action.VIEW)
        .select_related("organiser", "park")
        .annotate(
            bank_count=Count("participants", filter=active & Q(participants__kind=ParticipantKind.BANK), distinct=True),
            enterprise_count=Count(
                "participants", filter=active & Q(participants__kind=ParticipantKind.ENTERPRISE), distinct=True
            ),
        )
    )
    if status:
        qs = qs.filter(status=status)
    if when == "upcoming":
        qs = qs.filter(event_date__gte=today).order_by("event_date", "pk")
    elif when == "past":
        qs = qs.filter(event_date__lt=today).order_by("-event_date", "-pk")
    return qs


def event_get(*, user: Any, pk: int) -> MatchmakingEvent:
    from ipledge.core.selectors import scoped_get

    scoped_get(MatchmakingEvent, user=user, pk=pk)
    return MatchmakingEvent.objects.select_related("organiser", "park", "created_by").get(pk=pk)


def participants(*, user: Any, event: MatchmakingEvent, active: bool | None = None) -> QuerySet[EventParticipant]:
    qs = (
        EventParticipant.objects.restrict(user, Action.VIEW)
        .filter(event=event)
        .select_related("organisation", "enterprise", "demand", "registered_by")
        .order_by("kind", "organisation__name", "pk")
    )
    if active is True:
        qs = qs.filter(withdrawn_at__isnull=True)
    elif active is False:
        qs = qs.filter(withdrawn_at__isnull=False)
    return qs


def own_participations(*, user: Any, event: MatchmakingEvent) -> list[EventParticipant]:
    """The registrations of the user's own organisation tree (what it may withdraw), active ones."""
    scope = scope_for(user)
    if scope is None or scope.organisation_id is None:
        return []
    return list(
        EventParticipant.objects.filter(
            event=event, organisation__tree_path__startswith=scope.org_tree_path, withdrawn_at__isnull=True
        )
        .select_related("organisation", "demand")
        .order_by("organisation__tree_path")
    )


def meetings(*, user: Any, event: MatchmakingEvent, include_cancelled: bool = False) -> QuerySet[Meeting]:
    qs = (
        Meeting.objects.restrict(user, Action.VIEW)
        .filter(event=event)
        .select_related(
            "event",
            "bank_participant__organisation",
            "enterprise_participant__organisation",
            "enterprise_participant__enterprise",
            "match__demand",
            "match__product",
            "loan",
            "recorded_by",
        )
        .order_by("slot", "bank_participant__organisation__name", "desk", "pk")
    )
    if not include_cancelled:
        qs = qs.exclude(status=MeetingStatus.CANCELLED)
    return qs


def meeting_get(*, user: Any, event: MatchmakingEvent, pk: int, action: str = Action.VIEW) -> Meeting:
    from ipledge.core.selectors import scoped_get

    scoped_get(Meeting, user=user, pk=pk, action=action)
    meeting = meetings(user=user, event=event, include_cancelled=True).filter(pk=pk).first()
    if meeting is None:
        from django.http import Http404

        raise Http404(Meeting._meta.verbose_name)
    return meeting


def registrable_organisations(*, user: Any, event: MatchmakingEvent, kind: str) -> QuerySet[Organisation]:
    """What the user may register: the organiser any active bank / any enterprise with a profile; others their
    own organisation tree's. Organisations already registered (and not withdrawn) are left out."""
    scope = scope_for(user)
    org_kind = OrganisationKind.BANK if kind == ParticipantKind.BANK else OrganisationKind.ENTERPRISE
    qs = Organisation.objects.filter(kind=org_kind, is_active=True)
    if org_kind == OrganisationKind.ENTERPRISE:
        qs = qs.filter(enterprise__isnull=False)
    if scope is None:
        return qs.none()
    if not scope.is_platform and not is_organiser(user, event, Action.ADD):
        qs = qs.filter(tree_path__startswith=scope.org_tree_path)
    taken = EventParticipant.objects.filter(event=event, withdrawn_at__isnull=True).values("organisation_id")
    return qs.exclude(pk__in=taken).order_by("tree_path", "name")


def enterprise_demands(*, user: Any, organisation: Organisation | None) -> QuerySet[Demand]:
    """The active demands of an enterprise organisation the user sees (what it may name when registering)."""
    if organisation is None:
        return Demand.objects.none()
    return (
        Demand.objects.restrict(user, Action.VIEW)
        .filter(enterprise__organisation=organisation, status__in=ACTIVE_DEMAND_STATUSES)
        .order_by("-created_at", "-pk")
    )


def loan_choices(*, user: Any, meeting: Meeting) -> QuerySet[Any]:
    """Loans the user sees of the meeting's enterprise from the meeting's bank or below it, granted ones."""
    from ipledge.lending.models import Loan

    from .services.events import _UNGRANTED_LOAN_STATUSES

    return (
        Loan.objects.restrict(user, Action.VIEW)
        .filter(
            borrower_id=meeting.enterprise_participant.enterprise_id,
            bank__tree_path__startswith=meeting.bank_participant.organisation.tree_path,
        )
        .exclude(status__in=_UNGRANTED_LOAN_STATUSES)
        .select_related("bank")
        .order_by("-pk")
    )


# ---------------------------------------------------------------------------
# Schedule grid and agendas
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    participant: EventParticipant
    desk: int

    @property
    def label(self) -> str:
        if self.participant.desks == 1:
            return str(self.participant.organisation.name)
        return f"{self.participant.organisation.name} · {self.desk}"


@dataclass
class Row:
    slot: int
    start: datetime.time
    end: datetime.time
    cells: list[Meeting | None]


@dataclass
class Grid:
    columns: list[Column]
    rows: list[Row]


def slot_end(event: MatchmakingEvent, slot: int) -> datetime.time:
    start = datetime.datetime.combine(event.event_date, event.slot_start(slot))
    return (start + datetime.timedelta(minutes=event.slot_minutes)).time()


def schedule_grid(*, user: Any, event: MatchmakingEvent) -> Grid:
    """Rows are time slots, columns the bank desks the user sees (the organiser: every registered bank's desks; a
    bank: its own tree's), each cell the meeting there."""
    visible = list(meetings(user=user, event=event))
    banks = [p for p in participants(user=user, event=event) if p.kind == ParticipantKind.BANK]
    # A bank that withdrew still shows when a (held) meeting of it stays in the schedule.
    shown = {p.pk for p in banks if p.withdrawn_at is None} | {m.bank_participant_id for m in visible}
    columns = [Column(p, desk) for p in banks if p.pk in shown for desk in range(1, p.desks + 1)]
    index = {(c.participant.pk, c.desk): i for i, c in enumerate(columns)}
    rows = [
        Row(slot, event.slot_start(slot), slot_end(event, slot), [None] * len(columns))
        for slot in range(1, event.slot_count + 1)
    ]
    for meeting in visible:
        i = index.get((meeting.bank_participant_id, meeting.desk))
        if i is not None and 1 <= meeting.slot <= event.slot_count:
            rows[meeting.slot - 1].cells[i] = meeting
    return Grid(columns=columns, rows=rows)


@dataclass(frozen=True)
class AgendaItem:
    meeting: Meeting
    start: datetime.time
    end: datetime.time


def agenda(*, user: Any, event: MatchmakingEvent, participant: EventParticipant) -> list[AgendaItem]:
    """One participant's meetings in time order (a bank: every desk; an enterprise: its own)."""
    qs = meetings(user=user, event=event)
    if participant.kind == ParticipantKind.BANK:
        qs = qs.filter(bank_participant=participant)
    else:
        qs = qs.filter(enterprise_participant=participant)
    return [AgendaItem(m, event.slot_start(m.slot), slot_end(event, m.slot)) for m in qs.order_by("slot", "desk", "pk")]


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


@dataclass
class OutcomeLine:
    outcome: str
    label: str
    meetings: int
    intended: Money


@dataclass
class EventReport:
    banks: int = 0
    enterprises: int = 0
    desks: int = 0
    withdrawn: int = 0
    meetings: int = 0  # every meeting not cancelled
    proposed: int = 0  # not yet recorded
    held: int = 0
    no_show: int = 0
    cancelled: int = 0
    outcomes: list[OutcomeLine] = field(default_factory=list)
    intended_total: Money = field(default_factory=Money)
    loans: int = 0
    loan_amount: Money = field(default_factory=Money)
    enterprises_met: int = 0
    banks_met: int = 0

    @property
    def attendance_pct(self) -> str:
        recorded = self.held + self.no_show
        return f"{(100 * self.held / recorded):.1f}" if recorded else "—"

    def as_dict(self) -> dict[str, Any]:
        def money(value: Money) -> str:
            return f"{value.amount:.2f}"

        return {
            "registrations": {
                "banks": self.banks,
                "enterprises": self.enterprises,
                "desks": self.desks,
                "withdrawn": self.withdrawn,
            },
            "meetings": {
                "scheduled": self.meetings,
                "pending": self.proposed,
                "held": self.held,
                "no_show": self.no_show,
                "cancelled": self.cancelled,
                "enterprises_met": self.enterprises_met,
                "banks_met": self.banks_met,
            },
            "outcomes": [
                {"outcome": o.outcome, "label": o.label, "meetings": o.meetings, "intended_amount": money(o.intended)}
                for o in self.outcomes
            ],
            "intended_total": money(self.intended_total),
            "loans": {"count": self.loans, "amount": money(self.loan_amount)},
        }


def loan_amount(loan: Any) -> Money:
    """A loan's granted amount (the approved principal; the requested amount while none is fixed)."""
    value = loan.principal if loan.principal is not None else loan.requested_amount
    return value if isinstance(value, Money) else Money(value or 0)


def event_report(*, user: Any, event: MatchmakingEvent) -> EventReport:
    """Registrations, meetings held / no-show, outcomes by kind with intended amounts, and the loans that followed
    (each loan counted once), over what the user sees. Money is summed in fen (exact)."""
    report = EventReport()
    for p in participants(user=user, event=event):
        if p.withdrawn_at is not None:
            report.withdrawn += 1
        elif p.kind == ParticipantKind.BANK:
            report.banks += 1
            report.desks += p.desks
        else:
            report.enterprises += 1
    all_meetings = list(meetings(user=user, event=event, include_cancelled=True))
    by_outcome: Counter[str] = Counter()
    intended: dict[str, Money] = {}
    loans: dict[int, Money] = {}
    enterprises_met: set[int] = set()
    banks_met: set[int] = set()
    for m in all_meetings:
        if m.status == MeetingStatus.CANCELLED:
            report.cancelled += 1
            continue
        report.meetings += 1
        if m.status == MeetingStatus.PROPOSED:
            report.proposed += 1
        elif m.status == MeetingStatus.NO_SHOW:
            report.no_show += 1
        elif m.status == MeetingStatus.HELD:
            report.held += 1
            enterprises_met.add(m.enterprise_participant_id)
            banks_met.add(m.bank_participant_id)
            if m.outcome:
                by_outcome[m.outcome] += 1
                if m.intended_amount is not None:
                    intended[m.outcome] = intended.get(m.outcome, Money()) + m.intended_amount
            if m.loan_id is not None and m.loan is not None:
                loans[m.loan_id] = loan_amount(m.loan)
    for value, label in MeetingOutcome.choices:
        if value:
            report.outcomes.append(
                OutcomeLine(value, str(label), by_outcome.get(value, 0), intended.get(value, Money()))
            )
    report.intended_total = sum(intended.values(), Money())
    report.loans = len(loans)
    report.loan_amount = sum(loans.values(), Money())
    report.enterprises_met = len(enterprises_met)
    report.banks_met = len(banks_met)
    return report


def upcoming_status_label(event: MatchmakingEvent, today: datetime.date | None = None) -> str:
    """Whether registration is still possible, for the list and the detail page."""
    today = today or business_date()
    return "open" if event.status == EventStatus.OPEN and today <= event.registration_closes_on else "closed"
