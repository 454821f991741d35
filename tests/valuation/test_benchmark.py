"""The valuation benchmark at a small size, the synthetic generator, and the `ipledge bench valuation` command."""

from __future__ import annotations

import json

import polars as pl
import pytest

from ipledge.valuation.benchmark import compare, run_valuation_benchmark
from ipledge.valuation.engine.synthetic import synthetic_comparables, synthetic_rights
from ipledge.valuation.engine.tree import RIGHT_INPUT_SCHEMA

KEYS = (
    "n",
    "seconds",
    "baseline_seconds_per_row",
    "seconds_per_row",
    "ratio",
    "peak_rss_mb",
    "agree",
    "generate_seconds",
)


def test_small_benchmark_agrees_and_is_faster() -> None:
    result = run_valuation_benchmark(5000, sample=200)
    assert set(KEYS) <= set(result)
    assert result["n"] == 5000 and result["sample"] == 200
    assert result["agree"] is True, result["mismatch_examples"]
    assert result["ratio"] > 1
    assert result["peak_rss_mb"] > 0 and result["seconds"] > 0 and result["generate_seconds"] > 0
    json.dumps(result)  # one JSON line


def test_compare_reports_disagreement() -> None:
    fast = [{"right_id": 1, "score": 50.0, "p50_fen": 1000, "grade": "BB", "gates": [], "pledge_reasons": []}]
    off_by_one = [dict(fast[0], p50_fen=1001)]
    off_by_two = [dict(fast[0], p50_fen=1002)]
    score_off = [dict(fast[0], score=50.0 + 1e-6)]
    assert compare(fast, off_by_one)["agree"] is True
    assert compare(fast, off_by_two) == {
        "agree": False,
        "mismatches": 1,
        "examples": [{"right_id": 1, "columns": ["p50_fen"]}],
    }
    assert compare(fast, score_off)["agree"] is False


def test_synthetic_rights_schema_and_mix() -> None:
    frame = synthetic_rights(20_000, seed=3)
    assert frame.schema == pl.Schema(RIGHT_INPUT_SCHEMA)
    assert frame["right_id"].to_list() == list(range(1, 20_001))
    assert frame.equals(synthetic_rights(20_000, seed=3))
    assert not frame.equals(synthetic_rights(20_000, seed=4))
    assert set(frame["kind"].unique()) == {"patent"}
    assert frame["filing_year"].min() == 2005 and frame["filing_year"].max() == 2025
    problem = frame.select(
        ((pl.col("legal_status") == "lapsed") | (pl.col("fee_paid") == False)).mean()  # noqa: E712
    ).item()
    assert 0.05 < problem < 0.15  # about 10 % lapsed or with the fee unpaid
    assert 0.03 < frame.select((pl.col("owner_count") > 1).mean()).item() < 0.2
    # Skewed: the top 5 % of patents by forward citations hold a large share of all citations.
    cites = frame["forward_citations"].drop_nulls().sort(descending=True).cast(pl.Float64)
    assert float(cites.head(len(cites) // 20).sum()) / float(cites.sum()) > 0.25
    types = set(frame["patent_type"].unique())
    assert {"invention", "utility_model", "design"} <= types
    assert frame.filter(pl.col("patent_type") == "design")["ipc_section"].unique().to_list() == [""]


def test_synthetic_comparables() -> None:
    comps = synthetic_comparables(300, seed=1)
    assert comps.columns == ["kind", "patent_type", "ipc_section", "price_fen", "score"]
    assert comps.height == 300 and comps["price_fen"].min() > 0  # type: ignore[operator]
    assert comps.filter(pl.col("kind") == "trademark")["patent_type"].unique().to_list() == [""]
    with pytest.raises(ValueError):
        synthetic_rights(-1)


def test_bench_command_prints_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    from django.core.management import call_command

    call_command("bench", "valuation", "--n", "3000", "--sample", "100")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert set(KEYS) <= set(result) and result["n"] == 3000 and result["agree"] is True
