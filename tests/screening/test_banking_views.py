"""Banking pages: a bank subscribes to park P1, sees E1 (never the excluded E1b) with its explanation, filters,
records a grant drawn on the park's allocation; the bank grants the park an intended credit line, the park
allocates it (over-allocation refused with the remaining stated), releases, and the bank withdraws; and who may
do what (another organisation's rows answer 404, a role that cannot act 403 or 404)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.money import Money
from ipledge.screening.choices import AllocationStatus, DecisionOutcome, LineStatus
from ipledge.screening.models import CreditDecision, IntendedCreditLine, LineAllocation, Subscription
from ipledge.screening.services import banking
from tests.screening.factories import Approved, approved_whitelist
from tests.screening.factories_banking import TODAY, cluster_line, more_whitelisted
from tests.world import World

pytestmark = pytest.mark.django_db


def client_for(world: World, org: str, role: str = Role.OPERATOR) -> Client:
    client = Client()
    client.force_login(world.user(org, role))
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def flashed(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def p1(world: World) -> Approved:
    return approved_whitelist(world)


def test_bank_subscribes_sees_the_whitelist_and_decides(world: World, p1: Approved) -> None:
    bank = client_for(world, "bank1_sub")
    page = bank.get(reverse("screening:bank_whitelist"))
    assert page.status_code == 200 and "no-subscription" in text(page) and "whitelist-entry" not in text(page)

    form = bank.get(reverse("screening:subscription_create"))
    assert form.status_code == 200
    both = bank.post(
        reverse("screening:subscription_create"),
        {"bank": world.orgs["bank1_sub"].pk, "park": world.parks["p1"].pk, "region": "110000"},
    )
    assert both.status_code == 200 and "不能同时指定" in text(both)
    bad_region = bank.post(
        reverse("screening:subscription_create"), {"bank": world.orgs["bank1_sub"].pk, "region": "999999"}
    )
    assert "999999 不存在" in text(bad_region)
    done = bank.post(
        reverse("screening:subscription_create"),
        {"bank": world.orgs["bank1_sub"].pk, "park": world.parks["p1"].pk},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == reverse("screening:subscription_list")
    assert (
        Subscription.objects.filter(bank=world.orgs["bank1_sub"], park=world.parks["p1"], is_active=True).count() == 1
    )
    assert "中关村科技园区海淀园" in text(done) and "subscription-cancel" in text(done)

    page = bank.get(reverse("screening:bank_whitelist"))
    body = text(page)
    assert page.status_code == 200 and "no-subscription" not in body
    assert world.enterprises["e1"].name in body and world.enterprises["e1b"].name not in body
    # The explanation: points per characteristic with the scorecard's labels, the bin, and the reason in words.
    assert 'data-characteristic="invention_patents"' in body and "有效发明专利" in body and "1–4" in body
    assert 'data-reason="passed"' in body and "75.00" in body and "基础分" in body
    assert list(page.context["entries"]) == [p1.included]

    assert not list(bank.get(reverse("screening:bank_whitelist"), {"min_score": "80"}).context["entries"])
    assert list(bank.get(reverse("screening:bank_whitelist"), {"decided": "no"}).context["entries"]) == [p1.included]
    filtered = bank.get(reverse("screening:bank_whitelist"), {"park": world.parks["p1"].pk, "region": "110000"})
    assert list(filtered.context["entries"]) == [p1.included]
    assert "region=110000" in filtered.context["export_url"]

    # The park allocates an intended credit line to E1; the bank's grant draws on it.
    line = cluster_line(world, bank="bank1_sub")
    with as_of(TODAY):
        allocation = banking.allocation_create(
            line=line, entry=p1.included, amount=Money("2000000"), acting_user=world.user("park1")
        )
    url = reverse("screening:decision_create", args=[p1.included.pk])
    with as_of(TODAY):
        form = bank.get(url)
        assert form.status_code == 200 and "H01L 27/" in text(form) and "2,000,000.00" in text(form)
        wrong = bank.post(url, {"outcome": DecisionOutcome.DECLINED, "amount": "100", "decided_on": "2026-03-02"})
        assert wrong.status_code == 200 and "不予授信时不能填写授信金额" in text(wrong)
        too_much = bank.post(
            url,
            {
                "outcome": DecisionOutcome.GRANTED,
                "amount": "2500000",
                "term_months": "12",
                "allocation": allocation.pk,
                "decided_on": "2026-03-02",
            },
        )
        assert "剩余 2,000,000.00 元" in text(too_much)
        assert not CreditDecision.objects.exists()
        ok = bank.post(
            url,
            {
                "outcome": DecisionOutcome.GRANTED,
                "amount": "1500000",
                "term_months": "12",
                "renewal_without_repayment": "on",
                "allocation": allocation.pk,
                "decided_on": "2026-03-01",
                "note": "首贷",
            },
            follow=True,
        )
    assert ok.redirect_chain[-1][0] == reverse("screening:bank_whitelist")
    decision = CreditDecision.objects.get()
    assert (decision.amount, decision.renewal_without_repayment, decision.allocation) == (
        Money("1500000"),
        True,
        allocation,
    )
    assert list(bank.get(reverse("screening:bank_whitelist"), {"decided": "yes"}).context["entries"]) == [p1.included]
    listing = bank.get(reverse("screening:decision_list"))
    assert listing.status_code == 200 and "1,500,000.00" in text(listing) and "H01L 27/" in text(listing)
    # Another bank sees none of it.
    other = client_for(world, "bank2")
    assert other.get(url).status_code == 404
    assert list(other.get(reverse("screening:decision_list")).context["table"].data) == []
    assert list(other.get(reverse("screening:bank_whitelist")).context["entries"]) == []


def test_decision_page_offers_the_form_to_deciding_bank_officers_only(world: World, p1: Approved) -> None:
    """The page answers whoever reaches the entry (its explanation and the decisions they see); the form is for a
    bank officer who receives it in a current approved version; outside the reach 404, a POST by others 403."""
    banking.subscription_create(
        bank=world.orgs["bank1_sub"], park=world.parks["p1"], acting_user=world.user("bank1_sub")
    )
    url = reverse("screening:decision_create", args=[p1.included.pk])
    page = client_for(world, "bank1_sub").get(url)
    assert page.status_code == 200 and "decision-form" in text(page)
    body = {"outcome": DecisionOutcome.DECLINED, "decided_on": "2026-03-02"}
    for org, role in (("bank1_sub", Role.VIEWER), ("park1", Role.OPERATOR), ("ipo_bj", Role.ADMIN)):
        client = client_for(world, org, role)
        page = client.get(url)
        assert page.status_code == 200 and "decision-form" not in text(page) and "not-deciding" in text(page)
        assert "有效发明专利" in text(page)
        assert client.post(url, body).status_code == 403, (org, role)
    for org in ("bank1_br2", "bank2", "park2", "ent2"):
        assert client_for(world, org).get(url).status_code == 404, org
        assert client_for(world, org).post(url, body).status_code == 404, org
    # The excluded enterprise is never delivered to a bank; the park sees it, without a form.
    excluded = reverse("screening:decision_create", args=[p1.excluded.pk])
    assert client_for(world, "bank1_sub").get(excluded).status_code == 404
    page = client_for(world, "park1").get(excluded)
    assert page.status_code == 200 and "not-current" in text(page)
    assert not CreditDecision.objects.exists()


def test_lines_through_the_pages(world: World, p1: Approved) -> None:
    others = more_whitelisted(world, p1, 1)
    bank, park = client_for(world, "bank1_sub"), client_for(world, "park1")
    assert park.get(reverse("screening:line_create")).status_code == 404
    with as_of(TODAY):
        assert bank.get(reverse("screening:line_create")).status_code == 200
        bad = bank.post(
            reverse("screening:line_create"),
            {
                "bank": world.orgs["bank1_sub"].pk,
                "park": world.parks["p1"].pk,
                "basis": "patent_cluster",
                "ipc_group": "H01L 27/146",
                "amount": "3000000",
                "valid_from": "2026-01-01",
                "valid_to": "2026-12-31",
            },
        )
        assert bad.status_code == 200 and "不支持小组" in text(bad)
        created = bank.post(
            reverse("screening:line_create"),
            {
                "bank": world.orgs["bank1_sub"].pk,
                "park": world.parks["p1"].pk,
                "basis": "patent_cluster",
                "ipc_group": "h01l27",
                "amount": "3000000",
                "valid_from": "2026-01-01",
                "valid_to": "2026-12-31",
                "conditions": "集群企业",
            },
        )
    line = IntendedCreditLine.objects.get()
    assert created.status_code == 302 and created["Location"] == reverse("screening:line_detail", args=[line.pk])
    assert line.ipc_group == "H01L 27/"
    detail = reverse("screening:line_detail", args=[line.pk])
    with as_of(TODAY):
        page = bank.get(detail)
        assert page.status_code == 200 and "allocation-form" not in text(page) and "line-withdraw" in text(page)
        page = park.get(detail)
        assert "allocation-form" in text(page) and "line-withdraw" not in text(page)
        assert world.enterprises["e1"].name in text(page) and world.enterprises["e1b"].name not in text(page)
        allocate = reverse("screening:line_allocate", args=[line.pk])
        ok = park.post(allocate, {"entry": p1.included.pk, "amount": "2000000", "note": "首批"}, follow=True)
        assert "已向" in " ".join(flashed(ok))
        over = park.post(allocate, {"entry": others[0].pk, "amount": "1000000.01"})
        assert over.status_code == 200 and "剩余 1,000,000.00 元" in text(over)
        # A bank officer cannot allocate.
        assert bank.post(allocate, {"entry": others[0].pk, "amount": "1"}).status_code == 403
        figures = park.get(detail).context["figures"]
        assert (figures.allocated, figures.remaining) == (Money("2000000"), Money("1000000"))
        allocation = LineAllocation.objects.get()
        release = reverse("screening:allocation_release", args=[allocation.pk])
        assert bank.post(release).status_code == 403
        released = park.post(release, follow=True)
        assert "2,000,000.00 元退回额度" in " ".join(flashed(released))
        allocation.refresh_from_db()
        assert allocation.status == AllocationStatus.RELEASED
        assert park.post(reverse("screening:line_withdraw", args=[line.pk])).status_code == 403
        withdrawn = bank.post(reverse("screening:line_withdraw", args=[line.pk]), follow=True)
        assert "已撤销" in " ".join(flashed(withdrawn))
    line.refresh_from_db()
    assert line.status == LineStatus.WITHDRAWN
    # Lists: the bank and the park see the line; another bank and another park do not.
    for client in (bank, park, client_for(world, "bank1"), client_for(world, "ipo_bj")):
        assert [r.pk for r in client.get(reverse("screening:line_list")).context["table"].data] == [line.pk]
    for org in ("bank2", "park2", "bank1_br2", "ipo_js"):
        other = client_for(world, org)
        assert list(other.get(reverse("screening:line_list")).context["table"].data) == []
        assert other.get(detail).status_code == 404
        assert other.post(reverse("screening:line_withdraw", args=[line.pk])).status_code == 404


def test_subscription_pages_scoping(world: World, p1: Approved) -> None:
    theirs = banking.subscription_create(
        bank=world.orgs["bank2"], park=world.parks["p1"], acting_user=world.user("bank2")
    )
    mine = banking.subscription_create(
        bank=world.orgs["bank1_sub"], park=world.parks["p1"], acting_user=world.user("bank1_sub")
    )
    bank = client_for(world, "bank1_sub")
    assert [s.pk for s in bank.get(reverse("screening:subscription_list")).context["table"].data] == [mine.pk]
    assert bank.post(reverse("screening:subscription_cancel", args=[theirs.pk])).status_code == 404
    assert (
        client_for(world, "bank1_sub", Role.VIEWER)
        .post(reverse("screening:subscription_cancel", args=[mine.pk]))
        .status_code
        == 403
    )
    for org in ("park1", "ipo_bj", "ent1"):
        assert client_for(world, org).get(reverse("screening:subscription_create")).status_code == 404
    cancelled = bank.post(reverse("screening:subscription_cancel", args=[mine.pk]), follow=True)
    assert "订阅已取消" in " ".join(flashed(cancelled))
    again = bank.post(reverse("screening:subscription_cancel", args=[mine.pk]), follow=True)
    assert "该订阅已取消" in " ".join(flashed(again))
    # The head office reads its sub-branch's subscriptions.
    listed = client_for(world, "bank1").get(reverse("screening:subscription_list")).context["table"].data
    assert [s.pk for s in listed] == [mine.pk]


def test_pages_render_in_english(world: World, p1: Approved) -> None:
    banking.subscription_create(
        bank=world.orgs["bank1_sub"], park=world.parks["p1"], acting_user=world.user("bank1_sub")
    )
    bank = client_for(world, "bank1_sub")
    bank.post(reverse("set_language"), {"language": "en"})
    for name in (
        "screening:bank_whitelist",
        "screening:subscription_list",
        "screening:decision_list",
        "screening:line_list",
    ):
        assert bank.get(reverse(name)).status_code == 200, name
