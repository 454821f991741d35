"""Demand pages with the Django client: the enterprise posts a demand and sees the products ranked with reasons
(and why the other does not fit); edits, shares, re-matches, links the loan and withdraws; the park posts on behalf
of a member (htmx reloads the rights) and sees its unmet demands; the office reads; another enterprise gets 404."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.market.choices import DemandSource, DemandStatus
from ipledge.market.models import Demand
from tests.market.factories_demands import granted_loan, post, two_products
from tests.world import World

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _today():  # type: ignore[no-untyped-def]
    with as_of(TODAY):
        yield


def client_for(world: World, org: str, role: str = Role.OPERATOR) -> Client:
    client = Client()
    client.force_login(world.user(org, role))
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def test_enterprise_posts_and_sees_the_ranked_products_with_reasons(world: World) -> None:
    fits, misses = two_products(world)
    ent = client_for(world, "ent1")
    page = ent.get(reverse("market:demand_create"))
    assert page.status_code == 200 and world.rights["r1"].number in text(page)
    assert "pick-enterprise-first" not in text(page)  # one enterprise: no picker
    bad = ent.post(
        reverse("market:demand_create"),
        {"enterprise": world.enterprises["e1"].pk, "amount": "0", "term_months": "400", "purpose": "research"},
    )
    assert bad.status_code == 200 and 'data-field="amount"' in text(bad) and 'data-field="term_months"' in text(bad)
    done = ent.post(
        reverse("market:demand_create"),
        {
            "enterprise": world.enterprises["e1"].pk,
            "amount": "3000000",
            "term_months": "12",
            "purpose": "research",
            "description": "研发投入",
            "right_ids": [world.rights["r1"].pk],
            "expires_on": "2026-08-29",
            "share_with_matching_banks": "on",
        },
        follow=True,
    )
    demand = Demand.objects.get()
    assert done.redirect_chain[-1][0] == reverse("market:demand_detail", args=[demand.pk])
    body = text(done)
    assert demand.status == DemandStatus.MATCHED and demand.reference in body
    assert 'class="ranked-product"' in body and fits.name in body and 'data-rank="1"' in body
    assert "unfit-product" in body and misses.name in body
    # Why the other does not fit, in words: the invention patent's remaining life against the product's 30 years.
    assert "发明专利剩余有效期13年，本产品要求至少30年" in body and 'data-passed="no"' in body
    assert 'class="offered-right"' in body and "年" in body
    assert "timeline-step" in body and "demand-rematch" in body

    listing = ent.get(reverse("market:demand_list"))
    assert listing.status_code == 200 and demand.reference in text(listing) and fits.name in text(listing)


def test_another_enterprise_gets_404_and_the_office_reads_only(world: World) -> None:
    demand = post(world)
    other = client_for(world, "ent2")
    for name in ("demand_detail", "demand_edit", "demand_withdraw", "demand_link_loan", "demand_shares"):
        assert other.get(reverse(f"market:{name}", args=[demand.pk])).status_code == 404
    assert other.post(reverse("market:demand_rematch", args=[demand.pk])).status_code == 404
    assert demand.reference not in text(other.get(reverse("market:demand_list")))
    office = client_for(world, "ipo_bj")
    page = office.get(reverse("market:demand_detail", args=[demand.pk]))
    assert page.status_code == 200 and "demand-actions" not in text(page)
    assert office.get(reverse("market:demand_edit", args=[demand.pk])).status_code == 404
    assert office.get(reverse("market:demand_create")).status_code == 404
    assert client_for(world, "ipo_js").get(reverse("market:demand_detail", args=[demand.pk])).status_code == 404


def test_edit_share_rematch_link_and_withdraw(world: World) -> None:
    two_products(world)
    demand = post(world)
    ent = client_for(world, "ent1")
    edit = ent.get(reverse("market:demand_edit", args=[demand.pk]))
    assert edit.status_code == 200
    data = {
        "version": "1",
        "amount": "2000000",
        "term_months": "24",
        "purpose": "equipment",
        "right_ids": [world.rights["r1"].pk],
        "expires_on": "2026-09-01",
    }
    assert ent.post(reverse("market:demand_edit", args=[demand.pk]), data).status_code == 302
    demand.refresh_from_db()
    assert demand.version == 2 and demand.term_months == 24
    stale = ent.post(reverse("market:demand_edit", args=[demand.pk]), data)  # version 1 again
    assert stale.status_code == 200 and "stale-version" in text(stale)

    shares = ent.post(reverse("market:demand_shares", args=[demand.pk]), {"share_bank_ids": [world.orgs["bank2"].pk]})
    assert shares.status_code == 302
    demand.refresh_from_db()
    assert not demand.share_with_matching_banks and list(demand.shares.values_list("bank_id", flat=True)) == [
        world.orgs["bank2"].pk
    ]
    rematch = ent.post(reverse("market:demand_rematch", args=[demand.pk]), follow=True)
    assert "已重新匹配" in text(rematch)

    loan = granted_loan(world)
    form = ent.get(reverse("market:demand_link_loan", args=[demand.pk]))
    assert loan.reference in text(form)
    assert ent.post(reverse("market:demand_link_loan", args=[demand.pk]), {"loan": loan.pk}).status_code == 302
    demand.refresh_from_db()
    assert demand.status == DemandStatus.FINANCED and demand.loan == loan
    # Closed: the withdraw form names the refused transition.
    refused = ent.post(reverse("market:demand_withdraw", args=[demand.pk]), {"note": "x"})
    assert refused.status_code == 200 and "已获贷" in text(refused)

    other = post(world)
    assert ent.post(reverse("market:demand_withdraw", args=[other.pk]), {"note": "不再需要"}).status_code == 302
    other.refresh_from_db()
    assert other.status == DemandStatus.WITHDRAWN


def test_park_posts_for_a_member_with_htmx_rights(world: World) -> None:
    two_products(world)
    park = client_for(world, "park1")
    page = park.get(reverse("market:demand_create"))
    assert page.status_code == 200 and "hx-get" in text(page) and "pick-enterprise-first" in text(page)
    rights = park.get(reverse("market:demand_rights"), {"enterprise": world.enterprises["e1"].pk})
    assert rights.status_code == 200 and world.rights["r1"].number in text(rights)
    assert world.rights["r1b"].number not in text(rights)
    rights_b = park.get(reverse("market:demand_rights"), {"enterprise": world.enterprises["e1b"].pk})
    assert world.rights["r1b"].number in text(rights_b)
    # E2 is not a member of P1: not offered, and its rights are not listed.
    assert world.rights["r2"].number not in text(
        park.get(reverse("market:demand_rights"), {"enterprise": world.enterprises["e2"].pk})
    )
    done = park.post(
        reverse("market:demand_create"),
        {
            "enterprise": world.enterprises["e1b"].pk,
            "amount": "800000",
            "term_months": "12",
            "purpose": "working_capital",
            "right_ids": [world.rights["r1b"].pk],
            "expires_on": "2026-06-30",
            "share_with_matching_banks": "on",
        },
    )
    assert done.status_code == 302
    demand = Demand.objects.get()
    assert demand.enterprise == world.enterprises["e1b"] and demand.source == DemandSource.PARK
    listing = park.get(reverse("market:demand_list"), {"enterprise": world.enterprises["e1b"].pk, "status": "matched"})
    assert listing.status_code == 200 and demand.reference in text(listing)
    unmet = park.get(reverse("market:park_unmet"))
    assert unmet.status_code == 200 and demand.reference in text(unmet) and 'data-why="no_response"' in text(unmet)
    assert client_for(world, "ent1").get(reverse("market:park_unmet")).status_code == 404
    assert client_for(world, "bank1").get(reverse("market:demand_create")).status_code == 404
