"""Core services: organisations, users and API keys. Every write is audited in its own transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audited_create, audited_update, record_event, snapshot
from .choices import BankTier, OrganisationKind, Role
from .models import ApiCall, ApiKey, Organisation, Region, User
from .scoping import ROLE_ACTIONS, Action

API_KEY_PREFIX_LEN = 8
DEFAULT_RATE_LIMIT_PER_MINUTE = 600
MIN_RATE_LIMIT = 1
MAX_RATE_LIMIT = 100_000
API_CALL_PATH_MAX = 512


@transaction.atomic
def organisation_create(
    *,
    name: str,
    kind: str,
    acting_user: User | None,
    region: Region | None = None,
    parent: Organisation | None = None,
    admin_level: str = "",
    bank_tier: str = "",
    uscc: str = "",
) -> Organisation:
    if parent is not None and parent.kind != kind:
        raise ValidationError({"parent": ValidationError(_("上级机构必须与本机构类型相同。"), code="parent_kind")})
    if kind == OrganisationKind.BANK and not bank_tier:
        bank_tier = BankTier.HEAD_OFFICE if parent is None else BankTier.BRANCH
    org = Organisation(
        name=name, kind=kind, region=region, parent=parent, admin_level=admin_level, bank_tier=bank_tier, uscc=uscc
    )
    org.full_clean(exclude=["tree_path"])
    org.save()
    org.tree_path = f"{parent.tree_path if parent else '/'}{org.pk}/"
    org.save(update_fields=["tree_path"])
    record_event(
        acting_user=acting_user,
        action="organisation.create",
        instance=org,
        new=snapshot(org),
        region_code=region.code if region else "",
    )
    return org


@transaction.atomic
def user_create(
    *,
    username: str,
    organisation: Organisation,
    role: str,
    password: str | None,
    acting_user: User | None,
    display_name: str = "",
    email: str = "",
) -> User:
    user = User(username=username, organisation=organisation, role=role, display_name=display_name, email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    return audited_create(instance=user, acting_user=acting_user, action="user.create")


@transaction.atomic
def user_update(
    *,
    user: User,
    acting_user: User,
    role: str | None = None,
    is_active: bool | None = None,
    display_name: str | None = None,
) -> User:
    data: dict[str, object] = {}
    if role is not None:
        data["role"] = role
    if is_active is not None:
        data["is_active"] = is_active
    if display_name is not None:
        data["display_name"] = display_name
    return audited_update(instance=user, data=data, acting_user=acting_user, action="user.update")


def _hash_key(secret: str) -> str:
    # Keys are 256-bit random values, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def _key_actions(role: str, actions: Iterable[str] | None) -> list[str]:
    """The key's actions in a stable order; the role's actions by default, else a non-empty subset of them."""
    allowed = ROLE_ACTIONS.get(role, frozenset())
    if actions is None:
        return [a.value for a in Action if a in allowed]
    chosen = set()
    for value in actions:
        try:
            chosen.add(Action(value))
        except ValueError:
            raise ValidationError(
                {
                    "actions": ValidationError(
                        _("操作“%(action)s”无效，应为 view、add、change、delete 或 approve。"),
                        code="choice",
                        params={"action": value},
                    )
                }
            ) from None
    if not chosen:
        raise ValidationError({"actions": ValidationError(_("请至少选择一项允许的操作。"), code="required")})
    beyond = [a.value for a in Action if a in chosen and a not in allowed]
    if beyond:
        raise ValidationError(
            {
                "actions": ValidationError(
                    _("该角色不能执行以下操作：%(actions)s。"),
                    code="beyond_role",
                    params={"actions": ", ".join(beyond)},
                )
            }
        )
    return [a.value for a in Action if a in chosen]


@transaction.atomic
def api_key_create(
    *,
    organisation: Organisation,
    name: str,
    role: str,
    acting_user: User,
    expires_at: datetime | None = None,
    actions: Iterable[str] | None = None,
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is shown once and never stored.

    `actions` narrows what the key may do below its role (default: everything the role may do).
    """
    if role not in Role.values:
        raise ValidationError({"role": ValidationError(_("角色无效。"), code="choice")})
    key_actions = _key_actions(role, actions)
    if not MIN_RATE_LIMIT <= rate_limit_per_minute <= MAX_RATE_LIMIT:
        raise ValidationError(
            {
                "rate_limit_per_minute": ValidationError(
                    _("每分钟请求上限应在 %(min)s 至 %(max)s 之间。"),
                    code="range",
                    params={"min": MIN_RATE_LIMIT, "max": MAX_RATE_LIMIT},
                )
            }
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": ValidationError(_("过期时间必须晚于当前时间。"), code="future")})
    prefix = secrets.token_hex(API_KEY_PREFIX_LEN // 2)
    secret = f"ipk_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        organisation=organisation,
        name=name,
        prefix=prefix,
        key_hash=_hash_key(secret),
        role=role,
        created_by=acting_user if acting_user.pk else None,
        expires_at=expires_at,
        actions=key_actions,
        rate_limit_per_minute=rate_limit_per_minute,
    )
    key.full_clean()
    key.save()
    record_event(
        acting_user=acting_user,
        action="api_key.create",
        instance=key,
        new={
            "name": name,
            "role": role,
            "prefix": prefix,
            "actions": key_actions,
            "rate_limit_per_minute": rate_limit_per_minute,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return key, secret


@transaction.atomic
def api_key_revoke(*, key: ApiKey, acting_user: User) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        record_event(acting_user=acting_user, action="api_key.revoke", instance=key, new={"revoked": True})
    return key


def api_key_authenticate(secret: str) -> ApiKey | None:
    """The live key matching a presented secret, or None (unknown, revoked or expired)."""
    parts = secret.split("_")
    if len(parts) < 3 or parts[0] != "ipk":
        return None
    key = ApiKey.objects.select_related("organisation").filter(prefix=parts[1]).first()
    if key is None or not secrets.compare_digest(key.key_hash, _hash_key(secret)):
        return None
    now = timezone.now()
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return None
    if not key.organisation.is_active:
        return None
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def api_key_principal(key: ApiKey) -> User:
    """An unsaved user standing for the key, so `restrict()` scopes API-key calls like a user of that org."""
    principal = User(username=f"api-key:{key.prefix}", organisation=key.organisation, role=key.role, is_active=True)
    principal.pk = None
    principal._api_key = key  # type: ignore[attr-defined]
    return principal


def api_call_record(
    *,
    api_key: ApiKey | None,
    user: User | None,
    method: str,
    path: str,
    status_code: int,
    duration_ms: int,
    request_id: str,
    client_ip: str | None,
) -> ApiCall:
    """One row per API call (not an audit event: it is itself the record, and reads are recorded too).

    The organisation is the key's, else the session user's, so its administrators can account for the call.
    """
    organisation_id = api_key.organisation_id if api_key is not None else getattr(user, "organisation_id", None)
    return ApiCall.objects.create(
        api_key=api_key,
        user=user if user is not None and user.pk is not None else None,
        organisation_id=organisation_id,
        method=method[:8],
        path=path[:API_CALL_PATH_MAX],
        status_code=status_code,
        duration_ms=max(0, duration_ms),
        request_id=request_id[:64],
        client_ip=client_ip,
    )


# The Cybersecurity Law (网络安全法, art. 21) asks operators to keep network logs for at least six months.
API_CALL_MIN_RETENTION_DAYS = 180


@transaction.atomic
def api_calls_prune(*, older_than_days: int, acting_user: User | None) -> int:
    """Delete API call records older than the retention period; returns how many went. Audited as one event."""
    if older_than_days < API_CALL_MIN_RETENTION_DAYS:
        raise ValidationError(
            {
                "older_than_days": ValidationError(
                    _("API 调用记录至少保留 %(days)s 天（《网络安全法》第二十一条）。"),
                    code="min_retention",
                    params={"days": API_CALL_MIN_RETENTION_DAYS},
                )
            }
        )
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _per_model = ApiCall.objects.filter(occurred_at__lt=cutoff).delete()
    record_event(
        acting_user=acting_user,
        action="api_call.prune",
        object_type="core.apicall",
        object_repr="API 调用记录",
        new={"older_than_days": older_than_days, "cutoff": cutoff.isoformat(), "deleted": deleted},
    )
    return deleted
