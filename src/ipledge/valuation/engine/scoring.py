"""Indicator score, vectorised: legal gates and multipliers, indicator values in [0, 1], score 0–100, grade,
contributions and completeness.

Legal problems are gates and multipliers, not points (valuation.md §0.2, §5.2; CN104008308A multiplies the value by
an ownership-stability factor): a right that is not valid, whose annual fee is unpaid, or that is suspended or under
court preservation has no value as collateral (multiplier 0), whatever its citations; a pending invalidation and
co-ownership haircut it. Averaging such facts in as points would let a lapsed patent with many citations score well.

Score. Each indicator i of dimension d gives s_i in [0, 1], or null when its input is unknown or it does not apply
to the right type (Unknown ≠ 0: a missing citation count is not a zero count). Within d the weights w_i are
renormalised over the known indicators (K_d = Σ known w_i); dimensions with nothing known are dropped and the
dimension weights W_d renormalised over the rest (ΣW). With the gate multiplier g:

    c_i = g · 100 · (W_d / ΣW) · (w_i / K_d) · s_i,      score = Σ_i c_i  (so contributions sum to the score)

The ungated score (the same sum with g = 1, `_raw_score`) sets the royalty rate and the market ratio in
`approaches.py`, so the gate multiplier reaches the money value once, at reconciliation, not twice.

Completeness = Σ_d W_d · K_d / A_d over the dimensions of the type's tree (A_d = weight of the indicators that apply
to the type), divided by Σ W_d over the same dimensions: the share of the tree the valuation could actually see.

Every floating-point operation here is mirrored, in the same order, in `reference.py`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from .cohort import CohortStats, normalised_expr
from .tree import DIMENSIONS, OTHER_KINDS, PATENT, PATENT_TYPES, PCT_PREFIX, Indicator, Scenario, unknown_patent_type

F64 = pl.Float64
TYPE = "_type"  # right type: invention / utility_model / design / trademark / copyright / ic_layout
FIELD = "_field"  # cohort field: the IPC section for patents that have one, else the right type
HARD = "_hard"
GATE_MASK = "_gate_mask"
RAW_SCORE = "_raw_score"
COHORT_KEYS: tuple[str, ...] = (FIELD, "filing_year")

# Which fact sets off each soft multiplier (the factors themselves are in the tree JSON).
MULTIPLIER_CONDITIONS: dict[str, pl.Expr] = {
    "invalidation_pending": pl.col("invalidation_pending").fill_null(False),
    "co_owned": (pl.col("owner_count") > 1).fill_null(False),
}
HARD_FLAGS: tuple[tuple[str, pl.Expr], ...] = (
    ("fee_unpaid", (~pl.col("fee_paid")).fill_null(False)),  # null is unknown (or not a patent), not unpaid
    ("suspended", pl.col("suspended").fill_null(False)),
    ("preserved", pl.col("preserved").fill_null(False)),
)


def type_expr() -> pl.Expr:
    """`tree.right_type` over a frame."""
    kind = pl.col("kind")
    pt = pl.col("patent_type").fill_null("").str.strip_prefix(PCT_PREFIX)
    unknown = unknown_patent_type()
    return (
        pl.when(kind == PATENT)
        .then(pl.when(pt.is_in(PATENT_TYPES)).then(pt).otherwise(pl.lit(unknown)))
        .when(kind.is_in(OTHER_KINDS))
        .then(kind)
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def field_expr() -> pl.Expr:
    """Cohort field: patents by IPC section (OECD field × year), others and section-less patents by right type."""
    ipc = pl.col("ipc_section")
    return pl.when((pl.col("kind") == PATENT) & (ipc.fill_null("") != "")).then(ipc).otherwise(pl.col(TYPE))


def _by_type(mapping: dict[str, float], default: float | None) -> pl.Expr:
    return pl.col(TYPE).replace_strict(mapping, default=default, return_dtype=F64)


def transform_expr(ind: Indicator, scenario: Scenario, stats: CohortStats | None) -> pl.Expr:
    """s in [0, 1] for every row, null when unknown (applicability is handled by `value_expr`)."""
    p = ind.params
    x = pl.col(ind.column)
    match ind.transform:
        case "term_ratio":
            term = _by_type(dict(scenario.statutory_terms), None)
            floor = _by_type(dict(scenario.renewable_floor), 0.0)
            ratio = (x / term).clip(0.0, 1.0)
            return pl.when(x.is_null() | term.is_null()).then(None).otherwise(pl.max_horizontal(ratio, floor))
        case "ownership":
            owners = pl.col(ind.inputs[1])
            return pl.when(x.is_not_null()).then(x.clip(0.0, 1.0)).when(owners == 1).then(1.0).otherwise(None)
        case "inverse_count":
            cols = [pl.col(c) for c in ind.inputs]
            known = pl.any_horizontal([c.is_not_null() for c in cols])
            total = pl.lit(0, dtype=pl.Int64)
            for c in cols:
                total = total + c.fill_null(0)
            scaled = total.clip(0).cast(F64) / float(p["scale"])
            return pl.when(known).then(1.0 / (1.0 + scaled)).otherwise(None)
        case "cohort":
            if stats is None or ind.column not in stats.columns:
                return pl.lit(None, dtype=F64)
            return normalised_expr(stats, ind.column)
        case "bounded_decreasing":
            best, worst = float(p["best"]), float(p["worst"])
            return ((worst - x) / (worst - best)).clip(0.0, 1.0)
        case "flag":
            return x.cast(F64)
        case "saturating":
            v = x.cast(F64).clip(0.0)
            return v / (v + float(p["half"]))
        case "log_range":
            ln_low, span = _log_bounds(ind)
            v = x.cast(F64)
            scaled = ((v.log() - ln_low) / span).clip(0.0, 1.0)
            return pl.when(v.is_null()).then(None).when(v <= float(p["low"])).then(0.0).otherwise(scaled)
        case "factor_table":
            table = scenario.factor_tables[p["table"]]
            mapped = x.replace_strict(
                {k: float(v) for k, v in table["values"].items()}, default=float(table["default"]), return_dtype=F64
            )
            return pl.when(x.is_null() | (x == "")).then(None).otherwise(mapped)
    raise ValueError(f"unknown transform {ind.transform!r}")


def _log_bounds(ind: Indicator) -> tuple[float, float]:
    ln_low = math.log(float(ind.params["low"]))
    return ln_low, math.log(float(ind.params["high"])) - ln_low


def value_expr(ind: Indicator, scenario: Scenario, stats: CohortStats | None) -> pl.Expr:
    """The indicator's s for rows of the types it applies to, null for the others (column `v_<key>`)."""
    applies = pl.col(TYPE).is_in(sorted(ind.applies_to)).fill_null(False)
    return pl.when(applies).then(transform_expr(ind, scenario, stats)).otherwise(None).cast(F64).alias(f"v_{ind.key}")


