"""`ipledge seed_valuations [--if-empty] [--seed 42]`: demo valuations through the real services.

Run after `ipledge seed`, `seed_pledges` and `seed_loans`; see `ipledge.valuation.seeding`.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ipledge.valuation.models import Valuation
from ipledge.valuation.seeding import seed_valuations


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = "Seed demo comparables, valuations (some signed off by agencies), a bundle, a bank policy and scores."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--if-empty", action="store_true", help="do nothing when valuations already exist")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Valuation.objects.exists():
            self.stdout.write("Valuations already exist: nothing seeded (--if-empty).")
            return
        report = seed_valuations(
            seed=options["seed"],
            log=(lambda msg: self.stdout.write(f"  {msg}")) if options["verbosity"] >= 1 else None,
        )
        counts = ", ".join(f"{name} {n:,}" for name, n in report.counts.items())
        self.stdout.write(f"Seeded valuations in {report.seconds:.1f}s: {counts}.")
