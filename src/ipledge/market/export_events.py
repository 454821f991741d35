"""An event's schedule and outcomes as an Excel workbook (银企对接排期与成效), for the page's export and the API's.

Two sheets over the meetings the user sees: 排期 (slot, time, bank, desk, enterprise, status) and 洽谈结果 (outcome,
intended amount, follow-up date, loan and its amount). Chinese headers; money as numbers with two decimals (xlsx
holds doubles, exact for amounts below 2^53 fen). Text that a spreadsheet would read as a formula (starting with
= + - @, also after a tab or carriage return) is written with a leading apostrophe, and never as a formula.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from ipledge.core import exports
from ipledge.core.exports import neutralise
from ipledge.core.money import Money

from .models import MatchmakingEvent, Meeting
from .selectors_events import loan_amount

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _slot_time(event: MatchmakingEvent, slot: int) -> str:
    return event.slot_start(slot).strftime("%H:%M")


def schedule_headers() -> list[str]:
    return [_("场次"), _("开始时间"), _("银行"), _("洽谈台"), _("企业"), _("统一社会信用代码"), _("状态"), _("匹配度")]


def outcome_headers() -> list[str]:
    return [
        _("场次"),
        _("银行"),
        _("企业"),
        _("状态"),
        _("洽谈结果"),
        _("意向金额（元）"),
        _("跟进日期"),
        _("贷款编号"),
        _("贷款金额（元）"),
        _("结果说明"),
        _("记录人"),
    ]


def _write(sheet: Any, row: int, values: list[Any], formats: dict[int, Any]) -> None:
    for col, value in enumerate(values):
        fmt = formats.get(col)
        if value is None or value == "":
            sheet.write_blank(row, col, None, fmt)
        elif isinstance(value, Money):
            sheet.write_number(row, col, float(value.amount), fmt)
        elif isinstance(value, int | float):
            sheet.write_number(row, col, value, fmt)
        elif hasattr(value, "isoformat") and not isinstance(value, str):
            sheet.write_datetime(row, col, value, fmt)
        else:
            sheet.write_string(row, col, str(neutralise(str(value))), fmt)


def event_workbook(event: MatchmakingEvent, meetings: Iterable[Meeting]) -> bytes:
    buffer = io.BytesIO()
    book = exports.workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "default_date_format": "yyyy-mm-dd",
        },
    )
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7"})
    money = book.add_format({"num_format": "#,##0.00"})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    rows = list(meetings)

    plan = book.add_worksheet(_("排期"))
    plan.write_string(0, 0, str(neutralise(event.title)), bold)
    plan.write_string(1, 0, f"{event.event_date:%Y-%m-%d} {str(neutralise(event.place))}")
    plan.write_row(3, 0, schedule_headers(), bold)
    for n, m in enumerate(rows, start=4):
        score = float(m.match.score) if m.match_id and m.match is not None else None
        _write(
            plan,
            n,
            [
                m.slot,
                _slot_time(event, m.slot),
                m.bank_participant.organisation.name,
                m.desk,
                m.enterprise_participant.organisation.name,
                m.enterprise_participant.enterprise.uscc if m.enterprise_participant.enterprise else "",
                m.get_status_display(),
                score,
            ],
            {},
        )
    plan.set_column(0, 1, 10)
    plan.set_column(2, 2, 30)
    plan.set_column(3, 3, 8)
    plan.set_column(4, 5, 30)
    plan.set_column(6, 7, 10)
    plan.freeze_panes(4, 0)

    results = book.add_worksheet(_("洽谈结果"))
    results.write_row(0, 0, outcome_headers(), bold)
    for n, m in enumerate(rows, start=1):
        _write(
            results,
            n,
            [
                m.slot,
                m.bank_participant.organisation.name,
                m.enterprise_participant.organisation.name,
                m.get_status_display(),
                m.get_outcome_display() if m.outcome else "",
                m.intended_amount,
                m.follow_up_on,
                m.loan.reference if m.loan_id and m.loan is not None else "",
                loan_amount(m.loan) if m.loan_id and m.loan is not None else None,
                m.outcome_note,
                m.recorded_by.get_username() if m.recorded_by_id and m.recorded_by is not None else "",
            ],
            {5: money, 6: date, 8: money},
        )
    results.set_column(0, 0, 8)
    results.set_column(1, 2, 30)
    results.set_column(3, 9, 14)
    results.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


def export_filename(event: MatchmakingEvent) -> str:
    return f"银企对接排期_{event.pk}_{timezone.localdate():%Y%m%d}.xlsx"
