"""Matchmaking-event pages with the Django client: the park publishes an event, a bank and an enterprise register,
the park proposes the schedule and sees the grid (slots × desks), adds a meeting by hand (a double booking refused
naming slot and desk), the bank sees only its own desks, the enterprise its agenda with times, bank and desk; after
the event the bank records an outcome; the report and the export; and who may do what (another park's organiser
gets 404 on the edit pages, a bank 403 on organiser actions)."""

from __future__ import annotations

import datetime
import io
from typing import Any

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.context import as_of, business_date
from ipledge.market.choices import EventStatus, MeetingStatus
from ipledge.market.models import EventParticipant, MatchmakingEvent, Meeting
from ipledge.market.services import events as services
from tests.market.factories_events import event, event_with_matches
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


def test_park_publishes_and_participants_register(world: World) -> None:
    park = client_for(world, "park1")
    listing = park.get(reverse("market:event_list"))
    assert listing.status_code == 200 and "event-create-link" in text(listing)
    assert park.get(reverse("market:event_create")).status_code == 200
    day = business_date() + datetime.timedelta(days=10)
    form = {
        "title": "海淀园知识产权融资对接会",
        "theme": "专精特新",
        "park": world.parks["p1"].pk,
        "place": "创新中心",
        "event_date": day.isoformat(),
        "starts_at": "14:00",
        "slot_minutes": 30,
        "slot_count": 4,
        "registration_closes_on": (day + datetime.timedelta(days=1)).isoformat(),
    }
    bad = park.post(reverse("market:event_create"), form)
    assert bad.status_code == 200 and "报名截止日期不能晚于活动日期" in text(bad)
    ok = park.post(reverse("market:event_create"), {**form, "registration_closes_on": day.isoformat()})
    e = MatchmakingEvent.objects.get(title="海淀园知识产权融资对接会")
    assert ok.status_code == 302 and ok["Location"] == reverse("market:event_detail", args=[e.pk])

    bank = client_for(world, "bank1_sub")
    detail = bank.get(reverse("market:event_detail", args=[e.pk]))
    page = text(detail)
    assert detail.status_code == 200 and "bank-registration" in page and "enterprise-registration" not in page
    assert "14:00–14:30" in page and "15:30–16:00" in page  # slots with times
    assert "participant-table" not in page  # the participants list is the organiser's
    too_many = bank.post(
        reverse("market:event_register_bank", args=[e.pk]),
        {"bank-organisation": world.orgs["bank1_sub"].pk, "bank-desks": 21},
    )
    assert too_many.status_code == 200 and EventParticipant.objects.count() == 0
    bank.post(
        reverse("market:event_register_bank", args=[e.pk]),
        {"bank-organisation": world.orgs["bank1_sub"].pk, "bank-desks": 2, "bank-contact_name": "王经理"},
    )
    ent = client_for(world, "ent1")
    ent_page = text(ent.get(reverse("market:event_detail", args=[e.pk])))
    assert "enterprise-registration" in ent_page and "bank-registration" not in ent_page
    ent.post(
        reverse("market:event_register_enterprise", args=[e.pk]), {"enterprise-organisation": world.orgs["ent1"].pk}
    )
    assert set(EventParticipant.objects.filter(event=e).values_list("organisation__name", flat=True)) == {
        world.orgs["bank1_sub"].name,
        world.orgs["ent1"].name,
    }
    organiser_page = text(park.get(reverse("market:event_detail", args=[e.pk])))
    assert "participant-table" in organiser_page and "王经理" in organiser_page
    # The bank's own registration shows with a withdraw button; withdrawing works.
    again = text(bank.get(reverse("market:event_detail", args=[e.pk])))
    assert "own-registration" in again
    p = EventParticipant.objects.get(event=e, organisation=world.orgs["bank1_sub"])
    bank.post(reverse("market:event_participant_withdraw", args=[e.pk, p.pk]))
    p.refresh_from_db()
    assert p.withdrawn_at is not None


