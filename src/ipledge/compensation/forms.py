"""Forms of the risk-compensation pages (风险补偿). They coerce input and narrow choices to what the user reaches;
the services validate the request as a whole (states, maker-checker, caps, the leverage limit) and write it.

Ratios and shares are typed as percentages (80 for 80%) and handed to the services as fractions ("0.8"), the way
the models and the sharing engine store them; amounts are yuan with two decimals.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import QuerySet
from django.forms import BaseFormSet, formset_factory
from django.utils.translation import gettext_lazy as _

from ipledge.core.context import business_date
from ipledge.core.forms import BootstrapMixin, DateInput, style_fields
from ipledge.core.models import Organisation, Region
from ipledge.core.money import Money
from ipledge.lending.models import Loan
from ipledge.registry.choices import SizeClass

from .choices import ClaimTrigger, FundStatus, RecoveryKind, SharingMode
from .engine.sharing import ROLES
from .models import Scheme, SchemeVersion

HUNDRED = Decimal(100)
MAX_TIERS = 4
ROLE_LABELS = {
    "fund": _("补偿基金"),
    "bank": _("银行"),
    "insurer": _("保险机构"),
    "guarantor": _("担保机构"),
    "valuer": _("评估机构"),
}


def new_idempotency_key() -> str:
    return secrets.token_hex(16)


def amount_field(label: Any, *, required: bool = True, help_text: Any = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=16,
        decimal_places=2,
        required=required,
        help_text=help_text,
        validators=[MinValueValidator(Decimal("0.01"))],
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
    )


def percent_field(
    label: Any, *, required: bool = True, help_text: Any = "", initial: Any = None, minimum: Decimal = Decimal(0)
) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=7,
        decimal_places=4,
        required=required,
        help_text=help_text,
        initial=initial,
        validators=[MinValueValidator(minimum), MaxValueValidator(HUNDRED)],
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "100", "inputmode": "decimal"}),
    )


def fraction(value: Decimal) -> Decimal:
    """A percentage typed by the user as the fraction the services take (80 → 0.8)."""
    return value / HUNDRED


def fraction_text(value: Decimal) -> str:
    """A percentage as the exact decimal string the sharing engine parses (54 → "0.54", 100 → "1")."""
    text = format((value / HUNDRED).normalize(), "f")
    return text


def percent_of(value: Any) -> Decimal | None:
    """A stored fraction (0.8 or "0.8") as the percentage a form shows (80)."""
    if value in (None, ""):
        return None
    return (Decimal(str(value)) * HUNDRED).normalize()


def money(value: Decimal | None) -> Money | None:
    return None if value is None else Money(value)


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


# Funds


class FundForm(BootstrapMixin, forms.Form):
    """A new fund (设立基金) by its manager; the capital is paid in separately as contributions."""

    code = forms.CharField(label=_("基金编号"), max_length=32)
    name = forms.CharField(label=_("基金名称"), max_length=128)
    manager: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("管理机构"), queryset=Organisation.objects.none()
    )
    region = LabelledChoiceField(
        label=_("适用地区"), queryset=Region.objects.none(), label_of=lambda r: f"{r.code} {r.name}"
    )
    sponsors: forms.ModelMultipleChoiceField[Organisation] = forms.ModelMultipleChoiceField(
        label=_("出资方"),
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    capital = amount_field(_("认缴规模（元）"))
    leverage_cap = forms.DecimalField(
        label=_("放大倍数上限"),
        max_digits=6,
        decimal_places=2,
        min_value=Decimal(1),
        max_value=Decimal(100),
        help_text=_("在池贷款本金不超过基金规模的倍数，如 10"),
    )
    liability_capped = forms.BooleanField(
        label=_("以基金总额为限"), required=False, initial=True, help_text=_("代偿总额不超过基金专户余额")
    )
    established_on = forms.DateField(label=_("设立日"), widget=DateInput())
    expires_on = forms.DateField(label=_("存续期至"), required=False, widget=DateInput())
    idle_days = forms.IntegerField(label=_("闲置预警期（天）"), min_value=1, max_value=3650, initial=365)
    idle_utilisation = percent_field(_("闲置使用率阈值（%）"), initial=30, help_text=_("如 30 表示 30%"))

    def __init__(
        self,
        *args: Any,
        managers: QuerySet[Organisation],
        regions: QuerySet[Region],
        sponsors: QuerySet[Organisation],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "manager", managers)
        _limit(self, "region", regions)
        _limit(self, "sponsors", sponsors)
        self.fields["established_on"].initial = business_date()
        only = list(managers[:2])
        if len(only) == 1:  # the manager's own fund, in the manager's own region
            self.fields["manager"].initial = only[0].pk
            self.fields["region"].initial = only[0].region_id

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "code": d["code"],
            "name": d["name"],
            "manager": d["manager"],
            "region": d["region"],
            "sponsors": list(d.get("sponsors") or []),
            "capital": Money(d["capital"]),
            "leverage_cap": d["leverage_cap"],
            "liability_capped": bool(d.get("liability_capped")),
            "established_on": d["established_on"],
            "expires_on": d.get("expires_on"),
            "idle_days": d["idle_days"],
            "idle_utilisation": fraction(d["idle_utilisation"]),
        }


class FundEditForm(BootstrapMixin, forms.Form):
    """The fields `services.FUND_EDITABLE` lets the manager change."""

    name = forms.CharField(label=_("基金名称"), max_length=128)
    capital = amount_field(_("认缴规模（元）"))
    leverage_cap = forms.DecimalField(
        label=_("放大倍数上限"), max_digits=6, decimal_places=2, min_value=Decimal(1), max_value=Decimal(100)
    )
    liability_capped = forms.BooleanField(label=_("以基金总额为限"), required=False)
    status = forms.ChoiceField(label=_("状态"), choices=FundStatus.choices)
    expires_on = forms.DateField(label=_("存续期至"), required=False, widget=DateInput())
    idle_days = forms.IntegerField(label=_("闲置预警期（天）"), min_value=1, max_value=3650)
    idle_utilisation = percent_field(_("闲置使用率阈值（%）"))

    @classmethod
    def initial_for(cls, fund: Any) -> dict[str, Any]:
        return {
            "name": fund.name,
            "capital": fund.capital.amount,
            "leverage_cap": fund.leverage_cap,
            "liability_capped": fund.liability_capped,
            "status": fund.status,
            "expires_on": fund.expires_on,
            "idle_days": fund.idle_days,
            "idle_utilisation": percent_of(fund.idle_utilisation),
        }

    def changes(self, fund: Any) -> dict[str, Any]:
        """Only what changed, as the service takes it (money as Money, the threshold as a fraction)."""
        d = self.cleaned_data
        values = {
            "name": d["name"].strip(),
            "capital": Money(d["capital"]),
            "leverage_cap": d["leverage_cap"],
            "liability_capped": bool(d.get("liability_capped")),
            "status": d["status"],
            "expires_on": d.get("expires_on"),
            "idle_days": d["idle_days"],
            "idle_utilisation": fraction(d["idle_utilisation"]),
        }
        return {name: value for name, value in values.items() if getattr(fund, name) != value}


class ContributionForm(BootstrapMixin, forms.Form):
    """A sponsor's capital paid into the fund's account (出资到账). The idempotency key is generated into the page,
    so a second click of the same form records the contribution once."""

    sponsor: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("出资方"), queryset=Organisation.objects.none()
    )
    amount = amount_field(_("出资金额（元）"))
    paid_on = forms.DateField(label=_("到账日"), widget=DateInput())
    reference = forms.CharField(label=_("银行流水号"), max_length=64, required=False)
    idempotency_key = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput())

    def __init__(self, *args: Any, sponsors: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "sponsor", sponsors)
        self.fields["paid_on"].initial = business_date()
        self.fields["idempotency_key"].initial = new_idempotency_key()


class StressForm(BootstrapMixin, forms.Form):
    """A Monte Carlo adequacy stress test; blank assumptions use the documented defaults (or the fund's history)."""

    simulations = forms.IntegerField(label=_("模拟次数"), min_value=100, max_value=200_000, initial=10_000)
    recovery_mean = forms.DecimalField(
        label=_("平均回收率"),
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(1),
        decimal_places=4,
        help_text=_("0 到 1 之间，如 0.3；留空使用默认假设"),
    )
    recovery_sd = forms.DecimalField(
        label=_("回收率标准差"), required=False, min_value=Decimal(0), max_value=Decimal(1), decimal_places=4
    )
    correlation = forms.DecimalField(
        label=_("违约相关性"), required=False, min_value=Decimal(0), max_value=Decimal(1), decimal_places=4
    )

    def overrides(self) -> dict[str, Decimal]:
        d = self.cleaned_data
        return {name: d[name] for name in ("recovery_mean", "recovery_sd", "correlation") if d.get(name) is not None}


# Schemes and versions


class SchemeForm(BootstrapMixin, forms.Form):
    code = forms.CharField(label=_("方案编号"), max_length=32)
    name = forms.CharField(label=_("方案名称"), max_length=128)


class VersionForm(BootstrapMixin, forms.Form):
    """The rules of a scheme version apart from the sharing tiers (a formset of `TierForm` beside it)."""

    effective_from = forms.DateField(label=_("生效日"), widget=DateInput())
    # Eligibility (准入条件)
    ip_only = forms.BooleanField(label=_("仅限纯知识产权质押"), required=False)
    min_ip_share = percent_field(
        _("知识产权最低占比（%）"), initial=0, help_text=_("知识产权在全部担保物中的价值占比下限，如 50")
    )
    covers_ip_share_only = forms.BooleanField(
        label=_("仅补偿知识产权对应部分"), required=False, help_text=_("组合担保贷款只按知识产权占比计算代偿敞口")
    )
    enterprise_sizes = forms.MultipleChoiceField(
        label=_("企业规模"),
        choices=SizeClass.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不选表示不限"),
    )
    requires_whitelist = forms.BooleanField(
        label=_("须为授信白名单企业"), required=False, help_text=_("借款企业入池时须在所在园区现行授信白名单内")
    )
    region_prefixes = forms.CharField(
        label=_("适用地区代码前缀"),
        max_length=200,
        required=False,
        help_text=_("以逗号分隔，如 11, 3201；留空表示基金所在地区"),
    )
    max_principal = amount_field(_("单户贷款本金上限（元）"), required=False)
    max_term_months = forms.IntegerField(label=_("贷款期限上限（月）"), min_value=1, max_value=600, required=False)
    enrol_window_days = forms.IntegerField(
        label=_("放款后入池期限（天）"),
        min_value=0,
        max_value=3650,
        initial=30,
        help_text=_("贷款须在首次放款后这么多天内入池"),
    )
    # Loss sharing (风险分担)
    sharing_mode = forms.ChoiceField(label=_("分担方式"), choices=SharingMode.choices, initial=SharingMode.WHOLE)
    covers_interest = forms.BooleanField(label=_("补偿利息损失"), required=False)
    advance_ratio = percent_field(
        _("先行拨付比例（%）"),
        initial=100,
        minimum=Decimal("0.01"),
        help_text=_("基金应分担部分中先行拨付的比例，如 100 表示全额先行拨付"),
    )
    cap_per_loan = amount_field(_("单笔代偿上限（元）"), required=False)
    cap_per_enterprise = amount_field(_("单户代偿上限（元）"), required=False)
    cap_per_year = amount_field(_("年度代偿上限（元）"), required=False)
    # Claim preconditions (代偿条件)
    trigger = forms.ChoiceField(
        label=_("代偿触发条件"), choices=ClaimTrigger.choices, initial=ClaimTrigger.NON_PERFORMING
    )
    trigger_days_overdue = forms.IntegerField(label=_("逾期天数"), min_value=1, max_value=3650, initial=90)
    requires_collection_evidence = forms.BooleanField(label=_("须提供追偿材料"), required=False, initial=True)
    claim_window_days = forms.IntegerField(
        label=_("申请时限（天）"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("贷款进入不良后须在这么多天内申请代偿；留空表示不限"),
    )
    pledge_before_npl = forms.BooleanField(label=_("质押登记须早于不良"), required=False, initial=True)
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["effective_from"].initial = business_date()
        self.fields["enterprise_sizes"].widget.attrs["class"] = "form-check-input"

    @classmethod
    def initial_for(cls, version: SchemeVersion) -> dict[str, Any]:
        """A new version starts from the latest one's rules."""

        def yuan(value: Money | None) -> Decimal | None:
            return None if value is None else value.amount

        return {
            "ip_only": version.ip_only,
            "min_ip_share": percent_of(version.min_ip_share),
            "covers_ip_share_only": version.covers_ip_share_only,
            "enterprise_sizes": list(version.enterprise_sizes or []),
            "requires_whitelist": version.requires_whitelist,
            "region_prefixes": ", ".join(version.region_prefixes or []),
            "max_principal": yuan(version.max_principal),
            "max_term_months": version.max_term_months,
            "enrol_window_days": version.enrol_window_days,
            "sharing_mode": version.sharing_mode,
            "covers_interest": version.covers_interest,
            "advance_ratio": percent_of(version.advance_ratio),
            "cap_per_loan": yuan(version.cap_per_loan),
            "cap_per_enterprise": yuan(version.cap_per_enterprise),
            "cap_per_year": yuan(version.cap_per_year),
            "trigger": version.trigger,
            "trigger_days_overdue": version.trigger_days_overdue,
            "requires_collection_evidence": version.requires_collection_evidence,
            "claim_window_days": version.claim_window_days,
            "pledge_before_npl": version.pledge_before_npl,
            "note": version.note,
        }

    def clean_region_prefixes(self) -> list[str]:
        raw = self.cleaned_data.get("region_prefixes") or ""
        return [p.strip() for p in raw.replace("，", ",").replace("、", ",").split(",") if p.strip()]

    def rules(self, tiers: list[dict[str, Any]]) -> dict[str, Any]:
        """The `rules` mapping of `services.scheme_version_draft`."""
        d = self.cleaned_data
        return {
            "effective_from": d["effective_from"],
            "ip_only": bool(d.get("ip_only")),
            "min_ip_share": fraction(d["min_ip_share"]),
            "covers_ip_share_only": bool(d.get("covers_ip_share_only")),
            "enterprise_sizes": list(d.get("enterprise_sizes") or []),
            "requires_whitelist": bool(d.get("requires_whitelist")),
            "region_prefixes": d.get("region_prefixes") or [],
            "max_principal": money(d.get("max_principal")),
            "max_term_months": d.get("max_term_months"),
            "enrol_window_days": d["enrol_window_days"],
            "sharing_mode": d["sharing_mode"],
            "sharing_tiers": tiers,
            "covers_interest": bool(d.get("covers_interest")),
            "advance_ratio": fraction(d["advance_ratio"]),
            "cap_per_loan": money(d.get("cap_per_loan")),
            "cap_per_enterprise": money(d.get("cap_per_enterprise")),
            "cap_per_year": money(d.get("cap_per_year")),
            "trigger": d["trigger"],
            "trigger_days_overdue": d["trigger_days_overdue"],
            "requires_collection_evidence": bool(d.get("requires_collection_evidence")),
            "claim_window_days": d.get("claim_window_days"),
            "pledge_before_npl": bool(d.get("pledge_before_npl")),
            "note": d.get("note") or "",
        }


class TierForm(forms.Form):
    """One band of the loan balance: its upper bound in yuan (blank: unbounded, last band only) and the share of
    each role in percent. A row left entirely blank is ignored."""

    up_to = forms.DecimalField(
        label=_("余额上限（元）"),
        required=False,
        max_digits=16,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal", "placeholder": _("不限")}),
    )
    fund = percent_field(ROLE_LABELS["fund"], required=False)
    bank = percent_field(ROLE_LABELS["bank"], required=False)
    insurer = percent_field(ROLE_LABELS["insurer"], required=False)
    guarantor = percent_field(ROLE_LABELS["guarantor"], required=False)
    valuer = percent_field(ROLE_LABELS["valuer"], required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_fields(self.fields)

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        return all(data.get(name) in (None, "") for name in ("up_to", *ROLES))

    def tier(self) -> dict[str, Any]:
        """The tier as `engine.sharing.rule_from_data` reads it: yuan string bound, fraction strings per role."""
        d = self.cleaned_data
        shares: dict[str, str] = {}
        for role in ROLES:
            value = d.get(role)
            if role in ("fund", "bank"):
                shares[role] = fraction_text(value or Decimal(0))
            elif value:
                shares[role] = fraction_text(value)
        up_to = d.get("up_to")
        return {"up_to": None if up_to is None else f"{up_to:.2f}", "shares": shares}

    @classmethod
    def initial_for(cls, tier: dict[str, Any]) -> dict[str, Any]:
        shares = tier.get("shares") or {}
        up_to = tier.get("up_to")
        return {
            "up_to": None if up_to is None else Decimal(str(up_to)),
            **{r: percent_of(shares.get(r)) for r in ROLES},
        }


class BaseTierFormSet(BaseFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if not self.tiers():
            raise ValidationError(_("请至少填写一档分担比例。"), code="required")

    def tiers(self) -> list[dict[str, Any]]:
        return [form.tier() for form in self.forms if hasattr(form, "cleaned_data") and not form.is_blank()]


def tier_formset(data: Any = None, *, initial: list[dict[str, Any]] | None = None) -> BaseTierFormSet:
    rows = list(initial or [])[:MAX_TIERS]
    formset_class = formset_factory(
        TierForm,
        formset=BaseTierFormSet,
        extra=MAX_TIERS - len(rows),
        max_num=MAX_TIERS,
        absolute_max=MAX_TIERS,
        validate_max=True,
    )
    # Every row is cleaned, prefilled or not (an unchanged prefilled row is still a tier); blank rows are skipped.
    return formset_class(data, initial=rows, prefix="tiers", form_kwargs={"empty_permitted": False})  # type: ignore[return-value]


# Enrolment and claims


class EnrolForm(BootstrapMixin, forms.Form):
    """A bank enrols one of its IP-pledge loans (入池) under a fund's scheme."""

    loan = LabelledChoiceField(
        label=_("贷款"),
        queryset=Loan.objects.none(),
        label_of=lambda loan: (
            f"{loan.reference} · {loan.borrower.name} · {(loan.principal or loan.requested_amount).amount:,.2f}"
        ),
    )
    scheme = LabelledChoiceField(
        label=_("补偿方案"), queryset=Scheme.objects.none(), label_of=lambda s: f"{s.fund.name} · {s.code} {s.name}"
    )
    ip_share = percent_field(
        _("知识产权占比（%）"),
        initial=100,
        minimum=Decimal("0.01"),
        help_text=_("知识产权在全部担保物中的价值占比，纯知识产权质押为 100"),
    )
    insurer: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("保险机构"), queryset=Organisation.objects.none(), required=False, empty_label=_("— 无 —")
    )
    guarantor: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("担保机构"), queryset=Organisation.objects.none(), required=False, empty_label=_("— 无 —")
    )
    valuer: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("评估机构"), queryset=Organisation.objects.none(), required=False, empty_label=_("— 无 —")
    )

    def __init__(
        self,
        *args: Any,
        loans: QuerySet[Loan],
        schemes: QuerySet[Scheme],
        parties: dict[str, QuerySet[Organisation]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "loan", loans)
        _limit(self, "scheme", schemes)
        for role, queryset in parties.items():
            _limit(self, role, queryset)


class ClaimFileForm(BootstrapMixin, forms.Form):
    collection_efforts = forms.CharField(
        label=_("追偿措施"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("已采取的追偿措施，如起诉、申请财产保全、申请执行"),
    )
    unpaid_interest = forms.DecimalField(
        label=_("欠息（元）"),
        required=False,
        max_digits=16,
        decimal_places=2,
        min_value=Decimal(0),
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )


class NoteForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("意见"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ReviewForm(NoteForm):
    note = forms.CharField(
        label=_("初审意见"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ApproveForm(NoteForm):
    note = forms.CharField(
        label=_("审批意见"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RejectForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("驳回理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class WithdrawForm(NoteForm):
    note = forms.CharField(
        label=_("撤回说明"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ClearForm(NoteForm):
    note = forms.CharField(
        label=_("清算说明"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class VersionRejectForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("退回理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ReleaseForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=_("出池原因"), max_length=255)


class RecoveryForm(BootstrapMixin, forms.Form):
    """Money recovered after the advance. The idempotency key is generated into the page, so a double submit of
    the same form records the recovery once."""

    kind = forms.ChoiceField(label=_("回收方式"), choices=RecoveryKind.choices)
    value_date = forms.DateField(label=_("到账日"), widget=DateInput())
    gross_amount = amount_field(_("回收金额（元）"))
    costs = forms.DecimalField(
        label=_("处置费用（元）"),
        required=False,
        max_digits=16,
        decimal_places=2,
        min_value=Decimal(0),
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )
    source_reference = forms.CharField(label=_("来源单据"), max_length=64, required=False)
    note = forms.CharField(label=_("说明"), max_length=255, required=False)
    idempotency_key = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["value_date"].initial = business_date()
        self.fields["idempotency_key"].initial = new_idempotency_key()


class PayForm(BootstrapMixin, forms.Form):
    """The payer (or the fund manager) confirms an instruction was paid."""

    reference = forms.CharField(label=_("银行流水号"), max_length=64, required=False)
    paid_on = forms.DateField(label=_("支付日"), required=False, widget=DateInput())
    next = forms.CharField(required=False, widget=forms.HiddenInput())


class EntryReverseForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=_("冲正原因"), max_length=255)
