"""Access hardening of the browser login: lock-out release, password complexity, TOTP two-factor, sessions.

- Lock-out: django-axes counts failed logins per account name and address; `lockout_response` is its page, and
  `login_lockout_clear` lets an organisation admin (own tree) or a superuser release an account.
- Passwords: `ComplexityValidator` asks for three of four character classes (等保 2.0 practice).
- Two-factor: optional TOTP for IP offices and banks. `OTPRequiredMiddleware` holds a user with a confirmed device
  at `/login/verify/` until the code is given; the API's session auth refuses such a session (401).
- Sessions: raising `User.session_generation` changes the session hash, so `user_sessions_end_all` ends every
  session of the user at once.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable
from typing import Any

import segno
from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp import DEVICE_ID_SESSION_KEY, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .audit import record_event
from .choices import OrganisationKind
from .models import User
from .scoping import Action

# Kinds whose users may turn on two-factor login: officials and bank staff handle the registrations and loans.
OTP_KINDS = frozenset({OrganisationKind.IP_OFFICE, OrganisationKind.BANK})
# Consecutive wrong codes after which the (exponentially throttled) device is reported in the audit log.
OTP_FAILURE_AUDIT_EVERY = 5
OTP_ISSUER = "ipledge"


# ---------------------------------------------------------------------------
# Password policy
# ---------------------------------------------------------------------------


class ComplexityValidator:
    """At least `min_classes` of: lower-case letters, upper-case letters, digits, other symbols."""

    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    @staticmethod
    def classes(password: str) -> int:
        return sum(
            (
                any(c.islower() for c in password),
                any(c.isupper() for c in password),
                any(c.isdigit() for c in password),
                any(not c.isalnum() for c in password),
            )
        )

    def validate(self, password: str, user: Any = None) -> None:
        if self.classes(password) < self.min_classes:
            raise ValidationError(
                _("密码过于简单：须至少包含小写字母、大写字母、数字、符号四类中的 %(min)d 类。"),
                code="password_too_simple",
                params={"min": self.min_classes},
            )

    def get_help_text(self) -> str:
        return _("密码须至少包含小写字母、大写字母、数字、符号四类中的 %(min)d 类。") % {"min": self.min_classes}


@transaction.atomic
def user_password_change(
    *, user: User, old_password: str, new_password: str, acting_user: User, request: HttpRequest | None = None
) -> User:
    """The user's own password, checked against the old one and the validators; other sessions end with it
    (the session hash covers the password), the current one is kept when the request is given."""
    if user.pk != acting_user.pk:
        raise PermissionDenied(_("只能修改本人密码。"))
    if not user.check_password(old_password):
        raise ValidationError({"old_password": ValidationError(_("原密码不正确。"), code="password_incorrect")})
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password1": exc.error_list}) from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    record_event(acting_user=acting_user, action="user.password_change", instance=user)
    if request is not None:
        update_session_auth_hash(request, user)
    return user


# ---------------------------------------------------------------------------
# Lock-out (django-axes)
# ---------------------------------------------------------------------------


def _cool_off() -> datetime.timedelta:
    hours = getattr(settings, "AXES_COOLOFF_TIME", None) or 0
    return hours if isinstance(hours, datetime.timedelta) else datetime.timedelta(hours=float(hours))


def locked_usernames() -> dict[str, datetime.datetime]:
    """Account names with an attempt record at or above the failure limit → when the lock ends."""
    from axes.models import AccessAttempt

    limit = settings.AXES_FAILURE_LIMIT
    cool_off = _cool_off()
    now = timezone.now()
    found: dict[str, datetime.datetime] = {}
    for username, attempt_time in AccessAttempt.objects.filter(failures_since_start__gte=limit).values_list(
        "username", "attempt_time"
    ):
        until = attempt_time + cool_off
        if username and until > now:
            found[username] = max(until, found.get(username, until))
    return found


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: a zh-hans page saying when to try again and whom to ask."""
    username = str((credentials or {}).get("username") or request.POST.get("username", ""))
    until = locked_usernames().get(username) or timezone.now() + _cool_off()
    minutes = max(1, round(_cool_off().total_seconds() / 60))
    context = {
        "username": username,
        "retry_at": timezone.localtime(until),
        "cool_off_text": ngettext("%(n)d 分钟", "%(n)d 分钟", minutes) % {"n": minutes},
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    return render(
        request, "core/account/locked_out.html", context, status=getattr(settings, "AXES_HTTP_RESPONSE_CODE", 429)
    )


def _require_user_admin(target: User, acting_user: User) -> None:
    """Only the user himself (where stated), a superuser or an admin of the user's organisation tree."""
    if acting_user.is_superuser:
        return
    if not User.objects.restrict(acting_user, Action.CHANGE).filter(pk=target.pk).exists():
        raise PermissionDenied(_("该用户不在您的管理范围内。"))


@transaction.atomic
def login_lockout_clear(*, username: str, acting_user: User) -> int:
    """Release an account locked by repeated failed logins; returns the number of attempt records removed."""
    from axes.utils import reset

    target = User.objects.filter(username=username).first()
    if target is not None:
        _require_user_admin(target, acting_user)
    elif not acting_user.is_superuser:
        raise PermissionDenied(_("该用户不在您的管理范围内。"))
    removed = reset(username=username)
    record_event(
        acting_user=acting_user,
        action="user.lockout_clear",
        instance=target,
        object_type=None if target is not None else "core.user",
        object_repr="" if target is not None else username,
        extra={"username": username, "attempt_records_removed": removed},
    )
    return removed


# ---------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------


@transaction.atomic
def user_sessions_end_all(*, user: User, acting_user: User, request: HttpRequest | None = None) -> User:
    """End every session of `user` by raising its session generation.

    When the user does it himself, pass the request: his current session gets the new hash and stays logged in
    ("log out all other devices").
    """
    if user.pk != acting_user.pk:
        _require_user_admin(user, acting_user)
    before = user.session_generation
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])
    record_event(
        acting_user=acting_user,
        action="user.sessions_end_all",
        instance=user,
        old={"session_generation": before},
        new={"session_generation": user.session_generation},
        extra={"keep_current": request is not None and user.pk == acting_user.pk},
    )
    if request is not None and user.pk == acting_user.pk:
        update_session_auth_hash(request, user)
    return user


