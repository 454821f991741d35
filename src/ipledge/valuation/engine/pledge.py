"""Recommended pledge rate (质押率) and loan ceiling from a bank's policy.

No national rule fixes the pledge rate; banks set it per IP type (valuation.md §1.4). Published bank rules cap
invention patents at 25 % and utility models at 15 % of the appraised value, ordinary trademarks at 20 %, and ask for
a remaining term of at least 8 (invention) and 4 (utility model) years (北京银行 智权贷, 交通银行 北京分行; see
`data/pledge_rate_defaults.csv`, each row with its source). Each bank may store its own policy as JSON
(`PledgePolicy.to_dict` / `policy_from_dict`).

    pledge_rate = cap of the right type × multiplier of the grade, or 0 when refused
    loan_ceiling_fen = ⌊pledge_rate × p10_fen / 100⌋ × 100   (whole yuan, on the low end of the range, §5.5)

Refusal codes (`pledge_reasons`, in this order): `gate_failed` (a hard legal gate), `already_pledged`,
`type_not_accepted` (no cap for the type), `remaining_term_unknown` (a minimum applies and the term is unknown),
`remaining_term_short`, `grade_too_low` (multiplier 0, or below the policy's minimum grade), `no_value` (no positive
P10 to lend against). `grade_haircut` is added, without refusing, when the grade multiplier reduces the cap.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from .scoring import HARD, TYPE
from .tree import DATA_DIR, GRADES, RIGHT_TYPES

F64 = pl.Float64
DEFAULTS_PATH = DATA_DIR / "pledge_rate_defaults.csv"
REFUSALS: tuple[str, ...] = (
    "gate_failed",
    "already_pledged",
    "type_not_accepted",
    "remaining_term_unknown",
    "remaining_term_short",
    "grade_too_low",
    "no_value",
)
REDUCTIONS: tuple[str, ...] = ("grade_haircut",)
REASONS: tuple[str, ...] = REFUSALS + REDUCTIONS
REASON_MASK = "_reason_mask"  # bit i is REASONS[i]; decoded with scoring.decode_codes
SECTIONS: tuple[str, ...] = ("max_rate", "min_remaining_years", "grade_multipliers")


@dataclass(frozen=True)
class PledgePolicy:
    max_rate: Mapping[str, float]  # right type → cap as a fraction of the appraised value
    min_remaining_years: Mapping[str, float]  # right type → minimum remaining term
    grade_multipliers: Mapping[str, float]  # grade → factor on the cap (0: not pledgeable)
    min_grade: str = ""  # optional: grades below it are refused
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for name, rate in self.max_rate.items():
            if not 0 <= rate <= 1:
                raise ValueError(f"max_rate[{name}] must be within [0, 1]")
        for name, years in self.min_remaining_years.items():
            if years < 0:
                raise ValueError(f"min_remaining_years[{name}] must not be negative")
        for grade, factor in self.grade_multipliers.items():
            if grade not in GRADES:
                raise ValueError(f"unknown grade {grade!r}")
            if not 0 <= factor <= 1:
                raise ValueError(f"grade_multipliers[{grade}] must be within [0, 1]")
        unknown = (set(self.max_rate) | set(self.min_remaining_years)) - set(RIGHT_TYPES)
        if unknown:
            raise ValueError(f"unknown right types {sorted(unknown)}; known: {RIGHT_TYPES}")
        if self.min_grade and self.min_grade not in GRADES:
            raise ValueError(f"unknown grade {self.min_grade!r}")

    def rank_limit(self) -> int | None:
        """Index in `GRADES` of the worst accepted grade, or None without a minimum."""
        return GRADES.index(self.min_grade) if self.min_grade else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_rate": dict(self.max_rate),
            "min_remaining_years": dict(self.min_remaining_years),
            "grade_multipliers": dict(self.grade_multipliers),
            "min_grade": self.min_grade,
        }


@cache
def default_policy() -> PledgePolicy:
    """The platform's defaults compiled from published bank rules (`data/pledge_rate_defaults.csv`)."""
    return load_policy_csv(DEFAULTS_PATH)


