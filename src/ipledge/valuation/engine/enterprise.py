"""Enterprise innovation score (requirement V1): IP as the core indicator of an enterprise's innovation capability,
competitiveness and growth potential (以知识产权为核心指标分析评价企业创新能力、竞争力和发展潜力, the 2021–2023
action plan quoted in valuation.md §0.7 and §1.4).

Five components, each a value v in [0, 1] (null when unknown), weighted by `ENTERPRISE_WEIGHTS`:

* `portfolio_strength` (组合强度) — quality-weighted portfolio, as PatentSight's Patent Asset Index sums quality
  over active families (valuation.md §2.2, §5.6): S = Σ score / 100 over the enterprise's *valid* rights (a right
  scoring 100 counts as one), log-scaled as ln(1 + S) because portfolio sizes are as skewed as patent values, and
  divided by the anchor of the enterprise's industry section (GB/T 4754 门类): the section's 99th percentile of
  ln(1 + S), so a firm is compared with its own industry. Sections with fewer than `min_size` enterprises use the
  anchor over all enterprises, and with fewer than that overall a fixed anchor (a portfolio worth 50 full-score
  rights). Fit the anchors on the whole registry with `fit_enterprise_stats` and pass them when scoring a few firms.
* `invention_share` (发明专利占比) — valid invention patents among valid patents; 0 when the firm holds no valid
  patent (the register is the authority on what it holds, so that is a known zero).
* `rd_intensity` (研发强度) — R&D expense / revenue, full marks at `RD_INTENSITY_FULL` (10 %; the high-tech
  enterprise test asks for 3–5 % depending on revenue, 高新技术企业认定管理办法 art. 11). Unknown when the R&D
  expense or the revenue is unknown: an unreported R&D expense is never taken as zero. A firm with R&D and no
  revenue yet gets full marks.
* `growth` (成长性) — filing momentum, filings of the last three years over those of the last six
  (0.5 when flat, 1 when all recent, 0 with no filing in six years), averaged with revenue growth mapped linearly
  from −20 % (0) to +30 % (1) when that is known.
* `potential` (发展潜力) — mean of the known items among: high-tech enterprise (高新技术企业), specialised and
  sophisticated SME (专精特新), breadth of valid IP kinds (patents, trademarks, copyrights; 3 kinds = 1) and the
  young valuable portfolio: the share of the valid portfolio's P50 in rights filed in the last five years.

Score and contributions work like the rights' indicator score (scoring.py): the weights are renormalised over the
known components, c = 100 · w · v / Σ_known w, and score = Σ c, so the contributions sum to the score. Completeness
is Σ w · f / Σ w, f being the known fraction of each component (growth without revenue growth counts half,
potential by its known items). Grades use the rights' nine bands (AAA ≥ 90 … C).

Pure: no Django imports; vectorised in Polars.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from .tree import load_scenario

F64 = pl.Float64

ENTERPRISE_WEIGHTS: Mapping[str, float] = {
    "portfolio_strength": 0.35,
    "invention_share": 0.15,
    "rd_intensity": 0.15,
    "growth": 0.15,
    "potential": 0.20,
}
ENTERPRISE_COMPONENTS: Mapping[str, tuple[str, str]] = {
    "portfolio_strength": ("知识产权组合强度", "Portfolio strength"),
    "invention_share": ("有效发明专利占比", "Valid invention patent share"),
    "rd_intensity": ("研发投入强度", "R&D intensity"),
    "growth": ("成长性", "Growth"),
    "potential": ("发展潜力", "Potential"),
}
WEIGHTS_SOURCE = (
    "Platform default: the IP portfolio itself weighs most, as the action plan makes IP the core indicator; the other "
    "four split the rest. Not calibrated on outcomes."
)

RD_INTENSITY_FULL = 0.10
REVENUE_GROWTH_RANGE = (-0.20, 0.30)
RECENT_YEARS = 3  # the growth windows: the last three filing years against the three before
YOUNG_YEARS = 5
KINDS_FULL = 3
DEFAULT_ANCHOR = math.log1p(50.0)  # a portfolio worth 50 full-score rights
MIN_ANCHOR = math.log1p(1.0)  # an anchor never below one full-score right, so a weak section cannot divide by ~0
ANCHOR_QUANTILE = 0.99
ANCHOR_MIN_SIZE = 20
VALID = "valid"
INVENTION_TYPES = ("invention", "pct_invention")
KINDS = ("patent", "trademark", "copyright", "ic_layout")
CHINA = ZoneInfo("Asia/Shanghai")

ENTERPRISE_SCHEMA: Mapping[str, pl.DataType | type[pl.DataType]] = {
    "enterprise_id": pl.Int64,
    "industry_section": pl.String,
    "employees": pl.Int64,
    "revenue_fen": pl.Int64,
    "rd_expense_fen": pl.Int64,
    "established_year": pl.Int32,
    "is_high_tech": pl.Boolean,
    "is_specialised": pl.Boolean,
    "revenue_growth": F64,
}
VALUED_RIGHTS_SCHEMA: Mapping[str, pl.DataType | type[pl.DataType]] = {
    "enterprise_id": pl.Int64,
    "right_id": pl.Int64,
    "kind": pl.String,
    "patent_type": pl.String,
    "score": F64,
    "p50_fen": pl.Int64,
    "filing_year": pl.Int32,
    "legal_status": pl.String,
}


@dataclass(frozen=True)
class EnterpriseStats:
    """Anchors of ln(1 + S) per industry section, with the pooled and fixed fallbacks."""

    section_anchors: Mapping[str, float] = field(default_factory=dict)
    pooled_anchor: float | None = None
    quantile: float = ANCHOR_QUANTILE
    min_size: int = ANCHOR_MIN_SIZE

    def anchor(self, section: str | None) -> float:
        found = self.section_anchors.get(section or "")
        if found is None:
            found = self.pooled_anchor if self.pooled_anchor is not None else DEFAULT_ANCHOR
        return max(found, MIN_ANCHOR)

    def to_dict(self) -> dict[str, Any]:
        return {
            "section_anchors": dict(self.section_anchors),
            "pooled_anchor": self.pooled_anchor,
            "quantile": self.quantile,
            "min_size": self.min_size,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnterpriseStats:
        return cls(
            section_anchors={str(k): float(v) for k, v in data.get("section_anchors", {}).items()},
            pooled_anchor=None if data.get("pooled_anchor") is None else float(data["pooled_anchor"]),
            quantile=float(data.get("quantile", ANCHOR_QUANTILE)),
            min_size=int(data.get("min_size", ANCHOR_MIN_SIZE)),
        )


def _conform(frame: pl.DataFrame, schema: Mapping[str, pl.DataType | type[pl.DataType]], what: str) -> pl.LazyFrame:
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lack columns {missing}")
    return frame.lazy().select(pl.col(c).cast(t) for c, t in schema.items())


def default_as_of_year() -> int:
    return datetime.datetime.now(tz=CHINA).year


def _portfolio(enterprises: pl.DataFrame, valued_rights: pl.DataFrame, as_of_year: int) -> pl.LazyFrame:
    """One row per enterprise: the enterprise's columns plus its portfolio aggregates (zeros without rights)."""
    rights = _conform(valued_rights, VALUED_RIGHTS_SCHEMA, "valued rights")
    valid = pl.col("legal_status") == VALID
    patent = pl.col("kind") == "patent"
    invention = pl.col("patent_type").is_in(list(INVENTION_TYPES))
    year = pl.col("filing_year")
    recent = year.is_between(as_of_year - RECENT_YEARS + 1, as_of_year)
    previous = year.is_between(as_of_year - 2 * RECENT_YEARS + 1, as_of_year - RECENT_YEARS)
    young = (year >= as_of_year - YOUNG_YEARS + 1).fill_null(False)
    p50 = pl.col("p50_fen").fill_null(0)
    aggregates = rights.group_by("enterprise_id").agg(
        pl.len().cast(pl.Int64).alias("n_rights"),
        valid.sum().cast(pl.Int64).alias("n_valid_rights"),
        (valid & patent).sum().cast(pl.Int64).alias("n_valid_patents"),
        (valid & patent & invention).sum().cast(pl.Int64).alias("n_valid_inventions"),
        (pl.col("score").fill_null(0.0).filter(valid).sum() / 100.0).alias("portfolio_strength_raw"),
        p50.filter(valid).sum().cast(pl.Int64).alias("portfolio_p50_fen"),
        p50.filter(valid & young).sum().cast(pl.Int64).alias("young_p50_fen"),
        recent.fill_null(False).sum().cast(pl.Int64).alias("recent_filings"),
        previous.fill_null(False).sum().cast(pl.Int64).alias("previous_filings"),
        pl.col("kind").filter(valid & pl.col("kind").is_in(list(KINDS))).n_unique().cast(pl.Int64).alias("ip_kinds"),
    )
    counts = [
        "n_rights",
        "n_valid_rights",
        "n_valid_patents",
        "n_valid_inventions",
        "portfolio_p50_fen",
        "young_p50_fen",
        "recent_filings",
        "previous_filings",
        "ip_kinds",
    ]
    return (
        _conform(enterprises, ENTERPRISE_SCHEMA, "enterprises")
        .join(aggregates, on="enterprise_id", how="left", maintain_order="left")
        .with_columns(pl.col(c).fill_null(0) for c in counts)
        .with_columns(
            pl.col("portfolio_strength_raw").fill_null(0.0),
            pl.col("industry_section").fill_null(""),
            pl.col("portfolio_strength_raw").fill_null(0.0).log1p().alias("_log_strength"),
        )
    )


