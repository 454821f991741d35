"""Park intended credit lines (意向性授信额度, W4): IPC groups, granting a line, the park's allocations (current
approved whitelist only, the IPC or brand rule, never beyond the line, stated remaining), release, withdrawal,
expiry (service and `ipledge screening expire-lines`) and the database's own guarantee."""

from __future__ import annotations

import datetime
import json
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.registry.choices import LegalStatus
from ipledge.registry.models import IPRight
from ipledge.screening.choices import AllocationStatus, DecisionOutcome, LineBasis, LineStatus, VersionStatus
from ipledge.screening.models import IntendedCreditLine, LineAllocation, WhitelistEntry, WhitelistVersion
from ipledge.screening.selectors_banking import allocatable_entries, line_figures, line_list
from ipledge.screening.services import banking
from ipledge.screening.services.banking import ipc_in_group, normalise_ipc_group
from tests.screening.factories import Approved, approved_whitelist
from tests.screening.factories_banking import TODAY, add_trademark, approved_p2, cluster_line, more_whitelisted
from tests.world import World

pytestmark = pytest.mark.django_db


def codes(exc: ValidationError) -> dict[str, set[str]]:
    return {field: {e.code or "" for e in errors} for field, errors in exc.error_dict.items()}


# ---------------------------------------------------------------------------
# IPC groups
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("H01L", "H01L"),
        ("h01l", "H01L"),
        ("H01L 21/", "H01L 21/"),
        ("H01L21", "H01L 21/"),
        ("H01L 21/00", "H01L 21/"),
        ("  g06f  0016 / ", "G06F 16/"),
        ("Ｈ０１Ｌ　２１／", "H01L 21/"),  # full-width
    ],
)
def test_ipc_group_normalised(text: str, canonical: str) -> None:
    assert normalise_ipc_group(text) == canonical


@pytest.mark.parametrize("text", ["", "H01", "H01L 21/02", "I01L", "H1L 21/", "H01L 21/ab", "电子"])
def test_ipc_group_refused(text: str) -> None:
    with pytest.raises(ValueError):
        normalise_ipc_group(text)


@pytest.mark.parametrize(
    ("main_ipc", "group", "inside"),
    [
        ("H01L27/146", "H01L 27/", True),
        ("H01L 27/146", "H01L 27/", True),
        ("H01L 027/14", "H01L 27/", True),
        ("H01L21/02", "H01L 27/", False),
        ("H01L 271/02", "H01L 27/", False),
        ("H01L27/146", "H01L", True),
        ("H01M27/146", "H01L", False),
        ("", "H01L", False),
        ("H01L", "H01L 27/", False),
    ],
)
def test_ipc_in_group(main_ipc: str, group: str, inside: bool) -> None:
    assert ipc_in_group(main_ipc, group) is inside


# ---------------------------------------------------------------------------
# Lines
# ---------------------------------------------------------------------------


def line_kwargs(w: World, **over):  # type: ignore[no-untyped-def]
    kwargs = {
        "bank": w.orgs["bank1_sub"],
        "park": w.parks["p1"],
        "basis": LineBasis.PATENT_CLUSTER,
        "ipc_group": "h01l27",
        "amount": Money("10000000"),
        "valid_from": datetime.date(2026, 1, 1),
        "valid_to": datetime.date(2026, 12, 31),
        "acting_user": w.user("bank1_sub"),
    }
    kwargs.update(over)
    return kwargs


