"""Credit decisions (授信决定): a bank records a grant (amount, term, 无还本续贷 flag, optionally drawn on a park
allocation of its own lines) or a refusal on an entry it receives; every bad input is refused naming the field and
the rule, and nothing is half-written; banks never see each other's decisions."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.screening.choices import DecisionOutcome, VersionStatus
from ipledge.screening.models import CreditDecision, LineAllocation, WhitelistVersion
from ipledge.screening.selectors_banking import bank_entries, decision_list
from ipledge.screening.services import banking
from tests.screening.factories import Approved, approved_whitelist
from tests.screening.factories_banking import TODAY, approved_p2, cluster_line, more_whitelisted
from tests.world import World

pytestmark = pytest.mark.django_db

GRANTED, DECLINED = DecisionOutcome.GRANTED, DecisionOutcome.DECLINED


def codes(exc: ValidationError) -> dict[str, set[str]]:
    return {field: {e.code or "" for e in errors} for field, errors in exc.error_dict.items()}


@pytest.fixture
def subscribed(world: World) -> Approved:
    a = approved_whitelist(world)
    banking.subscription_create(
        bank=world.orgs["bank1_sub"], park=world.parks["p1"], acting_user=world.user("bank1_sub")
    )
    return a


def refused(world: World, **kwargs) -> ValidationError:  # type: ignore[no-untyped-def]
    kwargs.setdefault("acting_user", world.user("bank1_sub"))
    before = (CreditDecision.objects.count(), AuditEvent.objects.count())
    with as_of(TODAY), pytest.raises(ValidationError) as exc:
        banking.decision_record(**kwargs)
    assert (CreditDecision.objects.count(), AuditEvent.objects.count()) == before
    return exc.value


def allocated(world: World, entry, amount: str = "2000000", bank: str = "bank1_sub") -> LineAllocation:  # type: ignore[no-untyped-def]
    line = cluster_line(world, bank=bank)
    with as_of(TODAY):
        return banking.allocation_create(line=line, entry=entry, amount=Money(amount), acting_user=world.user("park1"))


def test_grant_drawn_on_an_allocation(world: World, subscribed: Approved) -> None:
    allocation = allocated(world, subscribed.included)
    with as_of(TODAY):
        decision = banking.decision_record(
            entry=subscribed.included,
            outcome=GRANTED,
            amount=Money("1200000"),
            term_months=12,
            renewal_without_repayment=True,
            allocation=allocation,
            note="首贷",
            acting_user=world.user("bank1_sub"),
        )
    assert decision.bank == world.orgs["bank1_sub"] and decision.enterprise == world.enterprises["e1"]
    assert (decision.amount, decision.term_months, decision.renewal_without_repayment) == (Money("1200000"), 12, True)
    assert (
        decision.decided_on == TODAY
        and decision.region_code == "110108"
        and decision.decided_by == world.user("bank1_sub")
    )
    allocation.refresh_from_db()
    assert allocation.utilised == Money("1200000")
    draw = AuditEvent.objects.get(action="line_allocation.draw", object_id=str(allocation.pk))
    assert draw.changes["fields"]["utilised"] == {"old": "0.00", "new": "1200000.00"}
    assert AuditEvent.objects.filter(action="credit_decision.record", object_id=str(decision.pk)).exists()
    # A second grant up to the rest of the allocation fits exactly; one fen more does not.
    exc = refused(
        world,
        entry=subscribed.included,
        outcome=GRANTED,
        amount=Money("800000.01"),
        term_months=6,
        allocation=allocation,
    )
    assert codes(exc) == {"amount": {"exceeds_remaining"}}
    assert "800,000.00" in exc.messages[0]
    with as_of(TODAY):
        banking.decision_record(
            entry=subscribed.included,
            outcome=GRANTED,
            amount=Money("800000"),
            term_months=6,
            allocation=allocation,
            acting_user=world.user("bank1_sub", Role.ADMIN),
        )
    allocation.refresh_from_db()
    assert allocation.utilised == allocation.amount
    # The latest decision is the bank's view of the entry.
    row = bank_entries(user=world.user("bank1_sub")).get(pk=subscribed.included.pk)
    assert row.latest_amount == Money("800000") and row.decided  # type: ignore[attr-defined]


def test_grant_and_refusal_without_allocation(world: World, subscribed: Approved) -> None:
    with as_of(TODAY):
        refusal = banking.decision_record(
            entry=subscribed.included, outcome=DECLINED, note="抵押不足", acting_user=world.user("bank1_sub")
        )
        grant = banking.decision_record(
            entry=subscribed.included,
            outcome=GRANTED,
            amount=Money("500000"),
            term_months=36,
            decided_on=datetime.date(2026, 2, 1),
            acting_user=world.user("bank1"),
        )
    assert refusal.amount is None and refusal.term_months is None and refusal.allocation is None
    assert grant.bank == world.orgs["bank1"] and grant.decided_on == datetime.date(2026, 2, 1)
    # The head office sees both; the sub-branch only its own (decisions scope down the tree).
    assert set(decision_list(user=world.user("bank1")).values_list("pk", flat=True)) == {refusal.pk, grant.pk}
    assert set(decision_list(user=world.user("bank1_sub")).values_list("pk", flat=True)) == {refusal.pk}
    latest = bank_entries(user=world.user("bank1")).get(pk=subscribed.included.pk)
    assert latest.latest_outcome == DECLINED  # type: ignore[attr-defined]  # decided on TODAY, after 2026-02-01


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"outcome": DECLINED, "amount": Money("100")}, {"amount": {"not_allowed"}}),
        ({"outcome": DECLINED, "term_months": 12}, {"term_months": {"not_allowed"}}),
        (
            {"outcome": DECLINED, "renewal_without_repayment": True},
            {"renewal_without_repayment": {"renewal_needs_grant"}},
        ),
        ({"outcome": GRANTED, "term_months": 12}, {"amount": {"required"}}),
        ({"outcome": GRANTED, "amount": Money("100")}, {"term_months": {"required"}}),
        ({"outcome": GRANTED, "amount": Money("0"), "term_months": 12}, {"amount": {"positive"}}),
        ({"outcome": GRANTED, "amount": Money("100"), "term_months": 0}, {"term_months": {"range"}}),
        ({"outcome": GRANTED, "amount": Money("100"), "term_months": 361}, {"term_months": {"range"}}),
        ({"outcome": "maybe"}, {"outcome": {"choice"}}),
        (
            {
                "outcome": GRANTED,
                "amount": Money("100"),
                "term_months": 12,
                "decided_on": TODAY + datetime.timedelta(days=1),
            },
            {"decided_on": {"future"}},
        ),
    ],
)
def test_decision_shape(world: World, subscribed: Approved, kwargs, expected) -> None:  # type: ignore[no-untyped-def]
    exc = refused(world, entry=subscribed.included, **kwargs)
    assert codes(exc) == expected


def test_declined_with_an_allocation_is_refused(world: World, subscribed: Approved) -> None:
    allocation = allocated(world, subscribed.included)
    exc = refused(world, entry=subscribed.included, outcome=DECLINED, allocation=allocation)
    assert codes(exc) == {"allocation": {"not_allowed"}}


def test_the_database_refuses_a_misshapen_decision(world: World, subscribed: Approved) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditDecision.objects.create(
            bank=world.orgs["bank1_sub"],
            entry=subscribed.included,
            enterprise=world.enterprises["e1"],
            outcome=DECLINED,
            amount=Money("1"),
            decided_on=TODAY,
        )


def test_entries_out_of_reach(world: World, subscribed: Approved) -> None:
    # Another bank, without a subscription; the excluded enterprise; a superseded version.
    exc = refused(world, entry=subscribed.included, outcome=DECLINED, acting_user=world.user("bank2"))
    assert codes(exc) == {"entry": {"not_found"}}
    exc = refused(world, entry=subscribed.excluded, outcome=DECLINED)
    assert codes(exc) == {"entry": {"not_found"}}
    WhitelistVersion.objects.filter(pk=subscribed.version.pk).update(status=VersionStatus.SUPERSEDED)
    exc = refused(world, entry=subscribed.included, outcome=DECLINED)
    assert codes(exc) == {"entry": {"superseded"}}


@pytest.mark.parametrize(
    ("org", "role"),
    [("park1", Role.OPERATOR), ("ipo_bj", Role.ADMIN), ("bank1_sub", Role.VIEWER), ("ent1", Role.ADMIN)],
)
def test_only_bank_officers_decide(world: World, subscribed: Approved, org: str, role: str) -> None:
    with as_of(TODAY), pytest.raises(PermissionDenied):
        banking.decision_record(entry=subscribed.included, outcome=DECLINED, acting_user=world.user(org, role))


def test_allocation_rules(world: World, subscribed: Approved) -> None:
    entries = more_whitelisted(world, subscribed, 1)
    own = allocated(world, subscribed.included)
    # Another enterprise's allocation on the same line.
    with as_of(TODAY):
        other = banking.allocation_create(
            line=own.line, entry=entries[0], amount=Money("1000000"), acting_user=world.user("park1")
        )
    exc = refused(
        world, entry=subscribed.included, outcome=GRANTED, amount=Money("1"), term_months=12, allocation=other
    )
    assert codes(exc) == {"allocation": {"other_enterprise"}}
    # Another bank's line: bank2 reaches E1 (subscribed) but the allocation is on bank1_sub's line.
    banking.subscription_create(bank=world.orgs["bank2"], park=world.parks["p1"], acting_user=world.user("bank2"))
    exc = refused(
        world,
        entry=subscribed.included,
        outcome=GRANTED,
        amount=Money("1"),
        term_months=12,
        allocation=own,
        acting_user=world.user("bank2"),
    )
    assert codes(exc) == {"allocation": {"other_bank"}}
    # A sibling in the same tree neither (bank1_br2 is not above bank1_sub).
    banking.subscription_create(
        bank=world.orgs["bank1_br2"], park=world.parks["p1"], acting_user=world.user("bank1_br2")
    )
    exc = refused(
        world,
        entry=subscribed.included,
        outcome=GRANTED,
        amount=Money("1"),
        term_months=12,
        allocation=own,
        acting_user=world.user("bank1_br2"),
    )
    assert codes(exc) == {"allocation": {"other_bank"}}
    # The decision date outside the line's period (the line runs through 2026).
    exc = refused(
        world,
        entry=subscribed.included,
        outcome=GRANTED,
        amount=Money("1"),
        term_months=12,
        allocation=own,
        decided_on=datetime.date(2025, 12, 31),
    )
    assert codes(exc) == {"allocation": {"line_not_valid"}}
    # A grant beyond the allocation: the remaining is stated, nothing drawn.
    exc = refused(
        world, entry=subscribed.included, outcome=GRANTED, amount=Money("2000000.01"), term_months=12, allocation=own
    )
    assert codes(exc) == {"amount": {"exceeds_remaining"}} and "2,000,000.00" in exc.messages[0]
    own.refresh_from_db()
    assert own.utilised == Money(0)
    # Released, then on an expired line.
    with as_of(TODAY):
        banking.allocation_release(allocation=other, acting_user=world.user("park1"))
    exc = refused(world, entry=entries[0], outcome=GRANTED, amount=Money("1"), term_months=12, allocation=other)
    assert codes(exc) == {"allocation": {"released"}}
    assert banking.lines_expire(today=datetime.date(2027, 1, 1)) == 1
    exc = refused(world, entry=subscribed.included, outcome=GRANTED, amount=Money("1"), term_months=12, allocation=own)
    assert codes(exc) == {"allocation": {"line_inactive"}}


def test_bank_above_draws_on_its_branch_line(world: World, subscribed: Approved) -> None:
    """A head office reaches what its sub-branch subscribed to and the lines below it."""
    own = allocated(world, subscribed.included, bank="bank1_sub")
    with as_of(TODAY):
        decision = banking.decision_record(
            entry=subscribed.included,
            outcome=GRANTED,
            amount=Money("300000"),
            term_months=12,
            allocation=own,
            acting_user=world.user("bank1"),
        )
    assert decision.allocation == own and decision.bank == world.orgs["bank1"]


def test_bank2_never_sees_bank1_decisions(world: World) -> None:
    a = approved_whitelist(world)
    p2 = approved_p2(world)
    banking.subscription_create(
        bank=world.orgs["bank1_sub"], park=world.parks["p1"], acting_user=world.user("bank1_sub")
    )
    banking.subscription_create(bank=world.orgs["bank2"], park=world.parks["p1"], acting_user=world.user("bank2"))
    banking.subscription_create(bank=world.orgs["bank2"], park=world.parks["p2"], acting_user=world.user("bank2"))
    with as_of(TODAY):
        mine = banking.decision_record(
            entry=a.included,
            outcome=GRANTED,
            amount=Money("1000000"),
            term_months=12,
            acting_user=world.user("bank1_sub"),
        )
        theirs = banking.decision_record(entry=p2.included, outcome=DECLINED, acting_user=world.user("bank2"))
    assert set(decision_list(user=world.user("bank2")).values_list("pk", flat=True)) == {theirs.pk}
    assert set(decision_list(user=world.user("bank1")).values_list("pk", flat=True)) == {mine.pk}
    # bank2 receives E1 too, but its view shows no decision on it: bank1's is not its own.
    row = bank_entries(user=world.user("bank2")).get(pk=a.included.pk)
    assert not row.decided and row.latest_outcome is None  # type: ignore[attr-defined]
    # The enterprise, its park and the Beijing office read E1's decision; Jiangsu bodies do not.
    assert list(decision_list(user=world.user("ent1")).values_list("pk", flat=True)) == [mine.pk]
    assert list(decision_list(user=world.user("park1")).values_list("pk", flat=True)) == [mine.pk]
    assert list(decision_list(user=world.user("ipo_bj")).values_list("pk", flat=True)) == [mine.pk]
    assert list(decision_list(user=world.user("ipo_js")).values_list("pk", flat=True)) == [theirs.pk]
