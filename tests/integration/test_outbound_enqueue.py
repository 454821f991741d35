"""Queuing facts for 信易贷 partners: whitelist entries only with the enterprise's live consent, revoking stops the
pushes, an unchanged fact is never queued twice and a changed one is, a regional partner gets only its region, and
products go out live and (once) withdrawn."""

from __future__ import annotations

import datetime
import hashlib
import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from ipledge.core.choices import Role
from ipledge.core.money import Money
from ipledge.integration.choices import MessageKind, OutboundStatus
from ipledge.integration.models import ExchangePartner, OutboundMessage, ShareConsent
from ipledge.integration.services.consent import consent_grant, consent_revoke, has_consent
from ipledge.integration.services.outbound import (
    enqueue_all,
    product_payload,
    registration_payload,
    whitelist_entry_payload,
)
from ipledge.market.choices import ProductStatus
from ipledge.registration.models import PledgeRegistration
from ipledge.screening.models import WhitelistEntry
from tests.market.factories import add_market
from tests.screening.factories import approved_whitelist
from tests.world import add_pledges

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def _partner(code: str = "xyd", region: str = "", **flags: Any) -> ExchangePartner:
    return ExchangePartner.objects.create(
        code=code,
        name=f"{code}平台",
        base_url="https://127.0.0.1:9/exchange",
        key_id=f"{code}-key",
        secret="k" * 40,
        region_code=region,
        **flags,
    )


def _keys(partner: ExchangePartner, kind: str) -> list[str]:
    return sorted(OutboundMessage.objects.filter(partner=partner, kind=kind).values_list("subject_key", flat=True))


@pytest.fixture
def facts(world):  # type: ignore[no-untyped-def]
    market = add_market(world)
    approved = approved_whitelist(world)
    add_pledges(world)
    return {"market": market, "approved": approved, "w": world}


def test_whitelist_entries_only_of_consenting_enterprises(facts) -> None:  # type: ignore[no-untyped-def]
    w, approved = facts["w"], facts["approved"]
    # E1b is on the list too, but never consents.
    WhitelistEntry.objects.filter(pk=approved.excluded.pk).update(included=True)
    partner = _partner()
    counts = enqueue_all(now=NOW)
    assert counts[MessageKind.WHITELIST_ENTRY] == 0
    assert _keys(partner, MessageKind.WHITELIST_ENTRY) == []

    consent_grant(actor=w.user("ent1"), enterprise=w.enterprises["e1"])
    assert has_consent(w.enterprises["e1"]) and not has_consent(w.enterprises["e1b"])
    counts = enqueue_all(now=NOW)
    assert counts[MessageKind.WHITELIST_ENTRY] == 1
    e1 = w.enterprises["e1"]
    assert _keys(partner, MessageKind.WHITELIST_ENTRY) == [f"whitelist_entry:{approved.whitelist.pk}:{e1.uscc}"]
    message = OutboundMessage.objects.get(partner=partner, kind=MessageKind.WHITELIST_ENTRY)
    assert message.payload["uscc"] == e1.uscc and message.payload["included"] is True
    assert message.payload["score"] == "75.00" and message.payload["park_name"] == w.parks["p1"].name
    assert w.enterprises["e1b"].uscc not in json.dumps(
        list(OutboundMessage.objects.values_list("payload", flat=True)), ensure_ascii=False
    )


def test_revoking_stops_future_pushes(facts) -> None:  # type: ignore[no-untyped-def]
    w, approved = facts["w"], facts["approved"]
    partner = _partner()
    consent = consent_grant(actor=w.user("ent1"), enterprise=w.enterprises["e1"])
    enqueue_all(now=NOW)
    assert len(_keys(partner, MessageKind.WHITELIST_ENTRY)) == 1
    consent_revoke(actor=w.user("ent1"), consent=consent)
    # The message not yet delivered is dropped, and a changed entry is not queued any more.
    assert _keys(partner, MessageKind.WHITELIST_ENTRY) == []
    WhitelistEntry.objects.filter(pk=approved.included.pk).update(score=Decimal("80.00"))
    assert enqueue_all(now=NOW)[MessageKind.WHITELIST_ENTRY] == 0
    assert _keys(partner, MessageKind.WHITELIST_ENTRY) == []
    # Granting again pushes again.
    consent_grant(actor=w.user("ent1"), enterprise=w.enterprises["e1"])
    assert enqueue_all(now=NOW)[MessageKind.WHITELIST_ENTRY] == 1
    assert ShareConsent.objects.filter(enterprise=w.enterprises["e1"]).count() == 2


