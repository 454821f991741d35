"""The targets API (`GET /monitoring/targets`): KPIs with goals, province and park rows, money in fen, scoping
(a Beijing official sees Beijing only), 403 for those who may not view, 400 naming the field and the rule."""

from __future__ import annotations

import pytest

from ipledge.core.choices import Role
from tests.api_helpers import assert_error, get, session_client
from tests.monitoring.factories_targets import CLAIM_FEN, add_targets
from tests.world import World

pytestmark = pytest.mark.django_db
URL = "/monitoring/targets"


def test_overview_and_scoping(world: World) -> None:
    add_targets(world)
    response = get(session_client(world.user("cnipa")), URL, {"year": 2025})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["year"], body["parks_goal"], body["smes_goal"], body["parks_reaching"]) == (2025, 100, 10_000, 1)
    parks = {row["park_id"]: row for row in body["parks"]}
    p1 = parks[world.parks["p1"].pk]
    assert (p1["projects"], p1["projects_prev"], p1["amount_fen"], p1["reaches_goal"]) == (2, 1, 2 * CLAIM_FEN, True)
    assert parks[world.parks["p2"].pk]["projects_growth"] is None
    assert {row["province_code"] for row in body["provinces"]} == {"110000", "320000"}
    assert "parks_reaching" in body["queries"]

    beijing = get(session_client(world.user("ipo_bj", Role.VIEWER)), URL, {"year": 2025}).json()
    assert [row["park_id"] for row in beijing["parks"]] == [world.parks["p1"].pk]
    only_js = get(session_client(world.user("cnipa")), URL, {"year": 2025, "province": "320000"}).json()
    assert [row["park_id"] for row in only_js["parks"]] == [world.parks["p2"].pk]
    assert only_js["region_prefix"] == "32"


def test_refusals(world: World) -> None:
    assert_error(get(session_client(world.user("bank1")), URL), 403, rule="forbidden")
    official = session_client(world.user("ipo_bj"))
    assert_error(get(official, URL, {"year": 2999}), 400, field="year", rule="max_value")
    assert_error(get(official, URL, {"province": "990000"}), 400, field="province", rule="not_found")
