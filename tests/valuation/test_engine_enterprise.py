"""Enterprise innovation score (V1): explainable components that sum to the score, unknown ≠ zero, grade bands."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from ipledge.valuation.engine.enterprise import (
    ENTERPRISE_WEIGHTS,
    EnterpriseStats,
    _grade_expr,
    component_rows,
    fit_enterprise_stats,
    score_enterprises,
)

YEAR = 2026
COMPONENTS = tuple(ENTERPRISE_WEIGHTS)


def enterprise(enterprise_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "enterprise_id": enterprise_id,
        "industry_section": "C",
        "employees": 120,
        "revenue_fen": 5_000_000_000,
        "rd_expense_fen": 250_000_000,
        "established_year": 2012,
        "is_high_tech": True,
        "is_specialised": False,
        "revenue_growth": 0.08,
        **overrides,
    }


def right(enterprise_id: int, right_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "enterprise_id": enterprise_id,
        "right_id": right_id,
        "kind": "patent",
        "patent_type": "invention",
        "score": 55.0,
        "p50_fen": 2_000_000,
        "filing_year": 2020,
        "legal_status": "valid",
        **overrides,
    }


def score(enterprises: list[dict[str, Any]], rights: list[dict[str, Any]], **kwargs: Any) -> pl.DataFrame:
    schema = {
        "enterprise_id": pl.Int64,
        "right_id": pl.Int64,
        "kind": pl.String,
        "patent_type": pl.String,
        "score": pl.Float64,
        "p50_fen": pl.Int64,
        "filing_year": pl.Int32,
        "legal_status": pl.String,
    }
    return score_enterprises(pl.DataFrame(enterprises), pl.DataFrame(rights, schema=schema), as_of_year=YEAR, **kwargs)


def by_id(frame: pl.DataFrame) -> dict[int, dict[str, Any]]:
    return {row["enterprise_id"]: row for row in frame.iter_rows(named=True)}


@pytest.fixture()
def population() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A few dozen enterprises with varied portfolios (a deterministic spread, not random)."""
    enterprises, rights = [], []
    right_id = 0
    for e in range(1, 41):
        enterprises.append(
            enterprise(
                e,
                industry_section="CIM"[e % 3],
                rd_expense_fen=None if e % 7 == 0 else 10_000_000 * e,
                revenue_growth=None if e % 5 == 0 else (e % 9 - 3) / 20,
                is_specialised=None if e % 4 == 0 else e % 2 == 0,
            )
        )
        for k in range(e % 12):
            right_id += 1
            rights.append(
                right(
                    e,
                    right_id,
                    kind=("patent", "patent", "trademark", "copyright")[k % 4],
                    patent_type=("invention", "utility_model", "", "")[k % 4],
                    score=float(20 + (e * 7 + k * 13) % 75),
                    filing_year=2010 + (e + k) % 17,
                    legal_status="lapsed" if (e + k) % 11 == 0 else "valid",
                    p50_fen=100_000 * (1 + (e * k) % 50),
                )
            )
    return enterprises, rights


