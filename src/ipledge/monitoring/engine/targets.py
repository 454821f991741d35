"""The 百园万企 targets (T1–T4, 行动目标) as pure functions over Polars frames; no Django here.

- T1 parks (百园): per park and year, pledge projects (质押项目数 = pledge registrations registered in the year) and
  pledged amount (质押登记金额 = sum of the registrations' claim amounts), each registration attributed to the park
  its pledgor was a member of on the registration date (lowest park id when it was in several). Year-on-year growth
  = (this year − last year) ÷ last year, None when last year was zero. A park reaches the goal when both growths are
  at least 20 % (compared exactly in integers: this year × 5 ≥ last year × 6). Goal: `PARKS_GOAL` parks nationally.
- T2 enterprises (万企): small, medium and micro enterprises (中小微, `size_class` medium / small / micro) whose
  first IP-backed loan (first disbursement of any IP-pledge loan on the platform) falls in the year, by size
  class. Goal: `SMES_GOAL`.
- T3 implementation rate of pledged patents (质押专利实施率): taken from the lending engine's T3 table at the last
  quarter end of the year (see `ipledge.lending.engine.indicators`), passed in as a figure.
- T4 service convenience (服务便利度): mean registration turnaround in working days (办理用时) and the online share
  (网上办理占比) of the registrations registered in the year; the median days from a financing demand (融资需求)
  being published to the same enterprise's next IP-pledge loan being first disbursed, over loans first disbursed in
  the year.

Money is integer fen; ratios are floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

PARKS_GOAL = 100
SMES_GOAL = 10_000
# The growth goal as a fraction, and the same as integers (6 ÷ 5 = 1.2) so that exactly 20 % counts whatever the
# floats say.
GROWTH_GOAL = 0.20
GROWTH_NUMERATOR, GROWTH_DENOMINATOR = 6, 5
SME_CLASSES = ("medium", "small", "micro")
ONLINE = "online"

SCHEMAS: dict[str, dict[str, Any]] = {
    "registrations": {
        "registration_id": pl.Int64,
        "registered_on": pl.Date,
        "claim_amount_fen": pl.Int64,
        "pledgor_id": pl.Int64,
        "channel": pl.String,
        "turnaround_working_days": pl.Int64,
    },
    "memberships": {"enterprise_id": pl.Int64, "park_id": pl.Int64, "joined_on": pl.Date, "left_on": pl.Date},
    "parks": {
        "park_id": pl.Int64,
        "park_name": pl.String,
        "province_code": pl.String,
        "province_name": pl.String,
        "is_key_park": pl.Boolean,
    },
    "financed": {
        "enterprise_id": pl.Int64,
        "size_class": pl.String,
        "province_code": pl.String,
        "first_financed_on": pl.Date,
    },
    "loans": {"loan_id": pl.Int64, "borrower_id": pl.Int64, "first_disbursed_on": pl.Date},
    "demands": {"demand_id": pl.Int64, "enterprise_id": pl.Int64, "created_on": pl.Date},
    "provinces": {"province_code": pl.String, "province_name": pl.String},
}

PARK_COLUMNS = (
    "park_id",
    "park_name",
    "province_code",
    "province_name",
    "is_key_park",
    "projects",
    "amount_fen",
    "projects_prev",
    "amount_prev_fen",
    "projects_growth",
    "amount_growth",
    "reaches_goal",
)
PROVINCE_COLUMNS = (
    "province_code",
    "province_name",
    "parks",
    "parks_reaching",
    "key_parks",
    "projects",
    "amount_fen",
    "new_smes",
)


def _frame(name: str, rows: Sequence[Mapping[str, Any]] | pl.DataFrame | None) -> pl.DataFrame:
    schema = SCHEMAS[name]
    if rows is None:
        return pl.DataFrame(schema=schema)
    given = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(list(rows), infer_schema_length=None)
    return given.select(
        pl.col(column).cast(dtype) if column in given.columns else pl.lit(None, dtype=dtype).alias(column)
        for column, dtype in schema.items()
    )


@dataclass(frozen=True)
class TargetFrames:
    """What the targets read, already restricted to what the viewer may see (see `SCHEMAS`)."""

    registrations: pl.DataFrame
    memberships: pl.DataFrame
    parks: pl.DataFrame
    financed: pl.DataFrame
    loans: pl.DataFrame
    demands: pl.DataFrame
    provinces: pl.DataFrame
    # T3 per year from the lending engine (year → rate or None); absent years have no figure.
    implementation_rates: Mapping[int, float | None] = field(default_factory=dict)

    @classmethod
    def from_rows(
        cls,
        *,
        implementation_rates: Mapping[int, float | None] | None = None,
        **rows: Sequence[Mapping[str, Any]] | pl.DataFrame,
    ) -> TargetFrames:
        """Frames from lists of dicts (or frames); missing tables are empty, missing columns null."""
        unknown = set(rows) - set(SCHEMAS)
        if unknown:
            raise TypeError(f"unknown tables: {sorted(unknown)}")
        frames = {name: _frame(name, rows.get(name)) for name in SCHEMAS}
        parks = frames["parks"].with_columns(pl.col("is_key_park").fill_null(False))
        provinces = pl.concat([frames["provinces"], parks.select("province_code", "province_name")]).unique(
            "province_code", keep="first", maintain_order=True
        )
        frames.update(parks=parks, provinces=provinces)
        return cls(implementation_rates=dict(implementation_rates or {}), **frames)


def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def attributed_registrations(frames: TargetFrames) -> pl.DataFrame:
    """Every registration with `park_id`: the park its pledgor belonged to on the registration date (null: none)."""
    regs = frames.registrations
    candidates = (
        regs.select("registration_id", "registered_on", "pledgor_id")
        .join(frames.memberships, left_on="pledgor_id", right_on="enterprise_id", how="inner")
        .filter(
            (pl.col("joined_on") <= pl.col("registered_on"))
            & (pl.col("left_on").is_null() | (pl.col("left_on") > pl.col("registered_on")))
        )
        .group_by("registration_id")
        .agg(pl.col("park_id").min())
    )
    return regs.join(candidates, on="registration_id", how="left")


def _park_year(attributed: pl.DataFrame, year: int, suffix: str) -> pl.DataFrame:
    start, end = _year_bounds(year)
    return (
        attributed.filter(pl.col("registered_on").is_between(start, end) & pl.col("park_id").is_not_null())
        .group_by("park_id")
        .agg(
            pl.len().cast(pl.Int64).alias(f"projects{suffix}"),
            pl.col("claim_amount_fen").sum().cast(pl.Int64).alias(f"amount{suffix}_fen"),
        )
    )


def _growth(current: str, previous: str) -> pl.Expr:
    prev = pl.col(previous)
    return pl.when(prev > 0).then((pl.col(current) - prev) / prev).otherwise(None)


def _reaches(current: str, previous: str) -> pl.Expr:
    prev = pl.col(previous)
    return (prev > 0) & (pl.col(current) * GROWTH_DENOMINATOR >= prev * GROWTH_NUMERATOR)


def park_figures(frames: TargetFrames, year: int, *, attributed: pl.DataFrame | None = None) -> pl.DataFrame:
    """T1 per park (every park in `frames.parks`, zeros included): see the module docstring; columns
    `PARK_COLUMNS`, sorted by province then park name."""
    attributed = attributed_registrations(frames) if attributed is None else attributed
    counts = ("projects", "amount_fen", "projects_prev", "amount_prev_fen")
    return (
        frames.parks.join(_park_year(attributed, year, ""), on="park_id", how="left")
        .join(_park_year(attributed, year - 1, "_prev"), on="park_id", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in counts)
        .with_columns(
            projects_growth=_growth("projects", "projects_prev"),
            amount_growth=_growth("amount_fen", "amount_prev_fen"),
            reaches_goal=_reaches("projects", "projects_prev") & _reaches("amount_fen", "amount_prev_fen"),
        )
        .select(PARK_COLUMNS)
        .sort("province_code", "park_name")
    )


def first_financed_smes(frames: TargetFrames, year: int) -> pl.DataFrame:
    """T2: the 中小微 enterprises first financed through IP in the year (enterprise_id, size_class, province_code)."""
    start, end = _year_bounds(year)
    return frames.financed.filter(
        pl.col("first_financed_on").is_between(start, end) & pl.col("size_class").is_in(SME_CLASSES)
    ).select("enterprise_id", "size_class", "province_code")


def province_figures(frames: TargetFrames, parks: pl.DataFrame, smes: pl.DataFrame) -> pl.DataFrame:
    """Per province: parks, parks reaching the goal, key parks, projects and amount of its parks, new SMEs (by the
    enterprise's registered province). Provinces with neither a park nor a new SME are left out."""
    by_parks = parks.group_by("province_code").agg(
        pl.len().cast(pl.Int64).alias("parks"),
        pl.col("reaches_goal").sum().cast(pl.Int64).alias("parks_reaching"),
        pl.col("is_key_park").sum().cast(pl.Int64).alias("key_parks"),
        pl.col("projects").sum().cast(pl.Int64),
        pl.col("amount_fen").sum().cast(pl.Int64),
    )
    by_smes = smes.group_by("province_code").agg(pl.len().cast(pl.Int64).alias("new_smes"))
    counts = ("parks", "parks_reaching", "key_parks", "projects", "amount_fen", "new_smes")
    return (
        by_parks.join(by_smes, on="province_code", how="full", coalesce=True)
        .join(frames.provinces, on="province_code", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in counts)
        .with_columns(pl.col("province_name").fill_null(pl.col("province_code")))
        .select(PROVINCE_COLUMNS)
        .sort("province_code")
    )


def convenience(frames: TargetFrames, year: int) -> dict[str, float | None]:
    """T4: mean turnaround (working days), online share, median days from demand to loan."""
    start, end = _year_bounds(year)
    regs = frames.registrations.filter(pl.col("registered_on").is_between(start, end))
    turnaround = regs.get_column("turnaround_working_days").drop_nulls()
    channels = regs.get_column("channel").drop_nulls()
    online = (channels == ONLINE).sum() / channels.len() if channels.len() else None
    # Each loan first disbursed in the year, against the latest demand its borrower published on or before that day.
    loans = frames.loans.filter(pl.col("first_disbursed_on").is_between(start, end))
    waits = (
        loans.join(frames.demands, left_on="borrower_id", right_on="enterprise_id", how="inner")
        .filter(pl.col("created_on") <= pl.col("first_disbursed_on"))
        .group_by("loan_id")
        .agg((pl.col("first_disbursed_on") - pl.col("created_on").max()).dt.total_days().first().alias("days"))
        .get_column("days")
    )
    return {
        "turnaround_days_avg": float(turnaround.mean()) if turnaround.len() else None,  # type: ignore[arg-type]
        "online_share": float(online) if online is not None else None,
        "demand_to_loan_days_median": float(waits.median()) if waits.len() else None,  # type: ignore[arg-type]
    }


@dataclass(frozen=True)
class TargetFigures:
    """Every target figure for one year (the engine's half of `ipledge.monitoring.targets.TargetOverview`)."""

    year: int
    parks: pl.DataFrame
    provinces: pl.DataFrame
    parks_reaching: int
    new_smes: int
    new_smes_by_size: dict[str, int]
    implementation_rate: float | None
    turnaround_days_avg: float | None
    online_share: float | None
    demand_to_loan_days_median: float | None


def target_figures(frames: TargetFrames, year: int, *, attributed: pl.DataFrame | None = None) -> TargetFigures:
    attributed = attributed_registrations(frames) if attributed is None else attributed
    parks = park_figures(frames, year, attributed=attributed)
    smes = first_financed_smes(frames, year)
    by_size = dict.fromkeys(SME_CLASSES, 0)
    for size_class, count in smes.group_by("size_class").len().iter_rows():
        by_size[size_class] = int(count)
    return TargetFigures(
        year=year,
        parks=parks,
        provinces=province_figures(frames, parks, smes),
        parks_reaching=int(parks.get_column("reaches_goal").sum()),
        new_smes=smes.height,
        new_smes_by_size=by_size,
        implementation_rate=frames.implementation_rates.get(year),
        **convenience(frames, year),  # type: ignore[arg-type]
    )


def trend(frames: TargetFrames, years: Sequence[int]) -> pl.DataFrame:
    """Per year: projects and amount of the parks, parks reaching the goal, new SMEs (for the trend charts)."""
    attributed = attributed_registrations(frames)
    rows = []
    for year in years:
        parks = park_figures(frames, year, attributed=attributed)
        rows.append(
            {
                "year": year,
                "projects": int(parks.get_column("projects").sum()),
                "amount_fen": int(parks.get_column("amount_fen").sum()),
                "parks_reaching": int(parks.get_column("reaches_goal").sum()),
                "new_smes": first_financed_smes(frames, year).height,
            }
        )
    schema = {"year": pl.Int64, "projects": pl.Int64, "amount_fen": pl.Int64, "parks_reaching": pl.Int64}
    return pl.DataFrame(rows, schema={**schema, "new_smes": pl.Int64})
