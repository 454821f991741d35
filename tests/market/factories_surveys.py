"""Survey-area test states (常态化调查), built through the services on the `world`:

- `add_enterprise(world, key, park="p1")`: one more enterprise with its own login (`<key>_<role>` users), a current
  member of the park, so that response rates have more than one target;
- `enterprise_campaign(world, org="ipo_bj")`: a quarterly 2026Q2 financing-needs draft of the Beijing office with
  `ENTERPRISE_QUESTIONS` (money → demand.amount, integer → demand.term_months, purpose choice → demand.purpose,
  multi-choice, yes/no, rating, optional text); `flows=False` leaves the libraries alone;
- `bank_campaign(world)`: a bank product-and-appetite draft with product.* questions;
- `published(world, campaign, orgs)`: targets added and published on `TODAY`.
Dates: the campaigns run 2026-04-01 … 2026-04-30; `TODAY` is 2026-04-10.
"""

from __future__ import annotations

import datetime
from typing import Any

from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.context import as_of
from ipledge.core.models import Organisation, Region
from ipledge.core.money import Money
from ipledge.core.services import organisation_create, user_create
from ipledge.core.synthetic import make_uscc
from ipledge.market.choices import (
    CollateralKind,
    DemandPurpose,
    QuestionKind,
    QuestionTarget,
    SurveyAudience,
    SurveyRecurrence,
)
from ipledge.market.models import SurveyCampaign, SurveyQuestion
from ipledge.market.services import surveys
from ipledge.registry.models import Enterprise
from ipledge.registry.services import enterprise_create
from tests.world import World

TODAY = datetime.date(2026, 4, 10)
OPENS = datetime.date(2026, 4, 1)
CLOSES = datetime.date(2026, 4, 30)

PURPOSES = [str(DemandPurpose.WORKING_CAPITAL.label), str(DemandPurpose.RESEARCH.label), "equipment"]
COLLATERAL = [str(CollateralKind.INVENTION.label), str(CollateralKind.TRADEMARK.label), "software"]

ENTERPRISE_QUESTIONS: list[dict[str, Any]] = [
    {"kind": QuestionKind.MONEY, "text": "未来半年融资需求金额（元）", "maps_to": QuestionTarget.DEMAND_AMOUNT},
    {"kind": QuestionKind.INTEGER, "text": "期望融资期限（月）", "maps_to": QuestionTarget.DEMAND_TERM},
    {
        "kind": QuestionKind.CHOICE,
        "text": "资金主要用途",
        "choices": PURPOSES,
        "maps_to": QuestionTarget.DEMAND_PURPOSE,
    },
    {"kind": QuestionKind.MULTI_CHOICE, "text": "拟用于质押的知识产权", "choices": ["发明专利", "商标", "软著"]},
    {"kind": QuestionKind.YES_NO, "text": "是否了解知识产权质押融资"},
    {"kind": QuestionKind.RATING, "text": "对园区融资服务的满意度"},
    {"kind": QuestionKind.TEXT, "text": "其他意见", "required": False},
]

BANK_QUESTIONS: list[dict[str, Any]] = [
    {"kind": QuestionKind.TEXT, "text": "拟推出的知识产权质押产品名称", "maps_to": QuestionTarget.PRODUCT_NAME},
    {"kind": QuestionKind.MONEY, "text": "单户最高授信额度（元）", "maps_to": QuestionTarget.PRODUCT_AMOUNT_MAX},
    {"kind": QuestionKind.INTEGER, "text": "最长贷款期限（月）", "maps_to": QuestionTarget.PRODUCT_TERM_MAX},
    {
        "kind": QuestionKind.MULTI_CHOICE,
        "text": "可接受的质押物",
        "choices": COLLATERAL,
        "maps_to": QuestionTarget.PRODUCT_COLLATERAL,
    },
    {"kind": QuestionKind.INTEGER, "text": "LPR加点（基点）", "maps_to": QuestionTarget.PRODUCT_RATE_SPREAD},
    {"kind": QuestionKind.RATING, "text": "明年知识产权质押融资投放意愿"},
]


