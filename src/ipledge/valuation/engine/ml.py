"""The machine-learned layer: a small LightGBM classifier of revealed value, next to the indicator model.

The indicator score (expert weights, `scoring.py`) is the explainable default. When the platform has enough labelled
history — rights whose later fate revealed their value (kept in force, transferred, licensed) — this layer learns
from it. It is deliberately small and deterministic, reports an out-of-fold ROC AUC (a row is never scored by a
model that saw it), and explains each prediction with LightGBM's exact tree contributions (`pred_contrib=True`, in
log-odds, summing to the raw margin).

The trained model is kept as LightGBM's text format (`Booster.model_to_string()`) so it can live in a database text
column, plus a `ModelCard` saying what it predicts, from what, how well, and what it must not be used for.

Pure: no Django imports.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
from dataclasses import asdict, dataclass, field
from typing import Any

# OpenMP threads spin while they wait by default; on a shared machine (a web worker, a test run next to others)
# spinning threads fighting for busy cores made our small fits 10–40× slower (measured at load 8 on 2 cores). Passive
# waiting can only cost a little on an idle machine. libgomp reads this when LightGBM loads it, so it is set before the
# import; a value set by the operator wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import lightgbm as lgb  # noqa: E402
import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

MIN_TRAINING_ROWS = 200
MIN_CLASS_ROWS = 30
DEFAULT_SEED = 20261205
DEFAULT_FOLDS = 5

# Small, shallow, strongly regularised: the platform's labelled history will be thin and noisy (document-only
# features reach AUC ≈ 0.57 on renewal, research note §4.2), and a deep ensemble would only memorise it. The round
# count is fixed rather than early-stopped so that the out-of-fold AUC is not tuned on the folds it reports.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_boost_round": 150,
    "num_leaves": 8,
    "max_depth": 3,
    "min_data_in_leaf": 40,
    "lambda_l2": 5.0,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "max_bin": 63,
}

# Always imposed: reproducible to the bit for a given seed and thread count (LightGBM's `deterministic` needs a
# fixed thread count and row-wise histograms).
_FIXED_PARAMS: dict[str, Any] = {
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
    "verbose": -1,
}

LABEL_DEFINITIONS: dict[str, str] = {
    "maintained": (
        "Patent kept in force: True when expired at full term, or valid (fees paid) once old enough to have faced "
        "renewal decisions; False when lapsed for unpaid annual fees; unknown otherwise (see revealed_value_labels)."
    ),
    "transferred": "At least one recorded transfer of the right (transfer_count > 0).",
    "licensed": "At least one recorded licence of the right (licence_count > 0).",
    "transacted": "Transferred or licensed (Kleene or: unknown only when neither is known to be true).",
}

# Inputs that are the label itself, are written by the same event or decide whether it is known: they must not be
# features of a model of that label (nor the indicators `v_<key>` computed from them), or it learns the answer
# rather than the value. An expired right is also the oldest, hence age.
LABEL_INPUTS: dict[str, tuple[str, ...]] = {
    "maintained": ("legal_status", "fee_paid", "remaining_years", "age_years"),
    "transferred": ("transfer_count", "owner_count", "own_share"),
    "licensed": ("licence_count", "implemented"),
    "transacted": ("transfer_count", "licence_count", "implemented", "owner_count", "own_share"),
}

INTENDED_USE = (
    "Ranks rights by the probability that their value will be revealed (the label above), as a second opinion "
    "next to the indicator score in a pledge valuation. Shown with its per-feature contributions."
)
LIMITS = (
    "Not a money value and not a default probability. Trained on the platform's own history, so it inherits its "
    "selection (rights that were registered here) and its censoring (young rights have not yet had the chance to "
    "lapse or be transacted). Document-only features are weak predictors of value; read the CV AUC before relying "
    "on it. Retrain when the population or the indicator definitions change; the indicator model is the fallback."
)


class InsufficientTrainingData(ValueError):
    """Too few labelled rows, or too few of one class, to train and cross-validate a model honestly."""


@dataclass
class ModelCard:
    """What the model predicts, from what, how well, and within which limits (a model card, Mitchell et al. 2019)."""

    label: str
    label_definition: str
    n_rows: int
    positives: int
    positive_rate: float
    features: list[str]
    cv_auc: float
    cv_auc_folds: list[float]
    folds: int
    seed: int
    params: dict[str, Any]
    trained_at: str
    intended_use: str = INTENDED_USE
    limits: str = LIMITS
    library_versions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # A JSON round trip so that the dict stored in a JSON column is exactly what from_dict will read back.
        return dict(json.loads(json.dumps(asdict(self))))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class TrainedModel:
    """A trained booster as LightGBM text, its feature names in order, and its card.

    `oof_probability` holds the out-of-fold probabilities of the training rows (each row predicted once, by the
    fold model that did not see it); it is not stored with the model."""

    model_str: str
    feature_names: list[str]
    card: ModelCard
    oof_probability: np.ndarray | None = field(default=None, repr=False, compare=False)
    _booster: lgb.Booster | None = field(default=None, repr=False, compare=False)

    @property
    def booster(self) -> lgb.Booster:
        if self._booster is None:
            self._booster = lgb.Booster(model_str=self.model_str)
        return self._booster

    @property
    def cv_auc(self) -> float:
        return self.card.cv_auc


def library_versions() -> dict[str, str]:
    import sklearn

    return {
        "python": platform.python_version(),
        "lightgbm": lgb.__version__,
        "scikit-learn": sklearn.__version__,
        "polars": pl.__version__,
        "numpy": np.__version__,
    }


def resolved_params(params: dict[str, Any] | None = None, *, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The defaults, overridden by `params`, with the determinism settings and the seed imposed."""
    merged = {**DEFAULT_PARAMS, **(params or {}), **_FIXED_PARAMS, "seed": seed}
    merged["objective"] = "binary"  # this layer is a binary classifier whatever the caller passes
    return merged


