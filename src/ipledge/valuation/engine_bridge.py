"""Between the database and the pure engine: input rows → frames, cohort statistics as JSON, policies as stored
rules, labels for the pages, bundles and enterprise scores, and the learned layer's training and prediction.

The engine (`valuation/engine/`) never imports Django; the services never build Polars expressions. This module is
the only place that knows both shapes.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import polars as pl
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from ipledge.registry.choices import IPKind

from .engine import bundle as engine_bundle
from .engine import enterprise as engine_enterprise
from .engine import ml as engine_ml
from .engine import reference
from .engine.approaches import load_assumptions
from .engine.cohort import CohortStats
from .engine.pipeline import fit_rights_cohort_stats, indicator_values, rights_frame, value_rights
from .engine.pledge import SECTIONS, PledgePolicy, policy_from_dict
from .engine.pledge import default_policy as engine_default_policy
from .engine.tree import DIMENSIONS, RIGHT_INPUT_SCHEMA, RIGHT_TYPES, load_scenario
from .engine.tree import GRADES as ENGINE_GRADES

GRADES: tuple[str, ...] = ENGINE_GRADES
DIMENSION_LABELS = {"legal": ("法律", "Legal"), "technical": ("技术", "Technical"), "economic": ("经济", "Economic")}
RIGHT_TYPE_LABELS = {
    "invention": gettext_lazy("发明专利"),
    "utility_model": gettext_lazy("实用新型"),
    "design": gettext_lazy("外观设计"),
    "trademark": gettext_lazy("商标"),
    "copyright": gettext_lazy("著作权"),
    "ic_layout": gettext_lazy("集成电路布图设计"),
}
POLICY_SECTION_LABELS = {
    "max_rate": gettext_lazy("质押率上限"),
    "min_remaining_years": gettext_lazy("最短剩余保护期（年）"),
    "grade_multipliers": gettext_lazy("等级系数"),
}
# Features of the learned layer: the indicator values plus the raw facts the tree does not weigh directly.
ML_EXTRA = ("remaining_years", "age_years", "owner_count")


# ---------------------------------------------------------------------------
# Valuing
# ---------------------------------------------------------------------------


def _stats(cohort_stats: Mapping[str, Any] | CohortStats | None) -> CohortStats | None:
    if cohort_stats is None or isinstance(cohort_stats, CohortStats):
        return cohort_stats
    return CohortStats.from_dict(cohort_stats)


def cohort_stats_from(data: Mapping[str, Any]) -> CohortStats:
    return CohortStats.from_dict(data)


# Up to this many rights (one right, a bundle) the row-by-row reference values them: it is the vectorised engine's
# tested twin (equal outputs, tests/valuation/test_engine_reference.py) and answers in microseconds where a Polars
# plan costs tens of milliseconds to build, which keeps a synchronous API valuation well inside its latency target.
SMALL_BATCH = 64
_OUTPUT_SCHEMA_OVERRIDES: dict[str, pl.DataType | type[pl.DataType]] = {
    "right_id": pl.Int64,
    "value_income_fen": pl.Int64,
    "value_cost_fen": pl.Int64,
    "value_market_fen": pl.Int64,
    "p10_fen": pl.Int64,
    "p50_fen": pl.Int64,
    "p90_fen": pl.Int64,
    "loan_ceiling_fen": pl.Int64,
    "gates": pl.List(pl.String),
    "pledge_reasons": pl.List(pl.String),
}


def _value_small(
    rows: list[dict[str, Any]],
    *,
    scenario: str,
    policy: PledgePolicy,
    stats: CohortStats | None,
    comparables: pl.DataFrame | None,
) -> pl.DataFrame:
    assumptions = load_assumptions()
    index = reference.comparable_index(comparables, assumptions)
    out = []
    for row in rows:
        full = {name: row.get(name) for name in RIGHT_INPUT_SCHEMA}
        valued = reference.value_right_row(
            full, scenario=scenario, assumptions=assumptions, policy=policy, cohort_stats=stats, comparables=index
        )
        out.append({**valued, **reference.indicator_values_row(full, scenario=scenario, cohort_stats=stats)})
    frame = pl.DataFrame(out, infer_schema_length=None)
    return frame.with_columns(
        [pl.col(name).cast(dtype) for name, dtype in _OUTPUT_SCHEMA_OVERRIDES.items() if name in frame.columns]
    )


def value(
    rows: list[dict[str, Any]],
    *,
    scenario: str,
    policy: PledgePolicy,
    cohort_stats: Mapping[str, Any] | CohortStats | None,
    comparables: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The engine's output for these input rows, with each indicator's value `v_<key>` joined in."""
    from .selectors import comparables_frame

    stats = _stats(cohort_stats)
    comps = comparables if comparables is not None else comparables_frame()
    if 0 < len(rows) <= SMALL_BATCH:
        return _value_small(rows, scenario=scenario, policy=policy, stats=stats, comparables=comps)
    frame = rights_frame(rows)
    return value_rights(
        frame,
        scenario=scenario,
        policy=policy,
        comparables=comps,
        cohort_stats=stats,
        with_values=True,
    )