def add_enterprise(w: World, key: str, *, park: str = "p1", serial: int = 5001) -> Enterprise:
    region = w.parks[park].region
    org = organisation_create(
        name=f"{key}科技有限公司", kind=OrganisationKind.ENTERPRISE, region=region, acting_user=None
    )
    w.orgs[key] = org
    for role in Role.values:
        w.users[f"{key}_{role}"] = user_create(
            username=f"{key}_{role}", organisation=org, role=role, password=f"pass-{key}", acting_user=None
        )
    enterprise = enterprise_create(
        uscc=make_uscc(region_code=region.code, serial=serial),
        name=org.name,
        industry_section="C",
        employees=50,
        revenue=Money("9000000"),
        organisation=org,
        park=w.parks[park],
        joined_on=datetime.date(2023, 1, 1),
        acting_user=None,
    )
    w.enterprises[key] = enterprise
    return enterprise


def add_questions(w: World, campaign: SurveyCampaign, specs: list[dict[str, Any]]) -> list[SurveyQuestion]:
    user = w.user(_org_key(w, campaign.organiser))
    return [surveys.question_add(campaign=campaign, acting_user=user, **spec) for spec in specs]


def _org_key(w: World, org: Organisation) -> str:
    return next(k for k, v in w.orgs.items() if v.pk == org.pk)


def enterprise_campaign(
    w: World,
    *,
    org: str = "ipo_bj",
    title: str = "2026年第二季度企业融资需求调查",
    period: str = "2026Q2",
    flows: bool = True,
    questions: bool = True,
    audience: str = SurveyAudience.ENTERPRISE,
) -> SurveyCampaign:
    with as_of(TODAY):
        campaign = surveys.campaign_create(
            organiser=w.orgs[org],
            title=title,
            audience=audience,
            period_label=period,
            recurrence=SurveyRecurrence.QUARTERLY,
            opens_on=OPENS,
            closes_on=CLOSES,
            flows_into_library=flows,
            acting_user=w.user(org),
        )
        if questions:
            add_questions(w, campaign, ENTERPRISE_QUESTIONS)
    return campaign


def bank_campaign(w: World, *, flows: bool = True) -> SurveyCampaign:
    with as_of(TODAY):
        campaign = surveys.campaign_create(
            organiser=w.orgs["ipo_bj"],
            title="2026年银行知识产权金融产品与授信意愿调查",
            audience=SurveyAudience.BANK,
            period_label="2026",
            recurrence=SurveyRecurrence.YEARLY,
            opens_on=OPENS,
            closes_on=CLOSES,
            flows_into_library=flows,
            acting_user=w.user("ipo_bj"),
        )
        add_questions(w, campaign, BANK_QUESTIONS)
    return campaign


def published(w: World, campaign: SurveyCampaign, orgs: list[str], *, day: datetime.date = TODAY) -> SurveyCampaign:
    user = w.user(_org_key(w, campaign.organiser))
    with as_of(day):
        surveys.targets_add(campaign=campaign, organisations=[w.orgs[k] for k in orgs], acting_user=user)
        return surveys.campaign_publish(campaign=campaign, acting_user=user)


def answers_for(campaign: SurveyCampaign, **by_text: Any) -> dict[str, Any]:
    """Valid answers to `ENTERPRISE_QUESTIONS` (override by question text prefix: `answers_for(c, 未来="500万")`)."""
    defaults = {
        "未来半年融资需求金额（元）": "5000000",
        "期望融资期限（月）": "12",
        "资金主要用途": PURPOSES[1],
        "拟用于质押的知识产权": ["发明专利", "商标"],
        "是否了解知识产权质押融资": "yes",
        "对园区融资服务的满意度": "4",
        "其他意见": "",
    }
    out: dict[str, Any] = {}
    for question in campaign.questions.order_by("position"):
        value = defaults.get(question.text, "")
        for prefix, override in by_text.items():
            if question.text.startswith(prefix):
                value = override
        out[str(question.pk)] = value
    return out


def bank_answers(campaign: SurveyCampaign, **by_text: Any) -> dict[str, Any]:
    defaults = {
        "拟推出的知识产权质押产品名称": "智权贷",
        "单户最高授信额度（元）": "3000万",
        "最长贷款期限（月）": 36,
        "可接受的质押物": [COLLATERAL[0], "software"],
        "LPR加点（基点）": 80,
        "明年知识产权质押融资投放意愿": 5,
    }
    out: dict[str, Any] = {}
    for question in campaign.questions.order_by("position"):
        value = defaults.get(question.text, "")
        for prefix, override in by_text.items():
            if question.text.startswith(prefix):
                value = override
        out[str(question.pk)] = value
    return out


def region(code: str) -> Region:
    return Region.objects.get(code=code)
