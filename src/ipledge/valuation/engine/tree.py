"""The indicator tree as data: scenarios, indicators, weights, grades, gates and the input frame schema.

Everything a valuation weighs lives in `data/indicator_trees.json`, each entry with its source, so the tree of
GB/T 42748-2023 《专利评估指引》 can replace the platform default once its full text is obtained (valuation.md §1.2,
§5.1: "keep every constant in versioned, sourced config tables keyed by scenario"). This module only reads and
checks that file; `scoring.py` turns it into Polars expressions and `reference.py` into plain Python.

Right types: indicators, terms, caps and costs are keyed by the *right type*, the patent type for patents
(`pct_invention` counts as `invention`) and the kind otherwise (`right_type`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

DATA_DIR = Path(__file__).resolve().parent / "data"
TREES_PATH = DATA_DIR / "indicator_trees.json"

DIMENSIONS: tuple[str, ...] = ("legal", "technical", "economic")
TRANSFORMS = frozenset(
    {
        "term_ratio",
        "ownership",
        "inverse_count",
        "cohort",
        "bounded_decreasing",
        "flag",
        "saturating",
        "log_range",
        "factor_table",
    }
)
DEFAULT_SCENARIO = "finance"

PATENT = "patent"
PATENT_TYPES: tuple[str, ...] = ("invention", "utility_model", "design")
OTHER_KINDS: tuple[str, ...] = ("trademark", "copyright", "ic_layout")
RIGHT_TYPES: tuple[str, ...] = PATENT_TYPES + OTHER_KINDS
PCT_PREFIX = "pct_"

# The engine's input frame (docs/valuation-engine.md). Unknown is null, never zero.
RIGHT_INPUT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "right_id": pl.Int64,
    "kind": pl.String,
    "patent_type": pl.String,
    "ipc_section": pl.String,
    "filing_year": pl.Int32,
    "legal_status": pl.String,
    "remaining_years": pl.Float64,
    "age_years": pl.Float64,
    "fee_paid": pl.Boolean,
    "claims_count": pl.Int64,
    "forward_citations": pl.Int64,
    "backward_citations": pl.Int64,
    "family_size": pl.Int64,
    "ipc_count": pl.Int64,
    "grant_lag_years": pl.Float64,
    "owner_count": pl.Int64,
    "own_share": pl.Float64,
    "suspended": pl.Boolean,
    "preserved": pl.Boolean,
    "invalidation_pending": pl.Boolean,
    "already_pledged": pl.Boolean,
    "invalidation_requests": pl.Int64,
    "litigation_count": pl.Int64,
    "licence_count": pl.Int64,
    "transfer_count": pl.Int64,
    "implemented": pl.Boolean,
    "owner_revenue_fen": pl.Int64,
    "owner_portfolio_size": pl.Int64,
    "industry_section": pl.String,
    "nice_class_count": pl.Int64,
    "renewal_count": pl.Int64,
    "work_kind": pl.String,
}


def unknown_patent_type() -> str:
    """The type a patent of unknown type is valued as (the more conservative one, per the tree JSON)."""
    value: str = _tree()["right_types"]["unknown_patent_type"]
    return value


def right_type(kind: str | None, patent_type: str | None) -> str | None:
    """The key under which terms, caps, costs and applicability are looked up; None for an unknown kind."""
    if kind == PATENT:
        pt = (patent_type or "").removeprefix(PCT_PREFIX)
        return pt if pt in PATENT_TYPES else unknown_patent_type()
    return kind if kind in OTHER_KINDS else None


@dataclass(frozen=True)
class Indicator:
    key: str
    dimension: str
    inputs: tuple[str, ...]
    transform: str
    params: Mapping[str, Any]
    direction: str
    weight: float  # within its dimension, in this scenario; renormalised over the indicators whose input is known
    applies_to: frozenset[str]
    label_zh: str
    label_en: str
    note: str
    source: str

    @property
    def column(self) -> str:
        """The main input column (the first of `inputs`)."""
        return self.inputs[0]


@dataclass(frozen=True)
class Gates:
    status_codes: Mapping[str, str]  # legal_status other than valid → gate code
    unknown_status_code: str
    multipliers: Mapping[str, float]  # soft gate code → factor


@dataclass(frozen=True)
class Scenario:
    key: str
    label_zh: str
    label_en: str
    source: str
    dimension_weights: Mapping[str, float]
    indicators: tuple[Indicator, ...]
    grades: tuple[tuple[str, float], ...]  # (grade, minimum score), best first
    gates: Gates
    statutory_terms: Mapping[str, float]
    renewable_floor: Mapping[str, float]
    factor_tables: Mapping[str, Mapping[str, Any]]
    cohort_trim: float
    cohort_min_size: int

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(i.key for i in self.indicators)

    def indicator(self, key: str) -> Indicator:
        return next(i for i in self.indicators if i.key == key)

    def cohort_columns(self) -> tuple[str, ...]:
        """The input columns normalised within cohort."""
        return tuple(dict.fromkeys(i.column for i in self.indicators if i.transform == "cohort"))

    def dimensions_of(self, rtype: str | None) -> tuple[str, ...]:
        """The dimensions with at least one indicator applicable to this right type (the type's tree)."""
        return tuple(d for d in DIMENSIONS if any(i.dimension == d and rtype in i.applies_to for i in self.indicators))

    def grade(self, score: float) -> str:
        for grade, minimum in self.grades:
            if score >= minimum:
                return grade
        return self.grades[-1][0]


GRADES: tuple[str, ...] = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")


@cache
def _tree() -> dict[str, Any]:
    with TREES_PATH.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def scenario_keys() -> tuple[str, ...]:
    return tuple(_tree()["scenarios"])


def scenario_from_dict(tree: Mapping[str, Any], key: str = DEFAULT_SCENARIO) -> Scenario:
    """Build and check one scenario of a tree document shaped like `indicator_trees.json`."""
    if key not in tree["scenarios"]:
        raise ValueError(f"unknown scenario {key!r}; known: {sorted(tree['scenarios'])}")
    spec = tree["scenarios"][key]
    weights: Mapping[str, float] = spec["weights"]
    indicators = []
    for entry in tree["indicators"]:
        if entry["key"] not in weights:
            continue  # a scenario may leave indicators out
        if entry["dimension"] not in DIMENSIONS:
            raise ValueError(f"indicator {entry['key']}: unknown dimension {entry['dimension']!r}")
        if entry["transform"] not in TRANSFORMS:
            raise ValueError(f"indicator {entry['key']}: unknown transform {entry['transform']!r}")
        unknown_types = set(entry["applies_to"]) - set(RIGHT_TYPES)
        if unknown_types:
            raise ValueError(f"indicator {entry['key']}: unknown right types {sorted(unknown_types)}")
        weight = float(weights[entry["key"]])
        if weight < 0:
            raise ValueError(f"indicator {entry['key']}: negative weight")
        indicators.append(
            Indicator(
                key=entry["key"],
                dimension=entry["dimension"],
                inputs=tuple(entry["inputs"]),
                transform=entry["transform"],
                params=dict(entry.get("params", {})),
                direction=entry["direction"],
                weight=weight,
                applies_to=frozenset(entry["applies_to"]),
                label_zh=entry["label_zh"],
                label_en=entry["label_en"],
                note=entry.get("note", ""),
                source=entry.get("source", ""),
            )
        )
    missing = set(weights) - {i.key for i in indicators}
    if missing:
        raise ValueError(f"scenario {key}: weights for unknown indicators {sorted(missing)}")
    dim_weights = {d: float(spec["dimension_weights"].get(d, 0.0)) for d in DIMENSIONS}
    if any(w < 0 for w in dim_weights.values()) or sum(dim_weights.values()) <= 0:
        raise ValueError(f"scenario {key}: dimension weights must be non-negative with a positive sum")
    bands = tuple((b["grade"], float(b["min"])) for b in tree["grades"]["bands"])
    if [b[1] for b in bands] != sorted((b[1] for b in bands), reverse=True):
        raise ValueError("grade bands must be listed best first")
    gates = tree["gates"]
    return Scenario(
        key=key,
        label_zh=spec["label_zh"],
        label_en=spec["label_en"],
        source=spec.get("source", ""),
        dimension_weights=dim_weights,
        indicators=tuple(indicators),
        grades=bands,
        gates=Gates(
            status_codes=dict(gates["status_codes"]),
            unknown_status_code=gates["unknown_status_code"],
            multipliers={code: float(m["factor"]) for code, m in gates["multipliers"].items()},
        ),
        statutory_terms={k: float(v) for k, v in tree["statutory_terms"]["years"].items()},
        renewable_floor={k: float(v) for k, v in tree["statutory_terms"].get("renewable_floor", {}).items()},
        factor_tables={name: dict(t) for name, t in tree["factor_tables"].items()},
        cohort_trim=float(tree["cohort"]["trim"]),
        cohort_min_size=int(tree["cohort"]["min_size"]),
    )


@cache
def load_scenario(key: str = DEFAULT_SCENARIO) -> Scenario:
    """A scenario of the platform's indicator tree (`finance` by default, or `licensing`)."""
    return scenario_from_dict(_tree(), key)


def resolve_scenario(scenario: Scenario | str | None) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(scenario or DEFAULT_SCENARIO)


def tree_document() -> dict[str, Any]:
    """The raw tree document (a copy), e.g. to show weights and sources in a report."""
    return json.loads(json.dumps(_tree()))
