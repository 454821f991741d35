"""List filters of the disposal pages; each narrows a queryset that already came from `restrict()`."""

from __future__ import annotations

import django_filters as filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.registry.filtersets import StyledFilterSet

from .choices import CaseStatus, Route, SessionStatus
from .models import AuctionSession, DisposalCase


class CaseFilterSet(StyledFilterSet):
    status = filters.ChoiceFilter(label=_("状态"), choices=CaseStatus.choices, empty_label=_("全部"))
    route = filters.ChoiceFilter(label=_("处置方式"), choices=Route.choices, empty_label=_("全部"))
    q = filters.CharFilter(label=_("案件编号/贷款编号/出质人"), method="filter_q")

    class Meta:
        model = DisposalCase
        fields = ["status", "route", "q"]

    def filter_q(self, queryset: QuerySet[DisposalCase], name: str, value: str) -> QuerySet[DisposalCase]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(reference__icontains=value) | Q(loan__reference__icontains=value) | Q(pledgor__name__icontains=value)
        )


class SessionFilterSet(StyledFilterSet):
    status = filters.ChoiceFilter(label=_("状态"), choices=SessionStatus.choices, empty_label=_("全部"))
    title = filters.CharFilter(label=_("场次名称"), lookup_expr="icontains")

    class Meta:
        model = AuctionSession
        fields = ["status", "title"]
