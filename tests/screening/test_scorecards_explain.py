"""Screening results in words: reason codes, violations, the points table and the model card rows."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from ipledge.screening import explain
from ipledge.screening.engine import rules
from ipledge.screening.engine.expert import EXPERT_SCORECARD
from ipledge.screening.engine.rules import Violation, tightening_violations, validate_exclusions
from ipledge.screening.engine.spec import RULES, CriteriaSpec, ExclusionRule
from tests.screening.factories import SMALL_CARD


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("passed", "符合全部筛选条件"),
        ("below_min_score", "评分低于最低评分"),
        ("few_invention_patents", "有效发明专利数少于要求"),
        ("not_high_tech_or_specialised", "既非高新技术企业，也非专精特新企业"),
        ("size_not_allowed", "企业规模不在准入范围内"),
        ("exclusion:dishonest", "硬性排除：列入失信被执行人名单（在列）"),
        ("exclusion:tax_rating", "硬性排除：纳税信用等级不符合要求"),
        ("tax_rating:D", "纳税信用等级为 D"),
        ("penalties:3", "期间内行政处罚 3 次"),
        ("park:something", "park:something"),
        ("exclusion:bankrupt", "exclusion:bankrupt"),
    ],
)
def test_reason_codes_in_words(code, text):
    assert explain.describe_reason(code) == text


def test_every_rule_has_words():
    for rule in RULES:
        assert explain.describe_reason(f"exclusion:{rule}") != f"exclusion:{rule}"
        assert explain.rule_label(rule) != rule


def test_every_violation_renders_without_placeholders():
    base = CriteriaSpec(
        exclusions=(
            ExclusionRule("dishonest"),
            ExclusionRule("tax_rating", params={"ratings": ["D"]}),
            ExclusionRule("abnormal"),
        ),
        min_score=60,
        min_invention_patents=2,
        require_high_tech_or_specialised=True,
        allowed_sizes=("small",),
    )
    park = CriteriaSpec(
        exclusions=(
            ExclusionRule("tax_rating", params={"ratings": ["C"]}),
            ExclusionRule("abnormal", effective_to=datetime.date(2026, 1, 1)),
        ),
        min_score=50,
        allowed_sizes=("large",),
    )
    violations = tightening_violations(base, park) + tightening_violations(base, CriteriaSpec())
    violations += validate_exclusions(
        [5, {"rule": "x", "y": 1, "effective_from": "bad"}, {"rule": "penalties", "params": {"max_count": -1, "z": 1}}]
    )
    violations += validate_exclusions("nope") + rules.validate_sizes(["tiny"])
    violations += validate_exclusions(
        [{"rule": "abnormal", "effective_from": "2026-02-01", "effective_to": "2026-01-01"}]
    )
    seen = {v.code for v in violations}
    assert seen == set(explain.VIOLATION_TEXT)  # every code has words, and this case produced every code
    for v in violations:
        text = explain.describe_violation(v)
        assert "%(" not in text and text, v
    assert explain.describe_violation(violations[0]) == "最低评分 50 低于基准标准的 60，园区只能从严不能放宽。"
    assert explain.describe_violation(Violation("x", "strange", {})) == "x: strange"


def test_describe_points_follows_the_card():
    rows = explain.describe_points(
        SMALL_CARD, {"is_high_tech": 20.0, "invention_patents": "15"}, {"is_high_tech": "是"}
    )
    assert [r["name"] for r in rows] == ["invention_patents", "is_high_tech"]
    assert rows[0] == {
        "name": "invention_patents",
        "label": "有效发明专利",
        "value": "",
        "points": 15.0,
        "rationale": explain.CHARACTERISTIC_RATIONALE["invention_patents"],
        "unbinned": False,
    }
    from_json = explain.describe_points(SMALL_CARD.to_json(), {}, {})
    assert [r["points"] for r in from_json] == [0.0, 0.0]


def test_describe_card_and_languages():
    rows = explain.describe_card(EXPERT_SCORECARD)
    assert len(rows) == len(EXPERT_SCORECARD.characteristics)
    assert all(r["rationale"] for r in rows)
    grade = rows[0]
    assert (grade["min_points"], grade["max_points"]) == (-4.0, 10.0)
    assert explain.method_text("expert") and explain.method_text("unknown") == "unknown"
    with translation.override("en"):
        assert explain.describe_reason("tax_rating:C")  # falls back to the source text until translated
