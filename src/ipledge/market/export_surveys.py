"""A campaign's answers as an Excel workbook (调查答卷导出), for the results page and the API.

Sheet 答卷: one row per responding organisation, one column per question (in question order, headed `1. 题目`),
then the demand or draft product created from the answers. Numbers stay numbers (integers, ratings, money in yuan
with two decimals: xlsx holds doubles, exact for amounts below 2^53 fen), dates are dates, yes/no reads 是/否,
multiple choices are joined with "；". Sheet 调查对象: every target with its state, reminders and times.
Every text cell that a spreadsheet could read as a formula (starting with = + - @, tab or carriage return) is
prefixed with an apostrophe.
"""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from ipledge.core import exports
from ipledge.core.exports import neutralise

from . import survey_answers
from .choices import QuestionKind
from .models import SurveyCampaign, SurveyResponse, SurveyTarget
from .selectors_surveys import campaign_questions, target_state, target_state_label

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _local(value: datetime.datetime | None) -> str | None:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else None


def _uscc(org: Any) -> str:
    enterprise = getattr(org, "enterprise", None)  # a missing reverse one-to-one reads as None here
    return str(getattr(enterprise, "uscc", "") or org.uscc or "")


def response_workbook(campaign: SurveyCampaign) -> bytes:
    questions = campaign_questions(campaign)
    responses = (
        SurveyResponse.objects.filter(campaign=campaign)
        .select_related("organisation", "organisation__enterprise", "submitted_by", "demand", "product")
        .order_by("organisation__name", "pk")
    )
    buffer = io.BytesIO()
    book = exports.workbook(buffer, {"in_memory": True, "default_date_format": "yyyy-mm-dd"})
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "text_wrap": True, "valign": "top"})
    money = book.add_format({"num_format": "#,##0.00"})
    date = book.add_format({"num_format": "yyyy-mm-dd"})

    sheet = book.add_worksheet(_("答卷")[:31])
    head = [_("答卷机构"), _("统一社会信用代码"), _("提交时间"), _("答卷人")]
    head += [f"{q.position}. {q.text}" for q in questions]
    head += [_("生成的融资需求"), _("生成的产品草稿")]
    sheet.write_row(0, 0, [neutralise(h) for h in head], bold)
    first_answer = 4
    row_no = 0
    for row_no, response in enumerate(responses, start=1):
        org = response.organisation
        user = response.submitted_by
        sheet.write_string(row_no, 0, neutralise(org.name))
        sheet.write_string(row_no, 1, _uscc(org))
        sheet.write_string(row_no, 2, _local(response.submitted_at) or "")
        sheet.write_string(row_no, 3, neutralise(user.get_username()) if user is not None else "")
        for offset, question in enumerate(questions):
            col = first_answer + offset
            value = response.answers.get(str(question.pk))
            if value is None or value == "" or value == []:
                sheet.write_blank(row_no, col, None)
            elif question.kind in (QuestionKind.INTEGER, QuestionKind.RATING):
                sheet.write_number(row_no, col, int(value))
            elif question.kind == QuestionKind.MONEY:
                sheet.write_number(row_no, col, float(Decimal(str(value))), money)
            elif question.kind == QuestionKind.DATE:
                sheet.write_datetime(row_no, col, datetime.date.fromisoformat(str(value)), date)
            else:
                sheet.write_string(row_no, col, neutralise(survey_answers.display(question.kind, value)))
        tail = first_answer + len(questions)
        sheet.write_string(row_no, tail, response.demand.reference if response.demand is not None else "")
        sheet.write_string(
            row_no,
            tail + 1,
            neutralise(f"{response.product.code} {response.product.name}") if response.product is not None else "",
        )
    sheet.set_row(0, 36)
    sheet.set_column(0, 0, 32)
    sheet.set_column(1, 3, 18)
    sheet.set_column(first_answer, first_answer + len(questions) + 1, 20)
    sheet.freeze_panes(1, 1)
    if row_no:
        sheet.autofilter(0, 0, row_no, len(head) - 1)

    targets_sheet = book.add_worksheet(_("调查对象")[:31])
    target_head = [_("调查对象"), _("状态"), _("发送时间"), _("催办次数"), _("最近催办"), _("答卷时间")]
    targets_sheet.write_row(0, 0, target_head, bold)
    targets = (
        SurveyTarget.objects.filter(campaign=campaign)
        .select_related("organisation")
        .order_by("organisation__name", "pk")
    )
    for row, target in enumerate(targets, start=1):
        targets_sheet.write_string(row, 0, neutralise(target.organisation.name))
        targets_sheet.write_string(row, 1, target_state_label(target_state(target)))
        targets_sheet.write_string(row, 2, _local(target.invited_at) or "")
        targets_sheet.write_number(row, 3, target.reminders_sent)
        targets_sheet.write_string(row, 4, _local(target.last_reminded_at) or "")
        targets_sheet.write_string(row, 5, _local(target.responded_at) or "")
    targets_sheet.set_column(0, 0, 32)
    targets_sheet.set_column(1, 5, 18)
    book.close()
    return buffer.getvalue()


def export_filename(campaign: SurveyCampaign) -> str:
    title = "".join(ch for ch in campaign.title if ch not in '\\/:*?"<>|')[:60]
    return f"{title}_{campaign.period_label}_答卷.xlsx"
