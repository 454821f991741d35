"""Reads of the one-stop park service centre (一站式服务中心, S2) and of the park staff's service queue.

Who may open a park's centre (`centre_role`): its current member enterprises ("enterprise"), its administration
("park_admin"), government users whose region covers the park ("government"); anyone else gets None and the page
answers 404. The summary gathers, for a member enterprise, its matched products, the status of its own valuations,
demands, filings, loans and service requests, the policies that apply to it and the park's upcoming matchmaking
events; every business read starts from `restrict()` for the user.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet

from ipledge.core.choices import OrganisationKind
from ipledge.core.models import User
from ipledge.core.scoping import Action, scope_for
from ipledge.lending.choices import LoanStatus
from ipledge.lending.models import Loan
from ipledge.market.choices import ACTIVE_DEMAND_STATUSES, DemandStatus, EventStatus
from ipledge.market.models import Demand, Match, MatchmakingEvent
from ipledge.registration.choices import OPEN_FILING_STATUSES
from ipledge.registration.models import PledgeFiling
from ipledge.registry.models import Enterprise, Park, ParkMembership
from ipledge.valuation.choices import ValuationStatus
from ipledge.valuation.models import Valuation

from .choices import OPEN_SERVICE_REQUEST_STATUSES, ServiceRequestKind, ServiceRequestStatus
from .models import Policy, ServiceRequest

TOP_MATCHES = 5
STATUS_ROWS = 5
EVENTS = 5
POLICIES = 8

ROLE_ENTERPRISE = "enterprise"
ROLE_PARK_ADMIN = "park_admin"
ROLE_GOVERNMENT = "government"


def user_enterprise(user: User) -> Enterprise | None:
    organisation_id = getattr(user, "organisation_id", None)
    if organisation_id is None:
        return None
    return Enterprise.objects.filter(organisation_id=organisation_id).first()


def current_parks(enterprise: Enterprise) -> QuerySet[Park]:
    """The parks the enterprise is a current member of, the earliest joined first."""
    memberships = ParkMembership.objects.filter(enterprise=enterprise, left_on__isnull=True)
    return Park.objects.filter(pk__in=memberships.values("park_id")).select_related("region").order_by("pk")


def staff_parks(user: User) -> QuerySet[Park]:
    """The parks a park administration user runs."""
    scope = scope_for(user)
    if scope is None or scope.kind != OrganisationKind.PARK_ADMIN:
        return Park.objects.none()
    return Park.objects.filter(scope.org_tree_q("administering_org__tree_path")).select_related("region")


def centre_role(user: User, park: Park) -> str | None:
    """How the user sees the park's centre, or None when it may not open it."""
    scope = scope_for(user)
    if scope is None:
        return None
    if scope.kind == OrganisationKind.ENTERPRISE:
        enterprise = user_enterprise(user)
        if enterprise is not None and current_parks(enterprise).filter(pk=park.pk).exists():
            return ROLE_ENTERPRISE
        return None
    if scope.kind == OrganisationKind.PARK_ADMIN:
        return ROLE_PARK_ADMIN if staff_parks(user).filter(pk=park.pk).exists() else None
    if scope.is_government and scope.region_prefix is not None and park.region.code.startswith(scope.region_prefix):
        return ROLE_GOVERNMENT
    return None


def park_for_centre(*, user: User, pk: int) -> tuple[Park, str]:
    """The park and the user's role in its centre; `Park.DoesNotExist` when the user may not open it."""
    park = Park.objects.select_related("region", "administering_org").get(pk=pk)
    role = centre_role(user, park)
    if role is None:
        raise Park.DoesNotExist
    return park, role


def upcoming_events(*, park: Park, today: datetime.date) -> QuerySet[MatchmakingEvent]:
    """Announced matchmaking events from today on, held in the park or in its city or province."""
    code = park.region.code
    codes = {code, code[:4] + "00", code[:2] + "0000"}
    return (
        MatchmakingEvent.objects.filter(status__in=(EventStatus.OPEN, EventStatus.SCHEDULED), event_date__gte=today)
        .filter(Q(park=park) | Q(region_code__in=codes) | Q(region_code__startswith=code[:4]))
        .select_related("organiser", "park")
        .order_by("event_date", "pk")
    )


def park_policies(*, park: Park, enterprise: Enterprise | None, today: datetime.date) -> QuerySet[Policy]:
    from .selectors_policies import applicable_policies

    if enterprise is not None:
        return applicable_policies(
            region_code=enterprise.region_code or park.region.code,
            park=park,
            size_class=enterprise.size_class,
            industry_section=enterprise.industry_section,
            today=today,
        )
    return applicable_policies(region_code=park.region.code, park=park, size_class="", industry_section="", today=today)


