"""The event report's figures are exact (money summed in fen, each loan counted once, withdrawn and cancelled kept
apart) and the xlsx export opens with openpyxl, money as numbers, names that look like formulas neutralised."""

from __future__ import annotations

import io

import openpyxl
import pytest

from ipledge.core.context import as_of, business_date
from ipledge.core.money import Money
from ipledge.market.export_events import event_workbook, neutralise
from ipledge.market.models import Meeting
from ipledge.market.selectors_events import event_report, meetings
from ipledge.market.services import events as services
from tests.lending.factories import approved_loan
from tests.market.factories_events import enterprise_with_login, event_with_matches, register_enterprise
from tests.world import World

pytestmark = pytest.mark.django_db


def test_report_figures_are_exact(world: World) -> None:
    s = event_with_matches(world)
    enterprise_with_login(world, "ex", name="北京退出测试科技有限公司")
    quitter = register_enterprise(world, s.event, "ex")
    services.participant_withdraw(participant=quitter, acting_user=world.user("ex"))
    park1 = world.user("park1")
    services.meetings_propose(event=s.event, acting_user=park1)
    extra = services.meeting_add(
        event=s.event,
        bank_participant=s.banks["bank1_sub"],
        enterprise_participant=s.enterprises["e2"],
        slot=4,
        desk=2,
        acting_user=park1,
    )
    services.meeting_cancel(meeting=extra, acting_user=park1)
    loan = approved_loan(world, borrower="e1", bank="bank1_sub", principal="1000000.01", start=business_date())
    loan2 = approved_loan(world, borrower="e2", bank="bank2", principal="0.02", start=business_date())
    by_pair = {
        (m.bank_participant_id, m.enterprise_participant_id): m
        for m in Meeting.objects.filter(event=s.event).exclude(status="cancelled")
    }
    with as_of(s.event.event_date):
        services.meeting_record_outcome(
            meeting=by_pair[(s.banks["bank1_sub"].pk, s.enterprises["e1"].pk)],
            status="held",
            outcome="loan",
            loan=loan,
            intended_amount=Money("0.10"),
            acting_user=park1,
        )
        services.meeting_record_outcome(
            meeting=by_pair[(s.banks["bank2"].pk, s.enterprises["e1"].pk)],
            status="held",
            outcome="intent",
            intended_amount=Money("0.20"),
            acting_user=park1,
        )
        services.meeting_record_outcome(
            meeting=by_pair[(s.banks["bank2"].pk, s.enterprises["e2"].pk)],
            status="held",
            outcome="loan",
            loan=loan2,
            acting_user=park1,
        )
    report = event_report(user=park1, event=s.event)
    assert (report.banks, report.enterprises, report.desks, report.withdrawn) == (2, 2, 3, 1)
    assert (report.meetings, report.held, report.no_show, report.proposed, report.cancelled) == (3, 3, 0, 0, 1)
    assert {o.outcome: (o.meetings, str(o.intended.amount)) for o in report.outcomes} == {
        "intent": (1, "0.20"),
        "follow_up": (0, "0.00"),
        "loan": (2, "0.10"),
        "no_interest": (0, "0.00"),
    }
    assert report.intended_total == Money("0.30")
    assert report.loans == 2 and report.loan_amount == Money("1000000.03")
    assert report.attendance_pct == "100.0"
    assert report.as_dict()["loans"] == {"count": 2, "amount": "1000000.03"}
    # The enterprise's view: only its own.
    mine = event_report(user=world.user("ent2"), event=s.event)
    assert (mine.meetings, mine.loans, str(mine.loan_amount.amount)) == (1, 1, "0.02")


def test_xlsx_opens_and_neutralises_formulas(world: World) -> None:
    s = event_with_matches(world, title="+SUM(A1:A2)对接会", place="@会场")
    services.meetings_propose(event=s.event, acting_user=world.user("park1"))
    content = event_workbook(s.event, meetings(user=world.user("park1"), event=s.event))
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["排期", "洽谈结果"]
    plan, results = book.worksheets
    assert plan["A1"].value == "'+SUM(A1:A2)对接会" and plan["A1"].data_type == "s"
    assert "'@会场" in plan["A2"].value
    rows = [[c.value for c in row] for row in plan.iter_rows(min_row=5)]
    assert [(r[0], r[1], r[3]) for r in rows] == [(1, "09:00", 1), (1, "09:00", 1), (2, "09:30", 1)]
    assert {r[7] for r in rows} == {90.0, 80.0, 60.0}
    assert results.max_row == 4
    assert neutralise("-1") == "'-1" and neutralise("正常") == "正常" and neutralise(5) == 5
