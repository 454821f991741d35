"""Forms of the plans area: provincial action plans (省级行动方案), ledger tasks (任务台账), progress reports with
evidence, reminders filter, key-park designations (重点 / 示范园区)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core import uploads
from ipledge.core.forms import BootstrapMixin, DateInput
from ipledge.core.models import Organisation, Region
from ipledge.registry.models import Park

from .choices import DesignationKind, PlanStatus, ReminderKind, TaskStatus
from .selectors_plans import PlanFilters, province_choices

YEAR = {"min_value": 2000, "max_value": 2100}


class PlanFilterForm(BootstrapMixin, forms.Form):
    province = forms.ChoiceField(label=_("省份"), required=False)
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部")), *PlanStatus.choices])
    year = forms.IntegerField(label=_("实施年度"), required=False, **YEAR)  # type: ignore[arg-type]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["province"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("全部")), *province_choices()]

    def filters(self) -> PlanFilters:
        if not self.is_bound or not self.is_valid():
            return PlanFilters()
        d = self.cleaned_data
        return PlanFilters(province=d.get("province") or "", status=d.get("status") or "", year=d.get("year"))


class PlanForm(BootstrapMixin, forms.Form):
    region = forms.ModelChoiceField(label=_("省份"), queryset=Region.objects.none())
    title = forms.CharField(label=_("方案名称"), max_length=200)
    document_no = forms.CharField(label=_("文号"), max_length=64, required=False)
    year_from = forms.IntegerField(label=_("实施起始年"), **YEAR)  # type: ignore[arg-type]
    year_to = forms.IntegerField(label=_("实施截止年"), **YEAR)  # type: ignore[arg-type]
    summary = forms.CharField(label=_("主要内容"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, provinces: QuerySet[Region] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if provinces is None:
            del self.fields["region"]
        else:
            field = self.fields["region"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = provinces

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("year_from"), data.get("year_to")
        if start and end and end < start:
            self.add_error("year_to", _("实施截止年不能早于起始年。"))
        return data


class DateForm(BootstrapMixin, forms.Form):
    """One date (issue or submission), with the version the user saw."""

    day = forms.DateField(label=_("日期"), widget=DateInput())
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, label: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if label is not None:
            self.fields["day"].label = label


class TaskForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_("任务"), max_length=200)
    description = forms.CharField(label=_("具体内容"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    requirement = forms.CharField(label=_("对应要求"), required=False, max_length=8, help_text=_("如 T1、S2、O3"))
    owner_org = forms.ModelChoiceField(label=_("责任单位"), required=False, queryset=Organisation.objects.none())
    owner_name = forms.CharField(
        label=_("责任单位（未入驻平台）"), required=False, max_length=128, help_text=_("责任单位未入驻平台时填写")
    )
    due_on = forms.DateField(label=_("完成时限"), widget=DateInput())
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, owners: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["owner_org"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = owners

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("owner_org") and not (data.get("owner_name") or "").strip():
            self.add_error("owner_org", _("请指定责任单位（平台机构或未入驻单位名称）。"))
        return data


class ProgressForm(BootstrapMixin, forms.Form):
    status = forms.ChoiceField(label=_("状态"), choices=TaskStatus.choices)
    progress = forms.IntegerField(label=_("进度（%）"), min_value=0, max_value=100)
    completed_on = forms.DateField(
        label=_("完成日期"), required=False, widget=DateInput(), help_text=_("状态为已完成时填写，默认今天")
    )
    evidence = forms.CharField(label=_("佐证材料说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    file = forms.FileField(label=_("佐证材料文件"), required=False, help_text=_("PDF、JPG、PNG 或 DOCX，不超过 20 MB"))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean_file(self) -> Any:
        upload = self.cleaned_data.get("file")
        return uploads.clean_form_file(upload, policy=uploads.DOCUMENT) if upload else None


class ReminderFilterForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=[("", _("全部")), *ReminderKind.choices])
    show = forms.ChoiceField(
        label=_("范围"), required=False, choices=[("open", _("未解除")), ("all", _("全部（含已解除）"))]
    )


class KeyParkFilterForm(BootstrapMixin, forms.Form):
    year = forms.IntegerField(label=_("年度"), required=False, **YEAR)  # type: ignore[arg-type]
    province = forms.ChoiceField(label=_("省份"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["province"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("全部")), *province_choices()]


class DesignationForm(BootstrapMixin, forms.Form):
    park = forms.ModelChoiceField(label=_("园区"), queryset=Park.objects.none())
    year = forms.IntegerField(label=_("年度"), **YEAR)  # type: ignore[arg-type]
    kind = forms.ChoiceField(label=_("类型"), choices=DesignationKind.choices)
    designated_on = forms.DateField(label=_("认定日期"), required=False, widget=DateInput(), help_text=_("默认今天"))
    rationale = forms.CharField(label=_("认定理由"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    goals = forms.CharField(label=_("工作目标"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, parks: QuerySet[Park], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["park"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = parks


class RevokeForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=_("撤销原因"), max_length=255)
