"""The impact seed on the test world: yearly figures for every enterprise, a positive uplift for the financed one,
a follow-up survey answered through the services, and a second run that writes nothing."""

from __future__ import annotations

import datetime
import random

import pytest

from ipledge.market.models import SurveyCampaign, SurveyResponse
from ipledge.monitoring import seeding_impact
from ipledge.monitoring.choices import FinancialsSource
from ipledge.monitoring.models import EnterpriseFinancials
from tests.monitoring.factories_impact import financed
from tests.world import World

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 12, 6)


def test_seed_impact(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    financed(world, "e1")
    monkeypatch.setattr(seeding_impact, "GAP_RATE", 0.0)
    monkeypatch.setattr(seeding_impact, "ANSWER_RATE", 1.0)
    counts = seeding_impact.seed_impact(rng=random.Random(7), today=TODAY)
    assert counts == {"enterprise figures": 3 * 4, "follow-up surveys": 1, "follow-up answers": 1}
    years = sorted(set(EnterpriseFinancials.objects.values_list("year", flat=True)))
    assert years == [2022, 2023, 2024, 2025]
    for row in EnterpriseFinancials.objects.all():
        assert row.patents_implemented <= row.patents_held and row.revenue.fen > 0  # type: ignore[operator, union-attr]
    campaign = SurveyCampaign.objects.get(title=seeding_impact.TITLE)
    assert campaign.organiser == world.orgs["ipo_bj"] and campaign.period_label == "2026"
    assert list(campaign.targets.values_list("organisation_id", flat=True)) == [world.orgs["ent1"].pk]
    answered = EnterpriseFinancials.objects.get(enterprise=world.enterprises["e1"], year=2025)
    assert answered.source == FinancialsSource.SURVEY
    assert answered.survey_response == SurveyResponse.objects.get(campaign=campaign)
    assert EnterpriseFinancials.objects.filter(source=FinancialsSource.IMPORT).count() == 11
    assert seeding_impact.seed_impact(rng=random.Random(7), today=TODAY) == {}
