"""Criteria rules (筛选标准): the shape of hard-exclusion lists, the tighten-never-loosen rule between a province's
baseline (省级基准标准) and a park's criteria (园区细化标准), and the effective rules of the two together.

Strictness, field by field (a park may tighten, never loosen):
- `min_score`, `min_invention_patents`: the park's is at least the baseline's.
- `require_high_tech_or_specialised`: kept when the baseline requires it.
- `allowed_sizes`: when the baseline restricts sizes, the park's must be a non-empty subset (an empty list means
  "any size", which would loosen it); when the baseline does not restrict, the park may.
- `exclusions`: every baseline rule must be enforced by the park over at least the baseline's dates, by one or more
  park rules of the same kind whose params are at least as strict (tax ratings: a superset of the ratings;
  penalties: `max_count` ≤ and `within_days` ≥), whose effective periods together cover the baseline rule's.
  The park may add rules of its own.

`merge(baseline, park)` gives the effective criteria: the stricter of each field and both lists of exclusions
(an enterprise is out when any rule of either fires), so it is never looser than either.

`Violation.message_params` carry what a message needs; `ipledge.screening.explain.describe_violation` renders it.

Pure: no Django imports.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from .spec import (
    RULE_PENALTIES,
    RULE_TAX_RATING,
    RULES,
    CriteriaSpec,
    ExclusionRule,
)

SIZE_CLASSES = ("large", "medium", "small", "micro")  # = ipledge.registry.choices.SizeClass (checked by a test)
TAX_RATINGS = ("A", "B", "M", "C", "D")  # = ipledge.screening.choices.TaxRating
RULE_PARAMS: dict[str, frozenset[str]] = {
    RULE_TAX_RATING: frozenset({"ratings"}),
    RULE_PENALTIES: frozenset({"max_count", "within_days"}),
}
RULE_KEYS = frozenset({"rule", "effective_from", "effective_to", "params"})
MAX_WINDOW_DAYS = 36_600  # a hundred years: anything longer is a typing error

# Violation codes
LOOSER_MIN_SCORE = "looser_min_score"
LOOSER_MIN_PATENTS = "looser_min_invention_patents"
DROPPED_REQUIREMENT = "dropped_high_tech_requirement"
SIZES_NOT_SUBSET = "sizes_not_subset"
SIZES_UNRESTRICTED = "sizes_unrestricted"
UNKNOWN_SIZE = "unknown_size"
MISSING_EXCLUSION = "missing_exclusion"
LOOSER_EXCLUSION = "looser_exclusion_params"
EXCLUSION_DATES = "exclusion_dates_not_covered"
NOT_A_LIST = "not_a_list"
NOT_AN_OBJECT = "not_an_object"
UNKNOWN_KEY = "unknown_key"
UNKNOWN_RULE = "unknown_rule"
INVALID_DATE = "invalid_date"
DATES_REVERSED = "dates_reversed"
INVALID_PARAMS = "invalid_params"
UNKNOWN_PARAM = "unknown_param"
MISSING_PARAM = "missing_param"


@dataclass(frozen=True)
class Violation:
    field: str
    code: str
    message_params: dict[str, Any] = dataclass_field(default_factory=dict)


# ------------------------------------------------------------------------------------------------------------ shape


def _date_or_violation(value: Any, where: str, key: str) -> tuple[datetime.date | None, Violation | None]:
    if value is None or value == "":
        return None, None
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value, None
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value), None
        except ValueError:
            pass
    return None, Violation(f"{where}.{key}", INVALID_DATE, {"value": str(value)})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _param_violations(rule: str, params: Any, where: str) -> list[Violation]:
    field_ = f"{where}.params"
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return [Violation(field_, NOT_AN_OBJECT, {"rule": rule})]
    allowed = RULE_PARAMS.get(rule, frozenset())
    out = [
        Violation(f"{field_}.{k}", UNKNOWN_PARAM, {"rule": rule, "param": str(k)}) for k in params if k not in allowed
    ]
    out += [
        Violation(f"{field_}.{n}", MISSING_PARAM, {"rule": rule, "param": n}) for n in sorted(allowed - set(params))
    ]
    if rule == RULE_TAX_RATING and "ratings" in params:
        ratings = params["ratings"]
        if (
            not isinstance(ratings, list)
            or not ratings
            or any(r not in TAX_RATINGS for r in ratings)
            or len(set(ratings)) != len(ratings)
        ):
            out.append(
                Violation(
                    f"{field_}.ratings",
                    INVALID_PARAMS,
                    {"rule": rule, "param": "ratings", "expected": "A/B/M/C/D", "value": str(ratings)},
                )
            )
    if rule == RULE_PENALTIES:
        if "max_count" in params and not (_is_int(params["max_count"]) and 0 <= params["max_count"] <= 1000):
            out.append(
                Violation(
                    f"{field_}.max_count",
                    INVALID_PARAMS,
                    {"rule": rule, "param": "max_count", "expected": "0–1000", "value": str(params["max_count"])},
                )
            )
        if "within_days" in params and not (
            _is_int(params["within_days"]) and 1 <= params["within_days"] <= MAX_WINDOW_DAYS
        ):
            out.append(
                Violation(
                    f"{field_}.within_days",
                    INVALID_PARAMS,
                    {
                        "rule": rule,
                        "param": "within_days",
                        "expected": f"1–{MAX_WINDOW_DAYS}",
                        "value": str(params["within_days"]),
                    },
                )
            )
    return out


def validate_exclusions(raw: Any) -> list[Violation]:
    """Every problem of a JSON list of exclusion rules (empty when it is well-formed). Fields are named
    `exclusions[i].<key>` so each message points at the rule and the key."""
    if not isinstance(raw, list):
        return [Violation("exclusions", NOT_A_LIST, {})]
    out: list[Violation] = []
    for i, item in enumerate(raw):
        where = f"exclusions[{i}]"
        if not isinstance(item, dict):
            out.append(Violation(where, NOT_AN_OBJECT, {"index": i}))
            continue
        out += [Violation(f"{where}.{k}", UNKNOWN_KEY, {"key": str(k)}) for k in item if k not in RULE_KEYS]
        rule = item.get("rule")
        if rule not in RULES:
            out.append(Violation(f"{where}.rule", UNKNOWN_RULE, {"value": str(rule), "expected": "/".join(RULES)}))
        start, bad_start = _date_or_violation(item.get("effective_from"), where, "effective_from")
        end, bad_end = _date_or_violation(item.get("effective_to"), where, "effective_to")
        out += [v for v in (bad_start, bad_end) if v is not None]
        if start is not None and end is not None and end < start:
            out.append(
                Violation(f"{where}.effective_to", DATES_REVERSED, {"from": start.isoformat(), "to": end.isoformat()})
            )
        if rule in RULES:
            out += _param_violations(str(rule), item.get("params"), where)
    return out


def validate_sizes(sizes: Any, field_name: str = "allowed_sizes") -> list[Violation]:
    if not isinstance(sizes, list | tuple):
        return [Violation(field_name, NOT_A_LIST, {})]
    return [
        Violation(field_name, UNKNOWN_SIZE, {"value": str(s), "expected": "/".join(SIZE_CLASSES)})
        for s in sizes
        if s not in SIZE_CLASSES
    ]


# -------------------------------------------------------------------------------------------------------- strictness


def params_at_least_as_strict(rule: str, park: dict[str, Any], baseline: dict[str, Any]) -> bool:
    """Whether a park rule's params exclude at least every enterprise the baseline rule's params exclude."""
    if rule == RULE_TAX_RATING:
        return set(baseline.get("ratings") or ()) <= set(park.get("ratings") or ())
    if rule == RULE_PENALTIES:
        return int(park.get("max_count", 0)) <= int(baseline.get("max_count", 0)) and int(
            park.get("within_days", 0)
        ) >= int(baseline.get("within_days", 0))
    return True


def _covers(rules: list[ExclusionRule], start: datetime.date | None, end: datetime.date | None) -> bool:
    """Whether the union of the rules' effective periods covers [start, end] (None: open-ended; inclusive ends)."""
    lo = datetime.date.min if start is None else start
    hi = datetime.date.max if end is None else end
    periods = sorted(
        (
            datetime.date.min if r.effective_from is None else r.effective_from,
            datetime.date.max if r.effective_to is None else r.effective_to,
        )
        for r in rules
    )
    reached = lo  # every day before `reached` is covered
    for p_from, p_to in periods:
        if p_from > reached:
            break
        if p_to >= hi:
            return True
        reached = max(reached, p_to + datetime.timedelta(days=1))
    return False


