"""`ipledge seed_market` over the test world, and the market's navigation per organisation kind."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.market.choices import ProductStatus
from ipledge.market.models import Demand, Match, MatchmakingEvent, Product, SurveyCampaign, SurveyResponse
from tests.world import build_world

pytestmark = pytest.mark.django_db


def test_seed_market_builds_every_area_once() -> None:
    build_world()
    out = io.StringIO()
    call_command("seed_market", stdout=out)
    assert "Seeded the market" in out.getvalue()
    assert Product.objects.filter(status=ProductStatus.LIVE).count() >= 15
    assert Demand.objects.exists() and Match.objects.filter(eligible=True).exists()
    assert SurveyCampaign.objects.exists() and SurveyResponse.objects.exists()
    assert MatchmakingEvent.objects.exists()

    again = io.StringIO()
    call_command("seed_market", "--if-empty", stdout=again)
    assert "nothing seeded" in again.getvalue()


def _market_nav(client, user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    client.force_login(user)
    response = client.get(reverse("dashboard"))
    return {
        str(item.label): item.url_name
        for section in response.context["nav"]
        for item in section.items
        if item.url_name.startswith("market:")
    }


@pytest.mark.parametrize(
    ("org", "role", "present", "absent"),
    [
        ("bank1", Role.OPERATOR, {"金融产品库", "需求线索", "我的调查", "银企对接活动"}, {"融资需求库", "常态化调查"}),
        ("bank1", Role.REVIEWER, {"产品审批"}, set()),
        ("ent1", Role.OPERATOR, {"金融产品库", "融资需求库", "我的调查"}, {"需求线索", "产品审批", "常态化调查"}),
        ("park1", Role.OPERATOR, {"融资需求库", "待满足需求", "常态化调查"}, {"需求线索", "我的调查"}),
        ("ipo_bj", Role.VIEWER, {"融资需求库", "常态化调查", "银企对接活动"}, {"需求线索", "待满足需求"}),
    ],
)
def test_market_navigation_follows_the_organisation_kind(client, world, org, role, present, absent) -> None:  # type: ignore[no-untyped-def]
    nav = _market_nav(client, world.user(org, role))
    assert present <= set(nav), nav
    assert not (absent & set(nav)), nav
    for url_name in nav.values():
        assert client.get(reverse(url_name)).status_code == 200, url_name