def test_line_create(world: World) -> None:
    with as_of(TODAY):
        line = banking.line_create(**line_kwargs(world, conditions=" 单户不超过 200 万元 "))
    assert (line.ipc_group, line.brand, line.status, line.region_code) == ("H01L 27/", "", LineStatus.ACTIVE, "110108")
    assert line.allocated == Money(0) and line.conditions == "单户不超过 200 万元"
    assert AuditEvent.objects.filter(action="intended_credit_line.create", object_id=str(line.pk)).exists()
    with as_of(TODAY):
        brand = banking.line_create(
            **line_kwargs(
                world,
                basis=LineBasis.REGIONAL_BRAND,
                ipc_group="",
                brand=" 中关村  智造 ",
                acting_user=world.user("bank1"),
            )
        )
    assert (brand.brand, brand.ipc_group) == ("中关村 智造", "")


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({"ipc_group": "H01L 21/02"}, {"ipc_group": {"ipc_format"}}),
        ({"ipc_group": ""}, {"ipc_group": {"required"}}),
        ({"brand": "中关村"}, {"brand": {"not_allowed"}}),
        ({"basis": LineBasis.REGIONAL_BRAND}, {"brand": {"required"}, "ipc_group": {"not_allowed"}}),
        ({"basis": "other"}, {"basis": {"choice"}}),
        ({"amount": Money(0)}, {"amount": {"positive"}}),
        ({"valid_to": datetime.date(2025, 12, 31)}, {"valid_to": {"order"}}),
        ({"valid_from": datetime.date(2025, 1, 1), "valid_to": datetime.date(2026, 3, 1)}, {"valid_to": {"past"}}),
    ],
)
def test_line_rules(world: World, over, expected) -> None:  # type: ignore[no-untyped-def]
    with as_of(TODAY), pytest.raises(ValidationError) as exc:
        banking.line_create(**line_kwargs(world, **over))
    assert codes(exc.value) == expected
    assert not IntendedCreditLine.objects.exists()


@pytest.mark.parametrize(
    ("org", "role", "bank"),
    [
        ("park1", Role.ADMIN, "bank1_sub"),
        ("bank1_sub", Role.VIEWER, "bank1_sub"),
        ("bank2", Role.OPERATOR, "bank1_sub"),
        ("bank1_sub", Role.OPERATOR, "bank1_br"),
    ],
)
def test_who_grants_lines(world: World, org: str, role: str, bank: str) -> None:
    with as_of(TODAY), pytest.raises(PermissionDenied):
        banking.line_create(**line_kwargs(world, bank=world.orgs[bank], acting_user=world.user(org, role)))


# ---------------------------------------------------------------------------
# Allocations
# ---------------------------------------------------------------------------


@pytest.fixture
def p1(world: World) -> Approved:
    approved = approved_whitelist(world)
    banking.subscription_create(
        bank=world.orgs["bank1_sub"], park=world.parks["p1"], acting_user=world.user("bank1_sub")
    )
    return approved


def allocate(w: World, line: IntendedCreditLine, entry: WhitelistEntry, amount: str, user: str = "park1"):  # type: ignore[no-untyped-def]
    with as_of(TODAY):
        return banking.allocation_create(line=line, entry=entry, amount=Money(amount), acting_user=w.user(user))


def refused(
    w: World, line: IntendedCreditLine, entry: WhitelistEntry, amount: str, today: datetime.date = TODAY
) -> ValidationError:
    before = (
        LineAllocation.objects.count(),
        IntendedCreditLine.objects.get(pk=line.pk).allocated,
        AuditEvent.objects.count(),
    )
    with as_of(today), pytest.raises(ValidationError) as exc:
        banking.allocation_create(line=line, entry=entry, amount=Money(amount), acting_user=w.user("park1"))
    after = (
        LineAllocation.objects.count(),
        IntendedCreditLine.objects.get(pk=line.pk).allocated,
        AuditEvent.objects.count(),
    )
    assert after == before
    return exc.value


