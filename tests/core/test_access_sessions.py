"""Sessions: rotation on login, 'log out everywhere' through the session generation, expiry."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ipledge.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_session_key_rotates_on_login(client, world):
    client.get(reverse("login"))
    client.session.save()
    before = client.session.session_key
    assert before
    response = client.post(reverse("login"), {"username": "bank1_operator", "password": "pass-bank1"})
    assert response.status_code == 302
    assert client.session.session_key != before
    assert not Session.objects.filter(session_key=before).exists()


def test_session_hash_changes_with_the_generation(world):
    user = world.user("bank1", "operator")
    first = user.get_session_auth_hash()
    user.session_generation += 1
    assert user.get_session_auth_hash() != first


def test_log_out_all_other_devices(world):
    user = world.user("bank1", "operator")
    mine, other = Client(), Client()
    for c in (mine, other):
        assert c.post(reverse("login"), {"username": "bank1_operator", "password": "pass-bank1"}).status_code == 302
    assert other.get(reverse("dashboard")).status_code == 200
    assert mine.post(reverse("account_sessions_end")).status_code == 302
    assert mine.get(reverse("dashboard")).status_code == 200
    response = other.get(reverse("account"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert other.get("/api/v1/me").status_code == 401
    user.refresh_from_db()
    assert user.session_generation == 1
    event = AuditEvent.objects.get(action="user.sessions_end_all")
    assert event.actor == user and event.object_id == str(user.pk)


def test_admin_ends_another_users_sessions_in_own_tree_only(client, world):
    target = world.user("bank1_sub", "operator")
    victim = Client()
    victim.force_login(target)
    client.force_login(world.user("bank2", "admin"))
    assert client.post(reverse("user_sessions_end", kwargs={"pk": target.pk})).status_code == 404
    assert victim.get(reverse("dashboard")).status_code == 200
    client.force_login(world.user("bank1", "admin"))
    page = client.get(reverse("user_security"))
    assert "结束所有会话" in page.content.decode()
    assert client.post(reverse("user_sessions_end", kwargs={"pk": target.pk})).status_code == 302
    assert victim.get(reverse("dashboard")).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200  # the admin's own session is untouched


def test_expired_session_goes_back_to_login(client, world):
    client.force_login(world.user("bank1", "operator"))
    assert client.get(reverse("dashboard")).status_code == 200
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timezone.timedelta(seconds=1))
    response = client.get(reverse("account"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_new_session_expires_after_session_cookie_age(client, world):
    before = timezone.now()
    client.post(reverse("login"), {"username": "bank1_operator", "password": "pass-bank1"})
    expires = Session.objects.get(session_key=client.session.session_key).expire_date
    age = (expires - before).total_seconds()
    assert settings.SESSION_COOKIE_AGE - 5 <= age <= settings.SESSION_COOKIE_AGE + 5
