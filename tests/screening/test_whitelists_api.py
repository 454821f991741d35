"""Whitelists through the API (授信白名单): the province's baseline published with an API key, a park's loosening
criteria refused field by field, the park screening with its key, overriding and submitting, maker-checker (a key
never approves what a key submitted), the province approving, the diff and entries with reasons and points, the
enterprise's application answered; refusals in the one error shape and no other organisation's rows in lists."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent
from ipledge.screening.choices import VersionStatus
from ipledge.screening.models import Subscription, WhitelistVersion
from tests.api_helpers import assert_error, get, key_client, make_key, send, session_client
from tests.screening.factories import PERIOD, add_scorecard
from tests.screening.factories_whitelists import AS_OF, BASELINE_EXCLUSIONS, TODAY, member, publish_baseline
from tests.world import World

pytestmark = pytest.mark.django_db


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content.decode())
    return response.json()


def _items(response: Any) -> list[dict[str, Any]]:
    return list(_ok(response)["items"])


BASELINE = {
    "level": "baseline",
    "name": "北京市2026年度基准标准",
    "period": PERIOD,
    "region": "110000",
    "min_score": "50",
    "exclusions": BASELINE_EXCLUSIONS,
}


def test_criteria_through_the_api(world: World) -> None:
    card = add_scorecard(world)
    _, secret = make_key(world.user("ipo_bj", Role.ADMIN), role=Role.OPERATOR)
    province = key_client(secret)
    body = {**BASELINE, "scorecard_id": card.pk}
    assert_error(send(province, "post", "/screening/criteria", {**body, "colour": "red"}), 422, field="colour")
    assert_error(send(province, "post", "/screening/criteria", {**body, "region": "999999"}), 400, field="region")
    bad = {**body, "exclusions": [{"rule": "tax_rating", "params": {"ratings": ["E"]}}]}
    error = assert_error(send(province, "post", "/screening/criteria", bad), 400, field="exclusions")
    assert error["errors"][0]["rule"] == "invalid_params" and "第 1 条硬性排除条件" in error["errors"][0]["message"]
    baseline = _ok(send(province, "post", "/screening/criteria", body), 201)
    assert (baseline["status"], baseline["level"], baseline["region"], baseline["min_score"]) == (
        "draft",
        "baseline",
        "110000",
        "50.00",
    )
    assert [e["rule"] for e in baseline["exclusions"]] == ["dishonest", "serious_violation", "tax_rating"]
    assert baseline["exclusions"][2]["params"] == {"ratings": ["D"]} and baseline["exclusions"][2]["text"]
    url = f"/screening/criteria/{baseline['id']}"
    assert _ok(send(province, "patch", url, {"min_score": "52"}))["min_score"] == "52.00"
    published = _ok(send(province, "post", f"{url}/publish"))
    assert published["status"] == "published" and published["published_by"] is None  # a key: no user
    event = AuditEvent.objects.get(action="criteria.publish")
    assert event.api_key_id is not None and event.actor is None
    assert_error(send(province, "patch", url, {"min_score": "60"}), 400, field="status", rule="not_draft")
    # Jiangsu's office cannot publish Beijing's draft; it reads published criteria like everyone.
    assert _ok(get(session_client(world.user("ipo_js")), url))["id"] == baseline["id"]

    # The park's criteria loosen two things: each is named, with the rule.
    park = session_client(world.user("park1", Role.ADMIN))
    loose = {
        "level": "park",
        "name": "海淀园细化标准",
        "period": PERIOD,
        "park_id": world.parks["p1"].pk,
        "min_score": "45",
        "exclusions": BASELINE_EXCLUSIONS[:2],
    }
    draft = _ok(send(park, "post", "/screening/criteria", loose), 201)
    assert draft["baseline_id"] == baseline["id"] and draft["scorecard_id"] == card.pk
    verdicts = {row["key"]: row["verdict"] for row in draft["comparison"]}
    assert verdicts["min_score"] == "loosens" and verdicts["exclusion:tax_rating"] == "loosens"
    refused = send(park, "post", f"/screening/criteria/{draft['id']}/publish")
    body_err = assert_error(refused, 400, field="min_score", rule="looser_min_score")
    assert_error(refused, 400, field="exclusions", rule="missing_exclusion")
    english = [e["message_en"] for e in body_err["errors"]]
    assert all(english), english
    draft_url = f"/screening/criteria/{draft['id']}"
    _ok(send(park, "patch", draft_url, {"min_score": "60", "exclusions": BASELINE_EXCLUSIONS}))
    assert _ok(send(park, "post", f"{draft_url}/publish"))["status"] == "published"
    # Lists: the published ones for everyone; a bank may read but not write.
    bank = session_client(world.user("bank1"))
    assert {c["id"] for c in _items(get(bank, "/screening/criteria", {"page_size": 500}))} == {
        baseline["id"],
        draft["id"],
    }
    assert [c["id"] for c in _items(get(bank, "/screening/criteria", {"level": "park"}))] == [draft["id"]]
    assert_error(send(bank, "post", "/screening/criteria", body), 403)


def test_screen_submit_approve_through_the_api(world: World) -> None:
    publish_baseline(world)
    dishonest = member(world, "d", "北京失信测试有限公司", 3001)
    from ipledge.screening.choices import RecordKind
    from tests.screening.factories_whitelists import add_record

    add_record(world, dishonest, RecordKind.DISHONEST, AS_OF.replace(year=2025))
    _, park_secret = make_key(world.user("park1", Role.ADMIN), role=Role.OPERATOR)
    park_key = key_client(park_secret)
    park = session_client(world.user("park1"))
    enterprise = session_client(world.user("ent1"))
    reviewer = session_client(world.user("ipo_bj", Role.REVIEWER))
    _, reviewer_secret = make_key(world.user("ipo_bj", Role.ADMIN), role=Role.REVIEWER)
    reviewer_key = key_client(reviewer_secret)

    # The enterprise applies.
    with as_of(TODAY):
        application = _ok(
            send(enterprise, "post", "/screening/applications", {"park_id": world.parks["p1"].pk, "period": PERIOD}),
            201,
        )
    assert (application["status"], application["enterprise"]["id"]) == ("pending", world.enterprises["e1"].pk)
    assert_error(
        send(enterprise, "post", "/screening/applications", {"park_id": world.parks["p2"].pk, "period": PERIOD}),
        400,
        field="park_id",
        rule="not_member",
    )

    # The park screens with its key.
    assert_error(
        send(park_key, "post", "/screening/whitelists/screen", {"park_id": world.parks["p1"].pk, "period": "2031"}),
        400,
        field="period",
        rule="no_baseline",
    )
    assert_error(
        send(
            session_client(world.user("park2")),
            "post",
            "/screening/whitelists/screen",
            {"park_id": world.parks["p1"].pk, "period": PERIOD},
        ),
        403,
    )
    screen = {"park_id": world.parks["p1"].pk, "period": PERIOD, "as_of": AS_OF.isoformat()}
    version = _ok(send(park_key, "post", "/screening/whitelists/screen", screen), 201)
    assert (version["status"], version["number"], version["candidates"], version["included"]) == ("draft", 1, 3, 1)
    assert version["applied"] == 1 and version["rules"]["min_score"] == 50.0 and version["prepared_by"] is None
    url = f"/screening/versions/{version['id']}"
    entries = _items(get(park, f"{url}/entries"))
    by_name = {e["enterprise"]["name"]: e for e in entries}
    assert len(entries) == 3
    e1 = by_name[world.enterprises["e1"].name]
    assert (e1["included"], e1["source"], e1["score"]) == (True, "applied", "75.00")
    assert [p["name"] for p in e1["points"]] == ["invention_patents", "is_high_tech"]
    assert sum(p["points"] for p in e1["points"]) == 35.0  # plus the card's 40 base points
    out = by_name[dishonest.name]
    assert out["reasons"][0]["code"] == "exclusion:dishonest" and out["reasons"][0]["text"].startswith("硬性排除")
    assert [e["enterprise"]["id"] for e in _items(get(park, f"{url}/entries", {"included": "false"}))] == [
        e["enterprise"]["id"] for e in entries if not e["included"]
    ]
    diff = _ok(get(park, f"{url}/diff"))
    assert diff["previous_id"] is None and [a["enterprise_id"] for a in diff["added"]] == [world.enterprises["e1"].pk]
    assert diff["added"][0]["reasons"] == [{"code": "passed", "text": "符合全部筛选条件", "park_only": False}]

    # Overrides: the dishonest enterprise may not be put in.
    dishonest_entry = out["id"]
    assert_error(
        send(park_key, "post", f"/screening/entries/{dishonest_entry}/override", {"include": True, "note": "x"}),
        400,
        field="include",
        rule="fails_baseline",
    )
    assert_error(send(park_key, "post", f"/screening/entries/{dishonest_entry}/override", {"include": False}), 422)
    e1b = by_name[world.enterprises["e1b"].name]
    assert_error(
        send(reviewer, "post", f"/screening/entries/{e1b['id']}/override", {"include": False, "note": "x"}), 403
    )

    # Submitted with the park's key; the province's key may not approve it (a key is never a different person).
    submitted = _ok(send(park_key, "post", f"{url}/submit"))
    assert submitted["status"] == "submitted" and submitted["submitted_by"] is None
    assert_error(send(reviewer_key, "post", f"{url}/approve", {}), 400, field="decided_by", rule="maker_is_checker")
    assert_error(send(session_client(world.user("park1", Role.ADMIN)), "post", f"{url}/approve", {}), 403)
    assert_error(get(session_client(world.user("ipo_js", Role.REVIEWER)), url), 404)
    assert_error(send(session_client(world.user("ipo_js", Role.REVIEWER)), "post", f"{url}/approve", {}), 404)
    assert_error(send(reviewer, "post", f"{url}/return", {"note": ""}), 400, field="note", rule="required")
    approved = _ok(send(reviewer, "post", f"{url}/approve", {"note": "同意"}))
    assert (approved["status"], approved["decided_by"], approved["decision_note"]) == (
        "approved",
        "ipo_bj_reviewer",
        "同意",
    )
    # The enterprise's application is answered with the reasons; it sees its own entry only.
    (answered,) = _items(get(enterprise, "/screening/applications"))
    assert answered["status"] == "included" and answered["answered_in_id"] == version["id"]
    assert [r["code"] for r in answered["answer"]] == ["passed"]
    assert_error(get(enterprise, url), 403)  # enterprises read their own entries, never versions

    # A subscribed bank reads the approved version and its included entries only; an unsubscribed one nothing.
    Subscription.objects.create(bank=world.orgs["bank1_sub"], park=world.parks["p1"])
    bank = session_client(world.user("bank1_sub", Role.VIEWER))
    whitelists = _items(get(bank, "/screening/whitelists"))
    assert [w["current_version"]["id"] for w in whitelists] == [version["id"]]
    detail = _ok(get(bank, f"/screening/whitelists/{whitelists[0]['id']}"))
    assert [v["id"] for v in detail["versions"]] == [version["id"]]
    assert [e["included"] for e in _items(get(bank, f"{url}/entries"))] == [True]
    assert _items(get(session_client(world.user("bank2")), "/screening/whitelists")) == []
    assert_error(get(session_client(world.user("bank2")), url), 404)

    # A second screen is version 2; the first approved version becomes its `previous`.
    v2 = _ok(send(park, "post", "/screening/whitelists/screen", screen), 201)
    assert (v2["number"], v2["previous_id"]) == (2, version["id"])
    _ok(send(park, "post", f"/screening/versions/{v2['id']}/submit"))
    _ok(send(reviewer, "post", f"/screening/versions/{v2['id']}/approve", {}))
    assert WhitelistVersion.objects.get(pk=version["id"]).status == VersionStatus.SUPERSEDED
    ids = {v["id"] for v in _ok(get(park, f"/screening/whitelists/{whitelists[0]['id']}"))["versions"]}
    assert ids == {version["id"], v2["id"]}


def test_application_withdraw_and_scoping(world: World) -> None:
    publish_baseline(world)
    enterprise = session_client(world.user("ent1"))
    with as_of(TODAY):
        application = _ok(
            send(
                enterprise,
                "post",
                "/screening/applications",
                {"park_id": world.parks["p1"].pk, "period": PERIOD, "statement": "说明"},
            ),
            201,
        )
    url = f"/screening/applications/{application['id']}/withdraw"
    assert_error(send(session_client(world.user("ent2")), "post", url), 404)
    assert_error(send(session_client(world.user("park1")), "post", url), 403)
    assert _ok(send(enterprise, "post", url))["status"] == "withdrawn"
    assert_error(send(enterprise, "post", url), 400, field="status", rule="invalid_state")
    assert [a["id"] for a in _items(get(session_client(world.user("park1")), "/screening/applications"))] == [
        application["id"]
    ]
    assert _items(get(session_client(world.user("park2")), "/screening/applications")) == []
    assert_error(get(session_client(world.user("bank1")), "/screening/applications"), 403)
    assert get(Client(), "/screening/whitelists").status_code == 401
