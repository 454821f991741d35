"""信易贷 exchange operations API (数据交换, S5).

Operators (platform staff): the partners (list, create, change, rotate the secret), the outbound queue with its
dead letters (filter by status, kind, partner; one message with its payload; requeue a dead or retrying one) and
the received messages. Everybody else answers 403 on these collections and 404 on an object. The signing secret is
answered exactly once, when it is set (create, rotate), and never again.

Enterprises: their consent to share whitelist entries with 信易贷 platforms (read, grant, revoke), and what partners
sent about them (credit data, loan outcomes; the officials of the region read these too).

The partner-facing protocol itself (signed messages, `/exchange/v1/...`) is documented in docs/exchange.md.
"""

import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from ipledge.core.apikit import MAX_ID, ApiError, Paginated, caller, error_responses, forbidden, require
from ipledge.core.schemas import InputSchema
from ipledge.core.scoping import Action

from .. import selectors_exchange as selectors
from ..choices import InboundStatus, MessageKind, OutboundStatus
from ..models import (
    ExchangePartner,
    InboundMessage,
    OutboundMessage,
    PartnerCreditReport,
    PartnerLoanOutcome,
    ShareConsent,
)
from ..services import consent as consent_services
from ..services import partners as partner_services

router = Router(tags=["integration"])

WRITE_ERRORS = error_responses(400, 403, 404)
READ_ERRORS = error_responses(403, 404)
PartnerId = Path(..., ge=1, le=MAX_ID)
MessagePk = Path(..., ge=1, le=MAX_ID)


# ------------------------------------------------------------------------------------------------------ schemas


class ExchangePartnerOut(Schema):
    id: int
    code: str
    name: str
    base_url: str
    key_id: str
    region_code: str
    push_products: bool
    push_whitelist: bool
    push_registrations: bool
    is_active: bool
    max_attempts: int
    pulled_until: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


class ExchangePartnerSecretOut(Schema):
    partner: ExchangePartnerOut
    secret: str = Field(..., description="The shared signing secret, answered only this once.")


class ExchangePartnerIn(InputSchema):
    code: str = Field(..., min_length=2, max_length=40, examples=["xyd-bj"])
    name: str = Field(..., min_length=1, max_length=128)
    base_url: str = Field(..., max_length=300, description="https:// (http only on a loopback host)")
    key_id: str = Field(..., min_length=1, max_length=64)
    secret: str = Field("", max_length=128, description="At least 32 characters; generated when blank.")
    region_code: str = Field("", pattern=r"^(\d{6})?$", description="6-digit region code; blank = national")
    push_products: bool = True
    push_whitelist: bool = True
    push_registrations: bool = True
    is_active: bool = True
    max_attempts: int = Field(6, ge=1, le=20)


class ExchangePartnerPatch(InputSchema):
    code: str | None = Field(None, min_length=2, max_length=40)
    name: str | None = Field(None, min_length=1, max_length=128)
    base_url: str | None = Field(None, max_length=300)
    key_id: str | None = Field(None, min_length=1, max_length=64)
    region_code: str | None = Field(None, pattern=r"^(\d{6})?$")
    push_products: bool | None = None
    push_whitelist: bool | None = None
    push_registrations: bool | None = None
    is_active: bool | None = None
    max_attempts: int | None = Field(None, ge=1, le=20)


class ExchangeRotateIn(InputSchema):
    secret: str = Field("", max_length=128, description="The new secret (≥ 32 characters); generated when blank.")


class ExchangeOutboundOut(Schema):
    id: int
    message_id: str
    partner_id: int
    partner_code: str
    kind: str
    subject_key: str
    payload_digest: str
    status: str
    status_label: str
    attempts: int
    max_attempts: int
    next_attempt_at: datetime.datetime
    last_status_code: int | None
    last_error: str
    delivered_at: datetime.datetime | None
    dead_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_message_id(obj: OutboundMessage) -> str:
        return str(obj.message_id)

    @staticmethod
    def resolve_partner_code(obj: OutboundMessage) -> str:
        return obj.partner.code

    @staticmethod
    def resolve_status_label(obj: OutboundMessage) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_max_attempts(obj: OutboundMessage) -> int:
        return obj.partner.max_attempts


