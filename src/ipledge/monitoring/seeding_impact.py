"""Demo data for the impact analysis (成效分析): yearly enterprise figures (企业年度经营数据) and a follow-up survey
(获贷企业跟踪调查) per province.

- Figures for the four years before `today`'s year for every demo enterprise (a few gaps, as real reporting has),
  bulk-loaded as 批量导入 with one audit event: revenue starts from the registry's revenue (or a size-typical one),
  jobs from its headcount, R&D at 2–8 % of revenue, patents held from a small base. Every firm grows by a common
  noisy trend; a firm financed through IP (first IP-pledge loan disbursed in year F) gets a modest extra from F+1
  on (`UPLIFT`), so the impact page shows a positive, not a spectacular, effect for the cohort.
- Each provincial IP office with financed enterprises in reach publishes this year's follow-up (period = this year:
  the figures asked are last year's), through the survey services, to every financed enterprise with a login; about
  `ANSWER_RATE` of them answer their figures (last year's seeded ones, so the row turns 跟踪调查 with its response)
  and two satisfaction ratings.
Idempotent: nothing is written when figures exist; a province whose follow-up exists is skipped.
"""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.db import transaction
from django.db.models import Min
from simple_history.utils import bulk_create_with_history

from ipledge.core.audit import record_event
from ipledge.core.choices import AdminLevel, OrganisationKind, Role
from ipledge.core.context import as_of
from ipledge.core.models import Organisation, User
from ipledge.core.money import Money
from ipledge.lending.models import Loan
from ipledge.market.choices import QuestionKind, QuestionTarget, SurveyAudience, SurveyRecurrence
from ipledge.market.models import SurveyCampaign
from ipledge.market.services import surveys
from ipledge.registry.models import Enterprise

from .choices import FinancialsSource
from .models import EnterpriseFinancials

YEARS = 4
GAP_RATE = 0.04  # share of enterprise-years left unreported
ANSWER_RATE = 0.7
# Extra yearly growth after financing: revenue, R&D, jobs; and implemented patents added per year. Modest on
# purpose: studies of IP-pledge programmes report single-digit revenue effects, larger ones on R&D.
UPLIFT = {"revenue": 0.06, "rd": 0.12, "jobs": 0.03}
UPLIFT_IMPLEMENTED = 1  # patents put to use per year
TREND = {"revenue": (0.05, 0.03), "rd": (0.06, 0.05), "jobs": (0.02, 0.03)}  # mean, spread of yearly growth
TYPICAL_REVENUE = {"micro": 2_000_000, "small": 15_000_000, "medium": 120_000_000, "large": 600_000_000}
TYPICAL_JOBS = {"micro": 8, "small": 45, "medium": 300, "large": 1200}
TITLE = "获贷企业跟踪调查"

QUESTIONS: list[dict[str, Any]] = [
    {"kind": QuestionKind.MONEY, "text": "上年研发投入（元）", "maps_to": QuestionTarget.FIN_RD_SPENDING},
    {"kind": QuestionKind.MONEY, "text": "上年营业收入（元）", "maps_to": QuestionTarget.FIN_REVENUE},
    {"kind": QuestionKind.INTEGER, "text": "上年末从业人员（人）", "maps_to": QuestionTarget.FIN_EMPLOYEES},
    {"kind": QuestionKind.INTEGER, "text": "有效专利数（件）", "maps_to": QuestionTarget.FIN_PATENTS_HELD},
    {"kind": QuestionKind.INTEGER, "text": "已实施专利数（件）", "maps_to": QuestionTarget.FIN_PATENTS_IMPLEMENTED},
    {"kind": QuestionKind.RATING, "text": "对知识产权质押融资服务的总体满意度"},
    {"kind": QuestionKind.RATING, "text": "获得贷款后企业发展的获得感"},
    {"kind": QuestionKind.LONG_TEXT, "text": "意见和建议", "required": False},
]
RATING_WEIGHTS = ((5, 40), (4, 38), (3, 15), (2, 5), (1, 2))


def _rating(rng: random.Random) -> int:
    return rng.choices([r for r, _ in RATING_WEIGHTS], weights=[w for _, w in RATING_WEIGHTS])[0]


def _first_financed() -> dict[int, int]:
    rows = (
        Loan.objects.filter(is_ip_pledge=True, first_disbursed_on__isnull=False)
        .values("borrower_id")
        .annotate(first=Min("first_disbursed_on"))
        .values_list("borrower_id", "first")
    )
    return {pk: first.year for pk, first in rows}


def _figures(rng: random.Random, today: datetime.date, financed: dict[int, int]) -> list[EnterpriseFinancials]:
    years = list(range(today.year - YEARS, today.year))
    rows: list[EnterpriseFinancials] = []
    firms = Enterprise.objects.order_by("pk").values_list("pk", "revenue", "employees", "size_class", "region_code")
    for pk, revenue, employees, size, region in firms:
        level = revenue.fen / 100 if revenue is not None and revenue.fen > 0 else TYPICAL_REVENUE.get(size, 5_000_000)
        jobs = float(employees if employees else TYPICAL_JOBS.get(size, 20))
        rd = level * rng.uniform(0.02, 0.08)
        held = rng.randint(1, 12)
        implemented = rng.randint(0, held)
        # Walk back to the first year so the registry's figures sit near the latest year.
        level /= (1 + TREND["revenue"][0]) ** (len(years) - 1)
        jobs /= (1 + TREND["jobs"][0]) ** (len(years) - 1)
        since = financed.get(pk)
        for index, year in enumerate(years):
            if index:
                boosted = since is not None and year > since
                level *= 1 + rng.gauss(*TREND["revenue"]) + (UPLIFT["revenue"] if boosted else 0)
                rd *= 1 + rng.gauss(*TREND["rd"]) + (UPLIFT["rd"] if boosted else 0)
                jobs *= 1 + rng.gauss(*TREND["jobs"]) + (UPLIFT["jobs"] if boosted else 0)
                held += rng.randint(0, 2)
                implemented = min(held, implemented + rng.randint(0, 1) + (UPLIFT_IMPLEMENTED if boosted else 0))
            if rng.random() < GAP_RATE:
                continue
            rows.append(
                EnterpriseFinancials(  # type: ignore[misc]  # MoneyField takes Money
                    enterprise_id=pk,
                    year=year,
                    rd_spending=Money(max(round(rd), 0)),
                    revenue=Money(max(round(level), 0)),
                    employees=max(int(round(jobs)), 1),
                    patents_held=held,
                    patents_implemented=implemented,
                    source=FinancialsSource.IMPORT,
                    region_code=region or "",
                )
            )
    return rows


