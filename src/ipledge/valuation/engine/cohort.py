"""Cohort normalisation of count indicators (KIPRO PQI / OECD method), fitted on one frame, applied to another.

Raw counts are not comparable across technology fields or filing years: a 2020 patent has had less time to be
cited than a 2010 one, and chemistry cites more than mechanics. The OECD computes every quality indicator within
cohorts of technology field × filing year (Squicciarini, Dernis & Criscuolo 2013); KIPRO trims the top and bottom
1 % and divides by the cohort maximum to get 0–1 (kpeg.kipro.or.kr/enpqiIntroduce.action; valuation.md §2.1, §5.3).

Here a value is winsorised at its cohort's `trim` and `1 − trim` quantiles (linear interpolation) and divided by the
upper one, the trimmed maximum, so an outlier in the top 1 % neither sets the scale nor leaves [0, 1]. A cohort
whose trimmed maximum is 0 maps everything to 0. Nulls stay null.

Statistics are fitted (`fit_cohort_stats`) and applied (`apply_cohort_stats`) separately, so a validation fold
is scaled with its training fold's statistics and never sees its own test rows. A row whose cohort was not seen
(or had fewer than `min_size` known values) falls back to the statistics of the cohort's first key over all years
(the IPC section), and then to the statistics over all fitted rows. In general the levels are the prefixes of the
cohort tuple, longest first, ending with the empty prefix (global).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

import polars as pl

DEFAULT_COHORT: tuple[str, ...] = ("ipc_section", "filing_year")
DEFAULT_TRIM = 0.01
INTERPOLATION: Final = "linear"


def _lo(column: str) -> str:
    return f"{column}__lo"


def _hi(column: str) -> str:
    return f"{column}__hi"


@dataclass(frozen=True, eq=False)
class CohortStats:
    """Fitted winsorising bounds (lo, hi) per column and cohort level.

    `levels[k]` is keyed by `cohort[: len(cohort) - k]`; the last level has no key and a single row (global).
    Bounds are null where a group had fewer than `min_size` known values (the global level excepted).
    """

    cohort: tuple[str, ...]
    columns: tuple[str, ...]
    trim: float
    min_size: int
    levels: tuple[pl.DataFrame, ...]

    def level_keys(self, k: int) -> tuple[str, ...]:
        return self.cohort[: len(self.cohort) - k]

    @cached_property
    def _lookup(self) -> list[dict[tuple[Any, ...], dict[str, tuple[float | None, float | None]]]]:
        out: list[dict[tuple[Any, ...], dict[str, tuple[float | None, float | None]]]] = []
        for k, table in enumerate(self.levels):
            keys = self.level_keys(k)
            out.append(
                {
                    tuple(row[c] for c in keys): {col: (row[_lo(col)], row[_hi(col)]) for col in self.columns}
                    for row in table.iter_rows(named=True)
                }
            )
        return out

    def bounds(self, column: str, key: Sequence[Any]) -> tuple[float, float] | None:
        """(lo, hi) for a row whose cohort key is `key` (values of `cohort`, in order), with the fallbacks applied.

        The plain-Python twin of `apply_cohort_stats`; None when no level has bounds for the column.
        """
        for k, table in enumerate(self._lookup):
            prefix = tuple(key[: len(self.cohort) - k])
            if any(v is None for v in prefix):
                continue  # a null key never matches (as in the join)
            found = table.get(prefix, {}).get(column)
            if found is not None and found[1] is not None and found[0] is not None:
                return float(found[0]), float(found[1])
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, e.g. to store the registry's statistics with a batch of valuations."""
        return {
            "cohort": list(self.cohort),
            "columns": list(self.columns),
            "trim": self.trim,
            "min_size": self.min_size,
            "levels": [table.to_dicts() for table in self.levels],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CohortStats:
        cohort = tuple(data["cohort"])
        columns = tuple(data["columns"])
        levels = []
        for k, rows in enumerate(data["levels"]):
            keys = cohort[: len(cohort) - k]
            schema: dict[str, pl.DataType | type[pl.DataType]] = {}
            for key in keys:
                sample = next((r[key] for r in rows if r.get(key) is not None), "")
                schema[key] = pl.Int64 if isinstance(sample, int) else pl.String
            for col in columns:
                schema[_lo(col)] = pl.Float64
                schema[_hi(col)] = pl.Float64
            levels.append(pl.DataFrame(list(rows), schema=schema))
        return cls(
            cohort=cohort,
            columns=columns,
            trim=float(data["trim"]),
            min_size=int(data["min_size"]),
            levels=tuple(levels),
        )


def fit_cohort_stats(
    frame: pl.DataFrame | pl.LazyFrame,
    columns: Sequence[str],
    cohort: Sequence[str] = DEFAULT_COHORT,
    trim: float = DEFAULT_TRIM,
    *,
    min_size: int = 1,
) -> CohortStats:
    """Fit the winsorising bounds of `columns` per cohort level on `frame` (the training rows)."""
    if not 0 <= trim < 0.5:
        raise ValueError("trim must be in [0, 0.5)")
    cohort = tuple(cohort)
    columns = tuple(columns)
    lf = frame.lazy()

    def aggs() -> list[pl.Expr]:
        out: list[pl.Expr] = []
        for col in columns:
            x = pl.col(col).cast(pl.Float64)
            out += [
                x.quantile(trim, INTERPOLATION).alias(_lo(col)),
                x.quantile(1 - trim, INTERPOLATION).alias(_hi(col)),
                x.count().alias(f"{col}__n"),
            ]
        return out

    def enough(col: str, bound: str) -> pl.Expr:
        return pl.when(pl.col(f"{col}__n") >= min_size).then(pl.col(bound)).otherwise(None).alias(bound)

    queries: list[pl.LazyFrame] = []
    for k in range(len(cohort)):
        keys = list(cohort[: len(cohort) - k])
        grouped = (
            lf.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in keys))
            .group_by(keys)
            .agg(aggs())
            .with_columns([enough(col, b) for col in columns for b in (_lo(col), _hi(col))])
            .select([*keys, *(b for col in columns for b in (_lo(col), _hi(col)))])
            .sort(keys)
        )
        queries.append(grouped)
    queries.append(lf.select(aggs()).select([b for col in columns for b in (_lo(col), _hi(col))]))
    levels = tuple(pl.collect_all(queries))
    return CohortStats(cohort=cohort, columns=columns, trim=trim, min_size=min_size, levels=levels)


