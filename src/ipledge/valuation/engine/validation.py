"""Validation of the indicator score and the learned layer on a real revealed-value label (valuation.md §4.2, §6).

Data: `jy2014_us_univ_patents_2004_features_maintfee.csv` (12,030 US university patents granted in 2004, from
JY2014/PatentEvaluation; no licence stated, so it is read at run time from wherever it lies and never copied into
the repository). Columns: `id`, `publication_year`, one-hot first CPC section `B`…`H` (all zero = A or other),
`num_applications` (number of leaf CPC codes), `num_patent_citations`, `num_nonpatent_citations`, `num_claims`,
`num_similar_doc`, `num_authors` (inventors) and `payment_times`, the number of US maintenance fees paid (0–3).

Label: maintained to full term, `payment_times >= 3`. One row has 4 payments, a scraping glitch (there are only
three US maintenance fees); it is counted as full term.

Mapping into the engine's input frame (docs/valuation-engine.md): each row is a granted, valid invention patent
valued at grant (T0), so everything the file does not say stays null (unknown, not zero): `claims_count` =
num_claims, `backward_citations` = num_patent_citations, `ipc_count` = num_applications, `ipc_section` from the
one-hot, `filing_year` = publication_year (the file has no filing date). The file's other columns — NPL citations,
inventors, similar documents — have no indicator in the tree and are used only by the learned models, normalised
within the same cohorts.

Everything is measured under stratified k-fold cross-validation with a fixed seed. Every fitted quantity — cohort
statistics, percentile ranks of the baseline, the logistic regression, the LightGBM layer — is fitted on the
training fold and applied to the test fold, so each row is scored exactly once by something that never saw it.
Nothing is tuned: the expert weights are scored as they stand, and the learners use fixed default settings.

Pure: no Django imports.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import ml
from .cohort import DEFAULT_COHORT, normalise_within_cohort
from .pipeline import fit_rights_cohort_stats, indicator_values, value_rights
from .tree import RIGHT_INPUT_SCHEMA, resolve_scenario

JY2014_FILE = "jy2014_us_univ_patents_2004_features_maintfee.csv"
JY2014_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.String,
    "publication_year": pl.Int32,
    **{section: pl.Int8 for section in "BCDEFGH"},
    "num_applications": pl.Int64,
    "num_patent_citations": pl.Int64,
    "num_nonpatent_citations": pl.Int64,
    "num_claims": pl.Int64,
    "num_similar_doc": pl.Int64,
    "num_authors": pl.Int64,
    "payment_times": pl.Int64,
}
CPC_ONE_HOT: tuple[str, ...] = ("B", "C", "D", "E", "F", "G", "H")
FULL_TERM_PAYMENTS = 3  # US maintenance fees fall due at 3.5, 7.5 and 11.5 years: three paid = kept to full term
EXTRA_COLUMNS: dict[str, str] = {
    "npl_citations": "num_nonpatent_citations",
    "inventors": "num_authors",
    "similar_docs": "num_similar_doc",
}
LABEL = "maintained_full_term"
LABEL_DEFINITION = "US maintenance fees paid at least 3 times (kept to full term); payment_times >= 3"
DEFAULT_SCENARIO = "finance"
RESEARCH_NOTE_BASELINE_AUC = 0.570  # valuation.md §4.2: claims + backward citations + NPL + CPC count composite

# Baselines: equal-weight mean of percentile ranks of raw counts (valuation.md §4.2).
BASELINES: dict[str, tuple[str, ...]] = {
    "baseline": ("claims_count", "backward_citations"),
    "baseline4": ("claims_count", "backward_citations", "npl_citations", "ipc_count"),
}
METHOD_LABELS: dict[str, str] = {
    "baseline": "baseline: claims + backward citations (percentile mean)",
    "baseline4": "baseline: claims + citations + NPL + CPC count",
    "indicator": "indicator score, expert weights (no fitting)",
    "logit": "logistic regression on v_* + extras (in fold)",
    "ml": "LightGBM layer on v_* + extras (in fold)",
}
JSON_METHOD_KEYS: dict[str, str] = {
    "baseline": "baseline_auc",
    "baseline4": "baseline4_auc",
    "indicator": "indicator_auc",
    "logit": "logit_auc",
    "ml": "auc",
}


def load_jy2014(path: str | Path) -> pl.DataFrame:
    """The raw file, typed; raises if a column is missing."""
    raw = pl.read_csv(path, schema_overrides=JY2014_SCHEMA)
    missing = [c for c in JY2014_SCHEMA if c not in raw.columns]
    if missing:
        raise ValueError(f"{Path(path).name}: missing columns {', '.join(missing)}")
    return raw.select(list(JY2014_SCHEMA))


def _section_expr() -> pl.Expr:
    # The first set column wins (the file has one per row); the file has no A column, so all zeros is A or other.
    expr: Any = pl.when(pl.col(CPC_ONE_HOT[0]) == 1).then(pl.lit(CPC_ONE_HOT[0]))
    for section in CPC_ONE_HOT[1:]:
        expr = expr.when(pl.col(section) == 1).then(pl.lit(section))
    result: pl.Expr = expr.otherwise(pl.lit("A"))
    return result


def jy2014_rights(raw: pl.DataFrame) -> pl.DataFrame:
    """The engine's input frame (`RIGHT_INPUT_SCHEMA`) for the file's rows, valued at grant."""
    known = raw.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("right_id"),
        pl.lit("patent").alias("kind"),
        pl.lit("invention").alias("patent_type"),
        _section_expr().alias("ipc_section"),
        pl.col("publication_year").cast(pl.Int32).alias("filing_year"),
        pl.lit("valid").alias("legal_status"),  # granted and in force at T0; a null status would gate to 0
        pl.col("num_claims").alias("claims_count"),
        pl.col("num_patent_citations").alias("backward_citations"),
        pl.col("num_applications").alias("ipc_count"),
    )
    return known.with_columns(
        pl.lit(None, dtype=dtype).alias(name) for name, dtype in RIGHT_INPUT_SCHEMA.items() if name not in known.columns
    ).select([pl.col(name).cast(dtype) for name, dtype in RIGHT_INPUT_SCHEMA.items()])


def jy2014_extras(raw: pl.DataFrame) -> pl.DataFrame:
    """The file's counts that the indicator tree has no indicator for, with the cohort keys."""
    return raw.select(
        _section_expr().alias("ipc_section"),
        pl.col("publication_year").cast(pl.Int32).alias("filing_year"),
        *(pl.col(source).alias(name) for name, source in EXTRA_COLUMNS.items()),
    )


