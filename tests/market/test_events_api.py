"""The matchmaking-events API: the organiser creates and changes an event, a bank and an enterprise register (also
with an API key), the organiser proposes and books by hand (a double booking answers 400 naming slot and desk),
each side lists only its own meetings, the bank records an outcome after the event, the report's figures are exact
and the schedule comes as xlsx; refusals in the one error shape naming the field and the rule."""

from __future__ import annotations

import datetime
import io
from typing import Any

import openpyxl
import pytest

from ipledge.core.choices import Role
from ipledge.core.context import as_of, business_date
from ipledge.market.models import Meeting
from ipledge.market.services import events as services
from tests.api_helpers import assert_error, get, key_client, make_key, send, session_client
from tests.lending.factories import approved_loan
from tests.market.factories_events import event_with_matches
from tests.world import World

pytestmark = pytest.mark.django_db


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content.decode())
    return response.json()


def items(response: Any) -> list[dict[str, Any]]:
    return list(ok(response)["items"])


def test_event_lifecycle_and_registration(world: World) -> None:
    park = session_client(world.user("park1"))
    day = business_date() + datetime.timedelta(days=20)
    body = {
        "title": "海淀园银企对接会",
        "park_id": world.parks["p1"].pk,
        "place": "创新中心",
        "event_date": day.isoformat(),
        "registration_closes_on": (day + datetime.timedelta(days=1)).isoformat(),
        "slot_count": 3,
        "slot_minutes": 30,
        "starts_at": "13:30",
    }
    assert_error(send(park, "post", "/market/events", body), 400, field="registration_closes_on", rule="after_event")
    assert_error(
        send(
            park,
            "post",
            "/market/events",
            {**body, "registration_closes_on": day.isoformat(), "park_id": world.parks["p2"].pk},
        ),
        400,
        field="park_id",
        rule="other_park",
    )
    assert_error(send(park, "post", "/market/events", {**body, "slot_count": 49}), 422, field="slot_count")
    assert_error(send(session_client(world.user("bank1")), "post", "/market/events", body), 403)
    created = ok(send(park, "post", "/market/events", {**body, "registration_closes_on": day.isoformat()}), 201)
    assert created["status"] == "open" and created["starts_at"] == "13:30" and created["region_code"] == "110108"
    assert [s["starts_at"] for s in created["slots"]] == ["13:30", "14:00", "14:30"]
    assert created["slots"][-1]["ends_at"] == "15:00" and created["organiser"]["id"] == world.orgs["park1"].pk
    eid = created["id"]
    # Everyone sees it; only the organiser changes it.
    assert [
        e["id"]
        for e in items(get(session_client(world.user("ent2", Role.VIEWER)), "/market/events", {"when": "upcoming"}))
    ] == [eid]
    assert items(get(park, "/market/events", {"when": "past"})) == []
    assert_error(send(session_client(world.user("park2")), "patch", f"/market/events/{eid}", {"theme": "x"}), 404)
    assert_error(send(session_client(world.user("bank1")), "patch", f"/market/events/{eid}", {"theme": "x"}), 403)
    patched = ok(send(park, "patch", f"/market/events/{eid}", {"theme": "专精特新", "slot_count": 4}))
    assert patched["theme"] == "专精特新" and len(patched["slots"]) == 4
    assert_error(send(park, "patch", f"/market/events/{eid}", {"title": None}), 400, field="title", rule="required")

    # A bank registers with an API key; an enterprise through its session.
    _, secret = make_key(world.user("bank1_sub", Role.ADMIN), role=Role.OPERATOR)
    bank = key_client(secret)
    assert_error(send(bank, "post", f"/market/events/{eid}/participants", {"desks": 21}), 422, field="desks")
    joined = ok(send(bank, "post", f"/market/events/{eid}/participants", {"desks": 2, "contact_name": "王经理"}), 201)
    assert (
        joined["kind"] == "bank" and joined["desks"] == 2 and joined["organisation"]["id"] == world.orgs["bank1_sub"].pk
    )
    assert_error(
        send(bank, "post", f"/market/events/{eid}/participants", {}), 409, field="organisation_id", rule="unique"
    )
    ent = session_client(world.user("ent1"))
    assert_error(
        send(ent, "post", f"/market/events/{eid}/participants", {"organisation_id": world.orgs["ent2"].pk}), 403
    )
    assert_error(
        send(ent, "post", f"/market/events/{eid}/participants", {"demand_id": 10**9}),
        400,
        field="demand_id",
        rule="not_found",
    )
    mine = ok(send(ent, "post", f"/market/events/{eid}/participants", {}), 201)
    assert mine["enterprise"]["id"] == world.enterprises["e1"].pk
    # Who sees which registrations.
    assert len(items(get(park, f"/market/events/{eid}/participants"))) == 2
    assert [p["id"] for p in items(get(ent, f"/market/events/{eid}/participants"))] == [mine["id"]]
    withdrawn = ok(send(ent, "post", f"/market/events/{eid}/participants/{mine['id']}/withdraw"))
    assert withdrawn["withdrawn_at"] is not None
    with as_of(day + datetime.timedelta(days=1)):
        assert_error(
            send(ent, "post", f"/market/events/{eid}/participants", {}),
            400,
            field="event_id",
            rule="registration_closed",
        )
    cancelled = ok(send(park, "post", f"/market/events/{eid}/cancel", {"note": "场地调整"}))
    assert cancelled["status"] == "cancelled"
    assert_error(send(park, "post", f"/market/events/{eid}/cancel", {}), 400, field="status", rule="invalid_state")


