"""The screening benchmark on a tiny population (not timed): it runs, its baseline agrees with the fast path, and
the database is left as it was."""

from __future__ import annotations

import datetime

import polars as pl
import pytest

from ipledge.registry.models import Enterprise
from ipledge.screening.benchmark import CRITERIA, run_benchmark, synthetic_population
from ipledge.screening.engine.rules import tightening_violations
from ipledge.screening.engine.spec import FEATURE_SCHEMA, RECORD_SCHEMA
from ipledge.screening.models import CreditRecord


def test_synthetic_population_is_deterministic_and_well_formed():
    features, records = synthetic_population(1000, 4000, seed=5)
    again, again_records = synthetic_population(1000, 4000, seed=5)
    assert features.equals(again) and records.equals(again_records)
    assert features.schema == pl.Schema(FEATURE_SCHEMA) and records.schema == pl.Schema(RECORD_SCHEMA)
    assert features.get_column("enterprise_id").to_list() == list(range(1, 1001))
    assert records.get_column("enterprise_id").is_between(1, 1000).all()
    assert (
        (records.filter(pl.col("removed_on").is_not_null()).select(pl.col("removed_on") >= pl.col("listed_on")))
        .to_series()
        .all()
    )
    tax = records.filter(pl.col("kind") == "tax_rating")
    assert tax.get_column("tax_rating").is_in(list("ABMCD")).all() and tax.get_column("rating_year").null_count() == 0
    assert (records.filter(pl.col("kind") != "tax_rating").get_column("tax_rating") == "").all()
    assert 0.3 < features.get_column("valuation_grade").is_not_null().mean() < 0.4


def test_the_benchmark_criteria_are_a_legal_tightening():
    from ipledge.screening.benchmark import BASELINE, PARK

    assert tightening_violations(BASELINE, PARK) == []
    assert CRITERIA.min_score == 58.0


@pytest.mark.django_db
def test_tiny_run_agrees_and_rolls_back(world):
    before = (Enterprise.objects.count(), CreditRecord.objects.count())
    lines: list[str] = []
    result = run_benchmark(enterprises=3000, records=12000, baseline_sample=60, seed=3, log=lines.append)
    assert result["enterprises"] == 3000 and result["records"] == 12000
    assert result["baseline_sample"] == 60
    assert result["agree"] is True, result["mismatch_examples"]
    assert 0 < result["included"] < 3000 and result["excluded"] > 0
    for key in ("seconds", "baseline_seconds_per_row", "ratio", "peak_rss_mb", "ratio_with_reading"):
        assert result[key] is not None and result[key] > 0, key
    assert result["as_of"] == datetime.date(2026, 1, 5).isoformat()
    assert (Enterprise.objects.count(), CreditRecord.objects.count()) == before
    assert any("rolled back" in line for line in lines)


@pytest.mark.django_db
def test_bench_command_prints_one_json_line(world, tmp_path):
    import io
    import json

    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "screening.json"
    call_command(
        "bench",
        "screening",
        "--enterprises",
        "800",
        "--records",
        "3000",
        "--baseline-sample",
        "20",
        "--output",
        str(target),
        stdout=out,
        stderr=err,
    )
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert line["benchmark"] == "screening" and line["enterprises"] == 800 and line["agree"] is True
    assert {"seconds", "baseline_seconds_per_row", "ratio", "peak_rss_mb", "included", "records"} <= set(line)
    assert json.loads(target.read_text(encoding="utf-8"))["records"] == 3000
    assert "screened them" in err.getvalue()