def test_contributions_sum_to_score(population: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    out = score(*population)
    assert out.height == 40
    total = out.select(pl.sum_horizontal(f"c_{c}" for c in COMPONENTS)).to_series()
    assert (total - out["score"]).abs().max() < 1e-9  # type: ignore[operator]
    assert out["score"].min() >= 0 and out["score"].max() <= 100  # type: ignore[operator]
    weights = out.select(pl.sum_horizontal(f"w_{c}" for c in COMPONENTS)).to_series()
    assert (weights - 1.0).abs().max() < 1e-12  # type: ignore[operator]
    for row in out.iter_rows(named=True):
        for c in COMPONENTS:
            if row[f"v_{c}"] is not None:
                assert 0.0 <= row[f"v_{c}"] <= 1.0
        assert sum(r["points"] for r in component_rows(row)) == pytest.approx(row["score"])


def test_unknown_rd_is_not_zero() -> None:
    rights = [right(e, e * 10 + k) for e in (1, 2, 3) for k in range(3)]
    out = by_id(
        score(
            [enterprise(1, rd_expense_fen=None), enterprise(2, rd_expense_fen=0), enterprise(3, revenue_fen=None)],
            rights,
        )
    )
    unknown, zero, no_revenue = out[1], out[2], out[3]
    assert unknown["v_rd_intensity"] is None and unknown["w_rd_intensity"] == 0.0 and unknown["c_rd_intensity"] == 0
    assert no_revenue["v_rd_intensity"] is None
    assert zero["v_rd_intensity"] == 0.0 and zero["w_rd_intensity"] > 0
    # Unknown renormalises the weights over the other components; a reported zero pulls the score down.
    assert unknown["score"] > zero["score"]
    assert unknown["completeness"] < zero["completeness"] == pytest.approx(1.0)
    assert unknown["w_portfolio_strength"] == pytest.approx(0.35 / 0.85)


def test_rd_intensity_bounded_and_pre_revenue() -> None:
    out = by_id(
        score(
            [
                enterprise(1, rd_expense_fen=250_000_000),  # 5 % of revenue → half marks
                enterprise(2, rd_expense_fen=4_000_000_000),  # 80 % → capped
                enterprise(3, revenue_fen=0, rd_expense_fen=10_000_000),  # R&D before revenue
            ],
            [],
        )
    )
    assert out[1]["v_rd_intensity"] == pytest.approx(0.5)
    assert out[2]["v_rd_intensity"] == 1.0
    assert out[3]["v_rd_intensity"] == 1.0


def test_stronger_portfolio_scores_higher() -> None:
    weak = [right(1, k, score=30.0, patent_type="utility_model") for k in range(1, 4)]
    strong = [right(2, 100 + k, score=75.0) for k in range(1, 21)]
    out = by_id(score([enterprise(1), enterprise(2)], weak + strong))
    assert out[2]["v_portfolio_strength"] > out[1]["v_portfolio_strength"]
    assert out[2]["c_portfolio_strength"] > out[1]["c_portfolio_strength"]
    assert out[2]["score"] > out[1]["score"]
    assert out[2]["v_invention_share"] == 1.0 and out[1]["v_invention_share"] == 0.0


def test_lapsed_rights_do_not_count_and_firms_without_rights_score() -> None:
    rights = [right(1, 1, legal_status="lapsed"), right(1, 2, legal_status="expired")]
    out = by_id(score([enterprise(1), enterprise(2)], rights))
    assert out[1]["portfolio_strength_raw"] == 0.0 and out[1]["n_valid_rights"] == 0 and out[1]["n_rights"] == 2
    assert out[2]["n_rights"] == 0 and out[2]["v_portfolio_strength"] == 0.0
    assert out[1]["v_portfolio_strength"] == out[2]["v_portfolio_strength"]


def test_growth_windows() -> None:
    rights = [right(1, k, filing_year=y) for k, y in enumerate([2024, 2025, 2026, 2021], start=1)]
    out = by_id(score([enterprise(1, revenue_growth=None), enterprise(2, revenue_growth=0.30)], rights))
    assert out[1]["recent_filings"] == 3 and out[1]["previous_filings"] == 1
    assert out[1]["v_growth"] == pytest.approx(0.75)
    assert out[2]["v_growth"] == pytest.approx(0.5)  # no filings (0) and revenue growth at the top of its range (1)


def test_section_anchor_from_stats() -> None:
    rights = [right(1, k) for k in range(1, 6)]
    stats = EnterpriseStats(section_anchors={"C": 10.0}, pooled_anchor=2.0)
    out = by_id(score([enterprise(1), enterprise(2, industry_section="I")], rights, stats=stats))
    assert out[1]["strength_anchor"] == 10.0 and out[2]["strength_anchor"] == 2.0
    assert EnterpriseStats.from_dict(stats.to_dict()) == stats


def test_fit_stats_falls_back_for_small_sections(
    population: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    enterprises, rights = population
    stats = fit_enterprise_stats(pl.DataFrame(enterprises), pl.DataFrame(rights), min_size=20)
    assert stats.section_anchors == {}  # 13–14 firms per section: below the minimum
    assert stats.pooled_anchor is not None and stats.pooled_anchor > 0
    assert fit_enterprise_stats(pl.DataFrame(enterprises[:5]), pl.DataFrame(rights)).pooled_anchor is None


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        (100.0, "AAA"),
        (90.0, "AAA"),
        (89.99, "AA"),
        (80.0, "AA"),
        (70.0, "A"),
        (60.0, "BBB"),
        (50.0, "BB"),
        (40.0, "B"),
        (30.0, "CCC"),
        (20.0, "CC"),
        (19.99, "C"),
        (0.0, "C"),
    ],
)
def test_grade_bands(value: float, grade: str) -> None:
    frame = pl.DataFrame({"score": [value]}).select(_grade_expr(pl.col("score")).alias("grade"))
    assert frame["grade"][0] == grade


def test_output_grades_match_scores(population: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    from ipledge.valuation.engine.tree import load_scenario

    scenario = load_scenario()
    for row in score(*population).iter_rows(named=True):
        assert row["grade"] == scenario.grade(row["score"])


def test_bad_weights_refused() -> None:
    with pytest.raises(ValueError, match="weights"):
        score([enterprise(1)], [], weights={"portfolio_strength": 1.0})