def registry_count_frame() -> pl.DataFrame:
    """Every right's cohort key and count inputs, the population the cohort statistics are fitted on."""
    from ipledge.registry.models import IPRight

    columns = (
        "pk",
        "kind",
        "patent_type",
        "main_ipc",
        "filing_date",
        "valid_from",
        "created_on",
        "claims_count",
        "forward_citations",
        "backward_citations",
        "family_size",
    )
    rows = IPRight.objects.order_by().values_list(*columns)
    data: dict[str, list[Any]] = {
        c: []
        for c in (
            "right_id",
            "kind",
            "patent_type",
            "ipc_section",
            "filing_year",
            "claims_count",
            "forward_citations",
            "backward_citations",
            "family_size",
        )
    }
    for pk, kind, patent_type, main_ipc, filing, valid_from, created_on, claims, fwd, bwd, family in rows.iterator(
        chunk_size=20_000
    ):
        start = filing or valid_from or created_on
        data["right_id"].append(pk)
        data["kind"].append(kind)
        data["patent_type"].append(patent_type or "")
        data["ipc_section"].append((main_ipc or "")[:1].upper() if kind == IPKind.PATENT else "")
        data["filing_year"].append(start.year if start else None)
        data["claims_count"].append(claims)
        data["forward_citations"].append(fwd)
        data["backward_citations"].append(bwd)
        data["family_size"].append(family)
    if not data["right_id"]:
        return rights_frame([])
    return _to_schema(pl.DataFrame(data))


def _to_schema(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        [
            pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype).alias(name)
            for name, dtype in RIGHT_INPUT_SCHEMA.items()
        ]
    )


def fit_cohorts(frame: pl.DataFrame) -> dict[str, Any]:
    return fit_rights_cohort_stats(frame).to_dict()


def assumptions_dict() -> dict[str, Any]:
    return load_assumptions().to_dict()


# ---------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------


def default_policy() -> PledgePolicy:
    return engine_default_policy()


def policy_rules(policy: PledgePolicy) -> dict[str, Any]:
    return policy.to_dict()


def policy_from_rules(rules: Mapping[str, Any]) -> PledgePolicy:
    return policy_from_dict(rules)


