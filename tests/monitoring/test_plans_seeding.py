"""The plans demo seed on the test world (a plan per province with 8 tasks, one overdue; designations: one
province with 3 would need 3 parks, so here both are short), idempotent; and `ipledge monitoring remind`."""

from __future__ import annotations

import io
import json
import random

import pytest
from django.core.management import call_command

from ipledge.core.context import as_of
from ipledge.monitoring.choices import PlanStatus, ReminderKind
from ipledge.monitoring.models import KeyParkDesignation, PlanTask, ProvincialPlan, Reminder
from ipledge.monitoring.seeding_plans import seed_plans
from tests.monitoring.factories_plans import DAY
from tests.world import World

pytestmark = pytest.mark.django_db


def test_seed_then_remind(world: World) -> None:
    with as_of(DAY):
        counts = seed_plans(rng=random.Random(1), today=DAY)
    assert counts["plans"] == 2 and counts["plan_tasks"] == 16 and counts["key_park_designations"] == 2
    first, second = ProvincialPlan.objects.order_by("region__code")
    assert first.status == PlanStatus.SUBMITTED and second.status == PlanStatus.ISSUED
    assert PlanTask.objects.filter(plan=first, status="done").count() == 3
    kinds = set(Reminder.objects.filter(resolved_on__isnull=True).values_list("kind", flat=True))
    assert {ReminderKind.TASK_OVERDUE, ReminderKind.TASK_DUE, ReminderKind.PLAN_SUBMISSION_DUE} <= kinds
    assert KeyParkDesignation.objects.filter(status="active").count() == 2
    with as_of(DAY):
        assert seed_plans(rng=random.Random(1), today=DAY)["plans"] == 0  # idempotent

    out = io.StringIO()
    call_command("monitoring", "remind", "--date", DAY.isoformat(), "--json", stdout=out)
    assert json.loads(out.getvalue()) == {
        "date": DAY.isoformat(),
        "raised": 0,
        "resolved": 0,
        "open": counts["reminders"],
    }
    out = io.StringIO()
    call_command("monitoring", "remind", "--date", "2026-03-20", stdout=out)
    assert "reminders raised" in out.getvalue()
    assert Reminder.objects.filter(kind=ReminderKind.PLAN_SUBMISSION_OVERDUE, resolved_on__isnull=True).count() == 1
