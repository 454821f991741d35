"""`ipledge seed_compensation [--scale demo|province] [--if-empty] [--seed 42]`: demo risk-compensation funds.

Run after `ipledge seed`, `seed_loans` (and, for the demo, `seed_pledges`, `close_of_business`, `seed_valuations`);
see `ipledge.compensation.seeding` for what is generated and how it is written.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ipledge.compensation.models import Fund
from ipledge.compensation.seeding import COMPENSATION_SCALES, seed_compensation


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # data commands; `ipledge check` covers the project
    help = "Seed risk-compensation funds, published schemes, enrolled loans, claims at every stage and alerts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=list(COMPENSATION_SCALES), default="demo")
        parser.add_argument("--seed", type=int, default=42, help="random seed (same seed and data, same funds)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when a fund already exists")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Fund.objects.exists():
            self.stdout.write("Compensation funds already exist: nothing seeded (--if-empty).")
            return
        report = seed_compensation(
            scale=options["scale"],
            seed=options["seed"],
            log=(lambda msg: self.stdout.write(f"  {msg}")) if options["verbosity"] >= 1 else None,
        )
        counts = ", ".join(f"{name} {n:,}" for name, n in report.counts.items())
        self.stdout.write(
            f"Seeded compensation at scale {report.scale} (seed {report.seed}) in {report.seconds:.1f}s "
            f"(enrolments {report.enrol_seconds:.1f}s, claims {report.claim_seconds:.1f}s): {counts}."
        )
