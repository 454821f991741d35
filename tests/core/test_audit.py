import pytest
from django.db import transaction

from ipledge.core.audit import AuditError, record_event
from ipledge.core.context import request_id_var
from ipledge.core.models import AuditEvent
from ipledge.registry.models import Enterprise
from ipledge.registry.services import enterprise_update, park_update

pytestmark = pytest.mark.django_db


def test_update_records_old_and_new_values(world):
    user = world.user("park1")
    token = request_id_var.set("req-123")
    try:
        enterprise_update(enterprise=world.enterprises["e1"], data={"employees": 150}, acting_user=user)
    finally:
        request_id_var.reset(token)
    event = AuditEvent.objects.filter(action="enterprise.update").get()
    assert event.actor == user
    assert event.organisation == world.orgs["park1"]
    assert event.request_id == "req-123"
    assert event.region_code == "110108"
    assert event.changes["fields"]["employees"] == {"old": 120, "new": 150}


def test_unchanged_update_writes_nothing(world):
    before = AuditEvent.objects.count()
    enterprise_update(enterprise=world.enterprises["e1"], data={"employees": 120}, acting_user=world.user("park1"))
    assert AuditEvent.objects.count() == before


def test_failed_write_leaves_no_event_and_no_change(world):
    from django.core.exceptions import ValidationError

    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        enterprise_update(
            enterprise=world.enterprises["e1"],
            data={"industry_section": "F", "industry_division": "65"},
            acting_user=world.user("park1"),
        )
    assert "industry_division" in excinfo.value.message_dict
    assert AuditEvent.objects.count() == before
    assert Enterprise.objects.get(pk=world.enterprises["e1"].pk).industry_section == "I"


def test_event_rolls_back_with_its_transaction(world):
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        park_update(park=world.parks["p1"], data={"is_key_park": False}, acting_user=world.user("park1"))
        raise RuntimeError("boom")
    assert AuditEvent.objects.count() == before


def test_events_outside_a_transaction_are_refused(world, django_db_blocker):
    # pytest-django wraps each test in a transaction, so simulate autocommit by checking the guard directly.
    conn = transaction.get_connection()
    saved = conn.in_atomic_block
    conn.in_atomic_block = False
    try:
        with pytest.raises(AuditError):
            record_event(acting_user=None, action="x", object_type="y")
    finally:
        conn.in_atomic_block = saved


def test_row_history_is_kept(world):
    park = world.parks["p1"]
    park_update(park=park, data={"is_key_park": False}, acting_user=world.user("park1"))
    assert park.history.count() == 2


def test_snapshot_values_become_json_including_times() -> None:
    import datetime
    from decimal import Decimal

    from ipledge.core.audit import _jsonable
    from ipledge.core.money import Money

    assert _jsonable(datetime.time(9, 30)) == "09:30:00"
    assert _jsonable(datetime.date(2026, 12, 6)) == "2026-12-06"
    assert _jsonable(Money(Decimal("12.5"))) == "12.50"
    assert _jsonable([Decimal("1.10"), datetime.time(14, 0)]) == ["1.10", "14:00:00"]
