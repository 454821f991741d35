"""Registry forms. They collect and coerce input; the services validate and write (the forms never save).

Model forms are used for their labels and widgets only: `_post_clean` (model validation) is skipped because the
service runs `full_clean` itself, and its errors are put back on the form fields by the view.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipledge.core import privacy
from ipledge.core.choices import OrganisationKind
from ipledge.core.forms import BootstrapMixin, DateInput
from ipledge.core.models import Region
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.core.selectors import organisation_list

from .choices import IPKind
from .models import Enterprise, IPRight, LicenceContract, Park
from .rules import INDUSTRY_SECTIONS, size_class

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
IMPORT_EXTENSIONS = (".xlsx", ".csv")
SELECT_LIMIT = 300  # above this many choices an owner is entered by USCC instead of picked from a list


class ServiceModelForm(BootstrapMixin, forms.ModelForm):
    """A model form that leaves model validation and saving to the service."""

    def _post_clean(self) -> None:
        return None


@lru_cache(maxsize=1)
def _region_full_names() -> dict[int, str]:
    """Full names of all regions ("北京市海淀区"); regions are fixed reference data, so cache them."""
    rows = {pk: (name, parent) for pk, name, parent in Region.objects.values_list("pk", "name", "parent_id")}
    skipped = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
    names: dict[int, str] = {}
    for pk in rows:
        parts: list[str] = []
        node: int | None = pk
        while node is not None:
            name, parent = rows[node]
            if name not in skipped:
                parts.append(name)
            node = parent
        names[pk] = "".join(reversed(parts))
    return names


def region_full_name(region: Region | None) -> str:
    if region is None:
        return ""
    return _region_full_names().get(region.pk) or region.full_name


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} {_region_full_names().get(obj.pk, obj.name)}"


def regions_for(user: Any) -> QuerySet[Region]:
    """Regions a user may place a park in: the jurisdiction of its organisation (all for national bodies)."""
    scope = scope_for(user)
    if scope is None:
        return Region.objects.none()
    if scope.is_platform or scope.region_prefix == "":
        return Region.objects.all()
    if scope.region_prefix is None:
        return Region.objects.none()
    return Region.objects.filter(code__startswith=scope.region_prefix)


class ParkForm(ServiceModelForm):
    region = RegionChoiceField(label=_("所在地区"), queryset=Region.objects.none())

    class Meta:
        model = Park
        fields = ["name", "level", "kind", "region", "administering_org", "is_key_park", "nbs_code"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope = scope_for(user)
        regions = regions_for(user)
        if self.instance.pk and self.instance.region_id:
            regions = regions | Region.objects.filter(pk=self.instance.region_id)
        self.fields["region"].queryset = regions.order_by("code")  # type: ignore[attr-defined]
        admin_orgs = organisation_list(user=user).filter(kind=OrganisationKind.PARK_ADMIN)
        self.fields["administering_org"].queryset = admin_orgs  # type: ignore[attr-defined]
        # A park administration edits its park's description; where it is and who runs it is the IP office's call.
        if scope is not None and not scope.is_platform and scope.kind == OrganisationKind.PARK_ADMIN:
            for name in ("region", "administering_org"):
                self.fields[name].disabled = True

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name in self.cleaned_data}


def _section_choices() -> list[tuple[str, str]]:
    return [("", "---------")] + [(code, f"{code} {name}") for code, name in INDUSTRY_SECTIONS.items()]


def _plain(check: Any, value: Any) -> Any:
    """A service-level check in a form's ``clean_<field>`` (which must raise a plain, not a keyed, error)."""
    try:
        return check(value)
    except ValidationError as exc:
        raise ValidationError([e for errors in exc.error_dict.values() for e in errors]) from exc


