"""Registry reads; each starts from `restrict(user, action)`."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from ipledge.core.scoping import Action

from .models import Enterprise, IPRight, IPRightOwner, Park, ParkMembership


def park_list(*, user: Any) -> QuerySet[Park]:
    return Park.objects.restrict(user, Action.VIEW).select_related("region", "region__parent", "administering_org")


def enterprise_list(*, user: Any) -> QuerySet[Enterprise]:
    return Enterprise.objects.restrict(user, Action.VIEW).select_related("registration_region")


def ip_right_list(*, user: Any) -> QuerySet[IPRight]:
    owners = IPRightOwner.objects.select_related("enterprise")
    return IPRight.objects.restrict(user, Action.VIEW).prefetch_related(Prefetch("owners", queryset=owners))


def membership_list(*, user: Any) -> QuerySet[ParkMembership]:
    return ParkMembership.objects.restrict(user, Action.VIEW).select_related("park", "enterprise")


def park_enterprise_counts(*, user: Any) -> QuerySet[Park]:
    return park_list(user=user).annotate(enterprise_count=Count("memberships"))
