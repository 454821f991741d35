"""Subscriptions (白名单订阅) and what they deliver: a bank sees the included entries of the current approved versions
of the parks and regions its tree subscribes to — nothing without a subscription, never the excluded enterprise,
never a superseded version — and the subscription rules (bank officers only, one of park or region, no duplicate
active subscription, cancellation)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent, Region
from ipledge.screening.choices import VersionStatus
from ipledge.screening.models import Subscription, WhitelistEntry, WhitelistVersion
from ipledge.screening.selectors_banking import bank_entries, current_entries
from ipledge.screening.services import banking
from tests.screening.factories import approved_whitelist
from tests.screening.factories_banking import approved_p2
from tests.world import World

pytestmark = pytest.mark.django_db


def codes(exc: ValidationError) -> dict[str, set[str]]:
    return {field: {e.code or "" for e in errors} for field, errors in exc.error_dict.items()}


def seen(w: World, org: str, role: str = Role.OPERATOR) -> set[int]:
    return set(current_entries(user=w.user(org, role)).values_list("enterprise_id", flat=True))


def test_without_a_subscription_a_bank_sees_nothing(world: World) -> None:
    approved_whitelist(world)
    for bank in ("bank1", "bank1_br", "bank1_sub", "bank1_br2", "bank2"):
        assert seen(world, bank) == set(), bank
        assert not WhitelistEntry.objects.restrict(world.user(bank)).exists()


def test_park_subscription_delivers_included_entries_to_the_bank_tree_above(world: World) -> None:
    a = approved_whitelist(world)
    sub = banking.subscription_create(
        bank=world.orgs["bank1_sub"], park=world.parks["p1"], acting_user=world.user("bank1_sub")
    )
    e1, e1b = world.enterprises["e1"].pk, world.enterprises["e1b"].pk
    # The subscriber and every bank above it; the excluded E1b is never delivered; a sibling branch and another
    # bank see nothing.
    for bank in ("bank1_sub", "bank1_br", "bank1"):
        assert seen(world, bank) == {e1}, bank
        assert seen(world, bank, Role.VIEWER) == {e1}
        assert not WhitelistEntry.objects.restrict(world.user(bank)).filter(pk=a.excluded.pk).exists()
    assert seen(world, "bank1_br2") == set() and seen(world, "bank2") == set()
    event = AuditEvent.objects.get(action="subscription.create", object_id=str(sub.pk))
    assert event.region_code == "110108" and event.actor == world.user("bank1_sub")
    assert e1b not in seen(world, "bank1")


def test_region_subscription_covers_parks_below_the_region(world: World) -> None:
    approved_whitelist(world)
    approved_p2(world)
    e1, e2 = world.enterprises["e1"].pk, world.enterprises["e2"].pk
    banking.subscription_create(
        bank=world.orgs["bank2"], region=Region.objects.get(code="320000"), acting_user=world.user("bank2")
    )
    assert seen(world, "bank2") == {e2}
    banking.subscription_create(
        bank=world.orgs["bank1_br2"], region=Region.objects.get(code="110108"), acting_user=world.user("bank1_br2")
    )
    assert seen(world, "bank1_br2") == {e1}
    assert seen(world, "bank1") == {e1}  # the head office sees what its branches receive
    # A city covers its districts' parks (P2 lies in Jiangning, 320115); a region without parks delivers nothing.
    banking.subscription_create(
        bank=world.orgs["bank1_sub"], region=Region.objects.get(code="320100"), acting_user=world.user("bank1_sub")
    )
    assert seen(world, "bank1_sub") == {e2}
    banking.subscription_create(
        bank=world.orgs["bank1_br"], region=Region.objects.get(code="310000"), acting_user=world.user("bank1_br")
    )
    assert seen(world, "bank1_br") == {e2}


def test_only_the_current_approved_version_is_delivered(world: World) -> None:
    a = approved_whitelist(world)
    banking.subscription_create(bank=world.orgs["bank2"], park=world.parks["p1"], acting_user=world.user("bank2"))
    v2 = WhitelistVersion.objects.create(
        whitelist=a.whitelist,
        number=2,
        status=VersionStatus.SUBMITTED,
        as_of=datetime.date(2026, 6, 1),
        scorecard=a.version.scorecard,
        previous=a.version,
        submitted_by=world.user("park1"),
        submitted_at=timezone.now(),
    )
    new_e1 = WhitelistEntry.objects.create(version=v2, enterprise=world.enterprises["e1"], included=True, score=80)
    WhitelistEntry.objects.create(version=v2, enterprise=world.enterprises["e1b"], included=True, score=60)
    # A submitted version is not delivered.
    assert set(current_entries(user=world.user("bank2")).values_list("pk", flat=True)) == {a.included.pk}
    WhitelistVersion.objects.filter(pk=a.version.pk).update(status=VersionStatus.SUPERSEDED)
    WhitelistVersion.objects.filter(pk=v2.pk).update(
        status=VersionStatus.APPROVED, decided_by=world.user("ipo_bj", "reviewer")
    )
    a.whitelist.current_version = v2
    a.whitelist.save(update_fields=["current_version"])
    delivered = set(current_entries(user=world.user("bank2")).values_list("pk", flat=True))
    assert new_e1.pk in delivered and a.included.pk not in delivered and len(delivered) == 2
    # The superseded entry stays readable (history), but is not part of the bank's whitelist view.
    assert WhitelistEntry.objects.restrict(world.user("bank2")).filter(pk=a.included.pk).exists()
    assert a.included.pk not in set(bank_entries(user=world.user("bank2")).values_list("pk", flat=True))


def test_subscription_rules(world: World) -> None:
    approved_whitelist(world)
    p1, beijing = world.parks["p1"], Region.objects.get(code="110000")
    bank1_sub = world.orgs["bank1_sub"]
    with pytest.raises(ValidationError) as exc:
        banking.subscription_create(bank=bank1_sub, acting_user=world.user("bank1_sub"))
    assert codes(exc.value) == {"park": {"required"}}
    with pytest.raises(ValidationError) as exc:
        banking.subscription_create(bank=bank1_sub, park=p1, region=beijing, acting_user=world.user("bank1_sub"))
    assert codes(exc.value) == {"region": {"park_or_region"}}
    first = banking.subscription_create(bank=bank1_sub, park=p1, acting_user=world.user("bank1_sub"))
    with pytest.raises(ValidationError) as exc:
        banking.subscription_create(bank=bank1_sub, park=p1, acting_user=world.user("bank1_sub", Role.ADMIN))
    assert codes(exc.value) == {"park": {"unique"}}
    assert "已订阅" in exc.value.messages[0]
    # A head office may subscribe its branch; the same park for another bank of the tree is another subscription.
    banking.subscription_create(bank=world.orgs["bank1_br"], park=p1, acting_user=world.user("bank1"))
    banking.subscription_create(bank=bank1_sub, region=beijing, acting_user=world.user("bank1_sub"))
    with pytest.raises(ValidationError) as exc:
        banking.subscription_create(bank=bank1_sub, region=beijing, acting_user=world.user("bank1_sub"))
    assert codes(exc.value) == {"region": {"unique"}}
    # Cancelled, the same park can be subscribed again.
    banking.subscription_cancel(subscription=first, acting_user=world.user("bank1_sub"))
    banking.subscription_create(bank=bank1_sub, park=p1, acting_user=world.user("bank1_sub"))
    assert Subscription.objects.filter(bank=bank1_sub, park=p1).count() == 2


@pytest.mark.parametrize(
    ("org", "role", "bank"),
    [
        ("park1", Role.OPERATOR, "bank1_sub"),  # not a bank
        ("ipo_bj", Role.ADMIN, "bank1_sub"),
        ("bank1_sub", Role.VIEWER, "bank1_sub"),  # the role may not add
        ("bank1_sub", Role.REVIEWER, "bank1_sub"),
        ("bank1_sub", Role.OPERATOR, "bank1"),  # a bank above its own
        ("bank2", Role.OPERATOR, "bank1_sub"),  # another bank
        ("bank1_br2", Role.OPERATOR, "bank1_sub"),  # a sibling branch
    ],
)
def test_who_may_subscribe(world: World, org: str, role: str, bank: str) -> None:
    with pytest.raises(PermissionDenied):
        banking.subscription_create(bank=world.orgs[bank], park=world.parks["p1"], acting_user=world.user(org, role))
    assert not Subscription.objects.exists()


def test_subscribing_organisation_must_be_a_bank(world: World) -> None:
    admin = world.user("bank1_sub")
    admin.is_superuser = True
    admin.save()
    with pytest.raises(ValidationError) as exc:
        banking.subscription_create(bank=world.orgs["park1"], park=world.parks["p1"], acting_user=admin)
    assert codes(exc.value) == {"bank": {"not_bank"}}


def test_cancel(world: World) -> None:
    approved_whitelist(world)
    sub = banking.subscription_create(
        bank=world.orgs["bank1_sub"], park=world.parks["p1"], acting_user=world.user("bank1_sub")
    )
    for org in ("bank2", "bank1_br2", "park1"):
        with pytest.raises(PermissionDenied):
            banking.subscription_cancel(subscription=sub, acting_user=world.user(org))
    with pytest.raises(PermissionDenied):
        banking.subscription_cancel(subscription=sub, acting_user=world.user("bank1_sub", Role.VIEWER))
    assert seen(world, "bank1_sub") == {world.enterprises["e1"].pk}
    banking.subscription_cancel(subscription=sub, acting_user=world.user("bank1"))  # the head office may
    assert seen(world, "bank1_sub") == set() and seen(world, "bank1") == set()
    with pytest.raises(ValidationError) as exc:
        banking.subscription_cancel(subscription=sub, acting_user=world.user("bank1_sub"))
    assert codes(exc.value) == {"is_active": {"invalid_state"}}
    event = AuditEvent.objects.get(action="subscription.cancel", object_id=str(sub.pk))
    assert event.changes["fields"]["is_active"] == {"old": True, "new": False}
