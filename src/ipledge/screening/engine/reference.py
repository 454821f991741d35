"""The screen written the obvious way, one enterprise at a time in plain Python: the reference the vectorised
engine (`screen.screen`) is tested against, and the computing half of the benchmark's per-enterprise baseline.

It follows the same decisions as `screen` (see its docstring) and must give the same result for every enterprise:
same score to the cent, same bins, same reasons in the same order.

Pure: no Django imports.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Mapping
from typing import Any

from .scorecard import UNBINNED
from .screen import LIST_RULES, PENALTY_WINDOW_DAYS
from .spec import (
    REASON_BELOW_MIN_SCORE,
    REASON_FEW_INVENTION_PATENTS,
    REASON_NOT_HIGH_TECH,
    REASON_PASSED,
    REASON_SIZE_NOT_ALLOWED,
    RULE_PENALTIES,
    RULE_TAX_RATING,
    RULES,
    Bin,
    Characteristic,
    CriteriaSpec,
    ScorecardSpec,
)


def in_force(record: Mapping[str, Any], day: datetime.date) -> bool:
    if record["listed_on"] > day:
        return False
    if record.get("removed_on") is not None and record["removed_on"] <= day:
        return False
    return record.get("expires_on") is None or record["expires_on"] > day


def _matches(characteristic: Characteristic, bin_: Bin, value: Any) -> bool:
    if characteristic.kind == "numeric":
        missing = value is None or (isinstance(value, float) and math.isnan(value))
    else:
        missing = value is None
    if bin_.missing:
        return missing
    if missing:
        return False
    if characteristic.kind == "numeric":
        x = float(value)
        return (bin_.lower is None or x >= bin_.lower) and (bin_.upper is None or x < bin_.upper)
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return not bin_.categories or text in bin_.categories


def bin_of(characteristic: Characteristic, value: Any) -> Bin | None:
    ordered = [b for b in characteristic.bins if b.missing] + [b for b in characteristic.bins if not b.missing]
    return next((b for b in ordered if _matches(characteristic, b, value)), None)


def score_row(row: Mapping[str, Any], card: ScorecardSpec) -> tuple[float, dict[str, float], dict[str, str]]:
    points: dict[str, float] = {}
    values: dict[str, str] = {}
    for characteristic in card.characteristics:
        found = bin_of(characteristic, row.get(characteristic.name))
        points[characteristic.name] = float(found.points) if found else 0.0
        values[characteristic.name] = found.label if found else UNBINNED
    total = float(card.base_points)
    for value in points.values():
        total += value
    return round(total, 2), points, values


def credit_row(records: Iterable[Mapping[str, Any]], day: datetime.date) -> dict[str, Any]:
    """penalties_3y, tax_rating, the listing dates of the penalties in force and the list kinds in force."""
    live = [r for r in records if in_force(r, day)]
    penalties = [r["listed_on"] for r in live if r["kind"] == "penalty"]
    ratings = [r for r in live if r["kind"] == "tax_rating"]
    latest = None
    if ratings:
        latest = max(
            ratings,
            key=lambda r: (
                r.get("rating_year") is not None,
                r.get("rating_year") or 0,
                r["listed_on"],
                r.get("tax_rating") or "",
            ),
        )
    return {
        "penalties_3y": sum(1 for d in penalties if (day - d).days < PENALTY_WINDOW_DAYS),
        "tax_rating": latest["tax_rating"] if latest else None,
        "penalty_dates": penalties,
        "kinds": {r["kind"] for r in live},
    }


def screen_row(
    features: Mapping[str, Any],
    records: Iterable[Mapping[str, Any]],
    criteria: CriteriaSpec,
    card: ScorecardSpec,
    as_of: datetime.date,
) -> dict[str, Any]:
    """One enterprise through the screen: score, points, values, excluded, reasons, included, penalties_3y,
    tax_rating."""
    credit = credit_row(records, as_of)
    row = {**features, "penalties_3y": credit["penalties_3y"], "tax_rating": credit["tax_rating"]}
    total, points, values = score_row(row, card)
    hit: dict[str, bool] = {}
    detail: dict[str, str] = {}
    for rule in criteria.exclusions:
        if rule.rule not in RULES:
            raise ValueError(f"unknown exclusion rule {rule.rule!r}")
        if not rule.in_force(as_of):
            continue
        fired = False
        if rule.rule in LIST_RULES:
            fired = rule.rule in credit["kinds"]
        elif rule.rule == RULE_TAX_RATING:
            fired = credit["tax_rating"] is not None and credit["tax_rating"] in (rule.params.get("ratings") or ())
            if fired and rule.rule not in detail:
                detail[rule.rule] = f"tax_rating:{credit['tax_rating']}"
        elif rule.rule == RULE_PENALTIES:
            window = int(rule.params.get("within_days", PENALTY_WINDOW_DAYS))
            count = sum(1 for d in credit["penalty_dates"] if (as_of - d).days < window)
            fired = count > int(rule.params.get("max_count", 0))
            if fired and rule.rule not in detail:
                detail[rule.rule] = f"penalties:{count}"
        hit[rule.rule] = hit.get(rule.rule, False) or fired
    reasons: list[str] = []
    for name in RULES:
        if hit.get(name):
            reasons.append(f"exclusion:{name}")
            if name in detail:
                reasons.append(detail[name])
    excluded = any(hit.values())
    patents = features.get("invention_patents") or 0
    flagged = bool(features.get("is_high_tech")) or bool(features.get("is_specialised"))
    failures = [
        (total < float(criteria.min_score), REASON_BELOW_MIN_SCORE),
        (patents < int(criteria.min_invention_patents), REASON_FEW_INVENTION_PATENTS),
        (bool(criteria.require_high_tech_or_specialised) and not flagged, REASON_NOT_HIGH_TECH),
        (
            bool(criteria.allowed_sizes) and features.get("size_class") not in criteria.allowed_sizes,
            REASON_SIZE_NOT_ALLOWED,
        ),
    ]
    reasons += [code for failed, code in failures if failed]
    included = not excluded and not any(failed for failed, _code in failures)
    if included:
        reasons.append(REASON_PASSED)
    return {
        "enterprise_id": features.get("enterprise_id"),
        "score": total,
        "points": points,
        "values": values,
        "excluded": excluded,
        "reasons": reasons,
        "included": included,
        "penalties_3y": credit["penalties_3y"],
        "tax_rating": credit["tax_rating"],
    }
