"""The indicator dashboard, its .xlsx export and `GET /api/v1/lending/indicators`, on the hand-built fixture."""

from __future__ import annotations

import zipfile
from io import BytesIO
from typing import Any

import pytest
from django.test import Client

from tests.lending.test_indicators_fixture import M, fixture_world  # noqa: F401  (fixture)
from tests.world import World

URL = "/lending/indicators/"
API = "/api/v1/lending/indicators"
YEAR = {"period_start": "2024-01-01", "period_end": "2024-12-31"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _client(w: World, org: str, role: str = "viewer") -> Client:
    client = Client()
    client.force_login(w.user(org, role))
    return client


def _sheets(body: bytes) -> list[str]:
    with zipfile.ZipFile(BytesIO(body)) as book:
        return [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]


@pytest.mark.django_db
def test_dashboard_shows_both_bases_for_the_banks_own_figures(fixture_world: World) -> None:  # noqa: F811
    response = _client(fixture_world, "bank2").get(URL, {**YEAR, "slice": "park", "granularity": "quarter"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "贷款口径" in html and "登记口径" in html and "二者不可相加" in html
    kpis = {k["label"]: k["value"] for k in response.context["kpis"]["lending"]}
    # bank2: L3 15 m + L6 2 m = 17 m = 1,700 万元 new and outstanding
    assert kpis["新增贷款金额（万元）"] == "1,700.00"
    assert kpis["期末贷款余额（万元）"] == "1,700.00"
    registration = {k["label"]: k["value"] for k in response.context["kpis"]["registration"]}
    assert registration["质押登记金额（万元）"] == "4,300.00"  # R3 18 + R4 25
    by_park = next(t for t in response.context["lending_tables"] if t["name"] == "lending_by_park")
    assert {row[0]["text"] for row in by_park["rows"]} == {"中关村科技园区海淀园", "南京江宁高新技术产业开发区"}
    assert response.context["charts"]["buckets"] == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert "indicator-charts" in html and "echarts.min.js" in html


@pytest.mark.django_db
def test_dashboard_defaults_to_this_year_and_the_viewers_slice(fixture_world: World) -> None:  # noqa: F811
    response = _client(fixture_world, "park1").get(URL)
    assert response.status_code == 200
    assert response.context["form"].cleaned_data["slice"] == "park"
    assert response.context["form"].cleaned_data["period_start"].month == 1


@pytest.mark.django_db
def test_xlsx_export_of_every_table_and_of_one(fixture_world: World) -> None:  # noqa: F811
    client = _client(fixture_world, "ipo_bj")
    everything = client.get(URL, {**YEAR, "slice": "city", "format": "xlsx"})
    assert everything.status_code == 200
    assert everything["Content-Type"] == XLSX
    assert "attachment" in everything["Content-Disposition"]
    assert len(_sheets(everything.content)) == 11  # 9 fixed tables + lending_by_city + registration_by_city
    one = client.get(URL, {**YEAR, "format": "xlsx", "table": "npl_vs_bank"})
    assert len(_sheets(one.content)) == 1
    assert client.get(URL, {**YEAR, "format": "xlsx", "table": "salaries"}).status_code == 404


@pytest.mark.django_db
def test_bad_period_is_refused_with_the_field_named(fixture_world: World) -> None:  # noqa: F811
    response = _client(fixture_world, "bank1").get(URL, {"period_start": "2024-12-31", "period_end": "2024-01-01"})
    assert response.status_code == 400
    assert "截止日不能早于起始日" in response.content.decode()
    assert "kpis" not in response.context


@pytest.mark.django_db
@pytest.mark.parametrize("org", ["ent1", "insurer", "valuer"])
def test_other_organisations_may_not_open_the_dashboard(fixture_world: World, org: str) -> None:  # noqa: F811
    assert _client(fixture_world, org).get(URL).status_code == 403


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(fixture_world: World) -> None:  # noqa: F811
    response = Client().get(URL)
    assert response.status_code == 302
    assert "login" in response["Location"]


def _api(client: Client, **params: Any) -> Any:
    return client.get(API, {**YEAR, **params})


@pytest.mark.django_db
def test_api_answers_the_tables_restricted_and_labelled(fixture_world: World) -> None:  # noqa: F811
    response = _api(_client(fixture_world, "bank2"), slice="head_office", granularity="year")
    assert response.status_code == 200
    body = response.json()
    assert (body["slice"], body["granularity"]) == ("head_office", "year")
    tables = {t["name"]: t for t in body["tables"]}
    summary = tables["lending_summary"]["rows"][0]
    assert (summary["new_amount_fen"], summary["balance_fen"], summary["new_loans"]) == (17 * M, 17 * M, 2)
    assert tables["lending_summary"]["basis"] == "lending"
    assert tables["registration_summary"]["basis"] == "registration"
    assert tables["registration_summary"]["rows"][0]["registered_amount_fen"] == 43 * M
    assert [r["name"] for r in tables["lending_by_head_office"]["rows"]] == ["江苏银行"]
    assert tables["lending_series"]["rows"][0]["bucket"] == "2024-01-01"
    assert tables["puhui_thresholds"]["rows"][1] == {"since": "2024-01-01", "until": None, "below_fen": 2_000_000_000}


@pytest.mark.django_db
def test_api_refuses_bad_requests_and_non_viewers(fixture_world: World) -> None:  # noqa: F811
    bank = _client(fixture_world, "bank1")
    bad = bank.get(API, {"period_start": "2024-12-31", "period_end": "2024-01-01"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "period_end"
    assert bad.json()["errors"][0]["rule"] == "end_before_start"
    too_long = bank.get(API, {"period_start": "2000-01-01", "period_end": "2024-12-31", "granularity": "month"})
    assert too_long.status_code == 400
    assert too_long.json()["errors"][0]["rule"] == "too_many_periods"
    assert _api(bank, slice="colour").status_code == 422
    assert bank.get(API).status_code == 422  # the period is required
    assert _api(_client(fixture_world, "ent2")).status_code == 403
    assert Client().get(API, YEAR).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("org", "balance_wan"),
    [("ndrc_bj", "2,200.00"), ("reg_bj", "1,200.00"), ("cnipa", "3,700.00"), ("park2", "1,500.00")],
)
def test_government_and_park_viewers_see_their_jurisdiction(fixture_world: World, org: str, balance_wan: str) -> None:  # noqa: F811
    response = _client(fixture_world, org).get(URL, YEAR)
    assert response.status_code == 200
    kpis = {k["label"]: k["value"] for k in response.context["kpis"]["lending"]}
    # NDRC Beijing: Beijing borrowers L1 12 + L2 8 + L6 2 = 22 m; the Beijing regulator: loans of banks in Beijing,
    # only L1 12 (bank1_br2 sits in Nanjing, bank2 in Jiangsu); CNIPA: all 37 m; park P2: L3 15 m
    assert kpis["期末贷款余额（万元）"] == balance_wan