def gate_codes(scenario: Scenario) -> tuple[str, ...]:
    """Every gate code in list order; code i is bit i of `_gate_mask`."""
    gates = scenario.gates
    status = tuple(dict.fromkeys([*gates.status_codes.values(), gates.unknown_status_code]))
    return status + tuple(code for code, _ in HARD_FLAGS) + tuple(gates.multipliers)


def gate_exprs(scenario: Scenario) -> list[pl.Expr]:
    """`_hard` (a hard gate failed), `gate_multiplier` and `_gate_mask` (the codes that applied, as bits)."""
    gates = scenario.gates
    bit = {code: 1 << i for i, code in enumerate(gate_codes(scenario))}
    status = pl.col("legal_status")
    status_bit = (
        pl.when(status == "valid")
        .then(0)
        .when(status.is_null())
        .then(bit[gates.unknown_status_code])
        .otherwise(
            status.replace_strict(
                {st: bit[code] for st, code in gates.status_codes.items()},
                default=bit[gates.unknown_status_code],
                return_dtype=pl.Int64,
            )
        )
        .cast(pl.Int64)
    )
    hard = status_bit > 0
    mask = status_bit
    for code, cond in HARD_FLAGS:
        hard = hard | cond
        mask = mask + pl.when(cond).then(bit[code]).otherwise(0)
    multiplier = pl.lit(1.0)
    for code, factor in gates.multipliers.items():
        if code not in MULTIPLIER_CONDITIONS:
            raise ValueError(f"no condition known for the gate multiplier {code!r}")
        cond = MULTIPLIER_CONDITIONS[code]
        multiplier = multiplier * pl.when(cond).then(factor).otherwise(1.0)
        mask = mask + pl.when(cond).then(bit[code]).otherwise(0)
    return [
        hard.alias(HARD),
        pl.when(hard).then(0.0).otherwise(multiplier).alias("gate_multiplier"),
        mask.alias(GATE_MASK),
    ]


def decode_codes(mask: pl.Series, codes: Sequence[str], name: str) -> pl.Series:
    """Bit masks → lists of codes (bit i is `codes[i]`), through a table of the distinct masks: building a list per
    row with `concat_list` costs far more than a join on a handful of distinct values."""
    distinct = mask.unique().drop_nulls()
    table = pl.DataFrame(
        {
            "_mask": distinct,
            name: [[c for i, c in enumerate(codes) if m >> i & 1] for m in distinct.to_list()],
        },
        schema={"_mask": mask.dtype, name: pl.List(pl.String)},
    )
    return mask.to_frame("_mask").join(table, on="_mask", how="left", maintain_order="left")[name]


