"""The survey API: an office creates a campaign, adds typed questions (mapping refused with field and rule), targets
by park, publishes; the enterprise finds it under /mine, answers (typed errors naming `answers.<id>`, once only) and
its answer becomes a demand; results and the xlsx export; remind, close, repeat; an API key answers too. Scoping:
another office 404, a non-target 404, a draft invisible to its targets, a viewer 403."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent
from ipledge.market.models import Demand, SurveyCampaign, SurveyResponse
from tests.api_helpers import assert_error, get, key_client, make_key, send, session_client
from tests.market.factories_surveys import (
    OPENS,
    TODAY,
    add_enterprise,
    answers_for,
    enterprise_campaign,
    published,
)
from tests.world import World

pytestmark = pytest.mark.django_db


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content.decode())
    return response.json() if response.content else None


def test_campaign_lifecycle_through_the_api(world: World) -> None:
    add_enterprise(world, "ent3", serial=5003)
    office = session_client(world.user("ipo_bj"))
    body = {
        "title": "2026年第二季度企业融资需求调查",
        "audience": "enterprise",
        "period_label": "2026Q2",
        "recurrence": "quarterly",
        "opens_on": str(OPENS),
        "closes_on": "2026-04-30",
    }
    assert_error(
        send(office, "post", "/market/surveys", {**body, "period_label": "Q2"}),
        400,
        field="period_label",
        rule="period_format",
    )
    assert_error(
        send(office, "post", "/market/surveys", {**body, "reminder_every_days": 0}),
        400,
        field="reminder_every_days",
        rule="reminder_range",
    )
    assert_error(send(office, "post", "/market/surveys", {**body, "organiser_id": world.orgs["ipo_js"].pk}), 403)
    campaign = ok(send(office, "post", "/market/surveys", body), 201)
    sid = campaign["id"]
    assert (
        campaign["status"] == "draft"
        and campaign["organiser"]["id"] == world.orgs["ipo_bj"].pk
        and campaign["questions"] == []
    )

    base = f"/market/surveys/{sid}"
    assert_error(
        send(office, "post", f"{base}/questions", {"kind": "integer", "text": "金额", "maps_to": "demand.amount"}),
        400,
        field="maps_to",
        rule="maps_to_kind",
    )
    assert_error(
        send(office, "post", f"{base}/questions", {"kind": "choice", "text": "单选", "choices": ["甲"]}),
        400,
        field="choices",
        rule="min_options",
    )
    assert_error(send(office, "post", f"{base}/questions", {"kind": "slider", "text": "x"}), 422, field="kind")
    q_amount = ok(
        send(
            office, "post", f"{base}/questions", {"kind": "money", "text": "融资金额（元）", "maps_to": "demand.amount"}
        ),
        201,
    )
    q_rating = ok(send(office, "post", f"{base}/questions", {"kind": "rating", "text": "满意度"}), 201)
    q_note = ok(send(office, "post", f"{base}/questions", {"kind": "text", "text": "备注", "required": False}), 201)
    moved = ok(send(office, "post", f"{base}/questions/{q_note['id']}/move", {"position": 1}))
    assert [q["id"] for q in moved] == [q_note["id"], q_amount["id"], q_rating["id"]]
    patched = ok(send(office, "patch", f"{base}/questions/{q_rating['id']}", {"text": "服务满意度"}))
    assert patched["text"] == "服务满意度" and patched["kind"] == "rating"
    ok(send(office, "delete", f"{base}/questions/{q_note['id']}"), 204)

    assert_error(send(office, "post", f"{base}/targets", {"park_id": world.parks["p2"].pk}), 400, field="park_id")
    assert_error(
        send(office, "post", f"{base}/targets", {"region_code": "320000"}),
        400,
        field="region_code",
        rule="out_of_reach",
    )
    assert_error(
        send(office, "post", f"{base}/targets", {"organisation_ids": [world.orgs["bank1"].pk]}),
        400,
        field="organisation_ids",
        rule="audience_kind",
    )
    added = ok(send(office, "post", f"{base}/targets", {"park_id": world.parks["p1"].pk}), 201)
    assert added["added"] == 2 and {t["state"] for t in added["targets"]} == {"not_sent"}
    assert ok(get(office, f"{base}/targets"))["count"] == 2
    with as_of(TODAY):
        opened = ok(send(office, "post", f"{base}/publish"))
    assert opened["status"] == "open" and opened["targets_count"] == 2
    assert_error(
        send(office, "post", f"{base}/questions", {"kind": "text", "text": "晚了"}),
        400,
        field="status",
        rule="not_draft",
    )

    # The enterprise: /mine, the questions, typed answers, once only; the answer becomes a demand.
    ent = session_client(world.user("ent1"))
    with as_of(TODAY):
        mine = ok(get(ent, "/market/surveys/mine"))
    assert [m["campaign"]["id"] for m in mine] == [sid] and mine[0]["pending"] and not mine[0]["overdue"]
    detail = ok(get(ent, base))
    assert [q["id"] for q in detail["questions"]] == [q_amount["id"], q_rating["id"]] and detail[
        "targets_count"
    ] is None
    with as_of(TODAY):
        bad = send(ent, "post", f"{base}/responses", {"answers": {str(q_amount["id"]): "很多", str(q_rating["id"]): 9}})
        assert_error(bad, 400, field=f"answers.{q_amount['id']}", rule="money")
        assert_error(bad, 400, field=f"answers.{q_rating['id']}", rule="rating")
        messages = {e["field"]: e for e in bad.json()["errors"]}
        assert "第1题" in messages[f"answers.{q_amount['id']}"]["message"]
        assert "金额" in messages[f"answers.{q_amount['id']}"]["message"]
        done = ok(
            send(ent, "post", f"{base}/responses", {"answers": {str(q_amount["id"]): "300万", str(q_rating["id"]): 4}}),
            201,
        )
        assert done["answers"] == {str(q_amount["id"]): "3000000.00", str(q_rating["id"]): 4}
        assert done["demand_id"] == Demand.objects.get().pk and done["demand_reference"]
        assert_error(
            send(ent, "post", f"{base}/responses", {"answers": {}}), 400, field="campaign", rule="already_answered"
        )
    assert [r["id"] for r in ok(get(ent, f"{base}/responses"))["items"]] == [done["id"]]

    results = ok(get(office, f"{base}/results"))
    assert results["targets"] == 2 and results["responses"] == 1 and results["response_rate"] == "50.0"
    by_id = {q["question_id"]: q for q in results["questions"]}
    assert by_id[q_amount["id"]]["chart"] == "histogram" and by_id[q_amount["id"]]["stats"]["mean"] == "3000000.00"
    assert by_id[q_rating["id"]]["options"][3] == {"label": "4", "count": 1}
    assert results["library"][0]["demand_id"] == done["demand_id"]
    export = get(office, f"{base}/export.xlsx")
    assert export.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(export.content))
    assert book.sheetnames[0] == "答卷" and book["答卷"]["E2"].value == 3000000

    with as_of(TODAY):
        assert ok(send(office, "post", f"{base}/remind"))["reminded"] == 0
    with as_of(TODAY.replace(day=20)):
        assert ok(send(office, "post", f"{base}/remind"))["reminded"] == 1
        closed = ok(send(office, "post", f"{base}/close"))
        assert closed["status"] == "closed"
        nxt = ok(send(office, "post", f"{base}/repeat"), 201)
    assert nxt["period_label"] == "2026Q3" and nxt["previous_id"] == sid and len(nxt["questions"]) == 2
    assert_error(send(office, "delete", base), 400, field="status", rule="not_draft")
    ok(send(office, "delete", f"/market/surveys/{nxt['id']}"), 204)
    assert AuditEvent.objects.filter(action="surveycampaign.delete").exists()
    assert ok(get(office, "/market/surveys", {"status": "closed"}))["count"] == 1


def test_scoping_and_keys(world: World) -> None:
    add_enterprise(world, "ent3", serial=5003)
    campaign = published(world, enterprise_campaign(world, flows=False), ["ent1"])
    draft = enterprise_campaign(world, title="草稿", flows=False)
    office_js = session_client(world.user("ipo_js"))
    for path in ("", "/targets", "/results", "/export.xlsx"):
        assert_error(get(office_js, f"/market/surveys/{campaign.pk}{path}"), 404)
    assert_error(send(office_js, "post", f"/market/surveys/{draft.pk}/publish"), 404)
    assert ok(get(office_js, "/market/surveys"))["count"] == 0

    ent = session_client(world.user("ent1"))
    assert_error(get(ent, f"/market/surveys/{campaign.pk}/targets"), 404)
    assert_error(get(ent, f"/market/surveys/{campaign.pk}/results"), 404)
    assert_error(get(ent, f"/market/surveys/{draft.pk}"), 404)
    stranger = session_client(world.user("ent3"))
    assert_error(get(stranger, f"/market/surveys/{campaign.pk}"), 404)
    with as_of(TODAY):
        assert_error(send(stranger, "post", f"/market/surveys/{campaign.pk}/responses", {"answers": {}}), 404)
    viewer = session_client(world.user("ipo_bj", Role.VIEWER))
    assert ok(get(viewer, f"/market/surveys/{draft.pk}"))["status"] == "draft"
    assert_error(send(viewer, "post", f"/market/surveys/{draft.pk}/questions", {"kind": "text", "text": "x"}), 403)
    ent_viewer = session_client(world.user("ent1", Role.VIEWER))
    with as_of(TODAY):
        assert_error(send(ent_viewer, "post", f"/market/surveys/{campaign.pk}/responses", {"answers": {}}), 403)

    # An enterprise's API key answers; its response names no user.
    _, secret = make_key(world.user("ent1", Role.ADMIN), role=Role.OPERATOR)
    with as_of(TODAY):
        answered = ok(
            send(
                key_client(secret),
                "post",
                f"/market/surveys/{campaign.pk}/responses",
                {"answers": answers_for(campaign)},
            ),
            201,
        )
    assert answered["submitted_by"] is None and SurveyResponse.objects.get().organisation == world.orgs["ent1"]
    assert SurveyCampaign.objects.get(pk=campaign.pk).targets.get().responded_at is not None
