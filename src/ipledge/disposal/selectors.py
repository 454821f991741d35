"""Reads of the disposal pages (质物处置). Every list starts from `restrict(user, action)`; the one exception is the
public auction listing, which reads lots without a user and hands the page only the public fields (no bidder)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from ipledge.core.choices import OrganisationKind
from ipledge.core.models import User
from ipledge.core.scoping import Action, scope_for
from ipledge.lending.choices import NON_PERFORMING_CLASSES, LoanStatus
from ipledge.lending.models import Loan
from ipledge.registration.choices import RegistrationStatus

from .choices import CaseStatus, LotStatus, Route, SessionStatus
from .models import AuctionSession, Bid, BidderRegistration, CaseRight, DisposalCase, Lot

# Sold or unsold lots stay on the public listing this long after they closed (成交公示).
PUBLIC_RESULTS_DAYS = 30


def case_list(*, user: User) -> QuerySet[DisposalCase]:
    return DisposalCase.objects.restrict(user, Action.VIEW).select_related(
        "loan", "bank", "pledgor", "platform", "buyer"
    )


def may_act_on_case(case: DisposalCase, user: Any, action: str = Action.CHANGE) -> bool:
    """An officer of the case's bank (what `services._require_bank` accepts), for the action."""
    scope = scope_for(user)
    if scope is None or not (scope.is_platform or scope.kind == OrganisationKind.BANK):
        return False
    return DisposalCase.objects.restrict(user, action).filter(pk=case.pk).exists()


def runs_platform(user: Any, platform_id: int | None) -> bool:
    """Whether the user runs auction sessions of this platform (what `services.payment_confirm` accepts)."""
    if platform_id is None:
        return False
    return AuctionSession.objects.restrict(user, Action.CHANGE).filter(platform_id=platform_id).exists()


def openable_loans(*, user: User) -> QuerySet[Loan]:
    """The bank's defaulted or non-performing (次级 or worse) loans with an active pledge registration, each with
    the pk of its open disposal case (if any) as `open_case_id`."""
    open_cases = DisposalCase.objects.filter(loan=OuterRef("pk")).exclude(status=CaseStatus.CLOSED)
    return (
        Loan.objects.restrict(user, Action.CHANGE)
        .filter(Q(status=LoanStatus.DEFAULTED) | Q(classification__in=NON_PERFORMING_CLASSES))
        .filter(pledge_registration__status=RegistrationStatus.ACTIVE)
        .annotate(has_open_case=Exists(open_cases))
        .select_related("borrower", "bank", "pledge_registration")
        .order_by("has_open_case", "-pk")
    )


def without_open_case(loans: QuerySet[Loan]) -> QuerySet[Loan]:
    return loans.exclude(pk__in=DisposalCase.objects.exclude(status=CaseStatus.CLOSED).values("loan_id"))


def open_cases_by_loan(*, user: User, loan_ids: list[int]) -> dict[int, DisposalCase]:
    cases = case_list(user=user).filter(loan_id__in=loan_ids).exclude(status=CaseStatus.CLOSED)
    return {case.loan_id: case for case in cases}


def case_rights(case: DisposalCase) -> QuerySet[CaseRight]:
    """The rights of a case the caller already sees (so, like the case, readable by everyone who reads the case)."""
    return case.rights.select_related("ip_right").order_by("pk")


def session_list(*, user: User) -> QuerySet[AuctionSession]:
    return (
        AuctionSession.objects.restrict(user, Action.VIEW).select_related("platform").annotate(lot_count=Count("lots"))
    )


def session_lots(session: AuctionSession) -> QuerySet[Lot]:
    return (
        Lot.objects.filter(session=session)
        .select_related("session", "case", "winner")
        .prefetch_related(Prefetch("case__rights", queryset=CaseRight.objects.select_related("ip_right")))
        .order_by("number")
    )


def listable_cases(*, user: User, session: AuctionSession) -> QuerySet[DisposalCase]:
    """Approved online-auction cases routed to the session's platform, waiting for a lot."""
    return (
        DisposalCase.objects.restrict(user, Action.VIEW)
        .filter(status=CaseStatus.ROUTE_APPROVED, route=Route.AUCTION, platform_id=session.platform_id)
        .select_related("pledgor")
        .prefetch_related("rights")
        .order_by("opened_on", "pk")
    )


def bid_history(lot: Lot) -> QuerySet[Bid]:
    """The accepted bids of a lot, newest first. Amounts and aliases are public on the lot page; who stands behind
    an alias is shown only to those `identities(lot, user)` returns names for."""
    return Bid.objects.filter(lot=lot).select_related("registration").order_by("-sequence")


def identities(lot: Lot, user: Any) -> dict[int, str]:
    """Bidder names by registration pk: the platform running the lot and the case's bank read who bid (their
    `BidderRegistration` scope); everyone else sees aliases only."""
    scope = scope_for(user)
    if scope is None:
        return {}
    if not (scope.is_platform or scope.kind in (OrganisationKind.DISPOSAL_PLATFORM, OrganisationKind.BANK)):
        return {}
    return dict(
        BidderRegistration.objects.restrict(user, Action.VIEW).filter(lot=lot).values_list("pk", "bidder__name")
    )


def lot_bidders(lot: Lot, user: Any) -> QuerySet[BidderRegistration]:
    """The registrations of a lot the user reaches: all of them for the platform and the case's bank, its own for a
    bidder."""
    return BidderRegistration.objects.restrict(user, Action.VIEW).filter(lot=lot).select_related("bidder")


def own_registration(lot: Lot, user: Any) -> BidderRegistration | None:
    org = getattr(user, "organisation", None)
    if org is None:
        return None
    return BidderRegistration.objects.restrict(user, Action.VIEW).filter(lot=lot, bidder=org).first()


def public_lots(*, now: datetime.datetime | None = None) -> QuerySet[Lot]:
    """Lots shown on the public listing (拍卖公示): those on sale in sessions not cancelled, and those that closed
    within `PUBLIC_RESULTS_DAYS`. No user, so no `restrict()`: the template receives only public fields."""
    now = now or timezone.now()
    recent = now - datetime.timedelta(days=PUBLIC_RESULTS_DAYS)
    return (
        Lot.objects.exclude(session__status=SessionStatus.CANCELLED)
        .filter(Q(status=LotStatus.LISTED) | Q(status__in=[LotStatus.SOLD, LotStatus.UNSOLD], closed_at__gte=recent))
        .select_related("session__platform")
        .prefetch_related(Prefetch("case__rights", queryset=CaseRight.objects.select_related("ip_right")))
        .order_by("-session__starts_at", "session_id", "number")
    )
