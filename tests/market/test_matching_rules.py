"""Each hard rule on its own: the pair fails exactly that rule, and its reason reads right in Chinese and English
(and the passing pair carries the same rule as passed)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from ipledge.market import explain
from ipledge.market.engine import matching as engine
from ipledge.market.engine import reference
from tests.market.factories_matching import demand_row, product_row

RATES = engine.Rates(lpr_1y_bp=310, lpr_5y_bp=360)
YEAR = 1461 / 4

CASES: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    (
        engine.RULE_KIND,
        {"accepts": ("trademark",), "min_years": {"trademark": 1}, "caps": {"trademark": 2000}},
        {},
        "本产品只接受商标专用权作为质押物，所提供的知识产权（发明专利）不在其列",
        "this product accepts only trademark as collateral; the rights offered (invention patent) are not among them",
    ),
    (
        engine.RULE_LIFE,
        {"min_years": {"invention": 8}},
        {"rights": {"invention": [(int(7.35 * YEAR), 10_000_000_00)]}},
        "发明专利剩余有效期7.3年，本产品要求至少8年",
        "invention patent has 7.3 years left; this product needs 8",
    ),
    (
        engine.RULE_AMOUNT,
        {"amount_min": 5_000_000_00},
        {"amount": 2_000_000_00, "rights": {"invention": [(12 * 366, 20_000_000_00)]}},
        "融资金额200万元低于本产品最低额度500万元",
        "the amount of CNY 2,000,000 is below this product's minimum of CNY 5,000,000",
    ),
    (
        engine.RULE_CAPACITY,
        {"amount_min": 1_000_000_00},
        {"rights": {"invention": [(12 * 366, 3_000_000_00)]}},  # 30 % of 3 million: 0.9 million
        "按本产品质押率，已评估的知识产权仅可支持约90万元，低于产品最低额度100万元",
        "at this product's pledge-rate caps the valued rights support only about CNY 900,000, below its minimum of "
        "CNY 1,000,000",
    ),
    (
        engine.RULE_TERM,
        {"term_max": 24},
        {"term": 36},
        "融资期限36个月长于本产品最长期限24个月",
        "the term of 36 months is longer than this product's maximum of 24 months",
    ),
    (
        engine.RULE_INDUSTRY,
        {"industry_sections": ["C"]},
        {"industry_section": "I"},
        "本产品仅适用于C 制造业行业，企业所属行业为I 信息传输、软件和信息技术服务业",
        "this product serves only the industries C; the enterprise is in I",
    ),
    (
        engine.RULE_SIZE,
        {"size_classes": ["micro", "small"]},
        {"size_class": "medium"},
        "本产品仅适用于微型、小型企业，该企业为中型",
        "this product serves only micro, small enterprises; this one is medium",
    ),
    (
        engine.RULE_AGE,
        {"min_age": 3},
        {"age_days": int(2.55 * YEAR)},
        "企业成立2.5年，本产品要求成立至少3年",
        "the enterprise is 2.5 years old; this product needs at least 3",
    ),
    (
        engine.RULE_WHITELIST,
        {"requires_whitelist": True},
        {"whitelisted": False},
        "本产品仅面向授信白名单企业，该企业不在白名单内",
        "this product is only for whitelisted enterprises; this one is not on a whitelist",
    ),
    (
        engine.RULE_DISHONEST,
        {"excludes_dishonest": True},
        {"dishonest": True},
        "企业有在列的失信被执行人或严重违法失信记录，本产品不予受理",
        "the enterprise has an active dishonest-debtor or serious-violation record, which this product excludes",
    ),
    (
        engine.RULE_PENALTIES,
        {"max_penalties": 1},
        {"penalties_3y": 2},
        "近三年行政处罚2次，超过本产品上限1次",
        "2 administrative penalties in the last three years, above this product's cap of 1",
    ),
]


def _pair(product: dict[str, Any], demand: dict[str, Any]) -> dict[str, Any]:
    return reference.match_pair(demand, product, RATES)


def _item(product: dict[str, Any], demand: dict[str, Any], code: str) -> dict[str, Any]:
    items = engine.pair_reasons(demand, product, _pair(product, demand))
    return next(i for i in items if i["code"] == code)


def test_the_base_pair_is_eligible() -> None:
    pair = _pair(product_row(), demand_row())
    assert pair["eligible"] and pair["failures"] == 0


@pytest.mark.parametrize(("rule", "product_fields", "demand_fields", "zh", "en"), CASES, ids=[c[0] for c in CASES])
def test_rule_fails_alone_with_its_reason(
    rule: str, product_fields: dict[str, Any], demand_fields: dict[str, Any], zh: str, en: str
) -> None:
    product, demand = product_row(**product_fields), demand_row(**demand_fields)
    pair = _pair(product, demand)
    assert [r for r in engine.HARD_RULES if not pair[f"ok_{r}"]] == [rule]
    assert not pair["eligible"]
    item = _item(product, demand, rule)
    assert item["passed"] is False
    assert explain.describe_reason(item) == zh
    with translation.override("en"):
        assert explain.describe_reason(item) == en


@pytest.mark.django_db
def test_region_rule_names_the_regions() -> None:
    product, demand = product_row(region_codes=["320000"]), demand_row(region_code="110108")
    pair = _pair(product, demand)
    assert [r for r in engine.HARD_RULES if not pair[f"ok_{r}"]] == [engine.RULE_REGION]
    item = _item(product, demand, engine.RULE_REGION)
    assert explain.describe_reason(item) == "本产品仅适用于江苏省（320000），企业登记地为海淀区（110108）"
    with translation.override("en"):
        assert explain.describe_reason(item) == (
            "this product is only for 江苏省（320000）; the enterprise is registered in 海淀区（110108）"
        )
    inside = demand_row(region_code="320115")
    assert _pair(product, inside)["ok_region"]
    assert _pair(product_row(region_codes=["320100"]), inside)["ok_region"]  # a city covers its counties
    assert not _pair(product_row(region_codes=["320200"]), inside)["ok_region"]


def test_passing_rules_read_as_passed() -> None:
    product = product_row(min_years={"invention": 8}, max_penalties=2, min_age=1, requires_whitelist=True)
    demand = demand_row(rights={"invention": [(int(9.05 * YEAR), 10_000_000_00)]}, whitelisted=True, penalties_3y=1)
    pair = _pair(product, demand)
    assert pair["eligible"]
    items = {i["code"]: i for i in engine.pair_reasons(demand, product, pair)}
    assert all(items[r]["passed"] for r in items if not items[r].get("soft"))
    assert explain.describe_reason(items[engine.RULE_LIFE]) == "发明专利剩余有效期9年，满足本产品至少8年的要求"
    assert explain.describe_reason(items[engine.RULE_PENALTIES]) == "近三年行政处罚1次，未超过本产品上限2次"
    assert explain.describe_reason(items[engine.RULE_AMOUNT]) == "融资金额200万元在产品额度100万元至1000万元之内"
    with translation.override("en"):
        assert (
            explain.describe_reason(items[engine.RULE_LIFE])
            == "invention patent has 9 years left; this product needs 8"
        )
        assert explain.describe_reason(items[engine.RULE_WHITELIST]) == "the enterprise is on a credit whitelist"


def test_soft_notes_never_fail_a_pair() -> None:
    product = product_row(amount_min=5_000_000_00, requires_guarantee=True, requires_insurance=True)
    demand = demand_row(rights={"invention": [(12 * 366, None)]}, amount=6_000_000_00)
    pair = _pair(product, demand)
    assert pair["eligible"] and pair["capacity_unknown"]
    soft = [i for i in engine.pair_reasons(demand, product, pair) if i.get("soft")]
    texts = [explain.describe_reason(i) for i in soft]
    assert texts[0] == "部分拟质押知识产权尚无有效评估，可支持额度未知，建议先进行价值评估"
    assert "本产品需另行提供担保" in texts and "本产品需办理保证保险" in texts
    assert any(t.startswith("预计获批概率约") and "非模型预测" in t for t in texts)
    assert "参考年利率3.60%" in texts  # LPR 1-year 3.10 % + 50 bp


def test_coverage_note_when_the_collateral_supports_less_than_asked() -> None:
    product = product_row()
    demand = demand_row(rights={"invention": [(12 * 366, 5_000_000_00)]}, amount=2_000_000_00)  # 30 % → 1.5 m
    item = _item(product, demand, engine.SOFT_COVERAGE)
    assert item["passed"] is False
    assert explain.describe_reason(item) == "质押物可支持约150万元，不足融资金额200万元，可能需要追加担保或调低金额"


def test_unknown_codes_show_as_they_are() -> None:
    assert explain.describe_reason({"code": "something_new", "passed": True}) == "something_new"
    assert explain.describe_reason({"code": engine.RULE_LIFE, "passed": False, "params": {"bad": 1}}) == (
        explain.describe_reason({"code": engine.RULE_LIFE, "passed": False, "params": {"kind": None}})
    )


def test_reasons_for_display_puts_failures_first() -> None:
    product, demand = product_row(term_max=24), demand_row(term=36)
    items = engine.pair_reasons(demand, product, _pair(product, demand))
    shown = explain.reasons_for_display(items)
    assert shown[0]["code"] == engine.RULE_TERM and shown[0]["passed"] is False
    assert [s["soft"] for s in shown] == sorted(s["soft"] for s in shown)
    assert all(set(s) == {"code", "passed", "soft", "text"} for s in shown)
