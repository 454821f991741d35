"""Scorecards (评分卡): scoring a features frame, checking a card's shape, and fitting a card by logistic regression.

Scoring
-------
`score(features, card)` puts every enterprise in one bin of each characteristic and adds the bins' points to the
card's base points, with Polars when/then chains (no per-row Python), so one enterprise and half a million take the
same path. Bin matching, per characteristic, first match wins:

* the missing bin (`missing=True`) takes null values (and NaN for numbers); it is tried first;
* a numeric bin takes `lower <= x < upper` (an end left as None is open);
* a categorical or flag bin takes the values in `categories` (a flag is compared as the text "true" / "false"); a
  categorical bin with no categories takes every other non-missing value (the catch-all for unseen categories);
* a value no bin takes (a gap in the card, or a null without a missing bin) scores 0 points and is labelled
  `UNBINNED` — so the decomposition still holds; `card_problems` reports such gaps before a card is stored.

The result has `enterprise_id`, `score`, and for each characteristic `points_<name>` and `value_<name>` (the bin's
label). `score` = base points + Σ points, rounded to 2 decimals (points are stored with at most 2 decimals, so the
rounding only removes binary floating-point noise and the displayed points add up to the displayed score).

The score scale (decision)
--------------------------
Both kinds of card live on one 0–100-ish scale, so that a criteria's `min_score` means roughly the same thing
whichever card it names:

    score = offset + factor · ln(good:bad odds),  factor = PDO / ln 2,  offset = BASE_SCORE − factor · ln(BASE_ODDS)

with PDO = 10 (ten points double the odds), BASE_SCORE = 60 at BASE_ODDS = 20:1 (a bad rate of about 4.8 %, in the
range of IP-pledge NPL ratios the 2019 notice tolerates: domain.md fact 5). A trained card is on this scale by
construction (see `fit_logistic`); the expert card (`expert.py`) is designed to read the same way — a typical park
SME lands at 50–70 — but its odds are an intention, not a measurement, until a trained card checks them. The scale
is recorded in a trained card's metrics (`scale`), and criteria thresholds are set against the card they name
(`Criteria.scorecard`), so a park that moves to another card re-states its minimum on purpose.

Fitting
-------
`fit_logistic` bins each characteristic with optbinning (`OptimalBinning`: numeric characteristics with a monotonic
event-rate trend, ascending or descending as the data says; categorical characteristics and flags as categories),
replaces each value by its bin's weight of evidence (WoE = ln(share of goods / share of bads), optbinning's sign),
fits a scikit-learn logistic regression of "bad" on the WoE columns, and turns it into points:

    logit P(bad) = α + Σ_j β_j · WoE_j
    score        = offset − factor · logit P(bad) = (offset − factor · α) + Σ_j (−factor · β_j · WoE_j)

so base points = offset − factor · α and a bin's points = −factor · β_j · WoE_bin. This is the textbook per-bin
formula points = −(β·WoE + α/n)·factor + offset/n with the constant terms gathered in the base points instead of
spread over the n characteristics: the same scores, and a bin's points then say only what its evidence is worth.
A characteristic whose coefficient comes out with the wrong sign (β > 0: more evidence of "good" would cost points —
collinearity, not evidence) is dropped and the model refitted; it stays on the card with 0 points and is named in
the metrics (`dropped`). The hold-out metrics (AUC, Gini, KS) are computed from the stored card itself, scoring the
hold-out rows with `score`, so they describe exactly what will be used.

Pure: no Django imports.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from .spec import Bin, Characteristic, ScorecardSpec

KINDS = ("numeric", "categorical", "flag")
UNBINNED = "未分箱"
MISSING_LABEL = "未提供"
OTHER_LABEL = "其他"
FLAG_LABELS = {"true": "是", "false": "否"}

PDO = 10.0
BASE_SCORE = 60.0
BASE_ODDS = 20.0

DEFAULT_TEST_SIZE = 0.3
DEFAULT_SEED = 20260105
DEFAULT_MAX_BINS = 5
DEFAULT_MIN_BIN_SIZE = 0.05


def points_column(name: str) -> str:
    return f"points_{name}"


def value_column(name: str) -> str:
    return f"value_{name}"


# ---------------------------------------------------------------------------------------------------------- scoring


def _values(characteristic: Characteristic) -> tuple[pl.Expr, pl.Expr]:
    """The column as the bins compare it, and its missing mask."""
    col = pl.col(characteristic.name)
    # NaN compares greater than every number in Polars: make it missing, never "≥ the top bin". A Boolean flag
    # becomes the text "true" / "false".
    value = col.cast(pl.Float64).fill_nan(None) if characteristic.kind == "numeric" else col.cast(pl.Utf8)
    return value, value.is_null()


def _condition(characteristic: Characteristic, bin_: Bin, value: pl.Expr, missing: pl.Expr) -> pl.Expr:
    if bin_.missing:
        return missing
    if characteristic.kind == "numeric":
        cond = missing.not_()
        if bin_.lower is not None:
            cond = cond & (value >= float(bin_.lower))
        if bin_.upper is not None:
            cond = cond & (value < float(bin_.upper))
        return cond
    if not bin_.categories:
        return missing.not_()  # the catch-all of a categorical characteristic
    return value.is_in(list(bin_.categories))


def _ordered_bins(characteristic: Characteristic) -> list[Bin]:
    # The missing bin first, so that a null never reaches a numeric comparison or a catch-all.
    return [b for b in characteristic.bins if b.missing] + [b for b in characteristic.bins if not b.missing]


def characteristic_exprs(characteristic: Characteristic) -> tuple[pl.Expr, pl.Expr]:
    """The points and the bin label of one characteristic, as two expressions."""
    value, missing = _values(characteristic)
    bins = _ordered_bins(characteristic)
    if not bins:
        return pl.lit(0.0, dtype=pl.Float64), pl.lit(UNBINNED, dtype=pl.Utf8)
    conditions = [_condition(characteristic, b, value, missing) for b in bins]
    points: Any = pl
    label: Any = pl
    for cond, bin_ in zip(conditions, bins, strict=True):
        points = points.when(cond).then(pl.lit(float(bin_.points), dtype=pl.Float64))
        label = label.when(cond).then(pl.lit(bin_.label, dtype=pl.Utf8))
    return (
        points.otherwise(pl.lit(0.0, dtype=pl.Float64)),
        label.otherwise(pl.lit(UNBINNED, dtype=pl.Utf8)),
    )


def score(features: pl.DataFrame, card: ScorecardSpec) -> pl.DataFrame:
    """One row per row of `features`, in its order: enterprise_id, score, and points_<c> and value_<c> for each
    characteristic."""
    missing = [c.name for c in card.characteristics if c.name not in features.columns]
    if missing:
        raise ValueError(f"features lack the scorecard's characteristics: {', '.join(missing)}")
    if "enterprise_id" not in features.columns:
        raise ValueError("features lack enterprise_id")
    exprs: list[pl.Expr] = []
    names: list[str] = []
    for characteristic in card.characteristics:
        points, label = characteristic_exprs(characteristic)
        exprs += [points.alias(points_column(characteristic.name)), label.alias(value_column(characteristic.name))]
        names.append(points_column(characteristic.name))
    total = pl.lit(float(card.base_points), dtype=pl.Float64)
    if names:
        total = total + pl.sum_horizontal([pl.col(n) for n in names])
    ordered = ["enterprise_id", "score"]
    for characteristic in card.characteristics:
        ordered += [points_column(characteristic.name), value_column(characteristic.name)]
    return (
        features.lazy()
        .select(pl.col("enterprise_id"), *exprs)
        .with_columns(total.round(2).alias("score"))
        .select(ordered)
        .collect()
    )


# ------------------------------------------------------------------------------------------------------ card shape


def card_problems(card: ScorecardSpec) -> list[str]:
    """What is wrong with a card's shape (empty when nothing): unknown kinds, duplicate names, bins that overlap or
    leave a gap on the number line, categories in two bins, no missing bin. English, for logs and tests."""
    problems: list[str] = []
    if card.method not in ("expert", "logistic"):
        problems.append(f"unknown method {card.method!r}")
    if not math.isfinite(card.base_points):
        problems.append("base points are not a finite number")
    seen: set[str] = set()
    for c in card.characteristics:
        where = f"characteristic {c.name!r}"
        if c.name in seen:
            problems.append(f"{where} appears twice")
        seen.add(c.name)
        if c.kind not in KINDS:
            problems.append(f"{where}: unknown kind {c.kind!r}")
            continue
        if not c.bins:
            problems.append(f"{where} has no bins")
            continue
        labels = [b.label for b in c.bins]
        if len(set(labels)) != len(labels):
            problems.append(f"{where}: two bins share a label")
        if any(not math.isfinite(b.points) for b in c.bins):
            problems.append(f"{where}: points must be finite numbers")
        if sum(1 for b in c.bins if b.missing) != 1:
            problems.append(f"{where} needs exactly one missing bin")
        proper = [b for b in c.bins if not b.missing]
        if c.kind == "numeric":
            problems += _numeric_problems(where, proper)
        else:
            problems += _category_problems(where, c.kind, proper)
    return problems


def _numeric_problems(where: str, bins: list[Bin]) -> list[str]:
    if any(b.categories for b in bins):
        return [f"{where}: a numeric bin cannot list categories"]
    for b in bins:
        if b.lower is not None and b.upper is not None and not b.lower < b.upper:
            return [f"{where}: bin {b.label!r} is empty (lower >= upper)"]
    ordered = sorted(bins, key=lambda b: -math.inf if b.lower is None else b.lower)
    if not ordered:
        return [f"{where} has no numeric bin"]
    if ordered[0].lower is not None:
        return [f"{where}: values below {ordered[0].lower} fall in no bin"]
    if ordered[-1].upper is not None:
        return [f"{where}: values from {ordered[-1].upper} up fall in no bin"]
    for left, right in zip(ordered, ordered[1:], strict=False):
        if left.upper is None or right.lower is None or left.upper != right.lower:
            return [f"{where}: bins {left.label!r} and {right.label!r} overlap or leave a gap"]
    return []


def _category_problems(where: str, kind: str, bins: list[Bin]) -> list[str]:
    out: list[str] = []
    if any(b.lower is not None or b.upper is not None for b in bins):
        out.append(f"{where}: a {kind} bin cannot have numeric bounds")
    listed = [cat for b in bins for cat in b.categories]
    if len(set(listed)) != len(listed):
        out.append(f"{where}: a category appears in two bins")
    if kind == "flag":
        if set(listed) != {"true", "false"}:
            out.append(f"{where}: a flag's bins must list exactly 'true' and 'false'")
    elif not any(not b.categories for b in bins):
        out.append(f"{where}: no catch-all bin for other categories")
    return out


# ---------------------------------------------------------------------------------------------------------- fitting


def scale(pdo: float = PDO, base_score: float = BASE_SCORE, base_odds: float = BASE_ODDS) -> dict[str, float]:
    """The score scale: factor and offset of score = offset + factor · ln(good:bad odds)."""
    if pdo <= 0 or base_odds <= 0:
        raise ValueError("pdo and base_odds must be positive")
    factor = pdo / math.log(2.0)
    return {
        "pdo": pdo,
        "base_score": base_score,
        "base_odds": base_odds,
        "factor": factor,
        "offset": base_score - factor * math.log(base_odds),
    }


def _number(value: float) -> str:
    text = f"{value:.3g}"
    return text if "e" not in text else f"{value:.6g}"


def _numeric_label(lower: float | None, upper: float | None, integer: bool) -> str:
    if integer:
        lo = None if lower is None else int(lower)
        hi = None if upper is None else int(upper) - 1  # integers: x < u means x ≤ u − 1
        if lo is None and hi is None:
            return "全部"
        if lo is None:
            return f"≤{hi}"
        if hi is None:
            return f"≥{lo}"
        return str(lo) if lo == hi else f"{lo}–{hi}"
    if lower is None and upper is None:
        return "全部"
    if lower is None:
        return f"<{_number(upper)}"  # type: ignore[arg-type]
    if upper is None:
        return f"≥{_number(lower)}"
    return f"{_number(lower)}–{_number(upper)}"


def _round_split(value: float) -> float:
    return float(f"{value:.6g}")


def _x_array(column: pl.Series, kind: str) -> np.ndarray[Any, Any]:
    if kind == "numeric":
        return column.cast(pl.Float64).fill_nan(None).to_numpy().astype(float)  # nulls become NaN
    values = column.cast(pl.Utf8).to_list()
    return np.array([np.nan if v is None else v for v in values], dtype=object)


def _missing_mask(x: np.ndarray[Any, Any], kind: str) -> np.ndarray[Any, Any]:
    if kind == "numeric":
        return np.isnan(x.astype(float))
    return np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in x], dtype=bool)


def _woe(bin_y: np.ndarray[Any, Any], all_y: np.ndarray[Any, Any]) -> float:
    """ln(share of goods in the bin / share of bads in it), optbinning's sign; 0 when either share is 0."""
    goods, bads = int((bin_y == 0).sum()), int((bin_y == 1).sum())
    all_goods, all_bads = int((all_y == 0).sum()), int((all_y == 1).sum())
    if goods == 0 or bads == 0 or all_goods == 0 or all_bads == 0:
        return 0.0
    return math.log((goods / all_goods) / (bads / all_bads))


