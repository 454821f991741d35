"""Impact analysis (成效分析) of IP-pledge financing on the enterprises financed: pure Polars, no Django.

Design (difference-in-differences, 双重差分, on a matched comparison group):
- Treated (获贷企业): enterprises whose first IP-pledge loan was disbursed in year t. Each outcome is compared from
  t−1 (before) to t+1 (after), so year t itself, half before and half after the money, is left out.
- Comparison group (对照组): enterprises never financed through IP (`financing` lists every enterprise ever
  financed; all of them are excluded, so a firm financed later never dilutes the comparison). Each treated
  enterprise is matched to its nearest neighbour in the same industry section (行业门类) and size class (规模), in
  the same province when one exists there (stage 1), else anywhere (stage 2). Distance: Euclidean on the
  standardised log of t−1 revenue and t−1 employees (log, because firm sizes are skewed). Matching is with
  replacement: one comparison firm may serve several treated firms (counted once in `controls_used`).
- Per outcome (R&D spending, revenue, employees, implemented patents) and matched pair with both years known:
  d = (treated after − before) − (comparison after − before). The effect is the mean of d, with a two-sided 95 %
  t interval (mean ± t(0.975, n−1) · sd / √n). Fewer than `MIN_PAIRS` pairs: no interval.
- Money is integer fen in and out (means rounded to the fen); the statistics run in float, which is fine for an
  estimate and never touches a ledger.

Frames in (column: dtype):
- enterprises: enterprise_id Int64, industry_section String, size_class String, province_code String
- financing: enterprise_id Int64, first_financed_year Int64 (one row per enterprise ever financed)
- financials: enterprise_id Int64, year Int64, rd_spending_fen Int64, revenue_fen Int64, employees Int64,
  patents_implemented Int64 (nulls where unknown)
- ratings (satisfaction, 满意度 / 获得感): question String, rating Int64 (1–5)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from scipy import stats

OUTCOMES: dict[str, str] = {
    # outcome key → financials column; the unit tells money (fen) from counts
    "rd_spending": "rd_spending_fen",
    "revenue": "revenue_fen",
    "employees": "employees",
    "patents_implemented": "patents_implemented",
}
MONEY_OUTCOMES = frozenset({"rd_spending", "revenue"})
MIN_PAIRS = 3  # below this a t interval says nothing (two degrees of freedom give ±4.3 sd)
CONFIDENCE = 0.95
SATISFIED_FROM = 4  # ratings 4 and 5 of 5 count as satisfied (满意)

ENTERPRISE_SCHEMA = {
    "enterprise_id": pl.Int64,
    "industry_section": pl.String,
    "size_class": pl.String,
    "province_code": pl.String,
}
FINANCING_SCHEMA = {"enterprise_id": pl.Int64, "first_financed_year": pl.Int64}
FINANCIALS_SCHEMA = {
    "enterprise_id": pl.Int64,
    "year": pl.Int64,
    "rd_spending_fen": pl.Int64,
    "revenue_fen": pl.Int64,
    "employees": pl.Int64,
    "patents_implemented": pl.Int64,
}
RATINGS_SCHEMA = {"question": pl.String, "rating": pl.Int64}
PAIR_SCHEMA = {
    "treated_id": pl.Int64,
    "control_id": pl.Int64,
    "same_province": pl.Boolean,
    "distance": pl.Float64,
}


@dataclass(frozen=True)
class OutcomeEffect:
    key: str
    is_money: bool
    pairs: int  # matched pairs with the outcome known before and after on both sides
    treated_before: float | None
    treated_after: float | None
    control_before: float | None
    control_after: float | None
    treated_change: float | None
    control_change: float | None
    effect: float | None  # difference in differences: mean of the pair differences
    ci_low: float | None
    ci_high: float | None

    @property
    def significant(self) -> bool:
        """The 95 % interval excludes zero."""
        return self.ci_low is not None and self.ci_high is not None and (self.ci_low > 0 or self.ci_high < 0)


@dataclass(frozen=True)
class ImpactResult:
    year: int
    financed: int  # enterprises first financed in the year
    financed_with_baseline: int  # of them, with figures for t−1 (matchable)
    comparison_pool: int  # never-financed enterprises with figures for t−1
    matched: int  # treated enterprises matched
    same_province: int  # of the matches, inside the same province
    controls_used: int  # distinct comparison enterprises
    outcomes: list[OutcomeEffect]
    pairs: pl.DataFrame = field(repr=False)

    @property
    def unmatched(self) -> int:
        return self.financed_with_baseline - self.matched


def conform(frame: pl.DataFrame | None, schema: Mapping[str, Any]) -> pl.DataFrame:
    """The frame with exactly the schema's columns and types (an empty one when None)."""
    if frame is None or frame.is_empty():
        return pl.DataFrame(schema=schema)
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])


