"""Money value of a right by the income, cost and market approaches, reconciled into a log-normal P10/P50/P90.

The China Appraisal Society's IP standards name three approaches and make the income approach the first choice for
patents; the market approach is limited by thin trading and the cost approach is a floor for early-stage
technology (valuation.md §1.3). All figures are in fen and all assumptions come from `data/assumptions.json`.

Every approach values the holder's share of the right (`own_share`; 1 / owner_count when the share is unknown, 1 for
a sole holder) and is null when a hard legal gate failed: a lapsed or unpaid right cannot be valued as collateral.
The soft gate multipliers (pending invalidation, co-ownership) are not in the approach values; they multiply the
reconciled range once. For the same reason the royalty rate and the market ratio read the *ungated* score.

Income (relief from royalty / 分成率, valuation.md §1.3–§5.4):

    V = Σ_{t=1..⌈T⌉} min(1, T − t + 1) · Rev · (1+g)^{t−1} · share · K · (1 − tax) / (1+r)^t
    Rev = owner_revenue_fen × ip_revenue_share / owner_portfolio_size
    T = min(remaining_years, economic life of the type) (the economic life alone for renewable types)
    K = low + (high − low) × score / 100 (the industry section's royalty band)

so the last, fractional year counts pro rata, discounted at its year end. It is computed in closed form (a growing
annuity of ⌊T⌋ years plus the fraction); `reference.income_value_sum` is the literal sum. Income is null when the
holder's revenue is unknown or not positive: a pre-revenue firm's income cannot be predicted (the standard's first
test), and the cost approach is then the floor.

Cost: replacement cost of the type × (1 − age / (age + remaining)).

Market: with at least `min_comparables` comparable prices of the same right type (the same IPC section when that
alone has enough), median price × clip(score / median comparable score, 0.5, 2).

Reconciliation: P50 = g × exp(Σ w_a ln V_a / Σ w_a) over the approaches present (a weighted geometric mean, as values
are log-normal, valuation.md §0.4); σ = base σ of the type + k × (1 − completeness) + population std of ln V_a;
P10 = P50·exp(−zσ), P90 = P50·exp(zσ). A hard gate gives 0, 0, 0; an approach worth 0 makes the geometric mean 0.
Rounding is half up to whole fen.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from .scoring import HARD, RAW_SCORE, TYPE, type_expr
from .tree import DATA_DIR

F64 = pl.Float64
ASSUMPTIONS_PATH = DATA_DIR / "assumptions.json"
APPROACHES: tuple[str, ...] = ("income", "market", "cost")
COMPARABLE_COLUMNS: tuple[str, ...] = ("kind", "patent_type", "ipc_section", "price_fen", "score")


@dataclass(frozen=True)
class Assumptions:
    """Money-value assumptions; `load_assumptions()` gives the documented defaults, `replace()` a variant."""

    discount_rate: float
    tax_rate: float
    revenue_growth: float
    ip_revenue_share: float
    economic_life_years: Mapping[str, float]
    renewable_types: tuple[str, ...]
    royalty_rates: Mapping[str, tuple[float, float]]  # GB/T 4754 section → (low, high)
    royalty_default: tuple[float, float]
    replacement_cost_fen: Mapping[str, int]
    min_comparables: int
    market_factor_bounds: tuple[float, float]
    approach_weights: Mapping[str, float]
    base_sigma: Mapping[str, float]
    base_sigma_default: float
    k_completeness: float
    z: float
    max_spread: float = 0.7
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.revenue_growth <= -1 or self.discount_rate <= -1:
            raise ValueError("growth and discount rates must exceed −100 %")
        if self.min_comparables < 1:
            raise ValueError("min_comparables must be at least 1")
        lo, hi = self.market_factor_bounds
        if not 0 <= lo <= hi:
            raise ValueError("market factor bounds must satisfy 0 ≤ low ≤ high")
        if set(self.approach_weights) - set(APPROACHES) or any(w < 0 for w in self.approach_weights.values()):
            raise ValueError(f"approach weights must be non-negative, for {APPROACHES}")

    def royalty_band(self, section: str | None) -> tuple[float, float]:
        return self.royalty_rates.get(section or "", self.royalty_default)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (without the sources), stored with each valuation."""
        out = asdict(self)
        out.pop("sources")
        out["renewable_types"] = list(self.renewable_types)
        out["royalty_rates"] = {k: list(v) for k, v in self.royalty_rates.items()}
        out["royalty_default"] = list(self.royalty_default)
        out["market_factor_bounds"] = list(self.market_factor_bounds)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: Assumptions | None = None) -> Assumptions:
        """Values as `to_dict` writes them; keys left out keep `base` (the defaults)."""
        base = base or load_assumptions()
        merged = {**base.to_dict(), **data}
        return cls(
            discount_rate=float(merged["discount_rate"]),
            tax_rate=float(merged["tax_rate"]),
            revenue_growth=float(merged["revenue_growth"]),
            ip_revenue_share=float(merged["ip_revenue_share"]),
            economic_life_years={k: float(v) for k, v in merged["economic_life_years"].items()},
            renewable_types=tuple(merged["renewable_types"]),
            royalty_rates={k: (float(v[0]), float(v[1])) for k, v in merged["royalty_rates"].items()},
            royalty_default=(float(merged["royalty_default"][0]), float(merged["royalty_default"][1])),
            replacement_cost_fen={k: int(v) for k, v in merged["replacement_cost_fen"].items()},
            min_comparables=int(merged["min_comparables"]),
            market_factor_bounds=(float(merged["market_factor_bounds"][0]), float(merged["market_factor_bounds"][1])),
            approach_weights={k: float(v) for k, v in merged["approach_weights"].items()},
            base_sigma={k: float(v) for k, v in merged["base_sigma"].items()},
            base_sigma_default=float(merged["base_sigma_default"]),
            k_completeness=float(merged["k_completeness"]),
            z=float(merged["z"]),
            max_spread=float(merged.get("max_spread", base.max_spread)),
            sources=dict(base.sources),
        )


