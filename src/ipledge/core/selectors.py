"""Core reads; each starts from `restrict(user, action)`."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.http import Http404

from .models import ApiCall, ApiKey, AuditEvent, Organisation, User
from .scoping import Action

M = TypeVar("M", bound=models.Model)


def scoped_get(model: type[M], *, user: Any, pk: Any, action: str = Action.VIEW) -> M:
    """One object within the user's scope for the action, else Http404 (the same answer as a missing row)."""
    try:
        return model.objects.restrict(user, action).get(pk=pk)  # type: ignore[attr-defined,no-any-return]
    except (ObjectDoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404(model._meta.verbose_name) from exc


def organisation_list(*, user: Any) -> models.QuerySet[Organisation]:
    return Organisation.objects.restrict(user, Action.VIEW).select_related("region", "parent")


def user_list(*, user: Any) -> models.QuerySet[User]:
    return User.objects.restrict(user, Action.VIEW).select_related("organisation")


def audit_event_list(*, user: Any, filters: dict[str, Any] | None = None) -> models.QuerySet[AuditEvent]:
    qs = AuditEvent.objects.restrict(user, Action.VIEW).select_related("actor", "organisation")
    filters = filters or {}
    if filters.get("action"):
        qs = qs.filter(action__startswith=filters["action"])
    if filters.get("object_type"):
        qs = qs.filter(object_type=filters["object_type"])
    if filters.get("object_id"):
        qs = qs.filter(object_id=str(filters["object_id"]))
    if filters.get("actor"):
        qs = qs.filter(actor_name__icontains=filters["actor"])
    if filters.get("since"):
        qs = qs.filter(occurred_at__date__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(occurred_at__date__lte=filters["until"])
    return qs


def object_history(*, user: Any, instance: models.Model) -> models.QuerySet[AuditEvent]:
    """Audit events of one object the caller can already see (so its history is visible with it)."""
    return AuditEvent.objects.filter(object_type=instance._meta.label_lower, object_id=str(instance.pk)).select_related(
        "actor", "organisation"
    )


def api_key_list(*, user: Any) -> models.QuerySet[ApiKey]:
    return ApiKey.objects.restrict(user, Action.VIEW).select_related("created_by")


def api_call_list(*, user: Any, filters: dict[str, Any] | None = None) -> models.QuerySet[ApiCall]:
    qs = ApiCall.objects.restrict(user, Action.VIEW).select_related("api_key", "user")
    filters = filters or {}
    if filters.get("key_id"):
        qs = qs.filter(api_key_id=filters["key_id"])
    if filters.get("status_code"):
        qs = qs.filter(status_code=filters["status_code"])
    if filters.get("since"):
        qs = qs.filter(occurred_at__date__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(occurred_at__date__lte=filters["until"])
    return qs
