"""Adequacy stress test (压力测试) of a compensation fund: how much could the pooled loans cost it, and how likely is
it to run dry?

A Monte Carlo estimate over the loans in the fund's pool (入池贷款). Each loan has a covered exposure, the fund's
share of a loss on it (after the tier choice of its sharing rule), a risk class under the five-category loan
classification (五级分类: normal 正常, special mention 关注, substandard 次级, doubtful 可疑, loss 损失) and optionally
the valuation grade of its pledged rights, its remaining life and its own expected recovery rate.

Model (one-factor Gaussian copula, Vasicek):

* annual default probability PD = class PD × grade multiplier, clipped to [0, 1]; "default" means the claim
  trigger, the loan turning non-performing with an accepted claim. Over a horizon of h years a loan with
  `years_left` to run can only default while it is alive: PD_h = 1 − (1 − PD)^min(h, years_left).
* one systematic factor Z ~ N(0, 1) per simulation, the region's or park's economy; loan i defaults within h years
  when √ρ·Z + √(1−ρ)·ε_i < Φ⁻¹(PD_h), so conditionally on Z the default probability is
  Φ((Φ⁻¹(PD_h) − √ρ·Z)/√(1−ρ)). ρ is the asset correlation; ρ = 0 makes loans independent.
* recovery per default ~ Beta with the given mean and sd (per loan mean when the portfolio has one);
  the fund pays exposure × fund_share × (1 − recovery).

The horizons share their random numbers (common random numbers): the same Z, ε and recovery draws serve every
horizon, so a loan that defaults within one year has also defaulted within three and every simulated 1-year payout
is at most the 3-year one. Separate streams (spawned from the seed) feed Z, ε and the recoveries, and ε is drawn
row by row, so the result depends on the seed but not on the chunk size. The work runs in chunks of simulations so
that memory stays at chunk × loans numbers, whatever the number of simulations.

The result is a statistical estimate: it is computed in floats and its yuan figures are rounded to whole yuan.
Default assumptions, each with its source, are in `data/stress_assumptions.json`; most are expert assumptions.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.special import ndtri

DATA_DIR = Path(__file__).resolve().parent / "data"
ASSUMPTIONS_PATH = DATA_DIR / "stress_assumptions.json"
LOAN_CLASSES: tuple[str, ...] = ("normal", "special_mention", "substandard", "doubtful", "loss")
GRADES: tuple[str, ...] = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")
HISTOGRAM_BINS = 30
# When a loan's own recovery mean is too close to 0 or 1 for the common sd, the Beta's concentration k = α + β is
# floored here: the mean is kept and the spread is as wide as a Beta allows.
_MIN_CONCENTRATION = 0.02

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class StressAssumptions:
    """Default, grade and recovery assumptions; `load_assumptions()` gives the sourced defaults."""

    pd_by_class: Mapping[str, float]  # annual PD per loan class (all of LOAN_CLASSES)
    grade_multiplier: Mapping[str, float]  # valuation grade -> PD multiplier; a missing grade counts 1.0
    recovery_mean: float  # mean recovery rate of the covered exposure, 0..1
    recovery_sd: float  # sd of the Beta recovery distribution
    correlation: float  # one-factor asset correlation ρ, 0 ≤ ρ < 1
    source: str  # where the numbers come from

    def __post_init__(self) -> None:
        missing = [c for c in LOAN_CLASSES if c not in self.pd_by_class]
        unknown = [c for c in self.pd_by_class if c not in LOAN_CLASSES]
        if missing or unknown:
            raise ValueError(
                f"pd_by_class needs exactly the classes {', '.join(LOAN_CLASSES)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(map(str, unknown))}" if unknown else "")
            )
        for name, value in self.pd_by_class.items():
            _check_range(f"pd_by_class[{name!r}]", value, 0.0, 1.0)
        for grade, value in self.grade_multiplier.items():
            _check_range(f"grade_multiplier[{grade!r}]", value, 0.0, math.inf)
        _check_range("recovery_mean", self.recovery_mean, 0.0, 1.0)
        _check_range("recovery_sd", self.recovery_sd, 0.0, 1.0)
        if not 0.0 <= self.correlation < 1.0:
            raise ValueError(f"correlation must be at least 0 and below 1 (got {self.correlation})")
        mean, sd = self.recovery_mean, self.recovery_sd
        if 0.0 < mean < 1.0 and sd * sd >= mean * (1.0 - mean):
            raise ValueError(
                f"recovery_sd {sd} is too wide for a Beta with mean {mean}: it needs sd² < mean × (1 − mean)"
            )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        data = asdict(self)
        data["pd_by_class"] = dict(self.pd_by_class)
        data["grade_multiplier"] = dict(self.grade_multiplier)
        return data


def _check_range(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{name} must be a number from {low} to {high} (got {value!r})")


@cache
def _defaults_file() -> dict[str, Any]:
    with ASSUMPTIONS_PATH.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def assumption_sources() -> dict[str, str]:
    """The documented reason for each default figure, keyed like the fields ("pd_by_class.normal", …)."""
    data = _defaults_file()
    sources = {"": data["source"], "grade_multiplier": data["grade_multiplier"]["source"]}
    sources.update({f"pd_by_class.{c}": data["pd_by_class"][c]["source"] for c in LOAN_CLASSES})
    sources.update({key: data[key]["source"] for key in ("recovery_mean", "recovery_sd", "correlation")})
    return sources


def load_assumptions(**overrides: Any) -> StressAssumptions:
    """The defaults of `data/stress_assumptions.json`, with any field replaced by a keyword of the same name.

    Mappings are replaced as a whole. An unknown keyword raises `TypeError`; an out-of-range value `ValueError`.
    """
    data = _defaults_file()
    defaults = StressAssumptions(
        pd_by_class={c: float(data["pd_by_class"][c]["value"]) for c in LOAN_CLASSES},
        grade_multiplier={g: float(v) for g, v in data["grade_multiplier"]["values"].items()},
        recovery_mean=float(data["recovery_mean"]["value"]),
        recovery_sd=float(data["recovery_sd"]["value"]),
        correlation=float(data["correlation"]["value"]),
        source=f"stress_assumptions.json {data['version']}: expert assumptions, see assumption_sources()",
    )
    if not overrides:
        return defaults
    names = {f.name for f in fields(StressAssumptions)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"unknown assumption(s): {', '.join(unknown)}")
    changed = dict(overrides)
    for key in ("pd_by_class", "grade_multiplier"):
        if key in changed:
            changed[key] = dict(changed[key])
    if "source" not in changed:
        changed["source"] = f"{defaults.source}; overridden: {', '.join(sorted(overrides))}"
    return replace(defaults, **changed)


def default_probability(portfolio: pl.DataFrame, assumptions: StressAssumptions) -> pl.Series:
    """Annual PD per loan ("pd"): class PD from "loan_class" × the multiplier of the optional "grade", in [0, 1]."""
    if "loan_class" not in portfolio.columns:
        raise ValueError("portfolio: the 'loan_class' column is required")
    classes = portfolio.get_column("loan_class").cast(pl.String)
    unknown = sorted({str(c) for c in classes.unique().to_list() if c not in assumptions.pd_by_class})
    if unknown:
        raise ValueError(f"portfolio: unknown loan_class {', '.join(unknown)} (known: {', '.join(LOAN_CLASSES)})")
    pd_ = classes.replace_strict(dict(assumptions.pd_by_class), return_dtype=pl.Float64)
    if "grade" in portfolio.columns:
        multiplier = (
            portfolio.get_column("grade")
            .cast(pl.String)
            .replace_strict(dict(assumptions.grade_multiplier), default=1.0, return_dtype=pl.Float64)
            .fill_null(1.0)
        )
        pd_ = pd_ * multiplier
    return pd_.clip(0.0, 1.0).alias("pd")


@dataclass(frozen=True)
class HorizonResult:
    """Distribution of the fund's payout over one horizon; yuan figures are whole yuan."""

    years: int
    mean_payout: int
    p50: int
    p90: int
    p95: int
    p99: int
    max_payout: int
    probability_exhausted: float  # share of simulations whose payout exceeds the fund balance
    expected_defaults: float  # mean number of defaults per simulation
    histogram_edges: list[int]  # yuan, HISTOGRAM_BINS + 1 edges
    histogram_counts: list[int]


