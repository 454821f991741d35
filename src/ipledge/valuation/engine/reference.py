"""The valuation formulas one right at a time, in plain Python: the oracle of the vectorised pipeline and the
baseline of the benchmark.

`value_right_row` returns the same keys as a row of `pipeline.value_rights`. It repeats every floating-point
operation of the Polars expressions in the same order (scoring.py, approaches.py, pledge.py), so integers agree
exactly and floats to rounding; the cohort statistics and the comparable groups come in precomputed, as they are
properties of a population, not of the row. The comparable medians are recomputed here with `statistics.median`
(`ComparableIndex`), independently of the Polars group-by.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from .approaches import APPROACHES, Assumptions, income_factor, load_assumptions
from .cohort import CohortStats, normalise_value
from .pledge import REFUSALS, PledgePolicy, default_policy
from .scoring import FIELD, TYPE, applicable_weights, completeness_denominators
from .tree import DIMENSIONS, GRADES, PATENT, Indicator, Scenario, resolve_scenario, right_type


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def _fen(value: float | None) -> int | None:
    return None if value is None else int(math.floor(value + 0.5))


# --- comparables ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComparableIndex:
    """(median price, median score) per right type and per (right type, IPC section), for groups large enough."""

    by_type: Mapping[str, tuple[float, float]]
    by_section: Mapping[tuple[str, str], tuple[float, float]]


def comparable_index(
    comparables: pl.DataFrame | Sequence[Mapping[str, Any]] | None, assumptions: Assumptions
) -> ComparableIndex:
    rows: list[Mapping[str, Any]] = (
        list(comparables.to_dicts()) if isinstance(comparables, pl.DataFrame) else list(comparables or [])
    )
    prices: dict[Any, list[float]] = defaultdict(list)
    scores: dict[Any, list[float]] = defaultdict(list)
    for row in rows:
        rtype = right_type(row.get("kind"), row.get("patent_type"))
        price, score = row.get("price_fen"), row.get("score")
        if rtype is None or price is None or score is None or price < 0:
            continue
        section = row.get("ipc_section") or ""
        keys: list[Any] = [rtype] + ([(rtype, section)] if section else [])
        for key in keys:
            prices[key].append(float(price))
            scores[key].append(float(score))
    by_type: dict[str, tuple[float, float]] = {}
    by_section: dict[tuple[str, str], tuple[float, float]] = {}
    for key, values in prices.items():
        if len(values) < assumptions.min_comparables:
            continue
        medians = (float(statistics.median(values)), float(statistics.median(scores[key])))
        if isinstance(key, tuple):
            by_section[key] = medians
        else:
            by_type[key] = medians
    return ComparableIndex(by_type=by_type, by_section=by_section)


# --- score ------------------------------------------------------------------------------------------------------


def indicator_value(
    ind: Indicator, row: Mapping[str, Any], scenario: Scenario, stats: CohortStats | None
) -> float | None:
    """s in [0, 1] of one indicator for one row (with `_type` and `_field`), None when unknown or not applicable."""
    rtype = row[TYPE]
    if rtype not in ind.applies_to:
        return None
    p = ind.params
    x = row.get(ind.column)
    match ind.transform:
        case "term_ratio":
            term = scenario.statutory_terms.get(rtype)
            if x is None or term is None:
                return None
            return max(_clip(x / term, 0.0, 1.0), scenario.renewable_floor.get(rtype, 0.0))
        case "ownership":
            if x is not None:
                return _clip(float(x), 0.0, 1.0)
            return 1.0 if row.get(ind.inputs[1]) == 1 else None
        case "inverse_count":
            counts = [row.get(c) for c in ind.inputs]
            if all(c is None for c in counts):
                return None
            total = 0
            for c in counts:
                total += c or 0
            return 1.0 / (1.0 + float(max(total, 0)) / float(p["scale"]))
        case "cohort":
            if stats is None or ind.column not in stats.columns:
                return None
            key = tuple(row.get(c) for c in stats.cohort)
            return normalise_value(x, stats.bounds(ind.column, key))
        case "bounded_decreasing":
            if x is None:
                return None
            best, worst = float(p["best"]), float(p["worst"])
            return _clip((worst - x) / (worst - best), 0.0, 1.0)
        case "flag":
            return None if x is None else (1.0 if x else 0.0)
        case "saturating":
            if x is None:
                return None
            v = max(float(x), 0.0)
            return v / (v + float(p["half"]))
        case "log_range":
            if x is None:
                return None
            v = float(x)
            if v <= float(p["low"]):
                return 0.0
            ln_low = math.log(float(p["low"]))
            span = math.log(float(p["high"])) - ln_low
            return _clip((math.log(v) - ln_low) / span, 0.0, 1.0)
        case "factor_table":
            if x is None or x == "":
                return None
            table = scenario.factor_tables[p["table"]]
            return float(table["values"].get(x, table["default"]))
    raise ValueError(f"unknown transform {ind.transform!r}")


def gates_of(row: Mapping[str, Any], scenario: Scenario) -> tuple[bool, float, list[str]]:
    """(hard gate failed, gate multiplier, codes)."""
    gates = scenario.gates
    codes: list[str] = []
    status = row.get("legal_status")
    if status != "valid":
        codes.append(
            gates.unknown_status_code if status is None else gates.status_codes.get(status, gates.unknown_status_code)
        )
    if row.get("fee_paid") is False:
        codes.append("fee_unpaid")
    if row.get("suspended"):
        codes.append("suspended")
    if row.get("preserved"):
        codes.append("preserved")
    hard = bool(codes)
    conditions = {
        "invalidation_pending": bool(row.get("invalidation_pending")),
        "co_owned": (row.get("owner_count") or 0) > 1,
    }
    multiplier = 1.0
    for code, factor in gates.multipliers.items():
        if conditions[code]:
            multiplier = multiplier * factor
            codes.append(code)
        else:
            multiplier = multiplier * 1.0
    return hard, (0.0 if hard else multiplier), codes


def score_row(row: Mapping[str, Any], scenario: Scenario, stats: CohortStats | None) -> dict[str, Any]:
    """Indicator values, gates, contributions, score, ungated score, completeness and grade of one row."""
    values = {ind.key: indicator_value(ind, row, scenario, stats) for ind in scenario.indicators}
    hard, gm, codes = gates_of(row, scenario)
    known: dict[str, float] = {}
    for d in DIMENSIONS:
        total = 0.0
        for ind in scenario.indicators:
            if ind.dimension == d:
                total = total + (ind.weight if values[ind.key] is not None else 0.0)
        known[d] = total
    present = 0.0
    for d in DIMENSIONS:
        present = present + (scenario.dimension_weights[d] if known[d] > 0 else 0.0)
    raw: dict[str, float] = {}
    for ind in scenario.indicators:
        v = values[ind.key]
        if v is None:
            raw[ind.key] = 0.0
        else:
            share_d = scenario.dimension_weights[ind.dimension] / present
            raw[ind.key] = 100.0 * share_d * (ind.weight / known[ind.dimension]) * v
    contributions = {key: gm * r for key, r in raw.items()}
    score = 0.0
    raw_score = 0.0
    for ind in scenario.indicators:
        score = score + contributions[ind.key]
        raw_score = raw_score + raw[ind.key]
    applicable = applicable_weights(scenario)
    numerator = 0.0
    for d in DIMENSIONS:
        a_d = applicable[d].get(row[TYPE], 0.0) if row[TYPE] is not None else 0.0
        numerator = numerator + (scenario.dimension_weights[d] * (known[d] / a_d) if a_d > 0 else 0.0)
    denominator = completeness_denominators(scenario).get(row[TYPE], 0.0) if row[TYPE] is not None else 0.0
    return {
        "values": values,
        "hard": hard,
        "gate_multiplier": gm,
        "gates": codes,
        "contributions": contributions,
        "score": score,
        "raw_score": raw_score,
        "completeness": numerator / denominator if denominator > 0 else 0.0,
        "grade": scenario.grade(score),
    }


# --- money ------------------------------------------------------------------------------------------------------


def holder_share(row: Mapping[str, Any]) -> float:
    share, owners = row.get("own_share"), row.get("owner_count")
    if share is not None:
        return _clip(float(share), 0.0, 1.0)
    if owners is not None and owners >= 1:
        return 1.0 / float(owners)
    return 1.0


def income_years(row: Mapping[str, Any], a: Assumptions) -> float | None:
    """T: the shorter of the remaining term and the economic life (the life alone for renewable types)."""
    life = a.economic_life_years.get(row[TYPE]) if row[TYPE] is not None else None
    if row[TYPE] in a.renewable_types:
        return life
    remaining = row.get("remaining_years")
    if remaining is None or life is None:
        return None
    return _clip(remaining, 0.0, life)


def income_value(row: Mapping[str, Any], raw_score: float, share: float, a: Assumptions) -> float | None:
    revenue = row.get("owner_revenue_fen")
    years = income_years(row, a)
    if revenue is None or revenue <= 0 or years is None:
        return None
    portfolio = row.get("owner_portfolio_size")
    portfolio_f = float(portfolio) if portfolio is not None and portfolio >= 1 else 1.0
    rev_ip = float(revenue) * a.ip_revenue_share / portfolio_f
    low, high = a.royalty_band(row.get("industry_section"))
    royalty = low + (high - low) * (raw_score / 100.0)
    annual = rev_ip * share * royalty * (1.0 - a.tax_rate)
    return annual * income_factor(years, a)


def income_value_sum(annual: float, years: float, a: Assumptions) -> float:
    """Σ_{t=1..⌈T⌉} min(1, T − t + 1) · annual · (1+g)^{t−1} / (1+r)^t, literally (checks the closed form)."""
    total = 0.0
    t = 1
    while t - 1 < years:
        weight = min(1.0, years - (t - 1))
        total += weight * annual * (1.0 + a.revenue_growth) ** (t - 1) / (1.0 + a.discount_rate) ** t
        t += 1
    return total


def cost_value(row: Mapping[str, Any], share: float, a: Assumptions) -> float | None:
    cost = a.replacement_cost_fen.get(row[TYPE]) if row[TYPE] is not None else None
    age, remaining = row.get("age_years"), row.get("remaining_years")
    if cost is None or age is None or remaining is None:
        return None
    age = max(age, 0.0)
    total = age + max(remaining, 0.0)
    obsolescence = age / total if total > 0 else 1.0
    return float(cost) * (1.0 - obsolescence) * share


def market_value(
    row: Mapping[str, Any], raw_score: float, share: float, index: ComparableIndex, a: Assumptions
) -> float | None:
    rtype = row[TYPE]
    if rtype is None:
        return None
    group = index.by_section.get((rtype, row.get("ipc_section") or "")) or index.by_type.get(rtype)
    if group is None:
        return None
    price, median_score = group
    lo, hi = a.market_factor_bounds
    factor = _clip(raw_score / median_score, lo, hi) if median_score > 0 else 1.0
    return price * factor * share


def reconcile(
    values: Mapping[str, float | None], *, rtype: str | None, completeness: float, hard: bool, gm: float, a: Assumptions
) -> tuple[float, float | None, float | None, float | None]:
    """(sigma, p10, p50, p90) as floats, before rounding."""
    weight_sum = 0.0
    count = 0.0
    has_zero = False
    for name in APPROACHES:
        v = values[name]
        weight_sum = weight_sum + (a.approach_weights.get(name, 0.0) if v is not None else 0.0)
        count = count + (1.0 if v is not None else 0.0)
        has_zero = has_zero or (v is not None and v <= 0)
    weighted_log = 0.0
    spread = 0.0
    if not has_zero and count > 0:
        log_sum = 0.0
        for name in APPROACHES:
            v = values[name]
            weighted_log = weighted_log + (a.approach_weights.get(name, 0.0) * math.log(v) if v is not None else 0.0)
            log_sum = log_sum + (math.log(v) if v is not None else 0.0)
        mean = log_sum / count
        square_sum = 0.0
        for name in APPROACHES:
            v = values[name]
            if v is None:
                square_sum = square_sum + 0.0
            else:
                d = math.log(v) - mean
                square_sum = square_sum + d * d
        spread = min(math.sqrt(square_sum / count), a.max_spread)
    base = a.base_sigma.get(rtype, a.base_sigma_default) if rtype is not None else a.base_sigma_default
    sigma = base + a.k_completeness * (1.0 - completeness) + spread
    p50: float | None
    if hard:
        p50 = 0.0
    elif not (count > 0 and weight_sum > 0):
        p50 = None
    elif has_zero:
        p50 = 0.0
    else:
        p50 = gm * math.exp(weighted_log / weight_sum)
    if p50 is None:
        return sigma, None, None, None
    return sigma, p50 * math.exp(-a.z * sigma), p50, p50 * math.exp(a.z * sigma)


# --- pledge -----------------------------------------------------------------------------------------------------


def pledge_decision(
    *,
    rtype: str | None,
    grade: str,
    remaining: float | None,
    hard: bool,
    already_pledged: bool,
    p10_fen: int | None,
    policy: PledgePolicy,
) -> tuple[float, int, bool, list[str]]:
    """(pledge_rate, loan_ceiling_fen, pledge_eligible, pledge_reasons)."""
    cap = policy.max_rate.get(rtype) if rtype is not None else None
    minimum = policy.min_remaining_years.get(rtype, 0.0) if rtype is not None else 0.0
    multiplier = policy.grade_multipliers.get(grade, 0.0)
    limit = policy.rank_limit()
    flags = {
        "gate_failed": hard,
        "already_pledged": already_pledged,
        "type_not_accepted": cap is None or cap <= 0,
        "remaining_term_unknown": minimum > 0 and remaining is None,
        "remaining_term_short": remaining is not None and remaining < minimum,
        "grade_too_low": multiplier <= 0 or (limit is not None and GRADES.index(grade) > limit),
        "no_value": not hard and (p10_fen is None or p10_fen <= 0),
    }
    reasons = [code for code in REFUSALS if flags[code]]
    if reasons:
        return 0.0, 0, False, reasons
    assert cap is not None and p10_fen is not None
    rate = cap * multiplier
    if multiplier < 1.0:
        reasons.append("grade_haircut")
    return rate, math.floor(rate * float(p10_fen) / 100.0) * 100, True, reasons


# --- one right --------------------------------------------------------------------------------------------------


def value_right_row(
    row: Mapping[str, Any],
    *,
    scenario: Scenario | str | None = None,
    assumptions: Assumptions | None = None,
    policy: PledgePolicy | None = None,
    cohort_stats: CohortStats | None,
    comparables: pl.DataFrame | Sequence[Mapping[str, Any]] | ComparableIndex | None = None,
) -> dict[str, Any]:
    """One output row of `pipeline.value_rights` for one input row (keys of `RIGHT_INPUT_SCHEMA`; missing = None).

    For many rows, build the `ComparableIndex` once with `comparable_index` and pass it.
    """
    sc = resolve_scenario(scenario)
    a = assumptions or load_assumptions()
    pol = policy or default_policy()
    index = comparables if isinstance(comparables, ComparableIndex) else comparable_index(comparables, a)
    r: dict[str, Any] = dict(row)
    r[TYPE] = right_type(r.get("kind"), r.get("patent_type"))
    ipc = r.get("ipc_section")
    r[FIELD] = ipc if r.get("kind") == PATENT and ipc else r[TYPE]
    s = score_row(r, sc, cohort_stats)
    hard, gm, raw_score = s["hard"], s["gate_multiplier"], s["raw_score"]
    share = holder_share(r)
    values: dict[str, float | None] = {"income": None, "market": None, "cost": None}
    if not hard:
        values = {
            "income": income_value(r, raw_score, share, a),
            "market": market_value(r, raw_score, share, index, a),
            "cost": cost_value(r, share, a),
        }
    sigma, p10, p50, p90 = reconcile(values, rtype=r[TYPE], completeness=s["completeness"], hard=hard, gm=gm, a=a)
    p10_fen = _fen(p10)
    rate, ceiling, eligible, reasons = pledge_decision(
        rtype=r[TYPE],
        grade=s["grade"],
        remaining=r.get("remaining_years"),
        hard=hard,
        already_pledged=bool(r.get("already_pledged")),
        p10_fen=p10_fen,
        policy=pol,
    )
    return {
        "right_id": r.get("right_id"),
        "score": s["score"],
        "grade": s["grade"],
        "completeness": s["completeness"],
        "gate_multiplier": gm,
        "gates": s["gates"],
        **{f"c_{key}": c for key, c in s["contributions"].items()},
        "value_income_fen": _fen(values["income"]),
        "value_cost_fen": _fen(values["cost"]),
        "value_market_fen": _fen(values["market"]),
        "p10_fen": p10_fen,
        "p50_fen": _fen(p50),
        "p90_fen": _fen(p90),
        "sigma": sigma,
        "pledge_rate": rate,
        "loan_ceiling_fen": ceiling,
        "pledge_eligible": eligible,
        "pledge_reasons": reasons,
    }


def indicator_values_row(
    row: Mapping[str, Any], *, scenario: Scenario | str | None = None, cohort_stats: CohortStats | None
) -> dict[str, float | None]:
    """`v_<key>` of one row, as `pipeline.indicator_values` gives them."""
    sc = resolve_scenario(scenario)
    r: dict[str, Any] = dict(row)
    r[TYPE] = right_type(r.get("kind"), r.get("patent_type"))
    ipc = r.get("ipc_section")
    r[FIELD] = ipc if r.get("kind") == PATENT and ipc else r[TYPE]
    return {f"v_{ind.key}": indicator_value(ind, r, sc, cohort_stats) for ind in sc.indicators}
