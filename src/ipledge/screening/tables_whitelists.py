"""django-tables2 tables of the whitelist pages (授信白名单): criteria, whitelists, versions (and the province's
approval queue), and applications."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .choices import ApplicationStatus, CriteriaStatus, VersionStatus
from .models import Criteria, Whitelist, WhitelistApplication, WhitelistVersion

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}
NUMBER_ATTRS = {"td": {"class": "text-end"}, "th": {"class": "text-end"}}

CRITERIA_BADGES: dict[str, str] = {
    CriteriaStatus.DRAFT: "text-bg-warning",
    CriteriaStatus.PUBLISHED: "text-bg-success",
    CriteriaStatus.RETIRED: "text-bg-secondary",
}
VERSION_BADGES: dict[str, str] = {
    VersionStatus.DRAFT: "text-bg-warning",
    VersionStatus.SUBMITTED: "text-bg-primary",
    VersionStatus.APPROVED: "text-bg-success",
    VersionStatus.RETURNED: "text-bg-danger",
    VersionStatus.SUPERSEDED: "text-bg-secondary",
}
APPLICATION_BADGES: dict[str, str] = {
    ApplicationStatus.PENDING: "text-bg-warning",
    ApplicationStatus.INCLUDED: "text-bg-success",
    ApplicationStatus.NOT_INCLUDED: "text-bg-danger",
    ApplicationStatus.WITHDRAWN: "text-bg-secondary",
}


def badge(css: str, text: Any, kind: str) -> str:
    return format_html('<span class="badge {} {}">{}</span>', kind, css, text)


class CriteriaTable(tables.Table):
    name = tables.LinkColumn("screening:criteria_detail", args=[tables.A("pk")], verbose_name=_("名称"))
    level = tables.Column(verbose_name=_("层级"))
    period = tables.Column(verbose_name=_("白名单期间"))
    region = tables.Column(verbose_name=_("适用地区"), order_by=("region__code",))
    park = tables.Column(verbose_name=_("园区"), order_by=("park__name",), default="—")
    owner = tables.Column(verbose_name=_("制定机构"), order_by=("owner__name",))
    min_score = tables.Column(verbose_name=_("最低评分"), attrs=NUMBER_ATTRS)
    status = tables.Column(verbose_name=_("状态"))

    class Meta:
        model = Criteria
        fields = ("name", "level", "period", "region", "park", "owner", "min_score", "status")
        attrs = TABLE_ATTRS
        empty_text = _("没有筛选标准。")
        row_attrs = {"class": "criteria-row", "data-criteria": lambda record: record.pk}

    def render_level(self, record: Criteria) -> str:
        return str(record.get_level_display())

    def render_region(self, value: Any) -> str:
        return str(value.full_name)

    def render_park(self, value: Any) -> str:
        return str(value.name)

    def render_owner(self, value: Any) -> str:
        return str(value.name)

    def render_status(self, record: Criteria) -> str:
        return badge(CRITERIA_BADGES.get(record.status, ""), record.get_status_display(), "criteria-status")


class WhitelistTable(tables.Table):
    park = tables.LinkColumn(
        "screening:whitelist_detail", args=[tables.A("pk")], verbose_name=_("园区"), order_by=("park__name",)
    )
    period = tables.Column(verbose_name=_("白名单期间"))
    current_version = tables.Column(verbose_name=_("现行版本"), default="—", orderable=False)
    included = tables.Column(
        verbose_name=_("纳入企业数"), accessor="current_version__included", default="—", attrs=NUMBER_ATTRS
    )
    candidates = tables.Column(
        verbose_name=_("筛选企业数"), accessor="current_version__candidates", default="—", attrs=NUMBER_ATTRS
    )
    decided_at = tables.DateTimeColumn(
        verbose_name=_("批准时间"), accessor="current_version__decided_at", format="Y-m-d", default="—"
    )

    class Meta:
        model = Whitelist
        fields = ("park", "period", "current_version", "included", "candidates", "decided_at")
        attrs = TABLE_ATTRS
        empty_text = _("没有授信白名单。")
        row_attrs = {"class": "whitelist-row", "data-whitelist": lambda record: record.pk}

    def render_park(self, value: Any) -> str:
        return str(value.name)

    def render_current_version(self, value: WhitelistVersion) -> str:
        return format_html("v{}", value.number)


class VersionTable(tables.Table):
    number = tables.LinkColumn(
        "screening:version_detail", args=[tables.A("pk")], verbose_name=_("版本"), text=lambda r: f"v{r.number}"
    )
    park = tables.Column(verbose_name=_("园区"), accessor="whitelist__park__name", order_by=("whitelist__park__name",))
    period = tables.Column(verbose_name=_("白名单期间"), accessor="whitelist__period")
    as_of = tables.DateColumn(verbose_name=_("筛选基准日"), format="Y-m-d")
    candidates = tables.Column(verbose_name=_("筛选企业数"), attrs=NUMBER_ATTRS)
    included = tables.Column(verbose_name=_("纳入企业数"), attrs=NUMBER_ATTRS)
    submitted_at = tables.DateTimeColumn(verbose_name=_("报送时间"), format="Y-m-d H:i", default="—")
    status = tables.Column(verbose_name=_("状态"))

    class Meta:
        model = WhitelistVersion
        fields = ("number", "park", "period", "as_of", "candidates", "included", "submitted_at", "status")
        attrs = TABLE_ATTRS
        empty_text = _("没有白名单版本。")
        row_attrs = {"class": "version-row", "data-version": lambda record: record.pk}

    def render_status(self, record: WhitelistVersion) -> str:
        return badge(VERSION_BADGES.get(record.status, ""), record.get_status_display(), "version-status")


class ApplicationTable(tables.Table):
    enterprise = tables.Column(verbose_name=_("企业"), order_by=("enterprise__name",))
    park = tables.Column(verbose_name=_("园区"), order_by=("park__name",))
    period = tables.Column(verbose_name=_("白名单期间"))
    created_at = tables.DateTimeColumn(verbose_name=_("申请时间"), format="Y-m-d H:i")
    status = tables.Column(verbose_name=_("状态"))
    answered_in = tables.Column(verbose_name=_("答复版本"), default="—", orderable=False)
    actions = tables.TemplateColumn(
        template_name="screening/whitelists/partials/application_actions.html",
        verbose_name="",
        orderable=False,
    )

    class Meta:
        model = WhitelistApplication
        fields = ("enterprise", "park", "period", "created_at", "status", "answered_in", "actions")
        attrs = TABLE_ATTRS
        empty_text = _("没有白名单申请。")
        row_attrs = {"class": "application-row", "data-application": lambda record: record.pk}

    def render_enterprise(self, value: Any) -> str:
        return str(value.name)

    def render_park(self, value: Any) -> str:
        return str(value.name)

    def render_status(self, record: WhitelistApplication) -> str:
        return badge(APPLICATION_BADGES.get(record.status, ""), record.get_status_display(), "application-status")

    def render_answered_in(self, value: WhitelistVersion) -> str:
        return format_html("v{}", value.number)