class _Binned:
    """One characteristic's optimal binning: its bins (points still to set), WoE per bin and its IV."""

    def __init__(self, name: str, label: str, kind: str, integer: bool, value_labels: Mapping[str, str]) -> None:
        self.name, self.label, self.kind, self.integer = name, label, kind, integer
        self.value_labels = value_labels
        self.bins: list[Bin] = []
        self.woe: list[float] = []
        self.iv = 0.0
        self.status = ""

    def fit(self, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], *, max_bins: int, min_bin_size: float) -> None:
        present = ~_missing_mask(x, self.kind)
        if len(np.unique(x[present].astype(str))) < 2 or len(np.unique(y[present])) < 2:
            self._fit_trivial(x, y, "constant")  # nothing to split: a value seen alone, or only one outcome
            return
        try:
            self._fit_optimal(x, y, max_bins=max_bins, min_bin_size=min_bin_size)
        except (ValueError, RuntimeError) as exc:
            self.bins, self.woe = [], []
            self._fit_trivial(x, y, f"not binned: {exc}")

    def _fit_trivial(self, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], status: str) -> None:
        """One bin for every value (the flag's two values), and the missing bin: only missingness can inform."""
        missing = _missing_mask(x, self.kind)
        self.status = status
        if self.kind == "numeric":
            proper = [Bin(label="全部", points=0.0)]
        elif self.kind == "flag":
            proper = [Bin(label=FLAG_LABELS[v], points=0.0, categories=(v,)) for v in ("true", "false")]
        else:
            proper = [Bin(label=OTHER_LABEL, points=0.0)]
        woe_present, woe_missing = _woe(y[~missing], y), _woe(y[missing], y)
        self.bins = [*proper, Bin(label=MISSING_LABEL, points=0.0, missing=True)]
        self.woe = [woe_present] * len(proper) + [woe_missing]
        self.iv = 0.0

    def _fit_optimal(
        self, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], *, max_bins: int, min_bin_size: float
    ) -> None:
        from optbinning import OptimalBinning

        numeric = self.kind == "numeric"
        ob = OptimalBinning(
            name=self.name,
            dtype="numerical" if numeric else "categorical",
            solver="cp",
            monotonic_trend="auto_asc_desc" if numeric else None,
            max_n_bins=max_bins,
            min_bin_size=min_bin_size,
        )
        with warnings.catch_warnings():
            # optbinning's table puts text into a float column (a pandas deprecation): its problem, not the data's.
            warnings.simplefilter("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", message=".*incompatible dtype.*")
            ob.fit(x, y)
            table = ob.binning_table.build()
        self.status = str(ob.status)
        woe = [float(w) if w != "" else 0.0 for w in table["WoE"].tolist()[:-1]]  # the last row is the totals
        self.iv = float(table.loc["Totals", "IV"]) if "Totals" in table.index else 0.0
        n_proper = len(woe) - 2  # then the special and the missing rows
        proper_woe, missing_woe = woe[:n_proper], woe[-1]
        if numeric:
            splits = [float(s) for s in ob.splits]
            if self.integer:
                splits = sorted({float(math.ceil(s)) for s in splits})
            else:
                splits = [_round_split(s) for s in splits]
            edges: list[float | None] = [None, *splits, None]
            for i in range(len(edges) - 1):
                lower, upper = edges[i], edges[i + 1]
                self.bins.append(
                    Bin(label=_numeric_label(lower, upper, self.integer), points=0.0, lower=lower, upper=upper)
                )
            if len(self.bins) != n_proper:  # integer rounding merged two splits: keep the partition as fitted
                raise ValueError(f"{self.name}: binning of an integer column did not fall on integers")
            self.woe = list(proper_woe)
        else:
            for categories in ob.splits:
                cats = tuple(sorted(str(c) for c in categories))
                names = self.value_labels if self.kind != "flag" else FLAG_LABELS
                text = "、".join(names.get(c, c) for c in cats)
                self.bins.append(Bin(label=text, points=0.0, categories=cats))
            self.woe = list(proper_woe)
            listed = {c for b in self.bins for c in b.categories}
            if self.kind == "flag":
                for value in ("true", "false"):  # a flag value absent from training is neutral
                    if value not in listed:
                        self.bins.append(Bin(label=FLAG_LABELS[value], points=0.0, categories=(value,)))
                        self.woe.append(0.0)
            else:
                self.bins.append(Bin(label=OTHER_LABEL, points=0.0))  # categories unseen in training: neutral
                self.woe.append(0.0)
        self.bins.append(Bin(label=MISSING_LABEL, points=0.0, missing=True))
        self.woe.append(missing_woe)

    def woe_card(self) -> Characteristic:
        """The characteristic with each bin's WoE as its points: scoring with it gives the WoE column."""
        return Characteristic(
            name=self.name,
            label=self.label,
            kind=self.kind,
            bins=tuple(
                Bin(b.label, w, b.lower, b.upper, b.categories, b.missing)
                for b, w in zip(self.bins, self.woe, strict=True)
            ),
        )

    def scored(self, beta: float, factor: float) -> Characteristic:
        return Characteristic(
            name=self.name,
            label=self.label,
            kind=self.kind,
            bins=tuple(
                Bin(b.label, round(-factor * beta * w, 2) + 0.0, b.lower, b.upper, b.categories, b.missing)
                for b, w in zip(self.bins, self.woe, strict=True)
            ),
        )


