"""Reads of the typical-case library (典型案例) and of the public showcase (成效展示) of key parks.

Signed-in reads start from `TypicalCase.objects.restrict(user, "view")`: an organisation sees its own nominations,
an official the cases of its region, everyone the published ones. The showcase is read by anonymous visitors, for
whom `restrict()` answers nothing, so its reads name exactly what is public instead: published cases, measures marked
public (`MeasureEntry.is_public`), active key / demonstration park designations (重点 / 示范园区) and aggregate
pledge figures of those parks. Nothing else leaves through the showcase.
"""

from __future__ import annotations

import datetime
import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import ExtractYear

from ipledge.core.models import Region, User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.registration.models import PledgeRegistration
from ipledge.registry.models import Park

from .choices import CaseCategory, CaseStatus, DesignationStatus
from .models import KeyParkDesignation, MeasureEntry, TypicalCase
from .services.cases import REVIEWING_LEVELS

RESULT_YEARS = 3  # the showcase shows a park's last three years: enough to see a trend, few enough for a phone
GOAL_GROWTH = Decimal("0.20")  # the 百园万企 goal: projects and amount both up 20 % on the year before
# Cases that took part in the year's selection (ranked by score); nominated ones wait, withdrawn ones left.
RANKED_STATUSES = (CaseStatus.UNDER_REVIEW, CaseStatus.SELECTED, CaseStatus.REJECTED, CaseStatus.PUBLISHED)


@dataclass(frozen=True)
class CaseFilters:
    year: int | None = None
    category: str = ""
    region: str = ""  # a region code prefix (2, 4 or 6 digits)
    status: str = ""
    q: str = ""


def _with_related(qs: QuerySet[TypicalCase]) -> QuerySet[TypicalCase]:
    return qs.select_related("park", "park__region", "enterprise", "bank", "nominated_by_org", "reviewer")


def visible_cases(*, user: User | Any) -> QuerySet[TypicalCase]:
    return _with_related(TypicalCase.objects.restrict(user, Action.VIEW))


def case_list(*, user: User | Any, filters: CaseFilters | None = None) -> QuerySet[TypicalCase]:
    filters = filters or CaseFilters()
    qs = visible_cases(user=user)
    if filters.year:
        qs = qs.filter(year=filters.year)
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.region:
        qs = qs.filter(region_code__startswith=filters.region)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.q:
        qs = qs.filter(Q(title__icontains=filters.q) | Q(summary__icontains=filters.q))
    return qs


def selection(*, user: User | Any, year: int, region: str = "") -> QuerySet[TypicalCase]:
    """The year's selection: the visible cases that entered review, best score first (unscored last)."""
    qs = visible_cases(user=user).filter(year=year, status__in=RANKED_STATUSES)
    if region:
        qs = qs.filter(region_code__startswith=region)
    return qs.order_by(F("review_score").desc(nulls_last=True), "title", "pk")


def selection_years(*, user: User | Any) -> list[int]:
    years = TypicalCase.objects.restrict(user, Action.VIEW).values_list("year", flat=True).distinct()
    return sorted(set(years), reverse=True)


def awaiting_review(*, user: User | Any) -> QuerySet[TypicalCase]:
    """Cases the user's IP office may review that still wait for it (nominated or under review)."""
    scope = scope_for(user)
    if scope is None or not (scope.is_platform or scope.admin_level in REVIEWING_LEVELS):
        return TypicalCase.objects.none()
    return TypicalCase.objects.restrict(user, Action.APPROVE).filter(
        status__in=(CaseStatus.NOMINATED, CaseStatus.UNDER_REVIEW)
    )


def region_names(codes: Iterable[str]) -> dict[str, str]:
    wanted = {c for c in codes if c}
    provinces = {c[:2] + "0000" for c in wanted}
    return dict(Region.objects.filter(code__in=wanted | provinces).values_list("code", "name"))


def province_code(region_code: str) -> str:
    return region_code[:2] + "0000" if region_code else ""


# ---------------------------------------------------------------------------
# The public showcase
# ---------------------------------------------------------------------------


def public_cases() -> QuerySet[TypicalCase]:
    """Published cases only: what the nominator and reviewer wrote for publication, nothing of the review."""
    return (
        TypicalCase.objects.filter(status=CaseStatus.PUBLISHED)
        .select_related("park", "park__region", "nominated_by_org")
        .order_by("-published_on", "-pk")
    )


def public_measures(park: Park) -> QuerySet[MeasureEntry]:
    return MeasureEntry.objects.filter(park=park, is_public=True).order_by("-started_on", "-pk")


def showcase_designations() -> QuerySet[KeyParkDesignation]:
    return KeyParkDesignation.objects.filter(status=DesignationStatus.ACTIVE).select_related("park", "park__region")


def showcase_park_ids() -> set[int]:
    """Parks the showcase presents: those with an active designation, or flagged key parks in the registry."""
    designated = set(showcase_designations().values_list("park_id", flat=True))
    return designated | set(Park.objects.filter(is_key_park=True).values_list("pk", flat=True))


@dataclass
class ShowcaseProvince:
    code: str
    name: str
    parks: list[dict[str, Any]] = field(default_factory=list)


