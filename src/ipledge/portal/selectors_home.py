"""Reads of the public portal home (公共服务门户首页) and the public product display (金融产品).

Everything here is public and says so explicitly: the headline figures are national aggregates of the targets
engine (`ipledge.monitoring.targets`, read unrestricted, as the published action figures are); products are those
on sale (status live with an approved live version), never a bank's drafts or withdrawn products.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Q, QuerySet

from ipledge.core.choices import OrganisationKind, RegionLevel
from ipledge.core.models import Organisation, Region
from ipledge.core.money import Money
from ipledge.market.choices import ProductStatus, ProductVersionStatus
from ipledge.market.models import Product, ProductVersion
from ipledge.market.selectors_products import applies_in
from ipledge.monitoring.targets import PARKS_GOAL, SMES_GOAL, default_year, target_overview

FIGURES_CACHE_SECONDS = 600
FIGURES_CACHE_KEY = "portal:home:figures:v1"

# ---------------------------------------------------------------------------
# Headline figures
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadlineFigures:
    """The national figures of the 百园万企 action for one year (the latest with registrations)."""

    year: int
    projects: int
    amount_fen: int  # kept as an integer: the figures are pickled into the cache
    parks_reaching: int
    parks_goal: int
    new_smes: int
    smes_goal: int
    implementation_rate: float | None
    turnaround_days_avg: float | None

    @property
    def amount(self) -> Money:
        return Money.from_fen(self.amount_fen)

    @property
    def amount_yi(self) -> str:
        """The amount in 亿元 with two places."""
        return f"{(self.amount.amount / Decimal(100_000_000)).quantize(Decimal('0.01')):,}"

    @property
    def parks_progress(self) -> int:
        return min(100, round(100 * self.parks_reaching / self.parks_goal)) if self.parks_goal else 0

    @property
    def smes_progress(self) -> int:
        return min(100, round(100 * self.new_smes / self.smes_goal)) if self.smes_goal else 0

    @property
    def implementation_pct(self) -> str:
        return "—" if self.implementation_rate is None else f"{self.implementation_rate:.1%}"

    @property
    def turnaround_text(self) -> str:
        return "—" if self.turnaround_days_avg is None else f"{self.turnaround_days_avg:.1f}"


def compute_headline_figures(year: int | None = None) -> HeadlineFigures:
    """The figures straight from `target_overview` (national scope, unrestricted), uncached."""
    year = default_year(None) if year is None else year
    overview = target_overview(user=None, year=year)
    parks = overview.parks
    projects = int(parks.get_column("projects").sum() or 0) if parks.height else 0
    amount_fen = int(parks.get_column("amount_fen").sum() or 0) if parks.height else 0
    return HeadlineFigures(
        year=year,
        projects=projects,
        amount_fen=amount_fen,
        parks_reaching=overview.parks_reaching,
        parks_goal=PARKS_GOAL,
        new_smes=overview.new_smes,
        smes_goal=SMES_GOAL,
        implementation_rate=overview.implementation_rate,
        turnaround_days_avg=overview.turnaround_days_avg,
    )


def headline_figures() -> HeadlineFigures:
    """`compute_headline_figures` for the latest year, cached for ten minutes (the home page stays fast)."""
    cached = cache.get(FIGURES_CACHE_KEY)
    if isinstance(cached, HeadlineFigures):
        return cached
    figures = compute_headline_figures()
    cache.set(FIGURES_CACHE_KEY, figures, FIGURES_CACHE_SECONDS)
    return figures


# ---------------------------------------------------------------------------
# Public products
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicProductFilters:
    q: str = ""  # product name / code / bank name / summary contains
    region: str = ""  # a region code the product must apply in (a province browses its cities' products too)
    kind: str = ""  # a CollateralKind the product must accept
    amount: Money | None = None  # a wanted amount inside the product's range
    term_months: int | None = None  # a wanted term inside the product's range
    bank_id: int | None = None  # this bank and its branches


def public_products() -> QuerySet[Product]:
    """Products on sale: status live with an approved live version."""
    return (
        Product.objects.filter(
            status=ProductStatus.LIVE,
            live_version__isnull=False,
            live_version__status=ProductVersionStatus.APPROVED,
        )
        .select_related("bank", "bank__region", "live_version")
        .order_by("bank__name", "name", "pk")
    )


def _version_matches(version: ProductVersion, filters: PublicProductFilters) -> bool:
    if filters.kind and filters.kind not in (version.collateral_kinds or []):
        return False
    if filters.region and not applies_in(version.region_codes or [], filters.region):
        return False
    if filters.amount is not None and not (version.amount_min <= filters.amount <= version.amount_max):
        return False
    return filters.term_months is None or version.term_min_months <= filters.term_months <= version.term_max_months


def public_product_list(filters: PublicProductFilters | None = None) -> QuerySet[Product]:
    """The products on sale matching the filters. The rule lists are JSON, filtered in Python over the candidates
    (as the market library does: the library holds thousands at most)."""
    filters = filters or PublicProductFilters()
    qs = public_products()
    if filters.bank_id is not None:
        root = Organisation.objects.filter(pk=filters.bank_id, kind=OrganisationKind.BANK).values("tree_path").first()
        qs = qs.filter(bank__tree_path__startswith=root["tree_path"]) if root else qs.none()
    if filters.q:
        qs = qs.filter(
            Q(name__icontains=filters.q)
            | Q(code__icontains=filters.q)
            | Q(bank__name__icontains=filters.q)
            | Q(live_version__summary__icontains=filters.q)
        )
    if filters.region or filters.kind or filters.amount is not None or filters.term_months is not None:
        keep = [product.pk for product in qs if _version_matches(product.live_version, filters)]  # type: ignore[arg-type]
        qs = qs.filter(pk__in=keep)
    return qs


def public_product(pk: int) -> Product | None:
    """One product on sale, or None (a draft, withdrawn or missing product looks the same: not found)."""
    return public_products().filter(pk=pk).first()


def product_banks() -> QuerySet[Organisation]:
    """Banks with a product on sale (the bank filter)."""
    return Organisation.objects.filter(pk__in=public_products().values("bank_id"), kind=OrganisationKind.BANK).order_by(
        "name"
    )


def provinces() -> QuerySet[Region]:
    return Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code")


def region_choices() -> list[tuple[str, Any]]:
    return [(r.code, r.name) for r in provinces()]
