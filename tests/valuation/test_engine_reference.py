"""The vectorised pipeline equals the plain-Python reference, row by row, on generated rights (nulls included)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipledge.valuation.engine.approaches import load_assumptions
from ipledge.valuation.engine.pipeline import (
    RIGHT_INPUT_SCHEMA,
    fit_rights_cohort_stats,
    indicator_values,
    output_columns,
    rights_frame,
    value_rights,
)
from ipledge.valuation.engine.pledge import default_policy, policy_from_dict
from ipledge.valuation.engine.reference import comparable_index, indicator_values_row, value_right_row
from ipledge.valuation.engine.tree import load_scenario

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


flags = st.sampled_from([None, False, False, False, True])
rare_flags = st.sampled_from([None, False, False, False, False, False, False, True])  # hard gates: most rows pass
counts = opt(st.integers(0, 60))
years = opt(st.floats(-1.0, 30.0, allow_nan=False))


@st.composite
def right_rows(draw: st.DrawFn) -> dict[str, Any]:
    """One input row; a few values per column, so cohorts collide and every branch is reached."""
    kind = draw(st.sampled_from(["patent", "patent", "patent", "trademark", "copyright", "ic_layout", None]))
    return {
        "kind": kind,
        "patent_type": draw(
            st.sampled_from(["invention", "utility_model", "design", "pct_invention", "pct_utility_model", "", None])
        ),
        "ipc_section": draw(st.sampled_from(["A", "C", "H", "", None])),
        "filing_year": draw(opt(st.integers(2015, 2017))),
        "legal_status": draw(st.sampled_from(["valid"] * 15 + ["pending", "lapsed", "expired", "odd", None])),
        "remaining_years": draw(years),
        "age_years": draw(years),
        "fee_paid": draw(st.sampled_from([None, True, True, True, True, True, True, False])),
        "claims_count": draw(counts),
        "forward_citations": draw(counts),
        "backward_citations": draw(counts),
        "family_size": draw(counts),
        "ipc_count": draw(counts),
        "grant_lag_years": draw(opt(st.floats(0.0, 10.0, allow_nan=False))),
        "owner_count": draw(opt(st.integers(0, 4))),
        "own_share": draw(opt(st.floats(0.0, 1.0, allow_nan=False))),
        "suspended": draw(rare_flags),
        "preserved": draw(rare_flags),
        "invalidation_pending": draw(flags),
        "already_pledged": draw(flags),
        "invalidation_requests": draw(opt(st.integers(0, 3))),
        "litigation_count": draw(opt(st.integers(0, 3))),
        "licence_count": draw(opt(st.integers(0, 5))),
        "transfer_count": draw(opt(st.integers(0, 5))),
        "implemented": draw(opt(st.booleans())),
        "owner_revenue_fen": draw(opt(st.integers(-10, 10**12))),
        "owner_portfolio_size": draw(opt(st.integers(0, 200))),
        "industry_section": draw(st.sampled_from(["A", "C", "I", "M", "Z", "", None])),
        "nice_class_count": draw(opt(st.integers(1, 45))),
        "renewal_count": draw(opt(st.integers(0, 5))),
        "work_kind": draw(st.sampled_from(["software", "work", "other", "", None])),
    }


comparable_rows = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["patent", "trademark"]),
        "patent_type": st.sampled_from(["invention", "utility_model", ""]),
        "ipc_section": st.sampled_from(["A", "H", ""]),
        "price_fen": st.integers(0, 10**9),
        "score": st.floats(0.0, 100.0, allow_nan=False),
    }
)


def comparables_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {"kind": pl.String, "patent_type": pl.String, "ipc_section": pl.String, "price_fen": pl.Int64}
    return pl.DataFrame(rows, schema={**schema, "score": pl.Float64})


def assert_same(got: dict[str, Any], want: dict[str, Any], context: Any) -> None:
    assert set(got) == set(want)
    for key, expected in want.items():
        actual = got[key]
        if isinstance(expected, float) and actual is not None:
            assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9), (key, actual, expected, context)
        else:
            assert actual == expected, (key, actual, expected, context)


@PROPERTY
@given(
    rows=st.lists(right_rows(), min_size=1, max_size=25),
    comps=st.lists(comparable_rows, max_size=14),
    min_size=st.integers(1, 3),
    min_comparables=st.integers(1, 5),
    scenario_key=st.sampled_from(["finance", "licensing"]),
    min_grade=st.sampled_from(["", "BB"]),
)
def test_pipeline_equals_reference(
    rows: list[dict[str, Any]],
    comps: list[dict[str, Any]],
    min_size: int,
    min_comparables: int,
    scenario_key: str,
    min_grade: str,
) -> None:
    frame = rights_frame([{**row, "right_id": i} for i, row in enumerate(rows)])
    scenario = load_scenario(scenario_key)
    stats = fit_rights_cohort_stats(frame, scenario, min_size=min_size)
    assumptions = dataclasses.replace(load_assumptions(), min_comparables=min_comparables)
    policy = policy_from_dict({"min_grade": min_grade})
    comparables = comparables_frame(comps)
    out = value_rights(
        frame,
        scenario=scenario,
        assumptions=assumptions,
        policy=policy,
        comparables=comparables,
        cohort_stats=stats,
    )
    assert out.columns == output_columns(scenario)
    assert out.height == frame.height
    index = comparable_index(comparables, assumptions)
    for got, row in zip(out.to_dicts(), frame.to_dicts(), strict=True):
        want = value_right_row(
            row, scenario=scenario, assumptions=assumptions, policy=policy, cohort_stats=stats, comparables=index
        )
        assert_same(got, want, row)


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(right_rows(), min_size=1, max_size=25))
def test_indicator_values_equal_reference(rows: list[dict[str, Any]]) -> None:
    frame = rights_frame([{**row, "right_id": i} for i, row in enumerate(rows)])
    stats = fit_rights_cohort_stats(frame, min_size=1)
    values = indicator_values(frame, cohort_stats=stats)
    for got, row in zip(values.to_dicts(), frame.to_dicts(), strict=True):
        want = indicator_values_row(row, cohort_stats=stats)
        assert_same({k: v for k, v in got.items() if k != "right_id"}, want, row)
        assert all(v is None or 0.0 <= v <= 1.0 for v in want.values())


def test_output_schema_matches_the_contract() -> None:
    frame = rights_frame([{"right_id": 7, "kind": "patent", "patent_type": "invention", "legal_status": "valid"}])
    out = value_rights(frame)
    scenario = load_scenario()
    expected = {
        "right_id": pl.Int64,
        "score": pl.Float64,
        "grade": pl.String,
        "completeness": pl.Float64,
        "gate_multiplier": pl.Float64,
        "gates": pl.List(pl.String),
        **{f"c_{key}": pl.Float64 for key in scenario.keys},
        "value_income_fen": pl.Int64,
        "value_cost_fen": pl.Int64,
        "value_market_fen": pl.Int64,
        "p10_fen": pl.Int64,
        "p50_fen": pl.Int64,
        "p90_fen": pl.Int64,
        "sigma": pl.Float64,
        "pledge_rate": pl.Float64,
        "loan_ceiling_fen": pl.Int64,
        "pledge_eligible": pl.Boolean,
        "pledge_reasons": pl.List(pl.String),
    }
    assert dict(out.schema) == expected


def test_rights_frame_fills_missing_keys_with_null_and_ignores_extras() -> None:
    frame = rights_frame([{"right_id": 1, "kind": "trademark", "main_ipc": "H04L"}, {"right_id": 2}])
    assert dict(frame.schema) == RIGHT_INPUT_SCHEMA
    assert frame["kind"].to_list() == ["trademark", None]
    assert frame["claims_count"].null_count() == 2


def test_value_rights_accepts_frames_missing_columns_and_keeps_row_order() -> None:
    frame = pl.DataFrame({"right_id": [3, 1, 2], "kind": ["patent", "trademark", "copyright"]})
    out = value_rights(frame)
    assert out["right_id"].to_list() == [3, 1, 2]
    assert out["gates"].to_list() == [["status_unknown"]] * 3  # no legal status: not valuable as collateral


def test_reference_defaults_match_pipeline_defaults() -> None:
    row = {
        "right_id": 1,
        "kind": "patent",
        "patent_type": "invention",
        "ipc_section": "H",
        "filing_year": 2018,
        "legal_status": "valid",
        "remaining_years": 12.0,
        "age_years": 8.0,
        "owner_revenue_fen": 3_000_000_000,
        "claims_count": 9,
    }
    frame = rights_frame([row])
    stats = fit_rights_cohort_stats(frame)
    got = value_rights(frame, cohort_stats=stats).to_dicts()[0]
    want = value_right_row(frame.to_dicts()[0], cohort_stats=stats, policy=default_policy())
    assert_same(got, want, row)


@pytest.mark.parametrize("scenario_key", ["finance", "licensing"])
def test_contributions_cover_every_indicator_of_the_scenario(scenario_key: str) -> None:
    scenario = load_scenario(scenario_key)
    cols = output_columns(scenario)
    assert [c for c in cols if c.startswith("c_")] == [f"c_{k}" for k in scenario.keys]
