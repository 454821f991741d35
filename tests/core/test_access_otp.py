"""Optional TOTP two-factor: enrolment with a QR code, the login's second step, the API, throttling, audit."""

from __future__ import annotations

import base64
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from ipledge.core.models import AuditEvent, User
from ipledge.core.security import OTP_FAILURE_AUDIT_EVERY

pytestmark = pytest.mark.django_db


def code(device: TOTPDevice, drift: int = 0) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + drift):06d}"


def unthrottle(device: TOTPDevice) -> None:
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timezone.timedelta(hours=1)
    )


def enrol(client: Client, user: User) -> TOTPDevice:
    client.force_login(user)
    assert client.post(reverse("account_otp_start")).status_code == 302
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(reverse("account_otp_confirm"), {"token": code(device)})
    assert response.status_code == 302, response.context["token_form"].errors if response.context else response
    device.refresh_from_db()
    assert device.confirmed
    return device


def password_login(client: Client, username: str, password: str) -> None:
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302


def test_enrolment_shows_a_qr_code_and_the_secret(client, world):
    user = world.user("ipo_bj", "operator")
    client.force_login(user)
    page = client.get(reverse("account"))
    assert "启用双因素认证" in page.content.decode()
    client.post(reverse("account_otp_start"))
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed
    html = client.get(reverse("account")).content.decode()
    match = re.search(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    assert match, "QR code image missing"
    assert base64.b64decode(match.group(1)).startswith(b"<svg")
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in html
    # A wrong code does not confirm; the right one does and is audited.
    response = client.post(
        reverse("account_otp_confirm"), {"token": "000000" if code(device) != "000000" else "111111"}
    )
    assert response.status_code == 200 and "token" in response.context["token_form"].errors
    unthrottle(device)
    assert client.post(reverse("account_otp_confirm"), {"token": code(device)}).status_code == 302
    assert TOTPDevice.objects.get(user=user).confirmed
    assert AuditEvent.objects.filter(action="user.otp_enable", object_id=str(user.pk)).exists()
    # The session that enrolled counts as verified.
    assert client.get(reverse("dashboard")).status_code == 200


def test_offered_only_to_ip_offices_and_banks(client, world):
    client.force_login(world.user("park1", "operator"))
    assert "双因素认证" not in client.get(reverse("account")).content.decode()
    assert client.post(reverse("account_otp_start")).status_code == 404
    assert not TOTPDevice.objects.exists()
    client.force_login(world.user("bank2", "viewer"))
    assert "启用双因素认证" in client.get(reverse("account")).content.decode()


def test_login_requires_the_code_before_anything_else(world):
    user = world.user("bank1", "operator")
    device = enrol(Client(), user)
    client = Client()
    password_login(client, "bank1_operator", "pass-bank1")
    for url in (reverse("dashboard"), reverse("account"), reverse("registry:enterprise_list")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login_verify")), url
    # htmx requests are redirected through HX-Redirect.
    assert client.get(reverse("dashboard"), HTTP_HX_REQUEST="true")["HX-Redirect"].startswith(reverse("login_verify"))
    # The API refuses the unverified session.
    api = client.get("/api/v1/me")
    assert api.status_code == 401 and api.json()["errors"][0]["rule"] == "otp_required"
    # The verify page, the language switch and logout are reachable.
    verify_page = client.get(reverse("login_verify"))
    assert verify_page.status_code == 200
    assert 'id="sidebar"' not in verify_page.content.decode()  # no navigation before the second factor
    assert client.post(reverse("set_language_public"), {"language": "zh-hans"}).status_code == 302
    response = client.post(reverse("login_verify"), {"token": "12345"})
    assert "token" in response.context["form"].errors
    key_before = client.session.session_key
    response = client.post(reverse("login_verify"), {"token": code(device, drift=1), "next": reverse("account")})
    assert response.status_code == 302 and response["Location"] == reverse("account")
    assert client.session.session_key != key_before
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.get("/api/v1/me").status_code == 200


def test_users_without_a_device_are_not_held(client, world):
    password_login(client, "bank1_operator", "pass-bank1")
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.get(reverse("login_verify")).status_code == 302
    assert client.get("/api/v1/me").status_code == 200


def test_wrong_codes_are_throttled_and_audited(world):
    user = world.user("bank1", "operator")
    device = enrol(Client(), user)
    client = Client()
    password_login(client, "bank1_operator", "pass-bank1")
    wrong = "000000" if code(device) != "000000" else "111111"
    for _ in range(OTP_FAILURE_AUDIT_EVERY):
        unthrottle(device)
        response = client.post(reverse("login_verify"), {"token": wrong})
        assert response.status_code == 200
    device.refresh_from_db()
    assert device.throttling_failure_count == OTP_FAILURE_AUDIT_EVERY
    assert AuditEvent.objects.filter(action="user.otp_verify_locked", object_id=str(user.pk)).count() == 1
    # Within the back-off even the right code is refused, with the time to wait.
    response = client.post(reverse("login_verify"), {"token": code(device, drift=1)})
    assert response.status_code == 200
    assert "错误次数过多" in " ".join(response.context["form"].errors["token"])
    assert client.get(reverse("dashboard")).status_code == 302
    unthrottle(device)
    assert client.post(reverse("login_verify"), {"token": code(device, drift=1)}).status_code == 302


def test_disable_needs_a_current_code(world):
    user = world.user("ipo_bj", "admin")
    client = Client()
    device = enrol(client, user)
    response = client.post(reverse("account_otp_disable"), {"token": "abc"})
    assert response.status_code == 200 and TOTPDevice.objects.filter(user=user).exists()
    response = client.post(reverse("account_otp_disable"), {"token": code(device, drift=1)})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action="user.otp_disable", object_id=str(user.pk)).exists()


def test_admin_resets_a_lost_device_in_own_tree_only(client, world):
    user = world.user("bank1_sub", "operator")
    enrol(Client(), user)
    client.force_login(world.user("bank2", "admin"))
    assert client.post(reverse("user_otp_reset", kwargs={"pk": user.pk})).status_code == 404
    assert TOTPDevice.objects.filter(user=user).exists()
    client.force_login(world.user("bank1", "admin"))
    assert client.post(reverse("user_otp_reset", kwargs={"pk": user.pk})).status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action="user.otp_reset", object_id=str(user.pk)).exists()
