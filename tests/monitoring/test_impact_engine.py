"""The impact engine on constructed panels whose true effect is known."""

from __future__ import annotations

import polars as pl
import pytest

from ipledge.monitoring.engine.impact import impact_analysis, match_controls, satisfaction_summary

YEAR = 2024
EFFECT_REVENUE_FEN = 500_000_00  # ¥500,000 more revenue growth for a financed firm
EFFECT_EMPLOYEES = 6


def _panel(n: int = 8) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """n twins (treated i, control i) with the same baseline, far from the other twins; the treated grow by the
    control's growth plus the effect plus noise e_i whose sum is zero, so the mean difference is exactly the effect."""
    firms, financing, figures = [], [], []
    noise = [(-1) ** i * (i // 2 + 1) * 1000_00 for i in range(n)]  # +-, sums to 0 for even n
    assert sum(noise) == 0
    for i in range(n):
        treated, control = 100 + i, 200 + i
        revenue0 = (10 ** (6 + i % 4)) * (i + 1) * 100  # fen, spread over orders of magnitude
        employees0 = 10 * (i + 1)
        growth = 200_000_00 * (i + 1)
        firms.extend(
            {"enterprise_id": firm, "industry_section": "C", "size_class": "small", "province_code": "320000"}
            for firm in (treated, control)
        )
        financing.append({"enterprise_id": treated, "first_financed_year": YEAR})
        for firm, extra, extra_jobs in ((treated, EFFECT_REVENUE_FEN + noise[i], EFFECT_EMPLOYEES), (control, 0, 0)):
            figures.append(_row(firm, YEAR - 1, revenue0, employees0))
            figures.append(_row(firm, YEAR, revenue0 + growth // 2, employees0))
            figures.append(_row(firm, YEAR + 1, revenue0 + growth + extra, employees0 + 2 + extra_jobs))
    return pl.DataFrame(firms), pl.DataFrame(financing), pl.DataFrame(figures)


def _row(
    firm: int, year: int, revenue: int, employees: int, rd: int | None = None, implemented: int | None = None
) -> dict:
    return {
        "enterprise_id": firm,
        "year": year,
        "rd_spending_fen": rd,
        "revenue_fen": revenue,
        "employees": employees,
        "patents_implemented": implemented,
    }


def _outcome(result, key):  # type: ignore[no-untyped-def]
    return next(o for o in result.outcomes if o.key == key)


def test_known_effect_is_recovered_with_interval() -> None:
    firms, financing, figures = _panel()
    result = impact_analysis(enterprises=firms, financing=financing, financials=figures, year=YEAR)
    assert (result.financed, result.matched, result.comparison_pool) == (8, 8, 8)
    # Each treated firm is matched to its twin.
    assert result.pairs.select((pl.col("control_id") - pl.col("treated_id")).unique()).to_series().to_list() == [100]
    revenue = _outcome(result, "revenue")
    assert revenue.pairs == 8
    assert revenue.effect == pytest.approx(EFFECT_REVENUE_FEN)
    assert revenue.ci_low is not None and revenue.ci_high is not None
    assert revenue.ci_low < EFFECT_REVENUE_FEN < revenue.ci_high
    assert revenue.significant
    employees = _outcome(result, "employees")
    assert employees.effect == pytest.approx(EFFECT_EMPLOYEES)
    assert employees.ci_low == pytest.approx(EFFECT_EMPLOYEES)  # no noise: a zero-width interval
    assert employees.treated_change == pytest.approx(2 + EFFECT_EMPLOYEES) and employees.control_change == 2
    # Unknown outcomes give no estimate rather than a zero.
    assert _outcome(result, "rd_spending").pairs == 0 and _outcome(result, "rd_spending").effect is None


def test_no_effect_panel_gives_zero() -> None:
    firms, financing, figures = _panel()
    # Give the controls the treated firms' exact path: the effect vanishes.
    treated_rows = figures.filter(pl.col("enterprise_id") < 200)
    controls = treated_rows.with_columns(pl.col("enterprise_id") + 100)
    result = impact_analysis(
        enterprises=firms, financing=financing, financials=pl.concat([treated_rows, controls]), year=YEAR
    )
    assert _outcome(result, "revenue").effect == pytest.approx(0)
    assert not _outcome(result, "revenue").significant


def test_matching_excludes_financed_firms_and_prefers_the_province() -> None:
    firms, financing, figures = _panel(n=2)
    # A firm identical to treated 100 but financed (in another year) must never be its comparison.
    clone = {"enterprise_id": 999, "industry_section": "C", "size_class": "small", "province_code": "320000"}
    firms = pl.concat([firms, pl.DataFrame([clone])])
    financing = pl.concat([financing, pl.DataFrame([{"enterprise_id": 999, "first_financed_year": YEAR - 3}])])
    base = figures.filter(pl.col("enterprise_id") == 100).with_columns(
        pl.lit(999).cast(pl.Int64).alias("enterprise_id")
    )
    result = impact_analysis(enterprises=firms, financing=financing, financials=pl.concat([figures, base]), year=YEAR)
    assert 999 not in result.pairs["control_id"].to_list()
    assert result.comparison_pool == 2

    treated = pl.DataFrame(
        [
            {
                "enterprise_id": 1,
                "industry_section": "C",
                "size_class": "small",
                "province_code": "110000",
                "f_revenue": 0.0,
                "f_employees": 0.0,
            }
        ]
    )
    candidates = pl.DataFrame(
        [
            # nearer, but in another province
            {
                "enterprise_id": 2,
                "industry_section": "C",
                "size_class": "small",
                "province_code": "320000",
                "f_revenue": 0.0,
                "f_employees": 0.0,
            },
            {
                "enterprise_id": 3,
                "industry_section": "C",
                "size_class": "small",
                "province_code": "110000",
                "f_revenue": 2.0,
                "f_employees": 1.0,
            },
            # same province and nearest, but another industry
            {
                "enterprise_id": 4,
                "industry_section": "I",
                "size_class": "small",
                "province_code": "110000",
                "f_revenue": 0.0,
                "f_employees": 0.0,
            },
        ]
    )
    pairs = match_controls(treated, candidates)
    assert pairs.row(0, named=True)["control_id"] == 3 and pairs.row(0, named=True)["same_province"]
    pairs = match_controls(treated, candidates.filter(pl.col("enterprise_id") != 3))
    assert pairs.row(0, named=True)["control_id"] == 2 and not pairs.row(0, named=True)["same_province"]
    assert match_controls(treated, candidates.filter(pl.col("enterprise_id") == 4)).is_empty()


def test_empty_inputs_and_satisfaction() -> None:
    result = impact_analysis(enterprises=None, financing=None, financials=None, year=YEAR)
    assert result.financed == 0 and result.matched == 0 and all(o.effect is None for o in result.outcomes)
    summary = satisfaction_summary(
        pl.DataFrame({"question": ["获得感", "获得感", "获得感", "满意度", "满意度"], "rating": [5, 4, 2, 3, 9]})
    )
    assert [s.question for s in summary] == ["获得感", "满意度"]
    assert summary[0].answers == 3 and summary[0].mean == pytest.approx(11 / 3)
    assert summary[0].satisfied_share == pytest.approx(2 / 3) and summary[0].distribution == (0, 1, 0, 1, 1)
    assert summary[1].answers == 1  # the out-of-scale 9 is ignored
    assert satisfaction_summary(None) == []
