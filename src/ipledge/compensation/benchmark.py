"""`ipledge bench compensation`: the funds' Monte Carlo stress test against a naive per-simulation loop.

For every fund in the database, `stress.run_for_fund` — read the pool, build the Polars frame, simulate with the
vectorised engine (`engine.stress.simulate`, chunks of 250 simulations × all loans in NumPy) — timed as ``seconds``
(all funds) and ``seconds_simulate`` (the engine alone). The baseline is the same model written the obvious way
(`naive_simulate`): plain Python, one simulation at a time, one loan at a time (`random.gauss` for the factor and
each loan's latent variable, `random.betavariate` for each recovery), on the same portfolio frame and assumptions.
It is timed on ``baseline_simulations`` simulations (default 500) and extrapolated linearly to the engine's number
(its cost is the same for every simulation); ``ratio`` = extrapolated baseline ÷ engine seconds.

The two use different random streams, so their figures agree only statistically: ``agree`` is true when, for every
fund and horizon, the baseline's mean payout and mean number of defaults are within four standard errors of the
baseline's mean (its sample is the smaller one, so its error dominates) of the engine's. The database is seeded first when it is empty:
`seed_loans --scale S` when it has no loans (a reduced registry first when it has no enterprises), then
`seed_compensation --scale S` when it has no funds.
"""

from __future__ import annotations

import datetime
import math
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import polars as pl

from .engine import stress as engine

AGREE_SIGMAS = 4.0


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux, bytes on macOS
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def naive_simulate(
    portfolio: pl.DataFrame,
    *,
    fund_balance_fen: int,
    assumptions: engine.StressAssumptions,
    simulations: int,
    seed: int = 1,
    horizons: tuple[int, ...] = (1, 3),
) -> dict[int, dict[str, Any]]:
    """The engine's model, one simulation and one loan at a time in plain Python (the benchmark's baseline).

    Per horizon: the payout of every simulation (fen), the number of defaults, the mean and P(exhausted)."""
    rng = random.Random(seed)
    pd_ = engine.default_probability(portfolio, assumptions).to_list()
    exposure = portfolio.get_column("exposure_fen").to_list()
    share = portfolio.get_column("fund_share").to_list()
    years_left = portfolio.get_column("years_left").to_list() if "years_left" in portfolio.columns else None
    inv = NormalDist().inv_cdf
    mean, sd = assumptions.recovery_mean, assumptions.recovery_sd
    variance = mean * (1.0 - mean)
    fixed = variance <= 0.0 or sd <= 0.0
    k = max(variance / (sd * sd) - 1.0, 0.02) if not fixed else 1.0
    alpha, beta = mean * k, (1.0 - mean) * k
    loading, idio = math.sqrt(assumptions.correlation), math.sqrt(1.0 - assumptions.correlation)
    longest = max(range(len(horizons)), key=lambda i: horizons[i])

    def threshold(p: float) -> float:
        return -math.inf if p <= 0.0 else math.inf if p >= 1.0 else inv(p)

    loans = []  # (weight, thresholds per horizon) of the loans that can default within the longest horizon
    for i, annual in enumerate(pd_):
        left = years_left[i] if years_left is not None and years_left[i] is not None else math.inf
        by_horizon = [1.0 - (1.0 - annual) ** min(float(h), max(left, 0.0)) for h in horizons]
        if by_horizon[longest] > 0.0:
            loans.append((exposure[i] * share[i], [threshold(p) for p in by_horizon]))
    payouts: list[list[float]] = [[] for _ in horizons]
    defaults: list[list[int]] = [[] for _ in horizons]
    for _ in range(simulations):
        z = loading * rng.gauss(0.0, 1.0)
        paid = [0.0] * len(horizons)
        hits = [0] * len(horizons)
        for weight, thresholds in loans:
            latent = z + idio * rng.gauss(0.0, 1.0)
            if latent < thresholds[longest]:
                lost = weight * (1.0 - (mean if fixed else rng.betavariate(alpha, beta)))
                for h, bound in enumerate(thresholds):
                    if latent < bound:
                        paid[h] += lost
                        hits[h] += 1
        for h in range(len(horizons)):
            payouts[h].append(paid[h])
            defaults[h].append(hits[h])
    return {
        years: {
            "payout_fen": payouts[h],
            "defaults": defaults[h],
            "mean_payout": statistics.fmean(payouts[h]) / 100.0,
            "expected_defaults": statistics.fmean(defaults[h]),
            "probability_exhausted": sum(1 for p in payouts[h] if p > fund_balance_fen) / simulations,
        }
        for h, years in enumerate(horizons)
    }


def _se(values: list[float]) -> float:
    return statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0


