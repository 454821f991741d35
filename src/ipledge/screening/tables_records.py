"""django-tables2 tables of the credit-record pages (信用记录): records and imports."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .choices import ImportStatus, MatchStatus
from .models import CreditImport, CreditRecord

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}
NUMBER_ATTRS = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}

MATCH_BADGES: dict[str, str] = {
    MatchStatus.USCC: "text-bg-success",
    MatchStatus.EXACT_NAME: "text-bg-success",
    MatchStatus.FUZZY: "text-bg-info",
    MatchStatus.CONFIRMED: "text-bg-primary",
    MatchStatus.PENDING: "text-bg-warning",
    MatchStatus.UNMATCHED: "text-bg-light border",
}
IMPORT_BADGES: dict[str, str] = {
    ImportStatus.COMMITTED: "text-bg-success",
    ImportStatus.REJECTED: "text-bg-danger",
}


def badge(css: str, text: Any, kind: str) -> str:
    return format_html('<span class="badge {} {}">{}</span>', kind, css, text)


def match_badge(record: CreditRecord) -> str:
    return badge(
        MATCH_BADGES.get(record.match_status, "text-bg-secondary"), record.get_match_status_display(), "match-status"
    )


class RecordTable(tables.Table):
    subject_name = tables.LinkColumn(
        "screening:record_detail",
        args=[tables.A("pk")],
        verbose_name=_("主体名称"),
        attrs={"a": {"class": "record-link"}},
    )
    subject_uscc = tables.Column(verbose_name=_("统一社会信用代码"))
    kind = tables.Column(verbose_name=_("记录类型"))
    reference = tables.Column(verbose_name=_("文书编号/案号"))
    listed_on = tables.DateColumn(verbose_name=_("列入/决定日期"), format="Y-m-d")
    removed_on = tables.DateColumn(verbose_name=_("移出/修复日期"), format="Y-m-d")
    expires_on = tables.DateColumn(verbose_name=_("公示期满"), format="Y-m-d")
    enterprise = tables.Column(verbose_name=_("匹配企业"), order_by=("enterprise__name",))
    match_status = tables.Column(verbose_name=_("匹配状态"))

    class Meta:
        model = CreditRecord
        fields = (
            "subject_name",
            "subject_uscc",
            "kind",
            "reference",
            "listed_on",
            "removed_on",
            "expires_on",
            "enterprise",
            "match_status",
        )
        attrs = TABLE_ATTRS
        order_by = "-listed_on"
        empty_text = _("没有信用记录。")
        row_attrs = {"class": "credit-record", "data-record": lambda record: record.pk}

    def render_kind(self, record: CreditRecord) -> str:
        text = record.get_kind_display()
        return f"{text}（{record.tax_rating}）" if record.tax_rating else str(text)

    def render_enterprise(self, value: Any) -> str:
        return str(value.name)

    def render_match_status(self, record: CreditRecord) -> str:
        return match_badge(record)


class ImportTable(tables.Table):
    file_name = tables.LinkColumn("screening:import_detail", args=[tables.A("pk")], verbose_name=_("文件名"))
    kind = tables.Column(verbose_name=_("记录类型"))
    organisation = tables.Column(verbose_name=_("导入机构"), order_by=("organisation__name",))
    created_at = tables.DateTimeColumn(verbose_name=_("导入时间"), format="Y-m-d H:i")
    rows_total = tables.Column(verbose_name=_("总行数"), attrs=NUMBER_ATTRS)
    rows_matched = tables.Column(verbose_name=_("已匹配"), attrs=NUMBER_ATTRS)
    rows_review = tables.Column(verbose_name=_("待复核"), attrs=NUMBER_ATTRS)
    rows_unmatched = tables.Column(verbose_name=_("未匹配"), attrs=NUMBER_ATTRS)
    status = tables.Column(verbose_name=_("状态"))

    class Meta:
        model = CreditImport
        fields = (
            "file_name",
            "kind",
            "organisation",
            "created_at",
            "rows_total",
            "rows_matched",
            "rows_review",
            "rows_unmatched",
            "status",
        )
        attrs = TABLE_ATTRS
        order_by = "-created_at"
        empty_text = _("还没有导入信用记录。")
        row_attrs = {"class": "credit-import", "data-import": lambda record: record.pk}

    def render_organisation(self, value: Any) -> str:
        return str(value.name)

    def render_status(self, record: CreditImport) -> str:
        return badge(
            IMPORT_BADGES.get(record.status, "text-bg-secondary"), record.get_status_display(), "import-status"
        )