def _baseline(financials: pl.DataFrame, year: int) -> pl.DataFrame:
    return financials.filter(pl.col("year") == year - 1).select(
        "enterprise_id",
        pl.col("revenue_fen").cast(pl.Float64).log1p().alias("f_revenue"),
        pl.col("employees").cast(pl.Float64).log1p().alias("f_employees"),
    )


def _standardise(frame: pl.DataFrame, pool: pl.DataFrame) -> pl.DataFrame:
    """Features scaled by the pooled spread; an unknown feature takes the pooled mean (so it neither helps nor
    hurts a candidate)."""
    out = frame
    for name in ("f_revenue", "f_employees"):
        column = pool[name].drop_nulls()
        mean = float(column.mean()) if len(column) else 0.0  # type: ignore[arg-type]
        spread = float(column.std()) if len(column) > 1 else 1.0  # type: ignore[arg-type]
        if not spread or math.isnan(spread):
            spread = 1.0
        out = out.with_columns(((pl.col(name).fill_null(mean) - mean) / spread).alias(name))
    return out


def match_controls(treated: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """Nearest comparison enterprise per treated one (columns of `PAIR_SCHEMA`). Both frames: enterprise_id,
    industry_section, size_class, province_code, f_revenue, f_employees (standardised)."""
    keys = ["industry_section", "size_class"]
    found: list[pl.DataFrame] = []
    remaining = treated
    for stage_keys, same in ((keys + ["province_code"], True), (keys, False)):
        if remaining.is_empty() or candidates.is_empty():
            break
        joined = remaining.join(candidates, on=stage_keys, how="inner", suffix="_c")
        if joined.is_empty():
            continue
        best = (
            joined.with_columns(
                (
                    (pl.col("f_revenue") - pl.col("f_revenue_c")) ** 2
                    + (pl.col("f_employees") - pl.col("f_employees_c")) ** 2
                )
                .sqrt()
                .alias("distance")
            )
            .sort(["enterprise_id", "distance", "enterprise_id_c"])
            .group_by("enterprise_id", maintain_order=True)
            .first()
        )
        if not same:
            # A stage-2 match may still share the province by accident of the data; say so truthfully.
            best = best.with_columns((pl.col("province_code") == pl.col("province_code_c")).alias("same"))
        else:
            best = best.with_columns(pl.lit(True).alias("same"))
        found.append(
            best.select(
                pl.col("enterprise_id").alias("treated_id"),
                pl.col("enterprise_id_c").alias("control_id"),
                pl.col("same").alias("same_province"),
                "distance",
            )
        )
        remaining = remaining.join(best.select("enterprise_id"), on="enterprise_id", how="anti")
    if not found:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    return pl.concat(found).sort("treated_id")


def _mean(series: pl.Series) -> float | None:
    value = series.mean()
    return float(value) if value is not None else None  # type: ignore[arg-type]


def _effect(key: str, pairs: pl.DataFrame, financials: pl.DataFrame, year: int) -> OutcomeEffect:
    column = OUTCOMES[key]

    def level(when: int, name: str) -> pl.DataFrame:
        return financials.filter(pl.col("year") == when).select(
            pl.col("enterprise_id"), pl.col(column).cast(pl.Float64).alias(name)
        )

    frame = (
        pairs.join(level(year - 1, "t0"), left_on="treated_id", right_on="enterprise_id", how="left")
        .join(level(year + 1, "t1"), left_on="treated_id", right_on="enterprise_id", how="left")
        .join(level(year - 1, "c0"), left_on="control_id", right_on="enterprise_id", how="left")
        .join(level(year + 1, "c1"), left_on="control_id", right_on="enterprise_id", how="left")
        .drop_nulls(["t0", "t1", "c0", "c1"])
        .with_columns(((pl.col("t1") - pl.col("t0")) - (pl.col("c1") - pl.col("c0"))).alias("d"))
    )
    n = frame.height
    if n == 0:
        return OutcomeEffect(key, key in MONEY_OUTCOMES, 0, None, None, None, None, None, None, None, None, None)
    effect = _mean(frame["d"])
    low = high = None
    if n >= MIN_PAIRS and effect is not None:
        sd = float(frame["d"].std() or 0.0)  # type: ignore[arg-type]
        half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * sd / math.sqrt(n)
        low, high = effect - half, effect + half
    t0, t1, c0, c1 = (_mean(frame[name]) for name in ("t0", "t1", "c0", "c1"))
    return OutcomeEffect(
        key=key,
        is_money=key in MONEY_OUTCOMES,
        pairs=n,
        treated_before=t0,
        treated_after=t1,
        control_before=c0,
        control_after=c1,
        treated_change=(t1 - t0) if t1 is not None and t0 is not None else None,
        control_change=(c1 - c0) if c1 is not None and c0 is not None else None,
        effect=effect,
        ci_low=low,
        ci_high=high,
    )


def impact_analysis(
    *,
    enterprises: pl.DataFrame | None,
    financing: pl.DataFrame | None,
    financials: pl.DataFrame | None,
    year: int,
) -> ImpactResult:
    """The matched difference-in-differences estimate for enterprises first financed in `year` (see the module
    notes)."""
    firms = conform(enterprises, ENTERPRISE_SCHEMA)
    financed = conform(financing, FINANCING_SCHEMA)
    figures = conform(financials, FINANCIALS_SCHEMA)
    baseline = _baseline(figures, year)
    treated_ids = financed.filter(pl.col("first_financed_year") == year).select("enterprise_id")
    treated = firms.join(treated_ids, on="enterprise_id", how="semi")
    pool = firms.join(financed.select("enterprise_id"), on="enterprise_id", how="anti")
    treated_base = treated.join(baseline, on="enterprise_id", how="inner")
    pool_base = pool.join(baseline, on="enterprise_id", how="inner")
    scaled_treated = _standardise(treated_base, pl.concat([treated_base, pool_base]))
    scaled_pool = _standardise(pool_base, pl.concat([treated_base, pool_base]))
    pairs = match_controls(scaled_treated, scaled_pool)
    outcomes = [_effect(key, pairs, figures, year) for key in OUTCOMES]
    return ImpactResult(
        year=year,
        financed=treated.height,
        financed_with_baseline=treated_base.height,
        comparison_pool=pool_base.height,
        matched=pairs.height,
        same_province=int(pairs["same_province"].sum()) if pairs.height else 0,
        controls_used=pairs["control_id"].n_unique() if pairs.height else 0,
        outcomes=outcomes,
        pairs=pairs,
    )


@dataclass(frozen=True)
class RatingSummary:
    question: str
    answers: int
    mean: float
    satisfied_share: float  # ratings ≥ SATISFIED_FROM
    distribution: tuple[int, int, int, int, int]  # answers rating 1 … 5


def satisfaction_summary(ratings: pl.DataFrame | None) -> list[RatingSummary]:
    """Per rating question of the follow-up surveys: answers, mean, satisfied share and the 1–5 distribution,
    the questions in first-seen order."""
    frame = conform(ratings, RATINGS_SCHEMA).filter(pl.col("rating").is_between(1, 5))
    if frame.is_empty():
        return []
    order = frame.select("question").unique(maintain_order=True)["question"].to_list()
    out: list[RatingSummary] = []
    for question in order:
        values = frame.filter(pl.col("question") == question)["rating"]
        counts = [int((values == score).sum()) for score in range(1, 6)]
        n = len(values)
        out.append(
            RatingSummary(
                question=question,
                answers=n,
                mean=float(values.mean()),  # type: ignore[arg-type]
                satisfied_share=sum(counts[SATISFIED_FROM - 1 :]) / n,
                distribution=(counts[0], counts[1], counts[2], counts[3], counts[4]),
            )
        )
    return out
