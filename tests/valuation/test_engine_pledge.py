"""Pledge rate (质押率) and loan ceiling: caps, minimum terms, grade multipliers, refusals, bank policies."""

from __future__ import annotations

import csv
import json
from typing import Any

import polars as pl
import pytest

from ipledge.valuation.engine.pipeline import rights_frame, value_rights
from ipledge.valuation.engine.pledge import DEFAULTS_PATH, PledgePolicy, default_policy, policy_from_dict
from ipledge.valuation.engine.reference import pledge_decision
from ipledge.valuation.engine.tree import GRADES, RIGHT_TYPES


def decide(**overrides: Any) -> tuple[float, int, bool, list[str]]:
    args: dict[str, Any] = {
        "rtype": "invention",
        "grade": "A",
        "remaining": 10.0,
        "hard": False,
        "already_pledged": False,
        "p10_fen": 100_000_000,
        "policy": default_policy(),
    }
    args.update(overrides)
    return pledge_decision(**args)


def test_default_caps_follow_the_published_bank_rules() -> None:
    policy = default_policy()
    assert policy.max_rate["invention"] == 0.25
    assert policy.max_rate["utility_model"] == 0.15
    assert policy.max_rate["trademark"] == 0.20
    assert policy.min_remaining_years["invention"] == 8
    assert policy.min_remaining_years["utility_model"] == 4
    for rtype in ("design", "copyright", "ic_layout"):
        assert 0 < policy.max_rate[rtype] <= policy.max_rate["utility_model"]
        assert "platform default" in policy.sources[f"max_rate.{rtype}"]
    assert [policy.grade_multipliers[g] for g in GRADES] == [1.0, 1.0, 1.0, 0.9, 0.75, 0.5, 0.0, 0.0, 0.0]


def test_every_default_row_is_sourced() -> None:
    with DEFAULTS_PATH.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(row["source"].strip() for row in rows)
    bank_rows = [r for r in rows if r["key"] in ("invention", "utility_model") and r["rule"] != "grade_multiplier"]
    assert all("http" in r["source"] and "银行" in r["source"] for r in bank_rows)
    assert {r["key"] for r in rows if r["rule"] == "max_rate"} == set(RIGHT_TYPES)


def test_invention_needs_eight_years_left() -> None:
    assert decide(remaining=8.0)[2]
    rate, ceiling, eligible, reasons = decide(remaining=7.9)
    assert (rate, ceiling, eligible, reasons) == (0.0, 0, False, ["remaining_term_short"])
    assert decide(rtype="utility_model", remaining=4.0)[2]
    assert decide(rtype="utility_model", remaining=3.99)[3] == ["remaining_term_short"]
    assert decide(remaining=None)[3] == ["remaining_term_unknown"]
    assert decide(rtype="trademark", remaining=None)[2]  # renewable: no minimum term


def test_utility_model_is_capped_at_fifteen_percent() -> None:
    assert decide(rtype="utility_model", grade="AAA")[0] == 0.15
    assert decide(rtype="invention", grade="AAA")[0] == 0.25


@pytest.mark.parametrize(
    ("grade", "rate", "reasons"),
    [
        ("AAA", 0.25, []),
        ("A", 0.25, []),
        ("BBB", 0.25 * 0.9, ["grade_haircut"]),
        ("BB", 0.25 * 0.75, ["grade_haircut"]),
        ("B", 0.25 * 0.5, ["grade_haircut"]),
        ("CCC", 0.0, ["grade_too_low"]),
        ("C", 0.0, ["grade_too_low"]),
    ],
)
def test_grade_multipliers(grade: str, rate: float, reasons: list[str]) -> None:
    got_rate, _, eligible, got_reasons = decide(grade=grade)
    assert got_rate == pytest.approx(rate)
    assert eligible == (rate > 0)
    assert got_reasons == reasons


def test_refusals_are_all_reported_in_order() -> None:
    rate, ceiling, eligible, reasons = decide(hard=True, already_pledged=True, remaining=1.0, grade="C", p10_fen=0)
    assert (rate, ceiling, eligible) == (0.0, 0, False)
    assert reasons == ["gate_failed", "already_pledged", "remaining_term_short", "grade_too_low"]
    assert decide(p10_fen=None)[3] == ["no_value"]
    assert decide(rtype=None)[3] == ["type_not_accepted"]


