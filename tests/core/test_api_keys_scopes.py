"""API keys: action scopes below the role, the per-key rate limit (429 + Retry-After), the backfill migration and
the key page's new fields."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.core.exceptions import ValidationError

from ipledge.core import ratelimit
from ipledge.core.models import ApiKey, AuditEvent
from ipledge.core.scoping import Action
from ipledge.core.services import api_key_create, api_key_principal
from ipledge.core.synthetic import make_uscc
from ipledge.registry.models import Enterprise
from tests.api_helpers import API, assert_error, get, key_client, send, session_client

pytestmark = pytest.mark.django_db


def _enterprise_body(world, serial: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "uscc": make_uscc(region_code="110108", serial=serial),
        "name": f"密钥测试企业{serial}",
        "industry_section": "C",
        "park_id": world.parks["p1"].pk,
    }


# ---------------------------------------------------------------------------
# Creating keys with actions
# ---------------------------------------------------------------------------


def test_actions_default_to_the_roles_and_are_stored_in_a_stable_order(world):
    admin = world.user("park1", "admin")
    operator_key, _ = api_key_create(organisation=admin.organisation, name="op", role="operator", acting_user=admin)
    assert operator_key.actions == ["view", "add", "change"]
    reviewer_key, _ = api_key_create(
        organisation=admin.organisation, name="rv", role="reviewer", acting_user=admin, actions=["approve", "view"]
    )
    assert reviewer_key.actions == ["view", "approve"]
    event = AuditEvent.objects.get(action="api_key.create", object_id=str(reviewer_key.pk))
    assert event.changes["fields"]["actions"]["new"] == ["view", "approve"]


@pytest.mark.parametrize(
    ("role", "actions", "code"),
    [
        ("viewer", ["view", "add"], "beyond_role"),
        ("operator", ["approve"], "beyond_role"),
        ("operator", ["fly"], "choice"),
        ("operator", [], "required"),
    ],
)
def test_actions_outside_the_role_are_refused_naming_actions(world, role, actions, code):
    admin = world.user("park1", "admin")
    with pytest.raises(ValidationError) as excinfo:
        api_key_create(organisation=admin.organisation, name="x", role=role, acting_user=admin, actions=actions)
    assert [e.code for e in excinfo.value.error_dict["actions"]] == [code]
    assert not ApiKey.objects.filter(name="x").exists()


def test_rate_limit_out_of_range_is_refused(world):
    admin = world.user("park1", "admin")
    for bad in (0, 100_001):
        with pytest.raises(ValidationError) as excinfo:
            api_key_create(
                organisation=admin.organisation, name="x", role="viewer", acting_user=admin, rate_limit_per_minute=bad
            )
        assert "rate_limit_per_minute" in excinfo.value.error_dict


def test_api_create_takes_actions_and_limit_and_answers_400_on_actions_beyond_the_role(world):
    client = session_client(world.user("bank1", "admin"))
    response = send(
        client, "post", "/api-keys", {"name": "ro", "role": "operator", "actions": ["view"], "rate_limit_per_minute": 7}
    )
    assert response.status_code == 201, response.content
    assert response.json()["key"]["actions"] == ["view"]
    assert response.json()["key"]["rate_limit_per_minute"] == 7
    bad = send(client, "post", "/api-keys", {"name": "bad", "role": "viewer", "actions": ["view", "delete"]})
    body = assert_error(bad, 400, field="actions", rule="beyond_role")
    assert body["errors"][0]["message_en"] == "This role cannot take these actions: delete."
    assert body["errors"][0]["message"] == "该角色不能执行以下操作：delete。"
    assert_error(send(client, "post", "/api-keys", {"name": "z", "rate_limit_per_minute": 0}), 422)


# ---------------------------------------------------------------------------
# Enforcement
# ---------------------------------------------------------------------------


def test_a_view_only_operator_key_gets_403_on_a_post_the_role_could_make(world):
    admin = world.user("park1", "admin")
    _, view_only = api_key_create(
        organisation=admin.organisation, name="ro", role="operator", acting_user=admin, actions=["view"]
    )
    # Registering an enterprise in a park also changes the park's membership list, so it takes add and change.
    _, adder = api_key_create(
        organisation=admin.organisation,
        name="rw",
        role="operator",
        acting_user=admin,
        actions=["view", "add", "change"],
    )
    _, no_change = api_key_create(
        organisation=admin.organisation, name="ra", role="operator", acting_user=admin, actions=["view", "add"]
    )
    refused = send(key_client(view_only), "post", "/enterprises", _enterprise_body(world, 4101))
    assert_error(refused, 403, rule="forbidden")
    assert not Enterprise.objects.filter(name="密钥测试企业4101").exists()
    # The same key still reads.
    assert get(key_client(view_only), "/enterprises").status_code == 200

    added = send(key_client(adder), "post", "/enterprises", _enterprise_body(world, 4102))
    assert added.status_code == 201, added.content
    enterprise_id = added.json()["id"]
    # A key without `change` may not edit it, although its operator role could.
    assert_error(send(key_client(no_change), "patch", f"/enterprises/{enterprise_id}", {"employees": 9}), 403)
    assert send(key_client(adder), "patch", f"/enterprises/{enterprise_id}", {"employees": 9}).status_code == 200


def test_me_reports_the_keys_actions_not_the_roles(world):
    admin = world.user("park1", "admin")
    _, secret = api_key_create(
        organisation=admin.organisation, name="ro", role="operator", acting_user=admin, actions=["view"]
    )
    body = get(key_client(secret), "/me").json()
    assert body["actions"] == ["view"]
    assert body["may_add"]["enterprise"] is False


def test_restrict_is_empty_for_an_action_outside_the_keys_set(world):
    admin = world.user("park1", "admin")
    key, _ = api_key_create(
        organisation=admin.organisation, name="ro", role="admin", acting_user=admin, actions=["view"]
    )
    principal = api_key_principal(key)
    assert Enterprise.objects.restrict(principal, Action.VIEW).exists()
    assert not Enterprise.objects.restrict(principal, Action.CHANGE).exists()
    assert not ApiKey.objects.restrict(principal, Action.CHANGE).exists()
    # An empty set (a key never backfilled) may do nothing at all.
    key.actions = []
    assert not Enterprise.objects.restrict(api_key_principal(key), Action.VIEW).exists()


def test_the_backfill_gives_old_keys_their_roles_actions(world):
    admin = world.user("park1", "admin")
    viewer, _ = api_key_create(organisation=admin.organisation, name="v", role="viewer", acting_user=admin)
    reviewer, _ = api_key_create(organisation=admin.organisation, name="r", role="reviewer", acting_user=admin)
    narrowed, _ = api_key_create(
        organisation=admin.organisation, name="n", role="admin", acting_user=admin, actions=["view"]
    )
    ApiKey.objects.filter(pk__in=[viewer.pk, reviewer.pk]).update(actions=[])
    migration = importlib.import_module("ipledge.core.migrations.0005_backfill_api_key_actions")
    migration.backfill(django_apps, None)
    assert ApiKey.objects.get(pk=viewer.pk).actions == ["view"]
    assert ApiKey.objects.get(pk=reviewer.pk).actions == ["view", "approve"]
    assert ApiKey.objects.get(pk=narrowed.pk).actions == ["view"]  # a chosen set is left alone


# ---------------------------------------------------------------------------
# Rate limit
# ---------------------------------------------------------------------------


@pytest.fixture
def frozen_clock(monkeypatch):  # type: ignore[no-untyped-def]
    now = {"t": 1_800_000_000.0}  # a whole minute: the window starts here
    monkeypatch.setattr(ratelimit, "clock", lambda: now["t"])
    cache.clear()
    yield now
    cache.clear()


def test_over_the_limit_answers_429_with_retry_after_until_the_next_window(world, frozen_clock):
    admin = world.user("bank1", "admin")
    _, secret = api_key_create(
        organisation=admin.organisation, name="slow", role="viewer", acting_user=admin, rate_limit_per_minute=3
    )
    client = key_client(secret)
    for _ in range(3):
        assert get(client, "/me").status_code == 200
    frozen_clock["t"] += 15.2
    throttled = get(client, "/me")
    body = assert_error(throttled, 429, field=None, rule="throttled")
    assert throttled["Retry-After"] == "45"
    assert "3" in body["errors"][0]["message_en"]
    frozen_clock["t"] += 44.7  # 59.9 s: still inside the minute
    assert get(client, "/me").status_code == 429
    frozen_clock["t"] += 0.2  # the next window
    assert get(client, "/me").status_code == 200


def test_the_limit_is_per_key(world, frozen_clock):
    admin = world.user("bank1", "admin")
    _, first = api_key_create(
        organisation=admin.organisation, name="a", role="viewer", acting_user=admin, rate_limit_per_minute=1
    )
    _, second = api_key_create(
        organisation=admin.organisation, name="b", role="viewer", acting_user=admin, rate_limit_per_minute=1
    )
    assert get(key_client(first), "/me").status_code == 200
    assert get(key_client(first), "/me").status_code == 429
    assert get(key_client(second), "/me").status_code == 200
    # Session calls are not limited by any key.
    session = session_client(admin)
    assert all(get(session, "/me").status_code == 200 for _ in range(3))


def test_429_is_documented_in_the_openapi_document(world):
    from django.test import Client

    schema = Client().get(f"{API}/openapi.json").json()
    operation = schema["paths"]["/api/v1/me"]["get"]
    assert "429" in operation["responses"]


# ---------------------------------------------------------------------------
# The key page
# ---------------------------------------------------------------------------


def test_key_page_creates_a_key_with_the_chosen_actions_limit_and_expiry(client, world):
    admin = world.user("bank1", "admin")
    client.force_login(admin)
    page = client.get("/settings/api-keys/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="actions"' in html and 'name="rate_limit_per_minute"' in html
    assert "ipledge/api_keys.js" in html and "data-actions-viewer" in html
    response = client.post(
        "/settings/api-keys/",
        {
            "name": "报送",
            "role": "operator",
            "actions": ["view", "add"],
            "rate_limit_per_minute": "120",
            "expires_on": "2099-12-31",
        },
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(name="报送")
    assert key.actions == ["view", "add"] and key.rate_limit_per_minute == 120 and key.expires_at is not None
    listing = client.get("/settings/api-keys/").content.decode()
    assert "查看、新建" in listing and "120" in listing


def test_key_page_shows_the_actions_error_next_to_the_field(client, world):
    client.force_login(world.user("bank1", "admin"))
    response = client.post(
        "/settings/api-keys/",
        {"name": "坏", "role": "viewer", "actions": ["view", "approve"], "rate_limit_per_minute": "60"},
    )
    assert response.status_code == 200
    assert 'data-field="actions"' in response.content.decode()
    assert not ApiKey.objects.filter(name="坏").exists()
