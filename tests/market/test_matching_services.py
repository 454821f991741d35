"""Matching services on the test world: demand_match, product_match, matches_refresh."""

from __future__ import annotations

import pytest

from ipledge.market.choices import DemandStatus
from ipledge.market.models import Match
from ipledge.market.services.matching import demand_match
from tests.market.factories_matching import demand_for, live_product, valued

pytestmark = pytest.mark.django_db


def test_demand_match_ranks_eligible_products_with_reasons(world):
    good = live_product(world, "bank1_sub")
    cheap = live_product(world, "bank2", rate_spread_bp=10)
    far = live_product(world, "bank1_br", min_remaining_years={"invention": 15})
    valued(world, world.rights["r1"], "10000000", "AA")
    demand = demand_for(world, "e1")
    matches = demand_match(demand=demand)
    assert [m.product_id for m in matches] == [cheap.pk, good.pk, far.pk]
    assert [m.rank for m in matches] == [1, 2, None]
    assert [m.eligible for m in matches] == [True, True, False]
    demand.refresh_from_db()
    assert demand.status == DemandStatus.MATCHED and demand.matched_at is not None
    failed = [r for r in matches[2].reasons if not r["passed"] and not r.get("soft")]
    assert failed == [
        {
            "code": "remaining_life",
            "passed": False,
            "params": {"kind": "invention", "have": failed[0]["params"]["have"], "need": 15},
        }
    ]
    assert Match.objects.filter(demand=demand).count() == 3