# ---------------------------------------------------------------------------
# Two-factor (TOTP)
# ---------------------------------------------------------------------------


def otp_offered(user: Any) -> bool:
    organisation = getattr(user, "organisation", None)
    return organisation is not None and organisation.kind in OTP_KINDS


def otp_required(user: Any) -> bool:
    """Whether this authenticated user must still give a code in this session."""
    if not getattr(user, "is_authenticated", False):
        return False
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return False
    return bool(user_has_device(user, confirmed=True))


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def pending_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def qr_data_uri(device: TOTPDevice) -> str:
    svg = segno.make(device.config_url, error="m").svg_inline(scale=5, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def secret_text(device: TOTPDevice) -> str:
    """The key in base32, grouped by four, for apps where the QR code cannot be scanned."""
    b32 = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(b32[i : i + 4] for i in range(0, len(b32), 4))


def _token_error(message: str, code: str) -> ValidationError:
    return ValidationError({"token": ValidationError(message, code=code)})


def _check_token_format(token: str) -> str:
    token = (token or "").strip().replace(" ", "")
    if not (token.isdigit() and len(token) == 6):
        raise _token_error(_("请输入验证器应用显示的 6 位数字验证码。"), "format")
    return token


def _throttled_error(device: TOTPDevice) -> ValidationError | None:
    allowed, data = device.verify_is_allowed()
    if allowed:
        return None
    until = (data or {}).get("locked_until")
    when = timezone.localtime(until).strftime("%H:%M:%S") if until else ""
    return _token_error(
        _("验证码错误次数过多，请于 %(time)s 之后再试。") % {"time": when}
        if when
        else _("验证码错误次数过多，请稍后再试。"),
        "throttled",
    )


def _verify(device: TOTPDevice, token: str, *, acting_user: User) -> None:
    """Check a code against the device, with django-otp's exponential throttling; raise on a wrong code.

    The check commits the failure counter on its own (outside any service transaction), so that a refused
    code cannot be rolled back by the error it raises.
    """
    token = _check_token_format(token)
    error = _throttled_error(device)
    if error is not None:
        raise error
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        ok = locked.verify_token(token)
    if ok:
        device.refresh_from_db()
        return
    locked.refresh_from_db()
    if locked.throttling_failure_count and locked.throttling_failure_count % OTP_FAILURE_AUDIT_EVERY == 0:
        with transaction.atomic():
            record_event(
                acting_user=acting_user,
                action="user.otp_verify_locked",
                instance=locked.user,
                extra={"device_id": locked.pk, "failures": locked.throttling_failure_count},
            )
    raise _token_error(_("验证码不正确或已过期。"), "invalid")


@transaction.atomic
def otp_enrol_start(*, user: User, acting_user: User) -> TOTPDevice:
    """A new unconfirmed TOTP device (replacing an earlier unconfirmed one) for the user's own account."""
    if user.pk != acting_user.pk:
        raise PermissionDenied(_("只能为本人账户启用双因素认证。"))
    if not otp_offered(user):
        raise PermissionDenied(_("您所在机构的账户不提供双因素认证。"))
    if confirmed_device(user) is not None:
        raise ValidationError(_("双因素认证已启用。"), code="already_enabled")
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=user, name=_("验证器应用"), confirmed=False)
    record_event(acting_user=acting_user, action="user.otp_enrol_start", instance=user, extra={"device_id": device.pk})
    return device


