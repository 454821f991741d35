"""Demo typical cases (典型案例), written through the services so every row is what a user would have made.

Eight cases across the demo provinces, one per specification below, in every state of the yearly selection: last
year's selection reviewed by the provincial IP offices (three published on the showcase, one selected and waiting
for publication, one rejected, one still under review with its score) and this year's first nominations (one
waiting, one withdrawn by its nominator). A case from a park links, when the park administration can see one, a
disbursed loan of a member enterprise with its bank, and quotes the loan's figures.

Runs after plans, measures and impact (`ipledge seed_monitoring`); a second run adds nothing (the cases are found by
title). Randomness (which loan, the scores) comes from `rng`.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.context import as_of
from ipledge.core.models import Organisation, User
from ipledge.core.scoping import Action
from ipledge.lending.models import Loan
from ipledge.registry.models import Enterprise, Park

from .choices import CaseCategory, CaseStatus
from .models import TypicalCase
from .services import cases as services


@dataclass(frozen=True)
class _Spec:
    title: str
    category: str
    park_index: int  # position of the park in region-code order (the demo has three parks per province)
    nominator: str  # "park" (the park's administration), "bank" (a bank of the province) or "ipo" (a city office)
    outcome: str  # a CaseStatus the case ends in
    this_year: bool = False


SPECS = (
    _Spec("“园区贷”专利组合质押助力集成电路企业", CaseCategory.PRODUCT_INNOVATION, 0, "park", CaseStatus.PUBLISHED),
    _Spec("政银担风险共担破解轻资产企业融资难", CaseCategory.RISK_SHARING, 3, "bank", CaseStatus.PUBLISHED),
    _Spec("园区知识产权金融服务站一站式受理", CaseCategory.PARK_SERVICE, 4, "park", CaseStatus.PUBLISHED),
    _Spec("评估机构与银行共建专利价值评价模型", CaseCategory.VALUATION, 5, "ipo", CaseStatus.SELECTED),
    _Spec("专精特新企业凭商标质押实现规模扩张", CaseCategory.ENTERPRISE_GROWTH, 1, "park", CaseStatus.UNDER_REVIEW),
    _Spec("质押专利许可转让处置回收贷款", CaseCategory.DISPOSAL, 2, "bank", CaseStatus.REJECTED),
    _Spec("“知识产权+信用”白名单批量授信", CaseCategory.PRODUCT_INNOVATION, 2, "park", CaseStatus.NOMINATED, True),
    _Spec("高校专利作价入股后质押融资", CaseCategory.ENTERPRISE_GROWTH, 4, "bank", CaseStatus.WITHDRAWN, True),
)


# Scores that make the ranking plausible: rejected cases score low, selected ones high.
SCORE_RANGES: dict[str, tuple[int, int]] = {CaseStatus.REJECTED: (50, 65), CaseStatus.UNDER_REVIEW: (70, 85)}


def _wan(value: Any) -> str:
    amount = getattr(value, "amount", None)
    return "—" if amount is None else f"{(Decimal(amount) / 10_000).quantize(Decimal('1'))}"


def _user(org: Organisation | None, *roles: str) -> User | None:
    """The first active user of the organisation with the first of `roles` it has."""
    if org is None:
        return None
    for role in roles:
        user = User.objects.filter(organisation=org, role=role, is_active=True).order_by("pk").first()
        if user is not None:
            return user
    return None


def _province_office(park: Park) -> Organisation | None:
    return Organisation.objects.filter(
        kind=OrganisationKind.IP_OFFICE, region__code=park.region.code[:2] + "0000", is_active=True
    ).first()


def _nominator(spec: _Spec, park: Park) -> Organisation | None:
    province = park.region.code[:2]
    if spec.nominator == "park":
        return park.administering_org
    if spec.nominator == "bank":
        return (
            Organisation.objects.filter(
                kind=OrganisationKind.BANK, region__code__startswith=province, is_active=True, loans__isnull=False
            )
            .distinct()
            .order_by("tree_path")
            .first()
        )
    # The most local IP office below the province whose region covers the park (a city or district office).
    offices = (
        Organisation.objects.filter(kind=OrganisationKind.IP_OFFICE, region__code__startswith=province, is_active=True)
        .exclude(region__code=province + "0000")
        .select_related("region")
        .order_by("-region__prefix", "pk")
    )
    return next((o for o in offices if park.region.code.startswith(o.region.prefix)), None)  # type: ignore[union-attr]


def _loan_for(user: User, park: Park, rng: random.Random, before: datetime.date) -> Loan | None:
    """A loan of an enterprise of the park, disbursed before the nomination, that the nominator can see."""
    visible = Enterprise.objects.restrict(user, Action.VIEW).values("pk")
    loans = list(
        Loan.objects.restrict(user, Action.VIEW)
        .filter(first_disbursed_on__lt=before, borrower__memberships__park=park, borrower_id__in=visible)
        .select_related("bank", "borrower")
        .order_by("pk")[:20]
    )
    return rng.choice(loans) if loans else None


def _write(spec: _Spec, park: Park, rng: random.Random, today: datetime.date) -> TypicalCase | None:
    org = _nominator(spec, park)
    maker = _user(org, Role.OPERATOR, Role.ADMIN)
    office = _province_office(park)
    checker = _user(office, Role.REVIEWER)
    if org is None or maker is None or checker is None:
        return None
    year = today.year if spec.this_year else today.year - 1
    nominated_on = today if spec.this_year else datetime.date(year, 5, 10) + datetime.timedelta(days=rng.randint(0, 40))
    loan = _loan_for(maker, park, rng, nominated_on)
    links: dict[str, Any] = {"park": park}
    figures = {"园区": park.name}
    if loan is not None:
        links |= {"enterprise": loan.borrower, "loan": loan, "bank": loan.bank}
        figures |= {"贷款金额（万元）": _wan(loan.principal), "首次放款日": loan.first_disbursed_on.isoformat()}  # type: ignore[union-attr]
    borrower = loan.borrower.name if loan is not None else park.name + "企业"
    with as_of(nominated_on):
        case = services.case_create(
            year=year,
            title=spec.title,
            category=spec.category,
            summary=f"{park.name}：{spec.title}。",
            practice=(
                f"{org.name}会同合作银行梳理{borrower}等企业的专利、商标，"
                "由评估机构出具评估报告，银行以知识产权质押为主要担保方式授信，园区提供贴息和风险补偿。"
            ),
            results=f"带动园区企业知识产权质押融资持续增长，{borrower}获得融资后研发投入和就业人数明显增加。",
            figures=figures,
            acting_user=maker,
            **links,
        )
    if spec.outcome == CaseStatus.NOMINATED:
        return case
    if spec.outcome == CaseStatus.WITHDRAWN:
        with as_of(nominated_on):
            return services.case_withdraw(case=case, acting_user=maker, note="推荐材料需补充，撤回后重新推荐")
    reviewed_on = datetime.date(year, 10, 15)
    with as_of(reviewed_on):
        case = services.case_review_open(case=case, acting_user=checker)
        low, high = SCORE_RANGES.get(spec.outcome, (82, 96))
        score = rng.randint(low, high)
        case = services.case_review_score(
            case=case, score=score, note="做法清晰，数据翔实，具有推广价值。", acting_user=checker
        )
        if spec.outcome == CaseStatus.UNDER_REVIEW:
            return case
        select = spec.outcome != CaseStatus.REJECTED
        note = "" if select else "成效数据尚不充分，建议下年度补充后再推荐。"
        case = services.case_decide(case=case, select=select, note=note, acting_user=checker)
    if spec.outcome == CaseStatus.PUBLISHED:
        with as_of(datetime.date(year, 12, 10)):
            case = services.case_publish(case=case, acting_user=checker)
    return case


def seed_cases(*, rng: random.Random, today: datetime.date, stdout: Any = None) -> dict[str, int]:
    existing = set(TypicalCase.objects.filter(title__in=[s.title for s in SPECS]).values_list("title", flat=True))
    parks = list(Park.objects.select_related("region", "administering_org").order_by("region__code", "name"))
    written: list[TypicalCase] = []
    if parks:
        for spec in SPECS:
            if spec.title in existing:
                continue
            park = parks[spec.park_index % len(parks)]
            with transaction.atomic():
                case = _write(spec, park, rng, today)
            if case is not None:
                written.append(case)
    published = sum(1 for c in written if c.status == CaseStatus.PUBLISHED)
    if stdout is not None:
        stdout.write(f"  typical cases {len(written)} ({published} published)")
    return {"typical cases": len(written), "published cases": published}
