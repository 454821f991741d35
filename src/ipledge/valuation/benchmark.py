"""The valuation benchmark (`ipledge bench valuation`, `bench/run.py --valuation`; see bench/README.md).

It times the vectorised engine (`pipeline.value_rights`) on `n` synthetic patents, the cohort statistics fitted
inside the timed part since valuing a population includes fitting them, against the row-by-row reference
(`reference.value_right_row`, plain Python) on a random sample of the same rights in the same run, with the same
statistics and comparables. `ratio` compares time per row: baseline per row ÷ fast per row. The fast and the
row-by-row outputs of the sample must agree (`agree`: scores and contributions to 1e-9, fen amounts exact or within
1 fen, grades, eligibility and reasons equal), so the ratio compares two computations of the same figures.

Generating the rights (`synthetic.synthetic_rights`) is timed separately and not counted. `peak_rss_mb` is the peak
resident memory of the process that runs the benchmark (generation included); `python -m ipledge.valuation.benchmark`
runs it on its own, without Django, and prints one JSON line.

Pure: no Django imports.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from .engine.approaches import load_assumptions
from .engine.pipeline import fit_rights_cohort_stats, value_rights
from .engine.pledge import default_policy
from .engine.reference import comparable_index, value_right_row
from .engine.synthetic import DEFAULT_SEED, synthetic_comparables, synthetic_rights
from .engine.tree import load_scenario

DEFAULT_N = 1_000_000
DEFAULT_SAMPLE = 2000
DEFAULT_COMPARABLES = 500
SCORE_TOLERANCE = 1e-9
FEN_TOLERANCE = 1
FEN_COLUMNS: tuple[str, ...] = (
    "value_income_fen",
    "value_cost_fen",
    "value_market_fen",
    "p10_fen",
    "p50_fen",
    "p90_fen",
)
EQUAL_COLUMNS: tuple[str, ...] = ("right_id", "grade", "pledge_eligible")
LIST_COLUMNS: tuple[str, ...] = ("gates", "pledge_reasons")


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _close(a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=tolerance)


def row_differences(fast: Mapping[str, Any], slow: Mapping[str, Any]) -> list[str]:
    """The columns on which a fast output row and a reference row disagree (empty when they agree)."""
    out: list[str] = []
    float_columns = [c for c in fast if c.startswith("c_")] + ["score", "completeness", "gate_multiplier", "sigma"]
    out += [c for c in float_columns if not _close(fast.get(c), slow.get(c), SCORE_TOLERANCE)]
    out += [c for c in ("pledge_rate",) if not _close(fast.get(c), slow.get(c), SCORE_TOLERANCE)]
    out += [c for c in FEN_COLUMNS if not _close(fast.get(c), slow.get(c), FEN_TOLERANCE)]
    # The ceiling is floored to whole yuan, so a tolerated 1-fen difference in P10 may move it by one yuan.
    ceiling_tolerance = FEN_TOLERANCE if fast.get("p10_fen") == slow.get("p10_fen") else 100
    if not _close(fast.get("loan_ceiling_fen"), slow.get("loan_ceiling_fen"), ceiling_tolerance):
        out.append("loan_ceiling_fen")
    out += [c for c in EQUAL_COLUMNS if fast.get(c) != slow.get(c)]
    out += [c for c in LIST_COLUMNS if list(fast.get(c) or []) != list(slow.get(c) or [])]
    return out


def compare(fast_rows: Sequence[Mapping[str, Any]], slow_rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Agreement of two lists of output rows in the same order: count of disagreeing rows and a few examples."""
    mismatches: list[dict[str, Any]] = []
    count = 0
    for fast, slow in zip(fast_rows, slow_rows, strict=True):
        columns = row_differences(fast, slow)
        if columns:
            count += 1
            if len(mismatches) < 5:
                mismatches.append({"right_id": fast.get("right_id"), "columns": columns})
    return {"agree": count == 0 and len(fast_rows) == len(slow_rows), "mismatches": count, "examples": mismatches}


def run_valuation_benchmark(
    n: int = DEFAULT_N,
    sample: int = DEFAULT_SAMPLE,
    seed: int = DEFAULT_SEED,
    *,
    comparables: int = DEFAULT_COMPARABLES,
) -> dict[str, Any]:
    """Time `value_rights` on `n` synthetic patents against `value_right_row` on a sample; see the module docstring."""
    if n < 1 or sample < 1:
        raise ValueError("n and sample must be positive")
    load_average = [round(x, 2) for x in os.getloadavg()]  # shared machines: say how busy this one was
    started = time.perf_counter()
    rights = synthetic_rights(n, seed=seed)
    comps = synthetic_comparables(comparables, seed=seed + 1)
    generate_seconds = time.perf_counter() - started

    scenario, assumptions, policy = load_scenario(), load_assumptions(), default_policy()
    started = time.perf_counter()
    stats = fit_rights_cohort_stats(rights, scenario)
    valued = value_rights(
        rights, scenario=scenario, assumptions=assumptions, policy=policy, comparables=comps, cohort_stats=stats
    )
    seconds = time.perf_counter() - started

    picked = np.sort(np.random.default_rng(seed).choice(n, size=min(sample, n), replace=False))
    input_rows = rights[picked].to_dicts()
    fast_rows = valued[picked].to_dicts()
    index = comparable_index(comps, assumptions)  # built once, as a row-by-row batch job would
    kwargs: dict[str, Any] = {
        "scenario": scenario,
        "assumptions": assumptions,
        "policy": policy,
        "cohort_stats": stats,
        "comparables": index,
    }
    # One untimed row first fills the reference's lazy lookups, so the baseline is not charged for them.
    value_right_row(input_rows[0], **kwargs)
    started = time.perf_counter()
    slow_rows = [value_right_row(row, **kwargs) for row in input_rows]
    baseline_seconds = time.perf_counter() - started
    agreement = compare(fast_rows, slow_rows)

    per_row = seconds / n
    baseline_per_row = baseline_seconds / len(input_rows)
    return {
        "benchmark": "valuation",
        "n": n,
        "seconds": round(seconds, 3),
        "seconds_per_row": per_row,
        "sample": len(input_rows),
        "baseline_seconds": round(baseline_seconds, 3),
        "baseline_seconds_per_row": baseline_per_row,
        "ratio": round(baseline_per_row / per_row, 1) if per_row > 0 else None,
        "peak_rss_mb": peak_rss_mb(),
        "agree": agreement["agree"],
        "mismatches": agreement["mismatches"],
        "mismatch_examples": agreement["examples"],
        "generate_seconds": round(generate_seconds, 3),
        "comparables": comparables,
        "seed": seed,
        "cpus": os.cpu_count(),
        "polars_threads": pl.thread_pool_size(),
        "load_average_before": load_average,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="synthetic patents to value (default 1,000,000)")
    parser.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, help="rows for the row-by-row baseline")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--comparables", type=int, default=DEFAULT_COMPARABLES)
    args = parser.parse_args(argv)
    result = run_valuation_benchmark(args.n, args.sample, args.seed, comparables=args.comparables)
    print(json.dumps(result, ensure_ascii=False))
    return 0  # disagreement is reported in the line (`agree`), as `ipledge bench indicators` does


if __name__ == "__main__":
    raise SystemExit(main())
