"""Matchmaking-event services: events (who organises, dates, slots), registration (who, when, desks, demands),
proposing meetings from matches (named demand first, a registered head office's tree, ineligible matches and
withdrawn products left out, existing meetings kept, idempotent), manual meetings (double bookings refused naming
slot and desk, also when the check is raced: the database constraints hold), withdrawal, cancellation, outcomes
(dates, no-show, follow-up, loan of that enterprise from that bank tree, the demand marked financed) and closing."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from ipledge.core.choices import Role
from ipledge.core.context import as_of, business_date
from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.lending.models import Loan
from ipledge.market.choices import (
    DemandStatus,
    EventStatus,
    MeetingOutcome,
    MeetingStatus,
    ProductStatus,
)
from ipledge.market.engine import scheduling
from ipledge.market.models import DemandShare, EventParticipant, Meeting
from ipledge.market.services import events as services
from tests.lending.factories import approved_loan
from tests.market.factories_events import (
    Setup,
    demand,
    enterprise_with_login,
    event,
    event_with_matches,
    live_product,
    match,
    register_bank,
    register_enterprise,
)
from tests.world import World

pytestmark = pytest.mark.django_db


def rules(exc: ValidationError) -> dict[str, set[str]]:
    return {name: {e.code or "" for e in errors} for name, errors in exc.error_dict.items()}


def refused(field: str, code: str, run: Any, *args: Any, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info, transaction.atomic():
        run(*args, **kwargs)
    assert code in rules(info.value).get(field, set()), rules(info.value)
    return info.value


def pairs(s: Setup) -> set[tuple[str, str, int, int]]:
    names = {p.pk: k for k, p in {**s.banks, **s.enterprises}.items()}
    return {
        (names[m.bank_participant_id], names[m.enterprise_participant_id], m.slot, m.desk)
        for m in Meeting.objects.filter(event=s.event).exclude(status=MeetingStatus.CANCELLED)
    }


# ---------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------


def test_park_and_ip_office_organise_with_region_and_audit(world: World) -> None:
    e = event(world)
    assert e.status == EventStatus.OPEN and e.organiser == world.orgs["park1"] and e.region_code == "110108"
    assert AuditEvent.objects.filter(action="matchmaking_event.create", object_id=str(e.pk)).exists()
    assert e.slot_start(3).isoformat() == "10:00:00"
    office = event(world, organiser="ipo_js")
    assert office.park is None and office.region_code == "320000"


def test_event_create_refusals(world: World) -> None:
    today = business_date()
    base = {
        "title": "对接会",
        "place": "会议室",
        "event_date": today + datetime.timedelta(days=5),
        "registration_closes_on": today + datetime.timedelta(days=2),
    }
    park1 = world.user("park1")
    refused(
        "event_date",
        "past",
        services.event_create,
        acting_user=park1,
        **{
            **base,
            "event_date": today - datetime.timedelta(days=1),
            "registration_closes_on": today - datetime.timedelta(days=3),
        },
    )
    refused(
        "registration_closes_on",
        "after_event",
        services.event_create,
        acting_user=park1,
        **{**base, "registration_closes_on": today + datetime.timedelta(days=6)},
    )
    refused("slot_count", "range", services.event_create, acting_user=park1, slot_count=49, **base)
    refused("slot_minutes", "range", services.event_create, acting_user=park1, slot_minutes=4, **base)
    refused(
        "slot_count",
        "past_midnight",
        services.event_create,
        acting_user=park1,
        starts_at=datetime.time(20, 0),
        slot_minutes=60,
        slot_count=5,
        **base,
    )
    refused("park", "other_park", services.event_create, acting_user=park1, park=world.parks["p2"], **base)
    refused(
        "park",
        "outside_region",
        services.event_create,
        acting_user=world.user("ipo_bj"),
        park=world.parks["p2"],
        **base,
    )
    refused("title", "required", services.event_create, acting_user=park1, **{**base, "title": " "})
    for user in (world.user("bank1"), world.user("ent1"), world.user("park1", Role.REVIEWER)):
        with pytest.raises(PermissionDenied):
            services.event_create(acting_user=user, **base)  # type: ignore[arg-type]


def test_event_update_and_cancel_only_by_the_organiser(world: World) -> None:
    s = event_with_matches(world)
    e = s.event
    with pytest.raises(PermissionDenied):
        services.event_update(event=e, data={"title": "x"}, acting_user=world.user("park2"))
    with pytest.raises(PermissionDenied):
        services.event_update(event=e, data={"title": "x"}, acting_user=world.user("bank1_sub"))
    e = services.event_update(event=e, data={"theme": "  新主题 "}, acting_user=world.user("park1"))
    assert e.theme == "新主题"
    refused(
        "status",
        "not_editable",
        services.event_update,
        event=e,
        data={"status": "held"},
        acting_user=world.user("park1"),
    )
    services.meetings_propose(event=e, acting_user=world.user("park1"))
    last = Meeting.objects.filter(event=e).order_by("-slot").first()
    assert last is not None and last.slot >= 1
    refused(
        "slot_count",
        "meetings_beyond",
        services.event_update,
        event=e,
        data={"slot_count": last.slot - 1 or 0},
        acting_user=world.user("park1"),
    )
    e = services.event_cancel(event=e, note="场地调整", acting_user=world.user("park1"))
    assert e.status == EventStatus.CANCELLED
    assert not Meeting.objects.filter(event=e).exclude(status=MeetingStatus.CANCELLED).exists()
    refused("status", "invalid_state", services.event_cancel, event=e, acting_user=world.user("park1"))


# ---------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------


def test_registration_rules(world: World) -> None:
    e = event(world)
    bank = world.orgs["bank1_sub"]
    refused(
        "desks",
        "range",
        services.participant_register,
        event=e,
        organisation=bank,
        desks=0,
        acting_user=world.user("bank1_sub"),
    )
    refused(
        "desks",
        "range",
        services.participant_register,
        event=e,
        organisation=bank,
        desks=21,
        acting_user=world.user("bank1_sub"),
    )
    # The head office registers its sub-branch; a sub-branch cannot register its head office.
    p = services.participant_register(event=e, organisation=bank, desks=20, acting_user=world.user("bank1"))
    assert p.kind == "bank" and p.desks == 20
    with pytest.raises(PermissionDenied):
        services.participant_register(event=e, organisation=world.orgs["bank1"], acting_user=world.user("bank1_sub"))
    refused(
        "organisation",
        "unique",
        services.participant_register,
        event=e,
        organisation=bank,
        acting_user=world.user("bank1_sub"),
    )
    # Enterprises: own demand only, and an active one.
    other = demand(world.enterprises["e2"])
    refused(
        "demand",
        "other_enterprise",
        services.participant_register,
        event=e,
        organisation=world.orgs["ent1"],
        demand=other,
        acting_user=world.user("ent1"),
    )
    closed = demand(world.enterprises["e1"], status=DemandStatus.WITHDRAWN)
    refused(
        "demand",
        "inactive",
        services.participant_register,
        event=e,
        organisation=world.orgs["ent1"],
        demand=closed,
        acting_user=world.user("ent1"),
    )
    with pytest.raises(PermissionDenied):
        services.participant_register(event=e, organisation=world.orgs["ent1"], acting_user=world.user("bank1_sub"))
    with pytest.raises(PermissionDenied):
        services.participant_register(
            event=e, organisation=world.orgs["ent1"], acting_user=world.user("ent1", Role.VIEWER)
        )
    refused(
        "organisation",
        "kind",
        services.participant_register,
        event=e,
        organisation=world.orgs["insurer"],
        acting_user=world.user("park1"),
    )
    # The organiser registers an enterprise.
    ent = services.participant_register(event=e, organisation=world.orgs["ent2"], acting_user=world.user("park1"))
    assert ent.enterprise == world.enterprises["e2"] and ent.registered_by == world.user("park1")


def test_registration_closes(world: World) -> None:
    e = event(world, days_ahead=10)  # closes 3 days before
    with as_of(e.registration_closes_on):
        register_bank(world, e, "bank2")  # the closing day itself is still open
    with as_of(e.registration_closes_on + datetime.timedelta(days=1)):
        refused("event", "registration_closed", register_bank, world, e, "bank1_sub")
    s = event_with_matches(world)
    services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    refused("event", "not_open", register_bank, world, s.event, "bank1_br")


def test_withdraw_cancels_meetings_and_allows_registering_again(world: World) -> None:
    s = event_with_matches(world)
    services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    e1 = s.enterprises["e1"]
    assert Meeting.objects.filter(enterprise_participant=e1, status=MeetingStatus.PROPOSED).count() == 2
    with pytest.raises(PermissionDenied):
        services.participant_withdraw(participant=e1, acting_user=world.user("ent2"))
    services.participant_withdraw(participant=e1, acting_user=world.user("ent1"))
    e1.refresh_from_db()
    assert e1.withdrawn_at is not None
    assert not Meeting.objects.filter(enterprise_participant=e1).exclude(status=MeetingStatus.CANCELLED).exists()
    refused(
        "withdrawn_at", "invalid_state", services.participant_withdraw, participant=e1, acting_user=world.user("ent1")
    )
    fresh = event(world)
    p = register_bank(world, fresh, "bank2", desks=2)
    services.participant_withdraw(participant=p, acting_user=world.user("park1"))
    again = register_bank(world, fresh, "bank2", desks=3)
    assert again.pk == p.pk and again.withdrawn_at is None and again.desks == 3


# ---------------------------------------------------------------------------
# Proposals
# ---------------------------------------------------------------------------


def test_propose_builds_meetings_from_eligible_matches(world: World) -> None:
    s = event_with_matches(world)
    result = services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    # E1 (no named demand: all active) meets bank1_sub (90) and bank2 (80); E2 (named demand) meets bank2 (60):
    # bank1's head-office product does not count for bank1_sub below it; the ineligible 95 is ignored.
    assert pairs(s) == {("bank1_sub", "e1", 1, 1), ("bank2", "e1", 2, 1), ("bank2", "e2", 1, 1)}
    assert len(result.created) == 3 and result.left_out == [] and result.kept == 0
    by_pair = {(m.bank_participant_id, m.enterprise_participant_id): m for m in result.created}
    assert by_pair[(s.banks["bank1_sub"].pk, s.enterprises["e1"].pk)].match == s.matches["e1_sub"]
    s.event.refresh_from_db()
    assert s.event.status == EventStatus.SCHEDULED
    assert AuditEvent.objects.filter(action="matchmaking_event.propose", object_id=str(s.event.pk)).exists()
    # Again: nothing new, the schedule is kept.
    again = services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    assert again.created == [] and again.kept == 3 and len(pairs(s)) == 3


def test_named_demand_first_withdrawn_products_and_head_office_tree(world: World) -> None:
    e = event(world)
    other = demand(world.enterprises["e1"])
    named = demand(world.enterprises["e1"])
    br_product = live_product(world.orgs["bank1_br"])  # below bank1: counts for a registered bank1
    sub_product = live_product(world.orgs["bank1_sub"])  # bank1_sub is registered itself: counts for it
    gone = live_product(world.orgs["bank2"])
    match(named, br_product, score=70)
    match(other, sub_product, score=99)  # not the named demand: ignored
    match(named, gone, score=88)
    gone.status = ProductStatus.WITHDRAWN
    gone.save()
    head = register_bank(world, e, "bank1", desks=1)
    sub = register_bank(world, e, "bank1_sub", desks=1)
    register_bank(world, e, "bank2")
    ent = register_enterprise(world, e, "ent1", demand=named)
    services.meetings_propose(event=e, acting_user=world.user("park1"))
    met = set(Meeting.objects.filter(event=e).values_list("bank_participant_id", "enterprise_participant_id"))
    assert met == {(head.pk, ent.pk)}
    # Without a named demand, every active demand counts: the sub-branch's product goes to the sub-branch.
    match(named, sub_product, score=65)
    services.meetings_propose(event=e, acting_user=world.user("park1"))
    met = set(Meeting.objects.filter(event=e).values_list("bank_participant_id", "enterprise_participant_id"))
    assert met == {(head.pk, ent.pk), (sub.pk, ent.pk)}


def test_propose_respects_capacity_and_cap(world: World) -> None:
    e = event(world, slot_count=2)
    bank = register_bank(world, e, "bank2", desks=1)
    product = live_product(world.orgs["bank2"])
    people = []
    for i in range(3):
        ent = enterprise_with_login(world, f"ex{i}", name=f"北京测试企业{i}有限公司")
        match(demand(ent), product, score=50 + i)
        people.append(register_enterprise(world, e, f"ex{i}"))
    result = services.meetings_propose(event=e, acting_user=world.user("park1"))
    assert len(result.created) == 2
    assert [(x.enterprise.pk, x.reason) for x in result.left_out] == [(people[0].pk, scheduling.NO_FREE_SLOT)]
    assert {m.enterprise_participant_id for m in result.created} == {people[1].pk, people[2].pk}
    assert bank.bank_meetings.count() == 2
    refused(
        "max_per_enterprise",
        "min_value",
        services.meetings_propose,
        event=e,
        acting_user=world.user("park1"),
        max_per_enterprise=0,
    )


def test_propose_refusals(world: World) -> None:
    e = event(world)
    refused("participants", "no_participants", services.meetings_propose, event=e, acting_user=world.user("park1"))
    register_bank(world, e, "bank2")
    refused("participants", "no_participants", services.meetings_propose, event=e, acting_user=world.user("park1"))
    with pytest.raises(PermissionDenied):
        services.meetings_propose(event=e, acting_user=world.user("bank2"))
    with pytest.raises(PermissionDenied):
        services.meetings_propose(event=e, acting_user=world.user("park2"))


# ---------------------------------------------------------------------------
# Manual meetings and double booking
# ---------------------------------------------------------------------------


def test_meeting_add_refuses_double_bookings_naming_slot_and_desk(world: World) -> None:
    s = event_with_matches(world)
    services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    park1 = world.user("park1")
    sub, b2, e1, e2 = s.banks["bank1_sub"], s.banks["bank2"], s.enterprises["e1"], s.enterprises["e2"]
    # bank1_sub desk 1 is taken in slot 1 by E1.
    exc = refused(
        "slot",
        "desk_busy",
        services.meeting_add,
        event=s.event,
        bank_participant=sub,
        enterprise_participant=e2,
        slot=1,
        desk=1,
        acting_user=park1,
    )
    assert "第1场" in exc.messages[0] and "1号洽谈台" in exc.messages[0] and "09:00" in exc.messages[0]
    # E2 is busy in slot 1 (with bank2).
    refused(
        "slot",
        "enterprise_busy",
        services.meeting_add,
        event=s.event,
        bank_participant=sub,
        enterprise_participant=e2,
        slot=1,
        desk=2,
        acting_user=park1,
    )
    # bank2 meets E1 already.
    refused(
        "enterprise_participant",
        "pair_once",
        services.meeting_add,
        event=s.event,
        bank_participant=b2,
        enterprise_participant=e1,
        slot=3,
        desk=1,
        acting_user=park1,
    )
    refused(
        "slot",
        "range",
        services.meeting_add,
        event=s.event,
        bank_participant=sub,
        enterprise_participant=e2,
        slot=5,
        desk=1,
        acting_user=park1,
    )
    refused(
        "desk",
        "range",
        services.meeting_add,
        event=s.event,
        bank_participant=sub,
        enterprise_participant=e2,
        slot=2,
        desk=3,
        acting_user=park1,
    )
    refused(
        "bank_participant",
        "kind",
        services.meeting_add,
        event=s.event,
        bank_participant=e1,
        enterprise_participant=e2,
        slot=2,
        desk=1,
        acting_user=park1,
    )
    refused(
        "match",
        "other_pair",
        services.meeting_add,
        event=s.event,
        bank_participant=sub,
        enterprise_participant=e2,
        slot=2,
        desk=1,
        match=s.matches["e1_b2"],
        acting_user=park1,
    )
    with pytest.raises(PermissionDenied):
        services.meeting_add(
            event=s.event,
            bank_participant=sub,
            enterprise_participant=e2,
            slot=2,
            desk=1,
            acting_user=world.user("bank1_sub"),
        )
    added = services.meeting_add(
        event=s.event, bank_participant=sub, enterprise_participant=e2, slot=2, desk=1, acting_user=park1
    )
    assert added.status == MeetingStatus.PROPOSED and (added.slot, added.desk) == (2, 1)


def test_database_constraints_hold_when_the_check_is_raced(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    s = event_with_matches(world)
    services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    sub, e2 = s.banks["bank1_sub"], s.enterprises["e2"]
    # Straight into the table: the unique constraint refuses a second booking of bank1_sub's desk 1 in slot 1.
    with pytest.raises(IntegrityError), transaction.atomic():
        Meeting.objects.create(event=s.event, bank_participant=sub, enterprise_participant=e2, slot=1, desk=1)
    # The service's own check raced (it saw a free slot): the constraint still refuses, reported as a field error.
    real = services._busy_error
    calls = {"n": 0}

    def blind_first(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return None if calls["n"] == 1 else real(*args, **kwargs)

    monkeypatch.setattr(services, "_busy_error", blind_first)
    refused(
        "slot",
        "desk_busy",
        services.meeting_add,
        event=s.event,
        bank_participant=sub,
        enterprise_participant=e2,
        slot=1,
        desk=1,
        acting_user=world.user("park1"),
    )
    assert Meeting.objects.filter(event=s.event, bank_participant=sub, slot=1, desk=1).count() == 1


def test_a_proposal_racing_a_manual_meeting_never_double_books(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    s = event_with_matches(world)
    sub, e2 = s.banks["bank1_sub"], s.enterprises["e2"]
    real_schedule = scheduling.schedule

    def stale_schedule(**kwargs: Any) -> scheduling.Schedule:
        plan = real_schedule(**kwargs)
        # Meanwhile the organiser booked E2 at bank1_sub's desk 1 in slot 1 (the engine did not see it).
        Meeting.objects.create(event=s.event, bank_participant=sub, enterprise_participant=e2, slot=1, desk=1)
        return plan

    monkeypatch.setattr(scheduling, "schedule", stale_schedule)
    result = services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    assert [x.reason for x in result.left_out] == ["conflict", "conflict"]  # bank1_sub/E1 at 1/1, bank2/E2 at 1
    live = Meeting.objects.filter(event=s.event).exclude(status=MeetingStatus.CANCELLED)
    assert live.filter(bank_participant=sub, slot=1, desk=1).count() == 1
    assert live.filter(enterprise_participant=e2, slot=1).count() == 1


def test_meeting_cancel(world: World) -> None:
    s = event_with_matches(world)
    result = services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    m = result.created[0]
    with pytest.raises(PermissionDenied):
        services.meeting_cancel(meeting=m, acting_user=world.user("bank1_sub"))
    m = services.meeting_cancel(meeting=m, note="企业时间冲突", acting_user=world.user("park1"))
    assert m.status == MeetingStatus.CANCELLED
    refused("status", "invalid_state", services.meeting_cancel, meeting=m, acting_user=world.user("park1"))
    # The slot is free again.
    services.meeting_add(
        event=s.event,
        bank_participant=m.bank_participant,
        enterprise_participant=m.enterprise_participant,
        slot=m.slot,
        desk=m.desk,
        acting_user=world.user("park1"),
    )


# ---------------------------------------------------------------------------
# Outcomes and closing
# ---------------------------------------------------------------------------


def _meeting(s: Setup, bank: str, ent: str) -> Meeting:
    return Meeting.objects.get(
        event=s.event,
        bank_participant=s.banks[bank],
        enterprise_participant=s.enterprises[ent],
        status__in=[MeetingStatus.PROPOSED, MeetingStatus.HELD, MeetingStatus.NO_SHOW],
    )


def test_outcome_rules(world: World) -> None:
    s = event_with_matches(world)
    services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    m = _meeting(s, "bank1_sub", "e1")
    bank = world.user("bank1_sub")
    refused("status", "not_yet", services.meeting_record_outcome, meeting=m, status="held", acting_user=bank)
    with as_of(s.event.event_date):
        for user in (world.user("ent1"), world.user("bank2"), world.user("bank1_sub", Role.REVIEWER)):
            with pytest.raises(PermissionDenied):
                services.meeting_record_outcome(meeting=m, status="held", acting_user=user)
        refused("status", "choice", services.meeting_record_outcome, meeting=m, status="proposed", acting_user=bank)
        refused(
            "outcome",
            "no_show",
            services.meeting_record_outcome,
            meeting=m,
            status="no_show",
            outcome="intent",
            acting_user=bank,
        )
        refused(
            "follow_up_on",
            "required",
            services.meeting_record_outcome,
            meeting=m,
            status="held",
            outcome="follow_up",
            acting_user=bank,
        )
        refused(
            "follow_up_on",
            "before_event",
            services.meeting_record_outcome,
            meeting=m,
            status="held",
            outcome="follow_up",
            follow_up_on=s.event.event_date - datetime.timedelta(days=1),
            acting_user=bank,
        )
        refused(
            "intended_amount",
            "positive",
            services.meeting_record_outcome,
            meeting=m,
            status="held",
            outcome="intent",
            intended_amount=Money(0),
            acting_user=bank,
        )
        refused(
            "intended_amount",
            "not_allowed",
            services.meeting_record_outcome,
            meeting=m,
            status="held",
            outcome="no_interest",
            intended_amount=Money(5),
            acting_user=bank,
        )
        refused(
            "loan",
            "required",
            services.meeting_record_outcome,
            meeting=m,
            status="held",
            outcome="loan",
            acting_user=bank,
        )
        m = services.meeting_record_outcome(
            meeting=m,
            status="held",
            outcome="intent",
            intended_amount=Money("1500000.55"),
            note="拟授信",
            acting_user=bank,
        )
        assert m.outcome == MeetingOutcome.INTENT and m.intended_amount == Money("1500000.55")
        assert m.recorded_by == bank and m.outcome_note == "拟授信"
        # Recorded again (corrected) by the bank's head office.
        m = services.meeting_record_outcome(
            meeting=m,
            status="held",
            outcome="follow_up",
            follow_up_on=s.event.event_date + datetime.timedelta(days=7),
            acting_user=world.user("bank1"),
        )
        assert m.outcome == MeetingOutcome.FOLLOW_UP and m.intended_amount is None
        no_show = services.meeting_record_outcome(
            meeting=_meeting(s, "bank2", "e2"), status="no_show", acting_user=world.user("park1")
        )
        assert no_show.status == MeetingStatus.NO_SHOW and no_show.outcome == ""


def test_loan_outcome_checks_the_loan_and_marks_the_demand_financed(world: World) -> None:
    s = event_with_matches(world)
    services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    m = _meeting(s, "bank1_sub", "e1")
    wrong_borrower = approved_loan(world, borrower="e2", bank="bank1_sub", start=business_date())
    wrong_bank = approved_loan(world, borrower="e1", bank="bank2", start=business_date())
    loan = approved_loan(world, borrower="e1", bank="bank1_sub", principal="1200000.00", start=business_date())
    pending = approved_loan(world, borrower="e1", bank="bank1_sub", start=business_date())
    Loan.objects.filter(pk=pending.pk).update(status=500)
    park1 = world.user("park1")
    with as_of(s.event.event_date):
        common = {"meeting": m, "status": "held", "outcome": "loan", "acting_user": park1}
        refused("loan", "other_enterprise", services.meeting_record_outcome, loan=wrong_borrower, **common)
        refused("loan", "other_bank", services.meeting_record_outcome, loan=wrong_bank, **common)
        refused("loan", "not_granted", services.meeting_record_outcome, loan=pending, **common)
        refused("loan", "not_allowed", services.meeting_record_outcome, **{**common, "outcome": "intent"}, loan=loan)
        m = services.meeting_record_outcome(intended_amount=Money("1200000"), loan=loan, **common)
    assert m.loan == loan and m.outcome == MeetingOutcome.LOAN
    # The meeting came from E1's demand's match; the park (organiser) may close E1's demand: it is financed.
    d = s.demands["e1"]
    d.refresh_from_db()
    assert d.status == DemandStatus.FINANCED and d.loan == loan
    event_audit = AuditEvent.objects.get(action="meeting.loan_demand", object_id=str(m.pk))
    assert event_audit.changes["extra"]["demand_link"] == "linked"


def test_the_lending_bank_recording_a_loan_closes_the_demand_shared_with_it(world: World) -> None:
    s = event_with_matches(world)
    DemandShare.objects.create(demand=s.demands["e2"], bank=world.orgs["bank2"])
    services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    m = _meeting(s, "bank2", "e2")
    loan = approved_loan(world, borrower="e2", bank="bank2", principal="600000.00", start=business_date())
    with as_of(s.event.event_date):
        m = services.meeting_record_outcome(
            meeting=m, status="held", outcome="loan", loan=loan, acting_user=world.user("bank2")
        )
    assert m.loan == loan
    s.demands["e2"].refresh_from_db()
    assert s.demands["e2"].status == DemandStatus.FINANCED and s.demands["e2"].loan == loan
    audit = AuditEvent.objects.get(action="meeting.loan_demand", object_id=str(m.pk))
    assert audit.changes["extra"]["demand_link"] == "linked"


def test_a_bank_the_demand_was_not_shared_with_records_the_loan_on_the_meeting_only(world: World) -> None:
    s = event_with_matches(world)
    services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    m = _meeting(s, "bank2", "e2")
    loan = approved_loan(world, borrower="e2", bank="bank2", principal="600000.00", start=business_date())
    with as_of(s.event.event_date):
        m = services.meeting_record_outcome(
            meeting=m, status="held", outcome="loan", loan=loan, acting_user=world.user("bank2")
        )
    assert m.loan == loan
    s.demands["e2"].refresh_from_db()
    assert s.demands["e2"].status != DemandStatus.FINANCED
    audit = AuditEvent.objects.get(action="meeting.loan_demand", object_id=str(m.pk))
    assert audit.changes["extra"]["demand_link"] == "not_permitted"


def test_mark_held_and_close_past_events(world: World) -> None:
    s = event_with_matches(world)
    refused("status", "invalid_state", services.event_mark_held, event=s.event, acting_user=world.user("park1"))
    services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    refused("event_date", "not_yet", services.event_mark_held, event=s.event, acting_user=world.user("park1"))
    with pytest.raises(PermissionDenied):
        services.event_mark_held(event=s.event, acting_user=world.user("bank2"))
    assert services.events_close(today=s.event.event_date) == 0  # the day itself is not past
    assert services.events_close(today=s.event.event_date + datetime.timedelta(days=1)) == 1
    s.event.refresh_from_db()
    assert s.event.status == EventStatus.HELD
    assert AuditEvent.objects.filter(action="matchmaking_event.held", actor__isnull=True).exists()
    other = event_with_matches(world, organiser="ipo_bj")
    services.meetings_propose(event=other.event, acting_user=world.user("ipo_bj"))
    with as_of(other.event.event_date):
        held = services.event_mark_held(event=other.event, acting_user=world.user("ipo_bj"))
    assert held.status == EventStatus.HELD
    assert EventParticipant.objects.filter(event=other.event).count() == 4
