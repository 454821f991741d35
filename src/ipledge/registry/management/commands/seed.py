"""`ipledge seed --scale tiny|demo|province|national [--if-empty] [--seed 42]`: deterministic synthetic data.

See `ipledge.registry.seeding` for what is generated and how it is audited. Every seeded user's password is
the demo password printed at the end (`ipledge demo_logins` lists them): never seed a production database.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipledge.registry.models import Enterprise
from ipledge.registry.seeding import DEMO_PASSWORD, SCALES, seed_database


class Command(BaseCommand):
    help = "Fill an empty database with deterministic synthetic parks, banks, enterprises, IP rights and users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=list(SCALES), default="demo")
        parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when enterprises already exist")
        parser.add_argument("--batch-size", type=int, default=5000, help="rows per bulk insert and audit event")
        parser.add_argument("--enterprises", type=int, help="override the scale's number of enterprises")
        parser.add_argument("--ip-rights", type=int, help="override the scale's number of IP rights")

    def handle(self, *args: Any, **options: Any) -> None:
        if Enterprise.objects.exists():
            if options["if_empty"]:
                self.stdout.write("Enterprises already exist: nothing seeded (--if-empty).")
                return
            raise CommandError("the database already holds enterprises; seed an empty database (or use --if-empty)")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be positive")
        verbose = options["verbosity"] >= 1
        report = seed_database(
            scale=options["scale"],
            seed=options["seed"],
            batch_size=options["batch_size"],
            enterprises=options["enterprises"],
            ip_rights=options["ip_rights"],
            log=(lambda msg: self.stdout.write(f"  {msg}")) if verbose else None,
        )
        counts = ", ".join(f"{name.replace('_', ' ')} {n:,}" for name, n in report.counts.items())
        self.stdout.write(f"Seeded scale {report.scale} (seed {report.seed}) in {report.seconds:.1f}s: {counts}.")
        self.stdout.write(f"{report.logins} demo logins, all with password {DEMO_PASSWORD!r}: ipledge demo_logins")