@dataclass(frozen=True)
class StressResult:
    """A stress-test run: inputs in brief, one result per horizon, the assumptions used and the run time."""

    simulations: int
    loans: int
    exposure: int  # yuan: Σ exposure × fund_share, the fund's covered exposure
    fund_balance: int  # yuan
    seed: int
    horizons: tuple[HorizonResult, ...]
    assumptions: dict[str, Any]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        data = asdict(self)
        data["horizons"] = [asdict(h) for h in self.horizons]
        return data


@dataclass(frozen=True)
class _Loans:
    weight: FloatArray  # fen the fund loses on a default with no recovery: exposure × fund_share
    pd: FloatArray
    years_left: FloatArray  # +inf when unknown
    recovery_mean: FloatArray


def _column(portfolio: pl.DataFrame, name: str) -> FloatArray:
    series = portfolio.get_column(name).cast(pl.Float64)
    if series.null_count():
        raise ValueError(f"portfolio: '{name}' must not be null")
    values = series.to_numpy().astype(np.float64, copy=False)
    if not np.isfinite(values).all():
        raise ValueError(f"portfolio: '{name}' must be finite")
    return values


def _loans(portfolio: pl.DataFrame, assumptions: StressAssumptions) -> _Loans:
    missing = [c for c in ("exposure_fen", "fund_share", "loan_class") if c not in portfolio.columns]
    if missing:
        raise ValueError(f"portfolio: missing column(s) {', '.join(missing)}")
    exposure = _column(portfolio, "exposure_fen")
    share = _column(portfolio, "fund_share")
    if (exposure < 0).any():
        raise ValueError("portfolio: 'exposure_fen' must not be negative")
    if ((share < 0) | (share > 1)).any():
        raise ValueError("portfolio: 'fund_share' must be between 0 and 1")
    pd_ = default_probability(portfolio, assumptions).to_numpy().astype(np.float64, copy=False)
    n = portfolio.height
    years_left = np.full(n, np.inf)
    if "years_left" in portfolio.columns:
        given = portfolio.get_column("years_left").cast(pl.Float64).fill_nan(None).to_numpy()
        # A matured loan (years_left ≤ 0) can no longer default.
        years_left = np.where(np.isnan(given), np.inf, np.maximum(given, 0.0))
    recovery = np.full(n, float(assumptions.recovery_mean))
    if "recovery_mean" in portfolio.columns:
        given = portfolio.get_column("recovery_mean").cast(pl.Float64).fill_nan(None).to_numpy()
        recovery = np.where(np.isnan(given), recovery, given)
        if ((recovery < 0) | (recovery > 1)).any():
            raise ValueError("portfolio: 'recovery_mean' must be between 0 and 1")
    return _Loans(weight=exposure * share, pd=pd_, years_left=years_left, recovery_mean=recovery)