class ExchangeOutboundDetailOut(ExchangeOutboundOut):
    payload: dict[str, Any]


class ExchangeOutboundFilter(Schema):
    status: OutboundStatus | None = Field(None, description="`dead` is the dead-letter queue (死信队列).")
    kind: MessageKind | None = None
    partner_id: int | None = Field(None, ge=1, le=MAX_ID)


class ExchangeInboundOut(Schema):
    id: int
    partner_id: int
    partner_code: str
    message_id: str
    kind: str
    status: str
    payload: dict[str, Any]
    result: dict[str, Any]
    received_at: datetime.datetime

    @staticmethod
    def resolve_partner_code(obj: InboundMessage) -> str:
        return obj.partner.code


class ExchangeInboundFilter(Schema):
    status: InboundStatus | None = None
    kind: MessageKind | None = None
    partner_id: int | None = Field(None, ge=1, le=MAX_ID)


class ExchangeConsentRecordOut(Schema):
    id: int
    granted_at: datetime.datetime
    revoked_at: datetime.datetime | None


class ExchangeConsentOut(Schema):
    enterprise_id: int
    uscc: str
    enterprise_name: str
    consented: bool
    consent_id: int | None
    granted_at: datetime.datetime | None
    shared_fields: list[str]
    partners: list[str] = Field(..., description="The active 信易贷 platforms that receive the entries.")
    history: list[ExchangeConsentRecordOut]


class ExchangeConsentRevokeIn(InputSchema):
    consent_id: int | None = Field(None, ge=1, le=MAX_ID, description="The live consent; the current one if omitted.")


class ExchangeCreditReportOut(Schema):
    id: int
    partner_code: str
    enterprise_id: int
    uscc: str
    enterprise_name: str
    as_of: datetime.date
    tax_rating: str
    social_insurance_headcount: int | None
    tax_arrears: bool
    utility_arrears: bool
    data: dict[str, Any]
    received_at: datetime.datetime

    @staticmethod
    def resolve_partner_code(obj: PartnerCreditReport) -> str:
        return obj.partner.code

    @staticmethod
    def resolve_uscc(obj: PartnerCreditReport) -> str:
        return obj.enterprise.uscc

    @staticmethod
    def resolve_enterprise_name(obj: PartnerCreditReport) -> str:
        return obj.enterprise.name


class ExchangeLoanOutcomeOut(Schema):
    id: int
    partner_code: str
    enterprise_id: int
    uscc: str
    external_ref: str
    lender_name: str
    outcome: str
    amount: str | None = Field(None, description="Yuan as a decimal string.")
    occurred_on: datetime.date
    is_ip_pledge: bool

    @staticmethod
    def resolve_partner_code(obj: PartnerLoanOutcome) -> str:
        return obj.partner.code

    @staticmethod
    def resolve_uscc(obj: PartnerLoanOutcome) -> str:
        return obj.enterprise.uscc

    @staticmethod
    def resolve_amount(obj: PartnerLoanOutcome) -> str | None:
        return None if obj.amount is None else f"{obj.amount.amount}"


SHARED_FIELDS = ["uscc", "enterprise_name", "region_code", "park_name", "period", "included", "score", "version"]


# ------------------------------------------------------------------------------------------------------ helpers


def _watcher(user: Any) -> None:
    """Operators, and read-only the government bodies of the partners' regions (403 for everybody else)."""
    require(user, ExchangePartner, Action.VIEW)


def _partner(user: Any, pk: int, action: str = Action.VIEW) -> ExchangePartner:
    try:
        return selectors.partner_get(user=user, pk=pk, action=action)
    except ExchangePartner.DoesNotExist as exc:
        raise Http404(ExchangePartner._meta.verbose_name) from exc


def _outbound(user: Any, pk: int) -> OutboundMessage:
    try:
        return selectors.outbound_get(user=user, pk=pk)
    except OutboundMessage.DoesNotExist as exc:
        raise Http404(OutboundMessage._meta.verbose_name) from exc


def _enterprise(user: Any) -> Any:
    enterprise = selectors.own_enterprise(user)
    if enterprise is None:
        raise forbidden("只有企业用户可以管理信息共享授权。", "Only an enterprise's users manage its sharing consent.")
    return enterprise


