"""Scorecard API: list and model card, training (refused with too few outcomes), activation, one enterprise's
score."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from ipledge.core.choices import Role
from ipledge.screening.choices import RecordKind
from ipledge.screening.engine.expert import EXPERT_SCORECARD
from ipledge.screening.models import Scorecard
from ipledge.screening.services.scorecards import scorecard_default
from tests.api_helpers import assert_error, get, key_client, make_key, send, session_client
from tests.screening.factories_scorecards import add_record, training_population

pytestmark = pytest.mark.django_db


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content.decode())
    return response.json()


def test_list_and_detail_for_every_organisation(world):
    for org in ("bank2", "ent1", "park2", "ipo_js"):
        client = session_client(world.user(org, Role.VIEWER))
        page = _ok(get(client, "/screening/scorecards"))
        assert page["count"] >= 1
        default = next(item for item in page["items"] if item["owner"] is None)
        assert default["method"] == "expert" and default["is_active"] is True and default["auc"] is None
        detail = _ok(get(client, f"/screening/scorecards/{default['id']}"))
        assert detail["base_points"] == EXPERT_SCORECARD.base_points
        names = [c["name"] for c in detail["characteristics"]]
        assert names == [c.name for c in EXPERT_SCORECARD.characteristics]
        turnover = detail["characteristics"][names.index("asset_turnover")]
        assert {
            "label": "未提供",
            "points": 0.0,
            "lower": None,
            "upper": None,
            "categories": [],
            "missing": True,
        } in turnover["bins"]
        assert turnover["rationale"]
    assert _ok(get(client, "/screening/scorecards", {"active": "false"}))["count"] == 0
    assert_error(get(client, "/screening/scorecards/999999"), 404)
    assert_error(get(client, "/screening/scorecards/0"), 422)


def test_training_refused_with_too_few_outcomes(world):
    client = session_client(world.user("ipo_bj"))
    body = assert_error(
        send(client, "post", "/screening/scorecards/train", {"name": "北京"}), 400, field="training_rows"
    )
    [error] = body["errors"]
    assert error["rule"] == "too_few_outcomes" and "expert" not in error["message"]
    assert "继续使用专家权重" in error["message"]
    assert_error(send(client, "post", "/screening/scorecards/train", {"name": ""}), 422, field="name")
    assert_error(send(client, "post", "/screening/scorecards/train", {"name": "x", "extra": 1}), 422)


@pytest.mark.parametrize(("org", "role"), [("bank1", Role.ADMIN), ("ipo_nj", Role.ADMIN), ("ipo_bj", Role.REVIEWER)])
def test_training_forbidden(world, org, role):
    client = session_client(world.user(org, role))
    assert_error(send(client, "post", "/screening/scorecards/train", {"name": "x"}), 403)


def test_train_activate_and_score_with_an_api_key(world):
    training_population(world, n=420)
    _key, secret = make_key(world.user("ipo_bj", Role.ADMIN), role="admin")
    client = key_client(secret)
    card = _ok(send(client, "post", "/screening/scorecards/train", {"name": "北京市逻辑回归评分卡"}), 201)
    assert card["method"] == "logistic" and card["is_active"] is False and card["owner"]["name"] == "北京市知识产权局"
    assert card["metrics"]["n"] == 420 and card["auc"] == card["metrics"]["auc"]
    row = Scorecard.objects.get(pk=card["id"])
    assert row.created_by is None  # an API key is no person; the audit event names the key
    assert_error(
        send(session_client(world.user("ipo_js", Role.ADMIN)), "post", f"/screening/scorecards/{card['id']}/activate"),
        403,
    )
    active = _ok(send(client, "post", f"/screening/scorecards/{card['id']}/activate"))
    assert active["is_active"] is True
    assert_error(
        send(client, "post", f"/screening/scorecards/{card['id']}/activate"),
        400,
        field="scorecard",
        rule="already_active",
    )
    # The Beijing office's own pages now score with its card by default.
    e1 = world.enterprises["e1"]
    scored = _ok(get(session_client(world.user("ipo_bj", Role.VIEWER)), f"/screening/enterprises/{e1.pk}/score"))
    assert scored["scorecard_id"] == card["id"] and scored["method"] == "logistic"
    stopped = _ok(send(client, "post", f"/screening/scorecards/{card['id']}/deactivate"))
    assert stopped["is_active"] is False
    default = scorecard_default()
    assert_error(send(client, "post", f"/screening/scorecards/{default.pk}/deactivate"), 403)


def test_enterprise_score(world):
    e1, e2 = world.enterprises["e1"], world.enterprises["e2"]
    add_record(world, e1, RecordKind.PENALTY, datetime.date(2025, 5, 1))
    client = session_client(world.user("park1", Role.VIEWER))
    body = _ok(get(client, f"/screening/enterprises/{e1.pk}/score", {"as_of": "2026-01-05"}))
    assert body["as_of"] == "2026-01-05" and body["method"] == "expert"
    assert body["score"] == pytest.approx(body["base_points"] + sum(p["points"] for p in body["points"]))
    penalties = next(p for p in body["points"] if p["name"] == "penalties_3y")
    assert (penalties["value"], penalties["points"]) == ("1", 0.0)
    assert body["features"]["penalties_3y"] == 1 and body["features"]["invention_patents"] == 1
    assert_error(get(client, f"/screening/enterprises/{e2.pk}/score"), 404)
    assert_error(
        get(client, f"/screening/enterprises/{e1.pk}/score", {"scorecard_id": 999999}), 400, field="scorecard_id"
    )
    assert_error(get(client, f"/screening/enterprises/{e1.pk}/score", {"as_of": "tomorrow"}), 422)


def test_unauthenticated(world):
    from django.test import Client

    assert_error(Client().get("/api/v1/screening/scorecards"), 401)
