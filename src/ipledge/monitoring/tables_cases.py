"""django-tables2 tables of the typical-case pages (典型案例): the library and the year's ranked selection."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from .choices import CaseStatus
from .models import TypicalCase

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}

STATUS_BADGES: dict[str, str] = {
    CaseStatus.NOMINATED: "text-bg-light border",
    CaseStatus.UNDER_REVIEW: "text-bg-warning",
    CaseStatus.SELECTED: "text-bg-info",
    CaseStatus.REJECTED: "text-bg-secondary",
    CaseStatus.PUBLISHED: "text-bg-success",
    CaseStatus.WITHDRAWN: "text-bg-light text-body-secondary border",
}


def case_badge(case: TypicalCase) -> SafeString:
    return format_html(
        '<span class="badge case-status {}" data-status="{}">{}</span>',
        STATUS_BADGES.get(case.status, "text-bg-light"),
        case.status,
        case.get_status_display(),
    )


class CaseTable(tables.Table):
    title = tables.Column(verbose_name=_("案例名称"), order_by=("title",))
    year = tables.Column(verbose_name=_("年度"))
    category = tables.Column(verbose_name=_("案例类型"))
    park = tables.Column(verbose_name=_("园区"), order_by=("park__name",), default="—")
    nominated_by_org = tables.Column(verbose_name=_("推荐单位"), order_by=("nominated_by_org__name",))
    review_score = tables.Column(verbose_name=_("评审得分"), default="—")
    status = tables.Column(verbose_name=_("状态"))

    class Meta:
        model = TypicalCase
        fields = ("title", "year", "category", "park", "nominated_by_org", "review_score", "status")
        attrs = TABLE_ATTRS
        empty_text = _("没有符合条件的案例。")
        row_attrs = {"class": "typical-case", "data-case": lambda record: record.pk}

    def render_title(self, record: TypicalCase) -> SafeString:
        return format_html(
            '<a class="case-link" href="{}">{}</a><div class="small text-body-secondary">{}</div>',
            reverse("monitoring:case_detail", args=[record.pk]),
            record.title,
            record.summary[:80],
        )

    def render_category(self, record: TypicalCase) -> str:
        return record.get_category_display()

    def render_park(self, record: TypicalCase) -> str:
        return record.park.name if record.park else "—"

    def render_nominated_by_org(self, record: TypicalCase) -> str:
        return record.nominated_by_org.name

    def render_status(self, record: TypicalCase) -> SafeString:
        return case_badge(record)


class SelectionTable(tables.Table):
    """The year's ranking: the order comes from the selector (best score first), so the columns do not sort."""

    rank = tables.Column(verbose_name=_("名次"), empty_values=(), orderable=False)
    title = tables.Column(verbose_name=_("案例名称"), orderable=False)
    category = tables.Column(verbose_name=_("案例类型"), orderable=False)
    region_code = tables.Column(verbose_name=_("地区"), orderable=False)
    nominated_by_org = tables.Column(verbose_name=_("推荐单位"), orderable=False)
    review_score = tables.Column(verbose_name=_("评审得分"), orderable=False, default="—")
    status = tables.Column(verbose_name=_("状态"), orderable=False)

    class Meta:
        model = TypicalCase
        fields = ("rank", "title", "category", "region_code", "nominated_by_org", "review_score", "status")
        attrs = TABLE_ATTRS
        empty_text = _("本年度尚无进入评审的案例。")
        row_attrs = {"class": "selection-row", "data-case": lambda record: record.pk}

    def __init__(
        self, *args: Any, ranks: dict[int, int] | None = None, region_names: dict[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.ranks = ranks or {}
        self.region_names = region_names or {}

    def render_rank(self, record: TypicalCase) -> str:
        rank = self.ranks.get(record.pk)
        return str(rank) if rank is not None else "—"

    def render_title(self, record: TypicalCase) -> SafeString:
        return format_html(
            '<a class="case-link" href="{}">{}</a>', reverse("monitoring:case_detail", args=[record.pk]), record.title
        )

    def render_category(self, record: TypicalCase) -> str:
        return record.get_category_display()

    def render_region_code(self, record: TypicalCase) -> str:
        return self.region_names.get(record.region_code, record.region_code)

    def render_nominated_by_org(self, record: TypicalCase) -> str:
        return record.nominated_by_org.name

    def render_status(self, record: TypicalCase) -> SafeString:
        return case_badge(record)
