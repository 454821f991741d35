"""Monte Carlo adequacy stress test (压力测试): assumptions, PDs, determinism, exact corner cases and the model's shape.

Statistical checks use a fixed seed and tolerances of several standard errors, so they are deterministic and far
from flaky; none is timed.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import polars as pl
import pytest

from ipledge.compensation.engine.stress import (
    GRADES,
    HISTOGRAM_BINS,
    LOAN_CLASSES,
    StressResult,
    assumption_sources,
    default_probability,
    load_assumptions,
    simulate,
)

YUAN = 100


def portfolio(
    n: int, *, exposure_fen: int = 1_000_000 * YUAN, share: float = 0.8, loan_class: str = "normal", **extra: Any
) -> pl.DataFrame:
    columns: dict[str, Any] = {
        "exposure_fen": pl.Series([exposure_fen] * n, dtype=pl.Int64),
        "fund_share": pl.Series([share] * n, dtype=pl.Float64),
        "loan_class": pl.Series([loan_class] * n, dtype=pl.String),
    }
    for name, value in extra.items():
        columns[name] = pl.Series([value] * n, dtype=pl.Float64 if isinstance(value, float) else None)
    return pl.DataFrame(columns)


def mixed_portfolio(n: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "exposure_fen": pl.Series(rng.integers(50_000 * YUAN, 5_000_000 * YUAN, n), dtype=pl.Int64),
            "fund_share": pl.Series(rng.choice([0.8, 0.5, 0.4], n), dtype=pl.Float64),
            "loan_class": rng.choice(list(LOAN_CLASSES), n, p=[0.85, 0.08, 0.04, 0.02, 0.01]).tolist(),
            "grade": rng.choice([*GRADES, None], n).tolist(),
            "years_left": pl.Series(rng.uniform(0.3, 4.0, n), dtype=pl.Float64),
        }
    )


def without_time(result: StressResult) -> dict[str, Any]:
    data = result.to_dict()
    data.pop("seconds")
    return data


# --- assumptions -----------------------------------------------------------------------------------------------


def test_default_assumptions_are_sourced() -> None:
    assumptions = load_assumptions()
    assert set(assumptions.pd_by_class) == set(LOAN_CLASSES)
    assert assumptions.pd_by_class["loss"] == 1.0
    values = [assumptions.pd_by_class[c] for c in LOAN_CLASSES]
    assert values == sorted(values) and values[0] > 0
    multipliers = [assumptions.grade_multiplier[g] for g in GRADES]
    assert multipliers == sorted(multipliers) and assumptions.grade_multiplier["BBB"] == 1.0
    assert 0 < assumptions.recovery_mean < 1 and assumptions.recovery_sd > 0
    assert 0 < assumptions.correlation < 1
    sources = assumption_sources()
    assert set(sources) >= {f"pd_by_class.{c}" for c in LOAN_CLASSES} | {"grade_multiplier", "correlation"}
    assert all(text.strip() for text in sources.values())
    assert all("expert assumption" in text for key, text in sources.items() if key)
    assert "34号" in sources["pd_by_class.normal"]
    assert "Basel" in sources["correlation"]


def test_overrides_replace_fields_and_are_recorded() -> None:
    assumptions = load_assumptions(correlation=0.3, recovery_mean=0.0)
    assert (assumptions.correlation, assumptions.recovery_mean) == (0.3, 0.0)
    assert "overridden: correlation, recovery_mean" in assumptions.source
    assert load_assumptions() == load_assumptions()
    with pytest.raises(TypeError, match="unknown assumption"):
        load_assumptions(lgd=0.5)
    with pytest.raises(ValueError, match="correlation"):
        load_assumptions(correlation=1.0)
    with pytest.raises(ValueError, match="pd_by_class"):
        load_assumptions(pd_by_class={"normal": 0.1})
    with pytest.raises(ValueError, match="too wide"):
        load_assumptions(recovery_mean=0.1, recovery_sd=0.5)
    with pytest.raises(ValueError, match="recovery_mean"):
        load_assumptions(recovery_mean=1.5)


def test_default_probability_by_class_and_grade() -> None:
    assumptions = load_assumptions()
    frame = pl.DataFrame(
        {
            "loan_class": ["normal", "normal", "normal", "special_mention", "doubtful", "loss"],
            "grade": ["AAA", None, "unrated", "C", "C", "AAA"],
        }
    )
    pd_ = default_probability(frame, assumptions)
    base = assumptions.pd_by_class
    mult = assumptions.grade_multiplier
    expected = [
        base["normal"] * mult["AAA"],
        base["normal"],
        base["normal"],
        base["special_mention"] * mult["C"],
        1.0,  # 0.8 × 2.2 clipped
        1.0 * mult["AAA"],
    ]
    assert pd_.name == "pd"
    assert pd_.to_list() == pytest.approx(expected)
    assert default_probability(frame.drop("grade"), assumptions).to_list() == pytest.approx(
        [base[c] for c in frame["loan_class"]]
    )
    with pytest.raises(ValueError, match="unknown loan_class written_off"):
        default_probability(pl.DataFrame({"loan_class": ["written_off"]}), assumptions)


# --- exact corner cases ----------------------------------------------------------------------------------------


def test_same_seed_same_result_and_chunk_size_does_not_matter() -> None:
    frame = mixed_portfolio(300)
    first = simulate(frame, fund_balance_fen=50_000_000 * YUAN, simulations=2_000, seed=11)
    again = simulate(frame, fund_balance_fen=50_000_000 * YUAN, simulations=2_000, seed=11, chunk=37)
    other = simulate(frame, fund_balance_fen=50_000_000 * YUAN, simulations=2_000, seed=12)
    assert without_time(first) == without_time(again)
    assert without_time(first) != without_time(other)
    assert first.seed == 11 and first.loans == 300 and first.simulations == 2_000


def test_zero_pd_portfolio_pays_nothing() -> None:
    zero = load_assumptions(pd_by_class=dict.fromkeys(LOAN_CLASSES, 0.0))
    result = simulate(mixed_portfolio(200), fund_balance_fen=0, simulations=500, assumptions=zero)
    for horizon in result.horizons:
        assert (horizon.mean_payout, horizon.p99, horizon.max_payout, horizon.expected_defaults) == (0, 0, 0, 0.0)
        assert horizon.probability_exhausted == 0.0
        assert sum(horizon.histogram_counts) == 500


def test_all_loss_portfolio_without_recovery_pays_everything_every_time() -> None:
    frame = pl.DataFrame(
        {
            "exposure_fen": pl.Series([1_000_000 * YUAN, 2_500_000 * YUAN, 400_000 * YUAN] * 40, dtype=pl.Int64),
            "fund_share": pl.Series([0.8, 0.5, 0.4] * 40, dtype=pl.Float64),
            "loan_class": ["loss"] * 120,
        }
    )
    total = 40 * (800_000 + 1_250_000 + 160_000)
    result = simulate(
        frame, fund_balance_fen=1_000_000 * YUAN, simulations=300, assumptions=load_assumptions(recovery_mean=0.0)
    )
    assert result.exposure == total
    for horizon in result.horizons:
        assert horizon.mean_payout == horizon.p50 == horizon.p99 == horizon.max_payout == total
        assert horizon.probability_exhausted == 1.0
        assert horizon.expected_defaults == 120.0
        assert max(horizon.histogram_counts) == 300


def test_certain_default_with_default_recovery_stays_finite() -> None:
    result = simulate(portfolio(50, loan_class="loss"), fund_balance_fen=10**12, simulations=400)
    one_year = result.horizons[0]
    assert one_year.expected_defaults == 50.0
    assert 0 < one_year.mean_payout < 50 * 800_000
    assert all(math.isfinite(v) for v in (one_year.probability_exhausted, one_year.expected_defaults))
    assert json.loads(json.dumps(result.to_dict()))["horizons"][0]["p99"] == one_year.p99


def test_full_recovery_per_loan_pays_nothing() -> None:
    result = simulate(portfolio(30, loan_class="loss", recovery_mean=1.0), fund_balance_fen=0, simulations=200)
    assert all(h.max_payout == 0 and h.expected_defaults == 30.0 for h in result.horizons)


def test_empty_portfolio() -> None:
    empty = portfolio(0)
    result = simulate(empty, fund_balance_fen=100 * YUAN, simulations=100, horizons=(1, 2, 5))
    assert (result.loans, result.exposure, result.fund_balance) == (0, 0, 100)
    assert [h.years for h in result.horizons] == [1, 2, 5]
    for horizon in result.horizons:
        assert (horizon.mean_payout, horizon.p50, horizon.max_payout, horizon.probability_exhausted) == (0, 0, 0, 0.0)
        assert sum(horizon.histogram_counts) == 100


def test_result_is_json_ready_with_a_thirty_bin_histogram() -> None:
    result = simulate(mixed_portfolio(400), fund_balance_fen=30_000_000 * YUAN, simulations=1_000)
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) == {
        "simulations", "loans", "exposure", "fund_balance", "seed", "horizons", "assumptions", "seconds"
    }  # fmt: skip
    assert data["assumptions"]["correlation"] == load_assumptions().correlation
    for horizon in result.horizons:
        edges, counts = horizon.histogram_edges, horizon.histogram_counts
        assert len(edges) == HISTOGRAM_BINS + 1 and len(counts) == HISTOGRAM_BINS
        assert all(isinstance(e, int) for e in edges) and edges == sorted(set(edges))
        assert edges[0] <= horizon.p50 and edges[-1] >= horizon.max_payout
        assert sum(counts) == 1_000
        assert horizon.p50 <= horizon.p90 <= horizon.p95 <= horizon.p99 <= horizon.max_payout


# --- the model's shape -----------------------------------------------------------------------------------------


def test_mean_payout_matches_the_analytic_expectation() -> None:
    frame = mixed_portfolio(1_000, seed=3)
    assumptions = load_assumptions()
    pd_ = default_probability(frame, assumptions).to_numpy()
    weight = frame["exposure_fen"].to_numpy() * frame["fund_share"].to_numpy() / 100
    years_left = frame["years_left"].to_numpy()
    result = simulate(frame, fund_balance_fen=0, simulations=20_000, assumptions=assumptions)
    for horizon in result.horizons:
        pd_h = 1 - (1 - pd_) ** np.minimum(horizon.years, years_left)
        expected_payout = float((weight * pd_h * (1 - assumptions.recovery_mean)).sum())
        assert horizon.mean_payout == pytest.approx(expected_payout, rel=0.03)
        assert horizon.expected_defaults == pytest.approx(float(pd_h.sum()), rel=0.03)


def test_correlation_fattens_the_tail_for_the_same_mean() -> None:
    frame = portfolio(500, loan_class="special_mention")
    runs = [
        simulate(
            frame, fund_balance_fen=0, simulations=10_000, horizons=(1,), assumptions=load_assumptions(correlation=rho)
        ).horizons[0]
        for rho in (0.0, 0.3)
    ]
    independent, correlated = runs
    assert correlated.mean_payout == pytest.approx(independent.mean_payout, rel=0.05)
    assert correlated.p99 > 1.5 * independent.p99
    assert correlated.p50 < independent.p50


def test_longer_horizon_pays_at_least_as_much() -> None:
    result = simulate(mixed_portfolio(500), fund_balance_fen=20_000_000 * YUAN, simulations=3_000, horizons=(1, 3))
    one, three = result.horizons
    for name in ("mean_payout", "p50", "p90", "p95", "p99", "max_payout", "probability_exhausted", "expected_defaults"):
        assert getattr(one, name) <= getattr(three, name), name
    assert one.mean_payout < three.mean_payout


def test_a_loan_cannot_default_after_it_matures() -> None:
    # One year left: the three-year horizon is exactly the one-year one (same random numbers).
    one_year_left = simulate(portfolio(200, years_left=1.0), fund_balance_fen=0, simulations=2_000)
    one, three = (without_time_horizon(h) for h in one_year_left.horizons)
    assert one == three
    matured = simulate(portfolio(200, loan_class="loss", years_left=0.0), fund_balance_fen=0, simulations=200)
    assert all(h.max_payout == 0 and h.expected_defaults == 0 for h in matured.horizons)
    # Half a year left: PD_h = 1 − (1 − pd)^0.5 whatever the horizon.
    half = simulate(portfolio(1_000, loan_class="substandard", years_left=0.5), fund_balance_fen=0, simulations=4_000)
    expected = 1_000 * (1 - (1 - load_assumptions().pd_by_class["substandard"]) ** 0.5)
    for horizon in half.horizons:
        assert horizon.expected_defaults == pytest.approx(expected, rel=0.03)


def without_time_horizon(horizon: Any) -> dict[str, Any]:
    data = dict(vars(horizon))
    data.pop("years")
    return data


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fund_balance_fen": -1}, "fund_balance_fen"),
        ({"fund_balance_fen": 1.5}, "fund_balance_fen"),
        ({"fund_balance_fen": 0, "horizons": ()}, "horizons"),
        ({"fund_balance_fen": 0, "horizons": (0,)}, "horizons"),
        ({"fund_balance_fen": 0, "simulations": 0}, "simulations"),
        ({"fund_balance_fen": 0, "chunk": 0}, "chunk"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulate(portfolio(3), **kwargs)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (portfolio(3).drop("fund_share"), "missing column"),
        (portfolio(3, exposure_fen=-1), "exposure_fen"),
        (portfolio(3, share=1.5), "fund_share"),
        (portfolio(3, loan_class="bad"), "unknown loan_class"),
        (portfolio(3, recovery_mean=2.0), "recovery_mean"),
    ],
)
def test_bad_portfolios_are_refused(frame: pl.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulate(frame, fund_balance_fen=0, simulations=10)