def validate_policy_rules(rules: Mapping[str, Any]) -> dict[str, Any]:
    """A bank's rules as they will be stored, or a ValidationError naming the field (`max_rate.invention`) and
    the rule broken."""
    errors: dict[str, list[ValidationError]] = {}
    if not isinstance(rules, Mapping):
        raise ValidationError({"rules": ValidationError(_("规则须为对象。"), code="invalid")})
    for key in rules:
        if key not in (*SECTIONS, "min_grade"):
            errors.setdefault(str(key), []).append(ValidationError(_("未知的规则项。"), code="unknown_rule"))
    for section in SECTIONS:
        values = rules.get(section) or {}
        if not isinstance(values, Mapping):
            errors.setdefault(section, []).append(ValidationError(_("规则须为对象。"), code="invalid"))
            continue
        for key, raw in values.items():
            name = f"{section}.{key}"
            known = GRADES if section == "grade_multipliers" else RIGHT_TYPES
            if key not in known:
                errors.setdefault(name, []).append(ValidationError(_("未知的类型或等级。"), code="unknown_key"))
                continue
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                errors.setdefault(name, []).append(ValidationError(_("须为数字。"), code="not_a_number"))
                continue
            if section in ("max_rate", "grade_multipliers") and not 0 <= raw <= 1:
                errors.setdefault(name, []).append(
                    ValidationError(_("须在 0 与 1 之间（0.25 即 25%）。"), code="out_of_range")
                )
            if section == "min_remaining_years" and not 0 <= raw <= 50:
                errors.setdefault(name, []).append(ValidationError(_("须在 0 与 50 年之间。"), code="out_of_range"))
    grade = rules.get("min_grade") or ""
    if grade and grade not in GRADES:
        errors.setdefault("min_grade", []).append(ValidationError(_("未知的等级。"), code="unknown_grade"))
    if errors:
        raise ValidationError(errors)
    try:
        return policy_from_dict(rules).to_dict()
    except ValueError as exc:  # anything the engine refuses that the checks above missed
        raise ValidationError({"rules": ValidationError(str(exc), code="invalid")}) from exc


def tighten_rules(rules: Mapping[str, Any], factor: float = 0.8) -> dict[str, Any]:
    """A stricter copy of a policy (lower caps), as a bank's own policy in demos and tests."""
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in rules.items()}
    out["max_rate"] = {k: round(float(v) * factor, 4) for k, v in out.get("max_rate", {}).items()}
    return out


def policy_labels() -> dict[str, str]:
    return {
        **{k: str(v) for k, v in POLICY_SECTION_LABELS.items()},
        **{k: str(v) for k, v in RIGHT_TYPE_LABELS.items()},
        **{g: g for g in GRADES},
    }


def _english() -> bool:
    return (get_language() or "").startswith("en")


def dimension_label(key: str) -> str:
    pair = DIMENSION_LABELS.get(key)
    return "" if pair is None else pair[1 if _english() else 0]


# ---------------------------------------------------------------------------
# Labels for pages and reports
# ---------------------------------------------------------------------------


@cache
def indicator_labels(scenario: str) -> dict[str, tuple[str, str]]:
    sc = load_scenario(scenario)
    return {i.key: (i.label_zh, i.label_en) for i in sc.indicators}


@cache
def _dimensions(scenario: str) -> dict[str, str]:
    return {i.key: i.dimension for i in load_scenario(scenario).indicators}


def indicator_dimension(scenario: str, key: str) -> str:
    return _dimensions(scenario).get(key, "")


def scenario_summary(scenario: str = "finance") -> list[dict[str, Any]]:
    """The tree for the method page: dimensions with their weights and indicators."""
    sc = load_scenario(scenario)
    english = _english()
    return [
        {
            "key": d,
            "label": dimension_label(d),
            "weight": sc.dimension_weights.get(d, 0.0),
            "indicators": [
                {"label": i.label_en if english else i.label_zh, "weight": i.weight, "source": i.source}
                for i in sc.indicators
                if i.dimension == d and i.weight > 0
            ],
        }
        for d in DIMENSIONS
    ]


def enterprise_component_labels() -> dict[str, tuple[str, str]]:
    return dict(engine_enterprise.ENTERPRISE_COMPONENTS)


# ---------------------------------------------------------------------------
# Bundles and enterprises
# ---------------------------------------------------------------------------


def bundle(valued: pl.DataFrame, rows: list[dict[str, Any]], *, policy: PledgePolicy) -> dict[str, Any]:
    extra = pl.DataFrame(
        {
            "right_id": [r["right_id"] for r in rows],
            "kind": [r["kind"] for r in rows],
            "patent_type": [r["patent_type"] for r in rows],
            "ipc_section": [r["ipc_section"] for r in rows],
            "main_ipc": [r.get("main_ipc", "") for r in rows],
            "title": [r.get("title", "") for r in rows],
            "holder_enterprise_id": [r.get("holder_enterprise_id") for r in rows],
        }
    )
    result = engine_bundle.value_bundle(valued, rights=extra, policy=policy)
    summary = result.to_dict()
    summary["notes_text"] = engine_bundle.note_texts(result.notes)
    return summary


