"""Demo recurring surveys (常态化调查), written through the services (runs after products and demands are seeded).

In the first province whose provincial IP office reaches enterprises:
- Platform accounts: the demo registry gives only a few enterprises a login, and only organisations with an account
  can answer. Up to `EXTRA_ACCOUNTS` current park members of the province without one get an enterprise organisation
  and an operator user (no usable password: they exist to answer; the documented demo logins stay the way in).
- The office's quarterly 企业融资需求调查: last quarter's campaign (published to every enterprise with an account in
  the province, answered by about 60% over its weeks, reminded every 7 days, closed by the close-surveys job the day
  after its closing date; answers with a financing need become survey-sourced demands), then `campaign_repeat` makes
  this quarter's draft, which is published and is open today with about a third answered and reminders sent.
- The office's yearly 银行知识产权金融产品与授信意愿调查 to the banks of the province: open, about half answered, the
  answers flowing into draft products of the answering banks.
- The first park of the province surveys its own enterprises (知识产权运营情况摸底, one-off, kept out of the
  libraries): open with some answers.
Randomness comes from `rng`; dates are relative to `today`.
"""

from __future__ import annotations

import datetime
import math
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ipledge.core.choices import AdminLevel, OrganisationKind, Role
from ipledge.core.context import as_of
from ipledge.core.models import Organisation, User
from ipledge.core.services import organisation_create, user_create
from ipledge.registry.models import Enterprise, Park, ParkMembership
from ipledge.registry.services import enterprise_update

from .choices import (
    CollateralKind,
    DemandPurpose,
    QuestionKind,
    QuestionTarget,
    SurveyAudience,
    SurveyRecurrence,
)
from .models import SurveyCampaign, SurveyQuestion
from .services import surveys as services

EXTRA_ACCOUNTS = 24
PREVIOUS_RATE = 0.6
CURRENT_RATE = 0.35
BANK_RATE = 0.5
PARK_RATE = 0.5

K = QuestionKind
T = QuestionTarget

PURPOSE_WEIGHTS = (
    (DemandPurpose.WORKING_CAPITAL, 30),
    (DemandPurpose.RESEARCH, 24),
    (DemandPurpose.EQUIPMENT, 12),
    (DemandPurpose.EXPANSION, 12),
    (DemandPurpose.TECH_UPGRADE, 10),
    (DemandPurpose.COMMERCIALISATION, 10),
    (DemandPurpose.OTHER, 2),
)
IP_KINDS = ["发明专利", "实用新型专利", "外观设计专利", "注册商标", "计算机软件著作权", "暂无可质押的知识产权"]
DIFFICULTIES = [
    "知识产权价值评估难",
    "银行认可度低",
    "融资额度偏小",
    "审批周期长",
    "综合融资成本高",
    "缺少担保或反担保",
    "不了解办理流程",
]
SUGGESTIONS = [
    "希望进一步提高评估费补贴比例，降低融资成本。",
    "建议银行简化续贷手续，推广无还本续贷。",
    "希望园区定期组织银企对接活动。",
    "希望对首贷企业给予贴息支持。",
    "建议延长知识产权质押融资期限至三年。",
]
SUPPORT = ["风险补偿", "贷款贴息", "评估费补贴", "质押登记便利化", "企业信用信息共享", "白名单推荐"]
PARK_SERVICES = ["专利导航", "知识产权质押融资对接", "专利转化运营", "维权援助", "知识产权培训", "高价值专利培育"]
PRODUCT_NAMES = ["知识产权质押贷", "科创知识贷", "专利快贷", "智权贷", "商标融", "科技成长贷"]


def _label(choice: Any) -> str:
    return str(choice.label)


def enterprise_questions() -> list[dict[str, Any]]:
    return [
        {"kind": K.YES_NO, "text": "贵企业未来6个月是否有融资需求？"},
        {
            "kind": K.MONEY,
            "text": "计划融资金额（元）",
            "help_text": "有融资需求的企业填写，可写作 500万",
            "required": False,
            "maps_to": T.DEMAND_AMOUNT,
        },
        {"kind": K.INTEGER, "text": "期望融资期限（月）", "required": False, "maps_to": T.DEMAND_TERM},
        {
            "kind": K.CHOICE,
            "text": "资金主要用途",
            "required": False,
            "choices": [_label(p) for p, _w in PURPOSE_WEIGHTS],
            "maps_to": T.DEMAND_PURPOSE,
        },
        {
            "kind": K.YES_NO,
            "text": "是否同意将融资需求推送给产品匹配的银行？",
            "required": False,
            "maps_to": T.DEMAND_SHARE,
        },
        {"kind": K.MULTI_CHOICE, "text": "可用于质押的知识产权类型", "choices": IP_KINDS},
        {"kind": K.YES_NO, "text": "此前是否办理过知识产权质押融资？"},
        {"kind": K.MULTI_CHOICE, "text": "融资过程中遇到的主要困难", "choices": DIFFICULTIES, "required": False},
        {"kind": K.INTEGER, "text": "研发人员数量（人）"},
        {"kind": K.RATING, "text": "对本地知识产权金融服务的满意度（1–5分）"},
        {"kind": K.LONG_TEXT, "text": "意见和建议", "required": False},
    ]


