"""Follow-up surveys (跟踪调查): only financed enterprises are targeted, and mapped answers land in the yearly
figures (EnterpriseFinancials) in the response's transaction."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from ipledge.core.context import as_of
from ipledge.core.money import Money
from ipledge.market.choices import QuestionKind, QuestionTarget, SurveyAudience
from ipledge.market.models import SurveyResponse, SurveyTarget
from ipledge.market.services import surveys
from ipledge.monitoring.choices import FinancialsSource
from ipledge.monitoring.models import EnterpriseFinancials
from ipledge.monitoring.services.financials import financials_create
from tests.market.factories_surveys import add_enterprise, enterprise_campaign, region
from tests.monitoring.factories_impact import (
    TODAY,
    financed,
    follow_up_answers,
    follow_up_campaign,
)
from tests.world import World

pytestmark = pytest.mark.django_db


def _refused(exc: pytest.ExceptionInfo[ValidationError], field: str, code: str) -> None:
    errors = exc.value.error_dict
    assert field in errors, errors
    assert code in [e.code for e in errors[field]], errors


def test_follow_up_reaches_only_financed_enterprises(world: World) -> None:
    financed(world, "e1")
    add_enterprise(world, "ent3", park="p1")  # a Beijing member enterprise with a login, never financed
    campaign = follow_up_campaign(world)
    office = world.orgs["ipo_bj"]
    reach = surveys.reach(office, SurveyAudience.FOLLOW_UP)
    assert set(reach.values_list("pk", flat=True)) == {world.orgs["ent1"].pk}
    # The ordinary enterprise audience still reaches both.
    assert {world.orgs["ent1"].pk, world.orgs["ent3"].pk} <= set(
        surveys.reach(office, SurveyAudience.ENTERPRISE).values_list("pk", flat=True)
    )
    user = world.user("ipo_bj")
    with as_of(TODAY), pytest.raises(ValidationError) as exc:
        surveys.targets_add(campaign=campaign, organisations=[world.orgs["ent3"]], acting_user=user)
    _refused(exc, "organisations", "not_financed")
    with as_of(TODAY):
        added = surveys.targets_add(campaign=campaign, region=region("110000"), acting_user=user)
    assert [t.organisation_id for t in added] == [world.orgs["ent1"].pk]
    # A financing period narrows the reach: e1 was financed in January 2025.
    with as_of(TODAY), pytest.raises(ValidationError) as exc:
        surveys.targets_add(
            campaign=campaign,
            organisations=[world.orgs["ent1"]],
            financed_from=datetime.date(2025, 6, 1),
            acting_user=user,
        )
    _refused(exc, "organisations", "not_financed")
    with as_of(TODAY), pytest.raises(ValidationError) as exc:
        surveys.targets_add(
            campaign=campaign,
            organisations=[world.orgs["ent1"]],
            financed_from=datetime.date(2025, 6, 1),
            financed_to=datetime.date(2025, 1, 1),
            acting_user=user,
        )
    _refused(exc, "financed_to", "date_order")


def test_a_loan_without_pledge_or_not_yet_disbursed_does_not_count(world: World) -> None:
    from tests.lending.factories import active_loan, contracted_loan

    active_loan(world, borrower="e1", with_pledge=False)  # not an IP-pledge loan
    contracted_loan(world, borrower="e2", bank="bank2")  # never disbursed
    assert not surveys.financed_enterprises().exists()


def test_financials_questions_only_on_follow_up(world: World) -> None:
    campaign = enterprise_campaign(world, questions=False)
    with as_of(TODAY), pytest.raises(ValidationError) as exc:
        surveys.question_add(
            campaign=campaign,
            kind=QuestionKind.MONEY,
            text="营业收入",
            maps_to=QuestionTarget.FIN_REVENUE,
            acting_user=world.user("ipo_bj"),
        )
    _refused(exc, "maps_to", "maps_to_audience")
    follow = follow_up_campaign(world, period="2027")
    with as_of(TODAY), pytest.raises(ValidationError) as exc:
        surveys.question_add(
            campaign=follow,
            kind=QuestionKind.TEXT,
            text="员工",
            maps_to=QuestionTarget.FIN_EMPLOYEES,
            acting_user=world.user("ipo_bj"),
        )
    _refused(exc, "maps_to", "maps_to_kind")


def _published(world: World) -> object:
    financed(world, "e1")
    campaign = follow_up_campaign(world)
    with as_of(TODAY):
        surveys.targets_add(campaign=campaign, organisations=[world.orgs["ent1"]], acting_user=world.user("ipo_bj"))
        surveys.campaign_publish(campaign=campaign, acting_user=world.user("ipo_bj"))
    return campaign


def test_answers_land_in_the_yearly_figures(world: World) -> None:
    campaign = _published(world)
    assert surveys.financials_year(campaign) == 2025  # type: ignore[arg-type]
    # The enterprise had entered its R&D for 2025 itself and no revenue: the survey overwrites what it answers.
    with as_of(TODAY):
        financials_create(
            enterprise=world.enterprises["e1"],
            year=2025,
            figures={"rd_spending": Money("100"), "patents_held": 10},
            acting_user=world.user("ent1"),
        )
        answers = follow_up_answers(campaign, 上年研发投入="")  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            surveys.response_submit(campaign=campaign, answers=answers, acting_user=world.user("ent1"))  # type: ignore[arg-type]
        answers = follow_up_answers(campaign, 上年研发投入="420万")  # type: ignore[arg-type]
        response = surveys.response_submit(campaign=campaign, answers=answers, acting_user=world.user("ent1"))  # type: ignore[arg-type]
    row = EnterpriseFinancials.objects.get(enterprise=world.enterprises["e1"], year=2025)
    assert row.source == FinancialsSource.SURVEY and row.survey_response_id == response.pk
    assert row.rd_spending == Money("4200000") and row.revenue == Money("41000000")
    assert (row.employees, row.patents_held, row.patents_implemented) == (138, 12, 7)
    assert row.region_code == world.enterprises["e1"].region_code


def test_a_refused_figure_refuses_the_whole_response(world: World) -> None:
    campaign = _published(world)
    with as_of(TODAY), pytest.raises(ValidationError) as exc:
        surveys.response_submit(
            campaign=campaign,  # type: ignore[arg-type]
            answers=follow_up_answers(campaign, 已实施专利数=20),  # type: ignore[arg-type]
            acting_user=world.user("ent1"),
        )
    implemented = campaign.questions.get(maps_to=QuestionTarget.FIN_PATENTS_IMPLEMENTED)  # type: ignore[attr-defined]
    _refused(exc, f"answers.{implemented.pk}", "implemented_gt_held")
    assert not SurveyResponse.objects.exists()
    assert not EnterpriseFinancials.objects.exists()
    assert SurveyTarget.objects.get(organisation=world.orgs["ent1"]).responded_at is None
