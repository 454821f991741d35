"""API schemas of the matchmaking-events area (银企对接活动): events, registrations, meetings, outcomes and the report.

Money travels as a decimal string in yuan with two places (`"2000000.00"`), never as a JSON number; times of day as
"HH:MM". Names carry the prefix `MarketEvent…` so that no OpenAPI component collides with another area's.
"""

import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema

from ipledge.core.apikit import MAX_ID
from ipledge.core.schemas import InputSchema
from ipledge.registry.schemas import MoneyStr, OrgRef, money_out

from .choices import EventStatus, MeetingOutcome, MeetingStatus, ParticipantKind

ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _username(user: Any) -> str | None:
    return None if user is None else str(user.get_username())


def _hhmm(value: datetime.time) -> str:
    return value.strftime("%H:%M")


def _slot_end(event: Any, slot: int) -> datetime.time:
    start = datetime.datetime.combine(event.event_date, event.slot_start(slot))
    return (start + datetime.timedelta(minutes=event.slot_minutes)).time()


# ---------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------


class MarketEventParkRef(Schema):
    id: int
    name: str


class MarketEventSlot(Schema):
    number: int
    starts_at: str = Field(..., description="Start of the slot, HH:MM.")
    ends_at: str = Field(..., description="End of the slot, HH:MM.")


class MarketEventOut(Schema):
    id: int
    title: str
    theme: str
    description: str
    organiser: OrgRef
    park: MarketEventParkRef | None
    region_code: str
    place: str
    event_date: datetime.date
    starts_at: str = Field(..., description="Start of the first slot, HH:MM.")
    slot_minutes: int
    slot_count: int
    slots: list[MarketEventSlot]
    registration_closes_on: datetime.date
    status: EventStatus
    status_label: str
    banks: int = Field(..., description="Banks registered (not withdrawn).")
    enterprises: int = Field(..., description="Enterprises registered (not withdrawn).")
    created_at: datetime.datetime

    @staticmethod
    def resolve_starts_at(obj: Any) -> str:
        return _hhmm(obj.starts_at)

    @staticmethod
    def resolve_slots(obj: Any) -> list[dict[str, Any]]:
        return [
            {"number": n, "starts_at": _hhmm(obj.slot_start(n)), "ends_at": _hhmm(_slot_end(obj, n))}
            for n in range(1, obj.slot_count + 1)
        ]

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_banks(obj: Any) -> int:
        value = getattr(obj, "bank_count", None)
        if value is None:
            value = obj.participants.filter(kind=ParticipantKind.BANK, withdrawn_at__isnull=True).count()
        return int(value)

    @staticmethod
    def resolve_enterprises(obj: Any) -> int:
        value = getattr(obj, "enterprise_count", None)
        if value is None:
            value = obj.participants.filter(kind=ParticipantKind.ENTERPRISE, withdrawn_at__isnull=True).count()
        return int(value)


class MarketEventIn(InputSchema):
    title: str = Field(..., min_length=1, max_length=160)
    theme: str = Field("", max_length=200)
    description: str = Field("", max_length=4000)
    park_id: ObjectId | None = Field(None, description="The park hosting the event (a park you administer).")
    place: str = Field(..., min_length=1, max_length=200)
    event_date: datetime.date = Field(..., description="Not in the past.")
    starts_at: datetime.time = Field(datetime.time(9, 0), description="Start of the first slot.")
    slot_minutes: int = Field(20, ge=5, le=240)
    slot_count: int = Field(9, ge=1, le=48)
    registration_closes_on: datetime.date = Field(..., description="On or before the event date.")
    organiser_id: ObjectId | None = Field(
        None, description="The organising IP office or park administration (yours or one below it); default: yours."
    )


class MarketEventPatch(InputSchema):
    title: str | None = Field(None, min_length=1, max_length=160)
    theme: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=4000)
    park_id: ObjectId | None = None
    place: str | None = Field(None, min_length=1, max_length=200)
    event_date: datetime.date | None = None
    starts_at: datetime.time | None = None
    slot_minutes: int | None = Field(None, ge=5, le=240)
    slot_count: int | None = Field(None, ge=1, le=48)
    registration_closes_on: datetime.date | None = None


class MarketEventFilter(Schema):
    when: Literal["upcoming", "past"] | None = Field(
        None, description="upcoming: today or later (soonest first); past: before today (latest first)."
    )
    status: EventStatus | None = None


class MarketEventNoteIn(InputSchema):
    note: str = Field("", max_length=500)


# ---------------------------------------------------------------------------
# Participants
# ---------------------------------------------------------------------------


class MarketEventEnterpriseRef(Schema):
    id: int
    name: str
    uscc: str


class MarketEventDemandRef(Schema):
    id: int
    reference: str


class MarketEventParticipantOut(Schema):
    id: int
    event_id: int
    organisation: OrgRef
    kind: ParticipantKind
    enterprise: MarketEventEnterpriseRef | None
    demand: MarketEventDemandRef | None
    desks: int
    contact_name: str
    registered_by: str | None
    registered_at: datetime.datetime
    withdrawn_at: datetime.datetime | None

    @staticmethod
    def resolve_registered_by(obj: Any) -> str | None:
        return _username(obj.registered_by)


