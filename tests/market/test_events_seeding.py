"""`seed_events` on the test world (with products, demands and matches built through the ORM, and a granted loan of
E1 from bank1_sub): a past event held with outcomes and the real loan on its meeting, an upcoming scheduled event
with proposed meetings, and one open for registration; all written through the services (audited)."""

from __future__ import annotations

import datetime
import io
import random

import pytest

from ipledge.core.context import business_date
from ipledge.core.models import AuditEvent
from ipledge.market.choices import EventStatus, MeetingOutcome, MeetingStatus
from ipledge.market.models import Meeting
from ipledge.market.seeding_events import seed_events
from ipledge.market.selectors_events import event_report
from tests.lending.factories import approved_loan
from tests.market.factories_events import demand, live_product, match
from tests.world import World

pytestmark = pytest.mark.django_db


def test_seed_events_on_the_world(world: World) -> None:
    today = business_date()
    d1, d2 = demand(world.enterprises["e1"]), demand(world.enterprises["e2"], amount="8000000")
    match(d1, live_product(world.orgs["bank1_sub"]), score=88)
    match(d1, live_product(world.orgs["bank2"]), score=72)
    match(d2, live_product(world.orgs["bank2"]), score=81)
    loan = approved_loan(world, borrower="e1", bank="bank1_sub", principal="3000000.00", start=today)
    out = io.StringIO()
    counts = seed_events(rng=random.Random(7), today=today, stdout=out)
    assert counts["events"] == 3 and counts["participants"] >= 5 and counts["meetings"] >= 3
    assert counts["loans_linked"] == 1 and counts["outcomes"] >= 1
    assert "past event" in out.getvalue()

    from ipledge.market.models import MatchmakingEvent

    past, upcoming, opened = MatchmakingEvent.objects.order_by("event_date")
    assert past.status == EventStatus.HELD and past.event_date == today - datetime.timedelta(days=45)
    assert past.organiser == world.orgs["park1"] and past.park == world.parks["p1"]
    loan_meeting = Meeting.objects.get(event=past, outcome=MeetingOutcome.LOAN)
    assert loan_meeting.loan == loan and loan_meeting.enterprise_participant.enterprise == world.enterprises["e1"]
    assert loan_meeting.bank_participant.organisation == world.orgs["bank1_sub"]
    assert not Meeting.objects.filter(event=past, status=MeetingStatus.PROPOSED).exists()
    report = event_report(user=world.user("park1"), event=past)
    assert report.loans == 1 and str(report.loan_amount.amount) == "3000000.00"

    assert upcoming.status == EventStatus.SCHEDULED and upcoming.event_date > today
    assert upcoming.registration_closes_on < today
    assert Meeting.objects.filter(event=upcoming, status=MeetingStatus.PROPOSED).exists()
    assert opened.status == EventStatus.OPEN and opened.registration_closes_on >= today
    assert AuditEvent.objects.filter(action="meeting.record_outcome").exists()
    assert AuditEvent.objects.filter(action="matchmaking_event.held", object_id=str(past.pk)).exists()
