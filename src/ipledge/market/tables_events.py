"""django-tables2 tables of the matchmaking-event pages: the event list and the organiser's participant list."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from .choices import EventStatus, ParticipantKind
from .models import EventParticipant, MatchmakingEvent

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}
NUMBER_ATTRS = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}

EVENT_BADGES: dict[str, str] = {
    EventStatus.OPEN: "text-bg-primary",
    EventStatus.SCHEDULED: "text-bg-info",
    EventStatus.HELD: "text-bg-success",
    EventStatus.CANCELLED: "text-bg-secondary",
}


def event_badge(event: MatchmakingEvent) -> SafeString:
    return format_html(
        '<span class="badge event-status {}">{}</span>',
        EVENT_BADGES.get(event.status, "text-bg-light"),
        event.get_status_display(),
    )


class EventTable(tables.Table):
    event_date = tables.DateColumn(verbose_name=_("活动日期"), format="Y-m-d")
    title = tables.Column(verbose_name=_("活动名称"))
    place = tables.Column(verbose_name=_("地点"))
    organiser = tables.Column(verbose_name=_("主办机构"), order_by=("organiser__name",))
    registration_closes_on = tables.DateColumn(verbose_name=_("报名截止"), format="Y-m-d")
    bank_count = tables.Column(verbose_name=_("银行"), attrs=NUMBER_ATTRS)
    enterprise_count = tables.Column(verbose_name=_("企业"), attrs=NUMBER_ATTRS)
    status = tables.Column(verbose_name=_("状态"))

    class Meta:
        model = MatchmakingEvent
        fields = (
            "event_date",
            "title",
            "place",
            "organiser",
            "registration_closes_on",
            "bank_count",
            "enterprise_count",
            "status",
        )
        attrs = TABLE_ATTRS
        empty_text = _("暂无银企对接活动。")
        row_attrs = {"class": "matchmaking-event", "data-event": lambda record: record.pk}

    def render_title(self, record: MatchmakingEvent) -> SafeString:
        theme = format_html('<div class="small text-body-secondary">{}</div>', record.theme) if record.theme else ""
        return format_html(
            '<a href="{}">{}</a>{}', reverse("market:event_detail", args=[record.pk]), record.title, theme
        )

    def render_organiser(self, value: Any) -> str:
        return str(value.name)

    def render_status(self, record: MatchmakingEvent) -> SafeString:
        return event_badge(record)


class ParticipantTable(tables.Table):
    organisation = tables.Column(verbose_name=_("参会机构"), order_by=("organisation__name",))
    kind = tables.Column(verbose_name=_("类别"))
    desks = tables.Column(verbose_name=_("洽谈台"), attrs=NUMBER_ATTRS)
    demand = tables.Column(verbose_name=_("拟洽谈需求"), orderable=False)
    contact_name = tables.Column(verbose_name=_("联系人"))
    registered_at = tables.DateTimeColumn(verbose_name=_("报名时间"), format="Y-m-d H:i")
    withdrawn_at = tables.DateTimeColumn(verbose_name=_("退出时间"), format="Y-m-d H:i")
    actions = tables.TemplateColumn(
        template_name="market/events/partials/participant_actions.html", verbose_name="", orderable=False
    )

    class Meta:
        model = EventParticipant
        fields = (
            "organisation",
            "kind",
            "desks",
            "demand",
            "contact_name",
            "registered_at",
            "withdrawn_at",
            "actions",
        )
        attrs = TABLE_ATTRS
        empty_text = _("尚无机构报名。")
        row_attrs = {"class": "event-participant", "data-participant": lambda record: record.pk}

    def render_organisation(self, value: Any) -> str:
        return str(value.name)

    def render_desks(self, record: EventParticipant) -> Any:
        return record.desks if record.kind == ParticipantKind.BANK else "—"

    def render_demand(self, record: EventParticipant) -> str:
        if record.demand is None:
            return "—" if record.kind == ParticipantKind.BANK else str(_("全部有效需求"))
        return str(record.demand.reference)
