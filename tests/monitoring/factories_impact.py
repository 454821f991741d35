"""Impact-area test states (成效分析), built through the services on the `world`:

- `add_impact(world)`: one `EnterpriseFinancials` row per test-world enterprise for 2024 (e1 and e2 entered by
  their own logins, e1b by the Beijing IP office), so Beijing users see e1/e1b's rows and Jiangsu users e2's;
- `financed(world, "e1")`: an IP-pledge loan disbursed to the enterprise (through the lending lifecycle);
- `follow_up_campaign(world)`: a Beijing follow-up draft (跟踪调查, period 2026 → figures for 2025) whose questions
  map to every `financials.*` field, plus two rating questions (满意度, 获得感).
"""

from __future__ import annotations

import datetime
from typing import Any

from ipledge.core.context import as_of
from ipledge.core.money import Money
from ipledge.market.choices import QuestionKind, QuestionTarget, SurveyAudience, SurveyRecurrence
from ipledge.market.models import SurveyCampaign
from ipledge.monitoring.models import EnterpriseFinancials
from ipledge.monitoring.services.financials import financials_create
from tests.market.factories_surveys import add_questions
from tests.world import World

TODAY = datetime.date(2026, 4, 10)
OPENS = datetime.date(2026, 4, 1)
CLOSES = datetime.date(2026, 4, 30)
LOAN_DAY = datetime.date(2025, 1, 15)

FOLLOW_UP_QUESTIONS: list[dict[str, Any]] = [
    {"kind": QuestionKind.MONEY, "text": "上年研发投入（元）", "maps_to": QuestionTarget.FIN_RD_SPENDING},
    {"kind": QuestionKind.MONEY, "text": "上年营业收入（元）", "maps_to": QuestionTarget.FIN_REVENUE},
    {"kind": QuestionKind.INTEGER, "text": "上年末从业人员（人）", "maps_to": QuestionTarget.FIN_EMPLOYEES},
    {"kind": QuestionKind.INTEGER, "text": "有效专利数", "maps_to": QuestionTarget.FIN_PATENTS_HELD},
    {
        "kind": QuestionKind.INTEGER,
        "text": "已实施专利数",
        "maps_to": QuestionTarget.FIN_PATENTS_IMPLEMENTED,
        "required": False,
    },
    {"kind": QuestionKind.RATING, "text": "对知识产权质押融资服务的满意度"},
    {"kind": QuestionKind.RATING, "text": "融资后的获得感"},
]


def add_impact(w: World) -> World:
    rows = [
        ("e1", "ent1", Money("3000000"), Money("36000000"), 125),
        ("e1b", "ipo_bj", None, Money("8200000"), 46),
        ("e2", "ent2", Money("9000000"), Money("152000000"), 305),
    ]
    with as_of(TODAY):
        for key, user, rd, revenue, employees in rows:
            financials_create(
                enterprise=w.enterprises[key],
                year=2024,
                figures={"rd_spending": rd, "revenue": revenue, "employees": employees, "patents_held": 3},
                acting_user=w.user(user),
            )
    return w


def row(w: World, key: str, year: int = 2024) -> EnterpriseFinancials:
    return EnterpriseFinancials.objects.get(enterprise=w.enterprises[key], year=year)


def financed(w: World, key: str = "e1", *, bank: str = "bank1_sub", day: datetime.date = LOAN_DAY) -> Any:
    from tests.lending.factories import active_loan

    return active_loan(w, borrower=key, bank=bank, start=day)


def follow_up_campaign(w: World, *, org: str = "ipo_bj", period: str = "2026") -> SurveyCampaign:
    from ipledge.market.services import surveys

    with as_of(TODAY):
        campaign = surveys.campaign_create(
            organiser=w.orgs[org],
            title="获贷企业跟踪调查",
            audience=SurveyAudience.FOLLOW_UP,
            period_label=period,
            recurrence=SurveyRecurrence.YEARLY,
            opens_on=OPENS,
            closes_on=CLOSES,
            acting_user=w.user(org),
        )
        add_questions(w, campaign, FOLLOW_UP_QUESTIONS)
    return campaign


def follow_up_answers(campaign: SurveyCampaign, **by_text: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "上年研发投入（元）": "420万",
        "上年营业收入（元）": "41000000",
        "上年末从业人员（人）": 138,
        "有效专利数": 12,
        "已实施专利数": 7,
        "对知识产权质押融资服务的满意度": 5,
        "融资后的获得感": 4,
    }
    out: dict[str, Any] = {}
    for question in campaign.questions.order_by("position"):
        value = defaults.get(question.text, "")
        for prefix, override in by_text.items():
            if question.text.startswith(prefix):
                value = override
        out[str(question.pk)] = value
    return out
