"""The bank's lead pages: the list (its tree's eligible matches on demands shared with it, filters), the lead with
the enterprise's basic facts and the reasons, the answer (interested → the demand is in talks, visible to the
enterprise); another bank's lead answers 404; non-banks have no lead pages."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.market.choices import DemandStatus, LeadResponse
from ipledge.market.models import Match
from tests.market.factories_demands import post, two_products
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


def test_bank_sees_the_lead_answers_and_the_enterprise_sees_the_answer(world: World) -> None:
    fits, _ = two_products(world)
    demand = post(world)
    match = Match.objects.get(demand=demand, product=fits)
    bank = client_for(world, "bank1_sub")
    listing = bank.get(reverse("market:lead_list"))
    assert listing.status_code == 200 and demand.reference in text(listing) and 'data-lead="' in text(listing)
    filtered = bank.get(reverse("market:lead_list"), {"response": "declined"})
    assert demand.reference not in text(filtered)
    page = bank.get(reverse("market:lead_detail", args=[match.pk]))
    body = text(page)
    assert page.status_code == 200 and world.enterprises["e1"].name in body and "enterprise-facts" in body
    assert "信息传输、软件和信息技术服务业" in body or "I " in body
    assert "match-reason" in body and "lead-respond-form" in body
    bad = bank.post(reverse("market:lead_detail", args=[match.pk]), {"response": "maybe"})
    assert bad.status_code == 200 and 'data-field="response"' in text(bad)
    done = bank.post(
        reverse("market:lead_detail", args=[match.pk]), {"response": "interested", "note": "请来行面谈"}, follow=True
    )
    assert "已反馈线索" in text(done)
    match.refresh_from_db()
    demand.refresh_from_db()
    assert match.response == LeadResponse.INTERESTED and demand.status == DemandStatus.IN_TALKS
    ent_page = text(client_for(world, "ent1").get(reverse("market:demand_detail", args=[demand.pk])))
    assert "lead-response-row" in ent_page and "请来行面谈" in ent_page


def test_other_banks_and_non_banks_get_404(world: World) -> None:
    fits, _ = two_products(world)
    demand = post(world, banks=("bank2",))
    match = Match.objects.get(demand=demand, product=fits)
    bank2 = client_for(world, "bank2")
    assert bank2.get(reverse("market:lead_detail", args=[match.pk])).status_code == 404
    assert bank2.post(reverse("market:lead_detail", args=[match.pk]), {"response": "interested"}).status_code == 404
    assert demand.reference not in text(bank2.get(reverse("market:lead_list")))
    # bank2 sees the demand it was shared (its own product's misfit only), never bank1's lead.
    page = bank2.get(reverse("market:demand_detail", args=[demand.pk]))
    assert page.status_code == 200 and fits.name not in text(page)
    for org in ("ent1", "park1", "ipo_bj"):
        assert client_for(world, org).get(reverse("market:lead_list")).status_code == 404
        # They read the match (their own demand's) but have nothing to answer.
        page = client_for(world, org).get(reverse("market:lead_detail", args=[match.pk]))
        assert page.status_code == 200 and "lead-respond-form" not in text(page)
    for org in ("ent2", "park2", "ipo_js"):
        assert client_for(world, org).get(reverse("market:lead_detail", args=[match.pk])).status_code == 404
    # A reviewer of the bank reads the lead but gets no form, and a POST changes nothing.
    reviewer = client_for(world, "bank1_sub", Role.REVIEWER)
    page = reviewer.get(reverse("market:lead_detail", args=[match.pk]))
    assert page.status_code == 200 and "lead-respond-form" not in text(page)
    reviewer.post(reverse("market:lead_detail", args=[match.pk]), {"response": "interested"})
    match.refresh_from_db()
    assert match.response == LeadResponse.NONE


def test_a_lead_that_does_not_fit_has_no_answer_form(world: World) -> None:
    _, misses = two_products(world)
    demand = post(world, banks=("bank2",))
    miss = Match.objects.get(demand=demand, product=misses)
    bank2 = client_for(world, "bank2")
    page = bank2.get(reverse("market:lead_detail", args=[miss.pk]))
    assert page.status_code == 200 and "lead-respond-form" not in text(page)
    assert "本产品要求至少30年" in text(page)
    refused = bank2.post(reverse("market:lead_detail", args=[miss.pk]), {"response": "interested"}, follow=True)
    assert "该线索当前不能反馈" in text(refused)
    miss.refresh_from_db()
    assert miss.response == LeadResponse.NONE
    # Not a lead in the bank's list: only eligible matches are.
    assert demand.reference not in text(bank2.get(reverse("market:lead_list")))
