"""Policy library API (政策工具箱和资源库, M1/S6): search the library, read a policy, list the policies that apply to
an enterprise, and for issuers (government bodies and park administrations) create, edit, publish and withdraw.

Like every operation of the API it needs a session or an API key, although published policies are public on the
portal pages. Reads start from `restrict(user, "view")`: published policies, the caller's own drafts and, for a
government body, its region's; anything else answers 404 like a missing policy. Writes look the policy up within the
CHANGE scope (another organisation's policy answers 404), then run one service: `ValidationError` answers 400 naming
the field and the rule (`stale`, `outside_region`, `not_own_park`, `invalid_choice`, `before_start`, `unique`,
`invalid_state` …). Schemas carry the prefix `PortalPolicy…` (valuation already publishes a `PolicyOut`).
"""

import datetime
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from ipledge.core.apikit import (
    MAX_ID,
    ApiError,
    Paginated,
    caller,
    error_responses,
    region_or_400,
    renamed_fields,
    require,
)
from ipledge.core.context import business_date
from ipledge.core.schemas import InputSchema
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.registry.choices import SizeClass
from ipledge.registry.models import Park
from ipledge.registry.schemas import OrgRef

from .. import selectors_policies as selectors
from ..choices import PolicyKind, PolicyStatus
from ..models import Policy
from ..services import policies as services

router = Router(tags=["portal"])

WRITE_ERRORS = error_responses(400, 403, 404)
READ_ERRORS = error_responses(403, 404)
PolicyId = Path(..., ge=1, le=MAX_ID)
RegionCode = Annotated[str, Field(pattern=r"^\d{6}$", description="6-digit NBS region code (行政区划代码).")]
SectionCode = Annotated[str, Field(pattern=r"^[A-T]$", description="GB/T 4754 section (门类), A–T.")]
Version = Field(None, ge=1, le=2**31 - 1, description="The version you read; a newer one → 400 stale.")
RENAMED = {"region": "region_code", "park": "park_id"}


# ---------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------


class PortalPolicyFilter(Schema):
    q: str | None = Field(None, max_length=100, description='Words (all must match), a 文号, or a "quoted phrase".')
    kind: PolicyKind | None = None
    region: str | None = Field(None, pattern=r"^(\d{2}|\d{4}|\d{6})$", description="Region code or prefix.")
    validity: str | None = Field(None, pattern=r"^(valid|expired)$", description="valid: in force today; expired.")
    issuing_body: str | None = Field(None, max_length=64, description="Issuing body contains.")
    status: PolicyStatus | None = Field(None, description="Drafts and withdrawn ones: only your own or your region's.")


class PortalPolicyApplicableFilter(Schema):
    region_code: str | None = Field(None, pattern=r"^\d{6}$", description="The enterprise's region (6 digits).")
    park_id: int | None = Field(None, ge=1, le=MAX_ID)
    size_class: SizeClass | None = None
    industry_section: str | None = Field(None, pattern=r"^[A-T]$")
    on: datetime.date | None = Field(None, description="In force on this day (default today).")


class PortalPolicyCreateIn(InputSchema):
    title: str = Field(..., min_length=1, max_length=200, description="政策名称.")
    kind: PolicyKind
    issuing_body: str = Field("", max_length=128, description="发文机关; default your organisation's name.")
    document_number: str = Field("", max_length=64, description="文号, unique per issuing body.")
    region_code: RegionCode | None = Field(None, description="适用地区; none = national (national bodies only).")
    park_id: int | None = Field(None, ge=1, le=MAX_ID, description="适用园区 (required for a park administration).")
    issued_on: datetime.date
    effective_from: datetime.date
    effective_until: datetime.date | None = None
    summary: str = Field("", max_length=5000)
    body: str = Field(..., min_length=1, max_length=200_000, description="Full text (正文).")
    size_classes: list[SizeClass] = Field(default_factory=list, max_length=4, description="Empty: any size.")
    industry_sections: list[SectionCode] = Field(default_factory=list, max_length=20, description="Empty: any.")
    source_url: str = Field("", max_length=500)


