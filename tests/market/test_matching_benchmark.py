"""The matching benchmark at a tiny size (not timed): synthetic frames are deterministic and well-formed, the
engine agrees with the per-pair loop, and `ipledge bench matching` prints one JSON line and writes the file."""

from __future__ import annotations

import json
from io import StringIO

import polars as pl
import pytest
from django.core.management import call_command

from ipledge.market.benchmark import run_benchmark, synthetic_demands, synthetic_products
from ipledge.market.engine import matching as engine


def test_synthetic_frames_are_deterministic_and_well_formed():
    products, demands = synthetic_products(300, seed=4), synthetic_demands(1000, seed=4)
    assert products.equals(synthetic_products(300, seed=4)) and demands.equals(synthetic_demands(1000, seed=4))
    assert products.schema == pl.Schema(engine.PRODUCT_SCHEMA)
    assert demands.schema == pl.Schema(engine.DEMAND_SCHEMA)
    assert (products.get_column("amount_min") <= products.get_column("amount_max")).all()
    assert (products.get_column("term_min") <= products.get_column("term_max")).all()
    values = demands.get_column("value_ge_invention")
    assert (values.list.len() == engine.YEARS).all()
    # cumulative: never increasing with the years asked
    assert (values.list.get(0) >= values.list.get(5)).all()
    assert demands.get_column("region_code").str.len_chars().eq(6).all()


def test_tiny_run_agrees_with_the_per_pair_loop():
    lines: list[str] = []
    result = run_benchmark(products=60, demands=500, one_samples=5, baseline_sample=4, seed=9, log=lines.append)
    assert result["agree"] is True and result["mismatches"] == 0
    assert result["pairs"] == 30_000 and 0 < result["eligible_pairs"] < 30_000
    assert result["demands_with_a_match"] > 0 and result["top_k_rows"] == 500
    for key in ("p95_ms_one_enterprise", "seconds_all", "baseline_extrapolated_seconds", "ratio", "peak_rss_mb"):
        assert result[key] is not None and result[key] > 0, key
    assert any("pairs in" in line for line in lines)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="positive"):
        run_benchmark(products=0, demands=10)


def test_bench_command_prints_one_json_line_and_writes_the_file(tmp_path):
    out, err = StringIO(), StringIO()
    target = tmp_path / "bench" / "matching.json"
    call_command(
        "bench",
        "matching",
        "--products",
        "40",
        "--demands",
        "300",
        "--one-samples",
        "3",
        "--baseline-demands",
        "2",
        "--seed",
        "5",
        "--output",
        str(target),
        stdout=out,
        stderr=err,
    )
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["benchmark"] == "matching" and result["products"] == 40 and result["demands"] == 300
    assert result["seed"] == 5 and result["agree"] is True
    assert json.loads(target.read_text(encoding="utf-8"))["pairs"] == 12_000


def test_worker_processes_give_the_same_figures():
    products, demands = synthetic_products(30, seed=2), synthetic_demands(200, seed=2)
    rates = engine.Rates(300, 350)
    from ipledge.market.benchmark import all_demands

    serial = all_demands(demands, products, rates, chunk=50, workers=1)
    parallel = all_demands(demands, products, rates, chunk=50, workers=2)
    assert serial[:2] == parallel[:2] and (serial[2] == parallel[2]).all()
    assert serial[2].shape == (200, 10)