def assumptions_from_document(doc: Mapping[str, Any]) -> Assumptions:
    """Parse a document shaped like `data/assumptions.json` (values with their sources)."""
    inc, cost, market, rec = doc["income"], doc["cost"], doc["market"], doc["reconcile"]
    sources = {
        "discount_rate": inc["discount_rate"]["source"],
        "tax_rate": inc["tax_rate"]["source"],
        "revenue_growth": inc["revenue_growth"]["source"],
        "ip_revenue_share": inc["ip_revenue_share"]["source"],
        "economic_life_years": inc["economic_life_years"]["source"],
        "renewable_types": inc["renewable"]["source"],
        "royalty_rates": inc["royalty_rates"]["source"],
        "replacement_cost_fen": cost["replacement_cost_fen"]["source"],
        "min_comparables": market["min_comparables"]["source"],
        "market_factor_bounds": market["factor_bounds"]["source"],
        "approach_weights": rec["approach_weights"]["source"],
        "base_sigma": rec["base_sigma"]["source"],
        "k_completeness": rec["k_completeness"]["source"],
        "z": rec["z"]["source"],
        "max_spread": rec["max_spread"]["source"],
    }
    lo, hi = market["factor_bounds"]["value"]
    return Assumptions(
        discount_rate=float(inc["discount_rate"]["value"]),
        tax_rate=float(inc["tax_rate"]["value"]),
        revenue_growth=float(inc["revenue_growth"]["value"]),
        ip_revenue_share=float(inc["ip_revenue_share"]["value"]),
        economic_life_years={k: float(v) for k, v in inc["economic_life_years"]["values"].items()},
        renewable_types=tuple(inc["renewable"]["types"]),
        royalty_rates={k: (float(v[0]), float(v[1])) for k, v in inc["royalty_rates"]["values"].items()},
        royalty_default=(float(inc["royalty_rates"]["default"][0]), float(inc["royalty_rates"]["default"][1])),
        replacement_cost_fen={k: int(v) for k, v in cost["replacement_cost_fen"]["values"].items()},
        min_comparables=int(market["min_comparables"]["value"]),
        market_factor_bounds=(float(lo), float(hi)),
        approach_weights={k: float(v) for k, v in rec["approach_weights"]["values"].items()},
        base_sigma={k: float(v) for k, v in rec["base_sigma"]["values"].items()},
        base_sigma_default=float(rec["base_sigma"]["default"]),
        k_completeness=float(rec["k_completeness"]["value"]),
        z=float(rec["z"]["value"]),
        max_spread=float(rec["max_spread"]["value"]),
        sources=sources,
    )


