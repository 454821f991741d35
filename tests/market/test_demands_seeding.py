"""`seed_demands` on the test world: every park member holding a valid right posts through the services (E1 and E2
themselves, E1b through its park), matching runs, outcomes and counts agree with the rows, and bank answers are
made by officers of the products' banks."""

from __future__ import annotations

import datetime
import io
import random

import pytest

from ipledge.core.models import AuditEvent
from ipledge.market.choices import DemandSource, DemandStatus, LeadResponse
from ipledge.market.models import Demand, Match
from ipledge.market.seeding_demands import LOOKBACK_DAYS, seed_demands
from tests.market.factories_demands import granted_loan, live_product, two_products
from tests.world import World

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)


def test_seed_demands_through_the_services(world: World) -> None:
    two_products(world)
    live_product(world, "bank2", "SBD-9", name="苏贷通", collateral_kinds=["utility_model", "invention"])
    granted_loan(world, "e2", "bank2")
    out = io.StringIO()
    counts = seed_demands(rng=random.Random(7), today=TODAY, stdout=out)
    demands = list(Demand.objects.select_related("enterprise"))
    assert counts["demands"] == len(demands) >= 3 and "demands:" in out.getvalue()
    assert {d.enterprise.name for d in demands} == {e.name for e in world.enterprises.values()}
    by_park = [d for d in demands if d.enterprise == world.enterprises["e1b"]]
    assert by_park and all(d.source == DemandSource.PARK for d in by_park)
    assert counts["demands_by_park"] == sum(1 for d in demands if d.source == DemandSource.PARK)
    assert all(d.reference.startswith("XQ") and d.rights.exists() for d in demands)
    assert all(TODAY - datetime.timedelta(days=LOOKBACK_DAYS) <= d.created_at.date() <= TODAY for d in demands)
    assert all(500_000 <= d.amount.amount <= 20_000_000 and 6 <= d.term_months <= 36 for d in demands)
    assert AuditEvent.objects.filter(action="demand.create").count() == len(demands)
    assert AuditEvent.objects.filter(action="demand.match").count() >= len(demands)
    assert Match.objects.filter(demand__in=demands).exists()
    status = {s: sum(1 for d in demands if d.status == s) for s in DemandStatus.values}
    assert status[DemandStatus.WITHDRAWN] == counts.get("demands_withdrawn", 0)
    assert status[DemandStatus.FINANCED] == counts.get("demands_financed", 0)
    assert status[DemandStatus.EXPIRED] == counts.get("demands_expired", 0)
    assert status[DemandStatus.IN_TALKS] == counts["demands_in_talks"]
    for d in demands:
        if d.status == DemandStatus.FINANCED:
            assert d.loan is not None and d.loan.borrower_id == d.enterprise_id
        if d.status == DemandStatus.EXPIRED:
            assert d.expires_on < TODAY
    answered = Match.objects.exclude(response=LeadResponse.NONE).select_related("responded_by", "product__bank")
    assert answered.count() == counts.get("lead_responses", 0)
    for m in answered:
        assert m.eligible and m.responded_by is not None
        assert m.product.bank.tree_path.startswith(m.responded_by.organisation.tree_path)


def test_seed_demands_with_nothing_to_post(world: World) -> None:
    from ipledge.registry.models import ParkMembership

    ParkMembership.objects.update(left_on=TODAY)
    out = io.StringIO()
    assert seed_demands(rng=random.Random(1), today=TODAY, stdout=out) == {}
    assert "nothing seeded" in out.getvalue() and not Demand.objects.exists()
