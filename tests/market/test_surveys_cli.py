"""`ipledge market remind-surveys` and `close-surveys`: reminders at each campaign's interval as of a date, closing
campaigns past their closing date; JSON output; a bad date is refused."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ipledge.core.models import AuditEvent
from ipledge.market.choices import SurveyStatus
from ipledge.market.models import SurveyTarget
from tests.market.factories_surveys import OPENS, add_enterprise, enterprise_campaign, published
from tests.world import World

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("market", *args, stdout=out)
    return out.getvalue()


def test_remind_and_close(world: World) -> None:
    add_enterprise(world, "ent3", serial=5003)
    campaign = published(world, enterprise_campaign(world, flows=False), ["ent1", "ent3"], day=OPENS)
    assert "0 survey targets reminded in 1 open campaigns" in run("remind-surveys", "--date", "2026-04-05")
    assert json.loads(run("remind-surveys", "--date", "2026-04-08", "--json")) == {
        "date": "2026-04-08",
        "campaigns": 1,
        "reminded": 2,
    }
    assert set(SurveyTarget.objects.values_list("reminders_sent", flat=True)) == {1}
    event = AuditEvent.objects.filter(action="surveycampaign.remind").last()
    assert event is not None and event.actor_name == "system"
    assert "0 survey campaigns" in run("close-surveys", "--date", "2026-04-30")
    assert json.loads(run("close-surveys", "--date", "2026-05-01", "--json")) == {"date": "2026-05-01", "closed": 1}
    campaign.refresh_from_db()
    assert campaign.status == SurveyStatus.CLOSED
    with pytest.raises(CommandError):
        run("remind-surveys", "--date", "01/05/2026")
