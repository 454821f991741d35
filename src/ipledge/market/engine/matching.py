"""The matching engine (产品匹配): every financing demand against every live product — hard eligibility rules first,
then a 0–100 score and a rank per demand. Pure computation, no Django: Polars frames in, Polars frames out.

Inputs
------
`PRODUCT_SCHEMA`: one row per live product version. Amounts in integer fen, terms in months, rates in basis points
(`spread_bp` over LPR, or `fixed_bp` = the fixed annual rate × 100), and per collateral kind k (`KINDS`, the
`CollateralKind` values) `accepts_k`, `min_years_k` (minimum whole years of remaining life, 0–30) and `cap_bp_k`
(pledge-rate cap in basis points: 0.25 → 2500). Empty `region_codes` / `industry_sections` / `size_classes` mean
"no restriction"; `max_penalties` null means no cap. Region codes are 6-digit administrative codes.

`DEMAND_SCHEMA`: one row per demand with the enterprise's features and, per kind k, the offered rights: `count_k`
(valid offered rights of kind k), `max_days_k` (the longest remaining life in days, null when no term end is known),
`unvalued_max_days_k` (the same over the rights without a valid valuation) and `value_ge_k`, 31 cumulative values in
fen: the total valuation of the offered rights of kind k with at least y whole years left, y = 0…30. Days, not
fractional years, so that every comparison is exact: a right has at least y whole years left when
4 × days ≥ 1461 × y (a year is 365.25 days), i.e. when ⌊4 × days / 1461⌋ ≥ y. Ages are in days too (`age_days`).

The collateral capacity of a pair (质押物可支持额度) is ⌊Σ_k accepts_k × value_ge_k[min_years_k] × cap_bp_k / 10000⌋
in fen: what the valued rights the product would take can support at its pledge-rate caps. Comparisons use the exact
sum before flooring.

Hard rules (each a boolean matrix; a pair is eligible when all pass)
-------------------------------------------------------------------
`RULE_KIND` an offered right of an accepted kind; `RULE_LIFE` one of them with enough remaining life (judged only
when `RULE_KIND` passes, so that one missing kind is one failure);
`RULE_AMOUNT` amount within [min, max]; `RULE_CAPACITY` capacity ≥ the product's minimum amount — judged only when
`RULE_LIFE` passes, and failing only when no unvalued right the product would take (with enough life) could make up
for it: then the capacity is unknown, which is not a failure but a soft reason suggesting a valuation; `RULE_TERM`
term within [min, max]; `RULE_REGION` (the demand's region code starts with one of the product's region prefixes:
"110000" → "11", "320100" → "3201", else the whole code); `RULE_INDUSTRY`; `RULE_SIZE`; `RULE_AGE` (an unknown
founding date fails a minimum age); `RULE_WHITELIST`; `RULE_DISHONEST` (an active 失信被执行人 or 严重违法失信
record); `RULE_PENALTIES` (administrative penalties of the last three years ≤ the cap).

Score (an estimate, not a trained model), all integer arithmetic so that the engine and the row-by-row reference
agree exactly
-----------------------------------------------------------------------------------------------------------------
- expected approval, in thousandths, clipped to [20, 980]: 350 + 150 if whitelisted + valuation grade (AAA/AA 150,
  A 120, BBB 80, BB 40, B 0, CCC/CC/C −100, none −50) + collateral coverage (capacity ≥ amount 150, ≥ half the
  amount 80, any 20) + 50 高新技术 + 50 专精特新 − 50 per recent penalty (at most −150);
- fit, in thousandths: the mean (floored) of an amount part and a term part. Each part measures how far the request
  sits from the middle of the product's range, d = |2 × request − (min + max)| against the width w = max − min:
  1000 when 4d ≤ w (the middle half), 800 when 2d ≤ w, 600 when 4d ≤ 3w, 400 when d ≤ w (inside the range), else 0.
  A product built around the request ranks above one it barely reaches;
- cost, in thousandths: the annual rate r in basis points (LPR 1-year for terms ≤ 60 months, else 5-year, plus the
  spread; or the fixed rate) mapped linearly from 2 % (1000) to 8 % (0): ⌊(800 − r) × 1000 / 600⌋ clipped to
  [0, 1000]; 500 when the LPR is unknown;
- score in hundredths = ⌊(50 × approval + 25 × fit + 25 × cost + 5) / 10⌋, i.e. 50 % approval, 25 % fit, 25 % cost
  on a 0–100 scale.
Rank 1…n per demand among eligible pairs: score descending, then annual rate ascending (unknown last), then product
id ascending.

How it is computed
------------------
Polars prepares the per-row columns; the demand × product pairs are NumPy matrices (n_demands × n_products) of the
narrowest integer types, broadcast from the prepared columns, because a Polars cross join would copy every demand's
7 × 31 cumulative values into each of its pairs. Set rules are one gather each: an "allowed" table (vocabulary ×
products) indexed by the demand's vocabulary position. Per-product quantities (the rate and its cost for each LPR
tenor, the capacity factor of each distinct (min years, cap) per kind) are computed once, so that no pair needs a
division. Ranks sort only the eligible pairs. `evaluate` handles one chunk; callers chunk the demands (`CHUNK`) to
bound memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

KINDS: tuple[str, ...] = ("invention", "utility_model", "design", "trademark", "software", "work", "ic_layout")
MAX_YEARS = 30
YEARS = MAX_YEARS + 1
CHUNK = 2000  # demands prepared (read, converted) at once
BLOCK = 32  # demands evaluated at once: 32 × 2,000 pairs keep each int64 matrix at 0.5 MB, within the L2 cache
NEAR_MISSES = 20  # ineligible pairs stored per demand by the batch refresh (see `select_pairs`)

RULE_KIND = "collateral_kind"
RULE_LIFE = "remaining_life"
RULE_AMOUNT = "amount_range"
RULE_CAPACITY = "collateral_capacity"
RULE_TERM = "term_range"
RULE_REGION = "region"
RULE_INDUSTRY = "industry"
RULE_SIZE = "size"
RULE_AGE = "enterprise_age"
RULE_WHITELIST = "whitelist"
RULE_DISHONEST = "dishonest"
RULE_PENALTIES = "penalties"
HARD_RULES: tuple[str, ...] = (
    RULE_KIND,
    RULE_LIFE,
    RULE_AMOUNT,
    RULE_CAPACITY,
    RULE_TERM,
    RULE_REGION,
    RULE_INDUSTRY,
    RULE_SIZE,
    RULE_AGE,
    RULE_WHITELIST,
    RULE_DISHONEST,
    RULE_PENALTIES,
)
# Soft reasons: shown, never a failure.
SOFT_VALUATION = "valuation_missing"
SOFT_COVERAGE = "coverage"
SOFT_GUARANTEE = "guarantee_required"
SOFT_INSURANCE = "insurance_required"
SOFT_APPROVAL = "expected_approval"
SOFT_RATE = "annual_rate"

GRADE_POINTS: dict[str, int] = {
    "AAA": 150,
    "AA": 150,
    "A": 120,
    "BBB": 80,
    "BB": 40,
    "B": 0,
    "CCC": -100,
    "CC": -100,
    "C": -100,
}
NO_GRADE_POINTS = -50
APPROVAL_BASE = 350
APPROVAL_MIN, APPROVAL_MAX = 20, 980
WEIGHT_APPROVAL, WEIGHT_FIT, WEIGHT_COST = 50, 25, 25
RATE_BEST_BP, RATE_WORST_BP = 200, 800
LPR_1Y_MAX_TERM = 60
UNKNOWN_RATE = 1 << 20  # sorts after every real rate

PRODUCT_SCHEMA: dict[str, Any] = {
    "product_id": pl.Int64,
    "version_id": pl.Int64,
    "bank_id": pl.Int64,
    "amount_min": pl.Int64,
    "amount_max": pl.Int64,
    "term_min": pl.Int64,
    "term_max": pl.Int64,
    "rate_kind": pl.Utf8,
    "spread_bp": pl.Int64,
    "fixed_bp": pl.Int64,
    "region_codes": pl.List(pl.Utf8),
    "industry_sections": pl.List(pl.Utf8),
    "size_classes": pl.List(pl.Utf8),
    "min_age": pl.Int64,
    "requires_whitelist": pl.Boolean,
    "excludes_dishonest": pl.Boolean,
    "max_penalties": pl.Int64,
    "requires_guarantee": pl.Boolean,
    "requires_insurance": pl.Boolean,
    **{f"accepts_{k}": pl.Boolean for k in KINDS},
    **{f"min_years_{k}": pl.Int64 for k in KINDS},
    **{f"cap_bp_{k}": pl.Int64 for k in KINDS},
}

DEMAND_SCHEMA: dict[str, Any] = {
    "demand_id": pl.Int64,
    "enterprise_id": pl.Int64,
    "region_code": pl.Utf8,
    "industry_section": pl.Utf8,
    "size_class": pl.Utf8,
    "age_days": pl.Int64,
    "whitelisted": pl.Boolean,
    "dishonest": pl.Boolean,
    "penalties_3y": pl.Int64,
    "grade": pl.Utf8,
    "high_tech": pl.Boolean,
    "specialised": pl.Boolean,
    "amount": pl.Int64,
    "term": pl.Int64,
    **{f"count_{k}": pl.Int64 for k in KINDS},
    **{f"max_days_{k}": pl.Int64 for k in KINDS},
    **{f"unvalued_max_days_{k}": pl.Int64 for k in KINDS},
    **{f"value_ge_{k}": pl.List(pl.Int64) for k in KINDS},
}

PAIR_SCHEMA: dict[str, Any] = {
    "demand_id": pl.Int64,
    "product_id": pl.Int64,
    "version_id": pl.Int64,
    "eligible": pl.Boolean,
    "failures": pl.Int64,
    "score_centi": pl.Int64,
    "approval_milli": pl.Int64,
    "fit_milli": pl.Int64,
    "cost_milli": pl.Int64,
    "capacity": pl.Int64,
    "capacity_unknown": pl.Boolean,
    "rate_bp": pl.Int64,
    "rank": pl.Int64,
    **{f"ok_{rule}": pl.Boolean for rule in HARD_RULES},
}


@dataclass(frozen=True)
class Rates:
    """The LPR quotes in force, in basis points (None when unknown)."""

    lpr_1y_bp: int | None
    lpr_5y_bp: int | None


def region_prefix(code: str) -> str:
    """The prefix a product's region code covers: a province "110000" → "11", a city "320100" → "3201"."""
    code = code.strip()
    if len(code) == 6 and code.endswith("0000"):
        return code[:2]
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code


