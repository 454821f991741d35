"""Races on PostgreSQL: two claims on one loan, and several fund reviewers approving one claim at once, end with
one claim and one advance payment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from ipledge.compensation import ledger, services
from ipledge.compensation.models import Claim, JournalEntry, Payment
from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.services import user_create
from tests.compensation.factories import add_fund, enrolled_loan, turn_bad

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(calls: list[Callable[[], object]]) -> list[str]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
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
        t.join(timeout=120)
    assert len(outcomes) == len(calls)
    return outcomes


def _file(enrolment, user):  # type: ignore[no-untyped-def]
    def call() -> object:
        with as_of(date(2025, 8, 10)):
            return services.claim_file(enrolment=enrolment, acting_user=user, collection_efforts="已起诉")

    return call


def test_two_claims_on_one_loan_make_one(world) -> None:  # type: ignore[no-untyped-def]
    fund = add_fund(world)
    loan, enrolment = enrolled_loan(world, fund)
    turn_bad(world, loan)
    officers = [world.user("bank1_sub"), world.user("bank1_sub", Role.ADMIN)]
    outcomes = _race([_file(enrolment, u) for u in officers])
    assert outcomes.count("ok") == 1, outcomes
    assert all(o == "ok" or o in ("invalid_state", "duplicate") for o in outcomes), outcomes
    assert Claim.objects.filter(loan=loan).count() == 1


def test_reviewers_approving_at_once_pay_once(world) -> None:  # type: ignore[no-untyped-def]
    fund = add_fund(world)
    loan, enrolment = enrolled_loan(world, fund)
    turn_bad(world, loan)
    with as_of(date(2025, 8, 10)):
        claim = services.claim_file(
            enrolment=enrolment, acting_user=world.user("bank1_sub"), collection_efforts="已起诉"
        )
        claim = services.claim_review(claim=claim, acting_user=world.user("fund"))
    reviewers = [world.user("fund", Role.REVIEWER), world.user("fund", Role.ADMIN)]
    reviewers += [
        user_create(
            username=f"fund_race_{n}",
            organisation=world.orgs["fund"],
            role=Role.REVIEWER,
            password=None,
            acting_user=None,
        )
        for n in range(6)
    ]

    def approve(user):  # type: ignore[no-untyped-def]
        def call() -> object:
            with as_of(date(2025, 8, 15)):
                return services.claim_approve(claim=claim, acting_user=user)

        return call

    outcomes = _race([approve(u) for u in reviewers])
    assert outcomes.count("ok") == 1, outcomes
    assert all(o == "ok" or o in ("invalid_state", "stale") for o in outcomes), outcomes
    payments = Payment.objects.filter(claim=claim)
    assert payments.count() == 1 and payments.get().amount.fen == 480000000
    assert JournalEntry.objects.filter(claim=claim, kind="payment").count() == 1
    assert ledger.cash_fen(fund) == 3_000_000_000 - 480_000_000
