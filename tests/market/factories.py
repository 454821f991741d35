"""A market world built straight through the ORM for the permission and endpoint matrices: products of three banks
(live, draft, withdrawn), demands of three enterprises (shared with a chosen bank, shared with every matching bank,
not shared), their matches, two survey campaigns (published with a response, and a park's draft), and a
matchmaking event with a bank, two enterprises and a meeting."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from ipledge.core.money import Money
from ipledge.market.choices import (
    DemandPurpose,
    DemandSource,
    DemandStatus,
    EventStatus,
    LeadResponse,
    ParticipantKind,
    ProductStatus,
    ProductVersionStatus,
    QuestionKind,
    RateKind,
    SurveyAudience,
    SurveyStatus,
)
from ipledge.market.models import (
    Demand,
    DemandRight,
    DemandShare,
    EventParticipant,
    Match,
    MatchmakingEvent,
    Meeting,
    Product,
    ProductVersion,
    SurveyCampaign,
    SurveyQuestion,
    SurveyResponse,
    SurveyTarget,
)
from tests.world import World


@dataclass
class MarketWorld:
    products: dict[str, Product] = field(default_factory=dict)
    demands: dict[str, Demand] = field(default_factory=dict)
    matches: dict[str, Match] = field(default_factory=dict)
    campaigns: dict[str, SurveyCampaign] = field(default_factory=dict)
    events: dict[str, MatchmakingEvent] = field(default_factory=dict)
    meetings: dict[str, Meeting] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _product(w: World, key: str, bank_key: str, status: str) -> Product:
    product = Product.objects.create(bank=w.orgs[bank_key], code=f"P-{key}", name=f"{key}知识产权质押贷")
    version = ProductVersion.objects.create(
        product=product,
        number=1,
        status=ProductVersionStatus.APPROVED if status != ProductStatus.DRAFT else ProductVersionStatus.DRAFT,
        collateral_kinds=["invention", "utility_model", "trademark"],
        min_remaining_years={"invention": 5},
        pledge_rate_caps={"invention": "0.4", "utility_model": "0.2", "trademark": "0.3"},
        amount_min=Money(100_000),
        amount_max=Money(10_000_000),
        term_min_months=6,
        term_max_months=36,
        rate_kind=RateKind.LPR_SPREAD,
        rate_spread_bp=100,
        created_by=w.user(bank_key),
    )
    if status != ProductStatus.DRAFT:
        product.live_version = version
    product.status = status
    product.save()
    return product


def _demand(w: World, key: str, enterprise_key: str, right_key: str, park_key: str, *, matching_banks: bool) -> Demand:
    enterprise = w.enterprises[enterprise_key]
    demand = Demand.objects.create(
        reference=f"XQ-{key}",
        enterprise=enterprise,
        park=w.parks[park_key],
        region_code=enterprise.region_code,
        source=DemandSource.ENTERPRISE,
        amount=Money(2_000_000),
        term_months=12,
        purpose=DemandPurpose.RESEARCH,
        status=DemandStatus.MATCHED,
        share_with_matching_banks=matching_banks,
        expires_on=timezone.localdate() + datetime.timedelta(days=90),
    )
    DemandRight.objects.create(demand=demand, ip_right=w.rights[right_key])
    return demand


def _match(demand: Demand, product: Product, *, eligible: bool, rank: int | None) -> Match:
    assert product.live_version is not None
    return Match.objects.create(
        demand=demand,
        product=product,
        product_version=product.live_version,
        eligible=eligible,
        score=Decimal("72.50") if eligible else Decimal("0"),
        rank=rank,
        expected_approval=Decimal("0.650"),
        reasons=[{"code": "amount_in_range", "passed": True, "params": {}}],
        computed_at=timezone.now(),
    )


def add_market(w: World) -> MarketWorld:
    m = MarketWorld()
    m.products["bank1"] = _product(w, "bank1", "bank1", ProductStatus.LIVE)
    m.products["bank1_sub"] = _product(w, "bank1_sub", "bank1_sub", ProductStatus.DRAFT)
    m.products["bank2"] = _product(w, "bank2", "bank2", ProductStatus.LIVE)
    m.products["bank1_br2"] = _product(w, "bank1_br2", "bank1_br2", ProductStatus.WITHDRAWN)

    m.demands["e1"] = _demand(w, "e1", "e1", "r1", "p1", matching_banks=False)
    DemandShare.objects.create(demand=m.demands["e1"], bank=w.orgs["bank1_br"])
    m.demands["e2"] = _demand(w, "e2", "e2", "r2", "p2", matching_banks=True)
    DemandShare.objects.create(demand=m.demands["e2"], bank=w.orgs["bank2"])
    m.demands["e1b"] = _demand(w, "e1b", "e1b", "r1b", "p1", matching_banks=True)

    m.matches["e1_bank1"] = _match(m.demands["e1"], m.products["bank1"], eligible=True, rank=1)
    m.matches["e1_bank2"] = _match(m.demands["e1"], m.products["bank2"], eligible=True, rank=2)
    m.matches["e2_bank2"] = _match(m.demands["e2"], m.products["bank2"], eligible=True, rank=1)
    m.matches["e2_bank2"].response = LeadResponse.INTERESTED
    m.matches["e2_bank2"].save()
    m.matches["e2_bank1"] = _match(m.demands["e2"], m.products["bank1"], eligible=False, rank=None)
    m.matches["e1b_bank1"] = _match(m.demands["e1b"], m.products["bank1"], eligible=False, rank=None)

    today = timezone.localdate()
    survey = SurveyCampaign.objects.create(
        organiser=w.orgs["ipo_bj"],
        title="融资需求调查",
        audience=SurveyAudience.ENTERPRISE,
        period_label="2026Q4",
        status=SurveyStatus.OPEN,
        opens_on=today - datetime.timedelta(days=10),
        closes_on=today + datetime.timedelta(days=20),
        published_at=timezone.now(),
    )
    question = SurveyQuestion.objects.create(
        campaign=survey, position=1, kind=QuestionKind.MONEY, text="融资需求金额", maps_to="demand.amount"
    )
    for key in ("ent1", "ent2", "bank1"):
        SurveyTarget.objects.create(campaign=survey, organisation=w.orgs[key], invited_at=timezone.now())
    SurveyResponse.objects.create(
        campaign=survey,
        organisation=w.orgs["ent1"],
        answers={str(question.pk): "1000000.00"},
        submitted_by=w.user("ent1"),
        submitted_at=timezone.now(),
    )
    SurveyResponse.objects.create(
        campaign=survey,
        organisation=w.orgs["ent2"],
        answers={str(question.pk): "500000.00"},
        submitted_by=w.user("ent2"),
        submitted_at=timezone.now(),
    )
    m.campaigns["open"] = survey
    draft = SurveyCampaign.objects.create(
        organiser=w.orgs["park1"],
        title="园区企业融资意向",
        audience=SurveyAudience.ENTERPRISE,
        period_label="2026",
        status=SurveyStatus.DRAFT,
        opens_on=today,
        closes_on=today + datetime.timedelta(days=30),
    )
    SurveyQuestion.objects.create(campaign=draft, position=1, kind=QuestionKind.TEXT, text="主要融资用途")
    SurveyTarget.objects.create(campaign=draft, organisation=w.orgs["ent1"])
    m.campaigns["draft"] = draft

    event = MatchmakingEvent.objects.create(
        organiser=w.orgs["park1"],
        title="海淀园银企对接会",
        park=w.parks["p1"],
        region_code=w.parks["p1"].region.code,
        place="园区服务中心",
        event_date=today + datetime.timedelta(days=14),
        registration_closes_on=today + datetime.timedelta(days=7),
        status=EventStatus.SCHEDULED,
    )
    bank = EventParticipant.objects.create(
        event=event, organisation=w.orgs["bank1_br"], kind=ParticipantKind.BANK, desks=2
    )
    ent1 = EventParticipant.objects.create(
        event=event,
        organisation=w.orgs["ent1"],
        kind=ParticipantKind.ENTERPRISE,
        enterprise=w.enterprises["e1"],
        demand=m.demands["e1"],
    )
    EventParticipant.objects.create(
        event=event, organisation=w.orgs["ent2"], kind=ParticipantKind.ENTERPRISE, enterprise=w.enterprises["e2"]
    )
    m.meetings["e1"] = Meeting.objects.create(
        event=event, bank_participant=bank, enterprise_participant=ent1, match=m.matches["e1_bank1"], slot=1, desk=1
    )
    m.events["park1"] = event
    js_event = MatchmakingEvent.objects.create(
        organiser=w.orgs["park2"],
        title="江宁园银企对接会",
        park=w.parks["p2"],
        region_code=w.parks["p2"].region.code,
        place="园区会议中心",
        event_date=today + datetime.timedelta(days=21),
        registration_closes_on=today + datetime.timedelta(days=14),
        status=EventStatus.SCHEDULED,
    )
    bank2 = EventParticipant.objects.create(event=js_event, organisation=w.orgs["bank2"], kind=ParticipantKind.BANK)
    ent2 = EventParticipant.objects.create(
        event=js_event, organisation=w.orgs["ent2"], kind=ParticipantKind.ENTERPRISE, enterprise=w.enterprises["e2"]
    )
    m.meetings["e2"] = Meeting.objects.create(
        event=js_event, bank_participant=bank2, enterprise_participant=ent2, match=m.matches["e2_bank2"], slot=2
    )
    m.events["park2"] = js_event
    return m
