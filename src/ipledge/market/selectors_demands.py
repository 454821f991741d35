"""Reads of the demand library (融资项目库), the bank's leads (线索) and the park's unmet demands; each starts from
`restrict(user, "view")`.

- `demand_list`: the demands within reach (the enterprise its own, a park its member enterprises', an IP office its
  region's, a bank those shared with it), each annotated with its best visible match (a bank sees only its own
  products' figures, never a competitor's) and the number of eligible live products.
- `ranked_matches`: one demand's matches the user may see, split into the eligible live products in rank order and
  the products that do not fit, each with its reasons in words (`market.explain`).
- `lead_list`: for a bank, the eligible matches of its tree's live products on demands shared with it, best first.
- `unmet_list`: a park's member enterprises' active demands with no eligible product, or with no bank answer yet,
  and how long each has waited.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.choices import IPKind, LegalStatus
from ipledge.registry.models import IPRight

from .choices import ACTIVE_DEMAND_STATUSES, DemandStatus, LeadResponse, ProductStatus
from .models import Demand, Match


def visible_matches(user: Any) -> QuerySet[Match]:
    return Match.objects.restrict(user, Action.VIEW)


def _live_eligible(qs: QuerySet[Match]) -> QuerySet[Match]:
    return qs.filter(eligible=True, product__status=ProductStatus.LIVE)


def _best(user: Any) -> QuerySet[Match]:
    return _live_eligible(visible_matches(user)).filter(demand_id=OuterRef("pk")).order_by("rank", "-score", "pk")


# ---------------------------------------------------------------------------
# The demand library
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemandFilters:
    enterprise_id: int | None = None
    park_id: int | None = None
    status: str | None = None
    purpose: str | None = None
    active: bool | None = None
    q: str = ""


def demand_list(*, user: Any, filters: DemandFilters | None = None) -> QuerySet[Demand]:
    best = _best(user)
    qs = (
        Demand.objects.restrict(user, Action.VIEW)
        .select_related("enterprise", "park", "loan")
        .annotate(
            best_product_name=Subquery(best.values("product__name")[:1]),
            best_bank_name=Subquery(best.values("product__bank__name")[:1]),
            best_score=Subquery(best.values("score")[:1]),
            eligible_count=Coalesce(
                Subquery(
                    _live_eligible(visible_matches(user))
                    .filter(demand_id=OuterRef("pk"))
                    .order_by()
                    .values("demand_id")
                    .annotate(n=Count("pk"))
                    .values("n")[:1],
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
        )
    )
    f = filters or DemandFilters()
    if f.enterprise_id is not None:
        qs = qs.filter(enterprise_id=f.enterprise_id)
    if f.park_id is not None:
        qs = qs.filter(park_id=f.park_id)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.purpose:
        qs = qs.filter(purpose=f.purpose)
    if f.active is True:
        qs = qs.filter(status__in=ACTIVE_DEMAND_STATUSES)
    elif f.active is False:
        qs = qs.exclude(status__in=ACTIVE_DEMAND_STATUSES)
    if f.q.strip():
        text = f.q.strip()
        qs = qs.filter(Q(reference__icontains=text) | Q(enterprise__name__icontains=text))
    return qs


def demand_get(*, user: Any, pk: int) -> Demand:
    """One demand within reach with its annotations (Demand.DoesNotExist otherwise; views use scoped_get first)."""
    return demand_list(user=user).get(pk=pk)


# ---------------------------------------------------------------------------
# One demand: rights, matches, timeline
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferedRight:
    right: IPRight
    kind_label: str
    remaining_years: Decimal | None  # None: no term end recorded
    remaining_days: int | None
    valid_today: bool
    valuation: Any | None  # the latest valuation the user may see


def _remaining(right: IPRight, today: datetime.date) -> tuple[Decimal | None, int | None]:
    if right.term_end is None:
        return None, None
    days = (right.term_end - today).days
    return (Decimal(days) / Decimal("365.25")).quantize(Decimal("0.1")), days


def kind_label(right: IPRight) -> str:
    if right.kind == IPKind.PATENT and right.patent_type:
        return f"{right.get_patent_type_display()}{right.get_kind_display()}"
    return str(right.get_kind_display())


def offered_rights(*, user: Any, demand: Demand, today: datetime.date | None = None) -> list[OfferedRight]:
    from ipledge.valuation.models import Valuation

    today = today or business_date()
    rights = [dr.ip_right for dr in demand.rights.select_related("ip_right").order_by("ip_right__number")]
    latest: dict[int, Any] = {}
    visible = Valuation.objects.restrict(user, Action.VIEW).filter(ip_right_id__in=[r.pk for r in rights])
    for valuation in visible.order_by("ip_right_id", "-version", "-pk"):
        latest.setdefault(valuation.ip_right_id, valuation)
    out: list[OfferedRight] = []
    for right in rights:
        years, days = _remaining(right, today)
        out.append(
            OfferedRight(
                right=right,
                kind_label=kind_label(right),
                remaining_years=years,
                remaining_days=days,
                valid_today=right.legal_status == LegalStatus.VALID and (days is None or days >= 0),
                valuation=latest.get(right.pk),
            )
        )
    return out


@dataclass(frozen=True)
class RankedMatch:
    match: Match
    reasons: list[dict[str, Any]]  # {"text", "passed", "code"}
    failed: list[dict[str, Any]] = field(default_factory=list)  # the hard rules that did not pass


def reasons_text(match: Match) -> list[dict[str, Any]]:
    from ipledge.market.explain import reasons_for_display

    return list(reasons_for_display(match))


def ranked_matches(*, user: Any, demand: Demand) -> tuple[list[RankedMatch], list[RankedMatch]]:
    """(eligible live products in rank order, live products that do not fit) among the matches the user sees."""
    qs = (
        visible_matches(user)
        .filter(demand=demand, product__status=ProductStatus.LIVE)
        .select_related("product", "product__bank", "product_version", "responded_by")
    )
    fits: list[RankedMatch] = []
    misses: list[RankedMatch] = []
    for match in qs.order_by("-eligible", "rank", "-score", "pk"):
        reasons = reasons_text(match)
        failed = [r for r in reasons if not r.get("passed") and not r.get("soft")]
        row = RankedMatch(match=match, reasons=reasons, failed=failed)
        (fits if match.eligible else misses).append(row)
    return fits, misses


def lead_responses(*, user: Any, demand: Demand) -> QuerySet[Match]:
    """The banks' answers on this demand the user may see (the enterprise sees every bank's)."""
    return (
        visible_matches(user)
        .filter(demand=demand)
        .exclude(response=LeadResponse.NONE)
        .select_related("product", "product__bank", "responded_by")
        .order_by("-responded_at", "pk")
    )


@dataclass(frozen=True)
class TimelineStep:
    status: str
    label: str
    at: datetime.datetime
    by: str


def status_timeline(demand: Demand) -> list[TimelineStep]:
    """Each status the demand passed through, oldest first: its row history (simple-history) for the saves, and the
    matching runs' audit events for the open ⇄ matched moves (matching updates the status in bulk, without history).
    """
    from ipledge.core.models import AuditEvent

    labels = dict(DemandStatus.choices)
    points: list[tuple[datetime.datetime, int, str, str]] = []
    for record in demand.history.order_by("history_date", "history_id").select_related("history_user"):
        user = record.history_user
        points.append((record.history_date, 0, record.status, user.get_username() if user is not None else "system"))
    runs = AuditEvent.objects.filter(
        object_type=Demand._meta.label_lower, object_id=str(demand.pk), action="demand.match"
    ).order_by("occurred_at", "pk")
    for event in runs.only("occurred_at", "changes"):
        extra = (event.changes or {}).get("extra") or {}
        if extra.get("to_matched"):
            points.append((event.occurred_at, 1, DemandStatus.MATCHED, "system"))
        elif extra.get("to_open"):
            points.append((event.occurred_at, 1, DemandStatus.OPEN, "system"))
    steps: list[TimelineStep] = []
    for at, _order, status, by in sorted(points, key=lambda p: (p[0], p[1])):
        if steps and steps[-1].status == status:
            continue
        steps.append(TimelineStep(status=status, label=str(labels.get(status, status)), at=at, by=by))
    return steps


# ---------------------------------------------------------------------------
# Leads (线索)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadFilters:
    product_id: int | None = None
    response: str | None = None  # "" = no answer yet
    park_id: int | None = None
    active: bool | None = True


def is_bank_user(user: Any) -> bool:
    scope = scope_for(user)
    return scope is not None and (scope.is_platform or scope.kind == OrganisationKind.BANK)


def lead_list(*, user: Any, filters: LeadFilters | None = None) -> QuerySet[Match]:
    """Eligible matches of the bank tree's live products on demands shared with it, best score first."""
    if not is_bank_user(user):
        return Match.objects.none()
    qs = (
        _live_eligible(visible_matches(user))
        .select_related(
            "demand",
            "demand__enterprise",
            "demand__park",
            "product",
            "product__bank",
            "product_version",
            "responded_by",
        )
        .order_by("-score", "demand__created_at", "pk")
    )
    f = filters or LeadFilters()
    if f.product_id is not None:
        qs = qs.filter(product_id=f.product_id)
    if f.response is not None:
        qs = qs.filter(response=f.response)
    if f.park_id is not None:
        qs = qs.filter(demand__park_id=f.park_id)
    if f.active is True:
        qs = qs.filter(demand__status__in=ACTIVE_DEMAND_STATUSES)
    return qs