@cache
def _default_assumptions() -> Assumptions:
    with ASSUMPTIONS_PATH.open(encoding="utf-8") as fh:
        return assumptions_from_document(json.load(fh))


def load_assumptions(path: str | Path | None = None) -> Assumptions:
    """The documented defaults (`data/assumptions.json`), or another file of the same shape."""
    if path is None:
        return _default_assumptions()
    with Path(path).open(encoding="utf-8") as fh:
        return assumptions_from_document(json.load(fh))


# --- closed forms shared with the reference ----------------------------------------------------------------------


def annuity_constants(a: Assumptions) -> tuple[float, float, float]:
    """(q, 1 + g, 1 + r) with q = (1 + g) / (1 + r), the ratio of the growing annuity."""
    grow, disc = 1.0 + a.revenue_growth, 1.0 + a.discount_rate
    return grow / disc, grow, disc


def income_factor(years: float, a: Assumptions) -> float:
    """Present value of a revenue of 1 growing at g over `years` (fractional last year pro rata), in closed form.

    Σ_{t=1..n} (1+g)^{t−1}/(1+r)^t = (1 − qⁿ) / (1 − q) / (1 + r) for n = ⌊T⌋ (n / (1 + r) when q = 1), plus
    f·(1+g)ⁿ/(1+r)ⁿ⁺¹ for the fraction f = T − n. Mirrors `income_factor_expr` operation by operation.
    """
    q, grow, disc = annuity_constants(a)
    n = float(math.floor(years))
    frac = years - n
    whole = n / disc if q == 1.0 else (1.0 - q**n) / (1.0 - q) / disc
    return whole + frac * grow**n / disc ** (n + 1.0)


def income_factor_expr(years: pl.Expr, a: Assumptions) -> pl.Expr:
    q, grow, disc = annuity_constants(a)
    n = years.floor()
    frac = years - n
    whole = n / disc if q == 1.0 else (1.0 - pl.lit(q).pow(n)) / (1.0 - q) / disc
    return whole + frac * pl.lit(grow).pow(n) / pl.lit(disc).pow(n + 1.0)


# --- expressions ------------------------------------------------------------------------------------------------


def _by_type(mapping: Mapping[str, float], default: float | None) -> pl.Expr:
    return pl.col(TYPE).replace_strict(dict(mapping), default=default, return_dtype=F64)


def holder_share_expr() -> pl.Expr:
    share, owners = pl.col("own_share"), pl.col("owner_count")
    return (
        pl.when(share.is_not_null())
        .then(share.clip(0.0, 1.0))
        .when(owners >= 1)
        .then(1.0 / owners.cast(F64))
        .otherwise(1.0)
    )