def test_meetings_outcomes_report_and_xlsx(world: World) -> None:
    s = event_with_matches(world)
    eid = s.event.pk
    park = session_client(world.user("park1"))
    assert_error(send(session_client(world.user("bank2")), "post", f"/market/events/{eid}/propose", {}), 403)
    proposal = ok(send(park, "post", f"/market/events/{eid}/propose", {}))
    assert len(proposal["created"]) == 3 and proposal["kept"] == 0 and proposal["left_out"] == []
    first = next(m for m in proposal["created"] if m["bank"]["participant_id"] == s.banks["bank1_sub"].pk)
    assert (first["slot"], first["desk"], first["starts_at"], first["score"]) == (1, 1, "09:00", "90.00")
    assert ok(get(park, f"/market/events/{eid}"))["status"] == "scheduled"

    sub, e2 = s.banks["bank1_sub"].pk, s.enterprises["e2"].pk
    body = {"bank_participant_id": sub, "enterprise_participant_id": e2, "slot": 1, "desk": 1}
    body_err = assert_error(
        send(park, "post", f"/market/events/{eid}/meetings", body), 400, field="slot", rule="desk_busy"
    )
    assert "第1场" in body_err["errors"][0]["message"]
    assert_error(
        send(park, "post", f"/market/events/{eid}/meetings", {**body, "desk": 2}),
        400,
        field="slot",
        rule="enterprise_busy",
    )
    assert_error(
        send(park, "post", f"/market/events/{eid}/meetings", {**body, "bank_participant_id": 10**9}),
        400,
        field="bank_participant_id",
        rule="not_found",
    )
    added = ok(send(park, "post", f"/market/events/{eid}/meetings", {**body, "slot": 3, "desk": 2}), 201)
    assert added["status"] == "proposed" and added["starts_at"] == "10:00" and added["ends_at"] == "10:30"
    assert_error(
        send(
            session_client(world.user("bank1_sub")), "post", f"/market/events/{eid}/meetings/{added['id']}/cancel", {}
        ),
        403,
    )
    assert ok(send(park, "post", f"/market/events/{eid}/meetings/{added['id']}/cancel", {}))["status"] == "cancelled"

    # Each side sees its own meetings only; another's meeting answers 404.
    bank = session_client(world.user("bank1_sub"))
    assert {m["enterprise"]["participant_id"] for m in items(get(bank, f"/market/events/{eid}/meetings"))} == {
        s.enterprises["e1"].pk
    }
    ent2 = session_client(world.user("ent2"))
    theirs = items(get(ent2, f"/market/events/{eid}/meetings"))
    assert [(m["slot"], m["bank"]["organisation"]["name"]) for m in theirs] == [(1, world.orgs["bank2"].name)]
    sub_meeting = first["id"]
    assert_error(send(ent2, "post", f"/market/events/{eid}/meetings/{sub_meeting}/outcome", {"status": "held"}), 404)
    assert len(items(get(park, f"/market/events/{eid}/meetings", {"include_cancelled": "true"}))) == 4

    loan = approved_loan(world, borrower="e1", bank="bank1_sub", principal="1234567.89", start=business_date())
    url = f"/market/events/{eid}/meetings/{sub_meeting}/outcome"
    assert_error(send(bank, "post", url, {"status": "held", "outcome": "intent"}), 400, field="status", rule="not_yet")
    with as_of(s.event.event_date):
        assert_error(
            send(bank, "post", url, {"status": "held", "outcome": "loan"}), 400, field="loan_id", rule="required"
        )
        assert_error(
            send(bank, "post", url, {"status": "held", "outcome": "follow_up"}),
            400,
            field="follow_up_on",
            rule="required",
        )
        assert_error(send(bank, "post", url, {"status": "maybe"}), 422, field="status")
        recorded = ok(
            send(
                bank,
                "post",
                url,
                {"status": "held", "outcome": "loan", "loan_id": loan.pk, "intended_amount": "2000000.01"},
            )
        )
        assert recorded["loan"]["reference"] == loan.reference and recorded["intended_amount"] == "2000000.01"
        b2_meetings = Meeting.objects.filter(event=s.event, bank_participant=s.banks["bank2"]).order_by("slot", "pk")
        b2 = session_client(world.user("bank2"))
        ok(
            send(
                b2,
                "post",
                f"/market/events/{eid}/meetings/{b2_meetings[0].pk}/outcome",
                {"status": "held", "outcome": "intent", "intended_amount": "0.99"},
            )
        )
        ok(send(b2, "post", f"/market/events/{eid}/meetings/{b2_meetings[1].pk}/outcome", {"status": "no_show"}))

    report = ok(get(park, f"/market/events/{eid}/report"))
    assert report["registrations"] == {"banks": 2, "enterprises": 2, "desks": 3, "withdrawn": 0}
    assert report["meetings"] == {
        "scheduled": 3,
        "pending": 0,
        "held": 2,
        "no_show": 1,
        "cancelled": 1,
        "enterprises_met": 2,
        "banks_met": 2,
    }
    by_kind = {o["outcome"]: (o["meetings"], o["intended_amount"]) for o in report["outcomes"]}
    assert by_kind == {
        "intent": (1, "0.99"),
        "follow_up": (0, "0.00"),
        "loan": (1, "2000000.01"),
        "no_interest": (0, "0.00"),
    }
    assert report["intended_total"] == "2000001.00"
    assert report["loans"] == {"count": 1, "amount": "1234567.89"}
    bank_report = ok(get(bank, f"/market/events/{eid}/report"))
    assert bank_report["meetings"]["scheduled"] == 1 and bank_report["intended_total"] == "2000000.01"

    xlsx = park.get(f"/api/v1/market/events/{eid}/schedule.xlsx")
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    plan, results = book.worksheets
    assert plan.max_row == 4 + 3  # title, place, blank, header, three meetings
    loans = [row[8].value for row in results.iter_rows(min_row=2) if row[7].value]
    assert loans == [1234567.89]
    assert_error(send(park, "post", f"/market/events/{eid}/held"), 400, field="event_date", rule="not_yet")
    with as_of(s.event.event_date):
        held = ok(send(park, "post", f"/market/events/{eid}/held"))
    assert held["status"] == "held"


def test_the_event_another_org_cannot_reach(world: World) -> None:
    s = event_with_matches(world)
    services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    eid = s.event.pk
    assert_error(get(session_client(world.user("park1")), "/market/events/999999"), 404)
    other_bank = session_client(world.user("bank1_br2"))
    assert items(get(other_bank, f"/market/events/{eid}/meetings")) == []
    assert items(get(other_bank, f"/market/events/{eid}/participants")) == []
    m = Meeting.objects.filter(event=s.event).first()
    assert m is not None
    assert_error(send(other_bank, "post", f"/market/events/{eid}/meetings/{m.pk}/cancel", {}), 404)
    # Another organiser: the event is announced to it, but its organiser's operations answer 404.
    assert_error(send(session_client(world.user("park2")), "post", f"/market/events/{eid}/propose", {}), 404)
    assert_error(send(session_client(world.user("park2")), "post", f"/market/events/{eid}/held"), 404)
    assert_error(send(session_client(world.user("park1", Role.VIEWER)), "post", f"/market/events/{eid}/held"), 403)
