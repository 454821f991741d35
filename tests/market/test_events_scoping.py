"""Who reaches which registrations and meetings: the organiser (and organisations above it) everything; a bank its
own tree's desks and the enterprises it meets; an enterprise its own meetings only; another park's organiser or an
unrelated bank nothing beyond the announcement; the scoped report of a bank counts only its own desks."""

from __future__ import annotations

import pytest

from ipledge.core.choices import Role
from ipledge.core.scoping import Action
from ipledge.market import selectors_events as selectors
from ipledge.market.models import EventParticipant, MatchmakingEvent, Meeting
from ipledge.market.services import events as services
from tests.market.factories_events import Setup, event_with_matches
from tests.world import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def s(world: World) -> Setup:
    setup = event_with_matches(world)
    services.meetings_propose(event=setup.event, acting_user=world.user("park1"))
    return setup


def seen(world: World, org: str, s: Setup, role: str = Role.VIEWER) -> set[tuple[str, str]]:
    names = {p.pk: k for k, p in {**s.banks, **s.enterprises}.items()}
    return {
        (names[m.bank_participant_id], names[m.enterprise_participant_id])
        for m in selectors.meetings(user=world.user(org, role), event=s.event)
    }


ALL = {("bank1_sub", "e1"), ("bank2", "e1"), ("bank2", "e2")}


def test_meetings_each_organisation_sees(world: World, s: Setup) -> None:
    assert seen(world, "park1", s) == ALL
    assert seen(world, "bank1_sub", s) == {("bank1_sub", "e1")}
    assert seen(world, "bank1", s) == {("bank1_sub", "e1")}  # the head office sees its tree's desks
    assert seen(world, "bank1_br2", s) == set()  # a sibling branch does not
    assert seen(world, "bank2", s) == {("bank2", "e1"), ("bank2", "e2")}
    assert seen(world, "ent1", s) == {("bank1_sub", "e1"), ("bank2", "e1")}
    assert seen(world, "ent2", s) == {("bank2", "e2")}
    assert seen(world, "park2", s) == set() and seen(world, "ipo_bj", s) == set()


def test_registrations_each_organisation_sees(world: World, s: Setup) -> None:
    def names(org: str) -> set[str]:
        return {p.organisation.name for p in selectors.participants(user=world.user(org, Role.VIEWER), event=s.event)}

    assert len(names("park1")) == 4
    # A bank sees its own registration and the enterprises it meets, not the other bank.
    assert names("bank2") == {world.orgs["bank2"].name, world.orgs["ent1"].name, world.orgs["ent2"].name}
    assert names("bank1_sub") == {world.orgs["bank1_sub"].name, world.orgs["ent1"].name}
    assert names("ent2") == {world.orgs["ent2"].name}
    assert names("park2") == set()
    # Everyone signed in sees the event itself; only its organiser may change it.
    for org in ("park2", "bank2", "ent2", "ipo_js"):
        assert MatchmakingEvent.objects.restrict(world.user(org, Role.VIEWER), Action.VIEW).filter(pk=s.event.pk)
        assert not MatchmakingEvent.objects.restrict(world.user(org), Action.CHANGE).filter(pk=s.event.pk)
    assert MatchmakingEvent.objects.restrict(world.user("park1"), Action.CHANGE).filter(pk=s.event.pk)


def test_schedule_grid_columns_and_agenda_times(world: World, s: Setup) -> None:
    organiser = selectors.schedule_grid(user=world.user("park1", Role.VIEWER), event=s.event)
    assert [c.label for c in organiser.columns] == [
        f"{world.orgs['bank1_sub'].name} · 1",
        f"{world.orgs['bank1_sub'].name} · 2",
        world.orgs["bank2"].name,
    ]
    assert [r.start.strftime("%H:%M") for r in organiser.rows] == ["09:00", "09:30", "10:00", "10:30"]
    first_row = [m.enterprise_participant.organisation.name if m else None for m in organiser.rows[0].cells]
    assert first_row == [world.orgs["ent1"].name, None, world.orgs["ent2"].name]
    bank = selectors.schedule_grid(user=world.user("bank2", Role.VIEWER), event=s.event)
    assert [c.participant.pk for c in bank.columns] == [s.banks["bank2"].pk]
    agenda = selectors.agenda(user=world.user("ent1", Role.VIEWER), event=s.event, participant=s.enterprises["e1"])
    assert [
        (
            a.start.strftime("%H:%M"),
            a.end.strftime("%H:%M"),
            a.meeting.bank_participant.organisation.name,
            a.meeting.desk,
        )
        for a in agenda
    ] == [
        ("09:00", "09:30", world.orgs["bank1_sub"].name, 1),
        ("09:30", "10:00", world.orgs["bank2"].name, 1),
    ]


def test_a_bank_changes_only_its_own_meetings(world: World, s: Setup) -> None:
    changeable = Meeting.objects.restrict(world.user("bank2"), Action.CHANGE).filter(event=s.event)
    assert {m.bank_participant_id for m in changeable} == {s.banks["bank2"].pk}
    assert not Meeting.objects.restrict(world.user("ent1"), Action.CHANGE).filter(event=s.event).exists()
    assert (
        not EventParticipant.objects.restrict(world.user("bank2"), Action.CHANGE)
        .filter(pk=s.enterprises["e1"].pk)
        .exists()
    )
