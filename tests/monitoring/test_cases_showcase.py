"""The public showcase (成效展示): no login; key parks by province, a park's public measures, results and published
cases, one published case. Unpublished cases, non-public measures and undesignated parks never appear (404)."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from ipledge.core.context import business_date
from ipledge.monitoring.choices import DesignationKind, DesignationStatus, MeasureCategory
from ipledge.monitoring.models import KeyParkDesignation, MeasureEntry
from ipledge.monitoring.selectors_cases import park_results
from tests.monitoring.factories_cases import TITLES, add_cases, case
from tests.world import add_pledges

pytestmark = pytest.mark.django_db


def _measure(world, park_key: str, title: str, *, public: bool) -> MeasureEntry:  # type: ignore[no-untyped-def]
    park = world.parks[park_key]
    return MeasureEntry.objects.create(
        region=park.region,
        region_code=park.region.code,
        park=park,
        category=MeasureCategory.SUBSIDY,
        title=title,
        issuing_body=park.administering_org.name,
        started_on=datetime.date(2025, 3, 1),
        description="对园区企业知识产权质押贷款给予贴息。",
        is_public=public,
        owner_org=park.administering_org,
    )


def _designate(world, park_key: str, *, status: str = DesignationStatus.ACTIVE) -> KeyParkDesignation:  # type: ignore[no-untyped-def]
    park = world.parks[park_key]
    office = world.orgs["ipo_js" if park.region.code.startswith("32") else "ipo_bj"]
    return KeyParkDesignation.objects.create(
        park=park,
        year=2025,
        kind=DesignationKind.DEMONSTRATION,
        status=status,
        region_code=park.region.code,
        designated_by=office,
        designated_on=datetime.date(2025, 2, 1),
        revoked_on=datetime.date(2025, 6, 1) if status == DesignationStatus.REVOKED else None,
    )


def test_index_shows_key_parks_and_only_published_cases(world) -> None:  # type: ignore[no-untyped-def]
    add_cases(world)
    anonymous = Client()
    html = anonymous.get(reverse("showcase:index")).content.decode()
    assert TITLES["js_published"] in html
    for key in ("bj_nominated", "js_review", "bj_rejected"):
        assert TITLES[key] not in html
    # P1 is flagged a key park in the registry; P2 has no designation yet.
    assert world.parks["p1"].name in html and world.parks["p2"].name not in html
    _designate(world, "p2")
    html = anonymous.get(reverse("showcase:index")).content.decode()
    assert world.parks["p2"].name in html and "示范园区" in html
    assert "language-switch" in html


def test_case_page_only_for_published_cases(world) -> None:  # type: ignore[no-untyped-def]
    add_cases(world)
    anonymous = Client()
    response = anonymous.get(reverse("showcase:case", args=[case("js_published").pk]))
    assert response.status_code == 200 and TITLES["js_published"] in response.content.decode()
    for key in ("bj_nominated", "js_review", "bj_rejected"):
        assert anonymous.get(reverse("showcase:case", args=[case(key).pk])).status_code == 404
    assert anonymous.get(reverse("showcase:case", args=[999_999])).status_code == 404


def test_park_page_shows_public_measures_results_and_cases(world) -> None:  # type: ignore[no-untyped-def]
    add_cases(world)
    _measure(world, "p2", "江宁园区贴息政策", public=True)
    _measure(world, "p2", "江宁园区内部考核办法", public=False)
    anonymous = Client()
    url = reverse("showcase:park", args=[world.parks["p2"].pk])
    assert anonymous.get(url).status_code == 404  # not designated
    _designate(world, "p2")
    html = anonymous.get(url).content.decode()
    assert "江宁园区贴息政策" in html and "江宁园区内部考核办法" not in html
    assert TITLES["js_published"] in html and TITLES["js_review"] not in html
    revoked_only = world.parks["p2"].designations.get()
    revoked_only.status, revoked_only.revoked_on = DesignationStatus.REVOKED, datetime.date(2025, 6, 1)
    revoked_only.save()
    assert anonymous.get(url).status_code == 404


def test_park_results_count_registrations_of_member_enterprises(world) -> None:  # type: ignore[no-untyped-def]
    add_pledges(world)  # one registration of E1 (member of P1), claim ¥5,000,000, registered today
    today = business_date()
    rows = {r.year: r for r in park_results(world.parks["p1"], today=today)}
    assert sorted(rows) == [today.year - 2, today.year - 1, today.year]
    assert rows[today.year].projects == 1 and rows[today.year].amount_wan == "500.00"
    assert rows[today.year].projects_growth is None and not rows[today.year].reaches_goal
    assert park_results(world.parks["p2"], today=today)[-1].projects == 0
    html = Client().get(reverse("showcase:park", args=[world.parks["p1"].pk])).content.decode()
    assert 'class="text-end result-amount">500.00' in html


def test_showcase_in_english(world) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.post(reverse("set_language_public"), {"language": "en", "next": "/showcase/"})
    response = client.get(reverse("showcase:index"))
    assert response.status_code == 200 and 'lang="en"' in response.content.decode()
