"""The demo seed of measures and reports: every provincial office, city office and park gets measures (some public),
one annual summary and one measures table are generated, and a second run adds nothing."""

from __future__ import annotations

import datetime
import random

import pytest

from ipledge.monitoring.choices import ReportKind
from ipledge.monitoring.models import GeneratedReport, MeasureEntry
from ipledge.monitoring.seeding_measures import PARK_MEASURES, PROVINCE_MEASURES, seed_measures
from tests.world import World

pytestmark = pytest.mark.django_db


def test_seed_measures_is_complete_and_idempotent(world: World) -> None:
    today = datetime.date(2026, 3, 1)
    counts = seed_measures(rng=random.Random(1), today=today)
    # Two provincial offices, one city office (Nanjing), two parks with an administration.
    expected = 2 * len(PROVINCE_MEASURES) + 1 + 2 * len(PARK_MEASURES)
    assert counts == {"measures": expected, "generated reports": 2}
    assert MeasureEntry.objects.count() == expected
    assert MeasureEntry.objects.filter(park=world.parks["p2"], is_public=True).count() == 2
    assert set(MeasureEntry.objects.values_list("owner_org__kind", flat=True)) == {"ip_office", "park_admin"}
    reports = GeneratedReport.objects.order_by("kind")
    assert [r.kind for r in reports] == [ReportKind.ANNUAL_SUMMARY, ReportKind.MEASURES_TABLE]
    assert all(r.region_code == "110000" and r.period_start == datetime.date(2025, 1, 1) for r in reports)
    assert seed_measures(rng=random.Random(1), today=today) == {"measures": 0, "generated reports": 0}
