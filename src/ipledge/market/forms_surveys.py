"""Forms of the survey pages (常态化调查): campaign settings, the question builder, targets by name or by rule, the
answer form generated from a campaign's typed questions, and the list filters. The services check every rule; the
forms parse input and offer choices within the organiser's reach. The answer form leaves validation to
`services.surveys.response_submit` (one set of rules for the page and the API); its errors are shown under the
question they name."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core.forms import BootstrapMixin, DateInput
from ipledge.core.models import Organisation, Region
from ipledge.registry.models import Park

from .choices import QuestionKind, QuestionTarget, SurveyAudience, SurveyRecurrence, SurveyStatus
from .models import SurveyCampaign, SurveyQuestion
from .services.surveys import MAX_REMINDER_DAYS, OPEN_EDITABLE

EMPTY = [("", _("全部"))]


def field_name(question: SurveyQuestion | int) -> str:
    """The answer form's field of a question: `q_<id>`."""
    return f"q_{question if isinstance(question, int) else question.pk}"


class CampaignFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("名称或调查期"), required=False, max_length=60)
    status = forms.ChoiceField(label=_("状态"), choices=EMPTY + list(SurveyStatus.choices), required=False)
    audience = forms.ChoiceField(label=_("调查对象"), choices=EMPTY + list(SurveyAudience.choices), required=False)

    def filters(self) -> dict[str, Any]:
        if not self.is_bound or not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v}