def feature_matrix(features: pl.DataFrame, feature_names: list[str] | None = None) -> np.ndarray:
    """Numeric features as a float64 matrix with nulls as NaN (LightGBM's missing value: unknown is not zero)."""
    names = list(features.columns) if feature_names is None else feature_names
    missing = [name for name in names if name not in features.columns]
    if missing:
        raise KeyError(f"features missing from the frame: {', '.join(missing)}")
    bad = [name for name in names if not (features.schema[name].is_numeric() or features.schema[name] == pl.Boolean)]
    if bad:
        raise TypeError(f"features must be numeric or boolean; not: {', '.join(bad)}")
    if not names:
        raise ValueError("no features")
    selected = features.select(pl.col(name).cast(pl.Float64).fill_nan(None) for name in names)
    return selected.to_numpy(allow_copy=True).astype(np.float64, copy=False)


def _label_array(label: pl.Series, n: int) -> np.ndarray:
    if label.len() != n:
        raise ValueError(f"label has {label.len()} rows, features {n}")
    if label.null_count():
        raise ValueError(f"label has {label.null_count()} unknown rows: drop unlabelled rows before training")
    values = label.cast(pl.Int8).to_numpy()
    if not np.isin(values, (0, 1)).all():
        raise ValueError("label must be boolean or 0/1")
    return values.astype(np.int8)


def check_trainable(y: np.ndarray) -> None:
    """Refuse (naming the rule) when the labelled history is too thin to train and cross-validate honestly."""
    n, positives = int(y.size), int(y.sum())
    negatives = n - positives
    if n < MIN_TRAINING_ROWS or min(positives, negatives) < MIN_CLASS_ROWS:
        raise InsufficientTrainingData(
            f"not enough labelled history to train: {n} rows ({positives} positive, {negatives} negative); need at "
            f"least {MIN_TRAINING_ROWS} rows and {MIN_CLASS_ROWS} of each class. The indicator model stands alone."
        )