def region_keys(code: str | None) -> tuple[str, ...]:
    """The prefixes a demand's region code answers to: province, city and the code itself."""
    if not code:
        return ()
    return tuple(dict.fromkeys((code[:2], code[:4], code)))


def remaining_years_floor1(days: int | None) -> float | None:
    """Remaining years shown with one decimal, floored (7.96 years shows as 7.9, never as a rounded-up 8.0)."""
    return None if days is None else (40 * days // 1461) / 10


def empty_products() -> pl.DataFrame:
    return pl.DataFrame(schema=PRODUCT_SCHEMA)


def empty_demands() -> pl.DataFrame:
    return pl.DataFrame(schema=DEMAND_SCHEMA)


def conform(frame: pl.DataFrame, schema: dict[str, Any]) -> pl.DataFrame:
    """The frame's columns of the schema, in its order and types (the frame itself when it already is)."""
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns: {', '.join(missing)}")
    if frame.schema == pl.Schema(schema):
        return frame
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])


# ------------------------------------------------------------------------------------------------- prepared arrays


def _bool(frame: pl.DataFrame, name: str, default: bool = False) -> np.ndarray[Any, Any]:
    return frame.get_column(name).fill_null(default).to_numpy().astype(bool)


def _int(frame: pl.DataFrame, name: str, default: int, dtype: Any = np.int64) -> np.ndarray[Any, Any]:
    return frame.get_column(name).fill_null(default).to_numpy().astype(dtype)