def test_allocation_and_figures(world: World, p1: Approved) -> None:
    line = cluster_line(world, bank="bank1_sub")
    assert list(allocatable_entries(line=line)) == [p1.included]
    allocation = allocate(world, line, p1.included, "2000000")
    assert (allocation.enterprise, allocation.entry, allocation.allocated_on) == (
        world.enterprises["e1"],
        p1.included,
        TODAY,
    )
    assert allocation.allocated_by == world.user("park1") and allocation.region_code == "110108"
    line.refresh_from_db()
    assert line.allocated == Money("2000000")
    assert list(allocatable_entries(line=line)) == []
    event = AuditEvent.objects.get(action="intended_credit_line.allocate", object_id=str(line.pk))
    assert event.changes["fields"]["allocated"] == {"old": "0.00", "new": "2000000.00"}
    with as_of(TODAY):
        banking.decision_record(
            entry=p1.included,
            outcome=DecisionOutcome.GRANTED,
            amount=Money("500000"),
            term_months=12,
            allocation=allocation,
            acting_user=world.user("bank1_sub"),
        )
    listed = line_list(user=world.user("park1")).get(pk=line.pk)
    figures = line_figures(listed, today=TODAY)
    assert figures.amount == Money("10000000") and figures.allocated == Money("2000000")
    assert figures.utilised == Money("500000") and figures.remaining == Money("8000000")
    assert figures.unused_allocated == Money("1500000")
    assert figures.days_to_expiry == (datetime.date(2026, 12, 31) - TODAY).days
    assert str(figures.allocated_pct) == "20.0" and str(figures.utilised_pct) == "5.0"
    # Without the annotation (a plain row) the figures come out the same.
    assert line_figures(IntendedCreditLine.objects.get(pk=line.pk), today=TODAY) == figures


def test_ipc_rule(world: World, p1: Approved) -> None:
    # E1 holds r1, main IPC H01L27/146.
    line = cluster_line(world, bank="bank1_sub", group="G06F 16/")
    exc = refused(world, line, p1.included, "1000")
    assert codes(exc) == {"entry": {"ipc_mismatch"}}
    assert "G06F 16/" in exc.messages[0]
    subclass = cluster_line(world, bank="bank1_sub", group="H01L")
    allocate(world, subclass, p1.included, "1000")
    # A lapsed or expired patent no longer counts.
    IPRight.objects.filter(pk=world.rights["r1"].pk).update(legal_status=LegalStatus.LAPSED)
    exc = refused(world, cluster_line(world, bank="bank1_sub"), p1.included, "1000")
    assert codes(exc) == {"entry": {"ipc_mismatch"}}
    IPRight.objects.filter(pk=world.rights["r1"].pk).update(
        legal_status=LegalStatus.VALID, term_end=datetime.date(2026, 3, 1)
    )
    exc = refused(world, cluster_line(world, bank="bank1_sub"), p1.included, "1000")
    assert codes(exc) == {"entry": {"ipc_mismatch"}}


def test_brand_rule(world: World, p1: Approved) -> None:
    with as_of(TODAY):
        line = banking.line_create(
            **line_kwargs(world, basis=LineBasis.REGIONAL_BRAND, ipc_group="", brand="中关村智造")
        )
    exc = refused(world, line, p1.included, "1000")
    assert codes(exc) == {"entry": {"no_trademark"}}
    add_trademark(world, "e1")
    allocate(world, line, p1.included, "1000")


def test_entry_must_be_in_the_current_approved_version_of_the_line_park(world: World, p1: Approved) -> None:
    line = cluster_line(world, bank="bank1_sub")
    exc = refused(world, line, p1.excluded, "1000")
    assert codes(exc) == {"entry": {"not_current"}}
    p2 = approved_p2(world)
    exc = refused(world, line, p2.included, "1000")
    assert codes(exc) == {"entry": {"other_park"}}
    WhitelistVersion.objects.filter(pk=p1.version.pk).update(status=VersionStatus.SUPERSEDED)
    v2 = WhitelistVersion.objects.create(
        whitelist=p1.whitelist,
        number=2,
        status=VersionStatus.APPROVED,
        as_of=TODAY,
        scorecard=p1.version.scorecard,
        previous=p1.version,
        submitted_by=world.user("park1"),
        submitted_at=timezone.now(),
    )
    fresh = WhitelistEntry.objects.create(version=v2, enterprise=world.enterprises["e1"], included=True, score=77)
    # Until the whitelist points to v2, neither entry is current: the old one is superseded, the new not current.
    exc = refused(world, line, p1.included, "1000")
    assert codes(exc) == {"entry": {"not_current"}}
    exc = refused(world, line, fresh, "1000")
    assert codes(exc) == {"entry": {"not_current"}}
    p1.whitelist.current_version = v2
    p1.whitelist.save(update_fields=["current_version"])
    allocate(world, line, fresh, "1000")


