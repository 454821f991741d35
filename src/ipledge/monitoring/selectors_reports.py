"""Reads of the measures (工作措施) and generated reports (统计报告) pages and API; each starts from `restrict()`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from ipledge.core.choices import OrganisationKind, RegionLevel
from ipledge.core.models import Region
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.models import Park

from .models import GeneratedReport, MeasureEntry


@dataclass(frozen=True)
class MeasureFilters:
    region: str = ""  # a region-code prefix ("32", "3201") or a full code
    park_id: int | None = None
    category: str = ""
    status: str = ""
    year: int | None = None  # in force at some time in the year
    q: str = ""
    public: bool | None = None


def _prefix(code: str) -> str:
    code = code.strip()
    if len(code) == 6 and code.isdigit():
        region = Region.objects.filter(code=code).only("prefix").first()
        return region.prefix if region is not None else code
    return code


def measure_list(*, user: Any, filters: MeasureFilters | None = None) -> QuerySet[MeasureEntry]:
    qs = MeasureEntry.objects.restrict(user, Action.VIEW).select_related("region", "park", "owner_org")
    f = filters or MeasureFilters()
    if f.region:
        qs = qs.filter(region_code__startswith=_prefix(f.region))
    if f.park_id is not None:
        qs = qs.filter(park_id=f.park_id)
    if f.category:
        qs = qs.filter(category=f.category)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.year is not None:
        qs = qs.filter(started_on__year__lte=f.year).filter(Q(ended_on__isnull=True) | Q(ended_on__year__gte=f.year))
    if f.q:
        qs = qs.filter(Q(title__icontains=f.q) | Q(issuing_body__icontains=f.q) | Q(document_no__icontains=f.q))
    if f.public is not None:
        qs = qs.filter(is_public=f.public)
    return qs


def may_change_measure(user: Any, measure: MeasureEntry) -> bool:
    return MeasureEntry.objects.restrict(user, Action.CHANGE).filter(pk=measure.pk).exists()


def may_delete_measure(user: Any, measure: MeasureEntry) -> bool:
    return MeasureEntry.objects.restrict(user, Action.DELETE).filter(pk=measure.pk).exists()


def writable_regions(user: Any) -> QuerySet[Region]:
    """Regions the user may record measures or generate reports for: an IP office's jurisdiction (provinces and
    cities; counties are many and rarely report on their own), a park administration's parks' regions."""
    scope = scope_for(user)
    regions = Region.objects.filter(level__in=[RegionLevel.PROVINCE, RegionLevel.CITY])
    if scope is None:
        return regions.none()
    if scope.is_platform:
        return regions.order_by("code")
    if scope.kind == OrganisationKind.IP_OFFICE and scope.region_prefix is not None:
        return regions.filter(code__startswith=scope.region_prefix).order_by("code")
    if scope.kind == OrganisationKind.PARK_ADMIN:
        codes = writable_parks(user).values_list("region__code", flat=True)
        return Region.objects.filter(code__in=codes).order_by("code")
    return regions.none()


def writable_parks(user: Any) -> QuerySet[Park]:
    scope = scope_for(user)
    parks = Park.objects.select_related("region").order_by("region__code", "name")
    if scope is None:
        return parks.none()
    if scope.is_platform:
        return parks
    if scope.kind == OrganisationKind.IP_OFFICE and scope.region_prefix is not None:
        return parks.filter(region__code__startswith=scope.region_prefix)
    if scope.kind == OrganisationKind.PARK_ADMIN:
        return parks.filter(administering_org__tree_path__startswith=scope.org_tree_path)
    return parks.none()


def report_list(*, user: Any, kind: str = "", region: str = "") -> QuerySet[GeneratedReport]:
    qs = GeneratedReport.objects.restrict(user, Action.VIEW).select_related("region", "created_by", "created_by_org")
    if kind:
        qs = qs.filter(kind=kind)
    if region:
        qs = qs.filter(region_code__startswith=_prefix(region))
    return qs
