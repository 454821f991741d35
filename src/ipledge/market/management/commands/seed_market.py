"""`ipledge seed_market [--if-empty] [--seed 42]`: the demo product library (the published bank products when
`../shared/data` is beside the project, plus our own), financing demands matched against them with bank lead
responses, survey campaigns with answers, and matchmaking events with schedules and outcomes. Run after the
registry, loans, valuations and screening seeds: matching reads valuations and whitelists."""

from __future__ import annotations

import random
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ipledge.core.context import business_date
from ipledge.market.models import Product
from ipledge.market.seeding_demands import seed_demands
from ipledge.market.seeding_events import seed_events
from ipledge.market.seeding_products import seed_products
from ipledge.market.seeding_surveys import seed_surveys


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # data commands; `ipledge check` covers the project
    help = (
        "Seed the market: bank products (published sheet + our own), demands matched against them, lead "
        "responses, survey campaigns with answers and matchmaking events with schedules and outcomes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="random seed (same seed and data, same market)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when products already exist")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Product.objects.exists():
            self.stdout.write("Market products already exist: nothing seeded (--if-empty).")
            return
        rng = random.Random(options["seed"])
        today = business_date()
        log = self.stdout if options["verbosity"] >= 1 else None
        started = time.perf_counter()
        counts: dict[str, int] = {}
        for step in (seed_products, seed_demands, seed_surveys, seed_events):
            counts.update(step(rng=rng, today=today, stdout=log))
        summary = ", ".join(f"{name} {n:,}" for name, n in sorted(counts.items()))
        self.stdout.write(f"Seeded the market in {time.perf_counter() - started:.1f}s: {summary}.")