def approach_input_exprs(a: Assumptions) -> list[pl.Expr]:
    """First stage: the holder's share, the income period, the revenue attributed to the right and the royalty rate.
    Materialised as columns because Polars would otherwise recompute them wherever they recur."""
    portfolio = pl.col("owner_portfolio_size")
    portfolio_f = pl.when(portfolio >= 1).then(portfolio.cast(F64)).otherwise(1.0)
    section = pl.col("industry_section").fill_null("")
    low = section.replace_strict({k: v[0] for k, v in a.royalty_rates.items()}, default=a.royalty_default[0])
    high = section.replace_strict({k: v[1] for k, v in a.royalty_rates.items()}, default=a.royalty_default[1])
    low, high = low.cast(F64), high.cast(F64)
    life = _by_type(a.economic_life_years, None)
    renewable = pl.col(TYPE).is_in(list(a.renewable_types)).fill_null(False)
    return [
        holder_share_expr().alias("_share"),
        # clip() treats a null bound as no bound, so a type without an economic life is caught first.
        pl.when(life.is_null() | renewable)
        .then(life)
        .otherwise(pl.col("remaining_years").clip(0.0, life))
        .alias("_years"),
        (pl.col("owner_revenue_fen").cast(F64) * a.ip_revenue_share / portfolio_f).alias("_rev_ip"),
        (low + (high - low) * (pl.col(RAW_SCORE) / 100.0)).alias("_royalty"),
    ]


def income_expr(a: Assumptions) -> pl.Expr:
    """Needs the columns of `approach_input_exprs`."""
    revenue = pl.col("owner_revenue_fen")
    years = pl.col("_years")
    annual = pl.col("_rev_ip") * pl.col("_share") * pl.col("_royalty") * (1.0 - a.tax_rate)
    value = annual * income_factor_expr(years, a)
    unusable = pl.col(HARD) | revenue.is_null() | (revenue <= 0) | years.is_null()
    return pl.when(unusable).then(None).otherwise(value)


def cost_expr(a: Assumptions) -> pl.Expr:
    """Needs `_share`."""
    cost = _by_type({k: float(v) for k, v in a.replacement_cost_fen.items()}, None)
    age = pl.col("age_years").clip(0.0)
    remaining = pl.col("remaining_years").clip(0.0)
    total = age + remaining
    obsolescence = pl.when(total > 0).then(age / total).otherwise(1.0)
    value = cost * (1.0 - obsolescence) * pl.col("_share")
    return pl.when(pl.col(HARD) | cost.is_null() | total.is_null()).then(None).otherwise(value)


