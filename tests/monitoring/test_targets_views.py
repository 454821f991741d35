"""Targets pages (百园万企): the dashboard renders with KPIs, map data and the province table; drill down to a
province and a park; xlsx downloads; bad input answers 400; scoping (a Beijing official gets 404 for Jiangsu and
never sees its parks) and who may view (a bank or an enterprise gets 403); no inline script."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from ipledge.core.choices import Role
from tests.monitoring.factories_targets import add_targets
from tests.world import World

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def get(client: Client, url: str, expect: int = 200, **params: Any) -> Any:
    response = client.get(url, params)
    assert response.status_code == expect, (response.status_code, url)
    return response


def chart_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="targets-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "chart data missing"
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def test_dashboard_province_and_park_pages(world: World) -> None:
    add_targets(world)
    client = client_for(world.user("cnipa"))
    html = get(client, reverse("monitoring:targets"), year=2025).content.decode()
    assert "百园万企目标监测" in html and "targets.js" in html
    assert world.orgs["ipo_bj"] is not None and "北京市" in html and "江苏省" in html
    data = chart_data(html)
    assert {d["code"]: (d["value"], d["reaching"]) for d in data["map"]["data"]} == {
        "110000": (2, 1),
        "320000": (1, 0),
    }
    assert data["trend"]["years"][-1] == "2025" and data["trend"]["projects"][-2:] == [1, 3]
    assert reverse("monitoring:targets_province", args=["110000"]) in html
    assert "onclick" not in html and not re.search(r"<script>(?!</script>)", html)

    province = get(client, reverse("monitoring:targets_province", args=["110000"]), year=2025).content.decode()
    assert world.parks["p1"].name in province and world.parks["p2"].name not in province
    assert "100.0%" in province  # +100 % on both counts
    park_url = reverse("monitoring:targets_park", args=[world.parks["p1"].pk])
    assert park_url in province

    park = get(client, park_url, year=2025).content.decode()
    assert world.enterprises["e1"].name in park and "双增20%达标" in park
    assert reverse("registry:enterprise_detail", args=[world.enterprises["e1"].pk]) in park


def test_xlsx_downloads(world: World) -> None:
    add_targets(world)
    client = client_for(world.user("ipo_bj"))
    response = get(client, reverse("monitoring:targets"), year=2025, format="xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["省份", "园区", "历年趋势"]
    parks = [row for row in book["园区"].iter_rows(min_row=3, values_only=True)]
    assert [row[0] for row in parks] == [world.parks["p1"].name]  # Beijing's park only
    assert parks[0][-1] == "是"
    response = get(client, reverse("monitoring:targets_province", args=["110000"]), year=2025, format="xlsx")
    assert load_workbook(io.BytesIO(response.content)).sheetnames == ["园区"]


def test_scoping_and_permissions(world: World) -> None:
    add_targets(world)
    beijing = client_for(world.user("ipo_bj", Role.VIEWER))
    html = get(beijing, reverse("monitoring:targets"), year=2025).content.decode()
    assert world.parks["p2"].name not in html and "江苏省" not in html
    get(beijing, reverse("monitoring:targets_province", args=["320000"]), 404)
    get(beijing, reverse("monitoring:targets_park", args=[world.parks["p2"].pk]), 404)
    get(beijing, reverse("monitoring:targets"), 400, province="320000")  # not among its choices
    get(beijing, reverse("monitoring:targets"), 400, year="abc")
    get(beijing, reverse("monitoring:targets"), 400, year=2999)
    park_admin = client_for(world.user("park2"))
    get(park_admin, reverse("monitoring:targets_park", args=[world.parks["p2"].pk]))
    get(park_admin, reverse("monitoring:targets_park", args=[world.parks["p1"].pk]), 404)
    for outsider in ("bank1", "ent1"):
        get(client_for(world.user(outsider)), reverse("monitoring:targets"), 403)
        get(client_for(world.user(outsider)), reverse("monitoring:targets_province", args=["110000"]), 403)
        # A park page answers 404 to those who may never view targets, like a park out of reach.
        get(client_for(world.user(outsider)), reverse("monitoring:targets_park", args=[world.parks["p1"].pk]), 404)
    # The default year is the latest with a visible registration when this year has none.
    html = get(beijing, reverse("monitoring:targets")).content.decode()
    assert 'value="2025"' in html
