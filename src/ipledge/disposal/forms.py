"""Forms of the disposal pages (质物处置). They coerce input and narrow choices to what the user reaches; the
services decide the rest (states, maker-checker, who may bid, the minimum bid) and write it.

Amounts are yuan with two decimals, handed to the services as `Money`.
"""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipledge.core.context import business_date
from ipledge.core.forms import BootstrapMixin, DateInput
from ipledge.core.models import Organisation
from ipledge.core.money import Money
from ipledge.lending.models import Loan

from .choices import Route
from .models import DisposalCase


def new_idempotency_key() -> str:
    return secrets.token_hex(16)


def amount_field(
    label: Any, *, required: bool = True, help_text: Any = "", minimum: Decimal = Decimal("0.01")
) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=16,
        decimal_places=2,
        required=required,
        help_text=help_text,
        min_value=minimum,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": str(minimum), "inputmode": "decimal"}),
    )


def money(value: Decimal | None) -> Money | None:
    return None if value is None else Money(value)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def _limit(form: forms.BaseForm, name: str, queryset: QuerySet[Any]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = queryset


class LabelledChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def __init__(self, *args: Any, label_of: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label_of = label_of

    def label_from_instance(self, obj: Any) -> str:
        return str(self.label_of(obj))


# Cases


class CaseOpenForm(BootstrapMixin, forms.Form):
    """The bank opens a case (立案处置) on one of its defaulted or non-performing loans."""

    loan = LabelledChoiceField(
        label=_("贷款"),
        queryset=Loan.objects.none(),
        label_of=lambda loan: f"{loan.reference} · {loan.borrower.name}",
        widget=forms.HiddenInput(),
    )
    note = forms.CharField(label=_("立案说明"), max_length=2000, required=False)

    def __init__(self, *args: Any, loans: QuerySet[Loan], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "loan", loans)


class RevalueForm(BootstrapMixin, forms.Form):
    """A fresh machine valuation (机评) of the case's rights, optionally prepared with a valuation agency."""

    agency: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("评估机构"), queryset=Organisation.objects.none(), required=False, empty_label=_("— 平台机评 —")
    )

    def __init__(self, *args: Any, agencies: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "agency", agencies)


class ProposeRouteForm(BootstrapMixin, forms.Form):
    route = forms.ChoiceField(label=_("处置方式"), choices=Route.choices)
    platform: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("处置平台"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=_("— 无 —"),
        help_text=_("网络拍卖须指定知识产权交易/处置平台"),
    )
    acquirer: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("收储机构"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=_("— 无 —"),
        help_text=_("第三方收储须指定收储机构"),
    )
    note = forms.CharField(
        label=_("处置方案说明"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(
        self, *args: Any, platforms: QuerySet[Organisation], acquirers: QuerySet[Organisation], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "platform", platforms)
        _limit(self, "acquirer", acquirers)

    def party(self) -> Organisation | None:
        """The platform (auction) or the acquirer (acquisition) the route names; other routes name none."""
        d = self.cleaned_data
        if d["route"] == Route.AUCTION:
            return d.get("platform")  # type: ignore[no-any-return]
        if d["route"] == Route.ACQUISITION:
            return d.get("acquirer")  # type: ignore[no-any-return]
        return None

    def party_field(self) -> str:
        return "acquirer" if self.cleaned_data.get("route") == Route.ACQUISITION else "platform"


class SaleForm(BootstrapMixin, forms.Form):
    """A negotiated transfer (协议转让) or a third-party acquisition (第三方收储) at an agreed price."""

    buyer: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("买受人"), queryset=Organisation.objects.none()
    )
    price = amount_field(_("成交价（元）"))

    def __init__(self, *args: Any, buyers: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "buyer", buyers)


class PaymentForm(BootstrapMixin, forms.Form):
    paid_on = forms.DateField(label=_("价款付清日"), required=False, widget=DateInput(), help_text=_("留空为今天"))


class DistributeForm(BootstrapMixin, forms.Form):
    costs = amount_field(
        _("处置费用（元）"), minimum=Decimal(0), help_text=_("拍卖佣金、评估、过户等费用，先于银行受偿")
    )


class LicenceIncomeForm(BootstrapMixin, forms.Form):
    """Licence income under 许可运营. The idempotency key is generated into the page, so a double submit of the
    same form records the income once."""

    licensee = forms.CharField(label=_("被许可人"), max_length=128)
    received_on = forms.DateField(label=_("到账日"), widget=DateInput())
    amount = amount_field(_("许可收入（元）"))
    costs = amount_field(_("运营费用（元）"), required=False, minimum=Decimal(0))
    idempotency_key = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = business_date()
        self.fields["idempotency_key"].initial = new_idempotency_key()


class CloseForm(BootstrapMixin, forms.Form):
    note = forms.CharField(
        label=_("结案说明"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


# Auctions


class SessionForm(BootstrapMixin, forms.Form):
    platform: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("处置平台"), queryset=Organisation.objects.none()
    )
    title = forms.CharField(label=_("场次名称"), max_length=128)
    starts_at = forms.DateTimeField(label=_("开始时间"), widget=DateTimeInput(), input_formats=DATETIME_FORMATS)
    ends_at = forms.DateTimeField(label=_("结束时间"), widget=DateTimeInput(), input_formats=DATETIME_FORMATS)
    extension_minutes = forms.IntegerField(
        label=_("延时周期（分钟）"),
        min_value=0,
        max_value=60,
        initial=5,
        help_text=_("结束前这么多分钟内出价，结束时间顺延至出价后这么多分钟"),
    )

    def __init__(self, *args: Any, platforms: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "platform", platforms)
        only = list(platforms[:2])
        if len(only) == 1:
            self.fields["platform"].initial = only[0].pk
        now = timezone.localtime().replace(second=0, microsecond=0)
        self.fields["starts_at"].initial = now
        self.fields["ends_at"].initial = now + datetime.timedelta(days=1)


def case_label(case: DisposalCase) -> str:
    values = [r.fresh_value or r.prior_value for r in case.rights.all()]
    known = [v for v in values if v is not None]
    total = sum(known, Money(0)) if known else None
    value = _("评估值 %(value)s 元") % {"value": total} if total is not None else _("未评估")
    return f"{case.reference} · {case.pledgor.name} · {value}"


class LotForm(BootstrapMixin, forms.Form):
    case = LabelledChoiceField(label=_("处置案件"), queryset=DisposalCase.objects.none(), label_of=case_label)
    reserve_price = amount_field(_("保留价（元）"))
    deposit = amount_field(_("保证金（元）"), minimum=Decimal(0))
    increment = amount_field(_("加价幅度（元）"))

    def __init__(self, *args: Any, cases: QuerySet[DisposalCase], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "case", cases)


class BidForm(BootstrapMixin, forms.Form):
    amount = amount_field(_("出价（元）"))

    def __init__(self, *args: Any, minimum: Money | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if minimum is not None:
            field = self.fields["amount"]
            field.initial = minimum.amount
            field.widget.attrs["min"] = str(minimum.amount)
            field.help_text = _("最低出价 %(minimum)s 元") % {"minimum": minimum}


class DepositForm(BootstrapMixin, forms.Form):
    paid_on = forms.DateField(label=_("保证金到账日"), required=False, widget=DateInput())
