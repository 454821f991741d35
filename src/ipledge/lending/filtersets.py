"""Loan list filters; each narrows a queryset that already came from `restrict()`."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core.choices import OrganisationKind
from ipledge.core.forms import DateInput
from ipledge.core.models import Organisation
from ipledge.registry.filtersets import StyledFilterSet
from ipledge.registry.models import Park

from .choices import LoanClass, LoanStatus
from .models import Loan


class LoanFilterSet(StyledFilterSet):
    status = filters.ChoiceFilter(label=_("状态"), choices=LoanStatus.choices, empty_label=_("全部"))
    classification = filters.ChoiceFilter(label=_("五级分类"), choices=LoanClass.choices, empty_label=_("全部"))
    bank = filters.ModelChoiceFilter(label=_("贷款银行"), queryset=Organisation.objects.none(), empty_label=_("全部"))
    park = filters.ModelChoiceFilter(label=_("所在园区"), queryset=Park.objects.none(), empty_label=_("全部"))
    borrower = filters.CharFilter(label=_("借款企业名称/信用代码"), method="filter_borrower")
    created_from = filters.DateFilter(
        label=_("申请日期起"), field_name="created_at", lookup_expr="date__gte", widget=DateInput()
    )
    created_to = filters.DateFilter(
        label=_("申请日期止"), field_name="created_at", lookup_expr="date__lte", widget=DateInput()
    )

    class Meta:
        model = Loan
        fields = ["status", "classification", "bank", "park", "borrower", "created_from", "created_to"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the banks and parks of loans the user already sees are offered.
        loans = self.queryset
        banks = Organisation.objects.filter(kind=OrganisationKind.BANK, pk__in=loans.values("bank_id")).order_by(
            "tree_path"
        )
        parks = Park.objects.filter(pk__in=loans.values("park_id")).order_by("name")
        self.filters["bank"].queryset = banks
        self.filters["park"].queryset = parks
        self.form.fields["bank"].queryset = banks
        self.form.fields["park"].queryset = parks

    def filter_borrower(self, queryset: QuerySet[Loan], name: str, value: str) -> QuerySet[Loan]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(borrower__name__icontains=value) | Q(borrower__uscc__icontains=value.upper()))