def test_line_must_be_active_and_valid_today(world: World, p1: Approved) -> None:
    line = cluster_line(world, bank="bank1_sub")
    exc = refused(world, line, p1.included, "1000", today=datetime.date(2027, 1, 1))
    assert codes(exc) == {"line": {"line_not_valid"}}
    with as_of(TODAY):
        later = banking.line_create(**line_kwargs(world, valid_from=datetime.date(2026, 6, 1)))
    exc = refused(world, later, p1.included, "1000")
    assert codes(exc) == {"line": {"line_not_valid"}}
    assert banking.lines_expire(today=datetime.date(2027, 1, 1)) == 2
    exc = refused(world, line, p1.included, "1000")
    assert codes(exc) == {"line": {"line_inactive"}}


def test_over_allocation_refused_with_the_remaining_stated(world: World, p1: Approved) -> None:
    others = more_whitelisted(world, p1, 2)
    line = cluster_line(world, bank="bank1_sub", amount="3000000")
    allocate(world, line, p1.included, "2000000")
    allocate(world, line, others[0], "999999.99")
    exc = refused(world, line, others[1], "0.02")
    assert codes(exc) == {"amount": {"exceeds_remaining"}}
    assert "0.01" in exc.messages[0]
    allocate(world, line, others[1], "0.01")
    line.refresh_from_db()
    assert line.allocated == line.amount
    exc = refused(world, line, p1.included, "1")  # and a duplicate is named as such before the amount
    assert codes(exc) == {"entry": {"unique"}}


def test_zero_amount_and_who_allocates(world: World, p1: Approved) -> None:
    line = cluster_line(world, bank="bank1_sub")
    exc = refused(world, line, p1.included, "0")
    assert codes(exc) == {"amount": {"positive"}}
    for org, role in (
        ("bank1_sub", Role.OPERATOR),
        ("park2", Role.OPERATOR),
        ("park1", Role.VIEWER),
        ("ent1", Role.ADMIN),
    ):
        with as_of(TODAY), pytest.raises(PermissionDenied):
            banking.allocation_create(
                line=line, entry=p1.included, amount=Money("1"), acting_user=world.user(org, role)
            )


def test_the_database_refuses_over_allocation(world: World, p1: Approved) -> None:
    line = cluster_line(world, bank="bank1_sub")
    with pytest.raises(IntegrityError), transaction.atomic():
        IntendedCreditLine.objects.filter(pk=line.pk).update(allocated=F("amount") + 1)
    allocation = allocate(world, line, p1.included, "1000")
    with pytest.raises(IntegrityError), transaction.atomic():
        LineAllocation.objects.filter(pk=allocation.pk).update(utilised=F("amount") + 1)


# ---------------------------------------------------------------------------
# Release, withdrawal, expiry
# ---------------------------------------------------------------------------