def _keyed(frame: pl.DataFrame) -> pl.DataFrame:
    return frame if "enterprise_id" in frame.columns else frame.with_row_index("enterprise_id")


def _woe_matrix(frame: pl.DataFrame, binned: Sequence[_Binned]) -> np.ndarray[Any, Any]:
    card = ScorecardSpec(method="logistic", base_points=0.0, characteristics=tuple(b.woe_card() for b in binned))
    scored = score(_keyed(frame), card)
    return scored.select([points_column(b.name) for b in binned]).to_numpy().astype(float)


def ks_statistic(scores: np.ndarray[Any, Any], bad: np.ndarray[Any, Any]) -> float:
    """Kolmogorov–Smirnov: the largest gap between the score distributions of goods and bads."""
    goods, bads = np.sort(scores[bad == 0]), np.sort(scores[bad == 1])
    if len(goods) == 0 or len(bads) == 0:
        return 0.0
    grid = np.unique(scores)
    cdf_good = np.searchsorted(goods, grid, side="right") / len(goods)
    cdf_bad = np.searchsorted(bads, grid, side="right") / len(bads)
    return float(np.max(np.abs(cdf_good - cdf_bad)))


def _discrimination(scores: np.ndarray[Any, Any], bad: np.ndarray[Any, Any]) -> dict[str, float | None]:
    from sklearn.metrics import roc_auc_score

    if len(set(bad.tolist())) < 2:
        return {"auc": None, "gini": None, "ks": None}
    auc = float(roc_auc_score(bad, -scores))  # a higher score must mean a lower risk
    return {"auc": round(auc, 4), "gini": round(2 * auc - 1, 4), "ks": round(ks_statistic(scores, bad), 4)}


