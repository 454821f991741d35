"""Value a frame of rights in one vectorised pass: gates → indicator score → three approaches → P10/P50/P90 →
pledge rate and loan ceiling (docs/valuation-engine.md).

Everything is a Polars expression over whole columns (no Python per row): cohort bounds come from a join of the
narrow cohort-key frame with the fitted statistics, comparable medians from a lookup by value, and the gate and
reason lists from a table of the distinct bit masks. So one right in a request and a million in a batch run the same
code; `reference.value_right_row` is the same formulas one row at a time in plain Python, and a property test keeps
the two equal.

Cohort statistics: pass `cohort_stats` fitted on the population the rights belong to (the registry, or a training
fold: `fit_rights_cohort_stats`). Without them the statistics are fitted on `rights` itself, which is right for a
batch over the registry and meaningless for a handful of rights.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from .approaches import (
    Assumptions,
    approach_input_exprs,
    comparable_groups,
    comparable_lookup,
    cost_expr,
    fen_expr,
    income_expr,
    load_assumptions,
    market_expr,
    range_exprs,
    reconcile_exprs,
)
from .cohort import CohortStats, fit_cohort_stats, with_cohort_bounds
from .pledge import REASON_MASK, REASONS, PledgePolicy, default_policy, pledge_exprs
from .scoring import COHORT_KEYS, FIELD, GATE_MASK, TYPE, decode_codes, field_expr, gate_codes, score_frame, type_expr
from .tree import RIGHT_INPUT_SCHEMA, Scenario, resolve_scenario

__all__ = [
    "RIGHT_INPUT_SCHEMA",
    "fit_rights_cohort_stats",
    "indicator_values",
    "output_columns",
    "rights_frame",
    "value_rights",
]

VALUE_COLUMNS: tuple[str, ...] = ("value_income_fen", "value_cost_fen", "value_market_fen")
RANGE_COLUMNS: tuple[str, ...] = ("p10_fen", "p50_fen", "p90_fen", "sigma")
PLEDGE_COLUMNS: tuple[str, ...] = ("pledge_rate", "loan_ceiling_fen", "pledge_eligible", "pledge_reasons")


def output_columns(scenario: Scenario | str | None = None) -> list[str]:
    """The output frame's columns, in order."""
    sc = resolve_scenario(scenario)
    return [
        "right_id",
        "score",
        "grade",
        "completeness",
        "gate_multiplier",
        "gates",
        *(f"c_{key}" for key in sc.keys),
        *VALUE_COLUMNS,
        *RANGE_COLUMNS,
        *PLEDGE_COLUMNS,
    ]


def rights_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """A frame in `RIGHT_INPUT_SCHEMA` from dicts; missing keys are null, keys outside the schema are ignored."""
    rows = list(rows)
    return pl.DataFrame({col: [row.get(col) for row in rows] for col in RIGHT_INPUT_SCHEMA}, schema=RIGHT_INPUT_SCHEMA)


def _conform(rights: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The input columns in their schema dtypes (absent ones null), plus the right type and cohort field."""
    lf = rights.lazy()
    present = set(lf.collect_schema().names())
    cols = [
        pl.col(name).cast(dtype) if name in present else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in RIGHT_INPUT_SCHEMA.items()
    ]
    return lf.select(cols).with_columns(type_expr().alias(TYPE)).with_columns(field_expr().alias(FIELD))


def fit_rights_cohort_stats(
    rights: pl.DataFrame | pl.LazyFrame,
    scenario: Scenario | str | None = None,
    *,
    trim: float | None = None,
    min_size: int | None = None,
) -> CohortStats:
    """Cohort statistics of the scenario's count indicators over `rights` (cohort = field × filing year, where the
    field is the IPC section of a patent, else its right type); trim and minimum size default to the tree's."""
    sc = resolve_scenario(scenario)
    return fit_cohort_stats(
        _conform(rights),
        sc.cohort_columns(),
        COHORT_KEYS,
        sc.cohort_trim if trim is None else trim,
        min_size=sc.cohort_min_size if min_size is None else min_size,
    )


def _base(
    rights: pl.DataFrame | pl.LazyFrame, sc: Scenario, cohort_stats: CohortStats | None
) -> tuple[pl.DataFrame, CohortStats]:
    """The conformed input with the cohort bounds appended (materialised: joins run on narrow key frames only)."""
    base = _conform(rights).collect()
    stats = cohort_stats if cohort_stats is not None else fit_rights_cohort_stats(base, sc)
    return with_cohort_bounds(base, stats), stats


def indicator_values(
    rights: pl.DataFrame | pl.LazyFrame, scenario: Scenario | str | None = None, cohort_stats: CohortStats | None = None
) -> pl.DataFrame:
    """`right_id` and each indicator's value in [0, 1] as `v_<key>` (null when unknown or not applicable)."""
    sc = resolve_scenario(scenario)
    base, stats = _base(rights, sc, cohort_stats)
    return score_frame(base.lazy(), sc, stats).select("right_id", *(f"v_{key}" for key in sc.keys)).collect()


def value_rights(
    rights: pl.DataFrame | pl.LazyFrame,
    *,
    scenario: Scenario | str | None = None,
    assumptions: Assumptions | None = None,
    policy: PledgePolicy | None = None,
    comparables: pl.DataFrame | None = None,
    cohort_stats: CohortStats | None = None,
    with_values: bool = False,
) -> pl.DataFrame:
    """Value every right of `rights` (columns of `RIGHT_INPUT_SCHEMA`); one output row per input row, same order.

    `comparables` has `kind, patent_type, ipc_section, price_fen, score` (one row per observed transaction).
    `with_values` appends each indicator's value `v_<key>` (as `indicator_values` gives them) in the same pass.
    """
    sc = resolve_scenario(scenario)
    a = assumptions or load_assumptions()
    pol = policy or default_policy()
    base, stats = _base(rights, sc, cohort_stats)
    base = base.hstack(comparable_lookup(base.select(TYPE, "ipc_section"), comparable_groups(comparables, a)))
    stage1, stage2 = pledge_exprs(pol)
    columns = output_columns(sc) + ([f"v_{key}" for key in sc.keys] if with_values else [])
    out = (
        score_frame(base.lazy(), sc, stats)
        .with_columns(approach_input_exprs(a))
        .with_columns(
            income_expr(a).alias("_v_income"),
            market_expr(a).alias("_v_market"),
            cost_expr(a).alias("_v_cost"),
        )
        .with_columns(reconcile_exprs(a))
        .with_columns(range_exprs(a))
        .with_columns(
            fen_expr(pl.col("_v_income")).alias("value_income_fen"),
            fen_expr(pl.col("_v_cost")).alias("value_cost_fen"),
            fen_expr(pl.col("_v_market")).alias("value_market_fen"),
            fen_expr(pl.col("_p10")).alias("p10_fen"),
            fen_expr(pl.col("_p50")).alias("p50_fen"),
            fen_expr(pl.col("_p90")).alias("p90_fen"),
        )
        .with_columns(stage1)
        .with_columns(stage2)
        .select([c for c in columns if c not in ("gates", "pledge_reasons")] + [GATE_MASK, REASON_MASK])
        .collect()
    )
    return out.with_columns(
        decode_codes(out[GATE_MASK], gate_codes(sc), "gates"),
        decode_codes(out[REASON_MASK], REASONS, "pledge_reasons"),
    ).select(columns)
