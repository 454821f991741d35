"""Demo financing demands (融资项目库), written through the services so that matching runs on each as it would for a
user, then a few bank answers to the leads.

- Enterprises: current members of a demo park holding at least one valid IP right; each posts at most one or two
  demands. The enterprise's own operator posts when it has a login (企业发布), otherwise the park's administration
  posts on its behalf (园区代报), and a share of the enterprises with a login also go through their park.
- Terms: amounts 0.5–20 million yuan (log-uniform, in 10,000s), terms 6–36 months, purposes weighted towards working
  capital and research; one to three of the enterprise's valid rights offered.
- Consent: most consent to every bank whose product matches; some name one or two banks instead (or as well).
- Dates: demands are posted over the last ~200 days (the business date set to the posting day, `created_at` set to
  it as the disposal seed does); those posted more than 180 days ago expire through `demands_expire`.
- Outcomes: some are withdrawn by their poster; some are linked to an existing demo loan of the same borrower
  (approved or beyond, not yet linked) and become financed.
- Leads: bank officers of the products' banks answer part of the eligible leads they see (interested, contacted,
  declined); interest moves the demand to in talks.
"""

from __future__ import annotations

import datetime
import math
import random
from collections import Counter
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.context import as_of
from ipledge.core.models import Organisation, User
from ipledge.core.money import Money
from ipledge.registry.choices import LegalStatus
from ipledge.registry.models import Enterprise, IPRightOwner, ParkMembership

from .choices import ACTIVE_DEMAND_STATUSES, DemandPurpose, DemandStatus, LeadResponse, ProductStatus
from .models import Demand, Match
from .services import demands as services

TARGET = (150, 300)
LOOKBACK_DAYS = 200
TERMS = (6, 12, 12, 12, 18, 24, 24, 36)
PURPOSES = (
    (DemandPurpose.WORKING_CAPITAL, 30),
    (DemandPurpose.RESEARCH, 22),
    (DemandPurpose.EQUIPMENT, 12),
    (DemandPurpose.EXPANSION, 12),
    (DemandPurpose.TECH_UPGRADE, 10),
    (DemandPurpose.COMMERCIALISATION, 10),
    (DemandPurpose.OTHER, 4),
)
DESCRIPTIONS: dict[str, str] = {
    DemandPurpose.WORKING_CAPITAL: "订单增长，补充原材料采购和账期周转资金",
    DemandPurpose.RESEARCH: "新一代产品研发投入，含样机试制和检测认证费用",
    DemandPurpose.EQUIPMENT: "购置生产和检测设备，提升产能",
    DemandPurpose.EXPANSION: "新建生产线，扩大生产规模",
    DemandPurpose.TECH_UPGRADE: "现有产线智能化技术改造",
    DemandPurpose.COMMERCIALISATION: "核心专利技术产业化，建设中试基地",
    DemandPurpose.OTHER: "其他经营用途",
}
NOTES = {
    LeadResponse.INTERESTED: ("有合作意向，请准备近两年财务报表", "拟安排客户经理上门尽调", "可纳入本行科技贷款白名单"),
    LeadResponse.CONTACTED: ("已电话联系企业财务负责人", "已与企业约定面谈时间", "已发送申请材料清单"),
    LeadResponse.DECLINED: ("企业经营年限不足", "质押物价值覆盖不足", "不在本行重点支持行业"),
}


def _at(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(10, 0), tzinfo=timezone.get_default_timezone())