def whole_years(days: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """⌊4 × days / 1461⌋ as int8, capped at 31 (no product asks more than 30); −1 for unknown (< 0) days."""
    years = np.where(days >= 0, (4 * days) // 1461, -1)
    return np.minimum(years, MAX_YEARS + 1).astype(np.int8)


@dataclass
class PreparedProducts:
    """The product columns as NumPy arrays (one entry per product, sorted by product id), built once per run."""

    frame: pl.DataFrame
    n: int
    product_id: np.ndarray[Any, Any]
    version_id: np.ndarray[Any, Any]
    amount_min: np.ndarray[Any, Any]
    amount_max: np.ndarray[Any, Any]
    amount_bands: tuple[np.ndarray[Any, Any], ...]  # `band_limits`
    need_scaled: np.ndarray[Any, Any]  # 10000 × amount_min: compared with the unfloored capacity
    term_min: np.ndarray[Any, Any]
    term_max: np.ndarray[Any, Any]
    term_bands: tuple[np.ndarray[Any, Any], ...]
    # Rate (bp, UNKNOWN_RATE when unknown) and its cost for a short (1-year LPR) and a long (5-year LPR) term.
    rate_short: np.ndarray[Any, Any]
    rate_long: np.ndarray[Any, Any]
    cost_short: np.ndarray[Any, Any]
    cost_long: np.ndarray[Any, Any]
    min_age: np.ndarray[Any, Any]
    requires_whitelist: np.ndarray[Any, Any]
    excludes_dishonest: np.ndarray[Any, Any]
    max_penalties: np.ndarray[Any, Any]
    accepts: dict[str, np.ndarray[Any, Any]]
    min_years: dict[str, np.ndarray[Any, Any]]  # int8, 0–30
    # Per kind: the distinct (min years, cap) of the accepting products and each product's index into them.
    combo_years: dict[str, np.ndarray[Any, Any]]
    combo_caps: dict[str, np.ndarray[Any, Any]]
    combo_index: dict[str, np.ndarray[Any, Any]]
    rates: Rates
    # Set rules: vocabulary → row of `allowed` (the last row: a value no product names); unrestricted products allow all.
    region_vocab: dict[str, int] = field(default_factory=dict)
    region_allowed: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros((1, 0), bool))
    industry_vocab: dict[str, int] = field(default_factory=dict)
    industry_allowed: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros((1, 0), bool))
    size_vocab: dict[str, int] = field(default_factory=dict)
    size_allowed: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros((1, 0), bool))


def _allowed_table(lists: list[list[str] | None], key: Any = None) -> tuple[dict[str, int], np.ndarray[Any, Any]]:
    """(vocabulary, allowed) where allowed[v, p] says whether product p admits vocabulary entry v; the extra last row
    (a value no product names) is allowed only by unrestricted products."""
    norm = [[key(x) if key else x for x in (values or []) if x] for values in lists]
    vocab: dict[str, int] = {}
    for values in norm:
        for value in values:
            vocab.setdefault(value, len(vocab))
    allowed = np.zeros((len(vocab) + 1, len(norm)), dtype=bool)
    for p, values in enumerate(norm):
        if not values:
            allowed[:, p] = True
        else:
            allowed[[vocab[v] for v in values], p] = True
    return vocab, allowed


