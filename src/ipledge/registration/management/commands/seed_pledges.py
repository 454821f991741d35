"""`ipledge seed_pledges`: demo pledge filings and registrations through the real services."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ipledge.registration.models import PledgeFiling
from ipledge.registration.seeding import seed_pledges


class Command(BaseCommand):
    help = "Seed demo pledge filings, registrations and cancellations (after `ipledge seed`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=600, help="number of filings (default 600, the demo scale)")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--if-empty", action="store_true", help="do nothing when filings already exist")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and PledgeFiling.objects.exists():
            self.stdout.write("Pledge filings already exist; nothing seeded.")
            return
        started = time.perf_counter()
        report = seed_pledges(count=options["count"], seed=options["seed"])
        self.stdout.write(
            f"Seeded {report.filings} pledge filings in {time.perf_counter() - started:.1f}s: "
            f"{report.registered} registered ({report.cancelled} since cancelled), {report.refused} refused, "
            f"{report.corrections} awaiting correction, {report.submitted} under examination, "
            f"{report.awaiting_pledgor} awaiting the pledgor's confirmation."
        )
