"""Reads of the 信易贷 exchange: partners, the outbound queue (with its dead letters), what was received, consents and
what partners sent about an enterprise. Every read starts from `restrict(user, "view")`."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from ipledge.core.apikit import may
from ipledge.core.choices import OrganisationKind
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.models import Enterprise

from .choices import OutboundStatus
from .models import (
    ExchangePartner,
    InboundMessage,
    OutboundMessage,
    PartnerCreditReport,
    PartnerLoanOutcome,
    ShareConsent,
)


def is_operator(user: Any) -> bool:
    """Platform operators run the exchange: configure partners, sync, requeue."""
    scope = scope_for(user)
    return scope is not None and scope.is_platform


def may_watch(user: Any) -> bool:
    """Operators, and the government bodies who watch their region's partners and queues read-only."""
    return may(user, ExchangePartner, Action.VIEW)


def partner_list(*, user: Any) -> QuerySet[ExchangePartner]:
    return ExchangePartner.objects.restrict(user, Action.VIEW).annotate(outbound_count=Count("outbound", distinct=True))


def partner_get(*, user: Any, pk: int, action: str = Action.VIEW) -> ExchangePartner:
    return ExchangePartner.objects.restrict(user, action).get(pk=pk)


def partner_status_counts(partner: ExchangePartner) -> dict[str, int]:
    rows = OutboundMessage.objects.filter(partner=partner).values_list("status").annotate(n=Count("pk"))
    counts = {str(s): 0 for s in OutboundStatus.values}
    counts.update({str(status): n for status, n in rows})
    return counts


def outbound_list(*, user: Any, filters: dict[str, Any] | None = None) -> QuerySet[OutboundMessage]:
    qs = OutboundMessage.objects.restrict(user, Action.VIEW).select_related("partner")
    f = filters or {}
    if f.get("partner_id"):
        qs = qs.filter(partner_id=f["partner_id"])
    if f.get("status"):
        qs = qs.filter(status=f["status"])
    if f.get("kind"):
        qs = qs.filter(kind=f["kind"])
    if f.get("q"):
        qs = qs.filter(subject_key__icontains=str(f["q"]).strip())
    return qs


def outbound_status_counts(*, user: Any, partner_id: int | None = None) -> dict[str, int]:
    qs = OutboundMessage.objects.restrict(user, Action.VIEW)
    if partner_id:
        qs = qs.filter(partner_id=partner_id)
    counts = {str(s): 0 for s in OutboundStatus.values}
    for status, n in qs.order_by().values_list("status").annotate(n=Count("pk")):
        counts[str(status)] = n
    return counts


def outbound_get(*, user: Any, pk: int) -> OutboundMessage:
    return OutboundMessage.objects.restrict(user, Action.VIEW).select_related("partner").get(pk=pk)


def inbound_list(*, user: Any, filters: dict[str, Any] | None = None) -> QuerySet[InboundMessage]:
    qs = InboundMessage.objects.restrict(user, Action.VIEW).select_related("partner")
    f = filters or {}
    if f.get("partner_id"):
        qs = qs.filter(partner_id=f["partner_id"])
    if f.get("status"):
        qs = qs.filter(status=f["status"])
    if f.get("kind"):
        qs = qs.filter(kind=f["kind"])
    return qs


def inbound_get(*, user: Any, pk: int) -> InboundMessage:
    return InboundMessage.objects.restrict(user, Action.VIEW).select_related("partner").get(pk=pk)


def own_enterprise(user: Any) -> Enterprise | None:
    """The enterprise an enterprise user acts for (its own organisation's), or None."""
    scope = scope_for(user)
    if scope is None or scope.kind != OrganisationKind.ENTERPRISE or scope.organisation_id is None:
        return None
    return Enterprise.objects.filter(organisation_id=scope.organisation_id).first()


def consent_history(*, user: Any, enterprise: Enterprise) -> QuerySet[ShareConsent]:
    return (
        ShareConsent.objects.restrict(user, Action.VIEW)
        .filter(enterprise=enterprise)
        .select_related("granted_by", "revoked_by")
    )


def consent_get(*, user: Any, pk: int, action: str = Action.VIEW) -> ShareConsent:
    return ShareConsent.objects.restrict(user, action).select_related("enterprise").get(pk=pk)


def credit_reports(*, user: Any) -> QuerySet[PartnerCreditReport]:
    return PartnerCreditReport.objects.restrict(user, Action.VIEW).select_related("partner", "enterprise")


def loan_outcomes(*, user: Any) -> QuerySet[PartnerLoanOutcome]:
    return PartnerLoanOutcome.objects.restrict(user, Action.VIEW).select_related("partner", "enterprise")


def may_see_credit_reports(user: Any) -> bool:
    scope = scope_for(user)
    if scope is None or not scope.may(Action.VIEW):
        return False
    if scope.is_platform:
        return True
    return PartnerCreditReport.scope_q(scope, Action.VIEW) is not None
