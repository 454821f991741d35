"""Forms of the measures (工作措施) and reports (统计报告) pages. They parse the input and offer choices within the
user's reach; the services check every rule again."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core.context import business_date
from ipledge.core.forms import BootstrapMixin
from ipledge.core.models import Region
from ipledge.registry.models import Park

from .choices import MeasureCategory, MeasureStatus, ReportKind
from .reports import Period
from .selectors_reports import MeasureFilters

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
REGION_CODE = re.compile(r"\d{2}|\d{4}|\d{6}")


def _set_queryset(form: forms.Form, name: str, queryset: QuerySet[Any]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = queryset


class MeasureFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("名称、单位或文号"), required=False, max_length=64)
    region = forms.CharField(label=_("地区代码"), required=False, max_length=6, help_text=_("如 320000、3201"))
    category = forms.ChoiceField(label=_("类别"), required=False, choices=[("", _("全部")), *MeasureCategory.choices])
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部")), *MeasureStatus.choices])
    year = forms.IntegerField(label=_("年度"), required=False, min_value=2000, max_value=2100)

    def clean_region(self) -> str:
        code = (self.cleaned_data.get("region") or "").strip()
        if code and not REGION_CODE.fullmatch(code):
            raise ValidationError(_("地区代码应为2、4或6位数字。"), code="invalid")
        return code

    def filters(self) -> MeasureFilters:
        if not self.is_bound or not self.is_valid():
            return MeasureFilters()
        d = self.cleaned_data
        return MeasureFilters(
            q=(d.get("q") or "").strip(),
            region=d.get("region") or "",
            category=d.get("category") or "",
            status=d.get("status") or "",
            year=d.get("year"),
        )


class MeasureForm(BootstrapMixin, forms.Form):
    region = forms.ModelChoiceField(
        label=_("地区"),
        queryset=Region.objects.none(),
        required=False,
        help_text=_("园区的措施可不选，默认为园区所在地区。"),
    )
    park = forms.ModelChoiceField(label=_("园区"), queryset=Park.objects.none(), required=False)
    category = forms.ChoiceField(label=_("类别"), choices=MeasureCategory.choices)
    title = forms.CharField(label=_("措施名称"), max_length=200)
    issuing_body = forms.CharField(label=_("实施单位"), max_length=128)
    document_no = forms.CharField(label=_("文号"), max_length=64, required=False)
    started_on = forms.DateField(label=_("实施日期"), widget=DATE)
    ended_on = forms.DateField(label=_("截止日期"), widget=DATE, required=False)
    status = forms.ChoiceField(label=_("状态"), choices=MeasureStatus.choices, initial=MeasureStatus.ONGOING)
    description = forms.CharField(label=_("主要内容"), widget=forms.Textarea(attrs={"rows": 4}))
    results = forms.CharField(label=_("取得成效"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    is_public = forms.BooleanField(
        label=_("公开展示"), required=False, help_text=_("勾选后在重点园区展示页向公众公开。")
    )

    def __init__(self, *args: Any, regions: QuerySet[Region], parks: QuerySet[Park], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_queryset(self, "region", regions)
        _set_queryset(self, "park", parks)

    def values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


def initial_from_measure(measure: Any) -> dict[str, Any]:
    return {
        name: getattr(measure, name)
        for name in (
            "region",
            "park",
            "category",
            "title",
            "issuing_body",
            "document_no",
            "started_on",
            "ended_on",
            "status",
            "description",
            "results",
            "is_public",
        )
    }


class ReportForm(BootstrapMixin, forms.Form):
    """Kind, region and period: a year for the annual summary and the measures table, a quarter for the quarterly."""

    kind = forms.ChoiceField(label=_("报告类型"), choices=ReportKind.choices)
    region = forms.ModelChoiceField(
        label=_("地区"), queryset=Region.objects.none(), required=False, empty_label=_("全国（国家知识产权局）")
    )
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(
        label=_("季度"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("—")), (1, _("第一季度")), (2, _("第二季度")), (3, _("第三季度")), (4, _("第四季度"))],
        help_text=_("季度工作总结须选择季度。"),
    )

    def __init__(self, *args: Any, regions: QuerySet[Region], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"year": business_date().year - 1, "kind": ReportKind.ANNUAL_SUMMARY})
        super().__init__(*args, **kwargs)
        _set_queryset(self, "region", regions)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == ReportKind.QUARTERLY_SUMMARY and not data.get("quarter"):
            self.add_error("quarter", ValidationError(_("季度工作总结须选择季度。"), code="required"))
        return data

    def period(self) -> Period:
        d = self.cleaned_data
        return period_for(d["kind"], d["year"], d.get("quarter"))


def period_for(kind: str, year: int, quarter: int | None) -> Period:
    if kind == ReportKind.QUARTERLY_SUMMARY:
        if quarter is None:
            raise ValidationError({"quarter": ValidationError(_("季度工作总结须选择季度。"), code="required")})
        return Period.quarter(year, quarter)
    return Period.year(year)
