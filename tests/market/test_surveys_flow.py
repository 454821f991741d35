"""Answers flowing into the libraries: an enterprise's answer with a financing amount becomes a survey-sourced demand
(term, purpose, description, consent mapped; the park of a park's campaign recorded), a bank's answer becomes a
draft product with the mapped terms and the documented defaults; a library refusal refuses the whole response,
naming the question mapped to the refused field; without `flows_into_library` nothing is written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from ipledge.core.context import as_of
from ipledge.core.money import Money
from ipledge.market.choices import (
    DemandPurpose,
    DemandSource,
    ProductStatus,
    QuestionKind,
    QuestionTarget,
    RateKind,
)
from ipledge.market.models import Demand, Product, ProductVersion, SurveyResponse
from ipledge.market.services import surveys
from tests.market.factories_surveys import (
    TODAY,
    answers_for,
    bank_answers,
    bank_campaign,
    enterprise_campaign,
    published,
)
from tests.world import World

pytestmark = pytest.mark.django_db


def question(campaign, text: str):  # type: ignore[no-untyped-def]
    return campaign.questions.get(text=text)


def test_enterprise_answer_becomes_a_demand(world: World) -> None:
    campaign = published(world, enterprise_campaign(world), ["ent1"])
    with as_of(TODAY):
        response = surveys.response_submit(
            campaign=campaign, answers=answers_for(campaign, 未来="800万", 期望="24"), acting_user=world.user("ent1")
        )
    demand = response.demand
    assert demand is not None and response.product is None
    assert demand.enterprise == world.enterprises["e1"] and demand.source == DemandSource.SURVEY
    assert demand.amount == Money("8000000") and demand.term_months == 24 and demand.purpose == DemandPurpose.RESEARCH
    assert "2026年第二季度企业融资需求调查" in demand.description
    assert demand.share_with_matching_banks is False  # no consent question: not pushed to banks
    assert demand.park == world.parks["p1"]


def test_no_amount_no_demand_and_purpose_by_value(world: World) -> None:
    campaign = published(world, enterprise_campaign(world), ["ent1"])
    with as_of(TODAY):
        response = surveys.response_submit(
            campaign=campaign, answers=answers_for(campaign, 未来="0"), acting_user=world.user("ent1")
        )
    assert response.demand is None and not Demand.objects.exists()


def test_consent_and_park_campaign(world: World) -> None:
    campaign = enterprise_campaign(world, org="park1", title="海淀园融资需求摸底")
    surveys.question_add(
        campaign=campaign,
        kind=QuestionKind.YES_NO,
        text="是否同意将需求推送给产品匹配的银行",
        maps_to=QuestionTarget.DEMAND_SHARE,
        acting_user=world.user("park1"),
    )
    surveys.question_add(
        campaign=campaign,
        kind=QuestionKind.LONG_TEXT,
        text="需求说明",
        maps_to=QuestionTarget.DEMAND_DESCRIPTION,
        required=False,
        acting_user=world.user("park1"),
    )
    published(world, campaign, ["ent1"])
    answers = answers_for(campaign, 资金="equipment", 是否同意="是", 需求说明="购置晶圆检测设备")
    with as_of(TODAY):
        response = surveys.response_submit(campaign=campaign, answers=answers, acting_user=world.user("ent1"))
    demand = response.demand
    assert demand is not None and demand.share_with_matching_banks is True
    assert demand.purpose == DemandPurpose.EQUIPMENT and demand.description == "购置晶圆检测设备"
    assert demand.park == world.parks["p1"]


def test_library_refusal_refuses_the_response(world: World) -> None:
    campaign = published(world, enterprise_campaign(world), ["ent1"])
    term = question(campaign, "期望融资期限（月）")
    with as_of(TODAY), pytest.raises(ValidationError) as info:
        surveys.response_submit(
            campaign=campaign, answers=answers_for(campaign, 期望="400"), acting_user=world.user("ent1")
        )
    assert surveys.answer_field(term) in info.value.error_dict, info.value.error_dict
    assert not SurveyResponse.objects.exists() and not Demand.objects.exists()
    assert campaign.targets.get().responded_at is None


def test_bank_answer_becomes_a_draft_product(world: World) -> None:
    campaign = published(world, bank_campaign(world), ["bank1_br"])
    with as_of(TODAY):
        response = surveys.response_submit(
            campaign=campaign, answers=bank_answers(campaign), acting_user=world.user("bank1_br")
        )
    product = response.product
    assert product is not None and response.demand is None
    assert product.bank == world.orgs["bank1_br"] and product.status == ProductStatus.DRAFT
    assert product.name == "智权贷" and product.code == f"SURVEY-{campaign.pk}-{world.orgs['bank1_br'].pk}"
    version = ProductVersion.objects.get(product=product)
    assert version.amount_max == Money("30000000") and version.amount_min == Money("100000")
    assert (version.term_min_months, version.term_max_months) == (12, 36)
    assert version.collateral_kinds == ["invention", "software"]
    assert version.rate_kind == RateKind.LPR_SPREAD and version.rate_spread_bp == 80


def test_bank_library_refusal_names_the_question(world: World) -> None:
    campaign = published(world, bank_campaign(world), ["bank1_br"])
    spread = question(campaign, "LPR加点（基点）")
    with as_of(TODAY), pytest.raises(ValidationError) as info:
        surveys.response_submit(
            campaign=campaign, answers=bank_answers(campaign, LPR=99999), acting_user=world.user("bank1_br")
        )
    assert surveys.answer_field(spread) in info.value.error_dict, info.value.error_dict
    assert not Product.objects.exists() and not SurveyResponse.objects.exists()


def test_no_flow_when_the_campaign_keeps_answers_to_itself(world: World) -> None:
    campaign = published(world, bank_campaign(world, flows=False), ["bank1"])
    with as_of(TODAY):
        response = surveys.response_submit(
            campaign=campaign, answers=bank_answers(campaign, 单户="1.5亿"), acting_user=world.user("bank1")
        )
    assert response.product is None and not Product.objects.exists()
    amount = question(campaign, "单户最高授信额度（元）")
    assert Decimal(response.answers[str(amount.pk)]) == Decimal("150000000")
