"""The bank's whitelist export (白名单导出), from the page and from the API, read back with openpyxl: Chinese
headers, one row per delivered entry (never the excluded one), the explanation in words, the bank's own latest
decision with the amount as a number with two decimals, and the page's filters applied."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from ipledge.core.context import as_of
from ipledge.core.money import Money
from ipledge.screening.choices import DecisionOutcome
from ipledge.screening.services import banking
from tests.api_helpers import API
from tests.screening.factories import Approved, approved_whitelist
from tests.screening.factories_banking import TODAY, approved_p2, more_whitelisted
from tests.world import World

pytestmark = pytest.mark.django_db

HEADERS = [
    "企业名称",
    "统一社会信用代码",
    "园区",
    "地区代码",
    "白名单期间",
    "版本",
    "批准时间",
    "评分",
    "各项得分",
    "纳入原因",
    "最新授信决定",
    "授信金额（元）",
    "决定日",
]


def sheet_rows(response: Any) -> tuple[list[str], list[dict[str, Any]], Any]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in response["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    headers = [str(h) for h in rows[0]]
    return headers, [dict(zip(headers, row, strict=True)) for row in rows[1:]], sheet


@pytest.fixture
def delivered(world: World) -> Approved:
    a = approved_whitelist(world)
    more_whitelisted(world, a, 1)
    approved_p2(world)
    banking.subscription_create(
        bank=world.orgs["bank1_sub"], park=world.parks["p1"], acting_user=world.user("bank1_sub")
    )
    banking.subscription_create(bank=world.orgs["bank2"], park=world.parks["p1"], acting_user=world.user("bank2"))
    with as_of(TODAY):
        banking.decision_record(
            entry=a.included,
            outcome=DecisionOutcome.GRANTED,
            amount=Money("1234567.89"),
            term_months=12,
            acting_user=world.user("bank1_sub"),
        )
    return a


def test_page_export(world: World, delivered: Approved) -> None:
    client = Client()
    client.force_login(world.user("bank1_sub"))
    headers, rows, sheet = sheet_rows(client.get(reverse("screening:bank_export")))
    assert headers == HEADERS
    names = [r["企业名称"] for r in rows]
    assert names == ["北京智芯科技有限公司", "北京集群企业00有限公司"]  # by score; E1b (excluded) and P2 absent
    e1 = rows[0]
    assert e1["统一社会信用代码"] == world.enterprises["e1"].uscc and e1["园区"] == "中关村科技园区海淀园"
    assert (e1["地区代码"], e1["白名单期间"], e1["版本"], e1["评分"]) == ("110108", "2026", 1, 75)
    assert "有效发明专利（1–4）：15.00" in e1["各项得分"] and "基础分：40.00" in e1["各项得分"]
    assert e1["纳入原因"] and e1["最新授信决定"] == "授信"
    assert e1["授信金额（元）"] == pytest.approx(1234567.89) and isinstance(e1["授信金额（元）"], float)
    assert sheet.cell(row=2, column=12).number_format == "#,##0.00"
    assert e1["决定日"].date() == TODAY
    assert rows[1]["最新授信决定"] == "未作决定" and rows[1]["授信金额（元）"] is None
    # The page's filters apply to the export.
    _h, filtered, _s = sheet_rows(client.get(reverse("screening:bank_export"), {"min_score": "72"}))
    assert [r["企业名称"] for r in filtered] == ["北京智芯科技有限公司"]
    _h, undecided, _s = sheet_rows(client.get(reverse("screening:bank_export"), {"decided": "no"}))
    assert [r["企业名称"] for r in undecided] == ["北京集群企业00有限公司"]


def test_other_bank_export_shows_its_own_decisions_only(world: World, delivered: Approved) -> None:
    client = Client()
    client.force_login(world.user("bank2"))
    _h, rows, _s = sheet_rows(client.get(reverse("screening:bank_export")))
    assert [r["企业名称"] for r in rows] == ["北京智芯科技有限公司", "北京集群企业00有限公司"]
    assert rows[0]["最新授信决定"] == "未作决定" and rows[0]["授信金额（元）"] is None
    client.force_login(world.user("bank1_br2"))
    _h, rows, _s = sheet_rows(client.get(reverse("screening:bank_export")))
    assert rows == []


def test_api_export(world: World, delivered: Approved) -> None:
    client = Client()
    client.force_login(world.user("bank1_sub"))
    headers, rows, _s = sheet_rows(client.get(f"{API}/screening/bank/entries.xlsx", {"decided": "true"}))
    assert headers == HEADERS and [r["企业名称"] for r in rows] == ["北京智芯科技有限公司"]
    bad = client.get(f"{API}/screening/bank/entries.xlsx", {"region": "999999"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "region"
