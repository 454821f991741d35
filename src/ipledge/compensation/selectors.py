"""Reads of the risk-compensation app: every list starts from `restrict(user, action)`; fund figures for monitoring."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, QuerySet, Sum

from ipledge.core.context import business_date
from ipledge.core.models import User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for

from . import ledger
from .choices import OPEN_ENROLMENT_STATUSES, ClaimStatus, PartyRole, PaymentStatus
from .models import (
    Claim,
    Enrolment,
    Fund,
    FundAlert,
    JournalEntry,
    Payment,
    SchemeVersion,
    StressRun,
    _fund_books_q,
)


def fund_list(*, user: User) -> QuerySet[Fund]:
    return Fund.objects.restrict(user, Action.VIEW).select_related("manager", "region")


def may_read_books(fund: Fund, user: User) -> bool:
    """Balances, ledger and stress tests: the manager's tree, the sponsors and the region's government."""
    scope = scope_for(user)
    if scope is None:
        return False
    return scope.is_platform or Fund.objects.filter(_fund_books_q(scope, ""), pk=fund.pk).exists()


def may_manage(fund: Fund, user: User, action: str = Action.CHANGE) -> bool:
    return Fund.objects.restrict(user, action).filter(pk=fund.pk).exists()


def scheme_versions(*, user: User, fund: Fund) -> QuerySet[SchemeVersion]:
    return (
        SchemeVersion.objects.restrict(user, Action.VIEW)
        .filter(scheme__fund=fund)
        .select_related("scheme", "prepared_by", "approved_by")
        .order_by("scheme__code", "-number")
    )


def enrolment_list(*, user: User) -> QuerySet[Enrolment]:
    return Enrolment.objects.restrict(user, Action.VIEW).select_related(
        "fund", "loan", "borrower", "scheme_version__scheme", "loan__bank"
    )


def claim_list(*, user: User) -> QuerySet[Claim]:
    return Claim.objects.restrict(user, Action.VIEW).select_related("fund", "loan", "loan__bank", "enrolment__borrower")


def payment_list(*, user: User) -> QuerySet[Payment]:
    return Payment.objects.restrict(user, Action.VIEW).select_related("fund", "claim", "payer", "payee")


def entry_list(*, user: User) -> QuerySet[JournalEntry]:
    return (
        JournalEntry.objects.restrict(user, Action.VIEW)
        .select_related("fund", "claim", "posted_by")
        .prefetch_related("lines__account__party")
    )


def alert_list(*, user: User) -> QuerySet[FundAlert]:
    return FundAlert.objects.restrict(user, Action.VIEW).select_related("fund")


def stress_runs(*, user: User, fund: Fund) -> QuerySet[StressRun]:
    return StressRun.objects.restrict(user, Action.VIEW).filter(fund=fund)


@dataclass(frozen=True)
class FundFigures:
    """A fund's monitoring figures (M3): balance, coverage, leverage, claims, losses and idleness."""

    fund_id: int
    as_of: datetime.date
    capital: Money
    contributed: Money
    balance: Money
    loans_covered: int
    covered_amount: Money
    capacity: Money
    leverage_used: Decimal  # covered ÷ capital
    utilisation: Decimal  # covered ÷ (capital × leverage cap)
    claims_filed: int
    claims_open: int
    claims_cleared: int
    advanced: Money  # the fund's advance payments, net of reversals
    recovered: Money  # recoveries applied to claims
    fund_losses: Money  # the fund's final shares of cleared claims
    final_losses: Money  # final losses of cleared claims, all parties
    ever_covered: Money
    loss_rate: Decimal  # final losses ÷ everything ever covered
    last_claim_on: datetime.date | None
    days_since_activity: int
    idle: bool

    def as_alert_data(self) -> dict[str, Any]:
        return {
            "balance": str(self.balance.amount),
            "covered_amount": str(self.covered_amount.amount),
            "utilisation": str(self.utilisation.quantize(Decimal("0.0001"))),
            "leverage_used": str(self.leverage_used.quantize(Decimal("0.01"))),
            "days_since_activity": self.days_since_activity,
            "last_claim_on": self.last_claim_on.isoformat() if self.last_claim_on else None,
        }


def _ratio(numerator: int, denominator: int) -> Decimal:
    return Decimal(numerator) / Decimal(denominator) if denominator else Decimal(0)


def fund_figures(fund: Fund, *, today: datetime.date | None = None) -> FundFigures:
    today = today or business_date()
    open_enrolments = Enrolment.objects.filter(fund=fund, status__in=OPEN_ENROLMENT_STATUSES).aggregate(
        n=Count("pk"), total=Sum("covered_amount")
    )
    ever = ledger.as_fen(Enrolment.objects.filter(fund=fund).aggregate(t=Sum("covered_amount"))["t"])
    covered = ledger.as_fen(open_enrolments["total"])
    claims = Claim.objects.filter(fund=fund)
    live = claims.exclude(status__in=[ClaimStatus.REJECTED, ClaimStatus.WITHDRAWN])
    counts = live.aggregate(
        filed=Count("pk"),
        last=Max("filed_on"),
        recovered=Sum("recoveries_total"),
    )
    cleared = live.filter(status=ClaimStatus.CLEARED).aggregate(
        n=Count("pk"), fund=Sum("fund_committed"), loss=Sum("final_loss")
    )
    advanced = sum(
        p.amount.fen
        for p in Payment.objects.filter(
            fund=fund, payer_role=PartyRole.FUND, status=PaymentStatus.PAID, purpose="advance"
        )
    )
    contributed = sum(
        p.amount.fen for p in Payment.objects.filter(fund=fund, purpose="contribution", status=PaymentStatus.PAID)
    )
    capacity = int(Decimal(fund.capital.fen) * fund.leverage_cap)
    last = counts["last"]
    since = (today - (last or fund.established_on)).days
    utilisation = _ratio(covered, capacity)
    open_claims = live.exclude(status=ClaimStatus.CLEARED).count()
    return FundFigures(
        fund_id=fund.pk,
        as_of=today,
        capital=fund.capital,
        contributed=Money.from_fen(contributed),
        balance=Money.from_fen(ledger.cash_fen(fund)),
        loans_covered=open_enrolments["n"] or 0,
        covered_amount=Money.from_fen(covered),
        capacity=Money.from_fen(capacity),
        leverage_used=_ratio(covered, fund.capital.fen),
        utilisation=utilisation,
        claims_filed=counts["filed"] or 0,
        claims_open=open_claims,
        claims_cleared=cleared["n"] or 0,
        advanced=Money.from_fen(advanced),
        recovered=Money.from_fen(ledger.as_fen(counts["recovered"])),
        fund_losses=Money.from_fen(ledger.as_fen(cleared["fund"])),
        final_losses=Money.from_fen(ledger.as_fen(cleared["loss"])),
        ever_covered=Money.from_fen(ever),
        loss_rate=_ratio(ledger.as_fen(cleared["loss"]), ever),
        last_claim_on=last,
        days_since_activity=since,
        idle=since >= fund.idle_days and utilisation < fund.idle_utilisation,
    )


def claim_ledger(claim: Claim) -> dict[str, Any]:
    """The claim's positions by account, for the claim page and the conservation checks."""
    return {f"{kind}:{role}:{party or ''}": fen for (kind, role, party), fen in ledger.claim_positions(claim).items()}
