"""Forms of the product pages (产品资源库): the library's filters, a product's terms (create, edit a draft, new
version), the reviewer's decision, withdrawal and the template import. The services check every rule again; these
forms parse the input and offer choices within the user's reach."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core import uploads
from ipledge.core.forms import BootstrapMixin
from ipledge.core.models import Organisation
from ipledge.core.money import Money
from ipledge.registry.choices import SizeClass
from ipledge.registry.rules import INDUSTRY_SECTIONS

from .choices import CollateralKind, ProductStatus, RateKind
from .models import ProductVersion
from .selectors_products import ProductFilters
from .terms import ProductTerms

_SPLIT = re.compile(r"[\s;；、,，]+")
AMOUNT_FIELD = {"max_digits": 15, "decimal_places": 2, "min_value": Decimal("0.01")}


def _years_field(kind: str) -> str:
    return f"years_{kind}"


def _cap_field(kind: str) -> str:
    return f"cap_{kind}"


class ProductFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("名称或编号"), required=False, max_length=64)
    region = forms.CharField(
        label=_("地区代码"), required=False, max_length=6, help_text=_("如 110000、3201；不限地区的产品总会列出")
    )
    kind = forms.ChoiceField(label=_("质押物"), required=False, choices=[("", _("全部")), *CollateralKind.choices])
    amount = forms.DecimalField(label=_("融资金额（元）"), required=False, **AMOUNT_FIELD)  # type: ignore[arg-type]
    term_months = forms.IntegerField(label=_("期限（月）"), required=False, min_value=1, max_value=360)
    bank = forms.ModelChoiceField(label=_("银行"), required=False, queryset=Organisation.objects.none())
    rate_kind = forms.ChoiceField(label=_("定价方式"), required=False, choices=[("", _("全部")), *RateKind.choices])
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部")), *ProductStatus.choices])

    def __init__(self, *args: Any, banks: QuerySet[Organisation], show_status: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bank = self.fields["bank"]
        assert isinstance(bank, forms.ModelChoiceField)
        bank.queryset = banks
        if not show_status:
            del self.fields["status"]

    def clean_region(self) -> str:
        code = (self.cleaned_data.get("region") or "").strip()
        if code and not re.fullmatch(r"\d{2}|\d{4}|\d{6}", code):
            raise ValidationError(_("地区代码应为2、4或6位数字。"), code="invalid")
        return code

    def filters(self) -> ProductFilters:
        if not self.is_bound or not self.is_valid():
            return ProductFilters()
        d = self.cleaned_data
        bank = d.get("bank")
        return ProductFilters(
            q=(d.get("q") or "").strip(),
            region=d.get("region") or "",
            kind=d.get("kind") or "",
            amount=Money(d["amount"]) if d.get("amount") is not None else None,
            term_months=d.get("term_months"),
            bank_id=bank.pk if bank is not None else None,
            rate_kind=d.get("rate_kind") or "",
            status=d.get("status") or "",
        )


class ProductTermsForm(BootstrapMixin, forms.Form):
    """A product's terms; with `creating` also the bank, code and name; with `renaming` the name."""

    bank = forms.ModelChoiceField(label=_("发布银行"), queryset=Organisation.objects.none())
    code = forms.CharField(label=_("产品编号"), max_length=40, help_text=_("本行内唯一"))
    name = forms.CharField(label=_("产品名称"), max_length=128)
    summary = forms.CharField(label=_("产品简介"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    collateral_kinds = forms.MultipleChoiceField(
        label=_("可接受质押物"), choices=CollateralKind.choices, widget=forms.CheckboxSelectMultiple
    )
    amount_min = forms.DecimalField(label=_("最低额度（元）"), **AMOUNT_FIELD)  # type: ignore[arg-type]
    amount_max = forms.DecimalField(label=_("最高额度（元）"), **AMOUNT_FIELD)  # type: ignore[arg-type]
    term_min_months = forms.IntegerField(label=_("最短期限（月）"), min_value=1, max_value=360)
    term_max_months = forms.IntegerField(label=_("最长期限（月）"), min_value=1, max_value=360)
    rate_kind = forms.ChoiceField(label=_("定价方式"), choices=RateKind.choices)
    rate_spread_bp = forms.IntegerField(
        label=_("LPR加点（基点）"), required=False, help_text=_("如 120 表示 LPR+120BP（1年期LPR加1.20个百分点）")
    )
    rate_fixed = forms.DecimalField(
        label=_("固定年利率（%）"), required=False, max_digits=5, decimal_places=2, min_value=Decimal("0.01")
    )
    region_codes = forms.CharField(
        label=_("适用地区代码"),
        required=False,
        max_length=500,
        help_text=_("6位行政区划代码或2/4位前缀，以逗号或空格分隔；空为不限地区"),
    )
    industry_sections = forms.MultipleChoiceField(
        label=_("适用行业门类"),
        required=False,
        choices=[(k, f"{k} {v}") for k, v in INDUSTRY_SECTIONS.items()],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不勾选表示不限行业。"),
    )
    size_classes = forms.MultipleChoiceField(
        label=_("适用企业规模"),
        required=False,
        choices=SizeClass.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不勾选表示不限规模。"),
    )
    min_enterprise_age_years = forms.IntegerField(label=_("最短成立年限（年）"), min_value=0, max_value=100, initial=0)
    requires_whitelist = forms.BooleanField(label=_("须为授信白名单企业"), required=False)
    excludes_dishonest = forms.BooleanField(label=_("排除失信及严重违法企业"), required=False, initial=True)
    max_recent_penalties = forms.IntegerField(
        label=_("近三年行政处罚上限（次）"), required=False, min_value=0, max_value=100, help_text=_("空为不限")
    )
    requires_guarantee = forms.BooleanField(label=_("需担保"), required=False)
    requires_insurance = forms.BooleanField(label=_("需保证保险"), required=False)
    required_documents = forms.CharField(
        label=_("申请材料"), required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text=_("每行一项")
    )
    source_url = forms.URLField(label=_("公开资料来源"), required=False, max_length=500, assume_scheme="https")

    def __init__(
        self,
        *args: Any,
        banks: QuerySet[Organisation] | None = None,
        creating: bool = False,
        renaming: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for kind, label in CollateralKind.choices:
            self.fields[_years_field(kind)] = forms.IntegerField(
                label=_("%(kind)s 最短剩余有效期（年）") % {"kind": label}, required=False, min_value=0, max_value=30
            )
            self.fields[_cap_field(kind)] = forms.DecimalField(
                label=_("%(kind)s 质押率上限（%%）") % {"kind": label},
                required=False,
                max_digits=5,
                decimal_places=2,
                min_value=Decimal("0.01"),
                max_value=Decimal(100),
            )
        from ipledge.core.forms import style_fields

        style_fields({k: v for k, v in self.fields.items() if k.startswith(("years_", "cap_"))})
        if creating:
            bank = self.fields["bank"]
            assert isinstance(bank, forms.ModelChoiceField)
            bank.queryset = banks if banks is not None else Organisation.objects.none()
        else:
            del self.fields["bank"], self.fields["code"]
            if not renaming:
                del self.fields["name"]

    def kind_rows(self) -> list[dict[str, Any]]:
        """The per-kind fields, one row per kind (for the template's grid)."""
        return [
            {"kind": kind, "label": label, "years": self[_years_field(kind)], "cap": self[_cap_field(kind)]}
            for kind, label in CollateralKind.choices
        ]

    def terms(self) -> ProductTerms:
        d = self.cleaned_data
        kinds = tuple(d.get("collateral_kinds") or ())
        years = {k: d[_years_field(k)] for k in CollateralKind.values if d.get(_years_field(k)) is not None}
        caps = {k: d[_cap_field(k)] / 100 for k in CollateralKind.values if d.get(_cap_field(k)) is not None}
        rate_kind = d.get("rate_kind") or ""
        return ProductTerms(
            summary=(d.get("summary") or "").strip(),
            collateral_kinds=kinds,
            min_remaining_years=years,
            pledge_rate_caps=caps,
            amount_min=Money(d["amount_min"]),
            amount_max=Money(d["amount_max"]),
            term_min_months=d["term_min_months"],
            term_max_months=d["term_max_months"],
            rate_kind=rate_kind,
            rate_spread_bp=d.get("rate_spread_bp") if rate_kind == RateKind.LPR_SPREAD else None,
            rate_fixed=d.get("rate_fixed") if rate_kind == RateKind.FIXED else None,
            region_codes=tuple(c for c in _SPLIT.split(d.get("region_codes") or "") if c),
            industry_sections=tuple(d.get("industry_sections") or ()),
            size_classes=tuple(d.get("size_classes") or ()),
            min_enterprise_age_years=d.get("min_enterprise_age_years") or 0,
            requires_whitelist=bool(d.get("requires_whitelist")),
            excludes_dishonest=bool(d.get("excludes_dishonest")),
            max_recent_penalties=d.get("max_recent_penalties"),
            requires_guarantee=bool(d.get("requires_guarantee")),
            requires_insurance=bool(d.get("requires_insurance")),
            required_documents=tuple(
                line.strip() for line in (d.get("required_documents") or "").splitlines() if line.strip()
            ),
            source_url=(d.get("source_url") or "").strip(),
        )

    def attach(self, exc: ValidationError) -> None:
        """A service's errors next to their fields; per-kind rules and other names on top with their label."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for name, errors in exc.error_dict.items():
            if name in self.fields:
                self.add_error(name, errors)
                continue
            if name == NON_FIELD_ERRORS:
                self.add_error(None, errors)
                continue
            try:
                label = str(getattr(ProductVersion._meta.get_field(name), "verbose_name", name))
            except Exception:  # noqa: BLE001 - a name that is not a model field is shown as given
                label = {"decided_by": str(_("审批人")), "product": str(_("产品"))}.get(name, name)
            self.add_error(None, [ValidationError(f"{label}：{m}") for e in errors for m in e.messages])


def initial_from_version(version: ProductVersion) -> dict[str, Any]:
    """Form values of a stored version (a new version starts from the one before it)."""
    caps = version.pledge_rate_caps or {}
    years = version.min_remaining_years or {}
    initial: dict[str, Any] = {
        "name": version.product.name,
        "summary": version.summary,
        "collateral_kinds": list(version.collateral_kinds or []),
        "amount_min": version.amount_min.amount,
        "amount_max": version.amount_max.amount,
        "term_min_months": version.term_min_months,
        "term_max_months": version.term_max_months,
        "rate_kind": version.rate_kind,
        "rate_spread_bp": version.rate_spread_bp,
        "rate_fixed": version.rate_fixed,
        "region_codes": " ".join(version.region_codes or []),
        "industry_sections": list(version.industry_sections or []),
        "size_classes": list(version.size_classes or []),
        "min_enterprise_age_years": version.min_enterprise_age_years,
        "requires_whitelist": version.requires_whitelist,
        "excludes_dishonest": version.excludes_dishonest,
        "max_recent_penalties": version.max_recent_penalties,
        "requires_guarantee": version.requires_guarantee,
        "requires_insurance": version.requires_insurance,
        "required_documents": "\n".join(version.required_documents or []),
        "source_url": version.source_url,
    }
    for kind in CollateralKind.values:
        if kind in years:
            initial[_years_field(kind)] = years[kind]
        if kind in caps:
            initial[_cap_field(kind)] = (Decimal(str(caps[kind])) * 100).normalize()
    return initial


class DecisionForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("审批意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class WithdrawForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("下架说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ProductImportForm(BootstrapMixin, forms.Form):
    bank = forms.ModelChoiceField(label=_("发布银行"), queryset=Organisation.objects.none())
    file = forms.FileField(label=_("产品文件"), help_text=_("本平台产品模板，.xlsx 或 .csv（UTF-8 或 GB18030）"))

    def __init__(self, *args: Any, banks: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bank = self.fields["bank"]
        assert isinstance(bank, forms.ModelChoiceField)
        bank.queryset = banks
        if banks.count() == 1:
            bank.initial = banks.first()

    def clean_file(self) -> Any:
        return uploads.clean_form_file(self.cleaned_data["file"], policy=uploads.MARKET_IMPORT)
