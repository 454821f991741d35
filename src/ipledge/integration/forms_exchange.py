"""Forms of the 信易贷 exchange pages: a partner's settings, rotating its secret, and the queue filters."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django import forms
from django.utils.translation import gettext_lazy as _

from ipledge.core.forms import BootstrapMixin
from ipledge.core.scoping import Action
from ipledge.registry.filtersets import StyledFilterSet

from .choices import InboundStatus, MessageKind, OutboundStatus
from .models import ExchangePartner, InboundMessage, OutboundMessage

PARTNER_FIELDS = (
    "code",
    "name",
    "base_url",
    "key_id",
    "region_code",
    "push_products",
    "push_whitelist",
    "push_registrations",
    "is_active",
    "max_attempts",
)


class PartnerForm(BootstrapMixin, forms.Form):
    code = forms.CharField(label=_("伙伴代码"), max_length=40, help_text=_("小写字母、数字或连字符，如 xyd-bj"))
    name = forms.CharField(label=_("名称"), max_length=128)
    base_url = forms.CharField(
        label=_("接口地址"), max_length=300, help_text=_("https:// 开头，例如 https://xyd.example.gov.cn/exchange")
    )
    key_id = forms.CharField(label=_("密钥标识"), max_length=64)
    region_code = forms.CharField(
        label=_("服务地区代码"), max_length=6, required=False, help_text=_("6位区划代码；全国性平台留空")
    )
    push_products = forms.BooleanField(label=_("推送金融产品"), required=False, initial=True)
    push_whitelist = forms.BooleanField(label=_("推送白名单企业（经企业授权）"), required=False, initial=True)
    push_registrations = forms.BooleanField(label=_("推送质押登记信息"), required=False, initial=True)
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)
    max_attempts = forms.IntegerField(label=_("最大重试次数"), min_value=1, max_value=20, initial=6)
    secret = forms.CharField(
        label=_("签名密钥"),
        required=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("至少32个字符；留空则自动生成，保存后仅显示一次"),
    )

    def __init__(self, *args: Any, creating: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["secret"]

    @classmethod
    def initial_for(cls, partner: ExchangePartner) -> dict[str, Any]:
        return {name: getattr(partner, name) for name in PARTNER_FIELDS}


class RotateSecretForm(BootstrapMixin, forms.Form):
    secret = forms.CharField(
        label=_("新签名密钥"),
        required=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("留空则自动生成；新密钥仅显示一次，请及时告知对接平台"),
    )


class _PartnerFilterSet(StyledFilterSet):
    """A filter set whose partner choices are only the partners the user may see."""

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        visible = ExchangePartner.objects.restrict(user, Action.VIEW).order_by("code").values_list("pk", "name")
        self.form.fields["partner"].choices = [("", _("全部")), *visible]


class OutboundFilterSet(_PartnerFilterSet):
    partner = filters.ChoiceFilter(label=_("对接平台"), choices=(), empty_label=_("全部"))
    status = filters.ChoiceFilter(label=_("状态"), choices=OutboundStatus.choices, empty_label=_("全部"))
    kind = filters.ChoiceFilter(label=_("消息类型"), choices=MessageKind.choices, empty_label=_("全部"))
    q = filters.CharFilter(label=_("对象标识"), field_name="subject_key", lookup_expr="icontains")

    class Meta:
        model = OutboundMessage
        fields = ["partner", "status", "kind", "q"]


class InboundFilterSet(_PartnerFilterSet):
    partner = filters.ChoiceFilter(label=_("对接平台"), choices=(), empty_label=_("全部"))
    status = filters.ChoiceFilter(label=_("处理结果"), choices=InboundStatus.choices, empty_label=_("全部"))
    kind = filters.ChoiceFilter(label=_("消息类型"), choices=MessageKind.choices, empty_label=_("全部"))

    class Meta:
        model = InboundMessage
        fields = ["partner", "status", "kind"]
