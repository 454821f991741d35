"""The banking API: subscriptions, the pull of the whitelist with explanations (paginated, filtered, incremental by
`approved_since`), credit decisions (also with an API key), intended credit lines, allocations, release and
withdrawal; refusals in the one error shape naming the field and the rule; lists never show another bank's rows."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.screening.models import CreditDecision, LineAllocation
from ipledge.screening.services import banking
from tests.api_helpers import assert_error, get, key_client, make_key, send, session_client
from tests.screening.factories import Approved, approved_whitelist
from tests.screening.factories_banking import TODAY, cluster_line, more_whitelisted
from tests.world import World

pytestmark = pytest.mark.django_db


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content.decode())
    return response.json()


def items(response: Any) -> list[dict[str, Any]]:
    return list(ok(response)["items"])


@pytest.fixture
def p1(world: World) -> Approved:
    return approved_whitelist(world)


def test_subscribe_and_pull(world: World, p1: Approved) -> None:
    bank = session_client(world.user("bank1_sub"))
    _, secret = make_key(world.user("bank1_sub", Role.ADMIN), role=Role.VIEWER)
    puller = key_client(secret)
    assert items(get(puller, "/screening/bank/entries")) == []

    assert_error(send(bank, "post", "/screening/subscriptions", {}), 400, field="park_id", rule="required")
    both = {"park_id": world.parks["p1"].pk, "region_code": "110000"}
    assert_error(send(bank, "post", "/screening/subscriptions", both), 400, field="region_code", rule="park_or_region")
    assert_error(
        send(bank, "post", "/screening/subscriptions", {"region_code": "999999"}),
        400,
        field="region_code",
        rule="not_found",
    )
    assert_error(send(bank, "post", "/screening/subscriptions", {"region_code": "11"}), 422, field="region_code")
    assert_error(
        send(bank, "post", "/screening/subscriptions", {"park_id": 10**9}), 400, field="park_id", rule="not_found"
    )
    assert_error(
        send(
            bank,
            "post",
            "/screening/subscriptions",
            {"park_id": world.parks["p1"].pk, "bank_id": world.orgs["bank2"].pk},
        ),
        403,
    )
    created = ok(send(bank, "post", "/screening/subscriptions", {"park_id": world.parks["p1"].pk}), 201)
    assert created["bank"]["id"] == world.orgs["bank1_sub"].pk and created["park"]["name"] == "中关村科技园区海淀园"
    assert created["region"] is None and created["is_active"] and created["created_by"] == "bank1_sub_operator"
    assert_error(
        send(bank, "post", "/screening/subscriptions", {"park_id": world.parks["p1"].pk}),
        409,
        field="park_id",
        rule="unique",
    )
    assert_error(
        send(puller, "post", "/screening/subscriptions", {"park_id": world.parks["p2"].pk}), 403
    )  # a viewer key
    assert_error(
        send(
            session_client(world.user("park1")), "post", "/screening/subscriptions", {"park_id": world.parks["p1"].pk}
        ),
        403,
    )

    pulled = items(get(puller, "/screening/bank/entries"))
    assert [e["id"] for e in pulled] == [p1.included.pk]
    entry = pulled[0]
    assert entry["enterprise"] == {
        "id": world.enterprises["e1"].pk,
        "name": "北京智芯科技有限公司",
        "uscc": world.enterprises["e1"].uscc,
    }
    assert (
        entry["park"]["id"] == world.parks["p1"].pk and entry["region_code"] == "110108" and entry["score"] == "75.00"
    )
    assert entry["version"]["number"] == 1 and entry["version"]["period"] == "2026" and entry["version"]["approved_at"]
    explanation = entry["explanation"]
    assert explanation["base_points"] == "40.00"
    assert explanation["points"] == [
        {"characteristic": "invention_patents", "label": "有效发明专利", "value": "1–4", "points": "15.00"},
        {"characteristic": "is_high_tech", "label": "高新技术企业", "value": "是", "points": "20.00"},
    ]
    assert explanation["reasons"][0]["code"] == "passed" and explanation["reasons"][0]["text"]
    assert entry["latest_decision"] is None

    # Incremental pulls and filters.
    since = (p1.version.decided_at + datetime.timedelta(seconds=1)).isoformat()
    assert items(get(puller, "/screening/bank/entries", {"approved_since": since})) == []
    before = (p1.version.decided_at - datetime.timedelta(minutes=1)).isoformat()
    assert len(items(get(puller, "/screening/bank/entries", {"approved_since": before}))) == 1
    assert_error(
        get(puller, "/screening/bank/entries", {"approved_since": "2026-01-01T00:00:00"}), 422, field="approved_since"
    )
    assert items(get(puller, "/screening/bank/entries", {"min_score": "75.01"})) == []
    assert (
        len(items(get(puller, "/screening/bank/entries", {"region": "110000", "park_id": world.parks["p1"].pk}))) == 1
    )
    assert items(get(puller, "/screening/bank/entries", {"region": "320000"})) == []
    assert_error(get(puller, "/screening/bank/entries", {"region": "999999"}), 400, field="region", rule="not_found")
    assert items(get(puller, "/screening/bank/entries", {"decided": "true"})) == []
    # Another bank pulls nothing; the subscriptions list is the bank tree's.
    assert items(get(session_client(world.user("bank2")), "/screening/bank/entries")) == []
    assert [s["id"] for s in items(get(session_client(world.user("bank1")), "/screening/subscriptions"))] == [
        created["id"]
    ]
    assert items(get(session_client(world.user("bank2")), "/screening/subscriptions")) == []
    assert_error(get(session_client(world.user("park1")), "/screening/subscriptions"), 403)

    # Cancelled: nothing is delivered any more.
    assert_error(
        send(session_client(world.user("bank2")), "post", f"/screening/subscriptions/{created['id']}/cancel"), 404
    )
    cancelled = ok(send(bank, "post", f"/screening/subscriptions/{created['id']}/cancel"))
    assert cancelled["is_active"] is False
    assert_error(
        send(bank, "post", f"/screening/subscriptions/{created['id']}/cancel"),
        400,
        field="is_active",
        rule="invalid_state",
    )
    assert items(get(puller, "/screening/bank/entries")) == []
    assert [s["id"] for s in items(get(bank, "/screening/subscriptions", {"active": "false"}))] == [created["id"]]


def test_decisions(world: World, p1: Approved) -> None:
    banking.subscription_create(
        bank=world.orgs["bank1_sub"], park=world.parks["p1"], acting_user=world.user("bank1_sub")
    )
    bank = session_client(world.user("bank1_sub"))
    _, secret = make_key(world.user("bank1_sub", Role.ADMIN), role=Role.OPERATOR)
    writer = key_client(secret)
    line = cluster_line(world, bank="bank1_sub")
    with as_of(TODAY):
        allocation = banking.allocation_create(
            line=line, entry=p1.included, amount=Money("2000000"), acting_user=world.user("park1")
        )
    entry_id = p1.included.pk
    grant = {
        "entry_id": entry_id,
        "outcome": "granted",
        "amount": "1500000.00",
        "term_months": 12,
        "renewal_without_repayment": True,
        "allocation_id": allocation.pk,
        "decided_on": "2026-03-01",
        "note": "首贷",
    }
    over = {**grant, "amount": "2000000.01"}
    body = assert_error(send(bank, "post", "/screening/decisions", over), 400, field="amount", rule="exceeds_remaining")
    assert "2,000,000.00" in body["errors"][0]["message"]
    assert_error(
        send(bank, "post", "/screening/decisions", {**grant, "outcome": "declined"}),
        400,
        field="amount",
        rule="not_allowed",
    )
    assert_error(
        send(
            bank,
            "post",
            "/screening/decisions",
            {"entry_id": entry_id, "outcome": "declined", "renewal_without_repayment": True},
        ),
        400,
        field="renewal_without_repayment",
        rule="renewal_needs_grant",
    )
    assert_error(
        send(bank, "post", "/screening/decisions", {**grant, "entry_id": p1.excluded.pk}),
        400,
        field="entry_id",
        rule="not_found",
    )
    assert_error(send(bank, "post", "/screening/decisions", {**grant, "outcome": "maybe"}), 422, field="outcome")
    assert_error(send(bank, "post", "/screening/decisions", {**grant, "amount": 1500000}), 422, field="amount")
    assert_error(send(session_client(world.user("park1")), "post", "/screening/decisions", grant), 403)
    assert_error(send(session_client(world.user("bank1_sub", Role.VIEWER)), "post", "/screening/decisions", grant), 403)
    with as_of(TODAY):
        made = ok(send(writer, "post", "/screening/decisions", grant), 201)
    assert (
        made["bank"]["id"] == world.orgs["bank1_sub"].pk
        and made["outcome"] == "granted"
        and made["outcome_label"] == "授信"
    )
    assert (made["amount"], made["term_months"], made["renewal_without_repayment"]) == ("1500000.00", 12, True)
    assert (made["allocation_id"], made["line_id"], made["decided_on"]) == (allocation.pk, line.pk, "2026-03-01")
    assert made["decided_by"] is None and made["region_code"] == "110108" and made["park"]["id"] == world.parks["p1"].pk
    event = AuditEvent.objects.get(action="credit_decision.record", object_id=str(made["id"]))
    assert event.api_key_id is not None and event.actor is None
    assert LineAllocation.objects.get(pk=allocation.pk).utilised == Money("1500000")
    with as_of(TODAY):
        declined = ok(send(bank, "post", "/screening/decisions", {"entry_id": entry_id, "outcome": "declined"}), 201)
    assert declined["amount"] is None and declined["decided_on"] == TODAY.isoformat()

    pulled = items(get(bank, "/screening/bank/entries"))
    assert pulled[0]["latest_decision"]["id"] == declined["id"]
    assert [d["id"] for d in items(get(bank, "/screening/decisions"))] == [declined["id"], made["id"]]
    assert [d["id"] for d in items(get(bank, "/screening/decisions", {"outcome": "granted"}))] == [made["id"]]
    assert ok(get(bank, f"/screening/decisions/{made['id']}"))["note"] == "首贷"
    # bank2 (subscribed to P1 as well) never sees bank1's decisions, and cannot draw on its allocation.
    banking.subscription_create(bank=world.orgs["bank2"], park=world.parks["p1"], acting_user=world.user("bank2"))
    bank2 = session_client(world.user("bank2"))
    assert items(get(bank2, "/screening/decisions")) == []
    assert_error(get(bank2, f"/screening/decisions/{made['id']}"), 404)
    assert items(get(bank2, "/screening/bank/entries"))[0]["latest_decision"] is None
    assert_error(
        send(bank2, "post", "/screening/decisions", {**grant, "amount": "1"}),
        400,
        field="allocation_id",
        rule="not_found",
    )
    # The enterprise reads its own decisions.
    assert {d["id"] for d in items(get(session_client(world.user("ent1")), "/screening/decisions"))} == {
        made["id"],
        declined["id"],
    }
    assert CreditDecision.objects.count() == 2


def test_lines_and_allocations(world: World, p1: Approved) -> None:
    others = more_whitelisted(world, p1, 1)
    bank = session_client(world.user("bank1_sub"))
    park = session_client(world.user("park1"))
    line_body = {
        "park_id": world.parks["p1"].pk,
        "basis": "patent_cluster",
        "ipc_group": "H01L 27",
        "amount": "3000000.00",
        "valid_from": "2026-01-01",
        "valid_to": "2026-12-31",
        "conditions": "单户不超过 200 万元",
    }
    with as_of(TODAY):
        assert_error(
            send(bank, "post", "/screening/credit-lines", {**line_body, "ipc_group": "H01L 27/146"}),
            400,
            field="ipc_group",
            rule="ipc_format",
        )
        assert_error(send(park, "post", "/screening/credit-lines", line_body), 403)
        assert_error(
            send(bank, "post", "/screening/credit-lines", {**line_body, "basis": "regional_brand"}),
            400,
            field="brand",
            rule="required",
        )
        line = ok(send(bank, "post", "/screening/credit-lines", line_body), 201)
        brand_line = ok(
            send(
                bank,
                "post",
                "/screening/credit-lines",
                {
                    **line_body,
                    "basis": "regional_brand",
                    "ipc_group": "",
                    "brand": "中关村智造",
                    "park_id": world.parks["p2"].pk,
                },
            ),
            201,
        )
    assert (line["ipc_group"], line["basis_label"], line["status"]) == ("H01L 27/", "产业专利集群（IPC 组）", "active")
    assert (line["amount"], line["allocated"], line["utilised"], line["remaining"]) == (
        "3000000.00",
        "0.00",
        "0.00",
        "3000000.00",
    )
    assert line["allocations"] == [] and line["bank"]["id"] == world.orgs["bank1_sub"].pk
    url = f"/screening/credit-lines/{line['id']}"

    with as_of(TODAY):
        assert_error(send(bank, "post", f"{url}/allocations", {"entry_id": p1.included.pk, "amount": "1.00"}), 403)
        assert_error(
            send(park, "post", f"{url}/allocations", {"entry_id": p1.excluded.pk, "amount": "1.00"}),
            400,
            field="entry_id",
            rule="not_current",
        )
        first = ok(
            send(
                park, "post", f"{url}/allocations", {"entry_id": p1.included.pk, "amount": "2000000.00", "note": "首批"}
            ),
            201,
        )
        body = assert_error(
            send(park, "post", f"{url}/allocations", {"entry_id": others[0].pk, "amount": "1000000.01"}),
            400,
            field="amount",
            rule="exceeds_remaining",
        )
        assert "1,000,000.00" in body["errors"][0]["message"] and "1,000,000.00" in body["errors"][0]["message_en"]
        assert_error(
            send(
                session_client(world.user("park2")),
                "post",
                f"/screening/credit-lines/{brand_line['id']}/allocations",
                {"entry_id": p1.included.pk, "amount": "1.00"},
            ),
            400,
            field="entry_id",
            rule="not_found",  # park2 cannot reach a P1 entry
        )
    assert (first["amount"], first["utilised"], first["available"], first["status"]) == (
        "2000000.00",
        "0.00",
        "2000000.00",
        "active",
    )
    assert first["enterprise"]["id"] == world.enterprises["e1"].pk and first["allocated_on"] == TODAY.isoformat()

    detail = ok(get(bank, url))
    assert (detail["allocated"], detail["remaining"]) == ("2000000.00", "1000000.00")
    assert [a["id"] for a in detail["allocations"]] == [first["id"]]
    assert detail["days_to_expiry"] == (datetime.date(2026, 12, 31) - timezone.localdate()).days
    assert [x["id"] for x in items(get(park, "/screening/credit-lines"))] == [line["id"]]
    assert {x["id"] for x in items(get(bank, "/screening/credit-lines"))} == {line["id"], brand_line["id"]}
    assert [x["id"] for x in items(get(bank, "/screening/credit-lines", {"park_id": world.parks["p2"].pk}))] == [
        brand_line["id"]
    ]
    for org in ("bank2", "park2", "bank1_br2"):
        other = session_client(world.user(org))
        assert_error(get(other, url), 404)
        assert line["id"] not in {x["id"] for x in items(get(other, "/screening/credit-lines"))}
        assert_error(send(other, "post", f"/screening/allocations/{first['id']}/release"), 404)
    assert_error(get(session_client(world.user("ent1")), "/screening/credit-lines"), 403)

    # Release by the park; withdrawal by the bank (not the park).
    assert_error(send(bank, "post", f"/screening/allocations/{first['id']}/release"), 403)
    with as_of(TODAY):
        released = ok(send(park, "post", f"/screening/allocations/{first['id']}/release"))
    assert (released["status"], released["available"], released["released_on"]) == (
        "released",
        "0.00",
        TODAY.isoformat(),
    )
    assert_error(
        send(park, "post", f"/screening/allocations/{first['id']}/release"), 400, field="status", rule="invalid_state"
    )
    assert_error(send(park, "post", f"{url}/withdraw"), 403)
    withdrawn = ok(send(bank, "post", f"{url}/withdraw"))
    assert withdrawn["status"] == "withdrawn" and withdrawn["allocated"] == "0.00"
    assert_error(send(bank, "post", f"{url}/withdraw"), 400, field="status", rule="invalid_state")
    with as_of(TODAY):
        assert_error(
            send(park, "post", f"{url}/allocations", {"entry_id": p1.included.pk, "amount": "1.00"}),
            400,
            field="line_id",
            rule="line_inactive",
        )
    assert ok(get(session_client(world.user("ipo_bj")), url))["status"] == "withdrawn"
    assert_error(get(session_client(world.user("ipo_js")), url), 404)
    assert Client().get("/api/v1/screening/credit-lines").status_code == 401