def bank_questions() -> list[dict[str, Any]]:
    return [
        {"kind": K.TEXT, "text": "贵行拟推出或优化的知识产权质押融资产品名称", "maps_to": T.PRODUCT_NAME},
        {"kind": K.MONEY, "text": "单户最高授信额度（元）", "maps_to": T.PRODUCT_AMOUNT_MAX},
        {"kind": K.INTEGER, "text": "最长贷款期限（月）", "maps_to": T.PRODUCT_TERM_MAX},
        {
            "kind": K.MULTI_CHOICE,
            "text": "可接受的质押物类型",
            "choices": [_label(c) for c in CollateralKind],
            "maps_to": T.PRODUCT_COLLATERAL,
        },
        {"kind": K.INTEGER, "text": "执行利率较LPR加点（基点）", "maps_to": T.PRODUCT_RATE_SPREAD},
        {"kind": K.MONEY, "text": "本年度知识产权质押贷款投放计划（元）"},
        {"kind": K.RATING, "text": "对科技型中小企业的授信意愿（1–5分）"},
        {"kind": K.YES_NO, "text": "是否愿意参加本年度银企对接活动？"},
        {"kind": K.MULTI_CHOICE, "text": "希望政府部门提供的支持", "choices": SUPPORT, "required": False},
        {"kind": K.LONG_TEXT, "text": "其他建议", "required": False},
    ]


def park_questions() -> list[dict[str, Any]]:
    return [
        {"kind": K.INTEGER, "text": "企业现有有效发明专利数量（件）"},
        {"kind": K.MONEY, "text": "上一年度研发投入（元）"},
        {"kind": K.YES_NO, "text": "是否设有专职知识产权管理人员？"},
        {"kind": K.MULTI_CHOICE, "text": "最希望园区提供的知识产权服务", "choices": PARK_SERVICES},
        {"kind": K.DATE, "text": "最近一次专利申请日期", "required": False},
        {"kind": K.RATING, "text": "对园区知识产权服务的满意度（1–5分）"},
        {"kind": K.LONG_TEXT, "text": "意见和建议", "required": False},
    ]


# ---------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------


def _wan(rng: random.Random, low: int, high: int) -> str:
    """A round amount in yuan between low and high 万 (log-uniform), written as 万 or yuan."""
    value = round(math.exp(rng.uniform(math.log(low), math.log(high))))
    value = max(low, value - value % (10 if value >= 100 else 5))
    return f"{value}万" if rng.random() < 0.5 else str(value * 10_000)


def _enterprise_answer(rng: random.Random, q: SurveyQuestion, state: dict[str, Any]) -> Any:
    text = q.text
    need = state.setdefault("need", rng.random() < 0.6)
    if text.startswith("贵企业未来6个月"):
        return "是" if need else "否"
    if q.maps_to == T.DEMAND_AMOUNT:
        return _wan(rng, 50, 2000) if need else ""
    if q.maps_to == T.DEMAND_TERM:
        return rng.choice((6, 12, 12, 12, 24, 24, 36)) if need else ""
    if q.maps_to == T.DEMAND_PURPOSE:
        if not need:
            return ""
        return _label(rng.choices([p for p, _w in PURPOSE_WEIGHTS], [w for _p, w in PURPOSE_WEIGHTS])[0])
    if q.maps_to == T.DEMAND_SHARE:
        return (rng.random() < 0.75) if need else ""
    if text.startswith("可用于质押"):
        return rng.sample(IP_KINDS[:5], k=rng.choice((1, 1, 2, 3))) if rng.random() < 0.9 else [IP_KINDS[5]]
    if text.startswith("此前是否"):
        return rng.random() < 0.3
    if text.startswith("融资过程中"):
        return rng.sample(DIFFICULTIES, k=rng.choice((1, 2, 2, 3))) if rng.random() < 0.85 else []
    if text.startswith("研发人员"):
        return max(1, round(rng.lognormvariate(math.log(15), 0.8)))
    if q.kind == K.RATING:
        return rng.choices((2, 3, 4, 5), (1, 4, 8, 4))[0]
    if q.kind == K.LONG_TEXT:
        return rng.choice(SUGGESTIONS) if rng.random() < 0.35 else ""
    return ""


