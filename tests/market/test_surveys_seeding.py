"""`seed_surveys` on the test world (after a few more enterprises are placed in park P1): the Beijing office's
quarterly survey (last quarter closed, this quarter open, repeated from it), its bank survey, the park's own survey;
accounts opened for park members without a login; counts agree with the rows; everything went through the services
(audited)."""

from __future__ import annotations

import datetime
import io
import random

import pytest

from ipledge.core.models import AuditEvent
from ipledge.market.choices import DemandSource, SurveyAudience, SurveyStatus
from ipledge.market.models import Demand, Product, SurveyCampaign, SurveyResponse
from ipledge.market.seeding_surveys import seed_surveys
from tests.market.factories_surveys import add_enterprise
from tests.world import World

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)


def test_seed_surveys(world: World) -> None:
    for n in range(6):
        add_enterprise(world, f"ent_p{n}", serial=6000 + n)
    out = io.StringIO()
    counts = seed_surveys(rng=random.Random(3), today=TODAY, stdout=out)
    assert "surveys:" in out.getvalue()
    campaigns = {(c.organiser_id, c.audience, c.period_label): c for c in SurveyCampaign.objects.all()}
    assert counts["campaigns"] == len(campaigns) == 4
    office = world.orgs["ipo_bj"]
    previous = campaigns[(office.pk, SurveyAudience.ENTERPRISE, "2025Q4")]
    current = campaigns[(office.pk, SurveyAudience.ENTERPRISE, "2026Q1")]
    assert previous.status == SurveyStatus.CLOSED and current.status == SurveyStatus.OPEN
    assert current.previous == previous and current.questions.count() == previous.questions.count() == 11
    assert current.opens_on <= TODAY <= current.closes_on
    # E1b had no login: it got an account and is asked too; ent1 and the six new members as well.
    assert world.enterprises["e1b"].__class__.objects.get(pk=world.enterprises["e1b"].pk).organisation is not None
    assert counts["accounts"] == 1 and previous.targets.count() == 8
    answered = previous.targets.filter(responded_at__isnull=False).count()
    assert 2 <= answered <= 8 and current.targets.filter(responded_at__isnull=False).count() < previous.targets.count()
    assert counts["responses"] == SurveyResponse.objects.count()
    assert counts["demands"] == Demand.objects.filter(source=DemandSource.SURVEY).count() > 0
    assert counts["products"] == Product.objects.filter(code__startswith="SURVEY-").count()
    assert counts["reminders"] > 0 and counts["closed"] == 1
    bank = campaigns[(office.pk, SurveyAudience.BANK, "2026")]
    assert set(bank.targets.values_list("organisation__region__code", flat=True)) <= {"110000", "110108"}
    park = campaigns[(world.orgs["park1"].pk, SurveyAudience.ENTERPRISE, "2026年")]
    assert not park.flows_into_library and park.status == SurveyStatus.OPEN
    assert AuditEvent.objects.filter(action="surveyresponse.create").count() == counts["responses"]


def test_seed_surveys_without_offices(db: None) -> None:
    out = io.StringIO()
    assert seed_surveys(rng=random.Random(1), today=TODAY, stdout=out) == {}
    assert "nothing seeded" in out.getvalue()