def _say(stdout: Any, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")


class _People:
    """The first active user of each organisation and role (as the screening seed finds its demo users)."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, str], User] = {}
        for user in User.objects.filter(is_active=True, organisation__isnull=False).order_by("id"):
            assert user.organisation_id is not None
            self.ids.setdefault((user.organisation_id, user.role), user)

    def get(self, org_id: int | None, *roles: str) -> User | None:
        for role in roles or (Role.OPERATOR, Role.ADMIN):
            user = self.ids.get((org_id or 0, role))
            if user is not None:
                return user
        return None


def _amount(rng: random.Random) -> Money:
    """0.5–20 million yuan, log-uniform, rounded to 10,000 yuan."""
    value = math.exp(rng.uniform(math.log(500_000), math.log(20_000_000)))
    return Money(int(round(value / 10_000)) * 10_000)


def _purpose(rng: random.Random) -> str:
    choices, weights = zip(*PURPOSES, strict=True)
    return str(rng.choices(choices, weights=weights)[0])


def _candidates(today: datetime.date) -> dict[int, list[int]]:
    """Enterprise id → its valid rights (registered owner, legally valid, term not ended), for current park members."""
    members = ParkMembership.objects.filter(left_on__isnull=True, park__administering_org__isnull=False).values(
        "enterprise_id"
    )
    owners = (
        IPRightOwner.objects.filter(enterprise_id__in=members, right__legal_status=LegalStatus.VALID)
        .filter(Q(right__term_end__isnull=True) | Q(right__term_end__gt=today))
        .order_by("enterprise_id", "right_id")
        .values_list("enterprise_id", "right_id")
    )
    rights: dict[int, list[int]] = {}
    for enterprise_id, right_id in owners:
        rights.setdefault(enterprise_id, []).append(right_id)
    return rights


def _poster(enterprise: Enterprise, people: _People, rng: random.Random) -> tuple[User | None, str]:
    """(acting user, "enterprise" | "park"): the enterprise's own operator, or its park's administration."""
    own = people.get(enterprise.organisation_id) if enterprise.organisation_id else None
    park_users = [
        people.get(m.park.administering_org_id)
        for m in enterprise.memberships.filter(left_on__isnull=True).select_related("park")
    ]
    park_user = next((u for u in park_users if u is not None), None)
    if own is not None and (park_user is None or rng.random() < 0.8):
        return own, "enterprise"
    return park_user, "park"


def _share_banks(rng: random.Random, banks: list[Organisation]) -> tuple[list[int], bool]:
    roll = rng.random()
    if roll < 0.7 or not banks:
        return [], True
    chosen = [b.pk for b in rng.sample(banks, k=min(len(banks), rng.choice((1, 1, 2))))]
    return chosen, roll < 0.85  # some name banks as well as consenting to every matching bank


def _loan_for(enterprise_id: int, used: set[int]) -> Any:
    from ipledge.lending.models import Loan

    return (
        Loan.objects.filter(borrower_id=enterprise_id)
        .exclude(status__in=services.UNGRANTED_LOAN_STATUSES)
        .exclude(pk__in=used)
        .exclude(market_demands__isnull=False)
        .order_by("-pk")
        .first()
    )


def _respond(rng: random.Random, people: _People, today: datetime.date, counts: Counter[str]) -> None:
    """Bank officers answer part of the eligible leads of live products on active demands shared with them."""
    leads = list(
        Match.objects.filter(
            eligible=True,
            product__status=ProductStatus.LIVE,
            demand__status__in=ACTIVE_DEMAND_STATUSES,
            response=LeadResponse.NONE,
        )
        .select_related("product__bank", "demand")
        .order_by("-score", "pk")[:400]
    )
    rng.shuffle(leads)
    answered_demands: set[int] = set()
    for match in leads:
        if counts["lead_responses"] >= 60:
            break
        if match.demand_id in answered_demands or rng.random() < 0.5:
            continue
        bank = match.product.bank
        user = people.get(bank.pk)
        if user is None and bank.parent_id:
            user = people.get(bank.parent_id)
        if user is None or not Match.objects.restrict(user, "change").filter(pk=match.pk).exists():
            continue
        response = rng.choices(
            (LeadResponse.INTERESTED, LeadResponse.CONTACTED, LeadResponse.DECLINED), weights=(40, 35, 25)
        )[0]
        with as_of(today):
            services.lead_respond(match=match, response=response, note=rng.choice(NOTES[response]), acting_user=user)
        answered_demands.add(match.demand_id)
        counts["lead_responses"] += 1
        counts[f"lead_{response}"] += 1


def seed_demands(*, rng: random.Random, today: datetime.date, stdout: Any = None) -> dict[str, int]:
    """Build the demo demand library through the services (matching runs for each demand); returns counts."""
    counts: Counter[str] = Counter()
    people = _People()
    rights = _candidates(today)
    if not rights:
        _say(stdout, "demands: no park member enterprise holds a valid IP right; nothing seeded")
        return dict(counts)
    enterprise_ids = sorted(rights)
    rng.shuffle(enterprise_ids)
    target = rng.randint(*TARGET)
    banks = list(Organisation.objects.filter(kind=OrganisationKind.BANK, is_active=True).order_by("pk"))
    enterprises = Enterprise.objects.in_bulk(enterprise_ids)
    used_loans: set[int] = set()
    posted: list[tuple[Demand, User]] = []
    for enterprise_id in enterprise_ids:
        if len(posted) >= target:
            break
        enterprise = enterprises[enterprise_id]
        user, via = _poster(enterprise, people, rng)
        if user is None:
            counts["demands_skipped_no_poster"] += 1
            continue
        for _n in range(rng.choice((1, 1, 1, 2))):
            day = today - datetime.timedelta(days=rng.randrange(LOOKBACK_DAYS))
            offered = rng.sample(rights[enterprise_id], k=min(len(rights[enterprise_id]), rng.choice((1, 1, 2, 3))))
            bank_ids, matching = _share_banks(rng, banks)
            purpose = _purpose(rng)
            with as_of(day), transaction.atomic():
                demand = services.demand_create(
                    enterprise=enterprise,
                    amount=_amount(rng),
                    term_months=rng.choice(TERMS),
                    purpose=purpose,
                    description=DESCRIPTIONS[purpose],
                    right_ids=offered,
                    share_bank_ids=bank_ids,
                    share_with_matching_banks=matching,
                    acting_user=user,
                )
                Demand.objects.filter(pk=demand.pk).update(created_at=_at(day))
            posted.append((demand, user))
            counts["demands"] += 1
            counts[f"demands_by_{via}"] += 1
            counts["demands_with_chosen_banks"] += 1 if bank_ids else 0
    _say(stdout, f"demands: {counts['demands']} posted ({counts['demands_by_park']} by parks)")

    # Outcomes of the older ones: a few withdrawn, some financed by an existing loan of the same borrower.
    for demand, user in posted:
        demand.refresh_from_db()
        if demand.status not in ACTIVE_DEMAND_STATUSES or demand.expires_on < today:
            continue
        roll = rng.random()
        if roll < 0.08:
            with as_of(today), transaction.atomic():
                services.demand_withdraw(demand=demand, note="企业已通过其他渠道解决资金需求", acting_user=user)
            counts["demands_withdrawn"] += 1
        elif roll < 0.30 and counts["demands_financed"] < 40:
            loan = _loan_for(demand.enterprise_id, used_loans)
            if loan is None:
                continue
            with as_of(today), transaction.atomic():
                services.demand_link_loan(demand=demand, loan=loan, acting_user=user)
            used_loans.add(loan.pk)
            counts["demands_financed"] += 1
    counts["demands_expired"] += services.demands_expire(today=today)
    _respond(rng, people, today, counts)
    counts["demands_in_talks"] = Demand.objects.filter(status=DemandStatus.IN_TALKS).count()
    counts["demands_matched"] = Demand.objects.filter(status=DemandStatus.MATCHED).count()
    counts["matches_eligible"] = Match.objects.filter(eligible=True).count()
    _say(
        stdout,
        f"demands: {counts['demands_withdrawn']} withdrawn, {counts['demands_financed']} financed, "
        f"{counts['demands_expired']} expired, {counts['lead_responses']} lead answers by banks",
    )
    return dict(counts)