def fit_booster(
    x: np.ndarray, y: np.ndarray, feature_names: list[str], *, params: dict[str, Any] | None = None, seed: int
) -> lgb.Booster:
    """One booster on these rows with the layer's parameters (used for the final model and for each fold)."""
    resolved = resolved_params(params, seed=seed)
    rounds = int(resolved.pop("num_boost_round"))
    dataset = lgb.Dataset(x, label=y, feature_name=feature_names)  # binning params come from `resolved` in train
    return lgb.train(resolved, dataset, num_boost_round=rounds)


def cross_validated_probability(
    x: np.ndarray,
    y: np.ndarray,
    feature_names: list[str],
    *,
    params: dict[str, Any] | None = None,
    folds: int = DEFAULT_FOLDS,
    seed: int = DEFAULT_SEED,
) -> tuple[np.ndarray, list[float]]:
    """Out-of-fold probabilities under stratified k-fold and the AUC of each fold.

    Every row is predicted exactly once, by the model fitted on the other folds."""
    if folds < 2:
        raise ValueError("folds must be at least 2")
    oof = np.full(y.size, np.nan)
    times_scored = np.zeros(y.size, dtype=np.int64)
    fold_aucs: list[float] = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(np.zeros(y.size), y):
        booster = fit_booster(x[train_idx], y[train_idx], feature_names, params=params, seed=seed)
        oof[test_idx] = booster.predict(x[test_idx])
        times_scored[test_idx] += 1
        fold_aucs.append(float(roc_auc_score(y[test_idx], oof[test_idx])))
    if not (times_scored == 1).all():  # a broken splitter would silently leak; never report such an AUC
        raise AssertionError("out-of-fold predictions must cover every row exactly once")
    return oof, fold_aucs


def train_model(
    features: pl.DataFrame,
    label: pl.Series,
    *,
    params: dict[str, Any] | None = None,
    folds: int = DEFAULT_FOLDS,
    seed: int = DEFAULT_SEED,
    label_name: str | None = None,
    label_definition: str | None = None,
) -> TrainedModel:
    """Cross-validate, then fit the final model on all rows.

    `features`: one numeric (or boolean) column per feature, nulls for unknown. `label`: boolean or 0/1, no nulls.
    Raises `InsufficientTrainingData` below `MIN_TRAINING_ROWS` rows or `MIN_CLASS_ROWS` of either class."""
    feature_names = list(features.columns)
    if "bias" in feature_names:
        raise ValueError("a feature may not be called 'bias': its contribution column would clash with pc_bias")
    x = feature_matrix(features, feature_names)
    y = _label_array(label, features.height)
    check_trainable(y)
    oof, fold_aucs = cross_validated_probability(x, y, feature_names, params=params, folds=folds, seed=seed)
    booster = fit_booster(x, y, feature_names, params=params, seed=seed)
    name = label_name or label.name or "label"
    positives = int(y.sum())
    card = ModelCard(
        label=name,
        label_definition=label_definition or LABEL_DEFINITIONS.get(name, f"binary label {name!r}"),
        n_rows=int(y.size),
        positives=positives,
        positive_rate=round(positives / y.size, 6),
        features=feature_names,
        cv_auc=round(float(roc_auc_score(y, oof)), 6),
        cv_auc_folds=[round(a, 6) for a in fold_aucs],
        folds=folds,
        seed=seed,
        params=resolved_params(params, seed=seed),
        trained_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        library_versions=library_versions(),
    )
    return TrainedModel(
        model_str=booster.model_to_string(),
        feature_names=feature_names,
        card=card,
        oof_probability=oof,
        _booster=booster,
    )


def load_model(model_str: str, card_dict: dict[str, Any]) -> TrainedModel:
    """A stored model back from its LightGBM text and its card dict."""
    booster = lgb.Booster(model_str=model_str)
    card = ModelCard.from_dict(card_dict)
    names = list(booster.feature_name())
    if card.features and list(card.features) != names:
        raise ValueError("the model card's features do not match the booster's")
    return TrainedModel(model_str=model_str, feature_names=names, card=card, _booster=booster)


