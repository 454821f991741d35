"""django-tables2 tables of the survey pages: the organiser's campaigns and a campaign's targets."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from .choices import SurveyStatus
from .models import SurveyCampaign, SurveyTarget
from .selectors_surveys import TargetState, target_state, target_state_label

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}
NUMBER_ATTRS = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}

STATUS_BADGES: dict[str, str] = {
    SurveyStatus.DRAFT: "text-bg-light border",
    SurveyStatus.OPEN: "text-bg-success",
    SurveyStatus.CLOSED: "text-bg-secondary",
}
TARGET_BADGES: dict[str, str] = {
    TargetState.ANSWERED: "text-bg-success",
    TargetState.REMINDED: "text-bg-warning",
    TargetState.PENDING: "text-bg-info",
    TargetState.NOT_SENT: "text-bg-light border",
}


def badge(css: str, text: Any, kind: str, state: str) -> SafeString:
    return format_html('<span class="badge {} {}" data-state="{}">{}</span>', kind, css, state, text)


def _local(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


class CampaignTable(tables.Table):
    title = tables.Column(verbose_name=_("调查名称"))
    period_label = tables.Column(verbose_name=_("调查期"))
    audience = tables.Column(verbose_name=_("调查对象"))
    organiser = tables.Column(verbose_name=_("发起机构"), order_by=("organiser__name",))
    status = tables.Column(verbose_name=_("状态"))
    closes_on = tables.DateColumn(verbose_name=_("截止日期"), format="Y-m-d")
    targets_count = tables.Column(verbose_name=_("调查对象数"), attrs=NUMBER_ATTRS)
    responded_count = tables.Column(verbose_name=_("已答卷"), attrs=NUMBER_ATTRS)
    rate = tables.Column(verbose_name=_("回收率"), empty_values=(), orderable=False, attrs=NUMBER_ATTRS)

    class Meta:
        model = SurveyCampaign
        fields = (
            "title",
            "period_label",
            "audience",
            "organiser",
            "status",
            "closes_on",
            "targets_count",
            "responded_count",
            "rate",
        )
        attrs = TABLE_ATTRS
        empty_text = _("尚未发起调查。")
        row_attrs = {"class": "survey-campaign", "data-campaign": lambda record: record.pk}

    def render_title(self, record: SurveyCampaign, value: str) -> SafeString:
        return format_html('<a href="{}">{}</a>', reverse("market:survey_detail", args=[record.pk]), value)

    def render_audience(self, record: SurveyCampaign) -> str:
        return str(record.get_audience_display())

    def render_organiser(self, value: Any) -> str:
        return str(value.name)

    def render_status(self, record: SurveyCampaign) -> SafeString:
        return badge(STATUS_BADGES[record.status], record.get_status_display(), "survey-status", record.status)

    def render_rate(self, record: SurveyCampaign) -> str:
        total = getattr(record, "targets_count", 0)
        if not total:
            return "—"
        return f"{100 * getattr(record, 'responded_count', 0) / total:.1f}%"


class TargetTable(tables.Table):
    organisation = tables.Column(verbose_name=_("调查对象"), order_by=("organisation__name",))
    region = tables.Column(verbose_name=_("地区"), accessor="organisation__region__name", orderable=False)
    state = tables.Column(verbose_name=_("状态"), empty_values=(), orderable=False)
    invited_at = tables.Column(verbose_name=_("发送时间"))
    reminders_sent = tables.Column(verbose_name=_("催办次数"), attrs=NUMBER_ATTRS)
    last_reminded_at = tables.Column(verbose_name=_("最近催办"))
    responded_at = tables.Column(verbose_name=_("答卷时间"))
    actions = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta:
        model = SurveyTarget
        fields = (
            "organisation",
            "region",
            "state",
            "invited_at",
            "reminders_sent",
            "last_reminded_at",
            "responded_at",
            "actions",
        )
        attrs = TABLE_ATTRS
        empty_text = _("尚未添加调查对象。")
        row_attrs = {
            "class": "survey-target",
            "data-target": lambda record: record.pk,
            "data-state": lambda record: target_state(record),
        }

    def render_organisation(self, value: Any) -> str:
        return str(value.name)

    def render_state(self, record: SurveyTarget) -> SafeString:
        state = target_state(record)
        return badge(TARGET_BADGES[state], target_state_label(state), "target-state", state)

    def render_invited_at(self, value: Any) -> str:
        return _local(value)

    def render_last_reminded_at(self, value: Any) -> str:
        return _local(value)

    def render_responded_at(self, value: Any) -> str:
        return _local(value)

    def render_actions(self, record: SurveyTarget) -> SafeString | str:
        """The remove button of a draft's target (rendered here, not by a template per row: a template rendered
        with the request runs every context processor again)."""
        request = getattr(self, "request", None)
        if not getattr(self, "can_remove", False) or request is None:
            return ""
        return format_html(
            '<form method="post" action="{}" class="d-inline target-remove">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button class="btn btn-sm btn-outline-secondary" type="submit" title="{}"><i class="bi bi-x-lg"></i>'
            "</button></form>",
            reverse("market:survey_target_remove", args=[record.pk]),
            get_token(request),
            _("移除"),
        )
