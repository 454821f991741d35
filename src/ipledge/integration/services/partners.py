"""信易贷 partners (对接平台): configure, change, rotate the shared signing secret.

Rules decided here:
- Only platform operators run the exchange (`ExchangePartner.scope_q` grants nobody else a row), checked through
  `ExchangePartner.objects.restrict(actor, Action.ADD / CHANGE)`.
- The endpoint is HTTPS; plain http is accepted only on a loopback host (127.0.0.1, ::1, localhost) for the bundled
  mock server and local testing.
- The key id is unique; the secret is at least 32 characters. A blank secret is generated
  (`secrets.token_urlsafe(32)`); the caller shows it once. The secret never enters an audit event: the trail records
  only that it was set or rotated.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import record_event
from ipledge.core.models import User
from ipledge.core.scoping import Action

from ..models import ExchangePartner

MIN_SECRET = 32
MAX_SECRET = 128
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
REGION_RE = re.compile(r"^(\d{6})?$")

# Fields an operator may set; the secret is handled apart.
EDITABLE = (
    "code",
    "name",
    "base_url",
    "key_id",
    "region_code",
    "push_products",
    "push_whitelist",
    "push_registrations",
    "is_active",
    "max_attempts",
)
AUDITED = tuple(f for f in EDITABLE)


@dataclass(frozen=True)
class PartnerWithSecret:
    """A partner just created or rotated, with the secret in clear: show it once, then forget it."""

    partner: ExchangePartner
    secret: str


def _error(field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params)})


def _guard(actor: Any, action: str) -> None:
    # restrict() answers rows only for the platform; an empty table must not look like "no permission", so ask the
    # scope through a query that does not depend on existing rows.
    from ipledge.core.scoping import scope_for

    scope = scope_for(actor)
    if scope is None or not scope.is_platform or not scope.may(action):
        raise PermissionDenied(_("只有平台运营人员可以配置信易贷对接平台。"))


def validate_base_url(value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise _error("base_url", _("请填写接口地址。"), "required")
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if not host:
        raise _error("base_url", _("接口地址无效。"), "invalid")
    if parts.scheme == "https":
        return value.rstrip("/")
    if parts.scheme == "http" and host in LOOPBACK_HOSTS:
        return value.rstrip("/")
    raise _error("base_url", _("接口地址须使用 https://（仅本机回环地址可用 http）。"), "https_required")


def _validate_secret(secret: str) -> str:
    if len(secret) < MIN_SECRET:
        raise _error("secret", _("签名密钥至少 %(min)s 个字符。"), "min_length", {"min": MIN_SECRET})
    if len(secret) > MAX_SECRET:
        raise _error("secret", _("签名密钥不能超过 %(max)s 个字符。"), "max_length", {"max": MAX_SECRET})
    return secret


def _clean(data: dict[str, Any], *, instance: ExchangePartner | None) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name in EDITABLE:
        if name in data:
            cleaned[name] = data[name]
    if "code" in cleaned:
        code = str(cleaned["code"] or "").strip().lower()
        if not CODE_RE.match(code):
            raise _error("code", _("伙伴代码为2–40位小写字母、数字或连字符。"), "invalid")
        clash = ExchangePartner.objects.filter(code=code)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            raise _error("code", _("伙伴代码已被使用。"), "unique")
        cleaned["code"] = code
    if "name" in cleaned:
        name = str(cleaned["name"] or "").strip()
        if not name:
            raise _error("name", _("请填写名称。"), "required")
        if len(name) > 128:
            raise _error("name", _("名称不能超过 %(max)s 字。"), "max_length", {"max": 128})
        cleaned["name"] = name
    if "base_url" in cleaned:
        cleaned["base_url"] = validate_base_url(str(cleaned["base_url"] or ""))
        if len(cleaned["base_url"]) > 300:
            raise _error("base_url", _("接口地址不能超过 %(max)s 个字符。"), "max_length", {"max": 300})
    if "key_id" in cleaned:
        key_id = str(cleaned["key_id"] or "").strip()
        if not key_id:
            raise _error("key_id", _("请填写密钥标识。"), "required")
        if len(key_id) > 64 or not re.match(r"^[A-Za-z0-9._-]+$", key_id):
            raise _error("key_id", _("密钥标识为不超过64位的字母、数字、点、下划线或连字符。"), "invalid")
        clash = ExchangePartner.objects.filter(key_id=key_id)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            raise _error("key_id", _("密钥标识已被其他对接平台使用。"), "unique")
        cleaned["key_id"] = key_id
    if "region_code" in cleaned:
        region = str(cleaned["region_code"] or "").strip()
        if not REGION_RE.match(region):
            raise _error("region_code", _("地区代码应为6位数字，全国留空。"), "invalid")
        cleaned["region_code"] = region
    if "max_attempts" in cleaned:
        try:
            attempts = int(cleaned["max_attempts"])
        except (TypeError, ValueError):
            raise _error("max_attempts", _("最大重试次数须为整数。"), "invalid") from None
        if not 1 <= attempts <= 20:
            raise _error("max_attempts", _("最大重试次数须在 1 到 20 之间。"), "range")
        cleaned["max_attempts"] = attempts
    for flag in ("push_products", "push_whitelist", "push_registrations", "is_active"):
        if flag in cleaned:
            cleaned[flag] = bool(cleaned[flag])
    return cleaned


def _audit_state(partner: ExchangePartner) -> dict[str, Any]:
    return {name: getattr(partner, name) for name in AUDITED}


@transaction.atomic
def partner_create(*, actor: User, data: dict[str, Any], secret: str = "") -> PartnerWithSecret:
    """Configure a new partner; a blank secret is generated. The answer carries the secret to show once."""
    _guard(actor, Action.ADD)
    for required in ("code", "name", "base_url", "key_id"):
        if not str(data.get(required) or "").strip():
            raise _error(required, _("此项为必填项。"), "required")
    secret = (secret or "").strip() or secrets.token_urlsafe(MIN_SECRET)
    _validate_secret(secret)
    cleaned = _clean(data, instance=None)
    partner = ExchangePartner.objects.create(**cleaned, secret=secret)
    record_event(
        acting_user=actor,
        action="exchange_partner.create",
        instance=partner,
        new=_audit_state(partner),
        extra={"secret": "set"},
    )
    return PartnerWithSecret(partner=partner, secret=secret)


@transaction.atomic
def partner_update(*, actor: User, partner: ExchangePartner, data: dict[str, Any]) -> ExchangePartner:
    """Change a partner's settings (not its secret: see `partner_rotate_secret`)."""
    _guard(actor, Action.CHANGE)
    locked = ExchangePartner.objects.restrict(actor, Action.CHANGE).select_for_update().filter(pk=partner.pk).first()
    if locked is None:
        raise PermissionDenied(_("只有平台运营人员可以配置信易贷对接平台。"))
    if "secret" in data:
        raise _error("secret", _("签名密钥请通过“更换密钥”设置。"), "read_only")
    cleaned = _clean(data, instance=locked)
    before = _audit_state(locked)
    for name, value in cleaned.items():
        setattr(locked, name, value)
    locked.save()
    record_event(
        acting_user=actor, action="exchange_partner.update", instance=locked, old=before, new=_audit_state(locked)
    )
    return locked


@transaction.atomic
def partner_rotate_secret(*, actor: User, partner: ExchangePartner, secret: str = "") -> PartnerWithSecret:
    """Replace the shared secret (a blank one is generated); the partner must be given the new one out of band."""
    _guard(actor, Action.CHANGE)
    locked = ExchangePartner.objects.restrict(actor, Action.CHANGE).select_for_update().filter(pk=partner.pk).first()
    if locked is None:
        raise PermissionDenied(_("只有平台运营人员可以配置信易贷对接平台。"))
    secret = (secret or "").strip() or secrets.token_urlsafe(MIN_SECRET)
    _validate_secret(secret)
    if secrets.compare_digest(secret, locked.secret):
        raise _error("secret", _("新密钥不能与原密钥相同。"), "unchanged")
    locked.secret = secret
    locked.save(update_fields=["secret", "updated_at"])
    record_event(
        acting_user=actor, action="exchange_partner.rotate_secret", instance=locked, extra={"secret": "rotated"}
    )
    return PartnerWithSecret(partner=locked, secret=secret)