class EnterpriseForm(ServiceModelForm):
    uscc = forms.CharField(
        label=_("统一社会信用代码"),
        max_length=40,
        help_text=_("18位，登记地与企业规模由系统根据代码和经营数据自动确定。"),
    )
    industry_section = forms.ChoiceField(label=_("行业门类（GB/T 4754）"), choices=_section_choices)
    park = forms.ModelChoiceField(label=_("入驻园区"), queryset=Park.objects.none(), required=False)
    joined_on = forms.DateField(label=_("入园日期"), required=False, widget=DateInput())
    # Longer than the stored 18/20 characters so that spaces and a "+86" are normalised, not refused.
    legal_representative_id_number = forms.CharField(
        label=_("法定代表人证件号码"),
        max_length=32,
        required=False,
        help_text=_("18位居民身份证号码，系统校验出生日期和校验位。"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    contact_phone = forms.CharField(
        label=_("联系电话"),
        max_length=32,
        required=False,
        help_text=_("手机号码或带区号的固定电话，如 010-12345678。"),
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )

    class Meta:
        model = Enterprise
        fields = [
            "uscc",
            "name",
            "industry_section",
            "industry_division",
            "established_on",
            "employees",
            "revenue",
            "total_assets",
            "is_high_tech",
            "is_specialised",
            "legal_representative",
            "legal_representative_id_number",
            "contact_phone",
        ]
        widgets = {"established_on": DateInput()}
        help_texts = {"industry_division": _("批发零售、交通运输、信息技术和房地产业须填写，如 65、5910、7020。")}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope = scope_for(user)
        for name in ("revenue", "total_assets"):
            field = self.fields[name]
            assert isinstance(field, forms.DecimalField)
            field.validators.append(MinValueValidator(Decimal(0)))
            field.widget.attrs.update({"step": "0.01", "min": "0", "inputmode": "decimal"})
            field.help_text = _("单位：元，保留两位小数。")
        if self.instance.pk:
            for name in ("uscc", "park", "joined_on"):
                del self.fields[name]
            # Personal data is shown and changed only by those who see it in full (core.privacy); for the others
            # the fields are not on the form, so the stored values are neither shown nor overwritten.
            if not privacy.sees_personal_data(user, self.instance):
                for name in privacy.PERSONAL_FIELDS:
                    del self.fields[name]
            return
        parks = Park.objects.restrict(user, Action.CHANGE).order_by("name")
        self.fields["park"].queryset = parks  # type: ignore[attr-defined]
        if scope is not None and scope.kind == OrganisationKind.PARK_ADMIN:
            # A park administration only reaches enterprises in its parks, so the park is required.
            self.fields["park"].required = True
            if parks.count() == 1:
                self.fields["park"].initial = parks.first()
        self.fields["joined_on"].initial = timezone.localdate()

    def clean_industry_division(self) -> str:
        return (self.cleaned_data.get("industry_division") or "").strip()

    def clean_legal_representative_id_number(self) -> str:
        return _plain(privacy.normalise_id_number, self.cleaned_data.get("legal_representative_id_number"))

    def clean_contact_phone(self) -> str:
        return _plain(privacy.normalise_phone, self.cleaned_data.get("contact_phone"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        section = data.get("industry_section")
        if section:
            try:
                size_class(
                    industry_section=section,
                    industry_division=data.get("industry_division") or None,
                    employees=None,
                    revenue_wan=None,
                    assets_wan=None,
                )
            except ValueError:
                self.add_error(
                    "industry_division",
                    ValidationError(
                        _("行业大类代码与所选门类不符（GB/T 4754-2017），请填写该门类下2-4位的大类/中类代码。"),
                        code="industry_division",
                    ),
                )
        if data.get("park") is None and data.get("joined_on") and "park" in self.fields:
            data["joined_on"] = None
        return data

    def service_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k not in ("uscc", "park", "joined_on")}
        for name in ("revenue", "total_assets"):
            if data.get(name) is not None:
                data[name] = Money(data[name])
        return data


# IP rights

COMMON_IP_FIELDS = ["kind", "number", "title", "legal_status"]
KIND_FIELDS: dict[str, list[str]] = {
    IPKind.PATENT: [
        "filing_date",
        "grant_date",
        "annual_fee_paid_until",
        "main_ipc",
        "claims_count",
        "forward_citations",
        "backward_citations",
        "family_size",
    ],
    IPKind.TRADEMARK: ["filing_date", "grant_date", "valid_from", "term_end", "nice_classes", "renewal_count"],
    IPKind.COPYRIGHT: ["work_kind", "created_on", "first_published_on", "grant_date", "valid_from", "term_end"],
    IPKind.IC_LAYOUT: ["filing_date", "created_on", "first_published_on", "grant_date", "valid_from", "term_end"],
}
ALL_KIND_FIELDS = sorted({name for names in KIND_FIELDS.values() for name in names})
NUMBER_HELP: dict[str, Any] = {
    IPKind.PATENT: _("带校验位的专利申请号，如 201710601862.3；专利类型和有效期止由号码和申请日自动计算。"),
    IPKind.TRADEMARK: _("商标注册号，如 30123456。"),
    IPKind.COPYRIGHT: _("软件登记号如 2021SR0123456，作品登记号如 国作登字-2021-F-00123456。"),
    IPKind.IC_LAYOUT: _("布图设计登记号，如 BS.215500123。"),
}


def ip_kind(value: Any, default: str = IPKind.PATENT) -> str:
    return value if value in IPKind.values else default


class NiceClassesField(forms.CharField):
    """Nice classes as "9, 42" in the form, a list of ints in the model."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[int]:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return []
        classes: list[int] = []
        for part in text.replace("，", ",").replace("、", ",").replace(" ", ",").split(","):
            if not part:
                continue
            if not part.isdigit() or not 1 <= int(part) <= 45:
                raise ValidationError(_("尼斯分类应为1-45之间的整数，用逗号分隔（如 9, 42）。"), code="nice_class")
            if int(part) not in classes:
                classes.append(int(part))
        return classes


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.uscc}）"


class IPRightForm(ServiceModelForm):
    nice_classes = NiceClassesField(label=_("尼斯分类"), required=False, help_text=_("如 9, 42"))
    owner_enterprise = OwnerChoiceField(
        label=_("权利人（平台企业）"), queryset=Enterprise.objects.none(), to_field_name="uscc"
    )
    owner_share = forms.DecimalField(
        label=_("份额（%）"),
        max_digits=5,
        decimal_places=2,
        initial=Decimal(100),
        min_value=Decimal("0.01"),
        max_value=Decimal(100),
    )
    co_owner_name = forms.CharField(
        label=_("共有权利人（非平台企业）"),
        max_length=128,
        required=False,
        help_text=_("如高校、科研院所或个人；没有可留空。"),
    )
    co_owner_share = forms.DecimalField(
        label=_("共有人份额（%）"),
        max_digits=5,
        decimal_places=2,
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal(100),
    )

    class Meta:
        model = IPRight
        fields = [*COMMON_IP_FIELDS, *ALL_KIND_FIELDS]
        widgets = {
            name: DateInput()
            for name in (
                "filing_date",
                "grant_date",
                "valid_from",
                "term_end",
                "annual_fee_paid_until",
                "created_on",
                "first_published_on",
            )
        }

    def __init__(
        self, *args: Any, user: Any, kind: str, owners: QuerySet[Enterprise] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = ip_kind(kind)
        for name in ALL_KIND_FIELDS:
            if name not in KIND_FIELDS[self.kind]:
                del self.fields[name]
        self.fields["number"].help_text = NUMBER_HELP[self.kind]
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        kind_field.choices = IPKind.choices
        if self.instance.pk:  # editing: kind and owners are fixed here
            for name in ("kind", "owner_enterprise", "owner_share", "co_owner_name", "co_owner_share"):
                del self.fields[name]
            return
        self.fields["kind"].initial = self.kind
        owners = owners if owners is not None else Enterprise.objects.restrict(user, Action.CHANGE)
        owner_field = self.fields["owner_enterprise"]
        assert isinstance(owner_field, forms.ModelChoiceField)
        owner_field.queryset = owners.order_by("name")
        if owners.count() > SELECT_LIMIT:
            owner_field.widget = forms.TextInput(
                attrs={"class": "form-control", "placeholder": _("输入权利人的统一社会信用代码")}
            )
            owner_field.label = _("权利人统一社会信用代码")
        else:
            only = owners.first() if owners.count() == 1 else None
            if only is not None:
                owner_field.initial = only.uscc
        owner_field.error_messages["invalid_choice"] = _("该企业不存在或不在您可登记的范围内。")

    @property
    def kind_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in KIND_FIELDS[self.kind] if name in self.fields]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "co_owner_name" in self.fields:
            name, share = data.get("co_owner_name"), data.get("co_owner_share")
            if name and share is None:
                self.add_error("co_owner_share", ValidationError(_("填写共有权利人时须填写其份额。"), code="required"))
            if share is not None and not name:
                self.add_error(
                    "co_owner_name", ValidationError(_("填写了份额，请填写共有权利人名称。"), code="required")
                )
        return data

    def owners(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        owners: list[dict[str, Any]] = [{"enterprise": data["owner_enterprise"], "share": data["owner_share"]}]
        if data.get("co_owner_name"):
            owners.append({"holder_name": data["co_owner_name"], "share": data["co_owner_share"]})
        return owners

    def service_data(self) -> dict[str, Any]:
        skip = {"kind", "owner_enterprise", "owner_share", "co_owner_name", "co_owner_share"}
        return {k: v for k, v in self.cleaned_data.items() if k not in skip}


# Import


class ImportForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("导入内容"), choices=())
    file = forms.FileField(
        label=_("文件"), help_text=_("Excel（.xlsx）或 CSV（UTF-8）文件，不超过 10 MB；请使用下方模板的表头。")
    )
    park = forms.ModelChoiceField(
        label=_("入驻园区"),
        queryset=Park.objects.none(),
        required=False,
        help_text=_("仅导入企业时使用：新企业登记入此园区。"),
    )

    def __init__(self, *args: Any, kinds: list[tuple[str, Any]], parks: QuerySet[Park], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        kind_field.choices = kinds
        self.fields["park"].queryset = parks  # type: ignore[attr-defined]
        self.fields["file"].widget.attrs["accept"] = ",".join(IMPORT_EXTENSIONS)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith(IMPORT_EXTENSIONS):
            raise ValidationError(_("只支持 .xlsx 或 .csv 文件。"), code="extension")
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(_("文件超过 10 MB 上限。"), code="size")
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") != "enterprises":
            data["park"] = None
        return data


# Licence contracts


class LicenceContractForm(ServiceModelForm):
    """Record a licence contract (许可合同备案) of one IP right."""

    class Meta:
        model = LicenceContract
        fields = [
            "licence_kind",
            "record_no",
            "licensee_name",
            "start_on",
            "end_on",
            "royalty_terms",
            "pledgee_consent",
        ]
        widgets = {"start_on": DateInput(), "end_on": DateInput(), "royalty_terms": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "record_no": _("国家知识产权局出具的许可合同备案号。"),
            "licensee_name": _("开放许可可留空。"),
            "pledgee_consent": _("该知识产权处于质押期间的，须经质权人同意方可许可他人使用（民法典第四百四十四条）。"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["licensee_name"].required = False

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name in self.cleaned_data}