class MarketEventRegisterIn(InputSchema):
    organisation_id: ObjectId | None = Field(
        None, description="The bank or enterprise registering (yours, one below yours, or any for the organiser)."
    )
    desks: int = Field(1, ge=1, le=20, description="A bank's desks (洽谈台); 1 for an enterprise.")
    contact_name: str = Field("", max_length=64)
    demand_id: ObjectId | None = Field(None, description="An enterprise's active demand to discuss (optional).")


# ---------------------------------------------------------------------------
# Meetings
# ---------------------------------------------------------------------------


class MarketEventSide(Schema):
    participant_id: int
    organisation: OrgRef


class MarketEventLoanRef(Schema):
    id: int
    reference: str


class MarketEventMeetingOut(Schema):
    id: int
    event_id: int
    slot: int
    starts_at: str
    ends_at: str
    desk: int
    bank: MarketEventSide
    enterprise: MarketEventSide
    match_id: int | None
    score: str | None = Field(None, description="The match score the meeting was proposed from.")
    status: MeetingStatus
    outcome: MeetingOutcome
    outcome_note: str
    intended_amount: str | None
    follow_up_on: datetime.date | None
    loan: MarketEventLoanRef | None
    recorded_by: str | None
    recorded_at: datetime.datetime | None

    @staticmethod
    def resolve_starts_at(obj: Any) -> str:
        return _hhmm(obj.event.slot_start(obj.slot))

    @staticmethod
    def resolve_ends_at(obj: Any) -> str:
        return _hhmm(_slot_end(obj.event, obj.slot))

    @staticmethod
    def resolve_bank(obj: Any) -> dict[str, Any]:
        return {"participant_id": obj.bank_participant_id, "organisation": obj.bank_participant.organisation}

    @staticmethod
    def resolve_enterprise(obj: Any) -> dict[str, Any]:
        return {
            "participant_id": obj.enterprise_participant_id,
            "organisation": obj.enterprise_participant.organisation,
        }

    @staticmethod
    def resolve_score(obj: Any) -> str | None:
        return None if obj.match_id is None or obj.match is None else f"{obj.match.score:.2f}"

    @staticmethod
    def resolve_intended_amount(obj: Any) -> str | None:
        return money_out(obj.intended_amount)

    @staticmethod
    def resolve_recorded_by(obj: Any) -> str | None:
        return _username(obj.recorded_by)


class MarketEventMeetingIn(InputSchema):
    bank_participant_id: ObjectId
    enterprise_participant_id: ObjectId
    slot: int = Field(..., ge=1, le=48)
    desk: int = Field(1, ge=1, le=20)
    match_id: ObjectId | None = Field(None, description="The match the meeting follows (optional).")


class MarketEventOutcomeIn(InputSchema):
    status: Literal["held", "no_show"]
    outcome: MeetingOutcome = Field(MeetingOutcome.NONE, description="Empty for a no-show.")
    intended_amount: MoneyStr | None = None
    follow_up_on: datetime.date | None = Field(None, description="Required for a follow-up; not before the event.")
    loan_id: ObjectId | None = Field(None, description="For outcome `loan`: a granted loan of the enterprise.")
    note: str = Field("", max_length=2000)


class MarketEventProposeIn(InputSchema):
    max_per_enterprise: int | None = Field(None, ge=1, le=48, description="At most this many meetings per enterprise.")


class MarketEventLeftOut(Schema):
    bank_participant_id: int
    enterprise_participant_id: int
    score: str
    match_id: int | None
    reason: str = Field(..., description="no_free_slot, enterprise_cap, no_desk or conflict.")


class MarketEventProposalOut(Schema):
    created: list[MarketEventMeetingOut]
    kept: int = Field(..., description="Meetings already in the schedule, kept where they were.")
    candidates: int = Field(..., description="Distinct bank-enterprise pairs with an eligible match.")
    left_out: list[MarketEventLeftOut]


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


class MarketEventReportRegistrations(Schema):
    banks: int
    enterprises: int
    desks: int
    withdrawn: int


class MarketEventReportMeetings(Schema):
    scheduled: int = Field(..., description="Every meeting not cancelled.")
    pending: int = Field(..., description="Not yet recorded.")
    held: int
    no_show: int
    cancelled: int
    enterprises_met: int
    banks_met: int


class MarketEventReportOutcome(Schema):
    outcome: MeetingOutcome
    label: str
    meetings: int
    intended_amount: str


class MarketEventReportLoans(Schema):
    count: int
    amount: str = Field(..., description="Sum of the loans' approved principal (each loan once), yuan.")


class MarketEventReportOut(Schema):
    event_id: int
    registrations: MarketEventReportRegistrations
    meetings: MarketEventReportMeetings
    outcomes: list[MarketEventReportOutcome]
    intended_total: str
    loans: MarketEventReportLoans
