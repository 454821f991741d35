"""`ipledge seed_loans [--scale tiny|demo|province|national] [--if-empty] [--seed 42]`: synthetic loans.

See `ipledge.lending.seeding` for what is generated and how it is written. At the demo scale run it after
`ipledge seed` and `ipledge seed_pledges` (loans follow the pledge registrations), then `ipledge close_of_business`.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ipledge.lending.models import Loan
from ipledge.lending.seeding import LOAN_SCALES, seed_loans


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # data commands; `ipledge check` covers the project
    help = "Seed synthetic loans with schedules, repayments, collateral, covers and classification history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=list(LOAN_SCALES), default="demo")
        parser.add_argument("--seed", type=int, default=42, help="random seed (same seed and data, same loans)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when loans already exist")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Loan.objects.exists():
            self.stdout.write("Loans already exist: nothing seeded (--if-empty).")
            return
        verbose = options["verbosity"] >= 1
        report = seed_loans(
            scale=options["scale"],
            seed=options["seed"],
            log=(lambda msg: self.stdout.write(f"  {msg}")) if verbose else None,
        )
        counts = ", ".join(f"{name} {n:,}" for name, n in report.counts.items())
        registry = f" (registry seeded first in {report.registry_seconds:.1f}s)" if report.registry_seconds else ""
        self.stdout.write(
            f"Seeded loans at scale {report.scale} (seed {report.seed}) in {report.seconds:.1f}s{registry}: {counts}."
        )
