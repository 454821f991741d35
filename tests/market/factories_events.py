"""Test states for the matchmaking-events area, built straight through the ORM for the products, demands and matches
(so these tests do not depend on the other market areas) and through the events services for the rest.

`event_with_matches(world)`: park1 organises an event in two weeks (4 slots of 30 minutes from 09:00); bank1_sub
(2 desks) and bank2 (1 desk) register, and enterprises E1 (no named demand) and E2 (naming its demand). E1's demand
matches a live product of bank1_sub (score 90) and of bank2 (80); E2's matches bank1's head-office product (75: bank1
is above bank1_sub, so it does not count for it), bank2's (60) and, ineligibly, bank1_sub's (95).
"""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.context import business_date
from ipledge.core.models import Organisation
from ipledge.core.money import Money
from ipledge.core.services import organisation_create, user_create
from ipledge.core.synthetic import make_uscc
from ipledge.market.choices import DemandPurpose, DemandStatus, ProductStatus, ProductVersionStatus, RateKind
from ipledge.market.models import Demand, EventParticipant, Match, MatchmakingEvent, Product, ProductVersion
from ipledge.market.services import events as services
from ipledge.registry.models import Enterprise
from ipledge.registry.services import enterprise_create
from tests.world import World

_serial = itertools.count(1)


def live_product(bank: Organisation, *, name: str = "知识产权质押贷") -> Product:
    n = next(_serial)
    product = Product.objects.create(bank=bank, code=f"EV{n:04d}", name=f"{name}{n}", status=ProductStatus.DRAFT)
    version = ProductVersion.objects.create(
        product=product,
        number=1,
        status=ProductVersionStatus.APPROVED,
        collateral_kinds=["invention"],
        amount_min=Money("100000"),
        amount_max=Money("10000000"),
        term_min_months=6,
        term_max_months=36,
        rate_kind=RateKind.LPR_SPREAD,
        rate_spread_bp=50,
    )
    product.status = ProductStatus.LIVE
    product.live_version = version
    product.save()
    return product


def demand(enterprise: Enterprise, *, amount: str = "2000000", status: str = DemandStatus.MATCHED) -> Demand:
    n = next(_serial)
    return Demand.objects.create(
        reference=f"XQEV-{n:06d}",
        enterprise=enterprise,
        region_code=enterprise.region_code,
        amount=Money(amount),
        term_months=12,
        purpose=DemandPurpose.RESEARCH,
        status=status,
        expires_on=business_date() + datetime.timedelta(days=180),
    )


def match(d: Demand, product: Product, *, score: str | int, eligible: bool = True) -> Match:
    assert product.live_version is not None
    return Match.objects.create(
        demand=d,
        product=product,
        product_version=product.live_version,
        eligible=eligible,
        score=Decimal(score),
        expected_approval=Decimal("0.700"),
        computed_at=timezone.now(),
    )


def enterprise_with_login(w: World, key: str, *, name: str, region: str = "110108") -> Enterprise:
    """An extra enterprise with its own organisation and users (`<key>_<role>`), a member of P1."""
    from ipledge.core.models import Region

    org = organisation_create(
        name=name, kind=OrganisationKind.ENTERPRISE, acting_user=None, region=Region.objects.get(code=region)
    )
    w.orgs[key] = org
    for role in Role.values:
        w.users[f"{key}_{role}"] = user_create(
            username=f"{key}_{role}", organisation=org, role=role, password=f"pass-{key}", acting_user=None
        )
    enterprise = enterprise_create(
        uscc=make_uscc(region_code=region, serial=5000 + next(_serial)),
        name=name,
        industry_section="C",
        employees=60,
        organisation=org,
        park=w.parks["p1"],
        joined_on=datetime.date(2022, 1, 1),
        acting_user=None,
    )
    w.enterprises[key] = enterprise
    return enterprise


def event(
    w: World,
    *,
    organiser: str = "park1",
    days_ahead: int = 14,
    slot_count: int = 4,
    slot_minutes: int = 30,
    **kwargs: object,
) -> MatchmakingEvent:
    day = business_date() + datetime.timedelta(days=days_ahead)
    values: dict[str, object] = {
        "title": "知识产权质押融资银企对接会",
        "theme": "专精特新企业专场",
        "place": "海淀园创新中心报告厅",
        "event_date": day,
        "registration_closes_on": day - datetime.timedelta(days=min(days_ahead, 3)),
        "starts_at": datetime.time(9, 0),
        "slot_minutes": slot_minutes,
        "slot_count": slot_count,
    }
    if organiser == "park1":
        values["park"] = w.parks["p1"]
    values.update(kwargs)
    return services.event_create(acting_user=w.user(organiser), **values)  # type: ignore[arg-type]


@dataclass
class Setup:
    event: MatchmakingEvent
    banks: dict[str, EventParticipant] = field(default_factory=dict)
    enterprises: dict[str, EventParticipant] = field(default_factory=dict)
    demands: dict[str, Demand] = field(default_factory=dict)
    matches: dict[str, Match] = field(default_factory=dict)


def register_bank(w: World, e: MatchmakingEvent, bank: str, *, desks: int = 1) -> EventParticipant:
    return services.participant_register(
        event=e, organisation=w.orgs[bank], desks=desks, contact_name="王经理", acting_user=w.user(bank)
    )


def register_enterprise(w: World, e: MatchmakingEvent, org: str, *, demand: Demand | None = None) -> EventParticipant:
    return services.participant_register(
        event=e, organisation=w.orgs[org], demand=demand, contact_name="李总", acting_user=w.user(org)
    )


def event_with_matches(w: World, **kwargs: object) -> Setup:
    e = event(w, **kwargs)  # type: ignore[arg-type]
    s = Setup(event=e)
    s.demands["e1"] = demand(w.enterprises["e1"])
    s.demands["e2"] = demand(w.enterprises["e2"], amount="5000000")
    sub, b2, head = live_product(w.orgs["bank1_sub"]), live_product(w.orgs["bank2"]), live_product(w.orgs["bank1"])
    s.matches["e1_sub"] = match(s.demands["e1"], sub, score=90)
    s.matches["e1_b2"] = match(s.demands["e1"], b2, score=80)
    s.matches["e2_head"] = match(s.demands["e2"], head, score=75)  # bank1 is above bank1_sub: not its product
    s.matches["e2_b2"] = match(s.demands["e2"], b2, score=60)
    s.matches["e2_sub_no"] = match(s.demands["e2"], sub, score=95, eligible=False)
    s.banks["bank1_sub"] = register_bank(w, e, "bank1_sub", desks=2)
    s.banks["bank2"] = register_bank(w, e, "bank2")
    s.enterprises["e1"] = register_enterprise(w, e, "ent1")
    s.enterprises["e2"] = register_enterprise(w, e, "ent2", demand=s.demands["e2"])
    return s
