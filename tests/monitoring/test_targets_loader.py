"""Loading the targets from the database (百园万企): registrations attributed to parks, scoping by the viewer
(a Beijing official never sees Jiangsu parks; a park administration sees its own park), new SMEs from loans, the
region filter and the traceability descriptions."""

from __future__ import annotations

import pytest

from ipledge.core.choices import Role
from ipledge.monitoring.targets import (
    may_view_targets,
    park_enterprises,
    province_prefix,
    target_overview,
    targets_workbook,
)
from ipledge.registry.models import Enterprise
from tests.lending.factories import add_loans
from tests.monitoring.factories_targets import CLAIM_FEN, add_targets
from tests.world import World

pytestmark = pytest.mark.django_db


def parks_of(overview):  # type: ignore[no-untyped-def]
    return {row["park_name"]: row for row in overview.parks.iter_rows(named=True)}


def test_unrestricted_overview_counts_each_park(world: World) -> None:
    add_targets(world)
    overview = target_overview(user=None, year=2025)
    parks = parks_of(overview)
    p1, p2 = parks[world.parks["p1"].name], parks[world.parks["p2"].name]
    assert (p1["projects"], p1["projects_prev"], p1["amount_fen"]) == (2, 1, 2 * CLAIM_FEN)
    assert p1["projects_growth"] == pytest.approx(1.0) and p1["reaches_goal"] is True
    assert (p2["projects"], p2["projects_prev"], p2["projects_growth"], p2["reaches_goal"]) == (1, 0, None, False)
    assert overview.parks_reaching == 1
    provinces = {row["province_code"]: row for row in overview.provinces.iter_rows(named=True)}
    assert provinces["110000"]["parks_reaching"] == 1 and provinces["320000"]["parks_reaching"] == 0
    assert overview.online_share == 1.0  # the filing services default to the online channel
    assert set(overview.queries) >= {"projects", "amount_fen", "parks_reaching", "new_smes", "online_share"}
    assert "ParkMembership" in overview.queries["parks_reaching"]


def test_beijing_official_cannot_see_jiangsu_parks(world: World) -> None:
    add_targets(world)
    beijing = target_overview(user=world.user("ipo_bj"), year=2025)
    assert set(parks_of(beijing)) == {world.parks["p1"].name}
    assert set(beijing.provinces.get_column("province_code")) == {"110000"}
    jiangsu = target_overview(user=world.user("ipo_js"), year=2025)
    assert set(parks_of(jiangsu)) == {world.parks["p2"].name}
    assert jiangsu.parks_reaching == 0
    # Asking for the other province gives nothing rather than its figures.
    assert target_overview(user=world.user("ipo_bj"), year=2025, region_prefix="320000").parks.height == 0
    national = target_overview(user=world.user("cnipa"), year=2025)
    assert len(parks_of(national)) == 2


def test_park_administration_sees_its_park_only_and_others_may_not_view(world: World) -> None:
    add_targets(world)
    own = target_overview(user=world.user("park1"), year=2025)
    assert set(parks_of(own)) == {world.parks["p1"].name}
    assert parks_of(own)[world.parks["p1"].name]["projects"] == 2
    assert may_view_targets(world.user("park1")) and may_view_targets(world.user("reg_bj", Role.VIEWER))
    assert not may_view_targets(world.user("bank1")) and not may_view_targets(world.user("ent1"))


def test_new_smes_from_first_ip_loans(world: World) -> None:
    add_loans(world)  # l1 (e1, Beijing) and l2 (e2, Jiangsu) first disbursed in 2025
    # Size classes set outright so the count does not hang on the classification rules: a large one is no SME.
    Enterprise.objects.filter(pk=world.enterprises["e1"].pk).update(size_class="small")
    Enterprise.objects.filter(pk=world.enterprises["e2"].pk).update(size_class="large")
    overview = target_overview(user=None, year=2025)
    assert overview.new_smes == 1
    assert overview.new_smes_by_size == {"medium": 0, "small": 1, "micro": 0}
    assert target_overview(user=None, year=2024).new_smes == 0
    Enterprise.objects.filter(pk=world.enterprises["e2"].pk).update(size_class="medium")
    assert target_overview(user=world.user("ipo_bj"), year=2025).new_smes == 1
    jiangsu = target_overview(user=world.user("ipo_js"), year=2025)
    assert (jiangsu.new_smes, jiangsu.new_smes_by_size["medium"]) == (1, 1)
    assert target_overview(user=None, year=2025).new_smes == 2


def test_park_enterprises_and_workbook(world: World) -> None:
    add_targets(world)
    rows = park_enterprises(user=world.user("ipo_bj"), park=world.parks["p1"], year=2025)
    assert [(r["enterprise"].pk, len(r["registrations"]), r["amount_fen"]) for r in rows] == [
        (world.enterprises["e1"].pk, 2, 2 * CLAIM_FEN)
    ]
    assert park_enterprises(user=world.user("ipo_js"), park=world.parks["p1"], year=2025) == []
    overview = target_overview(user=None, year=2025)
    body = targets_workbook({"园区": overview.parks, "省份": overview.provinces}, subtitle="2025年")
    assert body[:2] == b"PK"


def test_province_prefix() -> None:
    assert province_prefix("320000") == "32"
    assert province_prefix("320500") == "3205"
    assert province_prefix("") == ""
