"""The xlsx export of a campaign's answers, opened with openpyxl: one row per respondent, one column per question,
numbers as numbers, yes/no in words, the demand created, the targets sheet; text that a spreadsheet would read as a
formula is neutralised."""

from __future__ import annotations

import io

import openpyxl
import pytest

from ipledge.core.context import as_of
from ipledge.market.export_surveys import export_filename, neutralise, response_workbook
from ipledge.market.services import surveys
from tests.market.factories_surveys import TODAY, add_enterprise, answers_for, enterprise_campaign, published
from tests.world import World

pytestmark = pytest.mark.django_db


def test_workbook(world: World) -> None:
    add_enterprise(world, "ent3", serial=5003)
    campaign = published(world, enterprise_campaign(world), ["ent1", "ent3"])
    with as_of(TODAY):
        response = surveys.response_submit(
            campaign=campaign,
            answers=answers_for(campaign, 未来="1,250,000.50", 其他='=HYPERLINK("http://x")'),
            acting_user=world.user("ent1"),
        )
    book = openpyxl.load_workbook(io.BytesIO(response_workbook(campaign)))
    sheet = book["答卷"]
    rows = list(sheet.iter_rows(values_only=True))
    header, row = rows[0], rows[1]
    assert len(rows) == 2  # one respondent (ent3 has not answered)
    questions = list(campaign.questions.order_by("position"))
    assert header[:4] == ("答卷机构", "统一社会信用代码", "提交时间", "答卷人")
    assert header[4:-2] == tuple(f"{q.position}. {q.text}" for q in questions)
    assert header[-2:] == ("生成的融资需求", "生成的产品草稿")
    answers = dict(zip(header, row, strict=True))
    assert (
        answers["答卷机构"] == world.orgs["ent1"].name and answers["统一社会信用代码"] == world.enterprises["e1"].uscc
    )
    assert answers["1. 未来半年融资需求金额（元）"] == 1250000.5
    assert answers["2. 期望融资期限（月）"] == 12 and answers["6. 对园区融资服务的满意度"] == 4
    assert answers["4. 拟用于质押的知识产权"] == "发明专利；商标" and answers["5. 是否了解知识产权质押融资"] == "是"
    assert answers["7. 其他意见"] == '\'=HYPERLINK("http://x")'
    assert response.demand is not None and answers["生成的融资需求"] == response.demand.reference
    targets = list(book["调查对象"].iter_rows(values_only=True))
    assert {(r[0], r[1]) for r in targets[1:]} == {
        (world.orgs["ent3"].name, "待答卷"),
        (world.orgs["ent1"].name, "已答卷"),
    }
    assert export_filename(campaign).endswith("2026Q2_答卷.xlsx")
    assert neutralise("+1") == "'+1" and neutralise("@x") == "'@x" and neutralise("-2") == "'-2" and neutralise(3) == 3
