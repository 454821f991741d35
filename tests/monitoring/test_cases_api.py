"""Typical-case API: the list answers exactly the caller's scope, nomination, the review by the province's IP office
(404 outside its region, 403 for roles that never review), maker-checker, an API key never reviews, stale versions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from ipledge.core.choices import Role
from ipledge.core.scoping import Action
from ipledge.core.services import api_key_create
from ipledge.monitoring.choices import CaseStatus
from ipledge.monitoring.models import TypicalCase
from tests.monitoring.factories_cases import TITLES, add_cases, case

pytestmark = pytest.mark.django_db

API = "/api/v1/monitoring/cases"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, url: str, body: dict[str, Any], method: str = "post") -> Any:
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def test_list_is_exactly_the_scope_and_filters(world) -> None:  # type: ignore[no-untyped-def]
    add_cases(world)
    for key in ("bank1_br2", "ipo_bj", "ipo_js", "park1", "ent1", "cnipa"):
        user = world.user(key, Role.VIEWER)
        got = {item["id"] for item in client_for(user).get(API, {"page_size": 500}).json()["items"]}
        assert got == set(TypicalCase.objects.restrict(user, Action.VIEW).values_list("pk", flat=True)), key
    items = client_for(world.user("ipo_js", Role.VIEWER)).get(API, {"status": "under_review"}).json()["items"]
    assert [i["title"] for i in items] == [TITLES["js_review"]]
    assert items[0]["status_label"] == "评审中" and items[0]["review_score"] == 75


def test_nominate_and_review_through_the_api(world) -> None:  # type: ignore[no-untyped-def]
    park = client_for(world.user("park2"))
    body = {
        "year": 2025,
        "title": "江宁园区投贷联动",
        "category": "risk_sharing",
        "summary": "摘要",
        "practice": "做法",
        "results": "成效",
        "figures": {"融资额（万元）": "3000"},
        "park_id": world.parks["p2"].pk,
    }
    created = _post(park, API, body)
    assert created.status_code == 201, created.content
    case_id = created.json()["id"]
    assert created.json()["status"] == "nominated" and created.json()["figures"] == {"融资额（万元）": "3000"}
    bad = _post(park, API, {**body, "park_id": 999_999})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "park_id"

    assert _post(client_for(world.user("ipo_bj", Role.REVIEWER)), f"{API}/{case_id}/review/open", {}).status_code == 404
    assert _post(client_for(world.user("ipo_js", Role.OPERATOR)), f"{API}/{case_id}/review/open", {}).status_code == 403
    reviewer = client_for(world.user("ipo_js", Role.REVIEWER))
    assert _post(reviewer, f"{API}/{case_id}/review/open", {}).json()["status"] == "under_review"
    assert _post(park, f"{API}/{case_id}/withdraw", {}).status_code == 400  # review already opened
    scored = _post(reviewer, f"{API}/{case_id}/review", {"score": 86, "note": "可复制"})
    assert scored.status_code == 200 and scored.json()["reviewer"] == "ipo_js_reviewer"
    assert _post(reviewer, f"{API}/{case_id}/review", {"score": 101, "note": "x"}).status_code == 422
    rejected = _post(reviewer, f"{API}/{case_id}/decide", {"select": False})
    assert rejected.status_code == 400 and rejected.json()["errors"][0]["rule"] == "required"
    assert _post(reviewer, f"{API}/{case_id}/decide", {"select": True}).json()["status"] == "selected"
    published = _post(reviewer, f"{API}/{case_id}/publish", {})
    assert published.status_code == 200 and published.json()["status"] == "published"
    anyone = client_for(world.user("bank1", Role.VIEWER)).get(f"{API}/{case_id}")
    assert anyone.status_code == 200 and anyone.json()["results"] == "成效"
    assert (anyone.json()["review_note"], anyone.json()["reviewer"], anyone.json()["review_score"]) == ("", None, 86)
    assert client_for(world.user("park2", Role.VIEWER)).get(f"{API}/{case_id}").json()["review_note"] == "可复制"


def test_api_key_cannot_review(world) -> None:  # type: ignore[no-untyped-def]
    add_cases(world)
    _key, secret = api_key_create(
        organisation=world.orgs["ipo_bj"], name="etl", role=Role.REVIEWER, acting_user=world.user("ipo_bj", Role.ADMIN)
    )
    target = case("bj_nominated")
    response = Client().post(
        f"{API}/{target.pk}/review/open", "{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["rule"] == "person_required"
    assert case("bj_nominated").status == CaseStatus.NOMINATED


def test_update_with_version_guard(world) -> None:  # type: ignore[no-untyped-def]
    add_cases(world)
    target = case("bj_nominated")
    park = client_for(world.user("park1"))
    url = f"{API}/{target.pk}"
    ok = _post(park, url, {"title": "新标题", "version": 1}, method="patch")
    assert ok.status_code == 200 and ok.json()["title"] == "新标题" and ok.json()["version"] == 2
    stale = _post(park, url, {"title": "又一个标题", "version": 1}, method="patch")
    assert stale.status_code == 400 and stale.json()["errors"][0]["rule"] == "stale"
    assert _post(client_for(world.user("park2")), url, {"title": "越权"}, method="patch").status_code == 404
    cleared = _post(park, url, {"title": None}, method="patch")
    assert cleared.status_code == 400 and cleared.json()["errors"][0]["field"] == "title"
    assert TypicalCase.objects.get(pk=target.pk).title == "新标题"