def _bank_answer(rng: random.Random, q: SurveyQuestion, state: dict[str, Any]) -> Any:
    if q.maps_to == T.PRODUCT_NAME:
        return rng.choice(PRODUCT_NAMES)
    if q.maps_to == T.PRODUCT_AMOUNT_MAX:
        return f"{rng.choice((500, 1000, 1000, 2000, 3000, 5000))}万"
    if q.maps_to == T.PRODUCT_TERM_MAX:
        return rng.choice((12, 24, 36, 36, 60))
    if q.maps_to == T.PRODUCT_COLLATERAL:
        kinds = [_label(c) for c in CollateralKind]
        return rng.sample(kinds[:2], k=2) + rng.sample(kinds[2:], k=rng.choice((0, 1, 2)))
    if q.maps_to == T.PRODUCT_RATE_SPREAD:
        return rng.choice((-20, 0, 30, 50, 80, 100, 150))
    if q.kind == K.MONEY:
        return f"{rng.choice((2, 5, 8, 10, 20, 30))}亿"
    if q.kind == K.RATING:
        return rng.choices((3, 4, 5), (2, 5, 3))[0]
    if q.kind == K.YES_NO:
        return rng.random() < 0.85
    if q.kind == K.MULTI_CHOICE:
        return rng.sample(SUPPORT, k=rng.choice((1, 2, 3)))
    if q.kind == K.LONG_TEXT:
        return "建议完善知识产权处置变现渠道，提高银行风险容忍度。" if rng.random() < 0.3 else ""
    return ""


def _park_answer(rng: random.Random, q: SurveyQuestion, state: dict[str, Any]) -> Any:
    if q.kind == K.INTEGER:
        return rng.choice((0, 1, 2, 3, 5, 8, 12, 20))
    if q.kind == K.MONEY:
        return _wan(rng, 20, 3000)
    if q.kind == K.YES_NO:
        return rng.random() < 0.45
    if q.kind == K.MULTI_CHOICE:
        return rng.sample(PARK_SERVICES, k=rng.choice((1, 2, 3)))
    if q.kind == K.DATE:
        return (state["today"] - datetime.timedelta(days=rng.randrange(30, 700))).isoformat()
    if q.kind == K.RATING:
        return rng.choices((2, 3, 4, 5), (1, 3, 8, 5))[0]
    if q.kind == K.LONG_TEXT:
        return "希望园区增加专利转化对接活动。" if rng.random() < 0.3 else ""
    return ""


# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------