def jy2014_label(raw: pl.DataFrame) -> np.ndarray:
    return (raw["payment_times"].to_numpy() >= FULL_TERM_PAYMENTS).astype(np.int8)


def percentile_against(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Mid-rank percentile of each test value within the training values (ties share the middle of their run)."""
    ordered = np.sort(train)
    left = np.searchsorted(ordered, test, side="left")
    right = np.searchsorted(ordered, test, side="right")
    return (left + right) / (2.0 * ordered.size)


def _logistic_model() -> Any:
    # Fixed, untuned settings: median imputation (with a missing flag) and unit scaling, fitted in fold.
    return make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True),
        StandardScaler(),
        LogisticRegression(C=1.0, max_iter=2000),
    )


@dataclass
class ValidationReport:
    """Figures of one validation run; `text()` prints them, `to_json()` is the machine-readable summary."""

    dataset: str
    scenario: str
    n: int
    positives: int
    folds: int
    seed: int
    auc: dict[str, float]  # method → pooled out-of-fold AUC
    fold_auc: dict[str, list[float]]
    features: list[str]
    mean_score_by_payments: dict[int, float]
    mean_probability_by_payments: dict[int, float]
    count_by_payments: dict[int, int]
    by_section: list[dict[str, Any]]
    notes: list[str]
    oof: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    times_scored: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=np.int64))
    fold_of_row: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def positive_rate(self) -> float:
        return self.positives / self.n if self.n else math.nan

    @property
    def score_monotone(self) -> bool:
        """Mean indicator score does not fall as the number of maintenance payments rises."""
        means = [self.mean_score_by_payments[k] for k in sorted(self.mean_score_by_payments)]
        return all(b >= a for a, b in zip(means, means[1:], strict=False))

    def rows(self) -> list[tuple[str, ...]]:
        """The methods table: header, then one row per method (pooled AUC, fold mean and standard deviation)."""
        out: list[tuple[str, ...]] = [("method", "AUC", "fold mean", "fold sd")]
        for method, label in METHOD_LABELS.items():
            folds = self.fold_auc.get(method, [])
            out.append(
                (
                    label,
                    _fmt(self.auc.get(method, math.nan)),
                    _fmt(float(np.mean(folds)) if folds else math.nan),
                    _fmt(float(np.std(folds)) if folds else math.nan),
                )
            )
        return out

    def payment_rows(self) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = [("payments", "n", "mean indicator score", "mean ML probability")]
        for k in sorted(self.mean_score_by_payments):
            label = f"{k}+" if k == FULL_TERM_PAYMENTS else str(k)
            out.append(
                (
                    label,
                    str(self.count_by_payments[k]),
                    f"{self.mean_score_by_payments[k]:.2f}",
                    _fmt(self.mean_probability_by_payments[k]),
                )
            )
        return out

    def section_rows(self) -> list[tuple[str, ...]]:
        header = ("CPC section", "n", "positives", "baseline AUC", "indicator AUC", "ML AUC")
        return [header] + [
            (
                s["section"],
                str(s["n"]),
                str(s["positives"]),
                _fmt(s["baseline_auc"]),
                _fmt(s["indicator_auc"]),
                _fmt(s["auc"]),
            )
            for s in self.by_section
        ]

    def text(self) -> str:
        """The whole report as aligned plain text."""
        head = (
            f"{self.dataset}: {self.n} rows, {self.positives} maintained to full term "
            f"({self.positive_rate:.1%}); {self.folds}-fold stratified CV, seed {self.seed}; "
            f"scenario {self.scenario}"
        )
        monotone = "yes" if self.score_monotone else "NO"
        parts = [
            head,
            "",
            format_table(self.rows()),
            "",
            f"Monotone check (mean out-of-fold indicator score by maintenance payments): {monotone}",
            format_table(self.payment_rows()),
            "",
            "Robustness by CPC section (out-of-fold scores):",
            format_table(self.section_rows()),
            "",
            f"Learned-model features: {', '.join(self.features)}",
            *(f"Note: {note}" for note in self.notes),
        ]
        return "\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {key: _round(self.auc.get(method)) for method, key in JSON_METHOD_KEYS.items()}
        out |= {
            "n": self.n,
            "positives": self.positives,
            "positive_rate": _round(self.positive_rate),
            "folds": self.folds,
            "seed": self.seed,
            "label": LABEL,
            "scenario": self.scenario,
            "dataset": self.dataset,
            "fold_auc": {JSON_METHOD_KEYS[m]: [_round(a) for a in aucs] for m, aucs in self.fold_auc.items()},
            "mean_score_by_payments": {str(k): _round(v) for k, v in self.mean_score_by_payments.items()},
            "score_monotone": self.score_monotone,
            "by_section": [
                {k: (_round(v) if isinstance(v, float) else v) for k, v in s.items()} for s in self.by_section
            ],
            "features": self.features,
        }
        return out

    def to_json(self) -> str:
        """One line of JSON (NaN as null)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(", ", ": "))


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.3f}"


