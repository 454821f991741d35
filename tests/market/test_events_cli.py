"""`ipledge market schedule-event EVENT_ID` proposes the meetings (as the platform, audited without a user) and
`ipledge market close-events [--date]` marks past scheduled events held."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ipledge.core.models import AuditEvent
from ipledge.market.choices import EventStatus
from ipledge.market.models import Meeting
from tests.market.factories_events import event, event_with_matches
from tests.world import World

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("market", *args, stdout=out)
    return out.getvalue()


def test_schedule_event_and_close_events(world: World) -> None:
    s = event_with_matches(world)
    out = run("schedule-event", str(s.event.pk))
    assert f"event {s.event.pk}" in out and "3 meetings proposed" in out
    assert Meeting.objects.filter(event=s.event).count() == 3
    assert AuditEvent.objects.filter(action="matchmaking_event.propose", actor__isnull=True).exists()
    again = json.loads(run("schedule-event", str(s.event.pk), "--json"))
    assert again["created"] == 0 and again["kept"] == 3
    with pytest.raises(CommandError, match="no matchmaking event"):
        run("schedule-event", "999999")
    empty = event(world)
    with pytest.raises(CommandError, match="至少需要一家银行"):
        run("schedule-event", str(empty.pk))

    assert json.loads(run("close-events", "--json"))["held"] == 0
    day = (s.event.event_date + datetime.timedelta(days=1)).isoformat()
    assert f"{day}: 1 matchmaking events marked held" in run("close-events", "--date", day)
    s.event.refresh_from_db()
    assert s.event.status == EventStatus.HELD
    empty.refresh_from_db()
    assert empty.status == EventStatus.OPEN  # never scheduled: left for its organiser
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("close-events", "--date", "tomorrow")
