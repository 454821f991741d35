"""Password policy: Argon2 in the base settings, three of four character classes, the change page."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from ipledge.core.models import AuditEvent
from ipledge.core.security import ComplexityValidator
from ipledge.settings import base


def test_base_settings_hash_with_argon2():
    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    from django.contrib.auth.hashers import Argon2PasswordHasher

    encoded = Argon2PasswordHasher().encode("Some-Password-1", Argon2PasswordHasher().salt())
    assert encoded.startswith("argon2$argon2id$")


def test_complexity_validator_is_configured():
    names = [v["NAME"] for v in base.AUTH_PASSWORD_VALIDATORS]
    assert "ipledge.core.security.ComplexityValidator" in names


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("alllowercaseletters", False),
        ("lowercase-and-symbols", False),
        ("lowercase1234567", False),
        ("lower-and-digits-42", True),
        ("Lower-And-Upper-Case", True),
        ("LowerUpper12345", True),
        ("ONLYUPPER-12345", True),
    ],
)
def test_three_of_four_classes(password: str, ok: bool):
    validator = ComplexityValidator(min_classes=3)
    if ok:
        validator.validate(password)
    else:
        with pytest.raises(ValidationError) as info:
            validator.validate(password)
        assert info.value.code == "password_too_simple"
        assert "小写字母、大写字母、数字、符号" in info.value.messages[0]


@given(st.text(min_size=0, max_size=40))
def test_validator_agrees_with_counting_classes(password: str):
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    try:
        ComplexityValidator().validate(password)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == (classes >= 3)


@pytest.mark.django_db
def test_validate_password_uses_it():
    with pytest.raises(ValidationError) as info:
        validate_password("onlylowercaseletters")
    assert any("3 类" in m for m in info.value.messages)
    validate_password("Quite-Fine-Pass-9")


@pytest.mark.django_db
def test_password_change_page(client, world):
    user = world.user("bank1", "operator")
    other = Client()
    other.force_login(user)
    client.force_login(user)
    assert client.get(reverse("account_password")).status_code == 200
    response = client.post(
        reverse("account_password"),
        {"old_password": "pass-bank1", "new_password1": "simplelowercase", "new_password2": "simplelowercase"},
    )
    assert response.status_code == 200
    assert "new_password1" in response.context["form"].errors
    response = client.post(
        reverse("account_password"),
        {"old_password": "wrong", "new_password1": "New-Pass-2026!", "new_password2": "New-Pass-2026!"},
    )
    assert "old_password" in response.context["form"].errors
    response = client.post(
        reverse("account_password"),
        {"old_password": "pass-bank1", "new_password1": "New-Pass-2026!", "new_password2": "New-Pass-2026"},
    )
    assert "new_password2" in response.context["form"].errors
    response = client.post(
        reverse("account_password"),
        {"old_password": "pass-bank1", "new_password1": "New-Pass-2026!", "new_password2": "New-Pass-2026!"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("New-Pass-2026!")
    assert AuditEvent.objects.filter(action="user.password_change", object_id=str(user.pk)).count() == 1
    # This browser stays logged in; the other one is logged out by the new password.
    assert client.get(reverse("account")).status_code == 200
    assert other.get(reverse("account")).status_code == 302
