"""`ipledge seed_screening [--if-empty] [--seed 42]`: demo credit records, criteria, whitelists, bank decisions and
park intended credit lines (see `ipledge.screening.seeding`). Run after the registry, loans and valuations seeds."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ipledge.screening.models import Criteria
from ipledge.screening.seeding import seed_screening


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # data commands; `ipledge check` covers the project
    help = (
        "Seed credit screening: credit-record imports, provincial baselines and a park's tightening, applications, "
        "screened, submitted and approved whitelists, bank subscriptions and decisions, intended credit lines."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="random seed (same seed and data, same screening)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when screening criteria already exist")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Criteria.objects.exists():
            self.stdout.write("Screening criteria already exist: nothing seeded (--if-empty).")
            return
        report = seed_screening(
            seed=options["seed"],
            log=(lambda msg: self.stdout.write(f"  {msg}")) if options["verbosity"] >= 1 else None,
        )
        counts = ", ".join(f"{name} {n:,}" for name, n in sorted(report.counts.items()))
        self.stdout.write(f"Seeded screening (seed {report.seed}) in {report.seconds:.1f}s: {counts}.")
