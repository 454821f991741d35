"""Audit events (审计事件) and the generic create / update helpers every service builds on.

An `AuditEvent` is written inside the caller's transaction, so a change and its record commit or roll back
together (Zulip's RealmAuditLog pattern). `record_event` refuses to run outside a transaction.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction

from .context import api_key_id_var, current_request_id
from .models import AuditEvent, User
from .money import Money

M = TypeVar("M", bound=models.Model)


class AuditError(RuntimeError):
    pass


def _jsonable(value: Any) -> Any:
    if isinstance(value, Money):
        return str(value.amount)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """Field values of an instance as JSON-ready data (foreign keys by id)."""
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        if field.name in ("password",):
            continue
        data[field.name] = _jsonable(getattr(instance, field.attname))
    return data


def _audit_value(name: str, value: Any) -> Any:
    """Personal data is recorded masked: the audit trail is read by auditors outside the need-to-know."""
    from .privacy import AUDIT_MASKS

    mask = AUDIT_MASKS.get(name)
    return mask(value) if mask is not None and isinstance(value, str) else value


def record_event(
    *,
    acting_user: User | None,
    action: str,
    instance: models.Model | None = None,
    object_type: str | None = None,
    object_id: str = "",
    object_repr: str = "",
    region_code: str = "",
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Write an audit event in the current transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise AuditError("audit events must be written inside the service's transaction")
    changes: dict[str, Any] = {}
    if old is not None or new is not None:
        old = {k: _jsonable(v) for k, v in (old or {}).items()}
        new = {k: _jsonable(v) for k, v in (new or {}).items()}
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        changes["fields"] = {k: {"old": _audit_value(k, old.get(k)), "new": _audit_value(k, new.get(k))} for k in keys}
    if extra:
        changes["extra"] = {k: _jsonable(v) for k, v in extra.items()}
    if instance is not None:
        object_type = object_type or instance._meta.label_lower
        object_id = object_id or str(instance.pk)
        object_repr = object_repr or str(instance)[:255]
        region_code = region_code or str(getattr(instance, "audit_region_code", "") or "")
    return AuditEvent.objects.create(
        actor=acting_user if acting_user is not None and acting_user.pk else None,
        actor_name=(acting_user.get_username() if acting_user is not None else "system")[:150],
        organisation_id=getattr(acting_user, "organisation_id", None),
        api_key_id=api_key_id_var.get(),
        action=action,
        object_type=object_type or "",
        object_id=object_id,
        object_repr=object_repr,
        region_code=region_code,
        changes=changes,
        request_id=current_request_id(),
    )


def save_validated(instance: M) -> M:
    """Validate fields, then save; a broken table constraint becomes a field error naming the rule, not a 500.

    Table constraints (unique, check) are left to the database instead of being pre-checked by `full_clean`,
    which would cost one query per constraint per row. When the database refuses the row, or a concurrent
    transaction won a unique race after our checks, the savepoint is rolled back and the constraints are
    re-checked in Python to say which rule was broken.
    """
    adding = instance._state.adding
    instance.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        if adding and not isinstance(instance._meta.pk, models.UUIDField):
            instance.pk = None
        instance.validate_unique()
        instance.validate_constraints()
        raise
    return instance


insert_validated = save_validated


def audited_create(*, instance: M, acting_user: User | None, action: str | None = None) -> M:
    """Validate, save and audit a new instance (call inside the service's atomic block)."""
    insert_validated(instance)
    record_event(
        acting_user=acting_user,
        action=action or f"{instance._meta.model_name}.create",
        instance=instance,
        new=snapshot(instance),
    )
    return instance


def audited_update(
    *,
    instance: M,
    data: Mapping[str, Any],
    acting_user: User | None,
    action: str | None = None,
    derive: Callable[[M], None] | None = None,
    region_code: str = "",
) -> M:
    """Apply field changes (and derived fields), validate, save if anything changed and audit old and new values."""
    before = snapshot(instance)
    for name, value in data.items():
        setattr(instance, name, value)
    if derive is not None:
        derive(instance)
    after = snapshot(instance)
    changed = [k for k in after if before.get(k) != after.get(k)]
    if not changed:
        return instance
    save_validated(instance)
    record_event(
        acting_user=acting_user,
        action=action or f"{instance._meta.model_name}.update",
        instance=instance,
        region_code=region_code,
        old={k: before[k] for k in changed},
        new={k: after[k] for k in changed},
    )
    return instance
