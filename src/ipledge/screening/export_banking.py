"""The bank's whitelist as an Excel workbook (白名单导出), for the page's export and the API's: one row per entry
with its points per characteristic and reasons in words, and the bank's latest decision. Chinese headers; money as
numbers with two decimals (xlsx holds doubles, exact for amounts below 2^53 fen)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from ipledge.core import exports
from ipledge.core.money import Money

from .models import WhitelistEntry
from .selectors_banking import explain_entry, outcome_label

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def headers() -> list[str]:
    return [
        _("企业名称"),
        _("统一社会信用代码"),
        _("园区"),
        _("地区代码"),
        _("白名单期间"),
        _("版本"),
        _("批准时间"),
        _("评分"),
        _("各项得分"),
        _("纳入原因"),
        _("最新授信决定"),
        _("授信金额（元）"),
        _("决定日"),
    ]


def _row(entry: Any) -> list[Any]:
    explanation = explain_entry(entry)
    whitelist = entry.version.whitelist
    points = "；".join(f"{r.label}（{r.value}）：{r.points}" for r in explanation.rows)
    if explanation.base_points is not None:
        points = (
            f"{_('基础分')}：{explanation.base_points}；{points}"
            if points
            else f"{_('基础分')}：{explanation.base_points}"
        )
    amount = getattr(entry, "latest_amount", None)
    decided_at = entry.version.decided_at
    return [
        entry.enterprise.name,
        entry.enterprise.uscc,
        whitelist.park.name,
        whitelist.region_code,
        whitelist.period,
        entry.version.number,
        timezone.localtime(decided_at).strftime("%Y-%m-%d %H:%M") if decided_at else None,
        entry.score,
        points,
        "；".join(words for _code, words in explanation.reasons),
        outcome_label(getattr(entry, "latest_outcome", None)) or _("未作决定"),
        amount.amount if isinstance(amount, Money) else None,
        getattr(entry, "latest_decided_on", None),
    ]


def whitelist_workbook(entries: Iterable[WhitelistEntry]) -> bytes:
    buffer = io.BytesIO()
    book = exports.workbook(buffer, {"in_memory": True, "default_date_format": "yyyy-mm-dd"})
    sheet = book.add_worksheet(_("授信白名单")[:31])
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7"})
    amount = book.add_format({"num_format": "#,##0.00"})
    score = book.add_format({"num_format": "0.00"})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    columns = headers()
    sheet.write_row(0, 0, columns, bold)
    money_col, score_col, date_col = 11, 7, 12
    row_no = 0
    for row_no, entry in enumerate(entries, start=1):
        for col, value in enumerate(_row(entry)):
            if value is None:
                sheet.write_blank(row_no, col, None)
            elif col == money_col:
                sheet.write_number(row_no, col, float(value), amount)
            elif col == score_col and isinstance(value, Decimal):
                sheet.write_number(row_no, col, float(value), score)
            elif col == date_col:
                sheet.write_datetime(row_no, col, value, date)
            else:
                sheet.write(row_no, col, value)
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 7, 14)
    sheet.set_column(8, 9, 48)
    sheet.set_column(10, len(columns) - 1, 14)
    sheet.freeze_panes(1, 1)
    if row_no:
        sheet.autofilter(0, 0, row_no, len(columns) - 1)
    book.close()
    return buffer.getvalue()


def export_filename() -> str:
    return f"授信白名单_{timezone.localdate():%Y%m%d}.xlsx"