def _period(rule: ExclusionRule) -> dict[str, str | None]:
    return {
        "from": rule.effective_from.isoformat() if rule.effective_from else None,
        "to": rule.effective_to.isoformat() if rule.effective_to else None,
    }


def tightening_violations(baseline: CriteriaSpec, park: CriteriaSpec) -> list[Violation]:
    """Where the park's criteria would loosen the baseline (empty when they only keep or tighten it)."""
    out: list[Violation] = []
    if park.min_score < baseline.min_score:
        out.append(Violation("min_score", LOOSER_MIN_SCORE, {"baseline": baseline.min_score, "park": park.min_score}))
    if park.min_invention_patents < baseline.min_invention_patents:
        out.append(
            Violation(
                "min_invention_patents",
                LOOSER_MIN_PATENTS,
                {"baseline": baseline.min_invention_patents, "park": park.min_invention_patents},
            )
        )
    if baseline.require_high_tech_or_specialised and not park.require_high_tech_or_specialised:
        out.append(Violation("require_high_tech_or_specialised", DROPPED_REQUIREMENT, {}))
    if baseline.allowed_sizes:
        if not park.allowed_sizes:
            out.append(Violation("allowed_sizes", SIZES_UNRESTRICTED, {"baseline": list(baseline.allowed_sizes)}))
        elif not set(park.allowed_sizes) <= set(baseline.allowed_sizes):
            extra = sorted(set(park.allowed_sizes) - set(baseline.allowed_sizes))
            out.append(
                Violation("allowed_sizes", SIZES_NOT_SUBSET, {"baseline": list(baseline.allowed_sizes), "extra": extra})
            )
    for index, rule in enumerate(baseline.exclusions):
        same_kind = [r for r in park.exclusions if r.rule == rule.rule]
        params = {"rule": rule.rule, "index": index, **_period(rule)}
        if not same_kind:
            out.append(Violation("exclusions", MISSING_EXCLUSION, params))
            continue
        strict = [r for r in same_kind if params_at_least_as_strict(rule.rule, r.params, rule.params)]
        if not strict:
            out.append(Violation("exclusions", LOOSER_EXCLUSION, {**params, "baseline_params": dict(rule.params)}))
            continue
        if not _covers(strict, rule.effective_from, rule.effective_to):
            out.append(Violation("exclusions", EXCLUSION_DATES, params))
    return out


