"""Forms of the consultation pages (政策咨询) and the one-stop service centre (一站式服务中心)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ipledge.core.forms import BootstrapMixin

from .choices import ConsultationStatus, PolicyKind, ServiceRequestKind, ServiceRequestStatus
from .models import Policy
from .services.consultations import MAX_ANSWER, MAX_FAQ_QUESTION, MAX_QUESTION, MAX_SUBJECT


class ConsultationForm(BootstrapMixin, forms.Form):
    subject = forms.CharField(label=_("标题"), max_length=MAX_SUBJECT)
    question = forms.CharField(label=_("问题"), max_length=MAX_QUESTION, widget=forms.Textarea(attrs={"rows": 6}))
    policy = forms.ModelChoiceField(
        label=_("相关政策"), queryset=Policy.objects.none(), required=False, empty_label=_("（不涉及具体政策）")
    )

    def __init__(self, *args: Any, policies: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if policies is not None:
            self.fields["policy"].queryset = policies  # type: ignore[attr-defined]


class AnswerForm(BootstrapMixin, forms.Form):
    answer = forms.CharField(label=_("答复"), max_length=MAX_ANSWER, widget=forms.Textarea(attrs={"rows": 6}))
    publish = forms.BooleanField(label=_("公开为常见问题"), required=False)
    faq_question = forms.CharField(
        label=_("公开问题表述"),
        max_length=MAX_FAQ_QUESTION,
        required=False,
        help_text=_("公开时必填：改写后的问题，不得出现企业名称。"),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class PublishForm(BootstrapMixin, forms.Form):
    publish = forms.BooleanField(label=_("公开"), required=False)
    faq_question = forms.CharField(label=_("公开问题表述"), max_length=MAX_FAQ_QUESTION, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ConsultationFilterForm(BootstrapMixin, forms.Form):
    status = forms.ChoiceField(label=_("状态"), choices=[("", _("全部")), *ConsultationStatus.choices], required=False)
    q = forms.CharField(label=_("关键词"), required=False)


class FaqSearchForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("关键词"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("政策类型"), choices=[("", _("全部")), *PolicyKind.choices], required=False)


# ---------------------------------------------------------------------------------------------------- service centre


class ServiceRequestForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("事项"), choices=ServiceRequestKind.choices)
    subject = forms.CharField(label=_("标题"), max_length=200)
    detail = forms.CharField(label=_("说明"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))


class ServiceResponseForm(BootstrapMixin, forms.Form):
    response = forms.CharField(
        label=_("办理意见"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ServiceQueueFilterForm(BootstrapMixin, forms.Form):
    status = forms.ChoiceField(
        label=_("状态"), choices=[("", _("全部")), *ServiceRequestStatus.choices], required=False
    )
    kind = forms.ChoiceField(label=_("事项"), choices=[("", _("全部")), *ServiceRequestKind.choices], required=False)