def _say(stdout: Any, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")


def _users() -> dict[tuple[int, str], User]:
    users: dict[tuple[int, str], User] = {}
    for user in User.objects.filter(is_active=True, organisation__isnull=False).order_by("id"):
        assert user.organisation_id is not None
        users.setdefault((user.organisation_id, user.role), user)
    return users


def _officer(users: dict[tuple[int, str], User], org: Organisation) -> User | None:
    return users.get((org.pk, Role.OPERATOR)) or users.get((org.pk, Role.ADMIN))


def _quarter(day: datetime.date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def _open_accounts(
    office: Organisation, rng: random.Random, users: dict[tuple[int, str], User], counts: Counter[str]
) -> None:
    """Give up to EXTRA_ACCOUNTS park members of the office's region without a login an enterprise account."""
    prefix = office.region.prefix  # type: ignore[union-attr]
    members = ParkMembership.objects.filter(
        left_on__isnull=True, park__region__code__startswith=prefix, enterprise__organisation__isnull=True
    ).values_list("enterprise_id", flat=True)
    ids = sorted(set(members))
    rng.shuffle(ids)
    for enterprise in Enterprise.objects.filter(pk__in=ids[:EXTRA_ACCOUNTS]).select_related("registration_region"):
        username = f"ent_sv{enterprise.pk}"
        if User.objects.filter(username=username).exists():
            continue
        with transaction.atomic():
            org = organisation_create(
                name=enterprise.name,
                kind=OrganisationKind.ENTERPRISE,
                region=enterprise.registration_region,
                uscc=enterprise.uscc,
                acting_user=None,
            )
            user = user_create(username=username, organisation=org, role=Role.OPERATOR, password=None, acting_user=None)
            enterprise_update(enterprise=enterprise, data={"organisation": org}, acting_user=None)
        users[(org.pk, Role.OPERATOR)] = user
        counts["accounts"] += 1


def _campaign(
    *,
    organiser: Organisation,
    user: User,
    day: datetime.date,
    questions: list[dict[str, Any]],
    **fields: Any,
) -> SurveyCampaign:
    with as_of(day):
        campaign = services.campaign_create(organiser=organiser, acting_user=user, **fields)
        for spec in questions:
            services.question_add(campaign=campaign, acting_user=user, **spec)
    return campaign


def _run(
    campaign: SurveyCampaign,
    *,
    organiser_user: User,
    users: dict[tuple[int, str], User],
    rng: random.Random,
    rate: float,
    until: datetime.date,
    answer: Callable[[random.Random, SurveyQuestion, dict[str, Any]], Any],
    counts: Counter[str],
) -> None:
    """Publish on the opening day, then answers by `rate` of the targets on random days up to `until`, with the
    reminders run every `reminder_every_days` days in between (the organiser's button, as an office would)."""
    start = campaign.opens_on
    with as_of(start):
        services.campaign_publish(campaign=campaign, acting_user=organiser_user)
    counts["published"] += 1
    end = min(until, campaign.closes_on)
    span = max(0, (end - start).days)
    questions = list(campaign.questions.order_by("position"))
    events: list[tuple[datetime.date, int, int, Any]] = []  # day, reminder (0) before answers (1), order, payload
    for n, target in enumerate(campaign.targets.select_related("organisation").order_by("pk")):
        respondent = _officer(users, target.organisation)
        if respondent is None or rng.random() >= rate:
            continue
        events.append((start + datetime.timedelta(days=rng.randint(0, span)), 1, n, (target, respondent)))
    step = campaign.reminder_every_days
    events.extend((start + datetime.timedelta(days=n * step), 0, n, None) for n in range(1, span // step + 1))
    for day, kind, _order, payload in sorted(events, key=lambda e: e[:3]):
        if kind == 0:
            counts["reminders"] += services.campaign_remind(campaign=campaign, acting_user=organiser_user, today=day)
            continue
        target, respondent = payload
        state: dict[str, Any] = {"today": day}
        answers = {str(q.pk): answer(rng, q, state) for q in questions}
        try:
            with as_of(day):
                response = services.response_submit(campaign=campaign, answers=answers, acting_user=respondent)
        except ValidationError:
            counts["refused"] += 1
            continue
        counts["responses"] += 1
        counts["demands"] += 1 if response.demand_id else 0
        counts["products"] += 1 if response.product_id else 0


# ---------------------------------------------------------------------------
# The seed
# ---------------------------------------------------------------------------


def seed_surveys(*, rng: random.Random, today: datetime.date, stdout: Any = None) -> dict[str, int]:
    """Build the demo surveys through the services; returns counts."""
    counts: Counter[str] = Counter()
    users = _users()
    offices = Organisation.objects.filter(
        kind=OrganisationKind.IP_OFFICE, admin_level=AdminLevel.PROVINCIAL, is_active=True, region__isnull=False
    ).select_related("region")
    office = None
    for candidate in offices.order_by("region__code", "pk"):
        if (
            _officer(users, candidate) is not None
            and Park.objects.filter(
                region__code__startswith=candidate.region.prefix  # type: ignore[union-attr]
            ).exists()
        ):
            office = candidate
            break
    if office is None:
        _say(stdout, "surveys: no provincial IP office with parks and an officer; nothing seeded")
        return dict(counts)
    office_user = _officer(users, office)
    assert office_user is not None and office.region is not None
    _open_accounts(office, rng, users, counts)

    # The quarterly financing-needs survey: last quarter (closed), then this quarter (open), by repetition.
    opens = today - datetime.timedelta(days=20)
    closes = today + datetime.timedelta(days=15)
    previous_opens, previous_closes = services.add_months(opens, -3), services.add_months(closes, -3)
    previous_label = _quarter(previous_opens)
    title = f"{office.region.name}企业知识产权融资需求季度调查"
    previous = _campaign(
        organiser=office,
        user=office_user,
        day=previous_opens - datetime.timedelta(days=5),
        questions=enterprise_questions(),
        title=title,
        description="为掌握全省科技型中小企业知识产权质押融资需求，现开展季度调查。有融资需求的企业填写的金额、期限和用途将"
        "进入融资项目库，由产品匹配的银行对接。",
        audience=SurveyAudience.ENTERPRISE,
        period_label=previous_label,
        recurrence=SurveyRecurrence.QUARTERLY,
        opens_on=previous_opens,
        closes_on=previous_closes,
        reminder_every_days=7,
        flows_into_library=True,
    )
    with as_of(previous_opens - datetime.timedelta(days=5)):
        services.targets_add(campaign=previous, region=office.region, acting_user=office_user)
    counts["campaigns"] += 1
    _run(
        previous,
        organiser_user=office_user,
        users=users,
        rng=rng,
        rate=PREVIOUS_RATE,
        until=previous_closes,
        answer=_enterprise_answer,
        counts=counts,
    )
    with as_of(previous_closes + datetime.timedelta(days=1)):
        counts["closed"] += services.campaigns_close_due(today=previous_closes + datetime.timedelta(days=1))
    with as_of(opens - datetime.timedelta(days=3)):
        current = services.campaign_repeat(campaign=previous, acting_user=office_user)
        # Enterprises that opened an account since last quarter are asked too.
        services.targets_add(campaign=current, region=office.region, acting_user=office_user)
    counts["campaigns"] += 1
    _run(
        current,
        organiser_user=office_user,
        users=users,
        rng=rng,
        rate=CURRENT_RATE,
        until=today,
        answer=_enterprise_answer,
        counts=counts,
    )

    # The yearly bank product-and-appetite survey.
    if services.reach_banks(office).exists():
        bank_survey = _campaign(
            organiser=office,
            user=office_user,
            day=opens - datetime.timedelta(days=2),
            questions=bank_questions(),
            title=f"{office.region.name}银行知识产权金融产品与授信意愿调查",
            description="请各银行填报本年度知识产权质押融资产品设计和授信投放意愿；填报的产品要素将生成产品草稿，"
            "经行内审批后上架产品资源库。",
            audience=SurveyAudience.BANK,
            period_label=str(opens.year),
            recurrence=SurveyRecurrence.YEARLY,
            opens_on=opens,
            closes_on=closes + datetime.timedelta(days=15),
            reminder_every_days=10,
            flows_into_library=True,
        )
        with as_of(opens - datetime.timedelta(days=2)):
            services.targets_add(campaign=bank_survey, region=office.region, acting_user=office_user)
        counts["campaigns"] += 1
        _run(
            bank_survey,
            organiser_user=office_user,
            users=users,
            rng=rng,
            rate=BANK_RATE,
            until=today,
            answer=_bank_answer,
            counts=counts,
        )

    # A park's own one-off survey of its enterprises.
    for park in services.reachable_parks(office).filter(administering_org__isnull=False).order_by("pk"):
        admin_org = park.administering_org
        if admin_org is None:
            continue
        park_user = _officer(users, admin_org)
        if park_user is None or not services.reach_enterprises(admin_org).exists():
            continue
        park_survey = _campaign(
            organiser=admin_org,
            user=park_user,
            day=opens,
            questions=park_questions(),
            title=f"{park.name}企业知识产权运营情况摸底",
            description="园区管委会开展在园企业知识产权运营情况摸底，结果用于制定年度知识产权服务计划。",
            audience=SurveyAudience.ENTERPRISE,
            period_label=f"{opens.year}年",
            recurrence=SurveyRecurrence.ONCE,
            opens_on=opens + datetime.timedelta(days=5),
            closes_on=closes + datetime.timedelta(days=10),
            reminder_every_days=5,
            flows_into_library=False,
        )
        with as_of(opens):
            services.targets_add(campaign=park_survey, park=park, acting_user=park_user)
        counts["campaigns"] += 1
        _run(
            park_survey,
            organiser_user=park_user,
            users=users,
            rng=rng,
            rate=PARK_RATE,
            until=today,
            answer=_park_answer,
            counts=counts,
        )
        break

    counts["questions"] = SurveyQuestion.objects.count()
    counts["targets"] = sum(c.targets.count() for c in SurveyCampaign.objects.all())
    _say(
        stdout,
        f"surveys: {counts['campaigns']} campaigns, {counts['responses']} answers "
        f"({counts['demands']} demands, {counts['products']} draft products), {counts['reminders']} reminders, "
        f"{counts['accounts']} enterprise accounts opened",
    )
    return dict(counts)