def lead_get(*, user: Any, pk: int) -> Match:
    """One match the bank reaches (Match.DoesNotExist otherwise: views answer 404)."""
    return (
        visible_matches(user)
        .select_related(
            "demand",
            "demand__enterprise",
            "demand__park",
            "product",
            "product__bank",
            "product_version",
            "responded_by",
        )
        .get(pk=pk)
    )


# ---------------------------------------------------------------------------
# Unmet demands (for the park)
# ---------------------------------------------------------------------------


def may_see_unmet(user: Any) -> bool:
    scope = scope_for(user)
    return scope is not None and (
        scope.is_platform or scope.kind in (OrganisationKind.PARK_ADMIN, OrganisationKind.IP_OFFICE)
    )


@dataclass(frozen=True)
class UnmetSummary:
    active: int
    unmet: int
    no_product: int
    no_response: int
    average_days: Decimal | None
    amount: Money


def unmet_list(*, user: Any, park_id: int | None = None) -> QuerySet[Demand]:
    """Active demands within reach with no eligible live product (`no_product`) or no bank answer yet, oldest
    first; each annotated with `has_product` and `has_response`."""
    if not may_see_unmet(user):
        return Demand.objects.none()
    eligible = Match.objects.filter(demand_id=OuterRef("pk"), eligible=True, product__status=ProductStatus.LIVE)
    answered = eligible.exclude(response=LeadResponse.NONE)
    qs = (
        demand_list(user=user, filters=DemandFilters(park_id=park_id, active=True))
        .annotate(has_product=Exists(eligible), has_response=Exists(answered))
        .filter(Q(has_product=False) | Q(has_response=False))
        .order_by("created_at", "pk")
    )
    return qs


def unmet_summary(*, user: Any, park_id: int | None = None, today: datetime.date | None = None) -> UnmetSummary:
    today = today or business_date()
    active = demand_list(user=user, filters=DemandFilters(park_id=park_id, active=True))
    rows = list(unmet_list(user=user, park_id=park_id).values("created_at", "has_product", "amount"))  # type: ignore[misc]
    days = [max(0, (today - r["created_at"].date()).days) for r in rows]
    total = Money.from_fen(sum(int(r["amount"].fen if isinstance(r["amount"], Money) else r["amount"]) for r in rows))
    return UnmetSummary(
        active=active.count() if may_see_unmet(user) else 0,
        unmet=len(rows),
        no_product=sum(1 for r in rows if not r["has_product"]),
        no_response=sum(1 for r in rows if r["has_product"]),
        average_days=(Decimal(sum(days)) / len(days)).quantize(Decimal("0.1")) if days else None,
        amount=total,
    )


def days_waiting(demand: Demand, today: datetime.date | None = None) -> int:
    today = today or business_date()
    return max(0, (today - demand.created_at.date()).days)
