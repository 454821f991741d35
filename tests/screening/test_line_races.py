"""Races on PostgreSQL for park intended credit lines (意向性授信额度): the park allocating one line to many
enterprises at once never allocates beyond the line; banks granting against one allocation at once never draw
beyond it; a withdrawal racing grants leaves the line's books consistent. Every refusal names its rule; no
server error, no deadlock."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum

from ipledge.core.context import as_of
from ipledge.core.money import Money
from ipledge.screening.choices import AllocationStatus, DecisionOutcome, LineStatus
from ipledge.screening.models import CreditDecision, IntendedCreditLine, LineAllocation
from ipledge.screening.services import banking
from tests.screening.factories import approved_whitelist
from tests.screening.factories_banking import TODAY, cluster_line, more_whitelisted

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(calls: list[Callable[[], object]]) -> list[str]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=60)
            with as_of(TODAY):  # context variables do not cross into threads
                call()
            result = "ok"
        except ValidationError as exc:
            errors = (
                [e for errs in exc.error_dict.values() for e in errs] if hasattr(exc, "error_dict") else exc.error_list
            )
            result = ",".join(sorted({e.code or "?" for e in errors}))
        except Exception as exc:  # anything else is a server error: the test must see it
            result = f"error:{type(exc).__name__}:{exc}"
        with lock:
            outcomes.append(result)
        connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert len(outcomes) == len(calls)
    return outcomes


def test_twenty_allocations_on_a_line_for_ten(world) -> None:  # type: ignore[no-untyped-def]
    approved = approved_whitelist(world)
    entries = more_whitelisted(world, approved, 20)
    line = cluster_line(world, bank="bank1_sub", amount="10000000")
    park = world.user("park1")

    def allocate(entry):  # type: ignore[no-untyped-def]
        return lambda: banking.allocation_create(line=line, entry=entry, amount=Money("1000000"), acting_user=park)

    outcomes = _race([allocate(e) for e in entries])
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    assert outcomes.count("ok") == 10, outcomes
    assert sorted(set(outcomes)) == ["exceeds_remaining", "ok"], outcomes
    line = IntendedCreditLine.objects.get(pk=line.pk)
    assert line.allocated == line.amount == Money("10000000")
    active = LineAllocation.objects.filter(line=line, status=AllocationStatus.ACTIVE)
    assert active.count() == 10 and active.aggregate(total=Sum("amount"))["total"] == line.amount


def test_concurrent_grants_never_exceed_the_allocation(world) -> None:  # type: ignore[no-untyped-def]
    approved = approved_whitelist(world)
    banking.subscription_create(
        bank=world.orgs["bank1_sub"], park=world.parks["p1"], acting_user=world.user("bank1_sub")
    )
    line = cluster_line(world, bank="bank1_sub", amount="10000000")
    with as_of(TODAY):
        allocation = banking.allocation_create(
            line=line, entry=approved.included, amount=Money("1000000"), acting_user=world.user("park1")
        )
    officers = [world.user("bank1_sub"), world.user("bank1_sub", "admin"), world.user("bank1"), world.user("bank1_br")]
    # 16 grants, ¥100,000 or ¥150,000: at most ¥1,000,000 may be drawn.
    amounts = [Money("100000") if n % 2 else Money("150000") for n in range(16)]

    def grant(n: int):  # type: ignore[no-untyped-def]
        return lambda: banking.decision_record(
            entry=approved.included,
            outcome=DecisionOutcome.GRANTED,
            amount=amounts[n],
            term_months=12,
            allocation=allocation,
            acting_user=officers[n % len(officers)],
        )

    outcomes = _race([grant(n) for n in range(16)])
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    assert set(outcomes) <= {"ok", "exceeds_remaining"} and "exceeds_remaining" in outcomes, outcomes
    allocation = LineAllocation.objects.get(pk=allocation.pk)
    granted = CreditDecision.objects.filter(allocation=allocation).aggregate(total=Sum("amount"))["total"]
    assert granted == allocation.utilised and allocation.utilised <= allocation.amount
    assert CreditDecision.objects.filter(allocation=allocation).count() == outcomes.count("ok")
    # Whatever fitted was taken: the rest is below the smallest refused grant.
    assert (allocation.amount - allocation.utilised) < Money("150000")


def test_withdrawal_racing_grants_keeps_the_books(world) -> None:  # type: ignore[no-untyped-def]
    approved = approved_whitelist(world)
    others = more_whitelisted(world, approved, 3)
    banking.subscription_create(
        bank=world.orgs["bank1_sub"], park=world.parks["p1"], acting_user=world.user("bank1_sub")
    )
    line = cluster_line(world, bank="bank1_sub", amount="10000000")
    with as_of(TODAY):
        allocations = [
            banking.allocation_create(line=line, entry=e, amount=Money("1000000"), acting_user=world.user("park1"))
            for e in [approved.included, *others]
        ]

    def grant(allocation: LineAllocation):  # type: ignore[no-untyped-def]
        return lambda: banking.decision_record(
            entry=allocation.entry,
            outcome=DecisionOutcome.GRANTED,
            amount=Money("300000"),
            term_months=12,
            allocation=allocation,
            acting_user=world.user("bank1_sub"),
        )

    def release(allocation: LineAllocation):  # type: ignore[no-untyped-def]
        return lambda: banking.allocation_release(allocation=allocation, acting_user=world.user("park1"))

    calls = [grant(a) for a in allocations for _ in range(3)]
    calls.append(lambda: banking.line_withdraw(line=line, acting_user=world.user("bank1_sub", "admin")))
    calls.append(release(allocations[0]))
    outcomes = _race(calls)
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    assert set(outcomes) <= {"ok", "released", "invalid_state", "line_inactive"}, outcomes
    line = IntendedCreditLine.objects.get(pk=line.pk)
    assert line.status == LineStatus.WITHDRAWN
    assert not LineAllocation.objects.filter(line=line, status=AllocationStatus.ACTIVE).exists()
    drawn = LineAllocation.objects.filter(line=line).aggregate(total=Sum("utilised"))["total"]
    granted = CreditDecision.objects.filter(allocation__line=line).aggregate(total=Sum("amount"))["total"]
    assert line.allocated == drawn == (granted or Money(0))