def otp_enrol_confirm(*, user: User, token: str, acting_user: User, request: HttpRequest | None = None) -> TOTPDevice:
    """Confirm the pending device with a code from the app; the current session counts as verified."""
    if user.pk != acting_user.pk:
        raise PermissionDenied(_("只能为本人账户启用双因素认证。"))
    device = pending_device(user)
    if device is None:
        raise _token_error(_("没有待确认的验证器，请重新开始。"), "no_device")
    _verify(device, token, acting_user=acting_user)
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        record_event(acting_user=acting_user, action="user.otp_enable", instance=user, extra={"device_id": device.pk})
    if request is not None:
        otp_login(request, device)
    return device


def otp_disable(*, user: User, token: str, acting_user: User) -> None:
    """Turn two-factor off for one's own account, proven with a current code."""
    if user.pk != acting_user.pk:
        raise PermissionDenied(_("只能停用本人账户的双因素认证。"))
    device = confirmed_device(user)
    if device is None:
        raise _token_error(_("双因素认证未启用。"), "not_enabled")
    _verify(device, token, acting_user=acting_user)
    with transaction.atomic():
        removed = [d.pk for d in TOTPDevice.objects.filter(user=user)]
        TOTPDevice.objects.filter(user=user).delete()
        record_event(acting_user=acting_user, action="user.otp_disable", instance=user, extra={"devices": removed})


@transaction.atomic
def otp_reset(*, user: User, acting_user: User) -> int:
    """An admin removes a user's devices (lost phone); the user logs in with the password alone afterwards."""
    _require_user_admin(user, acting_user)
    removed = [d.pk for d in TOTPDevice.objects.filter(user=user)]
    TOTPDevice.objects.filter(user=user).delete()
    record_event(acting_user=acting_user, action="user.otp_reset", instance=user, extra={"devices": removed})
    return len(removed)


def otp_login_verify(*, request: HttpRequest, token: str) -> TOTPDevice:
    """Second step of the login: check the code and mark the session verified (with a fresh session key)."""
    user: User = request.user  # type: ignore[assignment]
    device = confirmed_device(user)
    if device is None:
        raise _token_error(_("双因素认证未启用。"), "not_enabled")
    _verify(device, token, acting_user=user)
    # A new session key at the moment the session gains its second factor, as at the password step.
    request.session.cycle_key()
    otp_login(request, device)
    return device


# ---------------------------------------------------------------------------
# Middleware
# ---------------------------------------------------------------------------

# Views an authenticated user who still owes the second factor may reach.
OTP_EXEMPT_URL_NAMES = frozenset({"login_verify", "logout", "set_language", "set_language_public"})


class OTPRequiredMiddleware:
    """After the password, a user with a confirmed TOTP device may open nothing but the verify page (and logout,
    the language switch) until the code is given. Placed after OTPMiddleware and LoginRequiredMiddleware.

    The API is left to its session auth, which answers 401 in JSON instead of a redirect.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is not None and match.url_name in OTP_EXEMPT_URL_NAMES:
            return None
        if request.path_info.startswith(("/api/", settings.STATIC_URL)):
            return None
        if not otp_required(getattr(request, "user", None)):
            return None
        target = reverse("login_verify")
        next_url = request.get_full_path()
        if request.method == "GET" and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            target += "?" + urlencode({"next": next_url})
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)


def session_is_otp_verified(request: HttpRequest, user: Any) -> bool:
    """For the API's session auth: a session of a user with a device counts only once the code was given."""
    if DEVICE_ID_SESSION_KEY in getattr(request, "session", {}) and getattr(user, "is_verified", lambda: False)():
        return True
    return not user_has_device(user, confirmed=True)