def fit_enterprise_stats(
    enterprises: pl.DataFrame,
    valued_rights: pl.DataFrame,
    *,
    quantile: float = ANCHOR_QUANTILE,
    min_size: int = ANCHOR_MIN_SIZE,
) -> EnterpriseStats:
    """Fit the portfolio-strength anchors on a population (e.g. every enterprise on the register)."""
    base = _portfolio(enterprises, valued_rights, default_as_of_year()).select("industry_section", "_log_strength")
    sections, pooled = pl.collect_all(
        [
            base.group_by("industry_section")
            .agg(pl.col("_log_strength").quantile(quantile, "linear").alias("anchor"), pl.len().alias("n"))
            .filter(pl.col("n") >= min_size),
            base.select(pl.col("_log_strength").quantile(quantile, "linear").alias("anchor"), pl.len().alias("n")),
        ]
    )
    pooled_row = pooled.row(0, named=True)
    return EnterpriseStats(
        section_anchors={
            str(r["industry_section"]): float(r["anchor"])
            for r in sections.iter_rows(named=True)
            if r["anchor"] is not None
        },
        pooled_anchor=float(pooled_row["anchor"])
        if pooled_row["n"] >= min_size and pooled_row["anchor"] is not None
        else None,
        quantile=quantile,
        min_size=min_size,
    )


