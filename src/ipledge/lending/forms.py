"""Loan pages' forms (贷款). They coerce input and narrow choices to what the loan or user can reach; the lending
services validate the request as a whole (status, maker-checker, balances) and write it.

Rates and ratios are typed as percentages (3.85 for 3.85%) and handed to the services as fractions (0.0385), the
way the models store them.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, overload

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core.context import business_date
from ipledge.core.forms import BootstrapMixin, DateInput
from ipledge.core.models import Organisation
from ipledge.core.money import Money
from ipledge.registration.models import PledgeRegistration
from ipledge.registry.models import Enterprise, IPRight

from .choices import (
    CoverKind,
    DueDiligenceItem,
    ImplementationStatus,
    InvestmentTermKind,
    LoanClass,
    LprTenor,
    RateType,
    RenewalKind,
    RepaymentMethod,
)
from .models import LoanCollateral, LoanTransaction
from .services import MAX_TERM_MONTHS

HUNDRED = Decimal(100)
MAX_BORROWER_CHOICES = 500


def _amount_field(label: Any, *, required: bool = True, help_text: Any = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=16,
        decimal_places=2,
        required=required,
        help_text=help_text,
        validators=[MinValueValidator(Decimal("0.01"))],
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
    )


def _percent_field(
    label: Any, *, required: bool = True, max_value: Decimal = HUNDRED, help_text: Any = "", **kwargs: Any
) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=9,
        decimal_places=4,
        required=required,
        help_text=help_text,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(max_value)],
        widget=forms.NumberInput(attrs={"step": "0.0001", "min": "0", "inputmode": "decimal"}),
        **kwargs,
    )


@overload
def fraction(value: Decimal) -> Decimal: ...
@overload
def fraction(value: None) -> None: ...
def fraction(value: Decimal | None) -> Decimal | None:
    """A percentage typed by the user as the fraction the services take (3.85 → 0.0385)."""
    return None if value is None else value / HUNDRED


def money(value: Decimal | None) -> Money | None:
    return None if value is None else Money(value)


def new_idempotency_key() -> str:
    return secrets.token_hex(16)


def _limit(form: forms.BaseForm, name: str, queryset: QuerySet[Any]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = queryset


class LabelledChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A model choice whose options read as the page shows the object (number, title…), not its `__str__`."""

    def __init__(self, *args: Any, label_of: Callable[[Any], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label_of = label_of

    def label_from_instance(self, obj: Any) -> str:
        return self.label_of(obj)


# Application


class ApplyForm(BootstrapMixin, forms.Form):
    """A new application (贷款申请): a bank names a borrower it reaches or types its USCC; an enterprise applies
    for itself and picks the bank."""

    borrower: forms.ModelChoiceField[Enterprise] = forms.ModelChoiceField(
        label=_("借款企业"), queryset=Enterprise.objects.none(), required=False, empty_label=_("— 请选择 —")
    )
    borrower_uscc = forms.CharField(
        label=_("或按统一社会信用代码"),
        max_length=40,
        required=False,
        help_text=_("借款企业不在列表中时，按借款合同填写其18位统一社会信用代码。"),
    )
    bank: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("贷款银行（经办机构）"), queryset=Organisation.objects.none()
    )
    requested_amount = _amount_field(_("申请金额（元）"))
    requested_term_months = forms.IntegerField(label=_("申请期限（月）"), min_value=1, max_value=MAX_TERM_MONTHS)
    purpose = forms.CharField(label=_("贷款用途"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(
        self,
        *args: Any,
        borrowers: QuerySet[Enterprise] | None,
        banks: QuerySet[Organisation],
        uscc_lookup: Callable[[str], Enterprise] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # An enterprise applies for itself: no borrower to choose. A bank with many customers types the USCC
        # instead of scrolling a list of thousands.
        self.for_itself = borrowers is None
        if borrowers is None:
            del self.fields["borrower"], self.fields["borrower_uscc"]
        elif borrowers.count() > MAX_BORROWER_CHOICES:
            del self.fields["borrower"]
            self.fields["borrower_uscc"].label = _("借款企业统一社会信用代码")
        else:
            _limit(self, "borrower", borrowers)
        _limit(self, "bank", banks)
        if banks.count() == 1:
            self.fields["bank"].initial = banks.first()
        self.uscc_lookup = uscc_lookup

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.for_itself or self.errors:
            return data
        chosen, uscc = data.get("borrower"), (data.get("borrower_uscc") or "").strip()
        if chosen is None and not uscc:
            self.add_error(
                "borrower" if "borrower" in self.fields else "borrower_uscc",
                ValidationError(_("请选择借款企业或填写其统一社会信用代码。"), code="required"),
            )
        elif chosen is not None and uscc and chosen.uscc != uscc.upper():
            self.add_error(
                "borrower_uscc",
                ValidationError(_("所选企业与填写的统一社会信用代码不一致，请只填一项。"), code="conflict"),
            )
        elif chosen is None and self.uscc_lookup is not None:
            try:
                data["borrower"] = self.uscc_lookup(uscc)
            except ValidationError as exc:
                messages = exc.error_dict.get("pledgor_uscc", exc) if hasattr(exc, "error_dict") else exc
                self.add_error("borrower_uscc", messages)
        return data


# Pre-disbursement steps


class ReasonForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class EmptyForm(forms.Form):
    """An action with nothing to type (start due diligence): the POST and its CSRF token are the whole request."""


class DueDiligenceForm(BootstrapMixin, forms.Form):
    item = forms.ChoiceField(label=_("调查事项"), choices=DueDiligenceItem.choices)
    done = forms.BooleanField(label=_("已完成"), required=False, initial=True)
    note = forms.CharField(label=_("调查结论"), max_length=1000, required=False)


class TermsForm(BootstrapMixin, forms.Form):
    """The terms the maker proposes for approval (提交审批)."""

    principal = _amount_field(_("批准金额（元）"))
    term_months = forms.IntegerField(label=_("期限（月）"), min_value=1, max_value=MAX_TERM_MONTHS)
    rate_type = forms.ChoiceField(label=_("利率类型"), choices=RateType.choices, initial=RateType.FIXED)
    annual_rate = _percent_field(
        _("执行年利率（%）"), required=False, help_text=_("固定利率必填，如 3.85；LPR 浮动利率按报价加点确定。")
    )
    lpr_tenor = forms.ChoiceField(label=_("LPR期限品种"), choices=[("", "—"), *LprTenor.choices], required=False)
    lpr_spread_bp = forms.IntegerField(
        label=_("LPR加点（基点）"), required=False, min_value=-1000, max_value=2000, help_text=_("如 50 表示加 0.50%")
    )
    repricing_months = forms.IntegerField(label=_("重定价周期（月）"), required=False, min_value=1, max_value=60)
    repayment_method = forms.ChoiceField(label=_("还款方式"), choices=RepaymentMethod.choices)
    repayment_interval_months = forms.IntegerField(label=_("还款间隔（月）"), min_value=1, max_value=12, initial=1)
    grace_months = forms.IntegerField(label=_("宽限期（月）"), min_value=0, max_value=60, initial=0)
    penalty_markup = _percent_field(
        _("罚息上浮比例（%）"),
        initial=Decimal(50),
        help_text=_("逾期罚息利率 = 执行利率 ×（1 + 上浮比例），通常为 50。"),
    )
    custom_schedule = forms.CharField(
        label=_("自定义还本计划"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "2027-06-30 500000.00"}),
        help_text=_("仅“自定义还款计划”填写：每行一期，写应还日和本金（元），以空格分隔；本金合计须等于批准金额。"),
    )

    def clean_custom_schedule(self) -> list[dict[str, str]]:
        rows = []
        for number, line in enumerate(str(self.cleaned_data.get("custom_schedule") or "").splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.replace(",", " ").replace("，", " ").split()
            try:
                day = datetime.date.fromisoformat(parts[0])
                amount = Money(Decimal(parts[1]))
            except (IndexError, ValueError, InvalidOperation) as exc:
                raise ValidationError(
                    _("第%(row)s行格式应为“YYYY-MM-DD 金额”。") % {"row": number}, code="custom_row"
                ) from exc
            rows.append({"due_date": day.isoformat(), "principal": str(amount.amount)})
        return rows

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("rate_type") == RateType.FIXED and "annual_rate" in data and data.get("annual_rate") is None:
            self.add_error("annual_rate", ValidationError(_("固定利率须填写执行年利率。"), code="required"))
        if data.get("rate_type") == RateType.LPR and "lpr_tenor" in data and not data.get("lpr_tenor"):
            self.add_error("lpr_tenor", ValidationError(_("LPR浮动利率须选择期限品种。"), code="required"))
        method = data.get("repayment_method")
        if method == RepaymentMethod.CUSTOM and "custom_schedule" in data and not data.get("custom_schedule"):
            self.add_error("custom_schedule", ValidationError(_("自定义还款计划须至少填写一期。"), code="required"))
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        kwargs: dict[str, Any] = {
            "principal": Money(data["principal"]),
            "term_months": data["term_months"],
            "repayment_method": data["repayment_method"],
            "rate_type": data["rate_type"],
            "repayment_interval_months": data["repayment_interval_months"],
            "grace_months": data["grace_months"],
            "penalty_markup": fraction(data["penalty_markup"]),
            "annual_rate": fraction(data.get("annual_rate")),
        }
        if data["rate_type"] == RateType.LPR:
            kwargs.update(
                lpr_tenor=data.get("lpr_tenor") or "",
                lpr_spread_bp=data.get("lpr_spread_bp"),
                repricing_months=data.get("repricing_months"),
            )
        if data["repayment_method"] == RepaymentMethod.CUSTOM:
            kwargs["custom_schedule"] = data["custom_schedule"]
        return kwargs


class DecisionForm(BootstrapMixin, forms.Form):
    note = forms.CharField(
        label=_("审批意见"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RejectForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("拒绝理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ContractForm(BootstrapMixin, forms.Form):
    contract_no = forms.CharField(label=_("借款合同编号"), max_length=64)
    signed_on = forms.DateField(label=_("合同签订日"), widget=DateInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["signed_on"].initial = business_date()


class PledgeLinkForm(BootstrapMixin, forms.Form):
    registration = LabelledChoiceField(
        label=_("质押登记"),
        queryset=PledgeRegistration.objects.none(),
        label_of=lambda r: f"{r.registration_no} · {r.pledgee.name} · {r.registered_on:%Y-%m-%d}",
    )

    def __init__(self, *args: Any, registrations: QuerySet[PledgeRegistration], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "registration", registrations)


# Money movements


class MoneyMovementForm(BootstrapMixin, forms.Form):
    """Disbursement or repayment. The idempotency key is generated into the page, so a second click of the same
    form posts the same key and the service returns the transaction it already booked."""

    amount = _amount_field(_("金额（元）"))
    value_date = forms.DateField(label=_("交易日"), widget=DateInput())
    idempotency_key = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput())

    def __init__(self, *args: Any, amount: Decimal | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["value_date"].initial = business_date()
        self.fields["idempotency_key"].initial = new_idempotency_key()
        if amount is not None:
            self.fields["amount"].initial = amount


class ReverseForm(BootstrapMixin, forms.Form):
    transaction: forms.ModelChoiceField[LoanTransaction] = forms.ModelChoiceField(
        label=_("交易"), queryset=LoanTransaction.objects.none(), widget=forms.HiddenInput()
    )
    reason = forms.CharField(label=_("冲正原因"), max_length=255)

    def __init__(self, *args: Any, transactions: QuerySet[LoanTransaction], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "transaction", transactions)


class RenewForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("续贷方式"), choices=RenewalKind.choices)
    principal = _amount_field(_("续贷金额（元）"))
    term_months = forms.IntegerField(label=_("期限（月）"), min_value=1, max_value=MAX_TERM_MONTHS)
    annual_rate = _percent_field(_("执行年利率（%）"))
    repayment_method = forms.ChoiceField(label=_("还款方式"), choices=RepaymentMethod.choices)
    contract_no = forms.CharField(label=_("新借款合同编号"), max_length=64, required=False)


class DefaultForm(BootstrapMixin, forms.Form):
    on = forms.DateField(label=_("违约日"), widget=DateInput())
    reason = forms.CharField(label=_("违约事由"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["on"].initial = business_date()


# Covers, investment links, collateral


class CoverForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("增信方式"), choices=CoverKind.choices)
    provider: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("增信机构（平台账户）"), queryset=Organisation.objects.none(), required=False
    )
    provider_name = forms.CharField(
        label=_("增信机构名称"), max_length=128, required=False, help_text=_("不在平台上的机构填写名称。")
    )
    cover_ratio = _percent_field(_("分担比例（%）"), help_text=_("如 80 表示分担 80%。"))
    policy_no = forms.CharField(label=_("保单/保证合同编号"), max_length=64, required=False)
    valid_until = forms.DateField(label=_("有效期至"), required=False, widget=DateInput())

    def __init__(self, *args: Any, providers: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "provider", providers)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        provider = data.get("provider")
        if not (data.get("provider_name") or "").strip():
            if provider is not None:
                data["provider_name"] = provider.name
            elif "provider" in data:
                self.add_error("provider_name", ValidationError(_("请选择增信机构或填写其名称。"), code="required"))
        return data


class InvestmentForm(BootstrapMixin, forms.Form):
    investor_name = forms.CharField(label=_("投资机构名称"), max_length=128)
    term_kind = forms.ChoiceField(label=_("联动方式"), choices=InvestmentTermKind.choices)
    amount = _amount_field(_("投资金额（元）"), required=False)
    equity_ratio = _percent_field(_("股权比例（%）"), required=False)
    exercise_deadline = forms.DateField(label=_("行权期限"), required=False, widget=DateInput())
    terms = forms.CharField(label=_("主要条款"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CollateralForm(BootstrapMixin, forms.Form):
    ip_right = LabelledChoiceField(
        label=_("知识产权"),
        queryset=IPRight.objects.none(),
        label_of=lambda r: f"{r.get_kind_display()} {r.number} {r.title}",
    )
    appraised_value = _amount_field(_("评估价值（元）"), required=False)
    appraised_on = forms.DateField(label=_("评估基准日"), required=False, widget=DateInput())
    valuer_name = forms.CharField(label=_("评估机构"), max_length=128, required=False)

    def __init__(self, *args: Any, rights: QuerySet[IPRight], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "ip_right", rights)


class ImplementationForm(BootstrapMixin, forms.Form):
    collateral = LabelledChoiceField(
        label=_("质押物"),
        queryset=LoanCollateral.objects.none(),
        label_of=lambda c: f"{c.ip_right.number} {c.ip_right.title}",
    )
    status = forms.ChoiceField(label=_("实施情况"), choices=ImplementationStatus.choices)
    reported_on = forms.DateField(label=_("报告日"), widget=DateInput())
    note = forms.CharField(label=_("说明"), max_length=255, required=False)

    def __init__(self, *args: Any, collateral: QuerySet[LoanCollateral], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "collateral", collateral)
        self.fields["reported_on"].initial = business_date()


# Classification (reviewers)


class OverrideForm(BootstrapMixin, forms.Form):
    to_class = forms.ChoiceField(label=_("人工认定分类"), choices=LoanClass.choices)
    reason = forms.CharField(label=_("认定理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class RiskFlagsForm(BootstrapMixin, forms.Form):
    funds_misused = forms.BooleanField(label=_("挪用贷款资金"), required=False)
    credit_impaired = forms.BooleanField(label=_("已发生信用减值"), required=False)
    refinanced_by_new_loan = forms.BooleanField(label=_("借新还旧"), required=False)
    external_rating_downgraded = forms.BooleanField(label=_("外部评级大幅下调"), required=False)
    expected_loss_ratio = _percent_field(_("预期信用损失率（%）"), required=False)
    restructured_on = forms.DateField(label=_("重组日"), required=False, widget=DateInput())
    reason = forms.CharField(label=_("依据"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    @staticmethod
    def initial_for(loan: Any) -> dict[str, Any]:
        """The flags as the loan carries them now, so that saving changes only what the reviewer changed."""
        ratio = loan.expected_loss_ratio
        return {
            "funds_misused": loan.funds_misused,
            "credit_impaired": loan.credit_impaired,
            "refinanced_by_new_loan": loan.refinanced_by_new_loan,
            "external_rating_downgraded": loan.external_rating_downgraded,
            "expected_loss_ratio": None if ratio is None else ratio * HUNDRED,
            "restructured_on": loan.restructured_on,
        }

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "reason": data["reason"],
            "funds_misused": data["funds_misused"],
            "credit_impaired": data["credit_impaired"],
            "refinanced_by_new_loan": data["refinanced_by_new_loan"],
            "external_rating_downgraded": data["external_rating_downgraded"],
            "expected_loss_ratio": fraction(data.get("expected_loss_ratio")),
            "restructured_on": data.get("restructured_on"),
        }


# Bank-level reports


class CreditPlanForm(BootstrapMixin, forms.Form):
    bank: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("银行"), queryset=Organisation.objects.none()
    )
    year = forms.IntegerField(label=_("年度"), min_value=2019, max_value=2100)
    planned_amount = _amount_field(_("计划投放金额（元）"))
    planned_clients = forms.IntegerField(label=_("计划服务户数"), min_value=0)
    note = forms.CharField(label=_("说明"), max_length=255, required=False)

    def __init__(self, *args: Any, banks: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "bank", banks)
        if banks.count() == 1:
            self.fields["bank"].initial = banks.first()
        self.fields["year"].initial = business_date().year


class NplReportForm(BootstrapMixin, forms.Form):
    bank: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("银行"), queryset=Organisation.objects.none()
    )
    as_of = forms.DateField(label=_("统计日"), widget=DateInput())
    npl_ratio = _percent_field(_("全行不良贷款率（%）"), help_text=_("如 1.35 表示 1.35%。"))

    def __init__(self, *args: Any, banks: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self, "bank", banks)
        if banks.count() == 1:
            self.fields["bank"].initial = banks.first()
