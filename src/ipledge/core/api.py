"""Core API: who am I, regions, organisations, audit events, API keys and identifier validation.

Handlers are thin: parse, call a selector or service that starts from `restrict(user, action)`, return a schema.
"""

import uuid
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Path, Query, Router, Status
from ninja.pagination import paginate

from . import selectors, services
from .apikit import MAX_ID, ApiError, Paginated, caller, error_responses, may, require
from .choices import RegionLevel
from .identifiers import VALIDATORS
from .models import ApiCall, ApiKey, AuditEvent, Organisation, Region
from .schemas import (
    ApiCallFilter,
    ApiCallOut,
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    AuditEventFilter,
    AuditEventOut,
    IdentifierKind,
    MeOut,
    OrganisationFilter,
    OrganisationOut,
    RegionOut,
    ValidationOut,
)
from .scoping import Action, scope_for
from .selectors import scoped_get

router = Router(tags=["core"])


# ---------------------------------------------------------------------------
# Me
# ---------------------------------------------------------------------------


@router.get("/me", response={200: MeOut, **error_responses()}, summary="The caller: user, organisation, role")
def me(request: HttpRequest) -> dict[str, Any]:
    from ipledge.registry.models import Enterprise, IPRight, Park

    user = caller(request)
    scope = scope_for(user)
    key = getattr(request, "api_key", None)
    return {
        "user": {"id": user.pk, "username": user.get_username(), "display_name": user.display_name},
        "organisation": user.organisation,
        "role": user.role,
        "is_platform_admin": bool(scope and scope.is_platform),
        "api_key": key,
        "actions": [str(a) for a in Action if scope is not None and scope.may(a)],
        "may_add": {
            "park": may(user, Park, Action.ADD),
            "enterprise": may(user, Enterprise, Action.ADD),
            "ip_right": may(user, IPRight, Action.ADD),
            "api_key": key is None and may(user, ApiKey, Action.ADD),
        },
    }


# ---------------------------------------------------------------------------
# Regions (public reference data, read-only)
# ---------------------------------------------------------------------------


@router.get("/regions", response={200: list[RegionOut], **error_responses(403)}, summary="Administrative divisions")
@paginate(Paginated)
def region_list(
    request: HttpRequest,
    level: RegionLevel | None = None,
    parent: str | None = Query(None, pattern=r"^[0-9]{6}$", description="Parent region code"),
) -> QuerySet[Region]:
    user = caller(request)
    require(user, Region, Action.VIEW)
    qs = Region.objects.restrict(user, Action.VIEW).select_related("parent")
    if level is not None:
        qs = qs.filter(level=level)
    if parent is not None:
        qs = qs.filter(parent__code=parent)
    return qs


# ---------------------------------------------------------------------------
# Organisations
# ---------------------------------------------------------------------------


@router.get(
    "/organisations",
    response={200: list[OrganisationOut], **error_responses(403)},
    summary="Organisations within your scope",
)
@paginate(Paginated)
def organisation_list(request: HttpRequest, filters: Query[OrganisationFilter]) -> QuerySet[Organisation]:
    user = caller(request)
    require(user, Organisation, Action.VIEW)
    qs = selectors.organisation_list(user=user)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.q:
        qs = qs.filter(name__icontains=filters.q)
    return qs


@router.get(
    "/organisations/{organisation_id}",
    response={200: OrganisationOut, **error_responses(403, 404)},
    summary="One organisation",
)
def organisation_detail(request: HttpRequest, organisation_id: int = Path(..., ge=1, le=MAX_ID)) -> Organisation:
    user = caller(request)
    require(user, Organisation, Action.VIEW)
    return scoped_get(Organisation, user=user, pk=organisation_id)


# ---------------------------------------------------------------------------
# Audit events
# ---------------------------------------------------------------------------


