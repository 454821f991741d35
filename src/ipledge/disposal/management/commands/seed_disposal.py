"""`ipledge seed_disposal [--if-empty] [--seed 42]`: demo collateral-disposal cases.

Run after `ipledge seed_compensation` (the sales record their recovery on the loans' advance-paid claims); see
`ipledge.disposal.seeding` for what is generated and how it is written.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ipledge.disposal.models import DisposalCase
from ipledge.disposal.seeding import seed_disposal


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # data commands; `ipledge check` covers the project
    help = (
        "Seed disposal cases on the defaulted loans: auctions sold in a past session, a live auction, a negotiated "
        "sale, an acquisition, licensing, a route awaiting approval and a case just opened."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="random seed (same seed and data, same cases)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when a disposal case already exists")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and DisposalCase.objects.exists():
            self.stdout.write("Disposal cases already exist: nothing seeded (--if-empty).")
            return
        report = seed_disposal(
            seed=options["seed"],
            log=(lambda msg: self.stdout.write(f"  {msg}")) if options["verbosity"] >= 1 else None,
        )
        counts = ", ".join(f"{name} {n:,}" for name, n in report.counts.items())
        self.stdout.write(f"Seeded disposal (seed {report.seed}) in {report.seconds:.1f}s: {counts}.")
