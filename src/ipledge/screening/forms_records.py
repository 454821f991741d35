"""Forms of the credit-record pages (信用记录): the list filter and the import upload."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core.forms import BootstrapMixin, DateInput
from ipledge.core.models import Organisation

from .choices import MatchStatus, RecordKind
from .importing import MAX_BYTES
from .selectors_records import RecordFilters

ALL = [("", _("全部"))]
UPLOAD_EXTENSIONS = (".xlsx", ".csv", ".json", ".txt")


class RecordFilterForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("记录类型"), choices=[*ALL, *RecordKind.choices], required=False)
    match_status = forms.ChoiceField(label=_("匹配状态"), choices=[*ALL, *MatchStatus.choices], required=False)
    in_force_on = forms.DateField(
        label=_("在该日有效"),
        required=False,
        widget=DateInput(),
        help_text=_("只显示该日仍在列、未修复、未过公示期的记录"),
    )
    q = forms.CharField(label=_("名称/统一社会信用代码"), required=False, max_length=128)

    def filters(self) -> RecordFilters:
        if not self.is_bound or not self.is_valid():
            return RecordFilters()
        data = self.cleaned_data
        return RecordFilters(
            kind=data.get("kind") or "",
            match_status=data.get("match_status") or "",
            in_force_on=data.get("in_force_on"),
            q=data.get("q") or "",
        )


class CreditImportForm(BootstrapMixin, forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("导入机构"),
        queryset=Organisation.objects.none(),
        help_text=_("记录归该机构复核；省级知识产权局可为下级机构导入。"),
    )
    kind = forms.ChoiceField(label=_("记录类型"), choices=RecordKind.choices)
    file = forms.FileField(
        label=_("文件"),
        help_text=_("Excel（.xlsx，第一个工作表，第1行为表头）、CSV（UTF-8 或 GB18030）或 JSON；不超过 50 MB。"),
    )

    def __init__(self, *args: Any, organisations: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organisation"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = organisations
        if organisations.count() == 1:
            field.initial = organisations.first()
        self.fields["file"].widget.attrs["accept"] = ",".join(UPLOAD_EXTENSIONS)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith(UPLOAD_EXTENSIONS):
            raise ValidationError(_("只支持 .xlsx、.csv 或 .json 文件。"), code="extension")
        if upload.size > MAX_BYTES:
            raise ValidationError(_("文件超过 50 MB 上限。"), code="size")
        return upload