def cost_points(rate_bp: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Cost in thousandths for rates in bp (500 for UNKNOWN_RATE)."""
    cost = np.clip((RATE_WORST_BP - rate_bp) * 1000 // (RATE_WORST_BP - RATE_BEST_BP), 0, 1000)
    return np.where(rate_bp == UNKNOWN_RATE, 500, cost).astype(np.int16)


def prepare_products(products: pl.DataFrame, rates: Rates) -> PreparedProducts:
    """Products conformed to `PRODUCT_SCHEMA` and sorted by product id (the rank's last tie-break), with the rates of
    the day."""
    frame = conform(products, PRODUCT_SCHEMA).sort("product_id")
    region_vocab, region_allowed = _allowed_table(frame.get_column("region_codes").to_list(), region_prefix)
    industry_vocab, industry_allowed = _allowed_table(frame.get_column("industry_sections").to_list())
    size_vocab, size_allowed = _allowed_table(frame.get_column("size_classes").to_list())
    amount_min, amount_max = _int(frame, "amount_min", 0), _int(frame, "amount_max", 0)
    term_min, term_max = _int(frame, "term_min", 0, np.int32), _int(frame, "term_max", 0, np.int32)
    fixed = (frame.get_column("rate_kind") == "fixed").fill_null(False).to_numpy().astype(bool)
    fixed_bp, spread_bp = _int(frame, "fixed_bp", 0), _int(frame, "spread_bp", 0)

    def rate_for(lpr: int | None) -> np.ndarray[Any, Any]:
        floating = np.full(len(fixed), UNKNOWN_RATE, dtype=np.int64) if lpr is None else lpr + spread_bp
        return np.where(fixed, fixed_bp, floating).astype(np.int64)

    rate_short, rate_long = rate_for(rates.lpr_1y_bp), rate_for(rates.lpr_5y_bp)
    accepts = {k: _bool(frame, f"accepts_{k}") for k in KINDS}
    min_years = {k: np.clip(_int(frame, f"min_years_{k}", 0), 0, MAX_YEARS).astype(np.int8) for k in KINDS}
    combo_years: dict[str, np.ndarray[Any, Any]] = {}
    combo_caps: dict[str, np.ndarray[Any, Any]] = {}
    combo_index: dict[str, np.ndarray[Any, Any]] = {}
    for k in KINDS:
        caps = np.where(accepts[k], _int(frame, f"cap_bp_{k}", 0), 0)
        code = min_years[k].astype(np.int64) * (1 << 32) + caps
        unique, index = np.unique(code, return_inverse=True)
        combo_years[k] = (unique >> 32).astype(np.int64)
        combo_caps[k] = unique & ((1 << 32) - 1)
        combo_index[k] = index.reshape(-1).astype(np.int64)
    return PreparedProducts(
        frame=frame,
        n=frame.height,
        product_id=_int(frame, "product_id", 0),
        version_id=_int(frame, "version_id", 0),
        amount_min=amount_min,
        amount_max=amount_max,
        amount_bands=band_limits(amount_min, amount_max),
        need_scaled=10000 * amount_min,
        term_min=term_min,
        term_max=term_max,
        term_bands=band_limits(term_min, term_max),
        rate_short=rate_short,
        rate_long=rate_long,
        cost_short=cost_points(rate_short),
        cost_long=cost_points(rate_long),
        min_age=_int(frame, "min_age", 0),
        requires_whitelist=_bool(frame, "requires_whitelist"),
        excludes_dishonest=_bool(frame, "excludes_dishonest"),
        max_penalties=_int(frame, "max_penalties", np.iinfo(np.int32).max, np.int32),
        accepts=accepts,
        min_years=min_years,
        combo_years=combo_years,
        combo_caps=combo_caps,
        combo_index=combo_index,
        rates=rates,
        region_vocab=region_vocab,
        region_allowed=region_allowed,
        industry_vocab=industry_vocab,
        industry_allowed=industry_allowed,
        size_vocab=size_vocab,
        size_allowed=size_allowed,
    )


@dataclass
class PreparedDemands:
    frame: pl.DataFrame | None  # None when prepared from rows
    n: int
    demand_id: np.ndarray[Any, Any]
    amount: np.ndarray[Any, Any]
    amount_scaled: np.ndarray[Any, Any]  # 10000 × amount
    term: np.ndarray[Any, Any]
    short: np.ndarray[Any, Any]  # term ≤ 60 months: priced on the 1-year LPR
    age_years: np.ndarray[Any, Any]  # whole years, −1 unknown
    whitelisted: np.ndarray[Any, Any]
    dishonest: np.ndarray[Any, Any]
    penalties: np.ndarray[Any, Any]
    base_approval: np.ndarray[Any, Any]  # the approval points that depend on the enterprise only
    offered: dict[str, np.ndarray[Any, Any]]
    life_years: dict[str, np.ndarray[Any, Any]]  # whole years of the longest-lived right, −1 when none known
    unvalued_years: dict[str, np.ndarray[Any, Any]]
    value_ge: dict[str, np.ndarray[Any, Any]]  # (n, YEARS)
    region_keys: list[list[str]]
    industry: list[str | None]
    size: list[str | None]


def demand_rows(demands: PreparedDemands, start: int, stop: int) -> PreparedDemands:
    """Rows start…stop of prepared demands (NumPy views, no copy)."""
    cut = slice(start, stop)

    def per_kind(arrays: dict[str, np.ndarray[Any, Any]]) -> dict[str, np.ndarray[Any, Any]]:
        return {k: v[cut] for k, v in arrays.items()}

    part = None if demands.frame is None else demands.frame.slice(start, max(0, stop - start))
    return PreparedDemands(
        frame=part,
        n=len(demands.demand_id[cut]),
        demand_id=demands.demand_id[cut],
        amount=demands.amount[cut],
        amount_scaled=demands.amount_scaled[cut],
        term=demands.term[cut],
        short=demands.short[cut],
        age_years=demands.age_years[cut],
        whitelisted=demands.whitelisted[cut],
        dishonest=demands.dishonest[cut],
        penalties=demands.penalties[cut],
        base_approval=demands.base_approval[cut],
        offered=per_kind(demands.offered),
        life_years=per_kind(demands.life_years),
        unvalued_years=per_kind(demands.unvalued_years),
        value_ge=per_kind(demands.value_ge),
        region_keys=demands.region_keys[cut],
        industry=demands.industry[cut],
        size=demands.size[cut],
    )


def blocks(demands: PreparedDemands, size: int = BLOCK) -> Iterator[PreparedDemands]:
    """Prepared demands in blocks of `size` rows: a block's matrices (size × products) stay in the CPU cache."""
    for start in range(0, demands.n, size):
        yield demand_rows(demands, start, min(demands.n, start + size))


def base_approval_points(whitelisted: bool, grade: str | None, high_tech: bool, specialised: bool, pen: int) -> int:
    points = APPROVAL_BASE + (150 if whitelisted else 0)
    points += GRADE_POINTS.get(grade, NO_GRADE_POINTS) if grade else NO_GRADE_POINTS
    points += (50 if high_tech else 0) + (50 if specialised else 0) - min(150, 50 * max(0, pen))
    return points


DEMAND_DEFAULTS: dict[str, Any] = {
    "demand_id": 0,
    "amount": 0,
    "term": 0,
    "age_days": -1,
    "whitelisted": False,
    "dishonest": False,
    "penalties_3y": 0,
    "high_tech": False,
    "specialised": False,
    **{f"count_{k}": 0 for k in KINDS},
    **{f"max_days_{k}": -1 for k in KINDS},
    **{f"unvalued_max_days_{k}": -1 for k in KINDS},
}


def _columns_from_frame(frame: pl.DataFrame) -> dict[str, Any]:
    zeros = pl.lit([0] * YEARS, dtype=pl.List(pl.Int64))
    try:
        filled = frame.select(
            *[pl.col(c).fill_null(v) for c, v in DEMAND_DEFAULTS.items()],
            pl.col("grade")
            .replace_strict(GRADE_POINTS, default=NO_GRADE_POINTS, return_dtype=pl.Int64)
            .fill_null(NO_GRADE_POINTS)
            .alias("_grade_points"),
            *[pl.col(f"value_ge_{k}").fill_null(zeros).list.to_array(YEARS) for k in KINDS],
        )
    except pl.exceptions.ComputeError as exc:
        raise ValueError(f"value_ge_*: every row needs {YEARS} cumulative values") from exc
    columns: dict[str, Any] = {name: filled.get_column(name).to_numpy() for name in DEMAND_DEFAULTS}
    columns["_grade_points"] = filled.get_column("_grade_points").to_numpy()
    for k in KINDS:
        name = f"value_ge_{k}"
        columns[name] = (
            np.ascontiguousarray(filled.get_column(name).to_numpy())
            if frame.height
            else np.zeros((0, YEARS), dtype=np.int64)
        )
    for name in ("region_code", "industry_section", "size_class"):
        columns[name] = frame.get_column(name).to_list()
    return columns


def _columns_from_rows(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    missing = [c for c in DEMAND_SCHEMA if rows and c not in rows[0]]
    if missing:
        raise ValueError(f"rows lack columns: {', '.join(missing)}")
    n = len(rows)
    columns: dict[str, Any] = {}
    for name, default in DEMAND_DEFAULTS.items():
        values = (default if r[name] is None else r[name] for r in rows)
        columns[name] = np.fromiter(values, dtype=bool if isinstance(default, bool) else np.int64, count=n)
    columns["_grade_points"] = np.fromiter(
        (GRADE_POINTS.get(r["grade"], NO_GRADE_POINTS) if r["grade"] else NO_GRADE_POINTS for r in rows),
        dtype=np.int64,
        count=n,
    )
    zeros = [0] * YEARS
    for k in KINDS:
        lists = [zeros if r[f"value_ge_{k}"] is None else list(r[f"value_ge_{k}"]) for r in rows]
        if any(len(v) != YEARS for v in lists):
            raise ValueError(f"value_ge_*: every row needs {YEARS} cumulative values")
        columns[f"value_ge_{k}"] = np.array(lists, dtype=np.int64).reshape(n, YEARS)
    for name in ("region_code", "industry_section", "size_class"):
        columns[name] = [r[name] for r in rows]
    return columns


def prepare_demands(demands: pl.DataFrame | Sequence[Mapping[str, Any]]) -> PreparedDemands:
    """Demands (a `DEMAND_SCHEMA` frame, or rows as dicts — the cheaper way for a handful) as NumPy arrays."""
    if isinstance(demands, pl.DataFrame):
        frame: pl.DataFrame | None = conform(demands, DEMAND_SCHEMA)
        assert frame is not None
        columns = _columns_from_frame(frame)
    else:
        frame = None
        columns = _columns_from_rows(demands)

    def col(name: str, dtype: Any = np.int64) -> np.ndarray[Any, Any]:
        return np.asarray(columns[name]).astype(dtype, copy=False)

    penalties = col("penalties_3y", np.int32)
    whitelisted = col("whitelisted", bool)
    base = (
        APPROVAL_BASE
        + np.where(whitelisted, 150, 0)
        + col("_grade_points")
        + np.where(col("high_tech", bool), 50, 0)
        + np.where(col("specialised", bool), 50, 0)
        - np.minimum(150, 50 * np.maximum(0, penalties))
    )
    amount = col("amount")
    term = col("term", np.int32)
    age = col("age_days")
    return PreparedDemands(
        frame=frame,
        n=len(amount),
        demand_id=col("demand_id"),
        amount=amount,
        amount_scaled=10000 * amount,
        term=term,
        short=term <= LPR_1Y_MAX_TERM,
        age_years=np.where(age >= 0, (4 * age) // 1461, -1),
        whitelisted=whitelisted,
        dishonest=col("dishonest", bool),
        penalties=penalties,
        base_approval=base.astype(np.int32),
        offered={k: col(f"count_{k}") > 0 for k in KINDS},
        life_years={k: whole_years(col(f"max_days_{k}")) for k in KINDS},
        unvalued_years={k: whole_years(col(f"unvalued_max_days_{k}")) for k in KINDS},
        value_ge={k: col(f"value_ge_{k}") for k in KINDS},
        region_keys=[list((region_keys(c) + ("", "", ""))[:3]) for c in columns["region_code"]],
        industry=columns["industry_section"],
        size=columns["size_class"],
    )


def _positions(values: Iterable[str | None], vocab: dict[str, int]) -> np.ndarray[Any, Any]:
    missing = len(vocab)
    return np.fromiter((vocab.get(v, missing) if v else missing for v in values), dtype=np.int64)


# --------------------------------------------------------------------------------------------------------- evaluate


@dataclass
class Evaluation:
    """One chunk of demands × all products: matrices of shape (n_demands, n_products)."""

    demands: PreparedDemands
    products: PreparedProducts
    ok: dict[str, np.ndarray[Any, Any]]
    eligible: np.ndarray[Any, Any]
    failures: np.ndarray[Any, Any]  # int8
    capacity_scaled: np.ndarray[Any, Any]  # 10000 × capacity, before flooring
    capacity_unknown: np.ndarray[Any, Any]
    approval: np.ndarray[Any, Any]
    fit: np.ndarray[Any, Any]
    cost: np.ndarray[Any, Any]
    score: np.ndarray[Any, Any]  # int32, hundredths
    rank: np.ndarray[Any, Any] | None = None  # 0 for ineligible pairs
    order: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None = None  # eligible (rows, cols) in rank order

    def rate(self, rows: np.ndarray[Any, Any], cols: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """The annual rate (bp, UNKNOWN_RATE when unknown) of the pairs at (rows, cols)."""
        p = self.products
        return np.where(self.demands.short[rows], p.rate_short[cols], p.rate_long[cols])


FIT_BANDS = np.array([0, 400, 600, 800, 1000], dtype=np.int32)
FIT_TABLE = ((FIT_BANDS[:, None] + FIT_BANDS[None, :]) >> 1).reshape(-1).astype(np.int16)  # [amount band × 5 + term]
COVERAGE_POINTS = np.array([0, 20, 80, 150], dtype=np.int16)


def band_limits(low: np.ndarray[Any, Any], high: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], ...]:
    """Per product: min + max and the distance limits of the fit bands, w, ⌊3w/4⌋, ⌊w/2⌋, ⌊w/4⌋ (for integers,
    4d ≤ 3w ⇔ d ≤ ⌊3w/4⌋, and so on)."""
    width = high - low
    return low + high, width, (3 * width) // 4, width // 2, width // 4


def _band(value: np.ndarray[Any, Any], limits: tuple[np.ndarray[Any, Any], ...]) -> np.ndarray[Any, Any]:
    """The fit band 0–4 of each pair (0 outside the range, 4 in its middle half), as int8."""
    mid2, *edges = limits
    distance = np.abs(2 * value[:, None] - mid2[None, :])
    band = (distance <= edges[0][None, :]).view(np.int8)
    for edge in edges[1:]:
        band = band + (distance <= edge[None, :]).view(np.int8)
    return band


def evaluate(demands: PreparedDemands, products: PreparedProducts) -> Evaluation:
    """Every rule, the capacity and the score of each demand × product pair of one chunk (products carry the rates)."""
    d, p = demands, products
    shape = (d.n, p.n)
    ok: dict[str, np.ndarray[Any, Any]] = {}

    kind_ok = np.zeros(shape, dtype=bool)
    life_ok = np.zeros(shape, dtype=bool)
    capacity = np.zeros(shape, dtype=np.int64)
    unvalued_ok = np.zeros(shape, dtype=bool)
    for k in KINDS:
        accepts = p.accepts[k]
        if not accepts.any():
            continue
        values = d.value_ge[k]
        if values.any():
            factors = values[:, p.combo_years[k]] * p.combo_caps[k][None, :]  # (n_demands, distinct combos)
            capacity += factors[:, p.combo_index[k]]
        offered = d.offered[k]
        if not offered.any():
            continue
        usable = offered[:, None] & accepts[None, :]
        need = p.min_years[k][None, :]
        kind_ok |= usable
        life_ok |= usable & (d.life_years[k][:, None] >= need)
        unvalued_ok |= usable & (d.unvalued_years[k][:, None] >= need)
    ok[RULE_KIND] = kind_ok
    ok[RULE_LIFE] = life_ok | ~kind_ok  # judged only when a right of an accepted kind is offered
    amount = d.amount[:, None]
    ok[RULE_AMOUNT] = (amount >= p.amount_min[None, :]) & (amount <= p.amount_max[None, :])
    enough = capacity >= p.need_scaled[None, :]
    capacity_unknown = ~enough & unvalued_ok
    # Capacity is judged only once a right of an accepted kind has enough life (else that rule already fails).
    ok[RULE_CAPACITY] = enough | capacity_unknown | ~life_ok
    term = d.term[:, None]
    ok[RULE_TERM] = (term >= p.term_min[None, :]) & (term <= p.term_max[None, :])
    region = np.zeros(shape, dtype=bool)
    for level in range(3):
        region |= p.region_allowed[_positions([keys[level] for keys in d.region_keys], p.region_vocab)]
    ok[RULE_REGION] = region
    ok[RULE_INDUSTRY] = p.industry_allowed[_positions(d.industry, p.industry_vocab)]
    ok[RULE_SIZE] = p.size_allowed[_positions(d.size, p.size_vocab)]
    ok[RULE_AGE] = (p.min_age == 0)[None, :] | (d.age_years[:, None] >= p.min_age[None, :])
    ok[RULE_WHITELIST] = ~p.requires_whitelist[None, :] | d.whitelisted[:, None]
    ok[RULE_DISHONEST] = ~p.excludes_dishonest[None, :] | ~d.dishonest[:, None]
    ok[RULE_PENALTIES] = d.penalties[:, None] <= p.max_penalties[None, :]

    failures = np.zeros(shape, dtype=np.int8)
    for rule in HARD_RULES:
        failures += ~ok[rule]
    eligible = failures == 0

    # Score
    cost = np.where(d.short[:, None], p.cost_short[None, :], p.cost_long[None, :])
    scaled = d.amount_scaled[:, None]
    # coverage: capacity ≥ amount 150, ≥ half of it 80, any 20 (the conditions nest, so their count is the level)
    covered = (capacity >= scaled).view(np.int8) + (2 * capacity >= scaled).view(np.int8)
    covered += (capacity > 0).view(np.int8)
    approval = np.clip(d.base_approval[:, None] + COVERAGE_POINTS[covered], APPROVAL_MIN, APPROVAL_MAX)
    fit = FIT_TABLE[_band(d.amount, p.amount_bands) * np.int8(5) + _band(d.term, p.term_bands)]
    # ⌊(50a + 25f + 25c + 5) / 10⌋ = ⌊(10a + 5f + 5c + 1) / 2⌋
    score = (10 * approval + 5 * fit.astype(np.int32) + 5 * cost.astype(np.int32) + 1) >> 1
    return Evaluation(
        demands=d,
        products=p,
        ok=ok,
        eligible=eligible,
        failures=failures,
        capacity_scaled=capacity,
        capacity_unknown=capacity_unknown,
        approval=approval,
        fit=fit,
        cost=cost,
        score=score,
    )


def _pair_keys(e: Evaluation, rows: np.ndarray[Any, Any], cols: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Distinct int64 keys ordering pairs within a demand: score descending, rate ascending (unknown last), product
    position (products are sorted by id). Bits: 10000 − score 45–58, rate 24–44, position 0–23."""
    rate = np.clip(e.rate(rows, cols), 0, UNKNOWN_RATE).astype(np.int64)
    return ((10000 - e.score[rows, cols]).astype(np.int64) << 45) | (rate << 24) | cols.astype(np.int64)


def rank(evaluation: Evaluation) -> np.ndarray[Any, Any]:
    """Rank 1…n among each demand's eligible pairs (0 for the ineligible ones); sets `evaluation.rank` and
    `evaluation.order`. Only the eligible pairs are sorted."""
    e = evaluation
    rows, cols = np.nonzero(e.eligible)
    order = np.lexsort((_pair_keys(e, rows, cols), rows))
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(e.demands.n))
    ranks = np.zeros(e.eligible.shape, dtype=np.int32)
    ranks[rows, cols] = np.arange(len(rows)) - starts[rows] + 1
    e.rank, e.order = ranks, (rows, cols)
    return ranks


def top_k(evaluation: Evaluation, k: int) -> np.ndarray[Any, Any]:
    """The product positions of each demand's best k eligible products, best first; −1 pads a demand with fewer
    (shape n_demands × min(k, n_products))."""
    e = evaluation
    if e.order is None:
        rank(e)
    assert e.order is not None and e.rank is not None
    width = min(k, e.products.n)
    out = np.full((e.demands.n, width), -1, dtype=np.int64)
    rows, cols = e.order
    positions = e.rank[rows, cols] - 1
    keep = positions < width
    out[rows[keep], positions[keep]] = cols[keep]
    return out


def _smallest(key: np.ndarray[Any, Any], k: int) -> np.ndarray[Any, Any]:
    """Positions of the k smallest (distinct) keys of each row, smallest first."""
    n = key.shape[1]
    k = min(k, n)
    if k == 0:
        return np.zeros((key.shape[0], 0), dtype=np.int64)
    part = np.argpartition(key, k - 1, axis=1)[:, :k] if k < n else np.argsort(key, axis=1)
    order = np.argsort(np.take_along_axis(key, part, axis=1), axis=1)
    return np.take_along_axis(part, order, axis=1)


# ---------------------------------------------------------------------------------------------------- pair frames


def select_pairs(
    evaluation: Evaluation,
    *,
    near_misses: int | None = NEAR_MISSES,
    extra: Iterable[tuple[int, int]] = (),
) -> pl.DataFrame:
    """The pairs to store (`PAIR_SCHEMA`): every eligible pair and, per demand, the `near_misses` ineligible pairs
    nearest to eligibility (fewest failed hard rules, then highest score, then product id) — or every pair when
    `near_misses` is None — plus the `extra` (demand id, product id) pairs (e.g. those a bank has answered)."""
    e = evaluation
    if e.rank is None:
        rank(e)
    assert e.rank is not None
    if near_misses is None:
        keep = np.ones(e.eligible.shape, dtype=bool)
    else:
        keep = e.eligible.copy()
        if near_misses > 0 and e.products.n:
            position = np.arange(e.products.n, dtype=np.int64)[None, :]
            miss_key = np.where(
                e.eligible,
                np.iinfo(np.int64).max,
                (e.failures.astype(np.int64) << 45) | ((10000 - e.score).astype(np.int64) << 24) | position,
            )
            part = _smallest(miss_key, near_misses)
            rows = np.arange(e.demands.n)[:, None]
            chosen = np.zeros_like(keep)
            chosen[rows, part] = True
            keep |= chosen & ~e.eligible
        d_pos = {int(v): i for i, v in enumerate(e.demands.demand_id)}
        p_pos = {int(v): i for i, v in enumerate(e.products.product_id)}
        for demand_id, product_id in extra:
            if demand_id in d_pos and product_id in p_pos:
                keep[d_pos[demand_id], p_pos[product_id]] = True
    di, pi = np.nonzero(keep)
    rate = e.rate(di, pi).astype(np.int64)
    ranks = e.rank[di, pi].astype(np.int64)
    columns: dict[str, Any] = {
        "demand_id": e.demands.demand_id[di],
        "product_id": e.products.product_id[pi],
        "version_id": e.products.version_id[pi],
        "eligible": e.eligible[di, pi],
        "failures": e.failures[di, pi].astype(np.int64),
        "score_centi": e.score[di, pi].astype(np.int64),
        "approval_milli": e.approval[di, pi].astype(np.int64),
        "fit_milli": e.fit[di, pi].astype(np.int64),
        "cost_milli": e.cost[di, pi].astype(np.int64),
        "capacity": e.capacity_scaled[di, pi] // 10000,
        "capacity_unknown": e.capacity_unknown[di, pi],
        "rate_bp": np.ma.masked_array(rate, mask=rate == UNKNOWN_RATE),
        "rank": np.ma.masked_array(ranks, mask=ranks == 0),
    }
    columns.update({f"ok_{rule}": e.ok[rule][di, pi] for rule in HARD_RULES})
    return pl.DataFrame([pl.Series(name, columns[name], dtype=dtype) for name, dtype in PAIR_SCHEMA.items()])


def chunks(demands: pl.DataFrame, size: int = CHUNK) -> Iterator[pl.DataFrame]:
    for start in range(0, demands.height, size):
        yield demands.slice(start, size)


def match(
    demands: pl.DataFrame,
    products: pl.DataFrame | PreparedProducts,
    rates: Rates,
    *,
    near_misses: int | None = NEAR_MISSES,
    chunk: int = CHUNK,
) -> pl.DataFrame:
    """All demands against all products, chunk by chunk: the pairs to store (`select_pairs`). Prepared products
    carry their own rates (`rates` is then ignored)."""
    prepared = products if isinstance(products, PreparedProducts) else prepare_products(products, rates)
    parts = [
        select_pairs(evaluate(block, prepared), near_misses=near_misses)
        for part in chunks(demands, chunk)
        for block in blocks(prepare_demands(part), min(BLOCK, chunk))
    ]
    return pl.concat(parts) if parts else pl.DataFrame(schema=PAIR_SCHEMA)


# ---------------------------------------------------------------------------------------------------------- reasons


def _money_params(fen: int | None) -> int | None:
    return None if fen is None else int(fen)


def pair_reasons(demand: dict[str, Any], product: dict[str, Any], pair: dict[str, Any]) -> list[dict[str, Any]]:
    """The reasons of one stored pair, both ways: an item per hard rule the product sets (passed or not) and the
    soft notes. Items are {"code", "passed", "params"} (plus "soft": True for notes that never fail a pair).

    `demand` and `product` are rows of `DEMAND_SCHEMA` / `PRODUCT_SCHEMA` (dicts), `pair` a row of `PAIR_SCHEMA`."""
    items: list[dict[str, Any]] = []

    def add(code: str, passed: bool, soft: bool = False, **params: Any) -> None:
        item: dict[str, Any] = {"code": code, "passed": bool(passed), "params": params}
        if soft:
            item["soft"] = True
        items.append(item)

    accepted = [k for k in KINDS if product.get(f"accepts_{k}")]
    offered = [k for k in KINDS if (demand.get(f"count_{k}") or 0) > 0]
    usable = [k for k in accepted if k in offered]
    add(RULE_KIND, pair[f"ok_{RULE_KIND}"], accepted=accepted, offered=offered)
    if usable:  # remaining life is judged only when a right of an accepted kind is offered
        # The kind closest to the product's requirement: the best (have − need) among the usable kinds.
        def margin(k: str) -> int:
            days = demand.get(f"max_days_{k}")
            need = min(max(int(product.get(f"min_years_{k}") or 0), 0), MAX_YEARS)
            return -(1 << 40) if days is None else 4 * days - 1461 * need

        best = max(usable, key=lambda k: (margin(k), -KINDS.index(k)))
        add(
            RULE_LIFE,
            pair[f"ok_{RULE_LIFE}"],
            kind=best,
            have=remaining_years_floor1(demand.get(f"max_days_{best}")),
            need=min(max(int(product.get(f"min_years_{best}") or 0), 0), MAX_YEARS),
        )
    add(
        RULE_AMOUNT,
        pair[f"ok_{RULE_AMOUNT}"],
        amount=_money_params(demand["amount"]),
        min=_money_params(product["amount_min"]),
        max=_money_params(product["amount_max"]),
    )
    if not usable or not pair[f"ok_{RULE_LIFE}"]:  # capacity is judged once a right qualifies
        pass
    elif pair["capacity_unknown"]:
        add(SOFT_VALUATION, False, soft=True, capacity=_money_params(pair["capacity"]), need=product["amount_min"])
    else:
        add(
            RULE_CAPACITY,
            pair[f"ok_{RULE_CAPACITY}"],
            capacity=_money_params(pair["capacity"]),
            need=_money_params(product["amount_min"]),
        )
        if pair[f"ok_{RULE_CAPACITY}"]:
            add(
                SOFT_COVERAGE,
                pair["capacity"] >= demand["amount"],
                soft=True,
                capacity=_money_params(pair["capacity"]),
                amount=_money_params(demand["amount"]),
            )
    add(
        RULE_TERM,
        pair[f"ok_{RULE_TERM}"],
        term=demand["term"],
        min=product["term_min"],
        max=product["term_max"],
    )
    if product.get("region_codes"):
        add(
            RULE_REGION,
            pair[f"ok_{RULE_REGION}"],
            region=demand.get("region_code") or "",
            allowed=list(product["region_codes"]),
        )
    if product.get("industry_sections"):
        add(
            RULE_INDUSTRY,
            pair[f"ok_{RULE_INDUSTRY}"],
            section=demand.get("industry_section") or "",
            allowed=list(product["industry_sections"]),
        )
    if product.get("size_classes"):
        add(
            RULE_SIZE,
            pair[f"ok_{RULE_SIZE}"],
            size=demand.get("size_class") or "",
            allowed=list(product["size_classes"]),
        )
    if (product.get("min_age") or 0) > 0:
        age = demand.get("age_days")
        add(RULE_AGE, pair[f"ok_{RULE_AGE}"], have=remaining_years_floor1(age), need=int(product["min_age"]))
    if product.get("requires_whitelist"):
        add(RULE_WHITELIST, pair[f"ok_{RULE_WHITELIST}"])
    if product.get("excludes_dishonest"):
        add(RULE_DISHONEST, pair[f"ok_{RULE_DISHONEST}"])
    if product.get("max_penalties") is not None:
        add(
            RULE_PENALTIES,
            pair[f"ok_{RULE_PENALTIES}"],
            have=int(demand.get("penalties_3y") or 0),
            max=int(product["max_penalties"]),
        )
    if product.get("requires_guarantee"):
        add(SOFT_GUARANTEE, False, soft=True)
    if product.get("requires_insurance"):
        add(SOFT_INSURANCE, False, soft=True)
    add(SOFT_APPROVAL, True, soft=True, milli=int(pair["approval_milli"]))
    add(SOFT_RATE, True, soft=True, rate_bp=None if pair["rate_bp"] is None else int(pair["rate_bp"]))
    return items
