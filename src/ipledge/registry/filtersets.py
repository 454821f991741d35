"""List filters of the registry pages. Each filterset narrows a queryset that already came from a selector."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core.forms import DateInput, style_fields
from ipledge.core.models import Region

from .choices import IPKind, LegalStatus, ParkKind, ParkLevel, PatentType, SizeClass
from .models import Enterprise, IPRight, Park
from .rules import INDUSTRY_SECTIONS

YES_NO = [("", _("全部")), ("true", _("是")), ("false", _("否"))]


class StyledFilterSet(filters.FilterSet):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_fields(self.form.fields)


def province_choices() -> list[tuple[str, str]]:
    return [(r.code[:2], r.name) for r in Region.objects.filter(level="province").order_by("code")]


class ParkFilterSet(StyledFilterSet):
    name = filters.CharFilter(label=_("园区名称"), lookup_expr="icontains")
    level = filters.ChoiceFilter(label=_("级别"), choices=ParkLevel.choices, empty_label=_("全部"))
    kind = filters.ChoiceFilter(label=_("类型"), choices=ParkKind.choices, empty_label=_("全部"))
    province = filters.ChoiceFilter(
        label=_("省份"), choices=province_choices, method="filter_province", empty_label=_("全部")
    )
    is_key_park = filters.BooleanFilter(label=_("重点/示范园区"), widget=forms.Select(choices=YES_NO))

    class Meta:
        model = Park
        fields = ["name", "level", "kind", "province", "is_key_park"]

    def filter_province(self, queryset: QuerySet[Park], name: str, value: str) -> QuerySet[Park]:
        return queryset.filter(region__code__startswith=value) if value else queryset


class EnterpriseFilterSet(StyledFilterSet):
    q = filters.CharFilter(label=_("名称/信用代码"), method="filter_q")
    park = filters.ModelChoiceFilter(
        label=_("园区"), queryset=Park.objects.none(), method="filter_park", empty_label=_("全部")
    )
    size_class = filters.ChoiceFilter(label=_("企业规模"), choices=SizeClass.choices, empty_label=_("全部"))
    industry_section = filters.ChoiceFilter(
        label=_("行业门类"), empty_label=_("全部"), choices=[(k, f"{k} {v}") for k, v in INDUSTRY_SECTIONS.items()]
    )
    is_high_tech = filters.BooleanFilter(label=_("高新技术企业"), widget=forms.Select(choices=YES_NO))
    is_specialised = filters.BooleanFilter(label=_("专精特新"), widget=forms.Select(choices=YES_NO))

    class Meta:
        model = Enterprise
        fields = ["q", "park", "size_class", "industry_section", "is_high_tech", "is_specialised"]

    def __init__(self, *args: Any, parks: QuerySet[Park] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if parks is not None:
            self.filters["park"].queryset = parks
            self.form.fields["park"].queryset = parks  # type: ignore[attr-defined]

    def filter_q(self, queryset: QuerySet[Enterprise], name: str, value: str) -> QuerySet[Enterprise]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(uscc__icontains=value.upper()))

    def filter_park(self, queryset: QuerySet[Enterprise], name: str, value: Park | None) -> QuerySet[Enterprise]:
        if value is None:
            return queryset
        return queryset.filter(pk__in=value.memberships.filter(left_on__isnull=True).values("enterprise_id"))


class IPRightFilterSet(StyledFilterSet):
    q = filters.CharFilter(label=_("号码/名称"), method="filter_q")
    kind = filters.ChoiceFilter(label=_("类型"), choices=IPKind.choices, empty_label=_("全部"))
    patent_type = filters.ChoiceFilter(label=_("专利类型"), choices=PatentType.choices, empty_label=_("全部"))
    legal_status = filters.ChoiceFilter(label=_("法律状态"), choices=LegalStatus.choices, empty_label=_("全部"))
    term_end_before = filters.DateFilter(
        label=_("有效期止早于"), field_name="term_end", lookup_expr="lte", widget=DateInput()
    )
    owner = filters.CharFilter(label=_("权利人"), method="filter_owner", help_text=_("企业名称、信用代码或权利人名称"))
    enterprise = filters.NumberFilter(method="filter_enterprise", widget=forms.HiddenInput())

    class Meta:
        model = IPRight
        fields = ["q", "kind", "patent_type", "legal_status", "term_end_before", "owner", "enterprise"]

    def filter_q(self, queryset: QuerySet[IPRight], name: str, value: str) -> QuerySet[IPRight]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__icontains=value) | Q(title__icontains=value))

    def filter_owner(self, queryset: QuerySet[IPRight], name: str, value: str) -> QuerySet[IPRight]:
        value = value.strip()
        if not value:
            return queryset
        matching = Q(owners__enterprise__name__icontains=value) | Q(owners__holder_name__icontains=value)
        if value.isalnum() and len(value) >= 6:
            matching |= Q(owners__enterprise__uscc__icontains=value.upper())
        return queryset.filter(pk__in=IPRight.objects.filter(matching).values("pk"))

    def filter_enterprise(self, queryset: QuerySet[IPRight], name: str, value: Any) -> QuerySet[IPRight]:
        if value is None:
            return queryset
        return queryset.filter(owners__enterprise_id=int(value))