def _operator(org: Organisation) -> User | None:
    return (
        User.objects.filter(organisation=org, is_active=True, role__in=(Role.OPERATOR, Role.ADMIN))
        .order_by("role", "pk")
        .first()
    )


def _follow_up(office: Organisation, rng: random.Random, today: datetime.date) -> tuple[int, int] | None:
    """Publish the office's follow-up to its financed enterprises with a login and answer part of it."""
    user = _operator(office)
    if user is None or not surveys.reach(office, SurveyAudience.FOLLOW_UP).exists():
        return None
    period = str(today.year)
    if SurveyCampaign.objects.filter(organiser=office, title=TITLE, period_label=period).exists():
        return None
    with as_of(today), transaction.atomic():
        campaign = surveys.campaign_create(
            organiser=office,
            title=TITLE,
            description="了解获得知识产权质押贷款的企业上年经营情况与融资获得感，用于行动成效分析。",
            audience=SurveyAudience.FOLLOW_UP,
            period_label=period,
            recurrence=SurveyRecurrence.YEARLY,
            opens_on=today - datetime.timedelta(days=21),
            closes_on=today + datetime.timedelta(days=21),
            flows_into_library=False,
            acting_user=user,
        )
        questions = [surveys.question_add(campaign=campaign, acting_user=user, **spec) for spec in QUESTIONS]
        if office.region_id is not None:
            surveys.targets_add(campaign=campaign, region=office.region, acting_user=user)
        else:
            surveys.targets_add(
                campaign=campaign, organisations=list(surveys.reach(office, SurveyAudience.FOLLOW_UP)), acting_user=user
            )
        surveys.campaign_publish(campaign=campaign, acting_user=user)
    year = surveys.financials_year(campaign)
    answered = 0
    targets = list(campaign.targets.select_related("organisation").order_by("pk"))
    for target in targets:
        if rng.random() >= ANSWER_RATE:
            continue
        answerer = _operator(target.organisation)
        enterprise = Enterprise.objects.filter(organisation=target.organisation).first()
        if answerer is None or enterprise is None:
            continue
        last = EnterpriseFinancials.objects.filter(enterprise=enterprise, year=year).first()
        by_target = {
            QuestionTarget.FIN_RD_SPENDING: str(last.rd_spending.amount) if last and last.rd_spending else "",
            QuestionTarget.FIN_REVENUE: str(last.revenue.amount) if last and last.revenue else "",
            QuestionTarget.FIN_EMPLOYEES: last.employees if last else "",
            QuestionTarget.FIN_PATENTS_HELD: last.patents_held if last else "",
            QuestionTarget.FIN_PATENTS_IMPLEMENTED: last.patents_implemented if last else "",
        }
        answers: dict[str, Any] = {}
        for question in questions:
            if question.maps_to:
                answers[str(question.pk)] = by_target[QuestionTarget(question.maps_to)]
            elif question.kind == QuestionKind.RATING:
                answers[str(question.pk)] = _rating(rng)
        if any(value == "" or value is None for value in answers.values()):
            continue  # a firm without last year's figures would leave required questions blank
        with as_of(today):
            surveys.response_submit(campaign=campaign, answers=answers, acting_user=answerer)
        answered += 1
    return len(targets), answered


def seed_impact(*, rng: random.Random, today: datetime.date, stdout: Any = None) -> dict[str, int]:
    if EnterpriseFinancials.objects.exists():
        if stdout is not None:
            stdout.write("Impact: yearly figures already exist, nothing seeded.")
        return {}
    financed = _first_financed()
    with transaction.atomic():
        rows = _figures(rng, today, financed)
        bulk_create_with_history(rows, EnterpriseFinancials, batch_size=1000)
        record_event(
            acting_user=None,
            action="enterprisefinancials.seed",
            object_type="monitoring.enterprisefinancials",
            extra={"rows": len(rows), "years": [today.year - YEARS, today.year - 1], "financed": len(financed)},
        )
    campaigns = targets = answers = 0
    offices = Organisation.objects.filter(
        kind=OrganisationKind.IP_OFFICE, admin_level=AdminLevel.PROVINCIAL, is_active=True
    ).order_by("pk")
    for office in offices:
        outcome = _follow_up(office, rng, today)
        if outcome is not None:
            campaigns += 1
            targets += outcome[0]
            answers += outcome[1]
    if stdout is not None:
        stdout.write(
            f"Impact: {len(rows):,} yearly figures for {len(financed):,} financed and other enterprises; "
            f"{campaigns} follow-up surveys to {targets} enterprises, {answers} answered."
        )
    return {
        "enterprise figures": len(rows),
        "follow-up surveys": campaigns,
        "follow-up answers": answers,
    }