def bundle_headline(valued: pl.DataFrame, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The bundle's own figures in the shape of one output row, so it is stored like a right's valuation: the
    score and completeness are P50-weighted means of the rights', the contributions likewise (so they still add up
    to the score), the range and the ceiling are the bundle's."""
    weights = [max(0, int(v or 0)) for v in valued.get_column("p50_fen").to_list()]
    total = sum(weights)
    n = valued.height
    share = [w / total for w in weights] if total > 0 else [1.0 / n] * n
    rows = valued.to_dicts()
    score = sum(s * float(r["score"]) for s, r in zip(share, rows, strict=True))
    completeness = sum(s * float(r["completeness"]) for s, r in zip(share, rows, strict=True))
    contributions: dict[str, float] = {}
    for s, r in zip(share, rows, strict=True):
        for key, v in r.items():
            if key.startswith("c_") and v:
                contributions[key] = contributions.get(key, 0.0) + s * float(v)
    gates = sorted({g for r in rows for g in (r.get("gates") or [])})
    reasons = sorted({c for r in rows for c in (r.get("pledge_reasons") or [])})
    eligible = bool(summary.get("eligible_right_ids"))
    p10, p50, p90 = int(summary["p10_fen"]), int(summary["p50_fen"]), int(summary["p90_fen"])
    sigma = max((float(r["sigma"] or 0.0) for r in rows), default=0.0)
    multiplier = sum(s * float(r["gate_multiplier"]) for s, r in zip(share, rows, strict=True))
    return {
        "score": round(score, 4),
        "grade": load_scenario().grade(score),
        "completeness": completeness,
        "gate_multiplier": multiplier,
        "gates": gates,
        **contributions,
        "value_income_fen": None,
        "value_cost_fen": None,
        "value_market_fen": None,
        "p10_fen": p10,
        "p50_fen": p50,
        "p90_fen": p90,
        "sigma": sigma,
        "pledge_rate": float(summary.get("recommended_rate") or 0.0) if eligible else 0.0,
        "loan_ceiling_fen": min(int(summary.get("loan_ceiling_fen") or 0), p10),
        "pledge_eligible": eligible,
        "pledge_reasons": reasons,
    }


def enterprise_score(
    enterprise: Any, rows: list[dict[str, Any]], valued: pl.DataFrame | None, *, as_of: datetime.date
) -> dict[str, Any]:
    revenue = enterprise.revenue.fen if enterprise.revenue is not None else None
    enterprises = pl.DataFrame(
        {
            "enterprise_id": [enterprise.pk],
            "industry_section": [enterprise.industry_section or ""],
            "employees": [enterprise.employees],
            "revenue_fen": [revenue],
            "rd_expense_fen": [None],  # not on the register yet: unknown, never zero
            "established_year": [enterprise.established_on.year if enterprise.established_on else None],
            "is_high_tech": [enterprise.is_high_tech],
            "is_specialised": [enterprise.is_specialised],
            "revenue_growth": [None],
        },
        schema=dict(engine_enterprise.ENTERPRISE_SCHEMA),
    )
    if valued is not None and valued.height:
        facts = pl.DataFrame(
            {
                "right_id": [r["right_id"] for r in rows],
                "kind": [r["kind"] for r in rows],
                "patent_type": [r["patent_type"] for r in rows],
                "filing_year": [r["filing_year"] for r in rows],
                "legal_status": [r["legal_status"] for r in rows],
            },
            schema={
                "right_id": pl.Int64,
                "kind": pl.String,
                "patent_type": pl.String,
                "filing_year": pl.Int32,
                "legal_status": pl.String,
            },
        )
        rights = (
            valued.select("right_id", "score", "p50_fen")
            .join(facts, on="right_id")
            .with_columns(pl.lit(enterprise.pk, dtype=pl.Int64).alias("enterprise_id"))
        )
    else:
        rights = pl.DataFrame(schema=dict(engine_enterprise.VALUED_RIGHTS_SCHEMA))
    scored = engine_enterprise.score_enterprises(enterprises, rights, as_of_year=as_of.year)
    row = scored.row(0, named=True)
    components = {c["key"]: c for c in engine_enterprise.component_rows(row)}
    return {
        "score": float(row["score"]),
        "grade": row["grade"],
        "completeness": float(row["completeness"]),
        "components": components,
    }