def _consent_state(user: Any, enterprise: Any) -> dict[str, Any]:
    history = list(selectors.consent_history(user=user, enterprise=enterprise))
    live = next((c for c in history if c.revoked_at is None), None)
    from ..services.outbound import region_prefix

    partners = [
        p.name
        for p in ExchangePartner.objects.filter(is_active=True, push_whitelist=True).order_by("name")
        if not p.region_code or enterprise.region_code.startswith(region_prefix(p.region_code))
    ]
    return {
        "enterprise_id": enterprise.pk,
        "uscc": enterprise.uscc,
        "enterprise_name": enterprise.name,
        "consented": live is not None,
        "consent_id": live.pk if live else None,
        "granted_at": live.granted_at if live else None,
        "shared_fields": SHARED_FIELDS,
        "partners": partners,
        "history": [{"id": c.pk, "granted_at": c.granted_at, "revoked_at": c.revoked_at} for c in history],
    }


# ----------------------------------------------------------------------------------------------------- partners


@router.get(
    "/integration/partners",
    response={200: list[ExchangePartnerOut], **error_responses(403)},
    summary="信易贷 partners (operators; government bodies read their region's); the signing secret is never answered",
)
@paginate(Paginated)
def partner_list(request: HttpRequest) -> QuerySet[ExchangePartner]:
    user = caller(request)
    _watcher(user)
    return ExchangePartner.objects.restrict(user, Action.VIEW)


@router.post(
    "/integration/partners",
    response={201: ExchangePartnerSecretOut, **WRITE_ERRORS},
    summary="Configure a 信易贷 partner (operators); answers the secret this once (generated when blank)",
)
def partner_create(request: HttpRequest, payload: ExchangePartnerIn) -> Status[dict[str, Any]]:
    user = caller(request)
    require(user, ExchangePartner, Action.ADD)
    data = payload.model_dump()
    secret = data.pop("secret", "")
    created = partner_services.partner_create(actor=user, data=data, secret=secret)
    return Status(201, {"partner": created.partner, "secret": created.secret})


@router.patch(
    "/integration/partners/{partner_id}",
    response={200: ExchangePartnerOut, **WRITE_ERRORS},
    summary="Change a partner's settings (operators); the secret changes only by rotation",
)
def partner_update(request: HttpRequest, payload: ExchangePartnerPatch, partner_id: int = PartnerId) -> Any:
    user = caller(request)
    require(user, ExchangePartner, Action.CHANGE)
    partner = _partner(user, partner_id, Action.CHANGE)
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return partner_services.partner_update(actor=user, partner=partner, data=data)


@router.post(
    "/integration/partners/{partner_id}/rotate-secret",
    response={200: ExchangePartnerSecretOut, **WRITE_ERRORS},
    summary="Replace the partner's signing secret (operators); answers the new secret this once",
)
def partner_rotate_secret(request: HttpRequest, payload: ExchangeRotateIn, partner_id: int = PartnerId) -> Any:
    user = caller(request)
    require(user, ExchangePartner, Action.CHANGE)
    partner = _partner(user, partner_id, Action.CHANGE)
    rotated = partner_services.partner_rotate_secret(actor=user, partner=partner, secret=payload.secret)
    return {"partner": rotated.partner, "secret": rotated.secret}


# ----------------------------------------------------------------------------------------------------- outbound


@router.get(
    "/integration/outbound",
    response={200: list[ExchangeOutboundOut], **error_responses(403)},
    summary="The outbound queue (operators; government bodies read their region's), newest first; `status=dead`: dead letters",
)
@paginate(Paginated)
def outbound_list(request: HttpRequest, filters: Query[ExchangeOutboundFilter]) -> QuerySet[OutboundMessage]:
    user = caller(request)
    _watcher(user)
    return selectors.outbound_list(user=user, filters=filters.model_dump())


@router.get(
    "/integration/outbound/{message_pk}",
    response={200: ExchangeOutboundDetailOut, **READ_ERRORS},
    summary="One outbound message with its payload, attempts, last error and next attempt",
)
def outbound_detail(request: HttpRequest, message_pk: int = MessagePk) -> OutboundMessage:
    user = caller(request)
    _watcher(user)
    return _outbound(user, message_pk)


