"""Forms of the valuation pages."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core.forms import BootstrapMixin
from ipledge.core.models import Organisation

from .choices import Scenario

NUMBER_SPLIT = re.compile(r"[\s,，;；、]+")


class RunForm(BootstrapMixin, forms.Form):
    scenario = forms.ChoiceField(label=_("评估场景"), choices=Scenario.choices, initial=Scenario.FINANCE)
    agency = forms.ModelChoiceField(
        label=_("委托评估机构（可选）"),
        queryset=Organisation.objects.none(),
        required=False,
        help_text=_("选定的评估机构可复核并签发评估报告。"),
    )

    def __init__(self, *args: Any, agencies: QuerySet[Organisation] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if agencies is not None:
            self.fields["agency"].queryset = agencies  # type: ignore[attr-defined]


class BundleForm(RunForm):
    name = forms.CharField(label=_("组合名称"), max_length=128)
    enterprise = forms.ModelChoiceField(label=_("权利人（出质人）"), queryset=Organisation.objects.none())
    numbers = forms.CharField(
        label=_("知识产权编号"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("每行一个专利申请号、商标注册号或著作权登记号，也可用逗号分隔；至少两项。"),
    )
    field_order = ["name", "enterprise", "numbers", "scenario", "agency"]

    def __init__(self, *args: Any, enterprises: QuerySet[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if enterprises is not None:
            self.fields["enterprise"].queryset = enterprises  # type: ignore[attr-defined]

    def clean_numbers(self) -> list[str]:
        raw = self.cleaned_data["numbers"]
        numbers = [n.strip().upper() for n in NUMBER_SPLIT.split(raw) if n.strip()]
        unique = list(dict.fromkeys(numbers))
        if len(unique) < 2:
            raise forms.ValidationError(_("组合至少包含两项知识产权。"), code="too_few")
        return unique


class SubmitForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("评估意见"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)


class SignOffForm(BootstrapMixin, forms.Form):
    decision = forms.ChoiceField(
        label=_("复核结论"), choices=[("approve", _("签发")), ("return", _("退回"))], widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("复核意见"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000, required=False
    )


class BatchForm(BootstrapMixin, forms.Form):
    park = forms.ModelChoiceField(label=_("园区"), queryset=Organisation.objects.none(), required=False)
    region_code = forms.RegexField(
        label=_("或地区代码"),
        regex=r"^[0-9]{6}$",
        required=False,
        help_text=_("6 位行政区划代码，如 320500；留空则按园区。"),
        error_messages={"invalid": _("请输入 6 位行政区划代码。")},
    )
    scenario = forms.ChoiceField(label=_("评估场景"), choices=Scenario.choices, initial=Scenario.FINANCE)

    def __init__(self, *args: Any, parks: QuerySet[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if parks is not None:
            self.fields["park"].queryset = parks  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("park")) == bool(data.get("region_code")):
            raise forms.ValidationError(_("请选择一个园区，或填写一个地区代码（二选一）。"), code="scope_required")
        return data


class PolicyForm(BootstrapMixin, forms.Form):
    """A bank's pledge-rate policy: one percent field per cap, one year field per minimum remaining term, one factor
    per grade; the fields are generated from the rules so every rule the engine knows is editable."""

    name = forms.CharField(label=_("政策名称"), max_length=128)

    def __init__(self, *args: Any, rules: dict[str, Any], labels: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rule_keys: list[tuple[str, str, str]] = []
        for section, values in rules.items():
            if not isinstance(values, dict):
                continue
            for key, value in values.items():
                if not isinstance(value, int | float) or isinstance(value, bool):
                    continue
                name = f"{section}__{key}"
                label = f"{labels.get(section, section)} · {labels.get(key, key)}"
                self.fields[name] = forms.DecimalField(
                    label=label, initial=value, min_value=0, max_digits=8, decimal_places=4
                )
                self.rule_keys.append((name, section, key))
        from ipledge.core.forms import style_fields

        style_fields(self.fields)

    def rules(self, base: dict[str, Any]) -> dict[str, Any]:
        out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
        for name, section, key in self.rule_keys:
            value = self.cleaned_data[name]
            out[section][key] = float(value)
        return out
