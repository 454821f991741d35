"""Transfers of a right through the API: refused while pledged without the pledgee's consent (民法典第四百四十四条)."""

import json

import pytest
from django.test import Client

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from tests.world import add_pledges

pytestmark = pytest.mark.django_db


def _post(user, right, body):  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client.post(f"/api/v1/ip-rights/{right.pk}/transfer", json.dumps(body), content_type="application/json")


def test_pledged_right_transfer_needs_consent(world):
    add_pledges(world)
    right = world.rights["r1"]  # pledged to bank1's tech sub-branch
    body = {"owners": [{"enterprise_uscc": world.enterprises["e1b"].uscc, "share": "100"}]}
    refused = _post(world.user("ipo_bj"), right, body)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["rule"] == "pledged_without_consent"
    assert right.owners.get().enterprise == world.enterprises["e1"]
    allowed = _post(world.user("ipo_bj"), right, {**body, "pledgee_consent": True})
    assert allowed.status_code == 200, allowed.content
    assert allowed.json()["owners"][0]["name"] == world.enterprises["e1b"].name
    assert AuditEvent.objects.filter(object_id=str(right.pk), action__contains="transfer").exists()


def test_transfer_scope_and_bad_transferee(world):
    right = world.rights["r2"]  # Jiangsu
    body = {"owners": [{"enterprise_uscc": world.enterprises["e1"].uscc}]}
    assert _post(world.user("ipo_bj"), right, body).status_code == 404
    assert _post(world.user("bank1", Role.ADMIN), right, body).status_code in (403, 404)
    bad = _post(world.user("ipo_js"), right, {"owners": [{"enterprise_uscc": "91110000600037341X"}]})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "owners.0.enterprise_uscc"
