"""The monitoring benchmark at a tiny scale (not timed): the synthetic frames have the loaders' schemas, the planted
patterns are found, the row-by-row twin agrees with the engine, and `ipledge bench monitoring` prints one JSON line
and writes the file."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import polars as pl
from django.core.management import call_command

from ipledge.monitoring.benchmark import TWIN_RULES, run_benchmark, synthetic_frames
from ipledge.monitoring.engine import anomalies as engine

KEYS = (
    "benchmark",
    "provinces",
    "parks",
    "banks",
    "enterprises",
    "loans",
    "registrations",
    "seconds_rules",
    "seconds_targets",
    "peak_rss_mb",
    "baseline_seconds_per_row",
    "ratio",
    "agree",
    "findings",
)


def test_synthetic_frames_are_deterministic_and_in_the_loaders_schemas():
    frames, targets, counts = synthetic_frames(loans=2000, enterprises=5000, parks=20, banks=10, seed=3)
    again, _, _ = synthetic_frames(loans=2000, enterprises=5000, parks=20, banks=10, seed=3)
    for name, schema in engine.SCHEMAS.items():
        assert getattr(frames, name).schema == pl.Schema(schema), name
        assert getattr(frames, name).equals(getattr(again, name)), name
    assert counts["loans"] == frames.loans.height == frames.registrations.height == 2000
    assert targets.registrations.height == 2000 and targets.parks.height == 20


def test_tiny_run_agrees_with_the_twin_and_finds_the_planted_patterns():
    lines: list[str] = []
    result = run_benchmark(
        loans=2000, enterprises=5000, parks=20, banks=10, baseline_loans=1000, seed=9, log=lines.append
    )
    assert all(key in result for key in KEYS)
    assert result["agree"] is True and result["mismatches"] == {}
    assert result["benchmark"] == "monitoring" and result["loans"] == 2000
    assert set(result["findings"]) == set(engine.RULES)
    planted = result["planted_per_pattern"]
    for rule in ("duplicate_pledge", "term_overrun", "loan_before_registration", "classification_inconsistent"):
        assert result["findings"][rule] == planted, rule
    assert sum(result["sample_findings"][rule] for rule in TWIN_RULES) > 0
    assert result["findings"]["round_numbers"] > 0  # 10 banks of ~200 amounts: two of them planted
    assert any("run_rules" in line for line in lines)


def test_command_prints_one_json_line_and_writes_the_file(tmp_path: Path):
    out, err = StringIO(), StringIO()
    target = tmp_path / "monitoring.json"
    call_command(
        "bench",
        "monitoring",
        "--loans",
        "1000",
        "--enterprises",
        "2000",
        "--baseline-loans",
        "500",
        "--output",
        str(target),
        stdout=out,
        stderr=err,
    )
    lines = out.getvalue().strip().splitlines()
    result = json.loads(lines[0])
    assert lines[-1] == "agree: true" and result["agree"] is True
    assert json.loads(target.read_text(encoding="utf-8"))["loans"] == 1000
