"""The impact page and API on a small panel: e1 first financed in 2025 against a similar unfinanced Beijing
enterprise; the satisfaction of a follow-up answer; who may see it (scoping by region, enterprises refused)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ipledge.core.context import as_of
from ipledge.core.money import Money
from ipledge.core.synthetic import make_uscc
from ipledge.market.services import surveys
from ipledge.monitoring.services.financials import financials_create
from ipledge.registry.services import enterprise_create
from tests.api_helpers import assert_error, get, session_client
from tests.monitoring.factories_impact import TODAY, financed, follow_up_answers, follow_up_campaign
from tests.world import World

pytestmark = pytest.mark.django_db


def _panel(world: World) -> None:
    """e1 (financed 2025) grows revenue by ¥9m and 20 jobs 2024 → 2026; its twin e1c by ¥3m and 5 jobs."""
    financed(world, "e1")
    with as_of(TODAY):
        twin = enterprise_create(
            uscc=make_uscc(region_code="110108", serial=1009),
            name="北京芯测科技有限公司",
            industry_section="I",
            industry_division="65",
            employees=110,
            revenue=Money("33000000"),
            total_assets=Money("50000000"),
            park=world.parks["p1"],
            joined_on=TODAY,
            acting_user=None,
        )
        world.enterprises["e1c"] = twin
        office = world.user("ipo_bj")
        for key, (rev0, rev1, jobs0, jobs1) in {
            "e1": ("35000000", "44000000", 120, 140),
            "e1c": ("33000000", "36000000", 110, 115),
        }.items():
            for year, revenue, jobs in ((2024, rev0, jobs0), (2026, rev1, jobs1)):
                financials_create(
                    enterprise=world.enterprises[key],
                    year=year,
                    figures={"revenue": Money(revenue), "employees": jobs},
                    acting_user=office,
                )


def test_impact_page_and_api(world: World) -> None:
    _panel(world)
    assert world.enterprises["e1"].size_class == world.enterprises["e1c"].size_class
    campaign = follow_up_campaign(world)
    with as_of(TODAY):
        surveys.targets_add(campaign=campaign, organisations=[world.orgs["ent1"]], acting_user=world.user("ipo_bj"))
        surveys.campaign_publish(campaign=campaign, acting_user=world.user("ipo_bj"))
        surveys.response_submit(
            campaign=campaign, answers=follow_up_answers(campaign, 融资后的获得感=3), acting_user=world.user("ent1")
        )
    office = session_client(world.user("ipo_bj"))
    page = office.get(reverse("monitoring:impact"), {"year": 2025})
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-figure="financed">1<' in body and 'data-figure="matched">1<' in body
    assert 'data-outcome="revenue"' in body and "600.0" in body  # (9m − 3m) = ¥600万
    assert "融资后的获得感" in body and "dashboard-data" in body
    data = get(office, "/monitoring/impact", {"year": 2025}).json()
    assert (data["financed"], data["matched"], data["comparison_pool"]) == (1, 1, 1)
    revenue = next(o for o in data["outcomes"] if o["key"] == "revenue")
    assert revenue["unit"] == "fen" and revenue["effect"] == pytest.approx(6_000_000_00) and revenue["ci_low"] is None
    employees = next(o for o in data["outcomes"] if o["key"] == "employees")
    assert employees["effect"] == pytest.approx(15) and employees["treated_change"] == pytest.approx(20)
    ratings = {s["question"]: s for s in data["satisfaction"]}
    assert ratings["融资后的获得感"]["mean"] == 3 and ratings["融资后的获得感"]["distribution"] == [0, 0, 1, 0, 0]

    # Jiangsu sees none of Beijing's enterprises; a province filter outside the data gives an empty cohort.
    js = get(session_client(world.user("ipo_js")), "/monitoring/impact", {"year": 2025}).json()
    assert js["financed"] == 0 and js["comparison_pool"] == 0 and js["satisfaction"] == []
    assert get(office, "/monitoring/impact", {"year": 2025, "province": "320000"}).json()["financed"] == 0
    assert session_client(world.user("park1")).get(reverse("monitoring:impact"), {"year": 2025}).status_code == 200
    # Enterprises and banks are not shown the analysis.
    ent = session_client(world.user("ent1"))
    assert ent.get(reverse("monitoring:impact")).status_code == 404
    assert_error(get(ent, "/monitoring/impact"), 403)
    assert_error(get(session_client(world.user("bank1")), "/monitoring/impact"), 403)
    assert_error(get(office, "/monitoring/impact", {"province": "32"}), 422)


def test_impact_page_without_data(world: World) -> None:
    page = session_client(world.user("cnipa")).get(reverse("monitoring:impact"))
    assert page.status_code == 200
    assert "没有前后两年数据齐全的配对" in page.content.decode()
