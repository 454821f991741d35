"""Races on PostgreSQL for the event schedule: many organiser officers booking the same bank desk in the same slot at
once book it once (the others are refused naming slot and desk); a proposal racing manual bookings never double
books a desk or an enterprise (the unique constraints hold whatever the interleaving). No server error."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from ipledge.market.models import Meeting
from ipledge.market.services import events as services
from tests.market.factories_events import (
    demand,
    enterprise_with_login,
    event,
    live_product,
    match,
    register_bank,
    register_enterprise,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(calls: list[Callable[[], object]]) -> list[str]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=60)
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


def _no_double_booking(event_id: int) -> None:
    live = Meeting.objects.filter(event_id=event_id).exclude(status="cancelled")
    desks = Counter(live.values_list("bank_participant_id", "desk", "slot"))
    enterprises = Counter(live.values_list("enterprise_participant_id", "slot"))
    pairs = Counter(live.values_list("bank_participant_id", "enterprise_participant_id"))
    assert max(desks.values(), default=0) <= 1 and max(enterprises.values(), default=0) <= 1
    assert max(pairs.values(), default=0) <= 1


def test_many_bookings_of_one_desk_and_slot(world) -> None:  # type: ignore[no-untyped-def]
    e = event(world, slot_count=3)
    bank = register_bank(world, e, "bank2")
    people = []
    for i in range(8):
        enterprise_with_login(world, f"rx{i}", name=f"北京竞争测试{i}有限公司")
        people.append(register_enterprise(world, e, f"rx{i}"))
    park = world.user("park1")

    def book(p):  # type: ignore[no-untyped-def]
        return lambda: services.meeting_add(
            event=e, bank_participant=bank, enterprise_participant=p, slot=2, desk=1, acting_user=park
        )

    outcomes = _race([book(p) for p in people])
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    assert outcomes.count("ok") == 1 and set(outcomes) == {"ok", "desk_busy"}, outcomes
    assert Meeting.objects.filter(event=e, slot=2, desk=1).count() == 1
    _no_double_booking(e.pk)


def test_a_proposal_racing_manual_bookings(world) -> None:  # type: ignore[no-untyped-def]
    e = event(world, slot_count=2)
    banks = [register_bank(world, e, "bank2", desks=1), register_bank(world, e, "bank1_sub", desks=1)]
    products = [live_product(world.orgs["bank2"]), live_product(world.orgs["bank1_sub"])]
    people = []
    for i in range(4):
        enterprise = enterprise_with_login(world, f"rp{i}", name=f"北京排期竞争{i}有限公司")
        d = demand(enterprise)
        for product in products:
            match(d, product, score=50 + i)
        people.append(register_enterprise(world, e, f"rp{i}"))
    park = world.user("park1")

    def add(bank, p, slot):  # type: ignore[no-untyped-def]
        return lambda: services.meeting_add(
            event=e, bank_participant=bank, enterprise_participant=p, slot=slot, desk=1, acting_user=park
        )

    calls: list[Callable[[], object]] = [
        lambda: services.meetings_propose(event=e, acting_user=park),
        add(banks[0], people[0], 1),
        add(banks[1], people[0], 1),
        add(banks[0], people[1], 2),
        add(banks[1], people[2], 2),
    ]
    outcomes = _race(calls)
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    assert set(outcomes) <= {"ok", "desk_busy", "enterprise_busy", "pair_once"}, outcomes
    _no_double_booking(e.pk)
    # Every desk is full: 2 banks × 1 desk × 2 slots.
    assert Meeting.objects.filter(event=e).exclude(status="cancelled").count() == 4