def top_matches(*, user: User, enterprise: Enterprise) -> list[Match]:
    return list(
        Match.objects.restrict(user, Action.VIEW)
        .filter(demand__enterprise=enterprise, demand__status__in=ACTIVE_DEMAND_STATUSES, eligible=True)
        .select_related("product", "product__bank", "demand")
        .order_by("rank", "-score", "pk")[:TOP_MATCHES]
    )


def enterprise_status(*, user: User, enterprise: Enterprise) -> dict[str, list[Any]]:
    """The enterprise's own open business, newest first: valuations, demands, filings, loans, service requests."""
    return {
        "valuations": list(
            Valuation.objects.restrict(user, Action.VIEW)
            .filter(enterprise=enterprise)
            .select_related("ip_right", "bundle")
            .order_by("-pk")[:STATUS_ROWS]
        ),
        "demands": list(
            Demand.objects.restrict(user, Action.VIEW)
            .filter(enterprise=enterprise, status__in=ACTIVE_DEMAND_STATUSES)
            .order_by("-pk")[:STATUS_ROWS]
        ),
        "filings": list(
            PledgeFiling.objects.restrict(user, Action.VIEW)
            .filter(pledgor=enterprise, status__in=OPEN_FILING_STATUSES)
            .select_related("pledgee")
            .order_by("-pk")[:STATUS_ROWS]
        ),
        "loans": list(
            Loan.objects.restrict(user, Action.VIEW)
            .filter(borrower=enterprise, status__lt=LoanStatus.WITHDRAWN)
            .select_related("bank")
            .order_by("-pk")[:STATUS_ROWS]
        ),
        "service_requests": list(
            ServiceRequest.objects.restrict(user, Action.VIEW)
            .filter(enterprise=enterprise)
            .select_related("park")
            .order_by("-pk")[:STATUS_ROWS]
        ),
    }


def member_ids(park: Park) -> QuerySet[ParkMembership, Any]:
    return ParkMembership.objects.filter(park=park, left_on__isnull=True).values("enterprise_id")


def park_counts(*, user: User, park: Park) -> dict[str, int]:
    """What awaits the park's staff: open service requests, new (open) demands of its enterprises and valuations
    of its enterprises waiting for sign-off."""
    members = member_ids(park)
    return {
        "members": ParkMembership.objects.filter(park=park, left_on__isnull=True).count(),
        "open_requests": ServiceRequest.objects.restrict(user, Action.VIEW)
        .filter(park=park, status__in=OPEN_SERVICE_REQUEST_STATUSES)
        .count(),
        "new_demands": Demand.objects.restrict(user, Action.VIEW)
        .filter(Q(park=park) | Q(enterprise_id__in=members), status=DemandStatus.OPEN)
        .count(),
        "pending_valuations": Valuation.objects.restrict(user, Action.VIEW)
        .filter(enterprise_id__in=members, status=ValuationStatus.SUBMITTED)
        .count(),
    }


def centre_summary(*, user: User, park: Park, role: str, today: datetime.date) -> dict[str, Any]:
    """Everything the centre page and its API show."""
    enterprise = user_enterprise(user) if role == ROLE_ENTERPRISE else None
    summary: dict[str, Any] = {
        "park": park,
        "role": role,
        "enterprise": enterprise,
        "events": list(upcoming_events(park=park, today=today)[:EVENTS]),
        "policies": list(park_policies(park=park, enterprise=enterprise, today=today)[:POLICIES]),
        "matches": [],
        "status": {"valuations": [], "demands": [], "filings": [], "loans": [], "service_requests": []},
        "counts": None,
    }
    if enterprise is not None:
        summary["matches"] = top_matches(user=user, enterprise=enterprise)
        summary["status"] = enterprise_status(user=user, enterprise=enterprise)
    if role in (ROLE_PARK_ADMIN, ROLE_GOVERNMENT):
        summary["counts"] = park_counts(user=user, park=park)
    return summary


def service_request_list(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[ServiceRequest]:
    qs = ServiceRequest.objects.restrict(user, Action.VIEW).select_related("park", "enterprise", "handled_by")
    filters = filters or {}
    if filters.get("status") in ServiceRequestStatus.values:
        qs = qs.filter(status=filters["status"])
    if filters.get("kind") in ServiceRequestKind.values:
        qs = qs.filter(kind=filters["kind"])
    park_id = filters.get("park")
    if park_id:
        qs = qs.filter(park_id=park_id)
    return qs


def service_request_get(*, user: User, pk: int, action: str = Action.VIEW) -> ServiceRequest:
    return ServiceRequest.objects.restrict(user, action).select_related("park", "enterprise").get(pk=pk)