def test_delivered_whitelist_message_survives_revocation(facts) -> None:  # type: ignore[no-untyped-def]
    w = facts["w"]
    partner = _partner()
    consent = consent_grant(actor=w.user("ent1"), enterprise=w.enterprises["e1"])
    enqueue_all(now=NOW)
    OutboundMessage.objects.filter(partner=partner).update(status=OutboundStatus.DELIVERED, delivered_at=NOW)
    consent_revoke(actor=w.user("ent1"), consent=consent)
    assert len(_keys(partner, MessageKind.WHITELIST_ENTRY)) == 1


def test_only_the_enterprise_grants_and_revokes(facts) -> None:  # type: ignore[no-untyped-def]
    w = facts["w"]
    with pytest.raises(PermissionDenied):
        consent_grant(actor=w.user("ent2"), enterprise=w.enterprises["e1"])
    with pytest.raises(PermissionDenied):
        consent_grant(actor=w.user("ent1", Role.VIEWER), enterprise=w.enterprises["e1"])
    with pytest.raises(PermissionDenied):
        consent_grant(actor=w.user("ipo_bj"), enterprise=w.enterprises["e1"])
    consent = consent_grant(actor=w.user("ent1"), enterprise=w.enterprises["e1"])
    assert consent_grant(actor=w.user("ent1"), enterprise=w.enterprises["e1"]).pk == consent.pk  # one live consent
    with pytest.raises(PermissionDenied):
        consent_revoke(actor=w.user("ent2"), consent=consent)
    consent.refresh_from_db()
    assert consent.revoked_at is None


def test_unchanged_facts_are_not_queued_again_changed_ones_are(facts) -> None:  # type: ignore[no-untyped-def]
    market = facts["market"]
    partner = _partner()
    first = enqueue_all(now=NOW)
    assert first[MessageKind.PRODUCT] == 2  # the two live products; the draft and the never-pushed withdrawal not
    assert first[MessageKind.REGISTRATION] == 1
    again = enqueue_all(now=NOW)
    assert again[MessageKind.PRODUCT] == 0 and again[MessageKind.REGISTRATION] == 0
    total = OutboundMessage.objects.filter(partner=partner).count()

    # Deliver everything, then change one product's terms: exactly that product is queued again.
    OutboundMessage.objects.filter(partner=partner).update(status=OutboundStatus.DELIVERED, delivered_at=NOW)
    version = market.products["bank1"].live_version
    version.amount_max = Money(20_000_000)
    version.save()
    changed = enqueue_all(now=NOW)
    assert changed[MessageKind.PRODUCT] == 1
    assert OutboundMessage.objects.filter(partner=partner).count() == total + 1
    newest = OutboundMessage.objects.filter(partner=partner, status=OutboundStatus.PENDING).get()
    assert newest.subject_key == f"product:{market.products['bank1'].pk}"
    assert newest.payload["amount_max"] == "20000000.00"
    # A second change before the first was tried replaces the waiting message.
    version.amount_max = Money(30_000_000)
    version.save()
    assert enqueue_all(now=NOW)["superseded"] == 1
    pending = OutboundMessage.objects.filter(partner=partner, status=OutboundStatus.PENDING).get()
    assert pending.payload["amount_max"] == "30000000.00"


