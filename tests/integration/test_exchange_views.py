"""信易贷 exchange pages: only platform operators reach the partners and queues (403 on the sections, 404 on an
object for everybody else); the secret is shown once and never again; a dead letter is requeued, a delivered
message is not; enterprises grant and revoke their own consent, and read what partners sent about them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent, User
from ipledge.integration.choices import MessageKind, OutboundStatus
from ipledge.integration.models import ExchangePartner, OutboundMessage, ShareConsent
from tests.integration.factories import add_integration

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ex(world):  # type: ignore[no-untyped-def]
    add_integration(world)
    root = User.objects.create_superuser("root", "root@example.com", "Root-pass-12345")
    partner = ExchangePartner.objects.get(code="xyd-bj")
    return {
        "w": world,
        "root": root,
        "partner": partner,
        "dead": OutboundMessage.objects.get(partner=partner, status=OutboundStatus.DEAD),
        "delivered": OutboundMessage.objects.get(partner=partner, status=OutboundStatus.DELIVERED),
    }


SECTIONS = ("partner_list", "partner_create", "outbound_list", "inbound_list")


def _objects(ex):  # type: ignore[no-untyped-def]
    return [
        ("partner_edit", ex["partner"].pk),
        ("outbound_detail", ex["dead"].pk),
        ("inbound_detail", ex["partner"].inbound.first().pk),
    ]


def test_operators_run_the_exchange_and_other_organisations_see_nothing(ex) -> None:  # type: ignore[no-untyped-def]
    w, root = ex["w"], client_for(ex["root"])
    for name in SECTIONS:
        assert root.get(reverse(f"integration:{name}")).status_code == 200, name
    for name, pk in _objects(ex):
        assert root.get(reverse(f"integration:{name}", args=[pk])).status_code == 200, name
    for key in ("bank1", "ent1", "park1"):
        other = client_for(w.user(key, Role.ADMIN))
        for name in SECTIONS:
            assert other.get(reverse(f"integration:{name}")).status_code == 403, (key, name)
        for name, pk in _objects(ex):
            assert other.get(reverse(f"integration:{name}", args=[pk])).status_code == 404, (key, name)
        for name, pk in (("outbound_requeue", ex["dead"].pk), ("partner_rotate_secret", ex["partner"].pk)):
            assert other.post(reverse(f"integration:{name}", args=[pk])).status_code == 404, (key, name)
    ex["dead"].refresh_from_db()
    assert ex["dead"].status == OutboundStatus.DEAD


def test_government_bodies_watch_their_regions_partner_read_only(ex) -> None:  # type: ignore[no-untyped-def]
    w, partner = ex["w"], ex["partner"]  # a Beijing partner (110000)
    for key in ("ipo_bj", "cnipa"):
        watcher = client_for(w.user(key, Role.ADMIN))
        page = watcher.get(reverse("integration:partner_list"))
        assert page.status_code == 200 and [r["partner"] for r in page.context["rows"]] == [partner], key
        html = page.content.decode()
        assert "partner-create-link" not in html and "partner-sync-form" not in html, key
        queue = watcher.get(reverse("integration:outbound_list"), {"status": "dead"})
        assert [m.pk for m in queue.context["page_obj"]] == [ex["dead"].pk], key
        detail = watcher.get(reverse("integration:outbound_detail", args=[ex["dead"].pk]))
        assert detail.status_code == 200 and "requeue-form" not in detail.content.decode(), key
        inbound = ex["partner"].inbound.first()
        assert watcher.get(reverse("integration:inbound_detail", args=[inbound.pk])).status_code == 200, key
        # Watching is not running: no partner settings, no new partner, no sync, no requeue, no new secret.
        assert watcher.get(reverse("integration:partner_create")).status_code == 403, key
        assert watcher.get(reverse("integration:partner_edit", args=[partner.pk])).status_code == 404, key
        assert watcher.post(reverse("integration:partner_sync", args=[partner.pk])).status_code == 404, key
        assert watcher.post(reverse("integration:partner_rotate_secret", args=[partner.pk])).status_code == 404, key
        assert watcher.post(reverse("integration:outbound_requeue", args=[ex["dead"].pk])).status_code == 403, key
    ex["dead"].refresh_from_db()
    assert ex["dead"].status == OutboundStatus.DEAD and ex["dead"].attempts == 6

    elsewhere = client_for(w.user("ipo_js", Role.ADMIN))  # Jiangsu: its own (none), not Beijing's
    page = elsewhere.get(reverse("integration:outbound_list"))
    assert page.status_code == 200 and list(page.context["page_obj"]) == []
    assert partner.name not in page.content.decode()  # not even in the partner filter's choices
    assert elsewhere.get(reverse("integration:partner_list")).context["rows"] == []
    for name, pk in _objects(ex):
        assert elsewhere.get(reverse(f"integration:{name}", args=[pk])).status_code == 404, name


def test_create_shows_the_secret_once_and_never_again(ex) -> None:  # type: ignore[no-untyped-def]
    root = client_for(ex["root"])
    form = {
        "code": "xyd-js",
        "name": "江苏信易贷",
        "base_url": "https://xyd.example.gov.cn/exchange",
        "key_id": "xyd-js-key",
        "region_code": "320000",
        "push_products": "on",
        "push_whitelist": "on",
        "is_active": "on",
        "max_attempts": "5",
        "secret": "",
    }
    response = root.post(reverse("integration:partner_create"), form)
    assert response.status_code == 200
    partner = ExchangePartner.objects.get(code="xyd-js")
    assert len(partner.secret) >= 32 and partner.secret in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert not partner.push_registrations and partner.max_attempts == 5
    for url in (
        reverse("integration:partner_list"),
        reverse("integration:partner_edit", args=[partner.pk]),
        reverse("integration:outbound_list"),
    ):
        assert partner.secret not in root.get(url).content.decode(), url
    event = AuditEvent.objects.get(action="exchange_partner.create", object_id=str(partner.pk))
    assert partner.secret not in str(event.changes)

    # Rotation shows the new secret once, audited without it.
    rotated = root.post(reverse("integration:partner_rotate_secret", args=[partner.pk]), {"secret": ""})
    old = partner.secret
    partner.refresh_from_db()
    assert partner.secret != old and partner.secret in rotated.content.decode()
    assert partner.secret not in root.get(reverse("integration:partner_edit", args=[partner.pk])).content.decode()
    rotation = AuditEvent.objects.get(action="exchange_partner.rotate_secret", object_id=str(partner.pk))
    assert partner.secret not in str(rotation.changes) and old not in str(rotation.changes)


def test_partner_validation_names_the_field(ex) -> None:  # type: ignore[no-untyped-def]
    root = client_for(ex["root"])
    base = {"code": "xyd-x", "name": "X", "key_id": "xyd-bj-key", "max_attempts": "6"}
    response = root.post(
        reverse("integration:partner_create"), {**base, "base_url": "http://xyd.example.com/", "key_id": "new"}
    )
    assert "base_url" in response.context["form"].errors
    response = root.post(
        reverse("integration:partner_create"), {**base, "base_url": "https://x.example.com/", "secret": "short"}
    )
    assert "secret" in response.context["form"].errors
    response = root.post(reverse("integration:partner_create"), {**base, "base_url": "https://x.example.com/"})
    assert "key_id" in response.context["form"].errors  # already used by xyd-bj
    response = root.post(
        reverse("integration:partner_create"),
        {**base, "key_id": "loop", "base_url": "http://127.0.0.1:8765/exchange"},
    )
    assert response.status_code == 200 and ExchangePartner.objects.filter(code="xyd-x").exists()  # loopback http


def test_edit_partner(ex) -> None:  # type: ignore[no-untyped-def]
    root, partner = client_for(ex["root"]), ex["partner"]
    url = reverse("integration:partner_edit", args=[partner.pk])
    data = {
        "code": partner.code,
        "name": "北京信易贷（新）",
        "base_url": partner.base_url,
        "key_id": partner.key_id,
        "region_code": "",
        "max_attempts": "8",
    }
    assert root.post(url, data).status_code == 302
    partner.refresh_from_db()
    assert partner.name == "北京信易贷（新）" and partner.max_attempts == 8 and not partner.is_active
    assert partner.region_code == ""


def test_requeue_dead_letter_but_not_a_delivered_message(ex) -> None:  # type: ignore[no-untyped-def]
    root, dead, delivered = client_for(ex["root"]), ex["dead"], ex["delivered"]
    page = root.get(reverse("integration:outbound_list"), {"status": "dead"})
    assert page.status_code == 200
    assert [m.pk for m in page.context["page_obj"]] == [dead.pk]
    assert "dead-letter" in page.content.decode() and "死信队列" in page.content.decode()
    assert {c["status"]: c["n"] for c in page.context["counts"]}["dead"] == 1
    detail = root.get(reverse("integration:outbound_detail", args=[dead.pk])).content.decode()
    assert "HTTP 503" in detail and "requeue-form" in detail
    assert "requeue-form" not in root.get(reverse("integration:outbound_detail", args=[delivered.pk])).content.decode()

    assert root.post(reverse("integration:outbound_requeue", args=[dead.pk])).status_code == 302
    dead.refresh_from_db()
    assert dead.status == OutboundStatus.PENDING and dead.attempts == 0 and dead.dead_at is None
    root.post(reverse("integration:outbound_requeue", args=[delivered.pk]))
    delivered.refresh_from_db()
    assert delivered.status == OutboundStatus.DELIVERED


def test_outbound_filters(ex) -> None:  # type: ignore[no-untyped-def]
    root = client_for(ex["root"])
    page = root.get(reverse("integration:outbound_list"), {"kind": MessageKind.PRODUCT})
    assert [m.kind for m in page.context["page_obj"]] == [MessageKind.PRODUCT]
    page = root.get(reverse("integration:outbound_list"), {"partner": ex["partner"].pk, "status": "delivered"})
    assert [m.pk for m in page.context["page_obj"]] == [ex["delivered"].pk]


def test_sync_queues_delivers_and_pulls(ex, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ipledge.integration.services import delivery, inbound

    calls: list[str] = []

    def fake_deliver(**kwargs: Any) -> Any:
        calls.append("deliver")
        assert kwargs["partner"] == ex["partner"]  # only the clicked partner's queue
        return delivery.DeliveryReport(picked=3, delivered=2, retrying=1)

    def fake_pull(**kwargs: Any) -> Any:
        calls.append("pull")
        return inbound.PullReport(fetched=4, applied=4)

    monkeypatch.setattr(delivery, "deliver_due", fake_deliver)
    monkeypatch.setattr(inbound, "pull", fake_pull)
    root = client_for(ex["root"])
    response = root.post(reverse("integration:partner_sync", args=[ex["partner"].pk]), follow=True)
    assert calls == ["deliver", "pull"]
    text = response.content.decode()
    assert "同步完成" in text and "送达 2" in text and "拉取 4" in text


def test_consent_grant_and_revoke_by_the_enterprise(ex) -> None:  # type: ignore[no-untyped-def]
    w = ex["w"]
    e1 = w.enterprises["e1"]
    ShareConsent.objects.filter(enterprise=e1).delete()
    ent1 = client_for(w.user("ent1"))
    page = ent1.get(reverse("integration:consent"))
    assert page.status_code == 200 and "consent-grant-form" in page.content.decode()
    assert "北京信易贷平台" in page.content.decode()  # the partner serving Beijing is named
    assert ent1.post(reverse("integration:consent_grant")).status_code == 302
    live = ShareConsent.objects.get(enterprise=e1, revoked_at__isnull=True)
    assert live.granted_by == w.user("ent1")
    assert "consent-revoke-form" in ent1.get(reverse("integration:consent")).content.decode()

    # Another enterprise cannot revoke it; a viewer of the enterprise cannot either.
    ent2 = client_for(w.user("ent2"))
    assert ent2.post(reverse("integration:consent_revoke"), {"consent": live.pk}).status_code == 404
    viewer = client_for(w.user("ent1", Role.VIEWER))
    assert viewer.post(reverse("integration:consent_revoke"), {"consent": live.pk}).status_code == 404
    assert viewer.post(reverse("integration:consent_grant")).status_code == 403
    live.refresh_from_db()
    assert live.revoked_at is None

    assert ent1.post(reverse("integration:consent_revoke"), {"consent": live.pk}).status_code == 302
    live.refresh_from_db()
    assert live.revoked_at is not None and live.revoked_by == w.user("ent1")
    assert AuditEvent.objects.filter(action="share_consent.revoke", object_id=str(live.pk)).exists()
    # Non-enterprises have no consent page.
    assert client_for(w.user("bank1")).get(reverse("integration:consent")).status_code == 403
    assert client_for(ex["root"]).get(reverse("integration:consent")).status_code == 403


def test_ent2_revoking_does_not_touch_ent1(ex) -> None:  # type: ignore[no-untyped-def]
    w = ex["w"]
    e1_consent = ShareConsent.objects.get(enterprise=w.enterprises["e1"])
    response = client_for(w.user("ent2")).post(reverse("integration:consent_revoke"), {"consent": e1_consent.pk})
    assert response.status_code == 404
    e1_consent.refresh_from_db()
    assert e1_consent.revoked_at is None
    assert ShareConsent.objects.get(enterprise=w.enterprises["e2"]).revoked_at is None


def test_credit_reports_scope(ex) -> None:  # type: ignore[no-untyped-def]
    w = ex["w"]
    url = reverse("integration:credit_reports")
    own = client_for(w.user("ent1", Role.VIEWER)).get(url)
    assert own.status_code == 200
    assert {r.enterprise_id for r in own.context["reports"]} == {w.enterprises["e1"].pk}
    assert {o.enterprise_id for o in own.context["outcomes"]} == {w.enterprises["e1"].pk}
    beijing = client_for(w.user("ipo_bj", Role.VIEWER)).get(url)
    assert {r.enterprise_id for r in beijing.context["reports"]} == {w.enterprises["e1"].pk}
    national = client_for(w.user("cnipa", Role.VIEWER)).get(url)
    assert {r.enterprise_id for r in national.context["reports"]} == {w.enterprises["e1"].pk, w.enterprises["e2"].pk}
    assert client_for(w.user("bank1")).get(url).status_code == 403
