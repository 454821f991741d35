"""The row-by-row twin of `engine.matching`: one demand and one product as plain dicts, in plain Python, the rules
and the score written out as the module docstring of `engine.matching` states them. The property tests check that
the vectorised engine gives the same eligibility, rule outcomes, figures, ranks and stored-pair selection on random
frames, and the benchmark uses it as the naive per-pair baseline.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .matching import (
    APPROVAL_MAX,
    APPROVAL_MIN,
    HARD_RULES,
    KINDS,
    LPR_1Y_MAX_TERM,
    MAX_YEARS,
    NEAR_MISSES,
    RATE_BEST_BP,
    RATE_WORST_BP,
    RULE_AGE,
    RULE_AMOUNT,
    RULE_CAPACITY,
    RULE_DISHONEST,
    RULE_INDUSTRY,
    RULE_KIND,
    RULE_LIFE,
    RULE_PENALTIES,
    RULE_REGION,
    RULE_SIZE,
    RULE_TERM,
    RULE_WHITELIST,
    WEIGHT_APPROVAL,
    WEIGHT_COST,
    WEIGHT_FIT,
    Rates,
    base_approval_points,
    region_prefix,
)


def _enough(days: int | None, years: int) -> bool:
    return days is not None and 4 * days >= 1461 * years


def _centrality(value: int, low: int, high: int) -> int:
    distance, width = abs(2 * value - (low + high)), high - low
    if 4 * distance <= width:
        return 1000
    if 2 * distance <= width:
        return 800
    if 4 * distance <= 3 * width:
        return 600
    if distance <= width:
        return 400
    return 0


def match_pair(demand: dict[str, Any], product: dict[str, Any], rates: Rates) -> dict[str, Any]:
    """The verdict on one pair: `ok_<rule>` for each hard rule, eligible, failures, capacity, rate and score parts."""
    ok: dict[str, bool] = {}
    kind_ok = life_ok = unvalued_ok = False
    scaled = 0  # 10000 × the capacity, floored only at the end
    for k in KINDS:
        if not product.get(f"accepts_{k}"):
            continue
        need = min(max(int(product.get(f"min_years_{k}") or 0), 0), MAX_YEARS)
        if (demand.get(f"count_{k}") or 0) > 0:
            kind_ok = True
            if _enough(demand.get(f"max_days_{k}"), need):
                life_ok = True
            if _enough(demand.get(f"unvalued_max_days_{k}"), need):
                unvalued_ok = True
        values = demand.get(f"value_ge_{k}") or [0] * (MAX_YEARS + 1)
        scaled += values[need] * int(product.get(f"cap_bp_{k}") or 0)
    amount, term = int(demand["amount"]), int(demand["term"])
    ok[RULE_KIND] = kind_ok
    ok[RULE_LIFE] = life_ok or not kind_ok
    ok[RULE_AMOUNT] = product["amount_min"] <= amount <= product["amount_max"]
    enough = scaled >= 10000 * product["amount_min"]
    capacity_unknown = not enough and unvalued_ok
    ok[RULE_CAPACITY] = enough or capacity_unknown or not life_ok
    ok[RULE_TERM] = product["term_min"] <= term <= product["term_max"]
    regions = [region_prefix(c) for c in product.get("region_codes") or [] if c]
    code = demand.get("region_code") or ""
    ok[RULE_REGION] = not regions or any(code.startswith(prefix) for prefix in regions if code)
    sections = [s for s in product.get("industry_sections") or [] if s]
    ok[RULE_INDUSTRY] = not sections or (demand.get("industry_section") or "") in sections
    sizes = [s for s in product.get("size_classes") or [] if s]
    ok[RULE_SIZE] = not sizes or (demand.get("size_class") or "") in sizes
    min_age = int(product.get("min_age") or 0)
    ok[RULE_AGE] = min_age == 0 or _enough(demand.get("age_days"), min_age)
    ok[RULE_WHITELIST] = not product.get("requires_whitelist") or bool(demand.get("whitelisted"))
    ok[RULE_DISHONEST] = not product.get("excludes_dishonest") or not demand.get("dishonest")
    cap = product.get("max_penalties")
    ok[RULE_PENALTIES] = cap is None or int(demand.get("penalties_3y") or 0) <= cap
    failures = sum(1 for rule in HARD_RULES if not ok[rule])

    if product.get("rate_kind") == "fixed":
        rate: int | None = int(product.get("fixed_bp") or 0)
    else:
        lpr = rates.lpr_1y_bp if term <= LPR_1Y_MAX_TERM else rates.lpr_5y_bp
        rate = None if lpr is None else lpr + int(product.get("spread_bp") or 0)
    span = RATE_WORST_BP - RATE_BEST_BP
    cost = 500 if rate is None else max(0, min(1000, (RATE_WORST_BP - rate) * 1000 // span))
    if scaled >= 10000 * amount:
        coverage = 150
    elif 2 * scaled >= 10000 * amount:
        coverage = 80
    elif scaled > 0:
        coverage = 20
    else:
        coverage = 0
    base = base_approval_points(
        bool(demand.get("whitelisted")),
        demand.get("grade"),
        bool(demand.get("high_tech")),
        bool(demand.get("specialised")),
        int(demand.get("penalties_3y") or 0),
    )
    approval = max(APPROVAL_MIN, min(APPROVAL_MAX, base + coverage))
    fit = (
        _centrality(amount, product["amount_min"], product["amount_max"])
        + _centrality(term, product["term_min"], product["term_max"])
    ) // 2
    score = (WEIGHT_APPROVAL * approval + WEIGHT_FIT * fit + WEIGHT_COST * cost + 5) // 10
    return {
        "demand_id": demand["demand_id"],
        "product_id": product["product_id"],
        "version_id": product["version_id"],
        "eligible": failures == 0,
        "failures": failures,
        "score_centi": score,
        "approval_milli": approval,
        "fit_milli": fit,
        "cost_milli": cost,
        "capacity": scaled // 10000,
        "capacity_unknown": capacity_unknown,
        "rate_bp": rate,
        "rank": None,
        **{f"ok_{rule}": ok[rule] for rule in HARD_RULES},
    }


def _order(pair: dict[str, Any]) -> tuple[Any, ...]:
    rate = pair["rate_bp"]
    return (not pair["eligible"], -pair["score_centi"], rate is None, max(rate or 0, 0), pair["product_id"])


def match_demand(
    demand: dict[str, Any],
    products: Iterable[dict[str, Any]],
    rates: Rates,
    *,
    near_misses: int | None = NEAR_MISSES,
) -> list[dict[str, Any]]:
    """One demand against the products: ranks set, and only the pairs the engine would store, best first."""
    pairs = sorted((match_pair(demand, p, rates) for p in products), key=_order)
    rank = 0
    for pair in pairs:
        if pair["eligible"]:
            rank += 1
            pair["rank"] = rank
    if near_misses is None:
        return pairs
    misses = sorted(
        (p for p in pairs if not p["eligible"]), key=lambda p: (p["failures"], -p["score_centi"], p["product_id"])
    )[:near_misses]
    chosen = {p["product_id"] for p in misses}
    return [p for p in pairs if p["eligible"] or p["product_id"] in chosen]