def test_loan_ceiling_is_floored_to_whole_yuan() -> None:
    # 25 % of 1,234,567 fen = 308,641.75 fen → 308,600 fen (¥3,086).
    assert decide(p10_fen=1_234_567)[1] == 308_600
    # 22.5 % (BBB) of 999,999 fen = 224,999.775 → 224,900.
    assert decide(grade="BBB", p10_fen=999_999)[1] == 224_900
    assert decide(p10_fen=399)[1] == 0  # less than a yuan


def test_minimum_grade_of_a_bank() -> None:
    strict = policy_from_dict({"min_grade": "BBB"})
    assert decide(grade="BBB", policy=strict)[2]
    assert decide(grade="BB", policy=strict)[3] == ["grade_too_low"]


def test_policy_round_trips_through_json_and_merges_with_defaults() -> None:
    policy = policy_from_dict({"max_rate": {"invention": 0.3}, "grade_multipliers": {"B": 0.0}})
    assert policy.max_rate["invention"] == 0.3 and policy.max_rate["utility_model"] == 0.15
    assert policy.grade_multipliers["B"] == 0.0 and policy.grade_multipliers["BBB"] == 0.9
    again = policy_from_dict(json.loads(json.dumps(policy.to_dict())))
    assert again == policy
    assert default_policy().to_dict()["min_grade"] == ""


@pytest.mark.parametrize(
    "bad",
    [
        {"max_rate": {"invention": 1.5}},
        {"max_rate": {"patent": 0.2}},
        {"min_remaining_years": {"invention": -1}},
        {"grade_multipliers": {"AAAA": 1.0}},
        {"grade_multipliers": {"A": 2.0}},
        {"min_grade": "Z"},
        {"max_rate": {"invention": "high"}},
        {"interest": 0.05},
    ],
)
def test_policy_rejects_invalid_rules(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        policy_from_dict(bad)


def test_pipeline_applies_the_policy() -> None:
    base: dict[str, Any] = {
        "kind": "patent",
        "patent_type": "invention",
        "ipc_section": "H",
        "filing_year": 2016,
        "legal_status": "valid",
        "remaining_years": 12.0,
        "age_years": 8.0,
        "fee_paid": True,
        "owner_count": 1,
        "claims_count": 10,
        "implemented": True,
        "owner_revenue_fen": 5_000_000_000,
        "owner_portfolio_size": 5,
        "industry_section": "C",
    }
    rows = [
        {**base, "right_id": 1},
        {**base, "right_id": 2, "remaining_years": 7.0},
        {**base, "right_id": 3, "already_pledged": True},
        {**base, "right_id": 4, "patent_type": "utility_model", "remaining_years": 6.0},
    ]
    out = value_rights(rights_frame(rows))
    invention, short, pledged, utility = out.to_dicts()
    assert invention["pledge_eligible"]
    expected_rate = 0.25 * default_policy().grade_multipliers[invention["grade"]]
    assert invention["pledge_rate"] == pytest.approx(expected_rate)
    assert invention["loan_ceiling_fen"] == int(expected_rate * invention["p10_fen"] / 100) * 100
    assert invention["loan_ceiling_fen"] % 100 == 0
    assert short["pledge_reasons"] == ["remaining_term_short"] and short["loan_ceiling_fen"] == 0
    assert pledged["pledge_reasons"] == ["already_pledged"]
    assert utility["pledge_rate"] <= 0.15
    bank = PledgePolicy(
        max_rate={"invention": 0.4}, min_remaining_years={"invention": 5.0}, grade_multipliers={g: 1.0 for g in GRADES}
    )
    custom = value_rights(rights_frame(rows), policy=bank)
    assert custom["pledge_rate"].to_list()[:2] == [0.4, 0.4]  # 7 years is enough for this bank
    assert custom["pledge_reasons"].to_list()[3] == ["type_not_accepted"]  # it takes no utility models
    assert custom.schema["pledge_reasons"] == pl.List(pl.String)