def fit_logistic(
    frame: pl.DataFrame,
    target: str,
    characteristics: list[tuple[str, str, str]],
    *,
    pdo: float = PDO,
    base_score: float = BASE_SCORE,
    base_odds: float = BASE_ODDS,
    test_size: float = DEFAULT_TEST_SIZE,
    seed: int = DEFAULT_SEED,
    max_bins: int = DEFAULT_MAX_BINS,
    min_bin_size: float = DEFAULT_MIN_BIN_SIZE,
    value_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[ScorecardSpec, dict[str, Any]]:
    """Fit a scorecard of "bad" (`target`: 1 bad, 0 good) on `characteristics` ((name, label, kind) each); returns
    the card and its metrics (hold-out AUC, Gini, KS; n, bads, the scale, coefficients, IV per characteristic).

    `value_labels` names categorical values in bin labels ({"size_class": {"small": "小型", …}}); `test_size` of the
    rows (stratified by outcome, `seed`) are held out of the fit and give the reported metrics."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    if target not in frame.columns:
        raise ValueError(f"frame lacks the target column {target!r}")
    for name, _label, kind in characteristics:
        if name not in frame.columns:
            raise ValueError(f"frame lacks the characteristic {name!r}")
        if kind not in KINDS:
            raise ValueError(f"characteristic {name!r}: unknown kind {kind!r}")
    y_all = frame.get_column(target).cast(pl.Int64)
    if y_all.null_count():
        raise ValueError(f"target {target!r} has missing values")
    bad_all = y_all.to_numpy()
    if set(np.unique(bad_all).tolist()) != {0, 1}:
        raise ValueError(f"target {target!r} must hold both 0 (good) and 1 (bad)")
    sc = scale(pdo, base_score, base_odds)
    rows = np.arange(frame.height)
    train_idx, test_idx = train_test_split(rows, test_size=test_size, random_state=seed, stratify=bad_all)
    train, test = frame[np.sort(train_idx).tolist()], frame[np.sort(test_idx).tolist()]
    y_train = train.get_column(target).cast(pl.Int64).to_numpy()
    y_test = test.get_column(target).cast(pl.Int64).to_numpy()

    binned: list[_Binned] = []
    for name, label, kind in characteristics:
        integer = kind == "numeric" and frame.schema[name].is_integer()
        b = _Binned(name, label, kind, integer, (value_labels or {}).get(name, {}))
        b.fit(_x_array(train.get_column(name), kind), y_train, max_bins=max_bins, min_bin_size=min_bin_size)
        binned.append(b)

    x_train = _woe_matrix(train, binned)
    kept = list(range(len(binned)))
    dropped: list[str] = []
    betas = np.zeros(len(binned))
    intercept = 0.0
    while True:
        model = LogisticRegression(C=1.0, max_iter=2000)
        if kept:
            model.fit(x_train[:, kept], y_train)
            coef, intercept = model.coef_[0], float(model.intercept_[0])
        else:
            coef = np.zeros(0)
            p = float(np.clip(y_train.mean(), 1e-6, 1 - 1e-6))
            intercept = math.log(p / (1 - p))
        wrong = [(coef[i], kept[i]) for i in range(len(kept)) if coef[i] > 1e-9]
        if not wrong:
            betas[:] = 0.0
            for i, j in enumerate(kept):
                betas[j] = coef[i]
            break
        worst = max(wrong)[1]
        dropped.append(binned[worst].name)
        kept.remove(worst)

    card = ScorecardSpec(
        method="logistic",
        base_points=round(sc["offset"] - sc["factor"] * intercept, 2),
        characteristics=tuple(b.scored(float(betas[i]), sc["factor"]) for i, b in enumerate(binned)),
        notes=(
            "Weights from a logistic regression of loan outcomes (bad = ever classified substandard or worse, or "
            "defaulted) on optbinning weights of evidence; points = −factor·β·WoE, base = offset − factor·α "
            f"(PDO {pdo:g}, {base_score:g} points at {base_odds:g}:1 good:bad odds)."
        ),
    )
    test_scores = score(_keyed(test), card).get_column("score").to_numpy()
    train_scores = score(_keyed(train), card).get_column("score").to_numpy()
    holdout = _discrimination(test_scores, y_test)
    metrics: dict[str, Any] = {
        "n": frame.height,
        "bads": int(bad_all.sum()),
        "bad_rate": round(float(bad_all.mean()), 4),
        "n_train": int(len(train_idx)),
        "n_test": int(len(test_idx)),
        "bads_test": int(y_test.sum()),
        **holdout,
        "train": _discrimination(train_scores, y_train),
        "scale": {k: round(v, 6) for k, v in sc.items()},
        "intercept": round(intercept, 6),
        "coefficients": {b.name: round(float(betas[i]), 6) for i, b in enumerate(binned)},
        "iv": {b.name: round(b.iv, 4) for b in binned},
        "binning_status": {b.name: b.status for b in binned},
        "dropped": dropped,
        "test_size": test_size,
        "seed": seed,
    }
    return card, metrics
