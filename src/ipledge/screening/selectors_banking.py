"""Reads of the banking area (白名单推送与意向性授信额度): the whitelist as a bank receives it, with each entry's
explanation and the bank's own latest decision; credit decisions; intended credit lines with their utilisation.

Every read starts from `restrict(user, action)`. "Current" means the approved version a whitelist points to
(`Whitelist.current_version`), so a bank never receives a superseded list as if it were in force.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Exists, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from ipledge.core.context import business_date
from ipledge.core.models import Region, User
from ipledge.core.money import Money, MoneyField
from ipledge.core.scoping import Action

from .choices import AllocationStatus, DecisionOutcome, LineStatus, VersionStatus
from .explain import characteristic_label, describe_reason
from .models import CreditDecision, IntendedCreditLine, LineAllocation, Subscription, WhitelistEntry

# ---------------------------------------------------------------------------
# The whitelist as delivered to banks
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryFilters:
    park_id: int | None = None
    region: Region | None = None
    min_score: Decimal | None = None
    decided: bool | None = None  # True: the caller's bank decided; False: not yet; None: both
    approved_since: datetime.datetime | None = None


def current_entries(*, user: Any) -> QuerySet[WhitelistEntry]:
    """Included entries of the current approved versions within the user's reach."""
    return WhitelistEntry.objects.restrict(user, Action.VIEW).filter(
        included=True,
        version__status=VersionStatus.APPROVED,
        version__whitelist__current_version_id=F("version_id"),
    )


def bank_entries(*, user: Any, filters: EntryFilters | None = None) -> QuerySet[WhitelistEntry]:
    """The bank's whitelist view: each entry with its enterprise, park and version, and the latest decision the
    caller may see on it (for a bank: its own tree's) as `latest_*` annotations."""
    filters = filters or EntryFilters()
    decisions = (
        CreditDecision.objects.restrict(user, Action.VIEW).filter(entry=OuterRef("pk")).order_by("-decided_on", "-pk")
    )
    qs = (
        current_entries(user=user)
        .select_related("enterprise", "version", "version__whitelist", "version__whitelist__park", "version__scorecard")
        .annotate(
            decided=Exists(decisions),
            latest_decision_id=Subquery(decisions.values("pk")[:1]),
            latest_outcome=Subquery(decisions.values("outcome")[:1]),
            latest_amount=Subquery(decisions.values("amount")[:1], output_field=MoneyField()),
            latest_decided_on=Subquery(decisions.values("decided_on")[:1]),
        )
        .order_by("-score", "version__whitelist__park__name", "enterprise__name", "pk")
    )
    if filters.park_id is not None:
        qs = qs.filter(version__whitelist__park_id=filters.park_id)
    if filters.region is not None:
        qs = qs.filter(version__whitelist__region_code__startswith=filters.region.prefix)
    if filters.min_score is not None:
        qs = qs.filter(score__gte=filters.min_score)
    if filters.decided is not None:
        qs = qs.filter(decided=filters.decided)
    if filters.approved_since is not None:
        qs = qs.filter(version__decided_at__gte=filters.approved_since)
    return qs


def outcome_label(outcome: str | None) -> str:
    return str(DecisionOutcome(outcome).label) if outcome in DecisionOutcome.values else ""


# ---------------------------------------------------------------------------
# Explanations
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PointsRow:
    name: str
    label: str
    value: str
    points: Decimal


@dataclass(frozen=True)
class Explanation:
    score: Decimal | None
    base_points: Decimal | None
    rows: list[PointsRow] = field(default_factory=list)
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (code, words)


def _labels(definition: Any) -> tuple[dict[str, str], Decimal | None]:
    if not isinstance(definition, dict):
        return {}, None
    labels = {
        str(c.get("name")): str(c.get("label") or "")
        for c in definition.get("characteristics") or ()
        if isinstance(c, dict)
    }
    base = definition.get("base_points")
    return labels, (_decimal(base) if base is not None else None)


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError:
        return Decimal(0)


def explain_entry(entry: WhitelistEntry) -> Explanation:
    """Points per characteristic (in the scorecard's order, labelled as the scorecard labels them), the bin each
    value fell in, and the reasons in words, from the entry's stored `points`, `values` and `reasons`."""
    scorecard = entry.version.scorecard
    labels, base = _labels(scorecard.definition if scorecard is not None else None)
    points = entry.points if isinstance(entry.points, dict) else {}
    values = entry.values if isinstance(entry.values, dict) else {}
    order = [name for name in labels if name in points] + [name for name in points if name not in labels]
    rows = [
        PointsRow(
            name=name,
            label=characteristic_label(name, labels.get(name, "")),
            value=str(values.get(name, "")),
            points=_decimal(points[name]),
        )
        for name in order
    ]
    reasons = [(str(code), describe_reason(str(code))) for code in (entry.reasons or [])]
    return Explanation(score=entry.score, base_points=base, rows=rows, reasons=reasons)