@router.post(
    "/integration/outbound/{message_pk}/requeue",
    response={200: ExchangeOutboundDetailOut, **WRITE_ERRORS},
    summary="Requeue a dead or retrying message (operators): pending, attempts reset, due now",
)
def outbound_requeue(request: HttpRequest, message_pk: int = MessagePk) -> OutboundMessage:
    user = caller(request)
    require(user, OutboundMessage, Action.CHANGE)
    message = _outbound(user, message_pk)
    from ..services.delivery import requeue

    requeue(actor=user, message=message)
    return _outbound(user, message_pk)


# ------------------------------------------------------------------------------------------------------ inbound


@router.get(
    "/integration/inbound",
    response={200: list[ExchangeInboundOut], **error_responses(403)},
    summary="Messages received from or pulled from partners (operators; government bodies read their region's), newest first",
)
@paginate(Paginated)
def inbound_list(request: HttpRequest, filters: Query[ExchangeInboundFilter]) -> QuerySet[InboundMessage]:
    user = caller(request)
    _watcher(user)
    return selectors.inbound_list(user=user, filters=filters.model_dump())


# ------------------------------------------------------------------------------------------------------ consent


@router.get(
    "/integration/consent",
    response={200: ExchangeConsentOut, **error_responses(403)},
    summary="The caller's enterprise consent to share its whitelist entries with 信易贷 platforms",
)
def consent_get(request: HttpRequest) -> dict[str, Any]:
    user = caller(request)
    return _consent_state(user, _enterprise(user))


@router.post(
    "/integration/consent",
    response={200: ExchangeConsentOut, **error_responses(400, 403)},
    summary="Grant the consent (the enterprise's own users); granting again keeps the live consent",
)
def consent_grant(request: HttpRequest) -> dict[str, Any]:
    user = caller(request)
    enterprise = _enterprise(user)
    consent_services.consent_grant(actor=user, enterprise=enterprise)
    return _consent_state(user, enterprise)


def _revoke(request: HttpRequest, consent_id: int | None) -> dict[str, Any]:
    user = caller(request)
    enterprise = _enterprise(user)
    live = ShareConsent.objects.restrict(user, Action.CHANGE).filter(enterprise=enterprise, revoked_at__isnull=True)
    if consent_id is not None:
        live = live.filter(pk=consent_id)
    consent = live.first()
    if consent is None:
        raise ApiError(
            400, "not_found", "没有可撤回的有效授权。", "There is no live consent to revoke.", field="consent_id"
        )
    consent_services.consent_revoke(actor=user, consent=consent)
    return _consent_state(user, enterprise)


@router.post(
    "/integration/consent/revoke",
    response={200: ExchangeConsentOut, **error_responses(400, 403)},
    summary="Revoke the live consent: no further whitelist entry is pushed, undelivered ones are dropped",
)
def consent_revoke(request: HttpRequest, payload: ExchangeConsentRevokeIn) -> dict[str, Any]:
    return _revoke(request, payload.consent_id)


@router.delete(
    "/integration/consent",
    response={200: ExchangeConsentOut, **error_responses(400, 403)},
    summary="Revoke the live consent (same as POST /integration/consent/revoke)",
)
def consent_delete(request: HttpRequest) -> dict[str, Any]:
    return _revoke(request, None)


# ------------------------------------------------------------------------------------------------ credit reports


@router.get(
    "/integration/credit-reports",
    response={200: list[ExchangeCreditReportOut], **error_responses(403)},
    summary="Credit data 信易贷 partners sent about the caller's enterprise (officials: their region's enterprises)",
)
@paginate(Paginated)
def credit_reports(request: HttpRequest) -> QuerySet[PartnerCreditReport]:
    user = caller(request)
    require(user, PartnerCreditReport, Action.VIEW)
    return selectors.credit_reports(user=user)


@router.get(
    "/integration/loan-outcomes",
    response={200: list[ExchangeLoanOutcomeOut], **error_responses(403)},
    summary="Loan outcomes 信易贷 partners reported about the caller's enterprise (officials: their region's)",
)
@paginate(Paginated)
def loan_outcomes(request: HttpRequest) -> QuerySet[PartnerLoanOutcome]:
    user = caller(request)
    require(user, PartnerLoanOutcome, Action.VIEW)
    return selectors.loan_outcomes(user=user)
