"""`ipledge seed_monitoring [--if-empty] [--seed 42]`: demo monitoring data: provincial plans with task ledgers and
key-park designations, measures, yearly enterprise figures for the impact analysis, typical cases through their
selection, and the anomaly patterns planted in the demo records (then one scan finds them). Run after every other
seed: it reads registrations, loans, valuations, compensation and surveys."""

from __future__ import annotations

import random
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ipledge.core.context import business_date
from ipledge.monitoring.models import ProvincialPlan
from ipledge.monitoring.seeding_anomalies import seed_anomalies
from ipledge.monitoring.seeding_cases import seed_cases
from ipledge.monitoring.seeding_impact import seed_impact
from ipledge.monitoring.seeding_measures import seed_measures
from ipledge.monitoring.seeding_plans import seed_plans


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # data commands; `ipledge check` covers the project
    help = (
        "Seed monitoring: provincial plans and task ledgers, key parks, measures, yearly enterprise figures, "
        "typical cases, and planted anomaly patterns found by one scan."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="random seed (same seed and data, same result)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when provincial plans already exist")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and ProvincialPlan.objects.exists():
            self.stdout.write("Provincial plans already exist: nothing seeded (--if-empty).")
            return
        rng = random.Random(options["seed"])
        today = business_date()
        log = self.stdout if options["verbosity"] >= 1 else None
        started = time.perf_counter()
        counts: dict[str, int] = {}
        for step in (seed_plans, seed_measures, seed_impact, seed_cases, seed_anomalies):
            counts.update(step(rng=rng, today=today, stdout=log))
        summary = ", ".join(f"{name} {n:,}" for name, n in sorted(counts.items()))
        self.stdout.write(f"Seeded monitoring in {time.perf_counter() - started:.1f}s: {summary}.")