def merge(baseline: CriteriaSpec, park: CriteriaSpec) -> CriteriaSpec:
    """The effective criteria of a park under a baseline: the stricter of each field and the rules of both.

    Raises ValueError when both restrict sizes and share none (no enterprise could pass; `tightening_violations`
    reports it first as `sizes_not_subset`)."""
    if baseline.allowed_sizes and park.allowed_sizes:
        common = set(baseline.allowed_sizes) & set(park.allowed_sizes)
        if not common:
            raise ValueError("allowed_sizes: the park's sizes and the baseline's have none in common")
        sizes = tuple(s for s in SIZE_CLASSES if s in common) + tuple(sorted(common - set(SIZE_CLASSES)))
    else:
        sizes = tuple(baseline.allowed_sizes or park.allowed_sizes)
    exclusions: list[ExclusionRule] = []
    seen: set[str] = set()
    for rule in (*baseline.exclusions, *park.exclusions):
        key = repr(sorted(rule.to_json().items(), key=lambda kv: kv[0]))
        if key not in seen:
            seen.add(key)
            exclusions.append(rule)
    return CriteriaSpec(
        exclusions=tuple(exclusions),
        min_score=max(baseline.min_score, park.min_score),
        min_invention_patents=max(baseline.min_invention_patents, park.min_invention_patents),
        require_high_tech_or_specialised=baseline.require_high_tech_or_specialised
        or park.require_high_tech_or_specialised,
        allowed_sizes=sizes,
    )
