"""Concurrency on PostgreSQL: two organisations registering the same right at once."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from ipledge.core.audit import AuditEvent
from ipledge.core.synthetic import make_patent_number
from ipledge.registry.choices import IPKind
from ipledge.registry.models import IPRight
from ipledge.registry.services import ip_right_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_same_patent_registered_twice_at_once_keeps_one(world):
    number = make_patent_number(year=2023, type_digit=1, serial=4242424)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def register(owner_key: str, user_key: str) -> None:
        try:
            barrier.wait(timeout=10)
            ip_right_create(
                kind=IPKind.PATENT,
                number=number,
                title=f"并发登记 {owner_key}",
                filing_date=datetime.date(2023, 5, 1),
                owners=[{"enterprise": world.enterprises[owner_key]}],
                acting_user=world.user(user_key),
            )
            outcomes.append("created")
        except ValidationError as exc:
            outcomes.append(",".join(f"{f}:{e.code}" for f, errs in exc.error_dict.items() for e in errs))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=register, args=("e1", "park1")),
        threading.Thread(target=register, args=("e2", "park2")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert outcomes.count("created") == 1, outcomes
    rejected = [o for o in outcomes if o != "created"]
    assert len(rejected) == 1 and rejected[0] in ("__all__:unique", "number:unique"), outcomes
    assert IPRight.objects.filter(number=number).count() == 1
    assert (
        AuditEvent.objects.filter(
            action="ip_right.create", object_id=str(IPRight.objects.get(number=number).pk)
        ).count()
        == 1
    )
