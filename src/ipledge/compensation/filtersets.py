"""List filters of the risk-compensation pages; each narrows a queryset that already came from `restrict()`, and
the funds (or claims) offered in a filter are only those of rows the user already sees."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core.forms import DateInput
from ipledge.registry.filtersets import StyledFilterSet

from .choices import ClaimStatus, EnrolmentStatus, EntryKind, PaymentPurpose, PaymentStatus
from .models import Claim, Enrolment, Fund, JournalEntry, Payment


class _FundFiltered(StyledFilterSet):
    """Offers in its `fund` filter only the funds of the rows in its (restricted) queryset."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        funds = Fund.objects.filter(pk__in=self.queryset.values("fund_id")).order_by("code")
        self.filters["fund"].queryset = funds
        self.form.fields["fund"].queryset = funds


class ClaimFilterSet(_FundFiltered):
    status = filters.ChoiceFilter(label=_("状态"), choices=ClaimStatus.choices, empty_label=_("全部"))
    fund = filters.ModelChoiceFilter(label=_("基金"), queryset=Fund.objects.none(), empty_label=_("全部"))
    q = filters.CharFilter(label=_("申请编号/贷款编号/企业"), method="filter_q")

    class Meta:
        model = Claim
        fields = ["status", "fund", "q"]

    def filter_q(self, queryset: QuerySet[Claim], name: str, value: str) -> QuerySet[Claim]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(reference__icontains=value)
            | Q(loan__reference__icontains=value)
            | Q(enrolment__borrower__name__icontains=value)
        )


class EnrolmentFilterSet(_FundFiltered):
    status = filters.ChoiceFilter(label=_("状态"), choices=EnrolmentStatus.choices, empty_label=_("全部"))
    fund = filters.ModelChoiceFilter(label=_("基金"), queryset=Fund.objects.none(), empty_label=_("全部"))

    class Meta:
        model = Enrolment
        fields = ["status", "fund"]


class PaymentFilterSet(_FundFiltered):
    status = filters.ChoiceFilter(label=_("状态"), choices=PaymentStatus.choices, empty_label=_("全部"))
    purpose = filters.ChoiceFilter(label=_("用途"), choices=PaymentPurpose.choices, empty_label=_("全部"))
    fund = filters.ModelChoiceFilter(label=_("基金"), queryset=Fund.objects.none(), empty_label=_("全部"))

    class Meta:
        model = Payment
        fields = ["status", "purpose", "fund"]


class EntryFilterSet(StyledFilterSet):
    kind = filters.ChoiceFilter(label=_("类型"), choices=EntryKind.choices, empty_label=_("全部"))
    claim = filters.ModelChoiceFilter(label=_("代偿申请"), queryset=Claim.objects.none(), empty_label=_("全部"))
    since = filters.DateFilter(label=_("记账日起"), field_name="value_date", lookup_expr="gte", widget=DateInput())
    until = filters.DateFilter(label=_("记账日止"), field_name="value_date", lookup_expr="lte", widget=DateInput())

    class Meta:
        model = JournalEntry
        fields = ["kind", "claim", "since", "until"]

    def __init__(self, *args: Any, claims: QuerySet[Claim], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["claim"].queryset = claims
        self.form.fields["claim"].queryset = claims
