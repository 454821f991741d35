"""Login lock-out (django-axes): counting, the zh-hans lock-out page, the API left alone, unlock by an admin."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from ipledge.core.models import AuditEvent
from ipledge.core.security import locked_usernames, login_lockout_clear

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT


def fail_logins(client: Client, username: str, times: int) -> list[int]:
    return [
        client.post(reverse("login"), {"username": username, "password": "wrong-password"}).status_code
        for _ in range(times)
    ]


def test_failures_are_counted_and_the_account_locks_at_the_limit(world):
    client = Client()
    statuses = fail_logins(client, "bank1_operator", LIMIT - 1)
    assert statuses == [200] * (LIMIT - 1)  # the login form again, with its error
    assert AccessAttempt.objects.get(username="bank1_operator").failures_since_start == LIMIT - 1
    assert "bank1_operator" not in locked_usernames()
    fail_logins(client, "bank1_operator", 1)
    assert "bank1_operator" in locked_usernames()
    # Locked: even the right password is refused, with our page.
    response = client.post(reverse("login"), {"username": "bank1_operator", "password": "pass-bank1"})
    assert response.status_code == 429
    html = response.content.decode()
    assert "账户已暂时锁定" in html and "之后再试" in html and "系统管理员" in html
    assert 'lang="zh-hans"' in html
    assert "_auth_user_id" not in client.session


def test_lock_is_per_username_and_address(world):
    fail_logins(Client(REMOTE_ADDR="10.0.0.1"), "bank1_operator", LIMIT)
    # Another account from the same address, and the same account from another address, still log in.
    assert (
        Client(REMOTE_ADDR="10.0.0.1")
        .post(reverse("login"), {"username": "bank1_viewer", "password": "pass-bank1"})
        .status_code
        == 302
    )
    assert (
        Client(REMOTE_ADDR="10.0.0.2")
        .post(reverse("login"), {"username": "bank1_operator", "password": "pass-bank1"})
        .status_code
        == 302
    )
    assert (
        Client(REMOTE_ADDR="10.0.0.1")
        .post(reverse("login"), {"username": "bank1_operator", "password": "pass-bank1"})
        .status_code
        == 429
    )


def test_success_below_the_limit_resets_the_count(world):
    client = Client()
    fail_logins(client, "bank1_operator", LIMIT - 1)
    assert client.post(reverse("login"), {"username": "bank1_operator", "password": "pass-bank1"}).status_code == 302
    assert not AccessAttempt.objects.filter(username="bank1_operator", failures_since_start__gt=0).exists()


def test_api_with_a_session_is_unaffected_by_a_lock(world):
    client = Client()
    client.force_login(world.user("bank1", "operator"))
    fail_logins(Client(), "bank1_operator", LIMIT)
    assert "bank1_operator" in locked_usernames()
    assert client.get("/api/v1/me").status_code == 200
    assert AccessAttempt.objects.get(username="bank1_operator").failures_since_start == LIMIT


def test_admin_unlocks_a_user_of_the_own_tree(client, world):
    fail_logins(Client(), "bank1_sub_operator", LIMIT)
    admin = world.user("bank1", "admin")
    client.force_login(admin)
    page = client.get(reverse("user_security"), {"locked": "1"})
    assert page.status_code == 200
    listed = {row.record.username for row in page.context["table"].rows}
    assert listed == {"bank1_sub_operator"}
    assert "解除锁定" in page.content.decode()
    target = world.user("bank1_sub", "operator")
    response = client.post(reverse("user_unlock", kwargs={"pk": target.pk}))
    assert response.status_code == 302
    assert "bank1_sub_operator" not in locked_usernames()
    event = AuditEvent.objects.get(action="user.lockout_clear")
    assert event.actor == admin and event.object_id == str(target.pk)
    assert (
        Client().post(reverse("login"), {"username": "bank1_sub_operator", "password": "pass-bank1_sub"}).status_code
        == 302
    )


def test_another_organisations_admin_can_neither_see_nor_unlock(client, world):
    fail_logins(Client(), "bank1_operator", LIMIT)
    target = world.user("bank1", "operator")
    client.force_login(world.user("bank2", "admin"))
    page = client.get(reverse("user_security"), {"locked": "1"})
    assert page.status_code == 200 and not list(page.context["table"].rows)
    assert client.post(reverse("user_unlock", kwargs={"pk": target.pk})).status_code == 404
    # A sub-branch admin cannot reach the head office's users either.
    client.force_login(world.user("bank1_sub", "admin"))
    assert client.post(reverse("user_unlock", kwargs={"pk": target.pk})).status_code == 404
    assert "bank1_operator" in locked_usernames()
    assert not AuditEvent.objects.filter(action="user.lockout_clear").exists()
    with pytest.raises(PermissionDenied):
        login_lockout_clear(username="bank1_operator", acting_user=world.user("bank2", "admin"))


def test_non_admins_get_404_on_the_security_page(client, world):
    client.force_login(world.user("bank1", "operator"))
    assert client.get(reverse("user_security")).status_code == 404


def test_superuser_sees_unknown_locked_names_with_the_cli_hint(client, world):
    from ipledge.core.models import User

    fail_logins(Client(), "nobody-such", LIMIT)
    root = User.objects.create_superuser("root", password="Root-pass-123")
    client.force_login(root)
    html = client.get(reverse("user_security")).content.decode()
    assert "ipledge axes_reset_username nobody-such" in html
    assert login_lockout_clear(username="nobody-such", acting_user=root) >= 1
    assert "nobody-such" not in locked_usernames()
