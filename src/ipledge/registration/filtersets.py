"""List filters of the pledge registration pages; each narrows a queryset that already came from a selector."""

from __future__ import annotations

import django_filters as filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core.forms import DateInput
from ipledge.registry.filtersets import StyledFilterSet

from .choices import FilingStatus, FilingType, RegistrationStatus
from .models import PledgeFiling, PledgeRegistration


def _party_q(value: str) -> Q:
    value = value.strip()
    return Q(pledgor__name__icontains=value) | Q(pledgor__uscc__icontains=value.upper())


class FilingFilterSet(StyledFilterSet):
    status = filters.ChoiceFilter(label=_("状态"), choices=FilingStatus.choices, empty_label=_("全部"))
    filing_type = filters.ChoiceFilter(label=_("申请类型"), choices=FilingType.choices, empty_label=_("全部"))
    pledgor = filters.CharFilter(label=_("出质人名称/信用代码"), method="filter_pledgor")
    created_from = filters.DateFilter(
        label=_("提交日期起"), field_name="created_at", lookup_expr="date__gte", widget=DateInput()
    )
    created_to = filters.DateFilter(
        label=_("提交日期止"), field_name="created_at", lookup_expr="date__lte", widget=DateInput()
    )

    class Meta:
        model = PledgeFiling
        fields = ["status", "filing_type", "pledgor", "created_from", "created_to"]

    def filter_pledgor(self, queryset: QuerySet[PledgeFiling], name: str, value: str) -> QuerySet[PledgeFiling]:
        return queryset.filter(_party_q(value)) if value.strip() else queryset


class RegistrationFilterSet(StyledFilterSet):
    status = filters.ChoiceFilter(label=_("状态"), choices=RegistrationStatus.choices, empty_label=_("全部"))
    q = filters.CharFilter(label=_("登记号/出质人"), method="filter_q")
    registered_from = filters.DateFilter(
        label=_("登记日起"), field_name="registered_on", lookup_expr="gte", widget=DateInput()
    )
    registered_to = filters.DateFilter(
        label=_("登记日止"), field_name="registered_on", lookup_expr="lte", widget=DateInput()
    )

    class Meta:
        model = PledgeRegistration
        fields = ["status", "q", "registered_from", "registered_to"]

    def filter_q(self, queryset: QuerySet[PledgeRegistration], name: str, value: str) -> QuerySet[PledgeRegistration]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(_party_q(value) | Q(registration_no__iexact=value))