def test_schedule_grid_agendas_and_manual_meetings(world: World) -> None:
    s = event_with_matches(world)
    park = client_for(world, "park1")
    bad_cap = park.post(reverse("market:event_propose", args=[s.event.pk]), {"max_per_enterprise": "x"})
    assert bad_cap.status_code == 302 and not Meeting.objects.filter(event=s.event).exists()
    capped = park.post(reverse("market:event_propose", args=[s.event.pk]), {"max_per_enterprise": "1"})
    assert capped.status_code == 302 and Meeting.objects.filter(event=s.event).count() == 2  # E1 once, E2 once
    left = text(park.get(reverse("market:event_schedule", args=[s.event.pk])))
    assert "left-out" in left and "企业洽谈场次已达上限" in left
    Meeting.objects.filter(event=s.event).delete()
    proposed = park.post(reverse("market:event_propose", args=[s.event.pk]))
    assert proposed.status_code == 302
    s.event.refresh_from_db()
    assert s.event.status == EventStatus.SCHEDULED
    grid = park.get(reverse("market:event_schedule", args=[s.event.pk]))
    page = text(grid)
    assert grid.status_code == 200 and page.count('class="grid-column"') == 3  # bank1_sub ×2 desks, bank2 ×1
    assert page.count("meeting-cell") == 3 and "meeting-add-form" in page
    # A double booking is refused naming the slot and the desk.
    busy = park.post(
        reverse("market:event_meeting_add", args=[s.event.pk]),
        {
            "bank_participant": s.banks["bank1_sub"].pk,
            "desk": 1,
            "enterprise_participant": s.enterprises["e2"].pk,
            "slot": 1,
        },
    )
    assert busy.status_code == 200 and "第1场（09:00）" in text(busy) and "1号洽谈台已有安排" in text(busy)
    added = park.post(
        reverse("market:event_meeting_add", args=[s.event.pk]),
        {
            "bank_participant": s.banks["bank1_sub"].pk,
            "desk": 2,
            "enterprise_participant": s.enterprises["e2"].pk,
            "slot": 2,
        },
    )
    assert added.status_code == 302 and Meeting.objects.filter(event=s.event, slot=2, desk=2).exists()

    bank = client_for(world, "bank1_sub")
    bank_page = text(bank.get(reverse("market:event_schedule", args=[s.event.pk])))
    assert bank_page.count('class="grid-column"') == 2  # its own two desks only
    assert world.orgs["bank2"].name not in bank_page.split("schedule-grid")[1]
    assert "meeting-add-form" not in bank_page and "agenda-item" in bank_page
    ent = client_for(world, "ent2")
    ent_page = text(ent.get(reverse("market:event_schedule", args=[s.event.pk])))
    assert "schedule-grid" not in ent_page and ent_page.count("agenda-item") == 2
    assert "09:00–09:30" in ent_page and world.orgs["bank2"].name in ent_page
    assert world.orgs["ent1"].name not in ent_page.split("agenda")[1]
    # Organiser actions are refused to others.
    m = Meeting.objects.filter(event=s.event, status=MeetingStatus.PROPOSED).first()
    assert m is not None
    assert bank.post(reverse("market:event_meeting_cancel", args=[s.event.pk, m.pk])).status_code == 403
    assert bank.post(reverse("market:event_propose", args=[s.event.pk])).status_code == 404
    other_ent = Meeting.objects.filter(event=s.event, enterprise_participant=s.enterprises["e1"]).first()
    assert other_ent is not None
    assert ent.get(reverse("market:event_meeting_outcome", args=[s.event.pk, other_ent.pk])).status_code == 404
    cancelled = park.post(reverse("market:event_meeting_cancel", args=[s.event.pk, m.pk]))
    assert cancelled.status_code == 302
    m.refresh_from_db()
    assert m.status == MeetingStatus.CANCELLED


def test_outcome_form_report_and_export(world: World) -> None:
    s = event_with_matches(world)
    services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    m = Meeting.objects.get(event=s.event, bank_participant=s.banks["bank1_sub"])
    bank = client_for(world, "bank1_sub")
    url = reverse("market:event_meeting_outcome", args=[s.event.pk, m.pk])
    early = bank.post(url, {"status": "held", "outcome": "intent"})
    assert early.status_code == 200 and "尚未举行" in text(early)
    with as_of(s.event.event_date):
        missing = bank.post(url, {"status": "held", "outcome": "follow_up"})
        assert missing.status_code == 200 and "请填写跟进日期" in text(missing)
        done = bank.post(url, {"status": "held", "outcome": "intent", "intended_amount": "3000000.10", "note": "=1+1"})
        assert done.status_code == 302
        other = Meeting.objects.get(
            event=s.event, bank_participant=s.banks["bank2"], enterprise_participant=s.enterprises["e2"]
        )
        client_for(world, "bank2").post(
            reverse("market:event_meeting_outcome", args=[s.event.pk, other.pk]),
            {"status": "held", "outcome": "intent", "intended_amount": "1000000.25"},
        )
        assert client_for(world, "ent1").get(url).status_code == 403
    report = client_for(world, "park1").get(reverse("market:event_report", args=[s.event.pk]))
    page = text(report)
    assert report.status_code == 200 and "4,000,000.35" in page and "dashboard-data" in page
    bank_report = text(bank.get(reverse("market:event_report", args=[s.event.pk])))
    assert "3,000,000.10" in bank_report and "4,000,000.35" not in bank_report

    export = client_for(world, "park1").get(reverse("market:event_export", args=[s.event.pk]))
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(export.content))
    plan, results = book.worksheets
    assert [c.value for c in plan[4]][:3] == ["场次", "开始时间", "银行"]
    notes = [row[9].value for row in results.iter_rows(min_row=2)]
    assert "'=1+1" in notes  # a formula-looking note is neutralised


