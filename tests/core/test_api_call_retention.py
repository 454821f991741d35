"""API call records are pruned after their retention period, never before the legal six months."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ipledge.core.models import ApiCall, AuditEvent

pytestmark = pytest.mark.django_db


def _call(days_ago: int) -> ApiCall:
    call = ApiCall.objects.create(method="GET", path="/api/v1/me", status_code=200)
    ApiCall.objects.filter(pk=call.pk).update(occurred_at=timezone.now() - datetime.timedelta(days=days_ago))
    return call


def test_prune_keeps_what_is_younger_than_the_period(capsys) -> None:  # type: ignore[no-untyped-def]
    old, kept, fresh = _call(400), _call(200), _call(1)
    call_command("prune_api_calls", "--older-than-days", "365")
    assert set(ApiCall.objects.values_list("pk", flat=True)) == {kept.pk, fresh.pk}
    assert not ApiCall.objects.filter(pk=old.pk).exists()
    event = AuditEvent.objects.get(action="api_call.prune")
    assert event.changes["fields"]["deleted"]["new"] == 1
    assert "deleted 1" in capsys.readouterr().out


def test_prune_refuses_less_than_six_months() -> None:
    _call(200)
    with pytest.raises(CommandError, match="180"):
        call_command("prune_api_calls", "--older-than-days", "30")
    assert ApiCall.objects.count() == 1
    assert not AuditEvent.objects.filter(action="api_call.prune").exists()