def bound_columns(stats: CohortStats, column: str) -> tuple[str, str]:
    """Names of the coalesced (lo, hi) columns that `cohort_bounds` gives for `column`."""
    return f"__cohort_{column}_lo", f"__cohort_{column}_hi"


def cohort_bounds(keys: pl.DataFrame, stats: CohortStats) -> pl.DataFrame:
    """Per row of `keys` (the cohort columns of a frame), the bounds that apply to each fitted column: those of the
    first level that has them. Joins only the narrow key frame, since a join gathers every column it carries."""
    out = keys.select(stats.cohort)
    level_cols: dict[str, list[tuple[str, str]]] = {col: [] for col in stats.columns}
    for k, table in enumerate(stats.levels):
        level_keys = list(stats.level_keys(k))
        renames = {}
        for col in stats.columns:
            lo, hi = f"__l{k}_{col}_lo", f"__l{k}_{col}_hi"
            renames[_lo(col)], renames[_hi(col)] = lo, hi
            level_cols[col].append((lo, hi))
        if level_keys:
            right = table.with_columns(pl.col(c).cast(out.schema[c]) for c in level_keys).rename(renames)
            out = out.join(right, on=level_keys, how="left", maintain_order="left")
        else:
            row = table.row(0, named=True) if table.height else {}
            out = out.with_columns(
                pl.lit(row.get(name), dtype=pl.Float64).alias(alias) for name, alias in renames.items()
            )
    exprs: list[pl.Expr] = []
    for col, pairs in level_cols.items():
        lo_name, hi_name = bound_columns(stats, col)
        # lo and hi are null together at a level, so each can be coalesced on its own.
        exprs.append(pl.coalesce([pl.col(lo) for lo, _ in pairs]).alias(lo_name))
        exprs.append(pl.coalesce([pl.col(hi) for _, hi in pairs]).alias(hi_name))
    return out.select(exprs)


def with_cohort_bounds(frame: pl.DataFrame, stats: CohortStats) -> pl.DataFrame:
    """`frame` with the bound columns of `cohort_bounds` appended (see `bound_columns`)."""
    return frame.hstack(cohort_bounds(frame.select(stats.cohort), stats))


def normalised_expr(stats: CohortStats, column: str) -> pl.Expr:
    """The [0, 1] value of `column` in a frame `with_cohort_bounds`; null when the value or its bounds are."""
    lo_name, hi_name = bound_columns(stats, column)
    x = pl.col(column).cast(pl.Float64)
    lo, hi = pl.col(lo_name), pl.col(hi_name)
    # The outer clip only matters for negative inputs, which counts never are.
    scaled = (x.clip(lo, hi) / hi).clip(0.0)
    return pl.when(x.is_null() | lo.is_null() | hi.is_null()).then(None).when(hi > 0).then(scaled).otherwise(0.0)


def normalise_value(value: float | None, bounds: tuple[float, float] | None) -> float | None:
    """`normalised_expr` for one value (the reference's twin)."""
    if value is None or bounds is None:
        return None
    lo, hi = bounds
    if hi > 0:
        return max(min(max(float(value), lo), hi) / hi, 0.0)
    return 0.0


def apply_cohort_stats(
    frame: pl.DataFrame, stats: CohortStats, columns: Sequence[str] | None = None, *, suffix: str = ""
) -> pl.DataFrame:
    """Normalise `columns` (default: all fitted) of `frame` with fitted statistics; a `suffix` keeps the raw ones."""
    columns = tuple(stats.columns if columns is None else columns)
    unfitted = set(columns) - set(stats.columns)
    if unfitted:
        raise ValueError(f"statistics were not fitted for {sorted(unfitted)}")
    lf = with_cohort_bounds(frame, stats).lazy()
    lf = lf.with_columns(normalised_expr(stats, col).alias(f"{col}{suffix}") for col in columns)
    helpers = [name for col in stats.columns for name in bound_columns(stats, col)]
    return lf.drop(helpers).collect()


def normalise_within_cohort(
    frame: pl.DataFrame,
    columns: Sequence[str],
    cohort: Sequence[str] = DEFAULT_COHORT,
    trim: float = DEFAULT_TRIM,
    stats: CohortStats | None = None,
    *,
    min_size: int = 1,
    suffix: str = "",
) -> tuple[pl.DataFrame, CohortStats]:
    """Normalise `columns` within cohort to [0, 1]; fits the statistics on `frame` unless `stats` are given.

    Returns the frame and the statistics used, so a caller can fit on a training fold and pass them to the test fold.
    """
    if stats is None:
        stats = fit_cohort_stats(frame, columns, cohort, trim, min_size=min_size)
    return apply_cohort_stats(frame, stats, columns, suffix=suffix), stats