def predict(model: TrainedModel, features: pl.DataFrame) -> pl.DataFrame:
    """`probability` and, per feature, its contribution `pc_<feature>` plus `pc_bias`, in log-odds.

    The contributions are LightGBM's exact tree attributions (Lundberg's TreeSHAP): for each row they sum to the raw
    margin, so probability = sigmoid(sum of pc_*). Extra columns in `features` are ignored; a missing one is an
    error (the model would otherwise be fed a different feature set than it was trained on)."""
    names = model.feature_names
    contrib_columns = [f"pc_{name}" for name in names] + ["pc_bias"]
    if features.height == 0:
        return pl.DataFrame(schema={"probability": pl.Float64, **dict.fromkeys(contrib_columns, pl.Float64)})
    x = feature_matrix(features, names)
    contrib = np.asarray(model.booster.predict(x, pred_contrib=True), dtype=np.float64)
    margin = contrib.sum(axis=1)
    probability = 1.0 / (1.0 + np.exp(-margin))
    data: dict[str, Any] = {"probability": probability}
    data.update({column: contrib[:, i] for i, column in enumerate(contrib_columns)})
    return pl.DataFrame(data)


# Rights younger than this have faced too few annual-fee decisions for "still valid" to say much: in China most
# lapses for unpaid fees come in the first years after grant, so a valid right is counted as maintained only from here.
MAINTAINED_MIN_AGE_YEARS = 4.0


def revealed_value_labels(frame: pl.DataFrame, *, min_age_years: float = MAINTAINED_MIN_AGE_YEARS) -> pl.DataFrame:
    """The platform's revealed-value labels (显示价值) from the engine input frame, null where not revealed.

    * ``maintained`` — patents only. The holder kept paying annual fees: True when `legal_status` is ``expired``
      (full term) or ``valid`` with fees paid (or not recorded) and `age_years` ≥ `min_age_years`; False when ``lapsed`` (terminated
      for unpaid fees, 未缴年费终止). Null for younger valid rights (censored: not yet tested), valid rights with
      fees unpaid (grace period), pending, abandoned, invalidated or revoked rights (not a maintenance decision)
      and non-patents. CNIPA's own high-value marker is "维持年限超过10年" (research note §0.8).
    * ``transferred`` / ``licensed`` — at least one recorded transfer / licence; null when the count is unknown.
      Censored too: a young right with none may still be transacted.
    * ``transacted`` — transferred or licensed (Kleene logic: true if either is true).

    Returns `right_id` (when present) and the four label columns, in the input's row order."""
    status = pl.col("legal_status")
    is_patent = pl.col("kind") == "patent"
    fee_ok = pl.col("fee_paid").fill_null(True)  # the fee flag is often unrecorded for valid rights
    old_enough = pl.col("age_years") >= min_age_years
    maintained = (
        pl.when(~is_patent)
        .then(None)
        .when(status == "expired")
        .then(True)
        .when(status == "lapsed")
        .then(False)
        .when((status == "valid") & fee_ok & old_enough.fill_null(False))
        .then(True)
        .otherwise(None)
        .cast(pl.Boolean)
    )
    transferred = (pl.col("transfer_count") > 0).cast(pl.Boolean)
    licensed = (pl.col("licence_count") > 0).cast(pl.Boolean)
    keep = ["right_id"] if "right_id" in frame.columns else []
    return frame.select(
        *keep,
        maintained.alias("maintained"),
        transferred.alias("transferred"),
        licensed.alias("licensed"),
        (transferred | licensed).alias("transacted"),
    )


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC, NaN when only one class is present (a section with no positives has no ranking to judge)."""
    y = np.asarray(y)
    if y.size == 0 or y.min() == y.max():
        return math.nan
    return float(roc_auc_score(y, score))
