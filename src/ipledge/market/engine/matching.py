"""The matching engine (产品匹配): every financing demand against every live product — hard eligibility rules first,
then a 0–100 score and a rank per demand. Pure computation, no Django: Polars frames in, Polars frames out.

Inputs
------
`PRODUCT_SCHEMA`: one row per live product version. Amounts in integer fen, terms in months, rates in basis points
(`spread_bp` over LPR, or `fixed_bp` = the fixed annual rate × 100), and per collateral kind k (`KINDS`, the
`CollateralKind` values) `accepts_k`, `min_years_k` (minimum whole years of remaining life, 0–30) and `cap_bp_k`
(pledge-rate cap in basis points: 0.25 → 2500). Empty `region_codes` / `industry_sections` / `size_classes` mean
"no restriction"; `max_penalties` null means no cap.

`DEMAND_SCHEMA`: one row per demand with the enterprise's features and, per kind k, the offered rights: `count_k`
(valid offered rights of kind k), `max_days_k` (the longest remaining life in days, null when no term end is known),
`unvalued_max_days_k` (the same over the rights without a valid valuation) and `value_ge_k`, 31 cumulative values in
fen: the total valuation of the offered rights of kind k with at least y whole years left, y = 0…30. Days, not
fractional years, so that every comparison is exact: a right has at least y whole years left when
4 × days ≥ 1461 × y (a year is 365.25 days). Ages are in days too (`age_days`).

The collateral capacity of a pair (质押物可支持额度) is Σ_k accepts_k × ⌊value_ge_k[min_years_k] × cap_bp_k / 10000⌋:
what the valued rights the product would take can support at its pledge-rate caps.

Hard rules (each a boolean matrix; a pair is eligible when all pass)
-------------------------------------------------------------------
`RULE_KIND` an offered right of an accepted kind; `RULE_LIFE` one of them with enough remaining life
(4 × days ≥ 1461 × min_years); `RULE_AMOUNT` amount within [min, max]; `RULE_CAPACITY` capacity ≥ the product's
minimum amount — judged only when `RULE_LIFE` passes, and failing only when no unvalued right the product would take
could make up for it (then the capacity is unknown: not a failure, a soft reason suggesting a valuation); `RULE_TERM`; `RULE_REGION` (the demand's region
code starts with one of the product's region prefixes: "110000" → "11", "320100" → "3201", else the whole code);
`RULE_INDUSTRY`; `RULE_SIZE`; `RULE_AGE` (unknown founding date fails a minimum age); `RULE_WHITELIST`;
`RULE_DISHONEST` (an active 失信被执行人 or 严重违法失信 record); `RULE_PENALTIES` (administrative penalties of the
last three years ≤ the cap).

Score (an estimate, not a trained model), all integer arithmetic so that the engine and the row-by-row reference
agree exactly
-----------------------------------------------------------------------------------------------------------------
- expected approval, in thousandths, clipped to [20, 980]: 350 + 150 if whitelisted + valuation grade (AAA/AA 150,
  A 120, BBB 80, BB 40, B 0, CCC/CC/C −100, none −50) + collateral coverage (capacity ≥ amount 150, ≥ half the
  amount 80, any 20) + 50 高新技术 + 50 专精特新 − 50 per recent penalty (at most −150);
- fit, in thousandths: the mean of the amount part and the term part, each 1000 − 600 × (distance of the request
  from the middle of the product's range ÷ half the range), floored, clipped to [0, 1000] (1000 when the range is
  one point): a product built around the request ranks above one it barely reaches;
- cost, in thousandths: the annual rate r in basis points (LPR 1-year for terms ≤ 60 months, else 5-year, plus the
  spread; or the fixed rate) mapped linearly from 2 % (1000) to 8 % (0): ⌊(800 − r) × 1000 / 600⌋ clipped; 500 when
  the LPR is unknown;
- score in hundredths = ⌊(50 × approval + 25 × fit + 25 × cost + 5) / 10⌋, i.e. 50 % approval, 25 % fit, 25 % cost
  on a 0–100 scale.
Rank 1…n per demand among eligible pairs: score descending, then annual rate ascending (unknown last), then product
id ascending.

How it is computed
------------------
Polars prepares the per-row columns; the demand × product pairs are NumPy matrices (n_demands × n_products, views of
the prepared columns broadcast against each other), because a Polars cross join would copy every demand's 7 × 31
cumulative values into each of its pairs. Set rules are one gather each: an "allowed" table (vocabulary × products)
indexed by the demand's vocabulary position. `evaluate` handles one chunk; callers chunk the demands (`CHUNK`) to
bound memory.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

KINDS: tuple[str, ...] = ("invention", "utility_model", "design", "trademark", "software", "work", "ic_layout")
MAX_YEARS = 30
YEARS = MAX_YEARS + 1
CHUNK = 2000
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


def years_ok(days: int | None, years: int) -> bool:
    return days is not None and 4 * days >= 1461 * years


def empty_products() -> pl.DataFrame:
    return pl.DataFrame(schema=PRODUCT_SCHEMA)


def empty_demands() -> pl.DataFrame:
    return pl.DataFrame(schema=DEMAND_SCHEMA)


def conform(frame: pl.DataFrame, schema: dict[str, Any]) -> pl.DataFrame:
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns: {', '.join(missing)}")
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])


# ------------------------------------------------------------------------------------------------- prepared arrays


def _bool(frame: pl.DataFrame, name: str, default: bool = False) -> np.ndarray[Any, Any]:
    return frame.get_column(name).fill_null(default).to_numpy().astype(bool)


def _int(frame: pl.DataFrame, name: str, default: int) -> np.ndarray[Any, Any]:
    return frame.get_column(name).fill_null(default).to_numpy().astype(np.int64)


@dataclass
class PreparedProducts:
    """The product columns as NumPy arrays (one entry per product, in the frame's order), built once per run."""

    frame: pl.DataFrame
    n: int
    product_id: np.ndarray[Any, Any]
    version_id: np.ndarray[Any, Any]
    amount_min: np.ndarray[Any, Any]
    amount_max: np.ndarray[Any, Any]
    term_min: np.ndarray[Any, Any]
    term_max: np.ndarray[Any, Any]
    fixed: np.ndarray[Any, Any]
    fixed_bp: np.ndarray[Any, Any]
    spread_bp: np.ndarray[Any, Any]
    min_age: np.ndarray[Any, Any]
    requires_whitelist: np.ndarray[Any, Any]
    excludes_dishonest: np.ndarray[Any, Any]
    max_penalties: np.ndarray[Any, Any]
    accepts: dict[str, np.ndarray[Any, Any]]
    min_years: dict[str, np.ndarray[Any, Any]]
    cap_bp: dict[str, np.ndarray[Any, Any]]
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


def prepare_products(products: pl.DataFrame) -> PreparedProducts:
    """Products conformed to `PRODUCT_SCHEMA` and sorted by product id (the rank's last tie-break)."""
    frame = conform(products, PRODUCT_SCHEMA).sort("product_id")
    region_vocab, region_allowed = _allowed_table(frame.get_column("region_codes").to_list(), region_prefix)
    industry_vocab, industry_allowed = _allowed_table(frame.get_column("industry_sections").to_list())
    size_vocab, size_allowed = _allowed_table(frame.get_column("size_classes").to_list())
    return PreparedProducts(
        frame=frame,
        n=frame.height,
        product_id=_int(frame, "product_id", 0),
        version_id=_int(frame, "version_id", 0),
        amount_min=_int(frame, "amount_min", 0),
        amount_max=_int(frame, "amount_max", 0),
        term_min=_int(frame, "term_min", 0),
        term_max=_int(frame, "term_max", 0),
        fixed=(frame.get_column("rate_kind") == "fixed").fill_null(False).to_numpy().astype(bool),
        fixed_bp=_int(frame, "fixed_bp", 0),
        spread_bp=_int(frame, "spread_bp", 0),
        min_age=_int(frame, "min_age", 0),
        requires_whitelist=_bool(frame, "requires_whitelist"),
        excludes_dishonest=_bool(frame, "excludes_dishonest"),
        max_penalties=_int(frame, "max_penalties", np.iinfo(np.int64).max),
        accepts={k: _bool(frame, f"accepts_{k}") for k in KINDS},
        min_years={k: np.clip(_int(frame, f"min_years_{k}", 0), 0, MAX_YEARS) for k in KINDS},
        cap_bp={k: _int(frame, f"cap_bp_{k}", 0) for k in KINDS},
        region_vocab=region_vocab,
        region_allowed=region_allowed,
        industry_vocab=industry_vocab,
        industry_allowed=industry_allowed,
        size_vocab=size_vocab,
        size_allowed=size_allowed,
    )


@dataclass
class PreparedDemands:
    frame: pl.DataFrame
    n: int
    demand_id: np.ndarray[Any, Any]
    amount: np.ndarray[Any, Any]
    term: np.ndarray[Any, Any]
    age_days: np.ndarray[Any, Any]  # -1 when unknown
    whitelisted: np.ndarray[Any, Any]
    dishonest: np.ndarray[Any, Any]
    penalties: np.ndarray[Any, Any]
    base_approval: np.ndarray[Any, Any]  # the approval points that depend on the enterprise only
    count: dict[str, np.ndarray[Any, Any]]
    max_days: dict[str, np.ndarray[Any, Any]]  # -1 when none
    unvalued_max_days: dict[str, np.ndarray[Any, Any]]
    value_ge: dict[str, np.ndarray[Any, Any]]  # (n, YEARS)


def _value_matrix(frame: pl.DataFrame, name: str) -> np.ndarray[Any, Any]:
    column = frame.get_column(name)
    if frame.height == 0:
        return np.zeros((0, YEARS), dtype=np.int64)
    filled = column.fill_null(pl.lit([0] * YEARS, dtype=pl.List(pl.Int64)))
    lengths = filled.list.len()
    if (lengths != YEARS).any():
        raise ValueError(f"{name}: every row needs {YEARS} cumulative values")
    return np.ascontiguousarray(filled.list.to_array(YEARS).to_numpy()).astype(np.int64)


def base_approval_points(whitelisted: bool, grade: str | None, high_tech: bool, specialised: bool, pen: int) -> int:
    points = APPROVAL_BASE + (150 if whitelisted else 0)
    points += GRADE_POINTS.get(grade, NO_GRADE_POINTS) if grade else NO_GRADE_POINTS
    points += (50 if high_tech else 0) + (50 if specialised else 0) - min(150, 50 * max(0, pen))
    return points


def prepare_demands(demands: pl.DataFrame) -> PreparedDemands:
    frame = conform(demands, DEMAND_SCHEMA)
    grade_points = (
        frame.get_column("grade")
        .replace_strict(GRADE_POINTS, default=NO_GRADE_POINTS, return_dtype=pl.Int64)
        .fill_null(NO_GRADE_POINTS)
        .to_numpy()
        .astype(np.int64)
    )
    penalties = _int(frame, "penalties_3y", 0)
    whitelisted = _bool(frame, "whitelisted")
    base = (
        APPROVAL_BASE
        + np.where(whitelisted, 150, 0)
        + grade_points
        + np.where(_bool(frame, "high_tech"), 50, 0)
        + np.where(_bool(frame, "specialised"), 50, 0)
        - np.minimum(150, 50 * np.maximum(0, penalties))
    )
    return PreparedDemands(
        frame=frame,
        n=frame.height,
        demand_id=_int(frame, "demand_id", 0),
        amount=_int(frame, "amount", 0),
        term=_int(frame, "term", 0),
        age_days=_int(frame, "age_days", -1),
        whitelisted=whitelisted,
        dishonest=_bool(frame, "dishonest"),
        penalties=penalties,
        base_approval=base.astype(np.int64),
        count={k: _int(frame, f"count_{k}", 0) for k in KINDS},
        max_days={k: _int(frame, f"max_days_{k}", -1) for k in KINDS},
        unvalued_max_days={k: _int(frame, f"unvalued_max_days_{k}", -1) for k in KINDS},
        value_ge={k: _value_matrix(frame, f"value_ge_{k}") for k in KINDS},
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
    failures: np.ndarray[Any, Any]
    capacity: np.ndarray[Any, Any]
    capacity_unknown: np.ndarray[Any, Any]
    rate_bp: np.ndarray[Any, Any]  # UNKNOWN_RATE when the LPR is unknown
    approval: np.ndarray[Any, Any]
    fit: np.ndarray[Any, Any]
    cost: np.ndarray[Any, Any]
    score: np.ndarray[Any, Any]
    rank: np.ndarray[Any, Any] | None = None  # 0 for ineligible pairs


def _centrality(value: np.ndarray[Any, Any], low: np.ndarray[Any, Any], high: np.ndarray[Any, Any]) -> Any:
    """1000 − 600 × |2v − (low + high)| / (high − low), floored and clipped to [0, 1000]; 1000 on a one-point range."""
    width = high - low
    distance = np.abs(2 * value[:, None] - (low + high)[None, :])
    part = 1000 - (600 * distance) // np.maximum(width, 1)[None, :]
    part = np.where((width == 0)[None, :], np.where(distance == 0, 1000, 0), part)
    return np.clip(part, 0, 1000)


def evaluate(demands: PreparedDemands, products: PreparedProducts, rates: Rates) -> Evaluation:
    d, p = demands, products
    shape = (d.n, p.n)
    ok: dict[str, np.ndarray[Any, Any]] = {}

    kind_ok = np.zeros(shape, dtype=bool)
    life_ok = np.zeros(shape, dtype=bool)
    capacity = np.zeros(shape, dtype=np.int64)
    unvalued_ok = np.zeros(shape, dtype=bool)
    for k in KINDS:
        accepts = p.accepts[k]
        offered = d.count[k] > 0
        if not accepts.any() or not offered.any():
            continue
        need = 1461 * p.min_years[k]
        kind_ok |= offered[:, None] & accepts[None, :]
        life_k = accepts[None, :] & (4 * d.max_days[k][:, None] >= need[None, :]) & (d.max_days[k] >= 0)[:, None]
        life_ok |= life_k
        unvalued_ok |= (
            accepts[None, :]
            & (4 * d.unvalued_max_days[k][:, None] >= need[None, :])
            & (d.unvalued_max_days[k] >= 0)[:, None]
        )
        values = d.value_ge[k][:, p.min_years[k]]  # (n_demands, n_products)
        capacity += np.where(accepts[None, :], values * p.cap_bp[k][None, :] // 10000, 0)
    ok[RULE_KIND] = kind_ok
    ok[RULE_LIFE] = life_ok
    ok[RULE_AMOUNT] = (d.amount[:, None] >= p.amount_min[None, :]) & (d.amount[:, None] <= p.amount_max[None, :])
    enough = capacity >= p.amount_min[None, :]
    capacity_unknown = ~enough & unvalued_ok
    # Capacity is judged only once a right of an accepted kind has enough life (else that rule already fails).
    ok[RULE_CAPACITY] = enough | capacity_unknown | ~life_ok
    ok[RULE_TERM] = (d.term[:, None] >= p.term_min[None, :]) & (d.term[:, None] <= p.term_max[None, :])

    region = np.zeros(shape, dtype=bool)
    missing = len(p.region_vocab)
    for level in range(3):
        keys = [(region_keys(c) + ("",) * 3)[level] for c in d.frame.get_column("region_code").to_list()]
        region |= p.region_allowed[_positions(keys, p.region_vocab)]
    if d.n and p.n:  # a demand without a region passes only unrestricted products
        region |= p.region_allowed[missing][None, :]
    ok[RULE_REGION] = region
    ok[RULE_INDUSTRY] = p.industry_allowed[
        _positions(d.frame.get_column("industry_section").to_list(), p.industry_vocab)
    ]
    ok[RULE_SIZE] = p.size_allowed[_positions(d.frame.get_column("size_class").to_list(), p.size_vocab)]
    ok[RULE_AGE] = (p.min_age == 0)[None, :] | (
        (d.age_days >= 0)[:, None] & (4 * d.age_days[:, None] >= 1461 * p.min_age[None, :])
    )
    ok[RULE_WHITELIST] = ~p.requires_whitelist[None, :] | d.whitelisted[:, None]
    ok[RULE_DISHONEST] = ~p.excludes_dishonest[None, :] | ~d.dishonest[:, None]
    ok[RULE_PENALTIES] = d.penalties[:, None] <= p.max_penalties[None, :]

    failures = np.zeros(shape, dtype=np.int64)
    for rule in HARD_RULES:
        failures += ~ok[rule]
    eligible = failures == 0

    # Score
    lpr = np.where(d.term <= LPR_1Y_MAX_TERM, rates.lpr_1y_bp or -1, rates.lpr_5y_bp or -1)
    lpr_known = (lpr >= 0)[:, None] | p.fixed[None, :]
    rate = np.where(p.fixed[None, :], p.fixed_bp[None, :], lpr[:, None] + p.spread_bp[None, :])
    rate = np.where(lpr_known, rate, UNKNOWN_RATE)
    cost = np.where(lpr_known, np.clip((RATE_WORST_BP - rate) * 1000 // (RATE_WORST_BP - RATE_BEST_BP), 0, 1000), 500)
    amount = d.amount[:, None]
    coverage = np.where(capacity >= amount, 150, np.where(2 * capacity >= amount, 80, np.where(capacity > 0, 20, 0)))
    approval = np.clip(d.base_approval[:, None] + coverage, APPROVAL_MIN, APPROVAL_MAX)
    fit = (_centrality(d.amount, p.amount_min, p.amount_max) + _centrality(d.term, p.term_min, p.term_max)) // 2
    score = (WEIGHT_APPROVAL * approval + WEIGHT_FIT * fit + WEIGHT_COST * cost + 5) // 10
    return Evaluation(
        demands=d,
        products=p,
        ok=ok,
        eligible=eligible,
        failures=failures,
        capacity=capacity,
        capacity_unknown=capacity_unknown,
        rate_bp=rate,
        approval=approval,
        fit=fit,
        cost=cost,
        score=score,
    )


def rank_key(evaluation: Evaluation) -> np.ndarray[Any, Any]:
    """One distinct int64 per pair ordering a demand's pairs: eligible first, score descending, rate ascending
    (unknown last), then product position (products are sorted by id). Bits: ineligible 59, 10000 − score 45–58,
    rate 24–44, position 0–23."""
    e = evaluation
    position = np.arange(e.products.n, dtype=np.int64)[None, :]
    return (
        ((~e.eligible).astype(np.int64) << 59)
        | ((10000 - e.score).astype(np.int64) << 45)
        | (np.clip(e.rate_bp, 0, UNKNOWN_RATE).astype(np.int64) << 24)
        | position
    )


def rank(evaluation: Evaluation) -> np.ndarray[Any, Any]:
    """Rank 1…n among each demand's eligible pairs (0 for the ineligible ones); sets `evaluation.rank`."""
    e = evaluation
    order = np.argsort(rank_key(e), axis=1)
    ranks = np.empty_like(order)
    rows = np.arange(e.demands.n)[:, None]
    ranks[rows, order] = np.arange(1, e.products.n + 1)[None, :]
    e.rank = np.where(e.eligible, ranks, 0)
    return e.rank


def _smallest(key: np.ndarray[Any, Any], k: int) -> np.ndarray[Any, Any]:
    """Positions of the k smallest (distinct) keys of each row, smallest first."""
    n = key.shape[1]
    k = min(k, n)
    if k == 0:
        return np.zeros((key.shape[0], 0), dtype=np.int64)
    part = np.argpartition(key, k - 1, axis=1)[:, :k] if k < n else np.argsort(key, axis=1)
    order = np.argsort(np.take_along_axis(key, part, axis=1), axis=1)
    return np.take_along_axis(part, order, axis=1)


def top_k(evaluation: Evaluation, k: int) -> np.ndarray[Any, Any]:
    """The product positions of each demand's best k pairs, best first (shape n_demands × min(k, n_products))."""
    return _smallest(rank_key(evaluation), k)


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
            # fewest failed rules, then highest score, then product position (distinct keys)
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
    columns: dict[str, Any] = {
        "demand_id": e.demands.demand_id[di],
        "product_id": e.products.product_id[pi],
        "version_id": e.products.version_id[pi],
        "eligible": e.eligible[di, pi],
        "failures": e.failures[di, pi],
        "score_centi": e.score[di, pi],
        "approval_milli": e.approval[di, pi],
        "fit_milli": e.fit[di, pi],
        "cost_milli": e.cost[di, pi],
        "capacity": e.capacity[di, pi],
        "capacity_unknown": e.capacity_unknown[di, pi],
        "rate_bp": e.rate_bp[di, pi],
        "rank": e.rank[di, pi],
    }
    columns.update({f"ok_{rule}": e.ok[rule][di, pi] for rule in HARD_RULES})
    frame = pl.DataFrame(columns).with_columns(
        pl.when(pl.col("rate_bp") == UNKNOWN_RATE).then(None).otherwise(pl.col("rate_bp")).alias("rate_bp"),
        pl.when(pl.col("rank") == 0).then(None).otherwise(pl.col("rank")).alias("rank"),
    )
    return conform(frame, PAIR_SCHEMA)


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
    """All demands against all products, chunk by chunk: the pairs to store (`select_pairs`)."""
    prepared = products if isinstance(products, PreparedProducts) else prepare_products(products)
    parts = [
        select_pairs(evaluate(prepare_demands(part), prepared, rates), near_misses=near_misses)
        for part in chunks(demands, chunk)
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
    if usable:
        # The kind closest to the product's requirement: the best (have − need) among the usable kinds.
        def margin(k: str) -> int:
            days = demand.get(f"max_days_{k}")
            need = min(max(int(product.get(f"min_years_{k}") or 0), 0), MAX_YEARS)
            return (-(1 << 40) if days is None else 4 * days - 1461 * need) * 1

        best = max(usable, key=lambda k: (margin(k), -KINDS.index(k)))
        days = demand.get(f"max_days_{best}")
        add(
            RULE_LIFE,
            pair[f"ok_{RULE_LIFE}"],
            kind=best,
            have=remaining_years_floor1(days),
            need=min(max(int(product.get(f"min_years_{best}") or 0), 0), MAX_YEARS),
        )
    else:
        add(RULE_LIFE, pair[f"ok_{RULE_LIFE}"], kind=None, have=None, need=None)
    add(
        RULE_AMOUNT,
        pair[f"ok_{RULE_AMOUNT}"],
        amount=_money_params(demand["amount"]),
        min=_money_params(product["amount_min"]),
        max=_money_params(product["amount_max"]),
    )
    if not pair[f"ok_{RULE_LIFE}"]:
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


def annual_rate_bp(product: dict[str, Any], term: int, rates: Rates) -> int | None:
    """The reference annual rate of a product for a term, in basis points (None when the LPR is unknown)."""
    if product.get("rate_kind") == "fixed":
        return int(product.get("fixed_bp") or 0)
    lpr = rates.lpr_1y_bp if term <= LPR_1Y_MAX_TERM else rates.lpr_5y_bp
    return None if lpr is None else lpr + int(product.get("spread_bp") or 0)


def today_days(day: datetime.date, end: datetime.date | None) -> int | None:
    return None if end is None else (end - day).days