class PortalPolicyUpdateIn(InputSchema):
    """Only the fields sent change."""

    version: int | None = Version
    title: str | None = Field(None, max_length=200)
    kind: PolicyKind | None = None
    issuing_body: str | None = Field(None, max_length=128)
    document_number: str | None = Field(None, max_length=64)
    region_code: RegionCode | None = Field(None, description="null: national.")
    park_id: int | None = Field(None, ge=1, le=MAX_ID, description="null: no park.")
    issued_on: datetime.date | None = None
    effective_from: datetime.date | None = None
    effective_until: datetime.date | None = None
    summary: str | None = Field(None, max_length=5000)
    body: str | None = Field(None, max_length=200_000)
    size_classes: list[SizeClass] | None = Field(None, max_length=4)
    industry_sections: list[SectionCode] | None = Field(None, max_length=20)
    source_url: str | None = Field(None, max_length=500)


class PortalPolicyActionIn(InputSchema):
    version: int | None = Version
    reason: str = Field("", max_length=500, description="Withdrawal reason (kept in the audit log).")


class PortalPolicyAttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str


class PortalPolicyOut(Schema):
    id: int
    title: str
    issuing_body: str
    document_number: str
    kind: PolicyKind
    kind_label: str
    region_code: str
    region_name: str
    park: OrgRef | None = None
    issued_on: datetime.date
    effective_from: datetime.date
    effective_until: datetime.date | None
    summary: str
    size_classes: list[str]
    industry_sections: list[str]
    status: PolicyStatus
    owner_org: OrgRef
    published_at: datetime.datetime | None
    version: int

    @staticmethod
    def resolve_kind_label(obj: Policy) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_region_name(obj: Policy) -> str:
        return obj.region.name if obj.region is not None else "全国"


class PortalPolicyDetailOut(PortalPolicyOut):
    body: str
    source_url: str
    attachments: list[PortalPolicyAttachmentOut]

    @staticmethod
    def resolve_attachments(obj: Policy) -> list[Any]:
        return list(obj.attachments.all())


class PortalPolicyApplicableOut(PortalPolicyOut):
    reasons: list[str] = Field(default_factory=list, description="Why it applies.")


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _park(pk: int | None, field: str = "park_id") -> Park | None:
    if pk is None:
        return None
    park = Park.objects.select_related("region", "administering_org").filter(pk=pk).first()
    if park is None:
        raise ApiError(400, "not_found", "园区不存在。", "Park does not exist.", field=field)
    return park


def _detail(user: Any, pk: int) -> Policy:
    return selectors.visible_policies(user=user).get(pk=pk)


def _changeable(user: Any, policy_id: int) -> Policy:
    return scoped_get(Policy, user=user, pk=policy_id, action=Action.CHANGE)


# ---------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------


@router.get(
    "/portal/policies",
    response={200: list[PortalPolicyOut], **error_responses(403)},
    summary="Search the policy library: published policies, plus your own and (officials) your region's drafts",
)
@paginate(Paginated)
def policy_list(request: HttpRequest, filters: Query[PortalPolicyFilter]) -> QuerySet[Policy]:
    user = caller(request)
    require(user, Policy, Action.VIEW)
    today = business_date()
    return selectors.search_policies(
        selectors.visible_policies(user=user),
        q=filters.q or "",
        kind=str(filters.kind or ""),
        region_code=filters.region or "",
        valid_on=today if filters.validity == "valid" else None,
        expired_on=today if filters.validity == "expired" else None,
        issuing_body=filters.issuing_body or "",
        status=str(filters.status or ""),
    )


@router.get(
    "/portal/policies/applicable",
    response={200: list[PortalPolicyApplicableOut], **error_responses(400, 403)},
    summary="Which published policies in force apply to an enterprise (region, park, size class, industry section)",
)
def policy_applicable(request: HttpRequest, filters: Query[PortalPolicyApplicableFilter]) -> list[Policy]:
    user = caller(request)
    require(user, Policy, Action.VIEW)
    park = _park(filters.park_id)
    region_code = filters.region_code or ""
    if region_code:
        region_or_400(region_code, "region_code")
    elif park is None:
        raise ApiError(400, "required", "请提供地区代码或园区。", "Give region_code or park_id.", field="region_code")
    criteria: dict[str, Any] = {
        "region_code": region_code,
        "park": park,
        "size_class": str(filters.size_class or ""),
        "industry_section": filters.industry_section or "",
    }
    found = list(selectors.applicable_policies(**criteria, today=filters.on or business_date()))
    for policy in found:
        policy.reasons = selectors.applicability_reasons(policy, **criteria)  # type: ignore[attr-defined]
    return found


