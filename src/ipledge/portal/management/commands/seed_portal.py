"""`ipledge seed_portal [--if-empty]`: demo data of the public portal and the data exchange: the policy library
(政策库), policy consultations with their public FAQ, the parks' service requests, and the 信易贷 exchange (a partner,
enterprises' sharing consents, the outbound queue in every state including a dead letter, credit data and loan
outcomes received). Run after the other seeds: consultations and service requests need the demo enterprises and
parks, the exchange needs products, whitelists and registrations."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from ipledge.core.context import business_date
from ipledge.integration.seeding_exchange import seed_exchange
from ipledge.portal.models import Policy
from ipledge.portal.seeding_consultations import seed_consultations
from ipledge.portal.seeding_policies import seed_policies


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # data commands; `ipledge check` covers the project
    help = "Seed the portal (policies, consultations, service requests) and the 信易贷 exchange demo data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing when policies already exist")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Policy.objects.exists():
            self.stdout.write("Policies already exist: nothing seeded (--if-empty).")
            return
        started = time.perf_counter()
        today = business_date()
        policies = seed_policies(today=today)
        consultations = seed_consultations(today=today)
        exchange = seed_exchange(now=timezone.now())
        parts = [f"policies {policies}"]
        parts += [f"{name} {n}" for name, n in sorted(consultations.items())]
        parts += [f"exchange {name} {n}" for name, n in sorted(exchange.items())]
        self.stdout.write(f"Seeded the portal in {time.perf_counter() - started:.1f}s: {', '.join(parts)}.")
