"""Forms of the typical-case pages (典型案例): the library's filters, nominating and editing a case, the review
(score and note), the decision and withdrawal. The services check every rule again; these forms parse the input
and offer only records within the user's reach."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ipledge.core.choices import OrganisationKind
from ipledge.core.forms import BootstrapMixin
from ipledge.core.models import Organisation
from ipledge.core.scoping import Action
from ipledge.lending.models import Loan
from ipledge.registry.models import Enterprise, Park

from .choices import CaseCategory, CaseStatus
from .selectors_cases import CaseFilters
from .services.cases import FIRST_YEAR, MAX_SCORE

_FIGURE_LINE = re.compile(r"^\s*([^:：]+?)\s*[:：]\s*(.+?)\s*$")
MAX_FIGURES = 20


def region_prefix(code: str) -> str:
    """A province or city code as the prefix of the codes inside it ("320000" → "32", "320100" → "3201")."""
    if len(code) == 6 and code.endswith("0000"):
        return code[:2]
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code


def figures_text(figures: dict[str, Any] | None) -> str:
    return "\n".join(f"{key}: {value}" for key, value in (figures or {}).items())


class CaseFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("名称或摘要"), required=False, max_length=64)
    year = forms.IntegerField(label=_("评选年度"), required=False, min_value=FIRST_YEAR, max_value=2100)
    category = forms.ChoiceField(label=_("案例类型"), required=False, choices=[("", _("全部")), *CaseCategory.choices])
    region = forms.CharField(label=_("地区代码"), required=False, max_length=6, help_text=_("如 320000、3201"))
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部")), *CaseStatus.choices])

    def clean_region(self) -> str:
        code = (self.cleaned_data.get("region") or "").strip()
        if code and not re.fullmatch(r"\d{2}|\d{4}|\d{6}", code):
            raise ValidationError(_("地区代码应为2、4或6位数字。"), code="invalid")
        return code

    def filters(self) -> CaseFilters:
        if not self.is_bound or not self.is_valid():
            return CaseFilters()
        d = self.cleaned_data
        return CaseFilters(
            year=d.get("year"),
            category=d.get("category") or "",
            region=region_prefix(d.get("region") or ""),
            status=d.get("status") or "",
            q=(d.get("q") or "").strip(),
        )


class CaseForm(BootstrapMixin, forms.Form):
    """Nominating a case, or editing it; `links=False` hides the linked records (fixed once the review opened)."""

    year = forms.IntegerField(label=_("评选年度"), min_value=FIRST_YEAR, max_value=2100)
    title = forms.CharField(label=_("案例名称"), max_length=200)
    category = forms.ChoiceField(label=_("案例类型"), choices=CaseCategory.choices)
    summary = forms.CharField(label=_("摘要"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    practice = forms.CharField(label=_("主要做法"), widget=forms.Textarea(attrs={"rows": 6}))
    results = forms.CharField(label=_("取得成效"), widget=forms.Textarea(attrs={"rows": 4}))
    figures = forms.CharField(
        label=_("案例数据"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("每行一项，如“融资金额（万元）: 1000”。"),
    )
    park = forms.ModelChoiceField(label=_("园区"), required=False, queryset=Park.objects.none())
    # Enterprises and loans are named by their identifiers: a national office may reach hundreds of thousands.
    enterprise = forms.CharField(
        label=_("企业统一社会信用代码"), required=False, max_length=18, help_text=_("18位，须在您的权限范围内")
    )
    bank = forms.ModelChoiceField(label=_("银行"), required=False, queryset=Organisation.objects.none())
    loan = forms.CharField(label=_("贷款编号"), required=False, max_length=32)

    def __init__(self, *args: Any, user: Any, links: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if not links:
            for name in ("park", "enterprise", "bank", "loan"):
                del self.fields[name]
            return
        choices: dict[str, Any] = {
            "park": Park.objects.restrict(user, Action.VIEW).select_related("region").order_by("region__code", "name"),
            "bank": Organisation.objects.filter(kind=OrganisationKind.BANK, is_active=True).order_by("tree_path"),
        }
        for name, queryset in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = queryset

    def clean_enterprise(self) -> Enterprise | None:
        uscc = (self.cleaned_data.get("enterprise") or "").strip().upper()
        if not uscc:
            return None
        found = Enterprise.objects.restrict(self.user, Action.VIEW).filter(uscc=uscc).first()
        if found is None:
            raise ValidationError(_("企业不存在或不在您的权限范围内。"), code="not_found")
        return found

    def clean_loan(self) -> Loan | None:
        reference = (self.cleaned_data.get("loan") or "").strip()
        if not reference:
            return None
        found = Loan.objects.restrict(self.user, Action.VIEW).filter(reference=reference).first()
        if found is None:
            raise ValidationError(_("贷款不存在或不在您的权限范围内。"), code="not_found")
        return found

    def clean_figures(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for number, line in enumerate((self.cleaned_data.get("figures") or "").splitlines(), start=1):
            if not line.strip():
                continue
            match = _FIGURE_LINE.match(line)
            if match is None:
                raise ValidationError(_("第%(n)s行应为“名称: 数值”。"), code="invalid", params={"n": number})
            found[match.group(1)[:64]] = match.group(2)[:128]
        if len(found) > MAX_FIGURES:
            raise ValidationError(_("案例数据最多%(max)s项。"), code="max_items", params={"max": MAX_FIGURES})
        return found

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}


class ReviewForm(BootstrapMixin, forms.Form):
    score = forms.IntegerField(label=_("评审得分"), min_value=0, max_value=MAX_SCORE, help_text=_("0–100分"))
    note = forms.CharField(label=_("评审意见"), widget=forms.Textarea(attrs={"rows": 3}))


class DecideForm(BootstrapMixin, forms.Form):
    decision = forms.ChoiceField(label=_("评审结论"), choices=[("select", _("入选")), ("reject", _("不入选"))])
    note = forms.CharField(
        label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text=_("不入选须填写理由。")
    )


class NoteForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("说明"), required=False, max_length=500)
