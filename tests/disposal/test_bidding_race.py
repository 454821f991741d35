"""Race on PostgreSQL: 50 bidders bid on one lot at once. The lot ends with one consistent winner, every accepted
bid strictly above the one before it in sequence order, the lot's price equal to the last accepted bid, and no lost
bid: every "ok" answer has its row, every refusal says why."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.money import Money
from ipledge.core.services import organisation_create, user_create
from ipledge.disposal import services
from ipledge.disposal.models import Bid, Lot
from tests.disposal.factories import defaulted_with_claim, listed

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BIDDERS = 50


def test_fifty_bidders_at_once(world) -> None:  # type: ignore[no-untyped-def]
    d = listed(world, defaulted_with_claim(world), minutes=120)
    lot = d.lot
    assert lot is not None
    users = []
    for n in range(BIDDERS):
        org = organisation_create(
            name=f"竞买企业{n:02d}",
            kind=OrganisationKind.ENTERPRISE,
            acting_user=None,
            region=world.orgs["ent2"].region,
        )
        user = user_create(
            username=f"bidder_{n:02d}", organisation=org, role=Role.OPERATOR, password=None, acting_user=None
        )
        registration = services.bidder_register(lot=lot, acting_user=user)
        services.deposit_confirm(registration=registration, acting_user=world.user("exchange"))
        users.append(user)

    # Amounts spread so that many collide (same amount, or below the increment over a concurrent bid).
    amounts = [Money(Decimal("2000000") + Decimal(50000) * (n % 17)) for n in range(BIDDERS)]
    barrier = threading.Barrier(BIDDERS)
    outcomes: dict[int, str] = {}
    lock = threading.Lock()

    def bid(n: int) -> None:
        try:
            barrier.wait(timeout=60)
            placed = services.bid_place(lot=lot, amount=amounts[n], acting_user=users[n])
            result = f"ok:{placed.sequence}"
        except ValidationError as exc:
            errors = [e for errs in exc.error_dict.values() for e in errs]
            result = ",".join(sorted({e.code or "?" for e in errors}))
        except Exception as exc:  # anything else is a server error: the test must see it
            result = f"error:{type(exc).__name__}:{exc}"
        with lock:
            outcomes[n] = result
        connection.close()

    threads = [threading.Thread(target=bid, args=(n,)) for n in range(BIDDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)

    assert len(outcomes) == BIDDERS
    assert not [o for o in outcomes.values() if o.startswith("error")], outcomes
    accepted = {n: int(o.split(":")[1]) for n, o in outcomes.items() if o.startswith("ok")}
    refused = [o for o in outcomes.values() if not o.startswith("ok")]
    assert accepted and all(o == "too_low" for o in refused), refused
    bids = list(Bid.objects.filter(lot=lot).order_by("sequence"))
    # No lost bid: exactly the accepted ones are stored, numbered 1..n without gaps.
    assert [b.sequence for b in bids] == list(range(1, len(accepted) + 1))
    assert sorted(accepted.values()) == [b.sequence for b in bids]
    assert {b.registration.bidder_id for b in bids} == {users[n].organisation_id for n in accepted}
    # Every accepted bid strictly above the previous one by at least the increment.
    for before, after in zip(bids, bids[1:], strict=False):
        assert after.amount.fen >= before.amount.fen + lot.increment.fen
    lot = Lot.objects.get(pk=lot.pk)
    assert lot.bid_count == len(bids) and lot.current_price == bids[-1].amount
    assert bids[-1].amount == max(amounts[n] for n in accepted)