def _grade_expr(score: pl.Expr) -> pl.Expr:
    bands = load_scenario().grades  # the rights' bands, best first
    expr: Any = pl.when(score >= bands[0][1]).then(pl.lit(bands[0][0]))
    for grade, minimum in bands[1:-1]:
        expr = expr.when(score >= minimum).then(pl.lit(grade))
    graded: pl.Expr = expr.otherwise(pl.lit(bands[-1][0]))
    return graded


def score_enterprises(
    enterprises: pl.DataFrame,
    valued_rights: pl.DataFrame,
    *,
    as_of_year: int | None = None,
    stats: EnterpriseStats | None = None,
    weights: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """Score each enterprise 0–100 from its rights (`value_rights` output joined to the holder) and its facts.

    `as_of_year` anchors the growth and youth windows (default: this year in China). Without `stats` the anchors
    are fitted on the enterprises given (see the module docstring for small inputs).
    Returns one row per enterprise, in input order: `enterprise_id`, `score`, `grade`, `completeness`, per component
    `v_<c>` (value in [0, 1], null when unknown), `w_<c>` (weight after renormalisation, 0 when unknown) and `c_<c>`
    (contribution; they sum to `score`), and the portfolio figures behind them.
    """
    weights = dict(ENTERPRISE_WEIGHTS if weights is None else weights)
    if set(weights) != set(ENTERPRISE_WEIGHTS) or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError(f"weights must be non-negative, with a positive sum, for {sorted(ENTERPRISE_WEIGHTS)}")
    year = default_as_of_year() if as_of_year is None else as_of_year
    stats = fit_enterprise_stats(enterprises, valued_rights) if stats is None else stats
    lf = _portfolio(enterprises, valued_rights, year)

    sections = sorted(set(stats.section_anchors))
    anchor = (
        pl.col("industry_section")
        .replace_strict({s: stats.anchor(s) for s in sections}, default=stats.anchor(None), return_dtype=F64)
        .alias("_anchor")
    )
    revenue = pl.col("revenue_fen").cast(F64)
    rd = pl.col("rd_expense_fen").cast(F64).clip(lower_bound=0.0)
    filings = pl.col("recent_filings") + pl.col("previous_filings")
    lo, hi = REVENUE_GROWTH_RANGE
    revenue_growth = ((pl.col("revenue_growth") - lo) / (hi - lo)).clip(0.0, 1.0)
    momentum = pl.when(filings > 0).then(pl.col("recent_filings") / filings).otherwise(0.0)
    portfolio_p50 = pl.col("portfolio_p50_fen").cast(F64)
    potential_items = [
        pl.col("is_high_tech").cast(F64),
        pl.col("is_specialised").cast(F64),
        (pl.col("ip_kinds").cast(F64) / KINDS_FULL).clip(0.0, 1.0),
        pl.when(portfolio_p50 > 0).then(pl.col("young_p50_fen").cast(F64) / portfolio_p50).otherwise(0.0),
    ]
    potential_known = pl.sum_horizontal(item.is_not_null().cast(F64) for item in potential_items)
    values = {
        "portfolio_strength": (pl.col("_log_strength") / pl.col("_anchor")).clip(0.0, 1.0),
        "invention_share": pl.when(pl.col("n_valid_patents") > 0)
        .then(pl.col("n_valid_inventions") / pl.col("n_valid_patents"))
        .otherwise(0.0),
        "rd_intensity": pl.when(rd.is_null() | revenue.is_null())
        .then(None)
        .when(revenue > 0)
        .then((rd / revenue / RD_INTENSITY_FULL).clip(0.0, 1.0))
        .otherwise(pl.when(rd > 0).then(1.0).otherwise(0.0)),
        "growth": pl.when(revenue_growth.is_null()).then(momentum).otherwise((momentum + revenue_growth) / 2.0),
        "potential": pl.when(potential_known > 0)
        .then(pl.sum_horizontal(potential_items) / potential_known)
        .otherwise(None),
    }
    known_fraction = {
        "portfolio_strength": pl.lit(1.0),
        "invention_share": pl.lit(1.0),
        "rd_intensity": pl.col("v_rd_intensity").is_not_null().cast(F64),
        "growth": pl.when(pl.col("revenue_growth").is_null()).then(0.5).otherwise(1.0),
        "potential": potential_known / len(potential_items),
    }
    total = sum(weights.values())
    known_weight = pl.sum_horizontal(
        pl.when(pl.col(f"v_{c}").is_not_null()).then(w).otherwise(0.0) for c, w in weights.items()
    )
    rd_intensity_raw = pl.when((revenue > 0) & rd.is_not_null()).then(rd / revenue).otherwise(None)
    lf = (
        lf.with_columns(anchor)
        .with_columns(
            *(expr.cast(F64).alias(f"v_{c}") for c, expr in values.items()),
            rd_intensity_raw.alias("rd_intensity_raw"),
        )
        .with_columns(known_weight.alias("_known_weight"))
        .with_columns(
            pl.when(pl.col(f"v_{c}").is_not_null() & (pl.col("_known_weight") > 0))
            .then(w / pl.col("_known_weight"))
            .otherwise(0.0)
            .alias(f"w_{c}")
            for c, w in weights.items()
        )
        .with_columns((100.0 * pl.col(f"w_{c}") * pl.col(f"v_{c}").fill_null(0.0)).alias(f"c_{c}") for c in weights)
        .with_columns(
            pl.sum_horizontal(pl.col(f"c_{c}") for c in weights).alias("score"),
            (pl.sum_horizontal(w * known_fraction[c] for c, w in weights.items()) / total).alias("completeness"),
        )
        .with_columns(_grade_expr(pl.col("score")).alias("grade"))
    )
    components = list(weights)
    return lf.select(
        "enterprise_id",
        "score",
        "grade",
        "completeness",
        *(f"v_{c}" for c in components),
        *(f"w_{c}" for c in components),
        *(f"c_{c}" for c in components),
        "n_rights",
        "n_valid_rights",
        "n_valid_patents",
        "n_valid_inventions",
        "portfolio_strength_raw",
        "portfolio_p50_fen",
        "young_p50_fen",
        "recent_filings",
        "previous_filings",
        "ip_kinds",
        "rd_intensity_raw",
        pl.col("_anchor").alias("strength_anchor"),
    ).collect()


def component_rows(scored_row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One enterprise's components as rows (key, labels, weight, value, points), e.g. for the score page."""
    return [
        {
            "key": c,
            "label_zh": ENTERPRISE_COMPONENTS[c][0],
            "label_en": ENTERPRISE_COMPONENTS[c][1],
            "weight": float(scored_row[f"w_{c}"]),
            "value": None if scored_row[f"v_{c}"] is None else float(scored_row[f"v_{c}"]),
            "points": float(scored_row[f"c_{c}"]),
        }
        for c in ENTERPRISE_WEIGHTS
    ]
