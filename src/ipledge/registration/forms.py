"""Pledge registration forms. They collect and coerce input and resolve keys (USCC, right numbers) to records;
the services validate the filing as a whole and write it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core import uploads
from ipledge.core.forms import BootstrapMixin, DateInput
from ipledge.core.models import Organisation
from ipledge.registry.choices import IPKind
from ipledge.registry.models import Enterprise, IPRight

from .choices import CalendarDayKind, CancellationReason, Channel, ClaimKind, Decision, DocumentType
from .engine.examination import DECLARATION_PENDING_INVALIDATION, DECLARATION_SAME_DAY_INVENTION
from .selectors import resolve_pledgor, resolve_right

MAX_ITEMS = 10
DEFAULT_ROWS = 3


def _messages(exc: ValidationError, field: str) -> list[ValidationError]:
    """The messages a selector raised for `field` (or all of them), kept with their codes."""
    if hasattr(exc, "error_dict"):
        return list(exc.error_dict.get(field) or [e for errors in exc.error_dict.values() for e in errors])
    return list(exc.error_list)


class FilingForm(BootstrapMixin, forms.Form):
    pledgor_uscc = forms.CharField(
        label=_("出质人统一社会信用代码"),
        max_length=40,
        help_text=_("按质押合同填写出质人的18位统一社会信用代码。"),
    )
    pledgee: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("质权人"), queryset=Organisation.objects.none()
    )
    claim_kind = forms.ChoiceField(label=_("被担保债权种类"), choices=ClaimKind.choices, initial=ClaimKind.LOAN)
    claim_amount = forms.DecimalField(
        label=_("被担保债权数额（元）"),
        max_digits=16,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
    )
    performance_start = forms.DateField(label=_("债务履行期限起"), widget=DateInput())
    performance_end = forms.DateField(label=_("债务履行期限止"), widget=DateInput())
    guarantee_scope = forms.CharField(
        label=_("质押担保范围"),
        widget=forms.Textarea(attrs={"rows": 2}),
        initial=_("主债权及利息、违约金、损害赔偿金和实现质权的费用"),
    )
    contract_no = forms.CharField(label=_("质押合同编号"), max_length=64, required=False)
    has_valuation = forms.BooleanField(label=_("已进行价值评估（须上传评估报告）"), required=False)
    channel = forms.ChoiceField(label=_("办理渠道"), choices=Channel.choices, initial=Channel.ONLINE)
    declare_pending_invalidation = forms.BooleanField(
        label=_("当事人已知悉出质专利正处于无效宣告程序中，仍同意办理质押登记"), required=False
    )
    declare_same_day_invention = forms.BooleanField(
        label=_("当事人已知悉出质的实用新型存在同日申请的发明专利，仍同意办理质押登记"), required=False
    )

    def __init__(self, *args: Any, pledgees: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["pledgee"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = pledgees
        if pledgees.count() == 1:
            field.initial = pledgees.first()
        self.pledgor: Enterprise | None = None

    def clean_pledgor_uscc(self) -> str:
        value = str(self.cleaned_data.get("pledgor_uscc", ""))
        try:
            self.pledgor = resolve_pledgor(value)
        except ValidationError as exc:
            raise ValidationError(_messages(exc, "pledgor_uscc")) from exc
        return self.pledgor.uscc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("performance_start"), data.get("performance_end")
        if start and end and start > end:
            self.add_error(
                "performance_end", ValidationError(_("债务履行期限止不能早于履行期限起。"), code="date_order")
            )
        return data

    def declarations(self) -> list[str]:
        chosen = []
        if self.cleaned_data.get("declare_pending_invalidation"):
            chosen.append(DECLARATION_PENDING_INVALIDATION)
        if self.cleaned_data.get("declare_same_day_invention"):
            chosen.append(DECLARATION_SAME_DAY_INVENTION)
        return chosen


class ItemForm(BootstrapMixin, forms.Form):
    """One right of the bundle (打包质押): kind and number, resolved against the registry."""

    kind = forms.ChoiceField(label=_("权利类型"), choices=IPKind.choices, initial=IPKind.PATENT)
    number = forms.CharField(label=_("号码"), max_length=40)
    co_owner_consent = forms.BooleanField(label=_("共有人已同意"), required=False)
    licence_revenue = forms.BooleanField(label=_("许可收益权"), required=False)
    licence_contract_ref = forms.CharField(label=_("许可合同备案号"), max_length=64, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ip_right: IPRight | None = None

    def has_changed(self) -> bool:
        # The kind select always has a value: a row counts as filled in only when something else is entered.
        return any(name != "kind" for name in self.changed_data)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, number = data.get("kind"), data.get("number")
        if kind and number:
            try:
                self.ip_right = resolve_right(kind=kind, number=number)
            except ValidationError as exc:
                self.add_error("number", _messages(exc, "number"))
        if data.get("licence_revenue") and not (data.get("licence_contract_ref") or "").strip():
            self.add_error(
                "licence_contract_ref",
                ValidationError(_("许可收益权出质须填写已备案的许可合同备案号。"), code="required"),
            )
        return data

    def item(self) -> dict[str, Any]:
        return {
            "ip_right": self.ip_right,
            "co_owner_consent": bool(self.cleaned_data.get("co_owner_consent")),
            "licence_revenue": bool(self.cleaned_data.get("licence_revenue")),
            "licence_contract_ref": (self.cleaned_data.get("licence_contract_ref") or "").strip(),
        }


class BaseItemFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        filled = [f for f in self.forms if f.has_changed() and f not in self.deleted_forms]
        if not filled:
            raise ValidationError(_("至少需要一项出质的知识产权。"), code="required")
        seen: dict[int, int] = {}
        for position, form in enumerate(self.forms, start=1):
            right = getattr(form, "ip_right", None)
            if right is None:
                continue
            if right.pk in seen:
                form.add_error(
                    "number",
                    ValidationError(
                        _("与第%(row)s行重复：同一申请中不能重复列出同一项知识产权。") % {"row": seen[right.pk]},
                        code="duplicate_item",
                    ),
                )
            seen[right.pk] = position

    def items(self) -> list[dict[str, Any]]:
        return [f.item() for f in self.forms if getattr(f, "ip_right", None) is not None]


ItemFormSet = forms.formset_factory(
    ItemForm, formset=BaseItemFormSet, extra=DEFAULT_ROWS, max_num=MAX_ITEMS, validate_max=True, absolute_max=MAX_ITEMS
)


class DocumentForm(BootstrapMixin, forms.Form):
    doc_type = forms.ChoiceField(label=_("材料类型"), choices=DocumentType.choices)
    file = forms.FileField(label=_("文件"), help_text=_("PDF、JPG、PNG 或 DOCX，不超过 20 MB。"))

    def clean_file(self) -> Any:
        # Refused on the declared size before the body is read; type and content are checked by the service.
        return uploads.clean_form_file(self.cleaned_data["file"], policy=uploads.DOCUMENT)


class DecisionForm(BootstrapMixin, forms.Form):
    decision = forms.ChoiceField(label=_("审查决定"), choices=Decision.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("审查意见"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("要求补正或不予登记时必须填写。"),
    )
    correction_working_days = forms.IntegerField(
        label=_("补正期限（工作日）"), min_value=1, max_value=60, initial=10, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["decision"].widget.attrs["class"] = "form-check-input"


class CancellationForm(BootstrapMixin, forms.Form):
    reason = forms.ChoiceField(label=_("注销原因"), choices=CancellationReason.choices)


class PublicQueryForm(forms.Form):
    number = forms.CharField(
        label=_("专利号、商标注册号、著作权登记号或质押登记号"),
        max_length=40,
        widget=forms.TextInput(attrs={"class": "form-control", "autofocus": True}),
    )


class FiguresForm(BootstrapMixin, forms.Form):
    date_from = forms.DateField(label=_("受理日期起"), widget=DateInput())
    date_to = forms.DateField(label=_("受理日期止"), widget=DateInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", ValidationError(_("截止日期不能早于起始日期。"), code="date_order"))
        return data


class ChangeForm(BootstrapMixin, forms.Form):
    """A change (变更登记) of a registered pledge: a new secured amount and/or a new end of the performance period."""

    claim_amount = forms.DecimalField(
        label=_("变更后被担保债权数额（元）"),
        max_digits=16,
        decimal_places=2,
        required=False,
        validators=[MinValueValidator(Decimal("0.01"))],
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
        help_text=_("不变更的留空。"),
    )
    performance_end = forms.DateField(
        label=_("变更后债务履行期限止"), required=False, widget=DateInput(), help_text=_("不变更的留空。")
    )
    change_description = forms.CharField(
        label=_("变更事项"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("如：依据变更协议延长债务履行期限；提交后请上传变更协议。"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and data.get("claim_amount") is None and data.get("performance_end") is None:
            self.add_error(
                "claim_amount",
                ValidationError(_("至少须变更被担保债权数额或债务履行期限止中的一项。"), code="no_change"),
            )
        return data


BULK_MAX_BYTES = 10 * 1024 * 1024
BULK_EXTENSIONS = (".xlsx", ".csv")


class BulkFilingForm(BootstrapMixin, forms.Form):
    file = forms.FileField(
        label=_("文件"), help_text=_("按模板填写的 Excel（.xlsx）文件，不超过 10 MB；也接受 UTF-8 编码的 CSV。")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ",".join(BULK_EXTENSIONS)

    def clean_file(self) -> Any:
        # A name check for a quick answer only: the type is decided by the content when the file is read
        # (ipledge.core.uploads); the name can refuse a file, never vouch for it.
        upload = self.cleaned_data["file"]
        if not (upload.name or "").lower().endswith(BULK_EXTENSIONS):
            raise ValidationError(_("只支持 .xlsx 或 .csv 文件。"), code="extension")
        if upload.size > BULK_MAX_BYTES:
            raise ValidationError(_("文件超过 10 MB 上限。"), code="file_too_large")
        return upload


class ResubmitForm(forms.Form):
    """Corrected contract data after the examiner's correction request (补正)."""

    claim_amount = forms.DecimalField(label=_("被担保债权数额（元）"), max_digits=18, decimal_places=2, min_value=0)
    performance_start = forms.DateField(label=_("债务履行期限起"), widget=forms.DateInput(attrs={"type": "date"}))
    performance_end = forms.DateField(label=_("债务履行期限止"), widget=forms.DateInput(attrs={"type": "date"}))
    guarantee_scope = forms.CharField(
        label=_("质押担保范围"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    contract_no = forms.CharField(label=_("质押合同编号"), max_length=64, required=False)

    @classmethod
    def for_filing(cls, filing: Any) -> ResubmitForm:
        return cls(
            initial={
                "claim_amount": filing.claim_amount.amount if filing.claim_amount is not None else None,
                "performance_start": filing.performance_start,
                "performance_end": filing.performance_end,
                "guarantee_scope": filing.guarantee_scope,
                "contract_no": filing.contract_no,
            }
        )


class CalendarDayForm(forms.Form):
    """One day of the examination calendar: a public holiday or a make-up working day (调休)."""

    day = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=_("类型"), choices=CalendarDayKind.choices)
    name = forms.CharField(label=_("名称"), max_length=64, help_text=_("如 春节、国庆节调休上班"))
    source = forms.CharField(label=_("依据"), max_length=255, required=False, help_text=_("如 国务院办公厅通知文号"))