@router.post(
    "/portal/policies",
    response={201: PortalPolicyDetailOut, **WRITE_ERRORS},
    summary="Draft a policy in your organisation's name (government bodies and park administrations)",
)
def policy_create(request: HttpRequest, payload: PortalPolicyCreateIn) -> Status[Policy]:
    user = caller(request)
    require(user, Policy, Action.ADD)
    region = region_or_400(payload.region_code, "region_code")
    park = _park(payload.park_id)
    try:
        policy = services.policy_create(
            actor=user,
            title=payload.title,
            kind=str(payload.kind),
            issuing_body=payload.issuing_body,
            document_number=payload.document_number,
            region=region,
            park=park,
            issued_on=payload.issued_on,
            effective_from=payload.effective_from,
            effective_until=payload.effective_until,
            summary=payload.summary,
            body=payload.body,
            size_classes=[str(s) for s in payload.size_classes],
            industry_sections=list(payload.industry_sections),
            source_url=payload.source_url,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, RENAMED) from exc
    return Status(201, _detail(user, policy.pk))


@router.get(
    "/portal/policies/{policy_id}",
    response={200: PortalPolicyDetailOut, **READ_ERRORS},
    summary="One policy with its full text and attachments",
)
def policy_detail(request: HttpRequest, policy_id: int = PolicyId) -> Policy:
    user = caller(request)
    require(user, Policy, Action.VIEW)
    return _detail(user, scoped_get(Policy, user=user, pk=policy_id).pk)


@router.patch(
    "/portal/policies/{policy_id}",
    response={200: PortalPolicyDetailOut, **WRITE_ERRORS},
    summary="Edit a policy of your organisation (the search text is rebuilt)",
)
def policy_update(request: HttpRequest, payload: PortalPolicyUpdateIn, policy_id: int = PolicyId) -> Policy:
    user = caller(request)
    require(user, Policy, Action.CHANGE)
    policy = _changeable(user, policy_id)
    sent = payload.model_fields_set
    values: dict[str, Any] = {}
    for name in services.EDITABLE_FIELDS:
        if name in ("region", "park"):
            continue
        if name in sent:
            value = getattr(payload, name)
            if value is None and name in ("title", "kind", "body", "issuing_body", "issued_on", "effective_from"):
                raise ApiError(400, "required", "不能清空此字段。", "This field cannot be cleared.", field=name)
            if name == "kind":
                value = str(value)
            elif name == "size_classes":
                value = [str(s) for s in value or []]
            elif name in ("document_number", "summary", "source_url"):
                value = value or ""
            elif name == "industry_sections":
                value = list(value or [])
            values[name] = value
    if "region_code" in sent:
        values["region"] = region_or_400(payload.region_code, "region_code")
    if "park_id" in sent:
        values["park"] = _park(payload.park_id)
    try:
        services.policy_update(actor=user, policy=policy, values=values, expected_version=payload.version)
    except ValidationError as exc:
        raise renamed_fields(exc, RENAMED) from exc
    return _detail(user, policy.pk)


@router.post(
    "/portal/policies/{policy_id}/publish",
    response={200: PortalPolicyDetailOut, **WRITE_ERRORS},
    summary="Publish a draft or withdrawn policy: it becomes public on the portal",
)
def policy_publish(request: HttpRequest, payload: PortalPolicyActionIn, policy_id: int = PolicyId) -> Policy:
    user = caller(request)
    require(user, Policy, Action.CHANGE)
    policy = _changeable(user, policy_id)
    services.policy_publish(actor=user, policy=policy, expected_version=payload.version)
    return _detail(user, policy.pk)


@router.post(
    "/portal/policies/{policy_id}/withdraw",
    response={200: PortalPolicyDetailOut, **WRITE_ERRORS},
    summary="Withdraw a published policy from the public library",
)
def policy_withdraw(request: HttpRequest, payload: PortalPolicyActionIn, policy_id: int = PolicyId) -> Policy:
    user = caller(request)
    require(user, Policy, Action.CHANGE)
    policy = _changeable(user, policy_id)
    services.policy_withdraw(actor=user, policy=policy, expected_version=payload.version, reason=payload.reason)
    return _detail(user, policy.pk)