def _horizon_pd(loans: _Loans, years: int) -> FloatArray:
    alive = np.minimum(float(years), loans.years_left)
    # 0 ** 0 == 1, so a certain default (PD 1) on a matured loan (0 years alive) correctly gives PD_h = 0.
    result: FloatArray = 1.0 - np.power(1.0 - loans.pd, alive)
    return np.clip(result, 0.0, 1.0)


class _Recovery:
    """Draws recovery rates for defaulted loans: Beta(mean·k, (1 − mean)·k) with k = mean(1 − mean)/sd² − 1."""

    def __init__(self, means: FloatArray, sd: float, rng: np.random.Generator) -> None:
        self.means = means
        self.rng = rng
        variance = means * (1.0 - means)
        # Degenerate loans (mean 0 or 1, or no spread) recover exactly their mean and draw nothing.
        self.fixed = (variance <= 0.0) | (sd <= 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.maximum(variance / (sd * sd) - 1.0, _MIN_CONCENTRATION) if sd > 0 else np.ones_like(means)
        self.alpha = np.where(self.fixed, 1.0, means * k)
        self.beta = np.where(self.fixed, 1.0, (1.0 - means) * k)
        self.uniform = bool(np.all(means == means[0])) if means.size else True

    def draw(self, loan_index: npt.NDArray[np.intp]) -> FloatArray:
        if loan_index.size == 0:
            return np.zeros(0)
        if self.uniform:
            if self.fixed[0]:
                return np.full(loan_index.size, self.means[0])
            return self.rng.beta(self.alpha[0], self.beta[0], size=loan_index.size)
        rates = self.means[loan_index].copy()
        random = ~self.fixed[loan_index]
        chosen = loan_index[random]
        rates[random] = self.rng.beta(self.alpha[chosen], self.beta[chosen])
        return rates


def _round_yuan(fen: float) -> int:
    return math.floor(fen / 100.0 + 0.5)


def _histogram(payout_yuan: FloatArray) -> tuple[list[int], list[int]]:
    low = math.floor(float(payout_yuan.min()))
    high = math.ceil(float(payout_yuan.max()))
    step = max(1, math.ceil((high - low) / HISTOGRAM_BINS))
    edges = [low + i * step for i in range(HISTOGRAM_BINS + 1)]
    counts, _ = np.histogram(payout_yuan, bins=np.asarray(edges, dtype=np.float64))
    return edges, [int(c) for c in counts]


def _summarise(years: int, payout_fen: FloatArray, defaults: FloatArray, fund_balance_fen: int) -> HorizonResult:
    yuan = payout_fen / 100.0
    p50, p90, p95, p99 = (float(q) for q in np.quantile(yuan, [0.5, 0.9, 0.95, 0.99]))
    edges, counts = _histogram(yuan)
    return HorizonResult(
        years=years,
        mean_payout=_round_yuan(float(payout_fen.mean())),
        p50=math.floor(p50 + 0.5),
        p90=math.floor(p90 + 0.5),
        p95=math.floor(p95 + 0.5),
        p99=math.floor(p99 + 0.5),
        max_payout=_round_yuan(float(payout_fen.max())),
        probability_exhausted=float(np.mean(payout_fen > fund_balance_fen)),
        expected_defaults=float(defaults.mean()),
        histogram_edges=edges,
        histogram_counts=counts,
    )


def simulate(
    portfolio: pl.DataFrame,
    *,
    fund_balance_fen: int,
    horizons: Sequence[int] = (1, 3),
    simulations: int = 10_000,
    seed: int = 20211,
    assumptions: StressAssumptions | None = None,
    chunk: int = 250,
) -> StressResult:
    """Simulate the fund's payout on `portfolio` over each horizon (years); see the module docstring for the model."""
    started = time.perf_counter()
    if isinstance(fund_balance_fen, bool) or not isinstance(fund_balance_fen, int) or fund_balance_fen < 0:
        raise ValueError(f"fund_balance_fen must be whole fen ≥ 0 (got {fund_balance_fen!r})")
    years = tuple(horizons)
    if not years or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in years):
        raise ValueError(f"horizons must be whole years ≥ 1 (got {list(horizons)!r})")
    for name, value in (("simulations", simulations), ("chunk", chunk)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number ≥ 1 (got {value!r})")
    used = assumptions if assumptions is not None else load_assumptions()
    loans = _loans(portfolio, used)

    horizon_pd = np.stack([_horizon_pd(loans, h) for h in years]) if loans.pd.size else np.zeros((len(years), 0))
    # Loans that cannot default within the longest horizon never matter: drop them before the heavy loop.
    longest = int(np.argmax(years))
    active = np.flatnonzero(horizon_pd[longest] > 0.0)
    with np.errstate(divide="ignore"):
        thresholds = ndtri(horizon_pd[:, active])  # Φ⁻¹(PD_h): −inf for 0, +inf for 1, never NaN
    weight = loans.weight[active]

    streams = np.random.SeedSequence(seed).spawn(3)
    factor_rng, idio_rng, recovery_rng = (np.random.default_rng(s) for s in streams)
    factor = factor_rng.standard_normal(simulations)
    recovery = _Recovery(loans.recovery_mean[active], used.recovery_sd, recovery_rng)
    loading, idio_loading = math.sqrt(used.correlation), math.sqrt(1.0 - used.correlation)

    payout = np.zeros((len(years), simulations))
    defaults = np.zeros((len(years), simulations))
    if active.size:
        for begin in range(0, simulations, chunk):
            end = min(begin + chunk, simulations)
            rows_in_chunk = end - begin
            latent = idio_rng.standard_normal((rows_in_chunk, active.size))
            latent *= idio_loading
            latent += (loading * factor[begin:end])[:, None]
            rows, cols = np.nonzero(latent < thresholds[longest][None, :])
            lost = weight[cols] * (1.0 - recovery.draw(cols))
            position = latent[rows, cols]
            for k in range(len(years)):
                if k == longest:
                    hit_rows, hit_lost = rows, lost
                else:
                    hit = position < thresholds[k][cols]
                    hit_rows, hit_lost = rows[hit], lost[hit]
                payout[k, begin:end] = np.bincount(hit_rows, weights=hit_lost, minlength=rows_in_chunk)
                defaults[k, begin:end] = np.bincount(hit_rows, minlength=rows_in_chunk)

    results = tuple(_summarise(h, payout[k], defaults[k], fund_balance_fen) for k, h in enumerate(years))
    return StressResult(
        simulations=simulations,
        loans=portfolio.height,
        exposure=_round_yuan(float(loans.weight.sum())),
        fund_balance=(fund_balance_fen + 50) // 100,
        seed=seed,
        horizons=results,
        assumptions=used.as_dict(),
        seconds=time.perf_counter() - started,
    )
