"""Forms and list filters of the demand pages (融资项目库, 线索). The services check every rule again; these forms
parse the input and offer only the choices within the user's reach (the enterprise's valid rights, active banks,
the enterprise's granted loans)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import django_filters as filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.forms import BootstrapMixin, DateInput
from ipledge.core.models import Organisation
from ipledge.core.money import Money
from ipledge.registry.choices import LegalStatus
from ipledge.registry.filtersets import StyledFilterSet
from ipledge.registry.models import Enterprise, IPRight, Park

from .choices import DemandPurpose, DemandStatus, LeadResponse
from .models import Demand, Product
from .selectors_demands import kind_label
from .services.demands import DEFAULT_LIFETIME_DAYS

MONEY_KW: dict[str, Any] = {"min_value": Decimal("0.01"), "max_digits": 15, "decimal_places": 2}


def valid_rights(enterprise: Enterprise | None, today: datetime.date | None = None) -> QuerySet[IPRight]:
    """The rights an enterprise may offer: registered to it, legally valid, term not ended."""
    if enterprise is None:
        return IPRight.objects.none()
    today = today or business_date()
    return (
        IPRight.objects.filter(owners__enterprise=enterprise, legal_status=LegalStatus.VALID)
        .filter(Q(term_end__isnull=True) | Q(term_end__gte=today))
        .distinct()
        .order_by("kind", "number")
    )


def active_banks() -> QuerySet[Organisation]:
    return Organisation.objects.filter(kind=OrganisationKind.BANK, is_active=True).order_by("tree_path", "name")


class RightChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, right: IPRight) -> str:  # type: ignore[override]
        end = right.term_end.isoformat() if right.term_end else "—"
        return gettext("%(kind)s %(number)s %(title)s（有效期至 %(end)s）") % {
            "kind": kind_label(right),
            "number": right.number,
            "title": right.title,
            "end": end,
        }


class BankChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, bank: Organisation) -> str:  # type: ignore[override]
        return str(bank.name)


class DemandForm(BootstrapMixin, forms.Form):
    """Post a demand. A park administration picks the member enterprise first (the rights list follows it)."""

    enterprise = forms.ModelChoiceField(label=_("企业"), queryset=Enterprise.objects.none())
    amount = forms.DecimalField(label=_("融资金额（元）"), **MONEY_KW)
    term_months = forms.IntegerField(label=_("融资期限（月）"), min_value=1, max_value=360)
    purpose = forms.ChoiceField(label=_("资金用途"), choices=DemandPurpose.choices)
    description = forms.CharField(
        label=_("需求说明"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    right_ids = RightChoiceField(
        label=_("拟质押知识产权"),
        queryset=IPRight.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("只列出本企业为权利人、法律状态有效且未届满的知识产权"),
    )
    expires_on = forms.DateField(label=_("有效期至"), required=False, widget=DateInput())
    share_with_matching_banks = forms.BooleanField(
        label=_("同意向产品匹配的所有银行推送"),
        required=False,
        initial=True,
        help_text=_("勾选后，凡有产品符合本需求准入条件的银行均可看到本需求"),
    )
    share_bank_ids = BankChoiceField(
        label=_("指定推送银行"),
        queryset=Organisation.objects.none(),
        required=False,
        help_text=_("可另外（或仅）向所选银行推送"),
    )

    def __init__(
        self, *args: Any, enterprises: QuerySet[Enterprise], enterprise: Enterprise | None = None, **kwargs: Any
    ) -> None:
        today = business_date()
        kwargs.setdefault("initial", {}).setdefault(
            "expires_on", today + datetime.timedelta(days=DEFAULT_LIFETIME_DAYS)
        )
        super().__init__(*args, **kwargs)
        ent_field = self.fields["enterprise"]
        assert isinstance(ent_field, forms.ModelChoiceField)
        ent_field.queryset = enterprises
        if enterprise is None and self.is_bound:
            raw = str(self.data.get("enterprise") or "")
            if raw.isdigit():
                enterprise = enterprises.filter(pk=int(raw)).first()
        if enterprise is None and enterprises.count() == 1:
            enterprise = enterprises.first()
        if enterprise is not None:
            ent_field.initial = enterprise.pk
        self.chosen_enterprise = enterprise
        rights = self.fields["right_ids"]
        banks = self.fields["share_bank_ids"]
        assert isinstance(rights, forms.ModelMultipleChoiceField) and isinstance(banks, forms.ModelMultipleChoiceField)
        rights.queryset = valid_rights(enterprise, today)
        rights.widget.attrs.pop("class", None)
        banks.queryset = active_banks()
        banks.widget.attrs["size"] = 6

    def amount_money(self) -> Money:
        return Money(self.cleaned_data["amount"])


class DemandEditForm(BootstrapMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    amount = forms.DecimalField(label=_("融资金额（元）"), **MONEY_KW)
    term_months = forms.IntegerField(label=_("融资期限（月）"), min_value=1, max_value=360)
    purpose = forms.ChoiceField(label=_("资金用途"), choices=DemandPurpose.choices)
    description = forms.CharField(
        label=_("需求说明"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    right_ids = RightChoiceField(
        label=_("拟质押知识产权"), queryset=IPRight.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    expires_on = forms.DateField(label=_("有效期至"), widget=DateInput())

    def __init__(self, *args: Any, demand: Demand, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "version": demand.version,
                "amount": demand.amount.amount,
                "term_months": demand.term_months,
                "purpose": demand.purpose,
                "description": demand.description,
                "right_ids": list(demand.rights.values_list("ip_right_id", flat=True)),
                "expires_on": demand.expires_on,
            },
        )
        super().__init__(*args, **kwargs)
        rights = self.fields["right_ids"]
        assert isinstance(rights, forms.ModelMultipleChoiceField)
        # Rights already offered stay listed (so an edit can drop one that lapsed meanwhile).
        offered = demand.rights.values("ip_right_id")
        rights.queryset = (
            IPRight.objects.filter(Q(pk__in=valid_rights(demand.enterprise).values("pk")) | Q(pk__in=offered))
            .distinct()
            .order_by("kind", "number")
        )
        rights.widget.attrs.pop("class", None)


class ShareForm(BootstrapMixin, forms.Form):
    share_with_matching_banks = forms.BooleanField(
        label=_("同意向产品匹配的所有银行推送"),
        required=False,
        help_text=_("勾选后，凡有产品符合本需求准入条件的银行均可看到本需求"),
    )
    share_bank_ids = BankChoiceField(
        label=_("指定推送银行"),
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, demand: Demand, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "share_with_matching_banks": demand.share_with_matching_banks,
                "share_bank_ids": list(demand.shares.values_list("bank_id", flat=True)),
            },
        )
        super().__init__(*args, **kwargs)
        banks = self.fields["share_bank_ids"]
        assert isinstance(banks, forms.ModelMultipleChoiceField)
        banks.queryset = active_banks()
        banks.widget.attrs.pop("class", None)


class WithdrawForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("撤回原因"), required=False, max_length=500)


class LoanChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, loan: Any) -> str:  # type: ignore[override]
        amount = loan.principal or loan.requested_amount
        return gettext("%(ref)s · %(bank)s · %(amount)s 元 · %(status)s") % {
            "ref": loan.reference,
            "bank": loan.bank.name,
            "amount": f"{amount.amount:,.2f}",
            "status": loan.get_status_display(),
        }


class LinkLoanForm(BootstrapMixin, forms.Form):
    loan = LoanChoiceField(label=_("对应贷款"), queryset=Demand.objects.none())

    def __init__(self, *args: Any, loans: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["loan"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = loans


RESPOND_CHOICES = [
    (LeadResponse.INTERESTED, LeadResponse.INTERESTED.label),
    (LeadResponse.CONTACTED, LeadResponse.CONTACTED.label),
    (LeadResponse.DECLINED, LeadResponse.DECLINED.label),
]


class LeadRespondForm(BootstrapMixin, forms.Form):
    response = forms.ChoiceField(label=_("反馈"), choices=RESPOND_CHOICES, widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("反馈说明"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["response"].widget.attrs.pop("class", None)


# ---------------------------------------------------------------------------
# List filters
# ---------------------------------------------------------------------------

ACTIVE_CHOICES = (("active", _("进行中")), ("closed", _("已办结")))


class DemandFilterSet(StyledFilterSet):
    q = filters.CharFilter(label=_("编号/企业"), method="filter_q")
    enterprise = filters.ModelChoiceFilter(label=_("企业"), queryset=Enterprise.objects.none(), empty_label=_("全部"))
    status = filters.ChoiceFilter(label=_("状态"), choices=DemandStatus.choices, empty_label=_("全部"))
    purpose = filters.ChoiceFilter(label=_("资金用途"), choices=DemandPurpose.choices, empty_label=_("全部"))
    state = filters.ChoiceFilter(label=_("进展"), choices=ACTIVE_CHOICES, method="filter_state", empty_label=_("全部"))

    class Meta:
        model = Demand
        fields = ["q", "enterprise", "status", "purpose", "state"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        enterprises = Enterprise.objects.filter(pk__in=self.queryset.values("enterprise_id")).order_by("name")
        self.filters["enterprise"].queryset = enterprises
        self.form.fields["enterprise"].queryset = enterprises  # type: ignore[attr-defined]

    def filter_q(self, queryset: QuerySet[Demand], name: str, value: str) -> QuerySet[Demand]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(reference__icontains=value) | Q(enterprise__name__icontains=value))

    def filter_state(self, queryset: QuerySet[Demand], name: str, value: str) -> QuerySet[Demand]:
        from .choices import ACTIVE_DEMAND_STATUSES

        if value == "active":
            return queryset.filter(status__in=ACTIVE_DEMAND_STATUSES)
        if value == "closed":
            return queryset.exclude(status__in=ACTIVE_DEMAND_STATUSES)
        return queryset


RESPONSE_FILTER_CHOICES = (
    ("none", _("未反馈")),
    (LeadResponse.INTERESTED, LeadResponse.INTERESTED.label),
    (LeadResponse.CONTACTED, LeadResponse.CONTACTED.label),
    (LeadResponse.DECLINED, LeadResponse.DECLINED.label),
)
LEAD_STATE_CHOICES = (("active", _("需求进行中")), ("all", _("全部需求")))


class LeadFilterForm(BootstrapMixin, forms.Form):
    product = forms.ModelChoiceField(label=_("产品"), queryset=Product.objects.none(), required=False)
    response = forms.ChoiceField(label=_("反馈"), choices=(("", _("全部")), *RESPONSE_FILTER_CHOICES), required=False)
    park = forms.ModelChoiceField(label=_("园区"), queryset=Park.objects.none(), required=False)
    state = forms.ChoiceField(label=_("需求状态"), choices=LEAD_STATE_CHOICES, required=False)

    def __init__(self, *args: Any, products: QuerySet[Product], parks: QuerySet[Park], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        product = self.fields["product"]
        park = self.fields["park"]
        assert isinstance(product, forms.ModelChoiceField) and isinstance(park, forms.ModelChoiceField)
        product.queryset = products
        park.queryset = parks

    def filters(self) -> Any:
        from .selectors_demands import LeadFilters

        if not self.is_bound or not self.is_valid():
            return LeadFilters()
        d = self.cleaned_data
        response = d.get("response") or None
        return LeadFilters(
            product_id=d["product"].pk if d.get("product") else None,
            response=LeadResponse.NONE if response == "none" else response,
            park_id=d["park"].pk if d.get("park") else None,
            active=d.get("state") != "all",
        )


class UnmetFilterForm(BootstrapMixin, forms.Form):
    park = forms.ModelChoiceField(label=_("园区"), queryset=Park.objects.none(), required=False)

    def __init__(self, *args: Any, parks: QuerySet[Park], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        park = self.fields["park"]
        assert isinstance(park, forms.ModelChoiceField)
        park.queryset = parks