def comparable_groups(comparables: pl.DataFrame | None, a: Assumptions) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per right type, and per right type × IPC section: count, median price and median score of comparables.

    Groups with fewer than `min_comparables` rows are dropped, so a lookup that finds nothing means "not enough".
    """
    stats = {"_n": pl.UInt32, "_price": F64, "_score": F64}
    if comparables is None or comparables.height == 0:
        return (
            pl.DataFrame(schema={TYPE: pl.String, **stats}),
            pl.DataFrame(schema={TYPE: pl.String, "ipc_section": pl.String, **stats}),
        )
    comps = (
        comparables.lazy()
        .select(
            pl.col("kind").cast(pl.String),
            pl.col("patent_type").cast(pl.String),
            pl.col("ipc_section").cast(pl.String).fill_null(""),
            pl.col("price_fen").cast(F64),
            pl.col("score").cast(F64),
        )
        .with_columns(type_expr().alias(TYPE))
        .filter(pl.col(TYPE).is_not_null() & pl.col("price_fen").is_not_null() & pl.col("score").is_not_null())
        .filter(pl.col("price_fen") >= 0)
    )
    aggs = [
        pl.len().alias("_n"),
        pl.col("price_fen").median().alias("_price"),
        pl.col("score").median().alias("_score"),
    ]
    by_type, by_section = pl.collect_all(
        [
            comps.group_by(TYPE).agg(aggs).filter(pl.col("_n") >= a.min_comparables).sort(TYPE),
            comps.filter(pl.col("ipc_section") != "")
            .group_by(TYPE, "ipc_section")
            .agg(aggs)
            .filter(pl.col("_n") >= a.min_comparables)
            .sort(TYPE, "ipc_section"),
        ]
    )
    return by_type, by_section


def comparable_lookup(keys: pl.DataFrame, groups: tuple[pl.DataFrame, pl.DataFrame]) -> pl.DataFrame:
    """Per row of `keys` (`_type`, `ipc_section`): `_m_price` and `_m_score` of the section group when it has enough
    comparables, else of the type group (null when neither has).

    The groups are few, so they are looked up by value (`replace_strict`) instead of joined: a join gathers rows.
    """
    by_type, by_section = groups
    if by_type.height == 0 and by_section.height == 0:
        return pl.DataFrame({"_m_price": pl.Series([None] * keys.height, dtype=F64)}).with_columns(
            pl.col("_m_price").alias("_m_score")
        )
    rtype = pl.col(TYPE)
    section_key = rtype + "|" + pl.col("ipc_section").fill_null("")
    sk = [f"{t}|{s}" for t, s in zip(by_section[TYPE], by_section["ipc_section"], strict=True)]

    def pick(column: str) -> pl.Expr:
        by_sec = section_key.replace_strict(sk, by_section[column].to_list(), default=None, return_dtype=F64)
        by_typ = rtype.replace_strict(
            by_type[TYPE].to_list(), by_type[column].to_list(), default=None, return_dtype=F64
        )
        return pl.coalesce(by_sec, by_typ)

    # Medians of a group are never null, so price and score always come from the same group.
    return keys.lazy().select(pick("_price").alias("_m_price"), pick("_score").alias("_m_score")).collect()


def market_expr(a: Assumptions) -> pl.Expr:
    price, med_score = pl.col("_m_price"), pl.col("_m_score")
    lo, hi = a.market_factor_bounds
    factor = pl.when(med_score > 0).then((pl.col(RAW_SCORE) / med_score).clip(lo, hi)).otherwise(1.0)
    return pl.when(pl.col(HARD) | price.is_null()).then(None).otherwise(price * factor * pl.col("_share"))


def fen_expr(value: pl.Expr) -> pl.Expr:
    """Round half up to whole fen (values are never negative)."""
    return (value + 0.5).floor().cast(pl.Int64)


def reconcile_exprs(a: Assumptions) -> list[pl.Expr]:
    """`sigma` and the float `_p10`/`_p50`/`_p90` from `_v_income`, `_v_market`, `_v_cost`, completeness, gates."""
    values = {name: pl.col(f"_v_{name}") for name in APPROACHES}
    weight_sum = pl.lit(0.0)
    weighted_log = pl.lit(0.0)
    count = pl.lit(0.0)
    log_sum = pl.lit(0.0)
    has_zero = pl.lit(False)
    for name, v in values.items():
        w = a.approach_weights.get(name, 0.0)
        present = v.is_not_null()
        weight_sum = weight_sum + pl.when(present).then(w).otherwise(0.0)
        weighted_log = weighted_log + pl.when(present).then(w * v.log()).otherwise(0.0)
        count = count + pl.when(present).then(1.0).otherwise(0.0)
        log_sum = log_sum + pl.when(present).then(v.log()).otherwise(0.0)
        has_zero = has_zero | (v <= 0).fill_null(False)
    mean = log_sum / count
    square_sum = pl.lit(0.0)
    for v in values.values():
        d = v.log() - mean
        square_sum = square_sum + pl.when(v.is_not_null()).then(d * d).otherwise(0.0)
    spread = (
        pl.when(has_zero | (count == 0)).then(0.0).otherwise((square_sum / count).sqrt().clip(upper_bound=a.max_spread))
    )
    base = _by_type(a.base_sigma, a.base_sigma_default).fill_null(a.base_sigma_default)
    sigma = base + a.k_completeness * (1.0 - pl.col("completeness")) + spread
    usable = (count > 0) & (weight_sum > 0)
    p50 = (
        pl.when(pl.col(HARD))
        .then(0.0)
        .when(~usable)
        .then(None)
        .when(has_zero)
        .then(0.0)
        .otherwise(pl.col("gate_multiplier") * (weighted_log / weight_sum).exp())
    )
    return [sigma.alias("sigma"), p50.alias("_p50")]


def range_exprs(a: Assumptions) -> list[pl.Expr]:
    p50, sigma = pl.col("_p50"), pl.col("sigma")
    return [(p50 * (-a.z * sigma).exp()).alias("_p10"), (p50 * (a.z * sigma).exp()).alias("_p90")]
