"""Forms of the impact analysis (成效分析) page and the yearly enterprise figures (企业年度经营数据)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core.forms import BootstrapMixin
from ipledge.core.money import Money
from ipledge.registry.models import Enterprise

from .choices import FinancialsSource
from .services.financials import EARLIEST_YEAR, FIGURES, MONEY_FIGURES


def _money_field(label: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, required=False, min_value=Decimal(0), max_digits=16, decimal_places=2, help_text=_("单位：元")
    )


def _count_field(label: Any) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, min_value=0)


class ImpactFilterForm(BootstrapMixin, forms.Form):
    year = forms.TypedChoiceField(label=_("获贷年度"), coerce=int, required=False)
    province = forms.ChoiceField(label=_("省份"), required=False)

    def __init__(self, *args: Any, years: list[int], provinces: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(y, str(y)) for y in years]  # type: ignore[attr-defined]
        self.fields["province"].choices = [("", _("全部"))] + provinces  # type: ignore[attr-defined]


class FinancialsFilterForm(BootstrapMixin, forms.Form):
    enterprise = forms.CharField(label=_("企业名称"), required=False, max_length=64)
    year = forms.IntegerField(label=_("年度"), required=False, min_value=EARLIEST_YEAR, max_value=2100)
    province = forms.ChoiceField(label=_("省份"), required=False)
    source = forms.ChoiceField(label=_("来源"), required=False, choices=[("", _("全部")), *FinancialsSource.choices])

    def __init__(self, *args: Any, provinces: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["province"].choices = [("", _("全部"))] + provinces  # type: ignore[attr-defined]


class FinancialsForm(BootstrapMixin, forms.Form):
    """Create (enterprise and year chosen) or edit (figures only; `updated_at` guards against a newer edit)."""

    enterprise = forms.ModelChoiceField(label=_("企业"), queryset=Enterprise.objects.none())
    year = forms.IntegerField(label=_("年度"), min_value=EARLIEST_YEAR, max_value=2100)
    rd_spending = _money_field(_("研发投入（元）"))
    revenue = _money_field(_("营业收入（元）"))
    employees = _count_field(_("从业人员"))
    patents_held = _count_field(_("有效专利数"))
    patents_implemented = _count_field(_("已实施专利数"))
    updated_at = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, enterprises: QuerySet[Enterprise] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if enterprises is None:
            # Editing: the row's enterprise and year are fixed.
            del self.fields["enterprise"]
            del self.fields["year"]
        else:
            self.fields["enterprise"].queryset = enterprises.order_by("name")  # type: ignore[attr-defined]
            del self.fields["updated_at"]

    def figures(self) -> dict[str, Any]:
        """The figures as the service takes them (money as `Money`, blanks as None)."""
        d = self.cleaned_data
        out: dict[str, Any] = {}
        for name in FIGURES:
            value = d.get(name)
            out[name] = Money(value) if name in MONEY_FIGURES and value is not None else value
        return out