def showcase_provinces() -> list[ShowcaseProvince]:
    """Showcase parks grouped by province, each with its latest active designation (kind, year) if any."""
    latest: dict[int, KeyParkDesignation] = {}
    for designation in showcase_designations().order_by("year", "pk"):
        latest[designation.park_id] = designation
    parks = Park.objects.filter(pk__in=showcase_park_ids()).select_related("region").order_by("region__code", "name")
    cases = dict(
        public_cases().filter(park__isnull=False).values("park_id").annotate(n=Count("pk")).values_list("park_id", "n")
    )
    measures = dict(
        MeasureEntry.objects.filter(is_public=True, park__isnull=False)
        .values("park_id")
        .annotate(n=Count("pk"))
        .values_list("park_id", "n")
    )
    names = region_names(province_code(p.region.code) for p in parks)
    groups: dict[str, ShowcaseProvince] = {}
    for park in parks:
        code = province_code(park.region.code)
        group = groups.setdefault(code, ShowcaseProvince(code=code, name=names.get(code, code)))
        group.parks.append(
            {
                "park": park,
                "designation": latest.get(park.pk),
                "cases": cases.get(park.pk, 0),
                "measures": measures.get(park.pk, 0),
            }
        )
    return [groups[code] for code in sorted(groups)]


@dataclass(frozen=True)
class ParkYear:
    year: int
    projects: int
    amount: Money
    projects_growth: float | None
    amount_growth: float | None

    @property
    def amount_wan(self) -> str:
        """The amount in 万元 with two places, as the park reports it."""
        return f"{(self.amount.amount / Decimal(10_000)).quantize(Decimal('0.01')):,}"

    @property
    def projects_growth_pct(self) -> str:
        return _pct(self.projects_growth)

    @property
    def amount_growth_pct(self) -> str:
        return _pct(self.amount_growth)

    @property
    def reaches_goal(self) -> bool:
        return (
            self.projects_growth is not None
            and self.amount_growth is not None
            and self.projects_growth >= float(GOAL_GROWTH)
            and self.amount_growth >= float(GOAL_GROWTH)
        )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f}%"


def _growth(now: Decimal | int, before: Decimal | int) -> float | None:
    if not before:
        return None  # no base year: growth is undefined, never "infinite"
    return float((Decimal(now) - Decimal(before)) / Decimal(before))


def _park_registrations(park: Park) -> QuerySet[PledgeRegistration]:
    """Pledge registrations (质押项目) whose pledgor was a member of the park on the registration date."""
    return PledgeRegistration.objects.filter(
        pledgor__memberships__park=park, pledgor__memberships__joined_on__lte=F("registered_on")
    ).filter(Q(pledgor__memberships__left_on__isnull=True) | Q(pledgor__memberships__left_on__gte=F("registered_on")))


def _registrations_by_year(park: Park, years: list[int]) -> dict[int, tuple[int, Decimal]]:
    """The park's registrations by year: their count and registered amount (登记金额, `claim_amount`) in yuan."""
    rows = (
        _park_registrations(park)
        .filter(registered_on__year__in=years)
        .annotate(year=ExtractYear("registered_on"))
        .values("year")
        .annotate(projects=Count("pk", distinct=True), amount=Sum("claim_amount"))
    )
    found: dict[int, tuple[int, Decimal]] = {}
    for row in rows:
        amount = row["amount"]
        value = amount.amount if isinstance(amount, Money) else Money.from_fen(int(amount or 0)).amount
        found[int(row["year"])] = (int(row["projects"]), value)
    return found


def _from_target_overview(park: Park, years: list[int]) -> list[ParkYear] | None:
    """The park's figures from the targets dashboard (`monitoring.targets.target_overview`), when that module is
    installed, so that the showcase and the dashboard print the same numbers."""
    try:
        targets = importlib.import_module("ipledge.monitoring.targets")
    except ImportError:
        return None
    overview_for = getattr(targets, "target_overview", None)
    if overview_for is None:
        return None
    results: list[ParkYear] = []
    for year in years:
        overview = overview_for(user=None, year=year, region_prefix=park.region.code[:2])
        rows = overview.parks.filter(overview.parks["park_id"] == park.pk).to_dicts()
        row = rows[0] if rows else {}
        results.append(
            ParkYear(
                year=year,
                projects=int(row.get("projects") or 0),
                amount=Money.from_fen(int(row.get("amount_fen") or 0)),
                projects_growth=row.get("projects_growth"),
                amount_growth=row.get("amount_growth"),
            )
        )
    return results


def park_results(park: Park, *, today: datetime.date) -> list[ParkYear]:
    """The park's pledge projects and amount for `RESULT_YEARS` years with growth on the year before, ending with
    the latest year that has a registration (so a new year that has just begun does not read as a collapse)."""
    latest = _park_registrations(park).filter(registered_on__lte=today).aggregate(last=Max("registered_on"))["last"]
    last_year = latest.year if latest is not None else today.year
    shown = list(range(last_year - RESULT_YEARS + 1, last_year + 1))
    from_dashboard = _from_target_overview(park, shown)
    if from_dashboard is not None:
        return from_dashboard
    figures = _registrations_by_year(park, [shown[0] - 1, *shown])
    results: list[ParkYear] = []
    for year in shown:
        projects, amount = figures.get(year, (0, Decimal(0)))
        before_projects, before_amount = figures.get(year - 1, (0, Decimal(0)))
        results.append(
            ParkYear(
                year=year,
                projects=projects,
                amount=Money(amount),
                projects_growth=_growth(projects, before_projects),
                amount_growth=_growth(amount, before_amount),
            )
        )
    return results


def category_label(code: str) -> str:
    return str(dict(CaseCategory.choices).get(code, code))