def test_release_returns_the_unused_part(world: World, p1: Approved) -> None:
    line = cluster_line(world, bank="bank1_sub")
    allocation = allocate(world, line, p1.included, "2000000")
    with as_of(TODAY):
        banking.decision_record(
            entry=p1.included,
            outcome=DecisionOutcome.GRANTED,
            amount=Money("600000"),
            term_months=12,
            allocation=allocation,
            acting_user=world.user("bank1_sub"),
        )
    with pytest.raises(PermissionDenied):
        banking.allocation_release(allocation=allocation, acting_user=world.user("bank1_sub"))
    with as_of(datetime.date(2026, 4, 1)):
        released = banking.allocation_release(allocation=allocation, acting_user=world.user("park1"))
    assert (released.status, released.released_on, released.utilised) == (
        AllocationStatus.RELEASED,
        datetime.date(2026, 4, 1),
        Money("600000"),
    )
    line.refresh_from_db()
    assert line.allocated == Money("600000")  # what was drawn stays drawn
    event = AuditEvent.objects.get(action="intended_credit_line.release", object_id=str(line.pk))
    assert event.changes["extra"]["returned"] == "1400000.00"
    with pytest.raises(ValidationError) as exc:
        banking.allocation_release(allocation=allocation, acting_user=world.user("park1"))
    assert codes(exc.value) == {"status": {"invalid_state"}}
    # The enterprise may be allocated again on the same line.
    again = allocate(world, line, p1.included, "9400000")
    line.refresh_from_db()
    assert line.allocated == line.amount and again.status == AllocationStatus.ACTIVE


def test_withdrawal_releases_allocations(world: World, p1: Approved) -> None:
    others = more_whitelisted(world, p1, 1)
    line = cluster_line(world, bank="bank1_sub")
    first = allocate(world, line, p1.included, "2000000")
    second = allocate(world, line, others[0], "1000000")
    with as_of(TODAY):
        banking.decision_record(
            entry=p1.included,
            outcome=DecisionOutcome.GRANTED,
            amount=Money("700000"),
            term_months=12,
            allocation=first,
            acting_user=world.user("bank1_sub"),
        )
    for org in ("park1", "bank2", "bank1_br2"):
        with pytest.raises(PermissionDenied):
            banking.line_withdraw(line=line, acting_user=world.user(org))
    with as_of(TODAY):
        withdrawn = banking.line_withdraw(line=line, acting_user=world.user("bank1"))
    assert withdrawn.status == LineStatus.WITHDRAWN and withdrawn.allocated == Money("700000")
    assert set(LineAllocation.objects.filter(line=line).values_list("status", flat=True)) == {AllocationStatus.RELEASED}
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.utilised == Money("700000") and second.released_on == TODAY
    assert AuditEvent.objects.filter(action="line_allocation.release_on_withdrawal").count() == 2
    with pytest.raises(ValidationError) as exc:
        banking.line_withdraw(line=line, acting_user=world.user("bank1_sub"))
    assert codes(exc.value) == {"status": {"invalid_state"}}
    exc2 = refused(world, line, p1.included, "1")
    assert codes(exc2) == {"line": {"line_inactive"}}


def test_expiry_scan_and_command(world: World, p1: Approved) -> None:
    line = cluster_line(world, bank="bank1_sub")
    allocation = allocate(world, line, p1.included, "1000000")
    with as_of(TODAY):
        kept = banking.line_create(**line_kwargs(world, valid_to=datetime.date(2027, 6, 30)))
    assert banking.lines_expire(today=datetime.date(2026, 12, 31)) == 0  # the last valid day still counts
    out = StringIO()
    call_command("screening", "expire-lines", "--date", "2027-01-01", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"date": "2027-01-01", "expired": 1}
    line.refresh_from_db()
    kept.refresh_from_db()
    assert (line.status, kept.status) == (LineStatus.EXPIRED, LineStatus.ACTIVE)
    event = AuditEvent.objects.get(action="intended_credit_line.expire", object_id=str(line.pk))
    assert event.actor is None and event.actor_name == "system"
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.ACTIVE  # kept as it stood at the end of the period
    assert banking.lines_expire(today=datetime.date(2027, 1, 1)) == 0
    out = StringIO()
    call_command("screening", "expire-lines", "--date", "2027-07-01", stdout=out)
    assert "1 intended credit lines expired" in out.getvalue()
