"""Bank answers to leads (线索反馈): only the bank tree of the product, only eligible matches of live products on
active demands it can see; interested / contacted move the demand to in talks, declined keeps its status; audited."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent
from ipledge.market import selectors_demands as selectors
from ipledge.market.choices import DemandStatus, LeadResponse, ProductStatus
from ipledge.market.models import Match, Product
from ipledge.market.services import demands as services
from tests.market.factories_demands import live_product, post, two_products
from tests.world import World

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _today():  # type: ignore[no-untyped-def]
    with as_of(TODAY):
        yield


def codes(exc: ValidationError, field: str) -> list[str]:
    return [e.code or "" for e in exc.error_dict[field]]


def test_interested_moves_the_demand_to_in_talks(world: World) -> None:
    fits, _ = two_products(world)
    demand = post(world)
    match = Match.objects.get(demand=demand, product=fits)
    answered = services.lead_respond(
        match=match, response=LeadResponse.INTERESTED, note="请补充近两年财报", acting_user=world.user("bank1_sub")
    )
    assert answered.response == LeadResponse.INTERESTED and answered.responded_by == world.user("bank1_sub")
    assert answered.responded_at is not None
    demand.refresh_from_db()
    assert demand.status == DemandStatus.IN_TALKS
    event = AuditEvent.objects.get(action="match.respond")
    assert event.changes["fields"]["response"] == {"old": "", "new": "interested"}
    assert event.region_code == "110108"
    assert AuditEvent.objects.filter(action="demand.in_talks", object_id=str(demand.pk)).exists()
    # The status timeline shows the move.
    timeline = selectors.status_timeline(demand)
    assert [s.status for s in timeline] == [DemandStatus.OPEN, DemandStatus.MATCHED, DemandStatus.IN_TALKS]
    assert timeline[-1].by == world.user("bank1_sub").username or timeline[-1].by == "system"


def test_declined_keeps_the_status_and_a_head_office_answers_for_its_tree(world: World) -> None:
    fits, _ = two_products(world)
    demand = post(world)
    match = Match.objects.get(demand=demand, product=fits)
    services.lead_respond(match=match, response=LeadResponse.DECLINED, acting_user=world.user("bank1"))
    demand.refresh_from_db()
    assert demand.status == DemandStatus.MATCHED
    match.refresh_from_db()
    assert match.response == LeadResponse.DECLINED and match.responded_by == world.user("bank1")


def test_another_bank_cannot_answer(world: World) -> None:
    fits, _ = two_products(world)
    demand = post(world, banks=("bank2",))
    match = Match.objects.get(demand=demand, product=fits)
    for user in (world.user("bank2"), world.user("bank1_br2"), world.user("ent1"), world.user("park1")):
        with pytest.raises(PermissionDenied):
            services.lead_respond(match=match, response=LeadResponse.INTERESTED, acting_user=user)
    with pytest.raises(PermissionDenied):  # a reviewer of the bank reads but does not answer
        services.lead_respond(
            match=match, response=LeadResponse.INTERESTED, acting_user=world.user("bank1_sub", Role.REVIEWER)
        )
    match.refresh_from_db()
    assert match.response == LeadResponse.NONE


def test_only_eligible_matches_on_active_demands_of_live_products(world: World) -> None:
    fits, misses = two_products(world)
    demand = post(world, banks=("bank2",))
    miss = Match.objects.get(demand=demand, product=misses)
    with pytest.raises(ValidationError) as caught:
        services.lead_respond(match=miss, response=LeadResponse.INTERESTED, acting_user=world.user("bank2"))
    assert codes(caught.value, "match") == ["not_eligible"]
    match = Match.objects.get(demand=demand, product=fits)
    with pytest.raises(ValidationError) as caught:
        services.lead_respond(match=match, response="maybe", acting_user=world.user("bank1_sub"))
    assert codes(caught.value, "response") == ["choice"]
    Product.objects.filter(pk=fits.pk).update(status=ProductStatus.WITHDRAWN)
    with pytest.raises(ValidationError) as caught:
        services.lead_respond(match=match, response=LeadResponse.INTERESTED, acting_user=world.user("bank1_sub"))
    assert codes(caught.value, "match") == ["product_withdrawn"]
    Product.objects.filter(pk=fits.pk).update(status=ProductStatus.LIVE)
    services.demand_withdraw(demand=demand, acting_user=world.user("ent1"))
    with pytest.raises(ValidationError) as caught:
        services.lead_respond(match=match, response=LeadResponse.INTERESTED, acting_user=world.user("bank1_sub"))
    assert codes(caught.value, "status") == ["invalid_transition"]


def test_in_talks_demand_cannot_be_edited_but_can_be_financed_or_withdrawn(world: World) -> None:
    fits, _ = two_products(world)
    demand = post(world)
    match = Match.objects.get(demand=demand, product=fits)
    services.lead_respond(match=match, response=LeadResponse.CONTACTED, acting_user=world.user("bank1_sub"))
    with pytest.raises(ValidationError) as caught:
        services.demand_update(demand=demand, term_months=24, acting_user=world.user("ent1"))
    assert codes(caught.value, "status") == ["invalid_transition"]
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(world.user("ent1"))
    page = client.get(reverse("market:demand_edit", args=[demand.pk]))
    assert page.status_code == 200 and "demand-not-editable" in page.content.decode()
    assert "demand-form" not in page.content.decode()
    refused = client.post(reverse("market:demand_edit", args=[demand.pk]), {"version": "1", "term_months": "6"})
    assert refused.status_code == 200 and "demand-not-editable" in refused.content.decode()
    services.demand_withdraw(demand=demand, acting_user=world.user("ent1"))
    demand.refresh_from_db()
    assert demand.status == DemandStatus.WITHDRAWN


def test_lead_list_is_the_banks_eligible_matches_best_first(world: World) -> None:
    fits, misses = two_products(world)
    second = live_product(world, "bank1_br", "ZZD-3", name="知产快贷", rate_spread_bp=60)
    good = post(world)
    other = post(world, amount="500000", term_months=6)
    hidden = post(world, share_with_matching_banks=False)  # shared with nobody
    leads = list(selectors.lead_list(user=world.user("bank1")))
    assert {m.demand_id for m in leads} == {good.pk, other.pk}
    assert {m.product_id for m in leads} == {fits.pk, second.pk}
    assert [m.score for m in leads] == sorted((m.score for m in leads), reverse=True)
    sub = list(selectors.lead_list(user=world.user("bank1_sub")))
    assert {m.product_id for m in sub} == {fits.pk}
    assert not selectors.lead_list(user=world.user("bank2")).exists()
    assert not selectors.lead_list(user=world.user("ent1")).exists()
    assert hidden.pk not in {m.demand_id for m in selectors.lead_list(user=world.user("bank1"))}
    filtered = selectors.lead_list(user=world.user("bank1"), filters=selectors.LeadFilters(product_id=second.pk))
    assert {m.product_id for m in filtered} == {second.pk}
    assert misses.pk not in {m.product_id for m in leads}
