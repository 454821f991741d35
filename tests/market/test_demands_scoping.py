"""Who reaches a demand: the enterprise its own, the park its current member enterprises', the IP office its
region's (read only), a bank only what was shared with it (chosen, or every bank whose product matches) — and the
ranked matches a bank sees are its own products' only."""

from __future__ import annotations

import datetime

import pytest

from ipledge.core.context import as_of
from ipledge.core.scoping import Action
from ipledge.market import selectors_demands as selectors
from ipledge.market.models import Demand
from tests.market.factories_demands import post, two_products
from tests.world import World

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _today():  # type: ignore[no-untyped-def]
    with as_of(TODAY):
        yield


def seen(world: World, key: str, action: str = Action.VIEW) -> set[int]:
    return set(Demand.objects.restrict(world.user(key), action).values_list("pk", flat=True))


def test_enterprise_park_and_office_scopes(world: World) -> None:
    two_products(world)
    d1 = post(world)
    d2 = post(world, user=world.user("ent2"), enterprise="e2", rights=("r2",))
    assert seen(world, "ent1") == {d1.pk} and seen(world, "ent2") == {d2.pk}
    assert seen(world, "park1") == {d1.pk} and seen(world, "park2") == {d2.pk}
    assert (
        seen(world, "ipo_bj") == {d1.pk} and seen(world, "ipo_js") == {d2.pk} and seen(world, "cnipa") == {d1.pk, d2.pk}
    )
    assert seen(world, "ipo_bj", Action.CHANGE) == set()
    assert seen(world, "ent1", Action.CHANGE) == {d1.pk} and seen(world, "ent2", Action.CHANGE) == {d2.pk}
    assert seen(world, "insurer") == set() and seen(world, "valuer") == set()


def test_banks_see_only_what_was_shared_with_them(world: World) -> None:
    two_products(world)  # bank1_sub's product fits E1's demands, bank2's never does
    matching = post(world)  # every bank whose product matches
    chosen = post(world, share_with_matching_banks=False, banks=("bank2",))
    private = post(world, share_with_matching_banks=False)
    assert seen(world, "bank1_sub") == {matching.pk} and seen(world, "bank1") == {matching.pk}
    assert seen(world, "bank1_br2") == set()
    assert seen(world, "bank2") == {chosen.pk}
    assert private.pk not in seen(world, "bank1") | seen(world, "bank2")
    assert seen(world, "bank1", Action.CHANGE) == set()


def test_a_bank_sees_its_own_products_in_the_ranking_only(world: World) -> None:
    fits, misses = two_products(world)
    demand = post(world, banks=("bank2",))
    own_fits, own_misses = selectors.ranked_matches(user=world.user("bank2"), demand=demand)
    assert own_fits == [] and [r.match.product_id for r in own_misses] == [misses.pk]
    ent_fits, ent_misses = selectors.ranked_matches(user=world.user("ent1"), demand=demand)
    assert [r.match.product_id for r in ent_fits] == [fits.pk]
    assert [r.match.product_id for r in ent_misses] == [misses.pk]
    # The best-match column never shows a competitor's product to a bank.
    row = selectors.demand_list(user=world.user("bank2")).get(pk=demand.pk)
    assert row.best_product_name is None and row.eligible_count == 0  # type: ignore[attr-defined]
    row = selectors.demand_list(user=world.user("ent1")).get(pk=demand.pk)
    assert row.best_product_name == fits.name and row.eligible_count == 1  # type: ignore[attr-defined]


def test_unmet_demands_for_the_park(world: World) -> None:
    fits, _ = two_products(world)
    matched = post(world)
    unmatched = post(world, amount="50000000")  # above every product's maximum
    assert {d.pk for d in selectors.unmet_list(user=world.user("park1"))} == {matched.pk, unmatched.pk}
    from ipledge.market.choices import LeadResponse
    from ipledge.market.services import demands as services

    services.lead_respond(
        match=matched.matches.get(product=fits), response=LeadResponse.INTERESTED, acting_user=world.user("bank1_sub")
    )
    rows = list(selectors.unmet_list(user=world.user("park1")))
    assert [d.pk for d in rows] == [unmatched.pk] and rows[0].has_product is False  # type: ignore[attr-defined]
    summary = selectors.unmet_summary(user=world.user("park1"))
    assert (summary.active, summary.unmet, summary.no_product, summary.no_response) == (2, 1, 1, 0)
    assert not selectors.unmet_list(user=world.user("park2")).exists()
    assert not selectors.unmet_list(user=world.user("ent1")).exists()
    assert not selectors.unmet_list(user=world.user("bank1")).exists()
