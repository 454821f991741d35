"""django-tables2 table of the scorecards page (评分卡)."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Scorecard

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}


class ScorecardTable(tables.Table):
    name = tables.LinkColumn("screening:scorecard_detail", args=[tables.A("pk")], verbose_name=_("名称"))
    method = tables.Column(verbose_name=_("权重来源"))
    owner = tables.Column(verbose_name=_("发布机构"), default=_("平台"), order_by=("owner__name",))
    is_active = tables.Column(verbose_name=_("状态"))
    training_rows = tables.Column(verbose_name=_("训练样本数"), attrs={"td": {"class": "text-end"}})
    auc = tables.Column(
        verbose_name=_("留出样本 AUC"), accessor="metrics", orderable=False, attrs={"td": {"class": "text-end"}}
    )
    created_at = tables.DateTimeColumn(verbose_name=_("创建时间"), format="Y-m-d H:i")

    class Meta:
        model = Scorecard
        fields = ("name", "method", "owner", "is_active", "training_rows", "auc", "created_at")
        attrs = TABLE_ATTRS
        row_attrs = {"data-scorecard": lambda record: record.pk}

    def render_method(self, record: Scorecard) -> Any:
        return record.get_method_display()

    def render_is_active(self, value: bool) -> Any:
        if value:
            return format_html('<span class="badge text-bg-success">{}</span>', _("启用"))
        return format_html('<span class="badge text-bg-secondary">{}</span>', _("未启用"))

    def render_training_rows(self, record: Scorecard) -> Any:
        return record.training_rows if record.method == "logistic" else "—"

    def render_auc(self, value: Any) -> Any:
        auc = value.get("auc") if isinstance(value, dict) else None
        return f"{float(auc):.3f}" if auc is not None else "—"
