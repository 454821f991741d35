"""Demo exchange seeding: one partner, consents for every second whitelisted enterprise, a queue in realistic states
(delivered, retrying, one dead letter with its error), credit data and loan outcomes received; a second run adds
nothing."""

from __future__ import annotations

import datetime

import pytest

from ipledge.integration.choices import InboundStatus, OutboundStatus
from ipledge.integration.models import (
    ExchangePartner,
    InboundMessage,
    OutboundMessage,
    PartnerCreditReport,
    ShareConsent,
)
from ipledge.integration.seeding_exchange import seed_exchange
from tests.market.factories import add_market
from tests.screening.factories import approved_whitelist
from tests.world import add_pledges

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def test_seed_exchange_is_realistic_and_idempotent(world) -> None:  # type: ignore[no-untyped-def]
    add_market(world)
    approved_whitelist(world)
    add_pledges(world)
    first = seed_exchange(now=NOW)
    partner = ExchangePartner.objects.get(code="xyd-demo")
    assert first["consents"] == 1 and ShareConsent.objects.get().enterprise == world.enterprises["e1"]
    statuses = list(OutboundMessage.objects.filter(partner=partner).values_list("status", flat=True))
    assert statuses.count(OutboundStatus.DEAD) == 1 and statuses.count(OutboundStatus.RETRYING) == 2
    dead = OutboundMessage.objects.get(status=OutboundStatus.DEAD)
    assert dead.last_error and dead.dead_at is not None and dead.attempts == partner.max_attempts
    assert InboundMessage.objects.filter(partner=partner, status=InboundStatus.APPLIED).count() == 2
    assert PartnerCreditReport.objects.filter(enterprise=world.enterprises["e1"]).exists()

    before = (OutboundMessage.objects.count(), InboundMessage.objects.count(), ShareConsent.objects.count())
    second = seed_exchange(now=NOW)
    assert second["consents"] == 0 and second["states"] == {}
    assert (OutboundMessage.objects.count(), InboundMessage.objects.count(), ShareConsent.objects.count()) == before
    assert ExchangePartner.objects.count() == 1


def test_seed_adds_a_demo_platform_operator_who_can_open_the_exchange(world) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.auth.hashers import make_password
    from django.test import Client
    from django.urls import reverse

    from ipledge.core.models import User
    from ipledge.registry.seeding import DEMO_PASSWORD, demo_login_rows

    User.objects.filter(username="cnipa_admin").update(password=make_password(DEMO_PASSWORD))

    assert seed_exchange(now=NOW)["operator"] == 1
    operator = User.objects.get(username="platform_ops")
    assert operator.is_superuser and operator.organisation is None
    assert ("platform_ops", "", "平台", "平台管理员") in demo_login_rows()
    client = Client()
    assert operator.check_password(DEMO_PASSWORD)
    client.force_login(operator)
    assert client.get(reverse("integration:outbound_list")).status_code == 200
    assert seed_exchange(now=NOW)["operator"] == 0
    assert User.objects.filter(is_superuser=True).count() == 1
