"""Forms of the banking pages (白名单推送与意向性授信额度): the bank's whitelist filters, subscriptions, credit
decisions, intended credit lines and their allocations. The services check every rule again; these forms only
parse the input and offer the choices within the user's reach."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ipledge.core.context import business_date
from ipledge.core.forms import BootstrapMixin, DateInput
from ipledge.core.models import Organisation, Region
from ipledge.core.money import Money
from ipledge.registry.models import Park

from .choices import DecisionOutcome, LineBasis
from .models import LineAllocation, WhitelistEntry
from .selectors_banking import EntryFilters

DECIDED_CHOICES = (("", _("全部")), ("no", _("未作决定")), ("yes", _("已作决定")))


def money_or_none(value: Decimal | None) -> Money | None:
    return None if value is None else Money(value)


class RegionCodeField(forms.CharField):
    """A 6-digit administrative division code (行政区划代码), cleaned to its `Region`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 6)
        kwargs.setdefault("help_text", _("6 位行政区划代码，如 110000（北京市）、320100（南京市）"))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Region | None:  # type: ignore[override]
        code = (super().clean(value) or "").strip()
        if not code:
            return None
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise ValidationError(_("行政区划代码 %(code)s 不存在。"), code="not_found", params={"code": code})
        return region


class BankWhitelistFilterForm(BootstrapMixin, forms.Form):
    park = forms.ModelChoiceField(label=_("园区"), queryset=Park.objects.none(), required=False)
    region = RegionCodeField(label=_("地区代码"), required=False, help_text="")
    min_score = forms.DecimalField(label=_("评分不低于"), required=False, min_value=0, max_digits=6, decimal_places=2)
    decided = forms.ChoiceField(label=_("授信决定"), choices=DECIDED_CHOICES, required=False)

    def __init__(self, *args: Any, parks: QuerySet[Park], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["park"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = parks

    def filters(self) -> EntryFilters:
        """The filters of a valid form (an invalid form filters nothing out: its errors are shown instead)."""
        if not self.is_bound or not self.is_valid():
            return EntryFilters()
        data = self.cleaned_data
        decided = {"yes": True, "no": False}.get(data.get("decided") or "")
        park = data.get("park")
        return EntryFilters(
            park_id=park.pk if park is not None else None,
            region=data.get("region"),
            min_score=data.get("min_score"),
            decided=decided,
        )


class SubscriptionForm(BootstrapMixin, forms.Form):
    bank = forms.ModelChoiceField(label=_("订阅银行"), queryset=Organisation.objects.none())
    park = forms.ModelChoiceField(
        label=_("园区"), queryset=Park.objects.none(), required=False, help_text=_("订阅一个园区的白名单")
    )
    region = RegionCodeField(
        label=_("地区代码"),
        required=False,
        help_text=_("或订阅一个地区（含下辖各级）所有园区的白名单，如 110000、320100"),
    )

    def __init__(self, *args: Any, banks: QuerySet[Organisation], parks: QuerySet[Park], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bank = self.fields["bank"]
        park = self.fields["park"]
        assert isinstance(bank, forms.ModelChoiceField) and isinstance(park, forms.ModelChoiceField)
        bank.queryset = banks
        park.queryset = parks
        if banks.count() == 1:
            bank.initial = banks.first()


class AllocationChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, allocation: LineAllocation) -> str:  # type: ignore[override]
        line = allocation.line
        free = allocation.amount - allocation.utilised
        basis = line.ipc_group or line.brand
        return gettext("%(park)s · %(basis)s · 可用 %(free)s 元（至 %(end)s）") % {
            "park": line.park.name,
            "basis": basis,
            "free": f"{free.amount:,.2f}",
            "end": f"{line.valid_to:%Y-%m-%d}",
        }


class EntryChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, entry: WhitelistEntry) -> str:  # type: ignore[override]
        score = f"{entry.score}" if entry.score is not None else "—"
        return gettext("%(name)s（评分 %(score)s）") % {"name": entry.enterprise.name, "score": score}


class DecisionForm(BootstrapMixin, forms.Form):
    outcome = forms.ChoiceField(
        label=_("决定"), choices=DecisionOutcome.choices, widget=forms.RadioSelect, initial=DecisionOutcome.GRANTED
    )
    amount = forms.DecimalField(
        label=_("授信金额（元）"), required=False, min_value=Decimal("0.01"), max_digits=15, decimal_places=2
    )
    term_months = forms.IntegerField(label=_("授信期限（月）"), required=False, min_value=1, max_value=360)
    renewal_without_repayment = forms.BooleanField(
        label=_("无还本续贷"), required=False, help_text=_("到期可无需偿还本金直接续贷")
    )
    allocation = AllocationChoiceField(
        label=_("占用园区意向额度"),
        queryset=LineAllocation.objects.none(),
        required=False,
        help_text=_("可选：从园区分配给该企业的意向性授信额度中占用"),
    )
    decided_on = forms.DateField(label=_("决定日"), required=False, widget=DateInput())
    note = forms.CharField(label=_("说明"), required=False, max_length=255)

    def __init__(self, *args: Any, allocations: QuerySet[LineAllocation], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("decided_on", business_date())
        super().__init__(*args, **kwargs)
        field = self.fields["allocation"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = allocations
        self.fields["outcome"].widget.attrs.pop("class", None)


class LineForm(BootstrapMixin, forms.Form):
    bank = forms.ModelChoiceField(label=_("授信银行"), queryset=Organisation.objects.none())
    park = forms.ModelChoiceField(label=_("园区"), queryset=Park.objects.all())
    basis = forms.ChoiceField(label=_("授信依据"), choices=LineBasis.choices)
    ipc_group = forms.CharField(
        label=_("IPC 组"),
        required=False,
        max_length=32,
        help_text=_("产业专利集群：小类（如 H01L）或大组（如 H01L 21/）"),
    )
    brand = forms.CharField(label=_("区域品牌"), required=False, max_length=128)
    amount = forms.DecimalField(label=_("意向额度（元）"), min_value=Decimal("0.01"), max_digits=15, decimal_places=2)
    valid_from = forms.DateField(label=_("有效期起"), widget=DateInput())
    valid_to = forms.DateField(label=_("有效期止"), widget=DateInput())
    conditions = forms.CharField(label=_("授信条件"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, banks: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["bank"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = banks
        if banks.count() == 1:
            field.initial = banks.first()


class AllocationForm(BootstrapMixin, forms.Form):
    entry = EntryChoiceField(label=_("白名单企业"), queryset=WhitelistEntry.objects.none())
    amount = forms.DecimalField(label=_("分配额度（元）"), min_value=Decimal("0.01"), max_digits=15, decimal_places=2)
    note = forms.CharField(label=_("备注"), required=False, max_length=255)

    def __init__(self, *args: Any, entries: QuerySet[WhitelistEntry], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["entry"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = entries