def test_payload_digest_is_sha256_of_canonical_json(facts) -> None:  # type: ignore[no-untyped-def]
    partner = _partner()
    enqueue_all(now=NOW)
    for message in OutboundMessage.objects.filter(partner=partner):
        canonical = json.dumps(message.payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert message.payload_digest == hashlib.sha256(canonical.encode()).hexdigest()
        assert message.next_attempt_at == NOW and message.status == OutboundStatus.PENDING


def test_payload_builders(facts) -> None:  # type: ignore[no-untyped-def]
    w, market, approved = facts["w"], facts["market"], facts["approved"]
    product = market.products["bank1"]
    payload = product_payload(product.live_version)
    assert payload["product_code"] == product.code and payload["bank_name"] == w.orgs["bank1"].name
    assert payload["amount_min"] == "100000.00" and payload["amount_max"] == "10000000.00"
    assert payload["term_min_months"] == 6 and payload["rate_kind"] == "lpr_spread"
    assert payload["rate_spread_bp"] == 100 and payload["status"] == "live" and payload["version"] == 1
    entry = whitelist_entry_payload(approved.included)
    assert entry["period"] == "2026" and entry["approved_on"] is not None and entry["version"] == 1
    registration = PledgeRegistration.objects.get(pledgor=w.enterprises["e1"])
    reg = registration_payload(registration)
    assert reg["registration_no"] == registration.registration_no
    assert reg["claim_amount"] == "5000000.00" and reg["pledgor_uscc"] == w.enterprises["e1"].uscc
    assert reg["pledgee_name"] == w.orgs["bank1_sub"].name and reg["status"] == "active"
    assert reg["ip_rights"] == [{"kind": w.rights["r1"].kind, "number": w.rights["r1"].number, "active": True}]
    assert reg["registered_on"] == registration.registered_on.isoformat()


def test_regional_partner_gets_only_its_region(facts) -> None:  # type: ignore[no-untyped-def]
    w, market = facts["w"], facts["market"]
    consent_grant(actor=w.user("ent1"), enterprise=w.enterprises["e1"])
    beijing = _partner("xyd-bj", region="110000")
    jiangsu = _partner("xyd-js", region="320000")
    # bank2's product is open to Jiangsu only; bank1's to the whole country.
    version = market.products["bank2"].live_version
    version.region_codes = ["320000"]
    version.save()
    enqueue_all(now=NOW)
    assert _keys(beijing, MessageKind.PRODUCT) == [f"product:{market.products['bank1'].pk}"]
    assert sorted(_keys(jiangsu, MessageKind.PRODUCT)) == sorted(
        f"product:{market.products[k].pk}" for k in ("bank1", "bank2")
    )
    # e1 (Haidian, Beijing): its registration and whitelist entry go to Beijing only.
    assert len(_keys(beijing, MessageKind.REGISTRATION)) == 1
    assert len(_keys(beijing, MessageKind.WHITELIST_ENTRY)) == 1
    assert _keys(jiangsu, MessageKind.REGISTRATION) == [] and _keys(jiangsu, MessageKind.WHITELIST_ENTRY) == []


def test_push_flags_and_inactive_partners(facts) -> None:  # type: ignore[no-untyped-def]
    no_products = _partner("xyd-a", push_products=False)
    inactive = _partner("xyd-b", is_active=False)
    counts = enqueue_all(now=NOW)
    assert counts["partners"] == 1
    assert _keys(no_products, MessageKind.PRODUCT) == [] and len(_keys(no_products, MessageKind.REGISTRATION)) == 1
    assert not OutboundMessage.objects.filter(partner=inactive).exists()
    # An explicitly named partner is queued for even when inactive (an operator's sync).
    assert enqueue_all(partner=inactive, now=NOW)[MessageKind.PRODUCT] == 2


def test_withdrawn_product_is_pushed_once_to_partners_that_had_it(facts) -> None:  # type: ignore[no-untyped-def]
    market = facts["market"]
    partner = _partner()
    enqueue_all(now=NOW)
    OutboundMessage.objects.filter(partner=partner).update(status=OutboundStatus.DELIVERED, delivered_at=NOW)
    product = market.products["bank1"]
    product.status = ProductStatus.WITHDRAWN
    product.save()
    assert enqueue_all(now=NOW)[MessageKind.PRODUCT] == 1
    withdrawal = OutboundMessage.objects.get(partner=partner, status=OutboundStatus.PENDING)
    assert withdrawal.payload["status"] == "withdrawn" and withdrawal.subject_key == f"product:{product.pk}"
    assert enqueue_all(now=NOW)[MessageKind.PRODUCT] == 0
    # The product withdrawn before any push (bank1_br2) never went out.
    assert f"product:{market.products['bank1_br2'].pk}" not in _keys(partner, MessageKind.PRODUCT)


def test_query_count_does_not_grow_with_rows(facts) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ipledge.market.models import Product

    w, market = facts["w"], facts["market"]
    consent_grant(actor=w.user("ent1"), enterprise=w.enterprises["e1"])
    for index in range(2):
        _partner(f"xyd-{index}")
    with CaptureQueriesContext(connection) as few:
        enqueue_all(now=NOW)
    template = market.products["bank1"]
    version = template.live_version
    for index in range(30):
        product = Product.objects.create(bank=template.bank, code=f"X{index}", name=f"产品{index}")
        version.pk = None
        version.product = product
        version.save()
        product.live_version = version
        product.status = ProductStatus.LIVE
        product.save()
    OutboundMessage.objects.all().delete()
    with CaptureQueriesContext(connection) as many:
        counts = enqueue_all(now=NOW)
    assert counts[MessageKind.PRODUCT] == 2 * 32
    assert len(many.captured_queries) == len(few.captured_queries)
