"""`ipledge valuation refresh-cohorts | revalue | train` and `ipledge seed_valuations` on the test world."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from ipledge.core.models import AuditEvent
from ipledge.valuation.choices import BatchStatus
from ipledge.valuation.models import CohortStatistics, RevaluationBatch, Valuation

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_refresh_revalue_and_train(world) -> None:  # type: ignore[no-untyped-def]
    assert "rights stored" in run("valuation", "refresh-cohorts")
    assert CohortStatistics.objects.get().rights_counted == 3
    text = run("valuation", "revalue", "--user", "park1_operator", "--park", str(world.parks["p1"].pk))
    batch = RevaluationBatch.objects.get()
    assert batch.status == BatchStatus.DONE and f"{batch.done}/{batch.total}" in text
    assert Valuation.objects.filter(batch=batch).count() == batch.total == 2
    assert AuditEvent.objects.filter(action="valuation_batch.start").exists()
    with pytest.raises(CommandError, match="只有"):
        run("valuation", "revalue", "--user", "park2_operator", "--park", str(world.parks["p1"].pk))
    with pytest.raises(CommandError):
        run("valuation", "train", "--user", "cnipa_admin")


def test_api_benchmark_times_valuations_against_reads(world) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.world import add_pledges

    add_pledges(world)
    result = json.loads(run("bench", "valuation-api", "--requests", "3").strip().splitlines()[-1])
    assert result["requests"] == 1  # one active pledged right in the world, valued by its pledgee's operator
    assert result["p95_ms"] >= result["p50_ms"] > 0 and result["ratio_p95"] > 0
    assert Valuation.objects.filter(ip_right=world.rights["r1"]).count() >= 2  # warm-up and timed requests
