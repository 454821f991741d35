"""The demo seed plants the patterns the data lacks, the scan finds them, and a second run plants nothing new."""

from __future__ import annotations

import datetime
import random

import pytest

from ipledge.core.context import as_of
from ipledge.monitoring.models import AnomalyScan, Finding
from ipledge.monitoring.seeding_anomalies import seed_anomalies
from tests.lending.factories import add_loans
from tests.world import World

pytestmark = pytest.mark.django_db


def test_seed_plants_then_scans_and_is_idempotent(world: World) -> None:
    add_loans(world)
    today = datetime.date(2025, 6, 30)
    with as_of(today):
        first = seed_anomalies(rng=random.Random(42), today=today)
    assert first["anomaly patterns planted"] >= 5
    rules = set(Finding.objects.values_list("rule", flat=True))
    assert {"classification_inconsistent", "contract_reuse", "transfer_without_consent", "term_overrun"} <= rules
    assert first["anomaly findings"] == Finding.objects.count()
    with as_of(today):
        second = seed_anomalies(rng=random.Random(42), today=today)
    assert second["anomaly findings"] == 0
    assert AnomalyScan.objects.count() == 2