def applicable_weights(scenario: Scenario) -> dict[str, dict[str, float]]:
    """A_d per dimension and right type: the weight of the indicators of d that apply to the type."""
    out: dict[str, dict[str, float]] = {d: {} for d in DIMENSIONS}
    for d in DIMENSIONS:
        for rtype in (*PATENT_TYPES, *OTHER_KINDS):
            total = 0.0
            for ind in scenario.indicators:
                if ind.dimension == d and rtype in ind.applies_to:
                    total += ind.weight
            out[d][rtype] = total
    return out


def completeness_denominators(scenario: Scenario) -> dict[str, float]:
    """Σ W_d over the dimensions of each type's tree (those with A_d > 0)."""
    applicable = applicable_weights(scenario)
    out: dict[str, float] = {}
    for rtype in (*PATENT_TYPES, *OTHER_KINDS):
        total = 0.0
        for d in DIMENSIONS:
            if applicable[d][rtype] > 0:
                total += scenario.dimension_weights[d]
        out[rtype] = total
    return out


def _known_weight(inds: list[Indicator]) -> pl.Expr:
    total = pl.lit(0.0)
    for ind in inds:
        total = total + pl.when(pl.col(f"v_{ind.key}").is_not_null()).then(ind.weight).otherwise(0.0)
    return total


def score_exprs(scenario: Scenario) -> tuple[list[pl.Expr], list[pl.Expr], list[pl.Expr]]:
    """Three stages over a frame holding `v_*` and `gate_multiplier`: known weights, contributions, totals."""
    by_dim = {d: [i for i in scenario.indicators if i.dimension == d] for d in DIMENSIONS}
    stage1 = [_known_weight(inds).alias(f"_K_{d}") for d, inds in by_dim.items()]
    present_weight = pl.lit(0.0)
    for d in DIMENSIONS:
        present_weight = present_weight + pl.when(pl.col(f"_K_{d}") > 0).then(scenario.dimension_weights[d]).otherwise(
            0.0
        )
    stage2: list[pl.Expr] = [present_weight.alias("_W")]
    stage3: list[pl.Expr] = []
    gm = pl.col("gate_multiplier")
    for ind in scenario.indicators:
        v = pl.col(f"v_{ind.key}")
        raw = (
            100.0
            * (scenario.dimension_weights[ind.dimension] / pl.col("_W"))
            * (ind.weight / pl.col(f"_K_{ind.dimension}"))
            * v
        )
        stage3.append(pl.when(v.is_not_null()).then(raw).otherwise(0.0).alias(f"_r_{ind.key}"))
    contributions = [(gm * pl.col(f"_r_{ind.key}")).alias(f"c_{ind.key}") for ind in scenario.indicators]
    applicable = applicable_weights(scenario)
    numerator = pl.lit(0.0)
    for d in DIMENSIONS:
        a_d = _by_type(applicable[d], 0.0)
        numerator = numerator + pl.when(a_d > 0).then(
            scenario.dimension_weights[d] * (pl.col(f"_K_{d}") / a_d)
        ).otherwise(0.0)
    denominator = _by_type(completeness_denominators(scenario), 0.0)
    stage2.append(pl.when(denominator > 0).then(numerator / denominator).otherwise(0.0).alias("completeness"))
    return stage1, stage2, stage3 + contributions


def total_exprs(scenario: Scenario) -> list[pl.Expr]:
    score = pl.lit(0.0)
    raw = pl.lit(0.0)
    for ind in scenario.indicators:
        score = score + pl.col(f"c_{ind.key}")
        raw = raw + pl.col(f"_r_{ind.key}")
    return [score.alias("score"), raw.alias(RAW_SCORE)]


def grade_expr(scenario: Scenario) -> pl.Expr:
    score = pl.col("score")
    expr: pl.Expr = pl.lit(scenario.grades[-1][0])
    for grade, minimum in reversed(scenario.grades):
        expr = pl.when(score >= minimum).then(pl.lit(grade)).otherwise(expr)
    return expr.alias("grade")


def score_frame(lf: pl.LazyFrame, scenario: Scenario, stats: CohortStats | None) -> pl.LazyFrame:
    """Add `v_*`, gates, contributions, `score`, `_raw_score`, `completeness` and `grade`.

    `lf` must hold the input columns, `_type`, `_field` and, when `stats` is given, the cohort bounds
    (`cohort.with_cohort_bounds`). The gate codes are in `_gate_mask` (`decode_codes` with `gate_codes`).
    """
    stage1, stage2, stage3 = score_exprs(scenario)
    contributions = stage3[len(scenario.indicators) :]
    raws = stage3[: len(scenario.indicators)]
    return (
        lf.with_columns([value_expr(ind, scenario, stats) for ind in scenario.indicators] + gate_exprs(scenario))
        .with_columns(stage1)
        .with_columns(stage2)
        .with_columns(raws)
        .with_columns(contributions)
        .with_columns(total_exprs(scenario))
        .with_columns(grade_expr(scenario))
    )