def test_scoping_of_the_event_pages(world: World) -> None:
    s = event_with_matches(world)
    park2 = client_for(world, "park2")
    # Events are announced to everyone signed in, but only the organiser edits.
    assert park2.get(reverse("market:event_detail", args=[s.event.pk])).status_code == 200
    assert park2.get(reverse("market:event_edit", args=[s.event.pk])).status_code == 404
    assert park2.post(reverse("market:event_cancel", args=[s.event.pk])).status_code == 404
    assert park2.post(reverse("market:event_propose", args=[s.event.pk])).status_code == 404
    assert "participant-table" not in text(park2.get(reverse("market:event_detail", args=[s.event.pk])))
    assert client_for(world, "bank1").get(reverse("market:event_create")).status_code == 404
    viewer = client_for(world, "park1", Role.VIEWER)
    assert viewer.get(reverse("market:event_edit", args=[s.event.pk])).status_code == 404
    assert "participant-table" in text(viewer.get(reverse("market:event_detail", args=[s.event.pk])))
    assert Client().get(reverse("market:event_list")).status_code == 302  # sign-in required
    # The organiser edits.
    park = client_for(world, "park1")
    page = park.get(reverse("market:event_edit", args=[s.event.pk]))
    assert page.status_code == 200
    data = {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in page.context["form"].initial.items()
        if v is not None
    }
    data["starts_at"] = "10:00"
    assert park.post(reverse("market:event_edit", args=[s.event.pk]), data).status_code == 302
    s.event.refresh_from_db()
    assert s.event.starts_at == datetime.time(10, 0)
    listing = text(park.get(reverse("market:event_list"), {"when": "upcoming"}))
    assert s.event.title in listing
    past = text(park.get(reverse("market:event_list"), {"when": "past"}))
    assert "matchmaking-event" not in past and 'data-section="upcoming"' not in past
    both = text(park.get(reverse("market:event_list")))
    assert 'data-section="upcoming"' in both and 'data-section="past"' in both and s.event.title in both
    everything = text(park.get(reverse("market:event_list"), {"when": "all", "status": "open"}))
    assert 'data-section="all"' in everything and s.event.title in everything
    event(world, organiser="ipo_bj")
    assert client_for(world, "ipo_bj").post(reverse("market:event_cancel", args=[s.event.pk])).status_code == 404


def test_organiser_registers_an_enterprise_with_its_demand(world: World) -> None:
    from tests.market.factories_events import demand

    e = event(world)
    d = demand(world.enterprises["e1"])
    other = demand(world.enterprises["e2"])
    park = client_for(world, "park1")
    page = text(park.get(reverse("market:event_detail", args=[e.pk])))
    assert 'hx-get="' in page and "event-demand-field" in page and d.reference not in page
    # htmx reloads the demand choices once the enterprise is picked (the park sees its member's demands).
    picked = text(
        park.get(reverse("market:event_detail", args=[e.pk]), {"enterprise-organisation": world.orgs["ent1"].pk})
    )
    assert d.reference in picked and other.reference not in picked
    wrong = park.post(
        reverse("market:event_register_enterprise", args=[e.pk]),
        {"enterprise-organisation": world.orgs["ent1"].pk, "enterprise-demand": other.pk},
    )
    assert wrong.status_code == 200 and not EventParticipant.objects.filter(event=e).exists()
    done = park.post(
        reverse("market:event_register_enterprise", args=[e.pk]),
        {"enterprise-organisation": world.orgs["ent1"].pk, "enterprise-demand": d.pk},
    )
    assert done.status_code == 302
    p = EventParticipant.objects.get(event=e)
    assert p.demand == d and p.registered_by == world.user("park1")