def format_table(rows: Sequence[Sequence[str]]) -> str:
    """Rows as plain text: first column left-aligned, the others right-aligned, two spaces apart."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _feature_frame(values: pl.DataFrame, extras: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    return pl.concat([values, extras], how="horizontal").select(names)


def validate_frame(
    raw: pl.DataFrame,
    *,
    folds: int = ml.DEFAULT_FOLDS,
    seed: int = ml.DEFAULT_SEED,
    scenario: str = DEFAULT_SCENARIO,
    dataset: str = JY2014_FILE,
    ml_params: dict[str, Any] | None = None,
) -> ValidationReport:
    """Cross-validate every method on the raw jy2014-format frame (see the module docstring)."""
    sc = resolve_scenario(scenario)
    rights = jy2014_rights(raw)
    extras = jy2014_extras(raw)
    y = jy2014_label(raw)
    n, positives = int(y.size), int(y.sum())
    if folds < 2 or min(positives, n - positives) < folds:
        raise ValueError(f"cannot run {folds}-fold CV on {n} rows with {positives} positives")
    extra_names = list(EXTRA_COLUMNS)
    raw_counts = pl.concat(
        [rights.select(BASELINES["baseline"] + ("ipc_count",)), extras.select(extra_names)], how="horizontal"
    )

    oof = {method: np.full(n, np.nan) for method in METHOD_LABELS}
    fold_auc: dict[str, list[float]] = {method: [] for method in METHOD_LABELS}
    times_scored = np.zeros(n, dtype=np.int64)
    fold_of_row = np.full(n, -1, dtype=np.int64)
    features_seen: list[str] = []

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (tr, te) in enumerate(splitter.split(np.zeros(n), y)):
        rights_tr, rights_te = rights[tr], rights[te]
        y_tr, y_te = y[tr], y[te]
        predictions: dict[str, np.ndarray] = {}

        # Baselines: percentile of each raw count within the training fold, averaged with equal weights.
        for method, columns in BASELINES.items():
            ranks = [percentile_against(raw_counts[c].to_numpy()[tr], raw_counts[c].to_numpy()[te]) for c in columns]
            predictions[method] = np.mean(ranks, axis=0)

        # The engine, with cohort statistics from the training fold only.
        stats = fit_rights_cohort_stats(rights_tr, sc)
        predictions["indicator"] = value_rights(rights_te, scenario=sc, cohort_stats=stats)["score"].to_numpy()
        v_tr = indicator_values(rights_tr, sc, cohort_stats=stats).drop("right_id")
        v_te = indicator_values(rights_te, sc, cohort_stats=stats).drop("right_id")
        ex_tr, ex_stats = normalise_within_cohort(extras[tr], extra_names, DEFAULT_COHORT, sc.cohort_trim)
        ex_te, _ = normalise_within_cohort(extras[te], extra_names, DEFAULT_COHORT, sc.cohort_trim, stats=ex_stats)
        # Indicators the file cannot inform (all null in the training fold) carry nothing to learn from.
        names = [c for c in v_tr.columns if v_tr[c].null_count() < v_tr.height] + extra_names
        features_seen = features_seen or names
        f_tr = _feature_frame(v_tr, ex_tr.select(extra_names), names)
        f_te = _feature_frame(v_te, ex_te.select(extra_names), names)
        x_tr, x_te = ml.feature_matrix(f_tr, names), ml.feature_matrix(f_te, names)

        logit = _logistic_model().fit(x_tr, y_tr)
        predictions["logit"] = logit.predict_proba(x_te)[:, 1]
        booster = ml.fit_booster(x_tr, y_tr, names, params=ml_params, seed=seed)
        predictions["ml"] = np.asarray(booster.predict(x_te), dtype=np.float64)

        for method, predicted in predictions.items():
            oof[method][te] = predicted
            fold_auc[method].append(ml.auc(y_te, predicted))
        times_scored[te] += 1
        fold_of_row[te] = fold

    if not (times_scored == 1).all():  # never report an AUC from rows scored twice or not at all
        raise AssertionError("out-of-fold predictions must cover every row exactly once")

    payments = np.minimum(raw["payment_times"].to_numpy(), FULL_TERM_PAYMENTS)
    classes = sorted(int(k) for k in np.unique(payments))
    sections = np.asarray(rights["ipc_section"].to_list())
    by_section = []
    for section in sorted(set(sections.tolist())):
        mask = sections == section
        by_section.append(
            {
                "section": section,
                "n": int(mask.sum()),
                "positives": int(y[mask].sum()),
                "baseline_auc": ml.auc(y[mask], oof["baseline"][mask]),
                "indicator_auc": ml.auc(y[mask], oof["indicator"][mask]),
                "auc": ml.auc(y[mask], oof["ml"][mask]),
            }
        )
    notes = []
    above = int((raw["payment_times"] > FULL_TERM_PAYMENTS).sum())
    if above:
        notes.append(f"{above} row(s) with payment_times > {FULL_TERM_PAYMENTS} counted as full term (data glitch).")
    notes.append(
        f"Research note §4.2 reports AUC {RESEARCH_NOTE_BASELINE_AUC:.3f} for the 4-feature composite on all rows "
        "(ranked in-sample); the baselines here rank test rows against the training fold."
    )
    return ValidationReport(
        dataset=dataset,
        scenario=sc.key,
        n=n,
        positives=positives,
        folds=folds,
        seed=seed,
        auc={method: ml.auc(y, oof[method]) for method in METHOD_LABELS},
        fold_auc=fold_auc,
        features=features_seen,
        mean_score_by_payments={k: float(oof["indicator"][payments == k].mean()) for k in classes},
        mean_probability_by_payments={k: float(oof["ml"][payments == k].mean()) for k in classes},
        count_by_payments={k: int((payments == k).sum()) for k in classes},
        by_section=by_section,
        notes=notes,
        oof=oof,
        times_scored=times_scored,
        fold_of_row=fold_of_row,
    )


def validate(
    path: str | Path,
    *,
    folds: int = ml.DEFAULT_FOLDS,
    seed: int = ml.DEFAULT_SEED,
    scenario: str = DEFAULT_SCENARIO,
    ml_params: dict[str, Any] | None = None,
) -> ValidationReport:
    """Load the jy2014 file from `path` and cross-validate every method on it."""
    raw = load_jy2014(path)
    return validate_frame(raw, folds=folds, seed=seed, scenario=scenario, dataset=Path(path).name, ml_params=ml_params)
