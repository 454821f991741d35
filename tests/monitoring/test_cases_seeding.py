"""The demo typical cases: written through the services in every state of the selection, and a second run adds
nothing."""

from __future__ import annotations

import datetime
import random

import pytest

from ipledge.monitoring.choices import CaseStatus
from ipledge.monitoring.models import TypicalCase
from ipledge.monitoring.seeding_cases import SPECS, seed_cases

pytestmark = pytest.mark.django_db


def test_seed_cases_in_every_state_and_idempotent(world) -> None:  # type: ignore[no-untyped-def]
    today = datetime.date(2026, 6, 1)
    counts = seed_cases(rng=random.Random(1), today=today, stdout=None)
    # The small world has no bank with loans, so the three bank nominations are skipped.
    expected = [s for s in SPECS if s.nominator != "bank"]
    assert counts == {"typical cases": len(expected), "published cases": 2}
    by_title = {c.title: c for c in TypicalCase.objects.all()}
    assert {s.title: by_title[s.title].status for s in expected} == {s.title: s.outcome for s in expected}
    for case in by_title.values():
        assert case.reviewer_id is None or case.reviewer_id != case.nominated_by_id
        if case.status == CaseStatus.PUBLISHED:
            assert case.published_on == datetime.date(2025, 12, 10) and case.year == 2025
    assert seed_cases(rng=random.Random(1), today=today, stdout=None) == {"typical cases": 0, "published cases": 0}
    assert TypicalCase.objects.count() == len(expected)
