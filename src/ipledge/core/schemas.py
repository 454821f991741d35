"""API schemas of the core app: the error shape, identities, regions, organisations, audit events, API keys.

Output schemas read model instances (`from_attributes`); input schemas forbid unknown fields so a typo in a
PATCH body is an error instead of a silent no-op. Money never appears here; see the registry schemas.
"""

from __future__ import annotations

import datetime
import uuid
from enum import StrEnum
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from .choices import AdminLevel, BankTier, OrganisationKind, RegionLevel, Role


class InputSchema(Schema):
    """Base of every request body: unknown fields are refused (422, rule `extra_forbidden`)."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------
# The one error shape
# ---------------------------------------------------------------------------


class ErrorItem(Schema):
    field: str | None = Field(
        None,
        description="The input field at fault, dotted for nested fields (`owners.0.enterprise_id`); "
        "null for errors that concern the request as a whole.",
    )
    rule: str = Field(
        ...,
        description="Stable machine code of the rule that was broken, e.g. `checksum`, "
        "`required`, `not_found`, `unique`, `forbidden`.",
    )
    message: str = Field(..., description="Explanation in Chinese (zh-hans).")
    message_en: str = Field(..., description="Explanation in English (the Chinese text when no translation exists).")


class ErrorOut(Schema):
    """Every error answer of the API, whatever its status code."""

    errors: list[ErrorItem]
    request_id: str = Field(..., description="Also sent as the X-Request-ID header and recorded on audit events.")


# ---------------------------------------------------------------------------
# Regions and organisations
# ---------------------------------------------------------------------------


class RegionOut(Schema):
    id: int
    code: str = Field(..., description="6-digit administrative division code (NBS 2023).")
    name: str
    level: RegionLevel
    parent_code: str | None = None

    @staticmethod
    def resolve_parent_code(obj: Any) -> str | None:
        return obj.parent.code if obj.parent_id else None


class RegionRef(Schema):
    code: str
    name: str


class OrganisationOut(Schema):
    id: int
    name: str
    kind: OrganisationKind
    admin_level: AdminLevel | None = None
    bank_tier: BankTier | None = None
    region: RegionRef | None = None
    parent_id: int | None = None
    uscc: str
    is_active: bool

    @staticmethod
    def resolve_admin_level(obj: Any) -> str | None:
        return obj.admin_level or None

    @staticmethod
    def resolve_bank_tier(obj: Any) -> str | None:
        return obj.bank_tier or None


class OrganisationFilter(Schema):
    kind: OrganisationKind | None = None
    q: str | None = Field(None, max_length=64, description="Name contains (case-insensitive).")


# ---------------------------------------------------------------------------
# Who am I
# ---------------------------------------------------------------------------


class UserRef(Schema):
    id: int | None = Field(None, description="Null when the caller is an API key.")
    username: str
    display_name: str


class ApiKeyRef(Schema):
    id: uuid.UUID
    name: str
    prefix: str


class MeOut(Schema):
    user: UserRef
    organisation: OrganisationOut | None
    role: Role
    is_platform_admin: bool
    api_key: ApiKeyRef | None = Field(None, description="Set when the request authenticated with an API key.")
    actions: list[str] = Field(
        ...,
        description="Actions the caller may take at all (view, add, change, delete, approve): the role's, narrowed "
        "to the key's own set when calling with an API key.",
    )
    may_add: dict[str, bool] = Field(..., description="Per kind of object: may this caller create one?")


# ---------------------------------------------------------------------------
# Audit events
# ---------------------------------------------------------------------------


class AuditEventOut(Schema):
    id: int
    occurred_at: datetime.datetime
    actor_id: int | None
    actor_name: str
    organisation_id: int | None
    api_key_id: uuid.UUID | None
    action: str
    object_type: str
    object_id: str
    object_repr: str
    region_code: str
    changes: dict[str, Any]
    request_id: str


class AuditEventFilter(Schema):
    action: str | None = Field(None, max_length=64, description="Action, or its prefix (`enterprise.`).")
    object_type: str | None = Field(None, max_length=64, description="e.g. `registry.enterprise`.")
    object_id: str | None = Field(None, max_length=64)
    since: datetime.date | None = Field(None, description="Occurred on or after this date.")
    until: datetime.date | None = Field(None, description="Occurred on or before this date.")


# ---------------------------------------------------------------------------
# API keys
# ---------------------------------------------------------------------------


class ApiKeyOut(Schema):
    id: uuid.UUID
    name: str
    prefix: str
    role: Role
    organisation_id: int
    created_by: str | None
    created_at: datetime.datetime
    expires_at: datetime.datetime | None
    revoked_at: datetime.datetime | None
    last_used_at: datetime.datetime | None
    actions: list[str] = Field(..., description="What the key may do: a subset of its role's actions.")
    rate_limit_per_minute: int

    @staticmethod
    def resolve_created_by(obj: Any) -> str | None:
        return obj.created_by.get_username() if obj.created_by_id else None


class ApiKeyIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=64)
    role: Role = Role.VIEWER
    expires_at: datetime.datetime | None = Field(None, description="ISO 8601 with a time zone; must be in the future.")
    actions: list[str] | None = Field(
        None,
        max_length=5,
        description="Actions the key may take (view, add, change, delete, approve), a subset of the role's; "
        "default: all of the role's.",
    )
    rate_limit_per_minute: int = Field(600, ge=1, le=100_000, description="Calls per minute before 429.")


class ApiKeyCreatedOut(Schema):
    key: ApiKeyOut
    secret: str = Field(..., description="Shown once: send it as `Authorization: Bearer <secret>` or `X-API-Key`.")


class ApiCallOut(Schema):
    id: int
    occurred_at: datetime.datetime
    api_key_id: uuid.UUID | None
    user_id: int | None
    organisation_id: int | None
    method: str
    path: str
    status_code: int
    duration_ms: int
    request_id: str
    client_ip: str | None


class ApiCallFilter(Schema):
    key_id: uuid.UUID | None = Field(None, description="Calls made with this key.")
    status_code: int | None = Field(None, ge=100, le=599)
    since: datetime.date | None = Field(None, description="Made on or after this date.")
    until: datetime.date | None = Field(None, description="Made on or before this date.")


# ---------------------------------------------------------------------------
# Identifier validation
# ---------------------------------------------------------------------------


class IdentifierKind(StrEnum):
    USCC = "uscc"
    PATENT_NO = "patent-no"
    TRADEMARK_NO = "trademark-no"
    COPYRIGHT_NO = "copyright-no"
    IC_LAYOUT_NO = "ic-layout-no"


class ValidationOut(Schema):
    input: str
    valid: bool
    canonical: str | None
    rule: str | None
    message: str | None = Field(..., description="Chinese explanation when not valid.")
    message_en: str | None = Field(..., description="English explanation when not valid.")