def _ensure_seeded(scale: str, seed: int, say: Callable[[str], None]) -> dict[str, float]:
    from ipledge.compensation.models import Fund
    from ipledge.compensation.seeding import seed_compensation
    from ipledge.lending.models import Loan
    from ipledge.lending.seeding import seed_loans

    seconds: dict[str, float] = {}
    if not Loan.objects.exists():
        started = time.perf_counter()
        report = seed_loans(scale=scale, seed=seed, log=say)
        seconds["seed_loans"] = round(time.perf_counter() - started, 1)
        say(f"seeded {report.counts['loan']:,} loans in {seconds['seed_loans']}s")
    if not Fund.objects.exists():
        started = time.perf_counter()
        seed_compensation(scale=scale, seed=seed, log=say)
        seconds["seed_compensation"] = round(time.perf_counter() - started, 1)
        say(f"seeded the compensation funds in {seconds['seed_compensation']}s")
    return seconds


def run_benchmark(
    *,
    simulations: int = 10_000,
    baseline_simulations: int = 500,
    scale: str = "province",
    seed: int = 42,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time the stress test of every fund and the naive baseline; one JSON-ready dict."""
    from django.db import connection

    from ipledge.compensation import ledger
    from ipledge.compensation.models import Fund
    from ipledge.compensation.stress import portfolio_frame, run_for_fund

    say = log or (lambda _msg: None)
    seeded = _ensure_seeded(scale, seed, say)
    load_average = [round(x, 2) for x in os.getloadavg()]  # shared machines: say how busy this one was
    per_fund: list[dict[str, Any]] = []
    seconds = seconds_simulate = baseline_seconds = baseline_extrapolated = 0.0
    agree = True
    for fund in Fund.objects.order_by("code"):
        started = time.perf_counter()
        result = run_for_fund(fund, simulations=simulations)
        elapsed = time.perf_counter() - started
        seconds += elapsed
        seconds_simulate += result["seconds"]
        portfolio = portfolio_frame(fund)
        assumptions = engine.StressAssumptions(**result["assumptions"])
        started = time.perf_counter()
        naive = naive_simulate(
            portfolio,
            fund_balance_fen=ledger.cash_fen(fund),
            assumptions=assumptions,
            simulations=baseline_simulations,
        )
        naive_seconds = time.perf_counter() - started
        baseline_seconds += naive_seconds
        baseline_extrapolated += naive_seconds / baseline_simulations * simulations
        horizons = {}
        for h in result["horizons"]:
            base = naive[h["years"]]
            # Two estimates of the same mean: the baseline's few simulations make its standard error the larger.
            tolerance_payout = AGREE_SIGMAS * _se([p / 100.0 for p in base["payout_fen"]]) + 1.0
            tolerance_defaults = AGREE_SIGMAS * _se([float(d) for d in base["defaults"]]) + 0.01
            close = (
                abs(base["mean_payout"] - h["mean_payout"]) <= tolerance_payout
                and abs(base["expected_defaults"] - h["expected_defaults"]) <= tolerance_defaults
            )
            agree = agree and close
            horizons[f"{h['years']}y"] = {
                "mean_payout": h["mean_payout"],
                "p99": h["p99"],
                "probability_exhausted": h["probability_exhausted"],
                "expected_defaults": round(h["expected_defaults"], 2),
                "baseline_mean_payout": round(base["mean_payout"]),
                "baseline_expected_defaults": round(base["expected_defaults"], 2),
                "baseline_probability_exhausted": base["probability_exhausted"],
                "agree": close,
            }
        per_fund.append(
            {
                "fund": fund.code,
                "loans": result["loans"],
                "exposure": result["exposure"],
                "fund_balance": result["fund_balance"],
                "recovery_mean": round(result["assumptions"]["recovery_mean"], 4),
                "recovery_from_history": result["recovery_from_history"],
                "seconds": round(elapsed, 3),
                "seconds_simulate": round(result["seconds"], 3),
                "baseline_seconds_sample": round(naive_seconds, 3),
                "horizons": horizons,
            }
        )
        say(f"{fund.code}: {result['loans']:,} loans, {elapsed:.2f}s; baseline {naive_seconds:.2f}s")
    return {
        "benchmark": "compensation",
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "database": connection.vendor,
        "scale": scale,
        "funds": len(per_fund),
        "loans": sum(f["loans"] for f in per_fund),
        "simulations": simulations,
        "seconds": round(seconds, 3),
        "seconds_simulate": round(seconds_simulate, 3),
        "baseline": "naive per-simulation, per-loan Python loop (naive_simulate), same portfolio and assumptions",
        "baseline_simulations": baseline_simulations,
        "baseline_seconds_sample": round(baseline_seconds, 3),
        "baseline_extrapolated_seconds": round(baseline_extrapolated, 1),
        "ratio": round(baseline_extrapolated / seconds_simulate, 1) if seconds_simulate else None,
        "ratio_with_reading": round(baseline_extrapolated / seconds, 1) if seconds else None,
        "agree": agree,
        "per_fund": per_fund,
        "seeded_seconds": seeded,
        "load_average_before": load_average,
        "cpus": os.cpu_count(),
        "peak_rss_mb": _peak_rss_mb(),
    }
