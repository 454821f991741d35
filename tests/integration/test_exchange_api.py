"""信易贷 exchange API: operators run it, government bodies read their region's partners and queues (403 for the
collections, 404 for objects otherwise); the secret is answered
once on create and rotate and never listed; requeue works on a dead letter and is refused for a delivered message;
enterprises read, grant and revoke their own consent; credit reports are scoped."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from ipledge.core.choices import Role
from ipledge.core.models import User
from ipledge.integration.choices import OutboundStatus
from ipledge.integration.models import ExchangePartner, OutboundMessage, ShareConsent
from tests.integration.factories import add_integration

pytestmark = pytest.mark.django_db

API = "/api/v1/integration"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _send(client: Client, url: str, body: dict[str, Any] | None = None, method: str = "post") -> Any:
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def ex(world):  # type: ignore[no-untyped-def]
    add_integration(world)
    root = User.objects.create_superuser("root", "root@example.com", "Root-pass-12345")
    partner = ExchangePartner.objects.get(code="xyd-bj")
    return {
        "w": world,
        "root": client_for(root),
        "partner": partner,
        "dead": OutboundMessage.objects.get(partner=partner, status=OutboundStatus.DEAD),
        "delivered": OutboundMessage.objects.get(partner=partner, status=OutboundStatus.DELIVERED),
    }


def test_operators_only(ex) -> None:  # type: ignore[no-untyped-def]
    w, root = ex["w"], ex["root"]
    for path in ("/partners", "/outbound", "/inbound", "/outbound?status=dead"):
        assert root.get(API + path).status_code == 200, path
    assert root.get(f"{API}/outbound/{ex['dead'].pk}").status_code == 200
    for key in ("bank1", "ent1", "park1"):
        other = client_for(w.user(key, Role.ADMIN))
        for path in ("/partners", "/outbound", "/inbound", f"/outbound/{ex['dead'].pk}"):
            assert other.get(API + path).status_code in (403, 404), (key, path)
        assert other.get(API + "/partners").status_code == 403
        assert _send(other, f"{API}/outbound/{ex['dead'].pk}/requeue").status_code in (403, 404)
        assert _send(other, API + "/partners", {"code": "x"}).status_code in (403, 422)
        assert _send(other, f"{API}/partners/{ex['partner'].pk}", {"name": "X"}, "patch").status_code in (403, 404)
    ex["dead"].refresh_from_db()
    ex["partner"].refresh_from_db()
    assert ex["dead"].status == OutboundStatus.DEAD and ex["partner"].name == "北京信易贷平台"


def test_government_bodies_read_their_regions_queue_and_change_nothing(ex) -> None:  # type: ignore[no-untyped-def]
    w, dead = ex["w"], ex["dead"]
    for key in ("ipo_bj", "cnipa"):
        watcher = client_for(w.user(key, Role.ADMIN))
        partners = watcher.get(API + "/partners").json()["items"]
        assert [p["code"] for p in partners] == ["xyd-bj"] and "secret" not in partners[0], key
        dead_letters = watcher.get(API + "/outbound?status=dead").json()["items"]
        assert [m["id"] for m in dead_letters] == [dead.pk], key
        assert watcher.get(f"{API}/outbound/{dead.pk}").status_code == 200, key
        assert len(watcher.get(API + "/inbound").json()["items"]) >= 1, key
        assert _send(watcher, f"{API}/outbound/{dead.pk}/requeue").status_code == 403, key
        assert _send(watcher, API + "/partners", {"code": "x"}).status_code in (403, 422), key
        patch = _send(watcher, f"{API}/partners/{ex['partner'].pk}", {"name": "X"}, "patch")
        assert patch.status_code == 403, key
    jiangsu = client_for(w.user("ipo_js", Role.ADMIN))
    assert jiangsu.get(API + "/partners").json()["items"] == []
    assert jiangsu.get(API + "/outbound").json()["items"] == []
    assert jiangsu.get(f"{API}/outbound/{dead.pk}").status_code == 404
    dead.refresh_from_db()
    ex["partner"].refresh_from_db()
    assert dead.status == OutboundStatus.DEAD and ex["partner"].name == "北京信易贷平台"


def test_secret_answered_once(ex) -> None:  # type: ignore[no-untyped-def]
    root = ex["root"]
    body = {
        "code": "xyd-js",
        "name": "江苏信易贷",
        "base_url": "https://xyd.example.gov.cn/exchange",
        "key_id": "xyd-js-key",
        "region_code": "320000",
    }
    created = _send(root, API + "/partners", body)
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert len(secret) >= 32 and "secret" not in created.json()["partner"]
    partner_id = created.json()["partner"]["id"]
    assert ExchangePartner.objects.get(pk=partner_id).secret == secret
    listed = root.get(API + "/partners").content.decode()
    assert secret not in listed and '"secret"' not in listed
    patched = _send(root, f"{API}/partners/{partner_id}", {"max_attempts": 3, "push_registrations": False}, "patch")
    assert patched.status_code == 200 and secret not in patched.content.decode()
    assert patched.json()["max_attempts"] == 3 and patched.json()["push_registrations"] is False
    rotated = _send(root, f"{API}/partners/{partner_id}/rotate-secret", {"secret": "n" * 40})
    assert rotated.status_code == 200 and rotated.json()["secret"] == "n" * 40
    assert ExchangePartner.objects.get(pk=partner_id).secret == "n" * 40


def test_partner_validation(ex) -> None:  # type: ignore[no-untyped-def]
    root = ex["root"]
    body = {"code": "xyd-x", "name": "X", "base_url": "http://xyd.example.com/", "key_id": "k-x"}
    response = _send(root, API + "/partners", body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "base_url"
    assert response.json()["errors"][0]["rule"] == "https_required"
    response = _send(root, API + "/partners", {**body, "base_url": "https://x.example.com", "secret": "s" * 10})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "secret"
    response = _send(root, API + "/partners", {**body, "base_url": "https://x.example.com", "key_id": "xyd-bj-key"})
    assert response.status_code in (400, 409) and response.json()["errors"][0]["field"] == "key_id"
    response = _send(root, f"{API}/partners/{ex['partner'].pk}", {"secret": "x" * 40}, "patch")
    assert response.status_code == 422  # the secret is changed only by rotation


def test_requeue(ex) -> None:  # type: ignore[no-untyped-def]
    root, dead, delivered = ex["root"], ex["dead"], ex["delivered"]
    listed = root.get(API + "/outbound", {"status": "dead"}).json()
    assert [m["id"] for m in listed["items"]] == [dead.pk] and listed["items"][0]["last_error"] == "HTTP 503"
    detail = root.get(f"{API}/outbound/{dead.pk}").json()
    assert detail["payload"] == {"number": "R1"} and detail["status"] == "dead"
    response = _send(root, f"{API}/outbound/{dead.pk}/requeue")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending" and response.json()["attempts"] == 0
    refused = _send(root, f"{API}/outbound/{delivered.pk}/requeue")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "status"
    delivered.refresh_from_db()
    assert delivered.status == OutboundStatus.DELIVERED
    assert root.get(f"{API}/outbound/999999").status_code == 404
    by_partner = root.get(API + "/outbound", {"partner_id": ex["partner"].pk, "kind": "product"}).json()
    assert [m["id"] for m in by_partner["items"]] == [delivered.pk]


def test_consent_by_the_enterprise(ex) -> None:  # type: ignore[no-untyped-def]
    w = ex["w"]
    ShareConsent.objects.filter(enterprise=w.enterprises["e1"]).delete()
    ent1 = client_for(w.user("ent1"))
    state = ent1.get(API + "/consent").json()
    assert state["consented"] is False and state["uscc"] == w.enterprises["e1"].uscc
    assert "北京信易贷平台" in state["partners"]
    granted = _send(ent1, API + "/consent")
    assert granted.status_code == 200 and granted.json()["consented"] is True
    consent_id = granted.json()["consent_id"]

    # Another enterprise cannot revoke it (its own revoke touches only its own consent).
    ent2 = client_for(w.user("ent2"))
    foreign = _send(ent2, API + "/consent/revoke", {"consent_id": consent_id})
    assert foreign.status_code == 400 and foreign.json()["errors"][0]["field"] == "consent_id"
    assert ShareConsent.objects.get(pk=consent_id).revoked_at is None
    viewer = client_for(w.user("ent1", Role.VIEWER))
    assert _send(viewer, API + "/consent").status_code in (400, 403)
    assert viewer.delete(API + "/consent").status_code in (400, 403)
    assert ShareConsent.objects.get(pk=consent_id).revoked_at is None

    revoked = ent1.delete(API + "/consent")
    assert revoked.status_code == 200 and revoked.json()["consented"] is False
    assert ShareConsent.objects.get(pk=consent_id).revoked_at is not None
    assert _send(ent1, API + "/consent/revoke", {}).status_code == 400  # nothing live any more
    again = _send(ent1, API + "/consent")
    assert again.json()["consented"] is True and len(again.json()["history"]) == 2
    assert _send(ent1, API + "/consent/revoke", {"consent_id": again.json()["consent_id"]}).status_code == 200
    for key in ("bank1", "ipo_bj"):
        assert client_for(w.user(key)).get(API + "/consent").status_code == 403


def test_credit_reports_scope(ex) -> None:  # type: ignore[no-untyped-def]
    w = ex["w"]
    own = client_for(w.user("ent1", Role.VIEWER)).get(API + "/credit-reports").json()
    assert {r["uscc"] for r in own["items"]} == {w.enterprises["e1"].uscc}
    region = client_for(w.user("ipo_js", Role.VIEWER)).get(API + "/credit-reports").json()
    assert {r["uscc"] for r in region["items"]} == {w.enterprises["e2"].uscc}
    outcomes = client_for(w.user("ent2")).get(API + "/loan-outcomes").json()
    assert [o["amount"] for o in outcomes["items"]] == ["1000000.00"]
    assert client_for(w.user("bank1")).get(API + "/credit-reports").status_code == 403
