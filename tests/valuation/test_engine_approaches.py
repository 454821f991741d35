"""Income, cost and market approaches and their reconciliation into P10/P50/P90."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipledge.valuation.engine.approaches import Assumptions, income_factor, load_assumptions
from ipledge.valuation.engine.pipeline import fit_rights_cohort_stats, rights_frame, value_rights
from ipledge.valuation.engine.reference import income_value_sum
from tests.valuation.test_engine_reference import right_rows

PROPERTY = settings(max_examples=30, deadline=None)
DEFAULTS = load_assumptions()
# Hand-checkable: 10 % discount, no growth, a flat 4 % royalty in manufacturing whatever the score.
FLAT = dataclasses.replace(DEFAULTS, discount_rate=0.10, revenue_growth=0.0, royalty_rates={"C": (0.04, 0.04)})


def patent(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "right_id": 1,
        "kind": "patent",
        "patent_type": "invention",
        "ipc_section": "H",
        "filing_year": 2010,
        "legal_status": "valid",
        "remaining_years": 5.0,
        "age_years": 15.0,
        "fee_paid": True,
        "owner_count": 1,
        "own_share": 1.0,
        # ¥1,000,000 of revenue, one right: 50 % attributed → ¥500,000; 4 % royalty → ¥20,000; after 25 % tax
        # → ¥15,000 a year = 1,500,000 fen.
        "owner_revenue_fen": 100_000_000,
        "owner_portfolio_size": 1,
        "industry_section": "C",
        "claims_count": 10,
    }
    row.update(overrides)
    return row


def value(*rows: dict[str, Any], assumptions: Assumptions = FLAT, **kwargs: Any) -> list[dict[str, Any]]:
    frame = rights_frame(list(rows))
    stats = fit_rights_cohort_stats(frame)
    return value_rights(frame, assumptions=assumptions, cohort_stats=stats, **kwargs).to_dicts()


def test_income_equals_the_closed_form_annuity_for_constant_revenue() -> None:
    # 1,500,000 × (1/1.1 + 1/1.1² + … + 1/1.1⁵) = 1,500,000 × 3.7907867695 = 5,686,180.15 fen.
    (row,) = value(patent())
    assert row["value_income_fen"] == 5_686_180


def test_income_counts_a_fractional_last_year_pro_rata() -> None:
    # 5,686,180.15 + 0.5 × 1,500,000 / 1.1⁶ (= 423,355.45) = 6,109,535.60 fen.
    (row,) = value(patent(remaining_years=5.5))
    assert row["value_income_fen"] == 6_109_536


def test_income_with_growth() -> None:
    # 1,500,000 × (1/1.1 + 1.05/1.1² + 1.05²/1.1³) = 1,500,000 × 2.6051840721 = 3,907,776.11 fen.
    (row,) = value(patent(remaining_years=3.0), assumptions=dataclasses.replace(FLAT, revenue_growth=0.05))
    assert row["value_income_fen"] == 3_907_776


def test_income_period_is_capped_by_the_economic_life() -> None:
    # An invention's economic life is 10 years: 1,500,000 × 6.1445671057 = 9,216,850.66 fen, not 15 years' worth.
    assert FLAT.economic_life_years["invention"] == 10
    (row,) = value(patent(remaining_years=15.0))
    assert row["value_income_fen"] == 9_216_851


def test_income_of_a_renewable_mark_runs_for_its_economic_life() -> None:
    short, long = value(
        patent(kind="trademark", patent_type="", remaining_years=0.5),
        patent(right_id=2, kind="trademark", patent_type="", remaining_years=9.0),
    )
    assert short["value_income_fen"] == long["value_income_fen"] == 9_216_851


def test_income_shares_revenue_over_the_portfolio_and_the_holders_share() -> None:
    one, shared = value(patent(), patent(right_id=2, owner_portfolio_size=4, own_share=0.5))
    assert shared["value_income_fen"] == pytest.approx(one["value_income_fen"] / 8, abs=1)


def test_royalty_rate_rises_with_the_score() -> None:
    weak, strong = value(
        patent(remaining_years=5.0, claims_count=1, implemented=False),
        patent(right_id=2, remaining_years=5.0, claims_count=1, implemented=True, licence_count=3),
        assumptions=DEFAULTS,
    )
    assert strong["score"] > weak["score"]
    assert strong["value_income_fen"] > weak["value_income_fen"]


@pytest.mark.parametrize(
    "overrides",
    [{"owner_revenue_fen": None}, {"owner_revenue_fen": 0}, {"owner_revenue_fen": -5}, {"remaining_years": None}],
)
def test_income_is_null_when_it_cannot_be_predicted(overrides: dict[str, Any]) -> None:
    (row,) = value(patent(**overrides))
    assert row["value_income_fen"] is None


def test_cost_is_replacement_cost_less_obsolescence() -> None:
    # 20,000,000 fen × (1 − 5 / (5 + 15)) = 15,000,000; the holder owns half.
    assert FLAT.replacement_cost_fen["invention"] == 20_000_000
    whole, half = value(
        patent(age_years=5.0, remaining_years=15.0),
        patent(right_id=2, age_years=5.0, remaining_years=15.0, own_share=0.5),
    )
    assert whole["value_cost_fen"] == 15_000_000
    assert half["value_cost_fen"] == 7_500_000


def test_approaches_are_null_when_a_hard_gate_fails() -> None:
    (row,) = value(patent(legal_status="lapsed"), comparables=comparables("invention", "H", 5))
    assert (row["value_income_fen"], row["value_cost_fen"], row["value_market_fen"]) == (None, None, None)


def comparables(patent_type: str, section: str, n: int, price: int = 1_000_000, kind: str = "patent") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "kind": [kind] * n,
            "patent_type": [patent_type] * n,
            "ipc_section": [section] * n,
            "price_fen": [price * (i + 1) for i in range(n)],
            "score": [40.0 + 10 * i for i in range(n)],
        }
    )


def test_market_approach_needs_five_comparables() -> None:
    (four,) = value(patent(), comparables=comparables("invention", "H", 4))
    assert four["value_market_fen"] is None
    (five,) = value(patent(), comparables=comparables("invention", "H", 5))
    # Median price 3,000,000 × clip(score / median score 60, 0.5, 2).
    factor = min(max(five["score"] / 60.0, 0.5), 2.0)
    assert five["value_market_fen"] == pytest.approx(3_000_000 * factor, abs=1)


def test_market_approach_matches_type_and_prefers_the_section() -> None:
    comps = pl.concat(
        [
            comparables("invention", "H", 5, price=10_000_000),
            comparables("invention", "A", 5, price=1_000_000),
            comparables("utility_model", "G", 9, price=100),
        ]
    )
    in_h, in_g, utility = value(
        patent(),
        patent(right_id=2, ipc_section="G"),
        patent(right_id=3, patent_type="utility_model"),
        comparables=comps,
    )
    factor = min(max(in_h["score"] / 60.0, 0.5), 2.0)
    assert in_h["value_market_fen"] == pytest.approx(30_000_000 * factor, abs=1)
    # No section G group: all ten inventions, median price (5,000,000 + 10,000,000) / 2, median score 60.
    factor_g = min(max(in_g["score"] / 60.0, 0.5), 2.0)
    assert in_g["value_market_fen"] == pytest.approx(7_500_000 * factor_g, abs=1)
    # The nine utility models are in section G, not H: the type group applies.
    assert utility["value_market_fen"] is not None and utility["value_market_fen"] < 10_000
    (mark,) = value(patent(kind="trademark", patent_type=""), comparables=comps)
    assert mark["value_market_fen"] is None


def test_reconciled_median_is_the_weighted_geometric_mean() -> None:
    (row,) = value(patent(age_years=5.0, remaining_years=15.0))
    income, cost = row["value_income_fen"], row["value_cost_fen"]
    p50 = math.exp((0.6 * math.log(income) + 0.1 * math.log(cost)) / 0.7)
    assert row["p50_fen"] == pytest.approx(p50, rel=1e-6)
    spread = abs(math.log(income) - math.log(cost)) / 2  # population std of two logs
    expected_sigma = FLAT.base_sigma["invention"] + FLAT.k_completeness * (1 - row["completeness"]) + spread
    assert row["sigma"] == pytest.approx(expected_sigma, rel=1e-6)
    assert row["p10_fen"] == pytest.approx(p50 * math.exp(-1.2816 * row["sigma"]), rel=1e-6)
    assert row["p90_fen"] == pytest.approx(p50 * math.exp(1.2816 * row["sigma"]), rel=1e-6)


def test_a_single_approach_gives_the_base_spread() -> None:
    (row,) = value(patent(owner_revenue_fen=None, age_years=5.0, remaining_years=15.0))
    assert row["p50_fen"] == row["value_cost_fen"] == 15_000_000
    assert row["sigma"] == pytest.approx(FLAT.base_sigma["invention"] + FLAT.k_completeness * (1 - row["completeness"]))


def test_no_approach_no_range() -> None:
    (row,) = value(patent(owner_revenue_fen=None, age_years=None))
    assert row["p10_fen"] is None and row["p50_fen"] is None and row["p90_fen"] is None
    assert not row["pledge_eligible"] and "no_value" in row["pledge_reasons"]


def test_a_worthless_approach_makes_the_geometric_mean_zero() -> None:
    (row,) = value(patent(remaining_years=0.0))
    assert row["value_cost_fen"] == 0 and row["value_income_fen"] == 0
    assert (row["p10_fen"], row["p50_fen"], row["p90_fen"]) == (0, 0, 0)


@PROPERTY
@given(rows=st.lists(right_rows(), min_size=1, max_size=20))
def test_range_is_ordered_and_log_symmetric(rows: list[dict[str, Any]]) -> None:
    frame = rights_frame([{**r, "right_id": i} for i, r in enumerate(rows)])
    out = value_rights(frame, cohort_stats=fit_rights_cohort_stats(frame, min_size=1))
    for row in out.iter_rows(named=True):
        p10, p50, p90 = row["p10_fen"], row["p50_fen"], row["p90_fen"]
        assert (p10 is None) == (p50 is None) == (p90 is None)
        assert row["sigma"] > 0
        if p50 is None:
            continue
        assert 0 <= p10 <= p50 <= p90
        if p10 >= 10_000:  # far enough from 0 that rounding to whole fen does not matter
            assert math.log(p90 / p50) == pytest.approx(math.log(p50 / p10), abs=1e-3)
            assert math.log(p50 / p10) == pytest.approx(1.2816 * row["sigma"], abs=1e-3)


@PROPERTY
@given(
    years=st.floats(0.0, 40.0, allow_nan=False),
    growth=st.floats(-0.5, 0.5, allow_nan=False),
    rate=st.floats(0.0, 0.5, allow_nan=False),
)
def test_closed_form_income_factor_equals_the_literal_sum(years: float, growth: float, rate: float) -> None:
    a = dataclasses.replace(DEFAULTS, revenue_growth=growth, discount_rate=rate)
    assert income_factor(years, a) == pytest.approx(income_value_sum(1.0, years, a), rel=1e-9, abs=1e-12)


def test_closed_form_handles_growth_equal_to_the_discount_rate() -> None:
    a = dataclasses.replace(DEFAULTS, revenue_growth=0.1, discount_rate=0.1)
    assert income_factor(3.5, a) == pytest.approx(3.5 / 1.1)


def test_assumptions_are_sourced_and_round_trip() -> None:
    a = load_assumptions()
    assert a.discount_rate == 0.15 and a.tax_rate == 0.25 and a.min_comparables == 5
    assert a.approach_weights == {"income": 0.6, "market": 0.3, "cost": 0.1}
    assert a.market_factor_bounds == (0.5, 2.0) and a.z == 1.2816
    assert a.royalty_band("I")[0] > a.royalty_band("C")[0]
    assert a.royalty_band("") == a.royalty_default
    assert all(a.sources.values()) and len(a.sources) >= 14
    data = json.loads(json.dumps(a.to_dict()))
    assert Assumptions.from_dict(data) == a
    assert Assumptions.from_dict({"discount_rate": 0.18}).discount_rate == 0.18


def test_assumptions_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(DEFAULTS, discount_rate=-1.0)
    with pytest.raises(ValueError):
        dataclasses.replace(DEFAULTS, approach_weights={"income": 1.0, "hunch": 1.0})


def test_disagreement_between_approaches_widens_the_range_only_up_to_the_cap() -> None:
    from ipledge.valuation.engine.approaches import load_assumptions
    from ipledge.valuation.engine.reference import reconcile

    a = load_assumptions()
    close = reconcile(
        {"income": 1_000_000.0, "market": None, "cost": 900_000.0},
        rtype="invention",
        completeness=1.0,
        hard=False,
        gm=1.0,
        a=a,
    )
    apart = reconcile(
        {"income": 1e12, "market": None, "cost": 1e3}, rtype="invention", completeness=1.0, hard=False, gm=1.0, a=a
    )
    assert a.base_sigma["invention"] < close[0] < apart[0]
    assert apart[0] == pytest.approx(a.base_sigma["invention"] + a.max_spread)
    assert apart[3] / apart[2] == pytest.approx(math.exp(a.z * apart[0]))