# ---------------------------------------------------------------------------
# The learned layer
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Trained:
    model_text: str
    card: dict[str, Any]
    cv_auc: float
    rows: int


def feature_names(label: str) -> list[str]:
    """The learned layer's features for a label: the indicator values and the extra facts, less everything the
    label is defined from (`ml.LABEL_INPUTS`), so the model cannot learn the label's definition instead of value."""
    leaky = set(engine_ml.LABEL_INPUTS.get(label, ()))
    indicators = [f"v_{i.key}" for i in load_scenario("finance").indicators if not leaky & set(i.inputs)]
    return [*indicators, *(c for c in ML_EXTRA if c not in leaky)]


def _features(
    rows: list[dict[str, Any]], cohort_stats: Mapping[str, Any] | CohortStats | None, names: list[str]
) -> pl.DataFrame:
    frame = rights_frame(rows)
    values = indicator_values(frame, "finance", _stats(cohort_stats))
    extra = frame.select("right_id", *ML_EXTRA)
    joined = values.join(extra, on="right_id", how="left", maintain_order="left")
    return joined.select("right_id", *names)


def train(*, label: str, cohort_stats: Mapping[str, Any] | CohortStats | None) -> Trained:
    """Train on every patent of the register whose outcome is revealed (`ml.revealed_value_labels`); refused with
    a ValidationError naming the label when there is too little labelled history."""
    from ipledge.registry.models import IPRight

    from .selectors import right_input_rows

    ids = list(IPRight.objects.filter(kind=IPKind.PATENT).order_by("pk").values_list("pk", flat=True))
    rows = right_input_rows(ids, as_of=timezone.localdate()) if ids else []
    frame = rights_frame(rows)
    labels = engine_ml.revealed_value_labels(frame)
    known = labels.filter(pl.col(label).is_not_null())
    if known.height == 0:
        raise ValidationError({"label": ValidationError(_("平台没有带结果的样本，不能训练。"), code="no_history")})
    features = _features(rows, cohort_stats, feature_names(label)).join(
        known.select("right_id"), on="right_id", how="inner"
    )
    target = features.select("right_id").join(known.select("right_id", label), on="right_id", how="left")
    try:
        model = engine_ml.train_model(features.drop("right_id"), target.get_column(label), label_name=label)
    except engine_ml.InsufficientTrainingData as exc:
        raise ValidationError(
            {
                "label": ValidationError(
                    _("带结果的样本不足，不能训练：%(why)s"), code="insufficient_history", params={"why": str(exc)}
                )
            }
        ) from exc
    return Trained(model_text=model.model_str, card=model.card.to_dict(), cv_auc=model.cv_auc, rows=model.card.n_rows)


def ml_predict(
    model: Any, rows: list[dict[str, Any]], cohort_stats: Mapping[str, Any] | CohortStats | None
) -> list[tuple[int, float, dict[str, float]]]:
    """(right_id, probability, contributions in log-odds) for the patents among `rows`."""
    patents = [r for r in rows if r["kind"] == IPKind.PATENT]
    if not patents:
        return []
    trained = engine_ml.load_model(model.model_text, model.card)
    features = _features(patents, cohort_stats, trained.feature_names)
    predicted = engine_ml.predict(trained, features.drop("right_id"))
    out = []
    for right_id, pred in zip(features.get_column("right_id").to_list(), predicted.iter_rows(named=True), strict=True):
        contributions = {k[3:]: v for k, v in pred.items() if k.startswith("pc_")}
        out.append((int(right_id), float(pred["probability"]), contributions))
    return out