@router.get(
    "/audit-events",
    response={200: list[AuditEventOut], **error_responses(403)},
    summary="Audit events within your scope (admins and reviewers)",
)
@paginate(Paginated)
def audit_event_list(request: HttpRequest, filters: Query[AuditEventFilter]) -> QuerySet[AuditEvent]:
    user = caller(request)
    require(user, AuditEvent, Action.VIEW)
    return selectors.audit_event_list(user=user, filters=filters.dict(exclude_none=True))


# ---------------------------------------------------------------------------
# API keys
# ---------------------------------------------------------------------------


def _no_key_minting(request: HttpRequest) -> None:
    if getattr(request, "api_key", None) is not None:
        raise ApiError(
            403,
            "session_required",
            "API 密钥不能创建新的密钥，请登录后操作。",
            "An API key cannot create keys; sign in to do this.",
        )


@router.get(
    "/api-keys",
    response={200: list[ApiKeyOut], **error_responses(403)},
    summary="Your organisation's API keys (admins)",
)
@paginate(Paginated)
def api_key_list(request: HttpRequest) -> QuerySet[ApiKey]:
    user = caller(request)
    require(user, ApiKey, Action.VIEW)
    return selectors.api_key_list(user=user)


@router.post(
    "/api-keys",
    response={201: ApiKeyCreatedOut, **error_responses(400, 403)},
    summary="Create an API key; the secret is returned once",
)
def api_key_create(request: HttpRequest, payload: ApiKeyIn) -> Status[dict[str, Any]]:
    user = caller(request)
    _no_key_minting(request)
    require(user, ApiKey, Action.ADD)
    if user.organisation is None:
        raise ApiError(
            400,
            "no_organisation",
            "平台管理员不属于任何机构，不能创建机构 API 密钥。",
            "A platform administrator belongs to no organisation and cannot create organisation keys.",
        )
    with transaction.atomic():
        key, secret = services.api_key_create(
            organisation=user.organisation,
            name=payload.name,
            role=payload.role,
            acting_user=user,
            expires_at=payload.expires_at,
            actions=payload.actions,
            rate_limit_per_minute=payload.rate_limit_per_minute,
        )
    return Status(201, {"key": key, "secret": secret})


@router.post(
    "/api-keys/{key_id}/revoke",
    response={200: ApiKeyOut, **error_responses(403, 404)},
    summary="Revoke an API key (idempotent)",
)
def api_key_revoke(request: HttpRequest, key_id: uuid.UUID) -> ApiKey:
    user = caller(request)
    require(user, ApiKey, Action.CHANGE)
    with transaction.atomic():
        key = scoped_get(ApiKey, user=user, pk=key_id, action=Action.CHANGE)
        return services.api_key_revoke(key=key, acting_user=user)


# ---------------------------------------------------------------------------
# API calls
# ---------------------------------------------------------------------------


@router.get(
    "/api-calls",
    response={200: list[ApiCallOut], **error_responses(403, 404)},
    summary="Calls to this API made with your organisation's keys or by its people (admins)",
)
@paginate(Paginated)
def api_call_list(request: HttpRequest, filters: Query[ApiCallFilter]) -> QuerySet[ApiCall]:
    user = caller(request)
    require(user, ApiCall, Action.VIEW)
    if filters.key_id is not None:
        # Another organisation's key is not yours to ask about: 404, as for a key that does not exist.
        scoped_get(ApiKey, user=user, pk=filters.key_id)
    return selectors.api_call_list(user=user, filters=filters.dict(exclude_none=True))


# ---------------------------------------------------------------------------
# Identifier validation
# ---------------------------------------------------------------------------


@router.get(
    "/validate/{kind}",
    response={200: ValidationOut, **error_responses()},
    summary="Check an identifier: USCC, patent, trademark, copyright or IC layout number",
)
def validate_identifier(
    request: HttpRequest, kind: IdentifierKind, value: str = Query(..., max_length=200)
) -> dict[str, Any]:
    result = VALIDATORS[kind.value](value)
    return {
        "input": result.input,
        "valid": result.valid,
        "canonical": result.canonical,
        "rule": result.rule,
        "message": result.message_zh,
        "message_en": result.message,
    }