def load_policy_csv(path: str | Path) -> PledgePolicy:
    sections: dict[str, dict[str, float]] = {"max_rate": {}, "min_remaining_years": {}, "grade_multiplier": {}}
    sources: dict[str, str] = {}
    min_grade = ""
    with Path(path).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            rule, key, value = row["rule"], row["key"], row["value"]
            if rule == "min_grade":
                min_grade = value.strip()
                sources["min_grade"] = row["source"]
                continue
            if rule not in sections:
                raise ValueError(f"{path}: unknown rule {rule!r}")
            sections[rule][key] = float(value)
            sources[f"{rule}.{key}"] = row["source"]
    return PledgePolicy(
        max_rate=sections["max_rate"],
        min_remaining_years=sections["min_remaining_years"],
        grade_multipliers=sections["grade_multiplier"],
        min_grade=min_grade,
        sources=sources,
    )


def policy_from_dict(data: Mapping[str, Any], base: PledgePolicy | None = None) -> PledgePolicy:
    """A bank's policy stored as JSON (`PledgePolicy.to_dict`); sections or keys left out keep `base` (defaults)."""
    base = base or default_policy()
    unknown = set(data) - {*SECTIONS, "min_grade"}
    if unknown:
        raise ValueError(f"unknown policy keys {sorted(unknown)}")
    merged: dict[str, dict[str, float]] = {}
    for section in SECTIONS:
        values = dict(getattr(base, section))
        for key, value in (data.get(section) or {}).items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{section}[{key}] must be a number")
            values[key] = float(value)
        merged[section] = values
    return PledgePolicy(
        max_rate=merged["max_rate"],
        min_remaining_years=merged["min_remaining_years"],
        grade_multipliers=merged["grade_multipliers"],
        min_grade=str(data.get("min_grade", base.min_grade) or ""),
        sources=dict(base.sources),
    )


def pledge_exprs(policy: PledgePolicy) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """Two stages over a frame with `_type`, `_hard`, `grade`, `remaining_years`, `already_pledged` and `p10_fen`:
    the reason flags, then `pledge_rate`, `loan_ceiling_fen`, `pledge_eligible` and `_reason_mask`."""
    rtype = pl.col(TYPE)
    cap = rtype.replace_strict(dict(policy.max_rate), default=None, return_dtype=F64)
    minimum = rtype.replace_strict(dict(policy.min_remaining_years), default=0.0, return_dtype=F64).fill_null(0.0)
    grade = pl.col("grade")
    multiplier = grade.replace_strict(dict(policy.grade_multipliers), default=0.0, return_dtype=F64)
    remaining = pl.col("remaining_years")
    hard = pl.col(HARD)
    p10 = pl.col("p10_fen")
    limit = policy.rank_limit()
    below_min = (
        grade.replace_strict({g: i for i, g in enumerate(GRADES)}, default=len(GRADES), return_dtype=pl.Int64) > limit
        if limit is not None
        else pl.lit(False)
    )
    flags = {
        "gate_failed": hard,
        "already_pledged": pl.col("already_pledged").fill_null(False),
        "type_not_accepted": cap.is_null() | (cap <= 0),
        "remaining_term_unknown": (minimum > 0) & remaining.is_null(),
        "remaining_term_short": (remaining < minimum).fill_null(False),
        "grade_too_low": (multiplier <= 0) | below_min,
        "no_value": ~hard & (p10.is_null() | (p10 <= 0)).fill_null(True),
    }
    stage1 = [expr.fill_null(False).alias(f"_pr_{code}") for code, expr in flags.items()]
    stage1 += [cap.alias("_cap"), multiplier.alias("_grade_factor")]
    refused = pl.any_horizontal([pl.col(f"_pr_{code}") for code in REFUSALS])
    eligible = ~refused
    rate = pl.when(eligible).then(pl.col("_cap") * pl.col("_grade_factor")).otherwise(0.0)
    haircut = eligible & (pl.col("_grade_factor") < 1.0)
    mask = pl.lit(0, dtype=pl.Int64)
    for i, code in enumerate(REFUSALS):
        mask = mask + pl.when(pl.col(f"_pr_{code}")).then(1 << i).otherwise(0)
    mask = mask + pl.when(haircut).then(1 << len(REFUSALS)).otherwise(0)
    ceiling = pl.when(eligible).then((rate * p10.cast(F64) / 100.0).floor().cast(pl.Int64) * 100).otherwise(0)
    stage2 = [
        rate.alias("pledge_rate"),
        ceiling.cast(pl.Int64).alias("loan_ceiling_fen"),
        eligible.alias("pledge_eligible"),
        mask.alias(REASON_MASK),
    ]
    return stage1, stage2
