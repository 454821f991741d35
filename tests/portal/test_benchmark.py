"""The policy-search benchmark runs small, agrees with its twin, and leaves nothing behind."""

from __future__ import annotations

import pytest

from ipledge.portal.benchmark import run_benchmark
from ipledge.portal.models import Policy

pytestmark = pytest.mark.django_db


def test_small_run_agrees_and_rolls_back() -> None:
    before = Policy.objects.count()
    result = run_benchmark(policies=60, queries=4, seed=7)
    assert result["agree"] is True
    assert result["policies"] == 60 and result["baseline_queries"] == 4
    assert result["search_seconds_per_query"] > 0 and result["ratio"] is not None
    assert result["mean_hits"] > 0
    assert Policy.objects.count() == before


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="--policies"):
        run_benchmark(policies=0, queries=1)