class CampaignForm(BootstrapMixin, forms.Form):
    organiser = forms.ModelChoiceField(label=_("发起机构"), queryset=Organisation.objects.none())
    title = forms.CharField(label=_("调查名称"), max_length=160)
    audience = forms.ChoiceField(label=_("调查对象"), choices=SurveyAudience.choices)
    recurrence = forms.ChoiceField(label=_("周期"), choices=SurveyRecurrence.choices, initial=SurveyRecurrence.ONCE)
    period_label = forms.CharField(
        label=_("调查期"),
        max_length=20,
        help_text=_("季度调查写作 2026Q4，半年度写作 2026H2，年度写作 2026；一次性调查可自拟。"),
    )
    opens_on = forms.DateField(label=_("开始日期"), widget=DateInput())
    closes_on = forms.DateField(label=_("截止日期"), widget=DateInput())
    reminder_every_days = forms.IntegerField(
        label=_("催办间隔（天）"), min_value=1, max_value=MAX_REMINDER_DAYS, initial=7
    )
    flows_into_library = forms.BooleanField(
        label=_("答卷写入资源库"),
        required=False,
        initial=True,
        help_text=_("企业答卷中填写的融资金额生成融资需求，银行答卷生成产品草稿（须有题目写入对应字段）"),
    )
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(
        self,
        *args: Any,
        organisers: QuerySet[Organisation] | None = None,
        campaign: SurveyCampaign | None = None,
        **kwargs: Any,
    ) -> None:
        if campaign is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(campaign, name) for name in self.base_fields if name != "organiser"}
        super().__init__(*args, **kwargs)
        if campaign is not None:
            del self.fields["organiser"]
            if campaign.status != SurveyStatus.DRAFT:
                for name, field in self.fields.items():
                    if name not in OPEN_EDITABLE:
                        field.disabled = True
        else:
            field = self.fields["organiser"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = organisers if organisers is not None else Organisation.objects.none()
            if organisers is not None and organisers.count() == 1:
                field.initial = organisers.first()

    def changes(self, campaign: SurveyCampaign) -> dict[str, Any]:
        """The fields that differ from the campaign (for `campaign_update`)."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if not self.fields[name].disabled and value != getattr(campaign, name)
        }


class QuestionForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("题型"), choices=QuestionKind.choices)
    text = forms.CharField(label=_("题目"), max_length=300)
    help_text = forms.CharField(label=_("填写说明"), max_length=300, required=False)
    required = forms.BooleanField(label=_("必答"), required=False, initial=True)
    choices = forms.CharField(
        label=_("选项"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("单选、多选题每行一个选项"),
    )
    maps_to = forms.ChoiceField(label=_("写入字段"), choices=QuestionTarget.choices, required=False)

    def __init__(
        self, *args: Any, question: SurveyQuestion | None = None, prefix: str | None = None, **kw: Any
    ) -> None:
        if question is not None and "initial" not in kw:
            kw["initial"] = {
                "kind": question.kind,
                "text": question.text,
                "help_text": question.help_text,
                "required": question.required,
                "choices": "\n".join(question.choices),
                "maps_to": question.maps_to,
            }
        super().__init__(*args, prefix=prefix, **kw)

    def values(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "kind": d["kind"],
            "text": d["text"],
            "help_text": d.get("help_text") or "",
            "required": bool(d.get("required")),
            "choices": d.get("choices") or "",
            "maps_to": d.get("maps_to") or "",
        }


class TargetForm(BootstrapMixin, forms.Form):
    organisations = forms.ModelMultipleChoiceField(
        label=_("指定机构"),
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("按住 Ctrl 可多选；只列出本机构调查范围内、已开通平台账户的机构"),
    )
    park = forms.ModelChoiceField(
        label=_("按园区添加"),
        queryset=Park.objects.none(),
        required=False,
        help_text=_("该园区全部开通平台账户的在园企业"),
    )
    region = forms.ModelChoiceField(
        label=_("按地区添加"),
        queryset=Region.objects.none(),
        required=False,
        help_text=_("企业调查：在该地区登记或入驻该地区园区的企业；银行调查：位于该地区的银行"),
    )

    def __init__(
        self,
        *args: Any,
        organisations: QuerySet[Organisation],
        parks: QuerySet[Park] | None,
        regions: QuerySet[Region] | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._set("organisations", organisations)
        if parks is None:
            del self.fields["park"]
        else:
            self._set("park", parks)
        if regions is None:
            del self.fields["region"]
        else:
            self._set("region", regions)

    def _set(self, name: str, queryset: QuerySet[Any]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = queryset


def _check_class(widget: forms.Widget) -> None:
    widget.attrs["class"] = "form-check-input"


class AnswerForm(BootstrapMixin, forms.Form):
    """One field `q_<id>` per question with the widget its kind calls for; values are passed raw to the service."""

    def __init__(self, *args: Any, questions: list[SurveyQuestion], **kwargs: Any) -> None:
        self.questions = questions
        super().__init__(*args, **kwargs)
        for question in questions:
            self.fields[field_name(question)] = _answer_field(question)
        for name in list(self.fields):
            widget = self.fields[name].widget
            if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                _check_class(widget)
            elif isinstance(widget, forms.Select):
                widget.attrs["class"] = "form-select"
            else:
                widget.attrs["class"] = "form-control"

    def rows(self) -> list[tuple[SurveyQuestion, forms.BoundField]]:
        return [(q, self[field_name(q)]) for q in self.questions]

    def answers(self) -> dict[str, Any]:
        """The raw answers keyed by question id (lists for multiple choice)."""
        out: dict[str, Any] = {}
        for question in self.questions:
            name = field_name(question)
            if question.kind == QuestionKind.MULTI_CHOICE:
                getlist = getattr(self.data, "getlist", None)
                out[str(question.pk)] = getlist(self.add_prefix(name)) if getlist is not None else []
            else:
                out[str(question.pk)] = self.data.get(self.add_prefix(name), "") if self.data else ""
        return out


def _answer_field(question: SurveyQuestion) -> forms.Field:
    common: dict[str, Any] = {"label": question.text, "required": False, "help_text": question.help_text}
    kind = question.kind
    options = [(o, o) for o in question.choices]
    if kind == QuestionKind.LONG_TEXT:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), **common)
    if kind == QuestionKind.INTEGER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": 1}), **common)
    if kind == QuestionKind.MONEY:
        return forms.CharField(
            widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": _("如 5000000 或 500万")}), **common
        )
    if kind == QuestionKind.CHOICE:
        return forms.ChoiceField(choices=options, widget=forms.RadioSelect, **common)
    if kind == QuestionKind.MULTI_CHOICE:
        return forms.MultipleChoiceField(choices=options, widget=forms.CheckboxSelectMultiple, **common)
    if kind == QuestionKind.DATE:
        return forms.CharField(widget=DateInput(), **common)
    if kind == QuestionKind.YES_NO:
        return forms.ChoiceField(choices=[("yes", _("是")), ("no", _("否"))], widget=forms.RadioSelect, **common)
    if kind == QuestionKind.RATING:
        return forms.ChoiceField(choices=[(str(r), str(r)) for r in range(1, 6)], widget=forms.RadioSelect, **common)
    return forms.CharField(max_length=None, **common)
