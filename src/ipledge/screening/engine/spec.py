"""The shapes the screening engine works on: criteria (hard exclusions and thresholds), scorecards, and the columns
of the frames passed in and out. Pure Python: no Django import, so one enterprise in a request and half a million in
a batch go through the same code.

Frames
------
features (one row per enterprise), `FEATURE_SCHEMA`:
    enterprise_id, valuation_grade (best grade of its currently valued rights, "A" best … or null),
    invention_patents (valid invention patents held), innovation_score (0–100 or null), size_class, age_years,
    industry_section (GB/T 4754 letter), is_high_tech, is_specialised, revenue_yuan, asset_turnover
    (revenue / total assets, null when either is missing), prior_loans, prior_bad_loans (loans it had that were
    classified substandard or worse, or defaulted).
records (one row per matched credit record), `RECORD_SCHEMA`:
    enterprise_id, kind (`RecordKind` values), listed_on, removed_on, expires_on, tax_rating ("" unless a rating),
    rating_year.
result of `screen.screen(...)`, one row per enterprise in the order of `features`:
    enterprise_id, score, points_<characteristic> and value_<characteristic> (bin label) for each characteristic,
    excluded (a hard exclusion hit), reasons (list of reason codes, `REASON_*` below, with ":" and a parameter
    where one applies, e.g. "exclusion:dishonest", "tax_rating:D", "penalties:3"), included.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

FEATURE_SCHEMA: dict[str, Any] = {
    "enterprise_id": pl.Int64,
    "valuation_grade": pl.Utf8,
    "invention_patents": pl.Int64,
    "innovation_score": pl.Float64,
    "size_class": pl.Utf8,
    "age_years": pl.Float64,
    "industry_section": pl.Utf8,
    "is_high_tech": pl.Boolean,
    "is_specialised": pl.Boolean,
    "revenue_yuan": pl.Float64,
    "asset_turnover": pl.Float64,
    "prior_loans": pl.Int64,
    "prior_bad_loans": pl.Int64,
}

RECORD_SCHEMA: dict[str, Any] = {
    "enterprise_id": pl.Int64,
    "kind": pl.Utf8,
    "listed_on": pl.Date,
    "removed_on": pl.Date,
    "expires_on": pl.Date,
    "tax_rating": pl.Utf8,
    "rating_year": pl.Int64,
}

# Hard-exclusion rules. Params: tax_rating {"ratings": ["D"]} (the latest rating in force is one of these);
# penalties {"max_count": 2, "within_days": 1095} (more than max_count penalties listed within the window).
RULE_DISHONEST = "dishonest"
RULE_SERIOUS_VIOLATION = "serious_violation"
RULE_ABNORMAL = "abnormal"
RULE_TAX_RATING = "tax_rating"
RULE_PENALTIES = "penalties"
RULES = (RULE_DISHONEST, RULE_SERIOUS_VIOLATION, RULE_ABNORMAL, RULE_TAX_RATING, RULE_PENALTIES)

# Reason codes beyond "exclusion:<rule>" (a hard exclusion hit).
REASON_BELOW_MIN_SCORE = "below_min_score"
REASON_FEW_INVENTION_PATENTS = "few_invention_patents"
REASON_NOT_HIGH_TECH = "not_high_tech_or_specialised"
REASON_SIZE_NOT_ALLOWED = "size_not_allowed"
REASON_PASSED = "passed"


@dataclass(frozen=True)
class ExclusionRule:
    rule: str
    effective_from: datetime.date | None = None
    effective_to: datetime.date | None = None  # inclusive; None = open-ended
    params: dict[str, Any] = field(default_factory=dict)

    def in_force(self, day: datetime.date) -> bool:
        if self.effective_from is not None and day < self.effective_from:
            return False
        return self.effective_to is None or day <= self.effective_to

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "params": dict(self.params),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExclusionRule:
        def day(value: Any) -> datetime.date | None:
            return datetime.date.fromisoformat(value) if value else None

        return cls(
            rule=str(data["rule"]),
            effective_from=day(data.get("effective_from")),
            effective_to=day(data.get("effective_to")),
            params=dict(data.get("params") or {}),
        )


@dataclass(frozen=True)
class CriteriaSpec:
    exclusions: tuple[ExclusionRule, ...] = ()
    min_score: float = 0.0
    min_invention_patents: int = 0
    require_high_tech_or_specialised: bool = False
    allowed_sizes: tuple[str, ...] = ()  # empty: any size

    def to_json(self) -> dict[str, Any]:
        return {
            "exclusions": [rule.to_json() for rule in self.exclusions],
            "min_score": self.min_score,
            "min_invention_patents": self.min_invention_patents,
            "require_high_tech_or_specialised": self.require_high_tech_or_specialised,
            "allowed_sizes": list(self.allowed_sizes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CriteriaSpec:
        return cls(
            exclusions=tuple(ExclusionRule.from_json(r) for r in data.get("exclusions") or ()),
            min_score=float(data.get("min_score") or 0),
            min_invention_patents=int(data.get("min_invention_patents") or 0),
            require_high_tech_or_specialised=bool(data.get("require_high_tech_or_specialised")),
            allowed_sizes=tuple(data.get("allowed_sizes") or ()),
        )


@dataclass(frozen=True)
class Bin:
    """One bin of a characteristic: numeric `lower <= x < upper` (either end open when None), or a set of
    categories, or the missing-value bin."""

    label: str
    points: float
    lower: float | None = None
    upper: float | None = None
    categories: tuple[str, ...] = ()
    missing: bool = False


@dataclass(frozen=True)
class Characteristic:
    name: str  # a column of the features frame (or one the screen derives: penalties_3y, tax_rating)
    label: str  # shown to users, zh-hans
    kind: str  # "numeric" | "categorical" | "flag"
    bins: tuple[Bin, ...]


@dataclass(frozen=True)
class ScorecardSpec:
    method: str  # "expert" | "logistic"
    base_points: float
    characteristics: tuple[Characteristic, ...]
    notes: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScorecardSpec:
        return cls(
            method=str(data["method"]),
            base_points=float(data["base_points"]),
            notes=str(data.get("notes", "")),
            characteristics=tuple(
                Characteristic(
                    name=c["name"],
                    label=c["label"],
                    kind=c["kind"],
                    bins=tuple(
                        Bin(
                            label=b["label"],
                            points=float(b["points"]),
                            lower=b.get("lower"),
                            upper=b.get("upper"),
                            categories=tuple(b.get("categories") or ()),
                            missing=bool(b.get("missing")),
                        )
                        for b in c["bins"]
                    ),
                )
                for c in data["characteristics"]
            ),
        )