# ---------------------------------------------------------------------------
# Subscriptions and decisions
# ---------------------------------------------------------------------------


def subscription_list(*, user: Any, active: bool | None = None) -> QuerySet[Subscription]:
    qs = Subscription.objects.restrict(user, Action.VIEW).select_related("bank", "park", "region", "created_by")
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def decision_list(*, user: Any) -> QuerySet[CreditDecision]:
    return CreditDecision.objects.restrict(user, Action.VIEW).select_related(
        "bank",
        "enterprise",
        "entry",
        "entry__version",
        "entry__version__whitelist",
        "entry__version__whitelist__park",
        "allocation",
        "allocation__line",
        "decided_by",
    )


def drawable_allocations(*, user: User, entry: WhitelistEntry) -> QuerySet[LineAllocation]:
    """Active allocations of the entry's enterprise on active lines of the user's bank tree (what a grant to it may
    draw on); the service checks the decision date against each line's period."""
    org = getattr(user, "organisation", None)
    if org is None:
        return LineAllocation.objects.none()
    return (
        LineAllocation.objects.restrict(user, Action.VIEW)
        .filter(
            enterprise_id=entry.enterprise_id,
            status=AllocationStatus.ACTIVE,
            line__status=LineStatus.ACTIVE,
            line__bank__tree_path__startswith=org.tree_path,
        )
        .select_related("line", "line__park")
        .order_by("line__valid_to", "pk")
    )


# ---------------------------------------------------------------------------
# Intended credit lines
# ---------------------------------------------------------------------------


def line_list(*, user: Any) -> QuerySet[IntendedCreditLine]:
    """Lines within reach, each with `utilised_total` (what banks drew on its allocations, active or released)."""
    return (
        IntendedCreditLine.objects.restrict(user, Action.VIEW)
        .select_related("bank", "park")
        .annotate(
            utilised_total=Coalesce(Sum("allocations__utilised"), Value(0), output_field=MoneyField()),
        )
    )


@dataclass(frozen=True)
class LineFigures:
    amount: Money
    allocated: Money
    utilised: Money
    remaining: Money  # still to allocate
    unused_allocated: Money  # set aside for enterprises, not yet drawn on
    days_to_expiry: int  # negative once past the last valid day
    allocated_pct: Decimal
    utilised_pct: Decimal


def _pct(part: Money, whole: Money) -> Decimal:
    if whole.fen <= 0:
        return Decimal(0)
    return (Decimal(part.fen) * 100 / Decimal(whole.fen)).quantize(Decimal("0.1"))


def line_figures(line: IntendedCreditLine, *, today: datetime.date | None = None) -> LineFigures:
    today = today or business_date()
    utilised = getattr(line, "utilised_total", None)
    if not isinstance(utilised, Money):
        total = LineAllocation.objects.filter(line=line).aggregate(total=Sum("utilised"))["total"]
        utilised = total if isinstance(total, Money) else Money.from_fen(int(total or 0))
    return LineFigures(
        amount=line.amount,
        allocated=line.allocated,
        utilised=utilised,
        remaining=line.amount - line.allocated,
        unused_allocated=line.allocated - utilised,
        days_to_expiry=(line.valid_to - today).days,
        allocated_pct=_pct(line.allocated, line.amount),
        utilised_pct=_pct(utilised, line.amount),
    )


def line_allocations(*, user: Any, line: IntendedCreditLine) -> QuerySet[LineAllocation]:
    return (
        LineAllocation.objects.restrict(user, Action.VIEW)
        .filter(line=line)
        .select_related("enterprise", "entry", "allocated_by")
        .order_by("status", "-allocated_on", "-pk")
    )


def allocatable_entries(*, line: IntendedCreditLine) -> QuerySet[WhitelistEntry]:
    """Entries the park may allocate this line to: included in the current approved version of one of the line's
    park's whitelists, without an active allocation on this line (the service checks the IPC or brand rule)."""
    taken = LineAllocation.objects.filter(line=line, status=AllocationStatus.ACTIVE).values("enterprise_id")
    return (
        WhitelistEntry.objects.filter(
            included=True,
            version__status=VersionStatus.APPROVED,
            version__whitelist__park_id=line.park_id,
            version__whitelist__current_version_id=F("version_id"),
        )
        .exclude(enterprise_id__in=taken)
        .select_related("enterprise", "version__whitelist")
        .order_by("-score", "enterprise__name")
    )
