"""Races on PostgreSQL for demands: many posts at once each get their own reference; a withdrawal, a loan link and
a bank's answer racing on one demand leave exactly one closing transition, the others refused naming their rule;
no server error, no deadlock."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from ipledge.core.context import as_of
from ipledge.market.choices import DemandStatus, LeadResponse
from ipledge.market.models import Demand, Match
from ipledge.market.services import demands as services
from tests.market.factories_demands import granted_loan, post, two_products

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TODAY = datetime.date(2026, 3, 2)


def _race(calls: list[Callable[[], object]]) -> list[str]:
    """Run the calls at once in threads; their outcomes in call order ("ok" or the refusal's rule codes)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = [""] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=60)
            with as_of(TODAY):
                call()
            result = "ok"
        except ValidationError as exc:
            errors = (
                [e for errs in exc.error_dict.values() for e in errs] if hasattr(exc, "error_dict") else exc.error_list
            )
            result = ",".join(sorted({e.code or "?" for e in errors}))
        except Exception as exc:  # anything else is a server error: the test must see it
            result = f"error:{type(exc).__name__}:{exc}"
        outcomes[index] = result
        connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert all(outcomes), outcomes
    return outcomes


def test_concurrent_posts_get_distinct_references(world) -> None:  # type: ignore[no-untyped-def]
    two_products(world)
    outcomes = _race([lambda: post(world) for _ in range(6)])
    assert outcomes == ["ok"] * 6, outcomes
    refs = sorted(Demand.objects.values_list("reference", flat=True))
    assert refs == [f"XQ2026-{n:06d}" for n in range(1, 7)]


def test_withdraw_link_and_answer_race_on_one_demand(world) -> None:  # type: ignore[no-untyped-def]
    fits, _ = two_products(world)
    with as_of(TODAY):
        demand = post(world)
    loan = granted_loan(world)
    match = Match.objects.get(demand=demand, product=fits)
    ent, park, bank = world.user("ent1"), world.user("park1"), world.user("bank1_sub")
    outcomes = _race(
        [
            lambda: services.demand_withdraw(demand=demand, acting_user=ent),
            lambda: services.demand_link_loan(demand=demand, loan=loan, acting_user=park),
            lambda: services.lead_respond(match=match, response=LeadResponse.INTERESTED, acting_user=bank),
        ]
    )
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    withdrawn, linked, answered = outcomes
    demand.refresh_from_db()
    # Exactly one closing transition wins; the other is refused naming the transition.
    assert sorted([withdrawn, linked]) == ["invalid_transition", "ok"], outcomes
    assert demand.status == (DemandStatus.WITHDRAWN if withdrawn == "ok" else DemandStatus.FINANCED)
    assert (demand.loan_id is not None) == (demand.status == DemandStatus.FINANCED)
    # The answer either came before the closing (and stands) or after it (and was refused).
    match.refresh_from_db()
    assert answered in ("ok", "invalid_transition"), outcomes
    assert (match.response == LeadResponse.INTERESTED) == (answered == "ok")
