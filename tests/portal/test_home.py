"""The public portal home (公共服务门户首页): no login; the headline figures are those of the targets engine
(national, latest year with registrations, cached briefly); published policies, published cases and key parks only;
an anonymous visitor at "/" lands here."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from ipledge.core.money import Money
from ipledge.monitoring.targets import PARKS_GOAL, SMES_GOAL, default_year, target_overview
from ipledge.portal import selectors_home
from tests.monitoring.factories_cases import TITLES, add_cases, case
from tests.monitoring.factories_targets import CLAIM_FEN, add_targets
from tests.portal.factories import add_portal

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


def test_anonymous_visitor_at_the_root_lands_on_the_portal_home(world) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    response = client.get("/", follow=True)
    assert response.redirect_chain == [(reverse("portal:home"), 302)]
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="main-content"' in html and "skip-link" in html
    assert reverse("registration:public_query") in html and reverse("showcase:index") in html


def test_signed_in_user_at_the_root_still_gets_the_workbench(client, world) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.user("park1"))
    response = client.get("/")
    assert response.status_code == 200
    assert response.templates[0].name != "portal/home.html"


def test_headline_figures_are_the_targets_engine_figures(world) -> None:  # type: ignore[no-untyped-def]
    add_targets(world)
    year = default_year(None)
    overview = target_overview(user=None, year=year)
    figures = selectors_home.compute_headline_figures()
    assert figures.year == year == 2025
    assert figures.projects == int(overview.parks.get_column("projects").sum()) == 3
    assert (
        figures.amount
        == Money.from_fen(int(overview.parks.get_column("amount_fen").sum()))
        == Money.from_fen(3 * CLAIM_FEN)
    )
    assert figures.parks_reaching == overview.parks_reaching == 1
    assert figures.new_smes == overview.new_smes
    assert figures.implementation_rate == overview.implementation_rate
    assert figures.turnaround_days_avg == overview.turnaround_days_avg
    assert (figures.parks_goal, figures.smes_goal) == (PARKS_GOAL, SMES_GOAL)


def test_home_shows_the_figures_and_caches_them(world, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    add_targets(world)
    client = Client()
    html = client.get(reverse("portal:home")).content.decode()
    assert 'data-figure="projects">' in html
    projects = html.split('data-figure="projects">', 1)[1].split("</div></div>", 1)[0]
    assert ">3<" in projects.replace(" ", "")
    assert "0.15" in html  # ¥15,000,000 in 亿元
    assert f"/ {PARKS_GOAL}" in html
    cached = cache.get(selectors_home.FIGURES_CACHE_KEY)
    assert isinstance(cached, selectors_home.HeadlineFigures) and cached.projects == 3
    # A new registration does not show until the cache expires: the figures are not recomputed per request.
    add_targets(world)
    assert selectors_home.headline_figures().projects == 3
    assert selectors_home.compute_headline_figures().projects == 6


def test_home_lists_only_published_policies_and_cases(world) -> None:  # type: ignore[no-untyped-def]
    add_portal(world)
    add_cases(world)
    html = Client().get(reverse("portal:home")).content.decode()
    assert "bj 知识产权质押融资风险补偿办法" in html
    assert "园区贴息办法（草稿）" not in html
    assert TITLES["js_published"] in html
    for key in ("bj_nominated", "js_review", "bj_rejected"):
        assert TITLES[key] not in html
    assert world.parks["p1"].name in html  # a key park


def test_home_search_boxes_point_at_the_product_list_and_the_registration_query(world) -> None:  # type: ignore[no-untyped-def]
    html = Client().get(reverse("portal:home")).content.decode()
    assert f'action="{reverse("portal:product_list")}"' in html
    assert f'action="{reverse("registration:public_query")}"' in html
    assert 'name="number"' in html and 'name="amount"' in html and 'name="term"' in html


def test_home_in_english(world) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.post(reverse("set_language_public"), {"language": "en", "next": "/portal/"})
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    assert 'lang="en"' in response.content.decode()


def test_the_public_registration_query_and_showcase_pages_use_the_portal_layout(world) -> None:  # type: ignore[no-untyped-def]
    add_cases(world)
    anonymous = Client()
    for name, args in (
        ("registration:public_query", []),
        ("showcase:index", []),
        ("showcase:park", [world.parks["p1"].pk]),
        ("showcase:case", [case("js_published").pk]),
    ):
        response = anonymous.get(reverse(name, args=args))
        assert response.status_code == 200, name
        html = response.content.decode()
        assert "portal-nav" in html and "skip-link" in html and 'id="main-content"' in html, name
        assert html.count("language-switch") >= 1, name
        assert "portal/public_base.html" in [t.name for t in response.templates], name
