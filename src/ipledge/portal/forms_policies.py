"""Forms of the policy library pages (政策工具箱和资源库): the public search, 哪些政策适用于我, and the issuers' policy
form, attachment upload and withdrawal. The services check every rule again; these forms parse the input and offer
only the regions and parks within the user's reach."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core import uploads
from ipledge.core.choices import OrganisationKind
from ipledge.core.forms import BootstrapMixin, DateInput
from ipledge.core.models import Region
from ipledge.core.scoping import scope_for
from ipledge.registry.choices import SizeClass
from ipledge.registry.models import Park
from ipledge.registry.rules import INDUSTRY_SECTIONS

from .choices import PolicyKind, PolicyStatus

VALID, EXPIRED = "valid", "expired"
VALIDITY_CHOICES = [("", _("全部")), (VALID, _("现行有效")), (EXPIRED, _("已失效"))]
SECTION_CHOICES = [(code, f"{code} {name}") for code, name in INDUSTRY_SECTIONS.items()]


def province_choices() -> list[tuple[str, str]]:
    return [("", _("全部地区"))] + list(Region.objects.filter(level="province").values_list("code", "name"))


class PolicySearchForm(BootstrapMixin, forms.Form):
    q = forms.CharField(
        label=_("关键词"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("政策名称、文号或内容关键词，如：风险补偿"), "type": "search"}),
    )
    kind = forms.ChoiceField(label=_("政策类型"), required=False, choices=[("", _("全部")), *PolicyKind.choices])
    region = forms.ChoiceField(label=_("地区"), required=False, choices=())
    validity = forms.ChoiceField(label=_("效力"), required=False, choices=VALIDITY_CHOICES)
    issuing_body = forms.CharField(label=_("发文机关"), required=False, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = province_choices()  # type: ignore[attr-defined]

    def filters(self, today: datetime.date) -> dict[str, Any]:
        if not self.is_bound or not self.is_valid():
            return {}
        d = self.cleaned_data
        return {
            "q": (d.get("q") or "").strip(),
            "kind": d.get("kind") or "",
            "region_code": d.get("region") or "",
            "valid_on": today if d.get("validity") == VALID else None,
            "expired_on": today if d.get("validity") == EXPIRED else None,
            "issuing_body": (d.get("issuing_body") or "").strip(),
        }


class PolicyManageFilterForm(PolicySearchForm):
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部")), *PolicyStatus.choices])

    def filters(self, today: datetime.date) -> dict[str, Any]:
        found = super().filters(today)
        if found:
            found["status"] = self.cleaned_data.get("status") or ""
        return found


def _region_from_text(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    if re.fullmatch(r"\d{6}", text):
        if not Region.objects.filter(code=text).exists():
            raise ValidationError(_("行政区划代码不存在。"), code="not_found")
        return text
    found = Region.objects.filter(name=text).order_by("-level", "code").values_list("code", flat=True).first()
    if found is None:
        raise ValidationError(_("请填写6位行政区划代码（如 110108）或区县名称。"), code="invalid")
    return found


class PolicyForMeForm(BootstrapMixin, forms.Form):
    """哪些政策适用于我: the enterprise's registration region, park, size class and industry section."""

    region = forms.CharField(
        label=_("注册地（区县）"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"placeholder": _("6位行政区划代码或名称，如 110108 或 海淀区")}),
    )
    park = forms.ModelChoiceField(
        label=_("所在园区"), required=False, queryset=Park.objects.none(), empty_label=_("不在园区")
    )
    size_class = forms.ChoiceField(label=_("企业规模"), required=False, choices=[("", _("不限")), *SizeClass.choices])
    industry_section = forms.ChoiceField(
        label=_("行业门类"), required=False, choices=[("", _("不限")), *SECTION_CHOICES]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["park"].queryset = Park.objects.select_related("region").order_by(  # type: ignore[attr-defined]
            "region__code", "name"
        )

    def clean_region(self) -> str:
        return _region_from_text(self.cleaned_data.get("region") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("region") and not data.get("park") and not self.errors:
            raise ValidationError(_("请至少填写注册地或所在园区。"), code="required")
        return data


def regions_for(user: Any) -> QuerySet[Region]:
    """Regions an issuer may pick: inside its own region (counties included); all provinces and cities nationally."""
    scope = scope_for(user)
    qs = Region.objects.all()
    if scope is None:
        return qs.none()
    if scope.is_platform or scope.region_prefix == "":
        return qs.filter(level__in=("province", "city")).order_by("code")
    if scope.region_prefix is None:
        return qs.none()
    return qs.filter(code__startswith=scope.region_prefix).order_by("code")


def parks_for(user: Any) -> QuerySet[Park]:
    """Parks an issuer may name: a park administration its own, a government body those in its region."""
    scope = scope_for(user)
    qs = Park.objects.select_related("region").order_by("region__code", "name")
    if scope is None:
        return qs.none()
    if scope.is_platform:
        return qs
    if scope.kind == OrganisationKind.PARK_ADMIN:
        return qs.filter(administering_org__tree_path__startswith=scope.org_tree_path)
    if scope.region_prefix is None:
        return qs.none()
    return qs.filter(Q(region__code__startswith=scope.region_prefix))


class PolicyForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_("政策名称"), max_length=200)
    issuing_body = forms.CharField(label=_("发文机关"), max_length=128, help_text=_("联合发文的，以顿号分隔"))
    document_number = forms.CharField(label=_("文号"), max_length=64, required=False)
    kind = forms.ChoiceField(label=_("政策类型"), choices=PolicyKind.choices)
    region = forms.ModelChoiceField(
        label=_("适用地区"), required=False, queryset=Region.objects.none(), empty_label=_("全国")
    )
    park = forms.ModelChoiceField(
        label=_("适用园区"), required=False, queryset=Park.objects.none(), empty_label=_("不限园区")
    )
    issued_on = forms.DateField(label=_("发布日期"), widget=DateInput())
    effective_from = forms.DateField(label=_("施行日期"), widget=DateInput())
    effective_until = forms.DateField(label=_("有效期至"), required=False, widget=DateInput())
    summary = forms.CharField(label=_("摘要"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    body = forms.CharField(label=_("正文"), widget=forms.Textarea(attrs={"rows": 14}))
    size_classes = forms.MultipleChoiceField(
        label=_("适用企业规模"),
        required=False,
        choices=SizeClass.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不选表示不限"),
    )
    industry_sections = forms.MultipleChoiceField(
        label=_("适用行业门类"),
        required=False,
        choices=SECTION_CHOICES,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("不选表示不限"),
    )
    source_url = forms.URLField(label=_("原文链接"), required=False, max_length=500, assume_scheme="https")
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions_for(user)  # type: ignore[attr-defined]
        self.fields["park"].queryset = parks_for(user)  # type: ignore[attr-defined]

    def values(self) -> dict[str, Any]:
        d = self.cleaned_data
        names = (
            "title",
            "issuing_body",
            "document_number",
            "kind",
            "region",
            "park",
            "issued_on",
            "effective_from",
            "effective_until",
            "summary",
            "body",
            "size_classes",
            "industry_sections",
            "source_url",
        )
        return {name: d.get(name) if d.get(name) is not None else "" for name in names} | {
            "region": d.get("region"),
            "park": d.get("park"),
            "effective_until": d.get("effective_until"),
            "size_classes": list(d.get("size_classes") or []),
            "industry_sections": list(d.get("industry_sections") or []),
        }


class AttachmentForm(BootstrapMixin, forms.Form):
    file = forms.FileField(label=_("附件"), help_text=_("PDF、Word（.docx）、JPG或PNG，不超过20 MB"))

    def clean_file(self) -> Any:
        return uploads.clean_form_file(self.cleaned_data["file"], policy=uploads.DOCUMENT)


class PolicyActionForm(BootstrapMixin, forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("撤回原因"), required=False, max_length=500)
