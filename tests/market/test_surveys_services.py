"""Survey services: campaigns (who organises, dates, period labels), typed questions and their mapping rules, targets
by name and by rule inside the organiser's reach, publishing, once-only typed answers (all-or-nothing, errors naming
the question), reminders at the interval, closing, and repeating into the next period."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent
from ipledge.market.choices import (
    QuestionKind,
    QuestionTarget,
    SurveyAudience,
    SurveyRecurrence,
    SurveyStatus,
)
from ipledge.market.models import SurveyCampaign, SurveyQuestion, SurveyResponse, SurveyTarget
from ipledge.market.services import surveys
from tests.market.factories_surveys import (
    CLOSES,
    OPENS,
    TODAY,
    add_enterprise,
    answers_for,
    bank_campaign,
    enterprise_campaign,
    published,
    region,
)
from tests.world import World

pytestmark = pytest.mark.django_db


def codes(exc: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code or "" for e in errors] for field, errors in exc.error_dict.items()}


def refused(field: str, code: str, call: Any, *args: Any, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        call(*args, **kwargs)
    assert code in codes(info.value).get(field, []), codes(info.value)
    return info.value


def create_kwargs(world: World, **over: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "organiser": world.orgs["ipo_bj"],
        "title": "融资需求调查",
        "audience": SurveyAudience.ENTERPRISE,
        "period_label": "2026Q2",
        "recurrence": SurveyRecurrence.QUARTERLY,
        "opens_on": OPENS,
        "closes_on": CLOSES,
        "acting_user": world.user("ipo_bj"),
    }
    kwargs.update(over)
    return kwargs


# ----------------------------------------------------------------------------------------------------- campaigns


def test_campaign_create_rules(world: World) -> None:
    campaign = surveys.campaign_create(**create_kwargs(world))
    assert campaign.status == SurveyStatus.DRAFT and campaign.created_by == world.user("ipo_bj")
    assert AuditEvent.objects.filter(action="surveycampaign.create", object_id=str(campaign.pk)).exists()

    refused("period_label", "period_format", surveys.campaign_create, **create_kwargs(world, period_label="2026-Q3"))
    refused(
        "period_label",
        "period_format",
        surveys.campaign_create,
        **create_kwargs(world, period_label="2026Q3", recurrence=SurveyRecurrence.HALF_YEARLY),
    )
    refused(
        "closes_on",
        "date_order",
        surveys.campaign_create,
        **create_kwargs(world, title="x", closes_on=OPENS - datetime.timedelta(days=1)),
    )
    refused(
        "reminder_every_days", "reminder_range", surveys.campaign_create, **create_kwargs(world, reminder_every_days=0)
    )
    refused("title", "required", surveys.campaign_create, **create_kwargs(world, title="  "))
    refused("period_label", "duplicate_period", surveys.campaign_create, **create_kwargs(world))
    # A one-off survey takes any label.
    once = surveys.campaign_create(**create_kwargs(world, recurrence=SurveyRecurrence.ONCE, period_label="专项"))
    assert once.period_label == "专项"


def test_who_organises(world: World) -> None:
    # A bank, an enterprise and a viewer may not organise; another office may not organise for Beijing.
    for user in (world.user("bank1"), world.user("ent1"), world.user("ipo_bj", Role.VIEWER), world.user("ipo_js")):
        with pytest.raises(PermissionDenied):
            surveys.campaign_create(**create_kwargs(world, acting_user=user))
    # A park administration surveys its enterprises, never banks.
    refused(
        "audience",
        "audience_reach",
        surveys.campaign_create,
        **create_kwargs(
            world, organiser=world.orgs["park1"], audience=SurveyAudience.BANK, acting_user=world.user("park1")
        ),
    )
    # The provincial office organises for its municipal office below it.
    nj = surveys.campaign_create(
        **create_kwargs(world, organiser=world.orgs["ipo_nj"], acting_user=world.user("ipo_js"))
    )
    assert nj.organiser == world.orgs["ipo_nj"]


def test_campaign_update_draft_and_open(world: World) -> None:
    campaign = enterprise_campaign(world, flows=False)
    user = world.user("ipo_bj")
    surveys.campaign_update(campaign=campaign, data={"title": "新名称", "reminder_every_days": 5}, acting_user=user)
    campaign.refresh_from_db()
    assert campaign.title == "新名称" and campaign.reminder_every_days == 5
    refused(
        "audience",
        "maps_to_audience",
        surveys.campaign_update,
        campaign=campaign,
        data={"audience": "bank"},
        acting_user=user,
    )
    published(world, campaign, ["ent1"])
    with as_of(TODAY):
        surveys.campaign_update(campaign=campaign, data={"closes_on": datetime.date(2026, 5, 15)}, acting_user=user)
        refused(
            "title", "not_draft", surveys.campaign_update, campaign=campaign, data={"title": "再改"}, acting_user=user
        )
        refused(
            "closes_on",
            "past",
            surveys.campaign_update,
            campaign=campaign,
            data={"closes_on": datetime.date(2026, 4, 5)},
            acting_user=user,
        )
    with pytest.raises(PermissionDenied):
        surveys.campaign_update(campaign=campaign, data={"description": "x"}, acting_user=world.user("ipo_js"))


def test_next_period_labels() -> None:
    assert surveys.next_period_label("2026Q4", SurveyRecurrence.QUARTERLY) == "2027Q1"
    assert surveys.next_period_label("2026Q2", SurveyRecurrence.QUARTERLY) == "2026Q3"
    assert surveys.next_period_label("2026H2", SurveyRecurrence.HALF_YEARLY) == "2027H1"
    assert surveys.next_period_label("2026H1", SurveyRecurrence.HALF_YEARLY) == "2026H2"
    assert surveys.next_period_label("2026", SurveyRecurrence.YEARLY) == "2027"
    with pytest.raises(ValueError):
        surveys.next_period_label("2026", SurveyRecurrence.QUARTERLY)
    with pytest.raises(ValueError):
        surveys.next_period_label("2026Q1", SurveyRecurrence.ONCE)
    assert surveys.add_months(datetime.date(2026, 11, 30), 3) == datetime.date(2027, 2, 28)


# ----------------------------------------------------------------------------------------------------- questions


def test_question_kinds_and_options(world: World) -> None:
    campaign = enterprise_campaign(world, questions=False)
    user = world.user("ipo_bj")
    add = surveys.question_add
    refused(
        "choices",
        "min_options",
        add,
        campaign=campaign,
        kind=QuestionKind.CHOICE,
        text="单选",
        choices=["甲"],
        acting_user=user,
    )
    refused(
        "choices",
        "duplicate_options",
        add,
        campaign=campaign,
        kind=QuestionKind.MULTI_CHOICE,
        text="多选",
        choices=["甲", "甲 "],
        acting_user=user,
    )
    refused("text", "required", add, campaign=campaign, kind=QuestionKind.TEXT, text="", acting_user=user)
    refused("kind", "invalid_choice", add, campaign=campaign, kind="slider", text="滑块", acting_user=user)
    q = add(campaign=campaign, kind=QuestionKind.CHOICE, text="单选", choices="甲\n乙\n\n", acting_user=user)
    assert q.choices == ["甲", "乙"] and q.position == 1
    # Options of a non-choice kind are dropped.
    t = add(campaign=campaign, kind=QuestionKind.TEXT, text="文字", choices=["甲", "乙"], acting_user=user)
    assert t.choices == [] and t.position == 2


def test_maps_to_rules(world: World) -> None:
    campaign = enterprise_campaign(world, questions=False)
    user = world.user("ipo_bj")
    add = surveys.question_add
    refused(
        "maps_to",
        "maps_to_kind",
        add,
        campaign=campaign,
        kind=QuestionKind.INTEGER,
        text="金额",
        maps_to=QuestionTarget.DEMAND_AMOUNT,
        acting_user=user,
    )
    refused(
        "maps_to",
        "maps_to_kind",
        add,
        campaign=campaign,
        kind=QuestionKind.MONEY,
        text="期限",
        maps_to=QuestionTarget.DEMAND_TERM,
        acting_user=user,
    )
    refused(
        "choices",
        "maps_to_options",
        add,
        campaign=campaign,
        kind=QuestionKind.CHOICE,
        text="用途",
        choices=["补充流动资金", "买房"],
        maps_to=QuestionTarget.DEMAND_PURPOSE,
        acting_user=user,
    )
    refused(
        "maps_to",
        "maps_to_audience",
        add,
        campaign=campaign,
        kind=QuestionKind.TEXT,
        text="产品名",
        maps_to=QuestionTarget.PRODUCT_NAME,
        acting_user=user,
    )
    refused(
        "maps_to",
        "invalid_choice",
        add,
        campaign=campaign,
        kind=QuestionKind.TEXT,
        text="x",
        maps_to="demand.x",
        acting_user=user,
    )
    ok = add(
        campaign=campaign,
        kind=QuestionKind.CHOICE,
        text="用途",
        choices=["补充流动资金", "research", "equipment"],
        maps_to=QuestionTarget.DEMAND_PURPOSE,
        acting_user=user,
    )
    assert ok.maps_to == QuestionTarget.DEMAND_PURPOSE
    refused(
        "maps_to",
        "maps_to_taken",
        add,
        campaign=campaign,
        kind=QuestionKind.CHOICE,
        text="用途2",
        choices=["补充流动资金", "研发投入"],
        maps_to=QuestionTarget.DEMAND_PURPOSE,
        acting_user=user,
    )
    bank = bank_campaign(world)
    refused(
        "maps_to",
        "maps_to_audience",
        add,
        campaign=bank,
        kind=QuestionKind.MONEY,
        text="需求金额",
        maps_to=QuestionTarget.DEMAND_AMOUNT,
        acting_user=user,
    )
    refused(
        "choices",
        "maps_to_options",
        add,
        campaign=enterprise_campaign(world, title="另一个", audience=SurveyAudience.BANK, questions=False),
        kind=QuestionKind.MULTI_CHOICE,
        text="质押物",
        choices=["发明专利", "房产"],
        maps_to=QuestionTarget.PRODUCT_COLLATERAL,
        acting_user=user,
    )
    # The follow-up audience (financed enterprises) may write demands too.
    follow = enterprise_campaign(world, title="回访", audience=SurveyAudience.FOLLOW_UP, questions=False)
    assert add(
        campaign=follow,
        kind=QuestionKind.MONEY,
        text="续贷金额",
        maps_to=QuestionTarget.DEMAND_AMOUNT,
        acting_user=user,
    ).pk


def test_question_update_move_delete_draft_only(world: World) -> None:
    campaign = enterprise_campaign(world)
    user = world.user("ipo_bj")
    questions = list(campaign.questions.order_by("position"))
    last = questions[-1]
    surveys.question_move(question=last, position=1, acting_user=user)
    order = list(campaign.questions.order_by("position").values_list("pk", flat=True))
    assert order == [last.pk] + [q.pk for q in questions[:-1]]
    refused("position", "position_range", surveys.question_move, question=last, position=99, acting_user=user)
    surveys.question_update(question=questions[0], data={"text": "融资金额（元）", "required": False}, acting_user=user)
    questions[0].refresh_from_db()
    assert questions[0].text == "融资金额（元）" and not questions[0].required
    refused(
        "maps_to",
        "maps_to_kind",
        surveys.question_update,
        question=questions[0],
        data={"kind": QuestionKind.TEXT},
        acting_user=user,
    )
    surveys.question_delete(question=questions[2], acting_user=user)
    assert list(campaign.questions.order_by("position").values_list("position", flat=True)) == list(range(1, 7))
    published(world, campaign, ["ent1"])
    refused(
        "status",
        "not_draft",
        surveys.question_add,
        campaign=campaign,
        kind=QuestionKind.TEXT,
        text="晚了",
        acting_user=user,
    )
    refused("status", "not_draft", surveys.question_delete, question=questions[1], acting_user=user)
    with pytest.raises(PermissionDenied):
        surveys.question_add(campaign=campaign, kind=QuestionKind.TEXT, text="x", acting_user=world.user("park1"))


# ------------------------------------------------------------------------------------------------------- targets


def test_targets_by_rule_and_reach(world: World) -> None:
    add_enterprise(world, "ent3", park="p1", serial=5003)
    campaign = enterprise_campaign(world)
    user = world.user("ipo_bj")
    added = surveys.targets_add(campaign=campaign, park=world.parks["p1"], acting_user=user)
    # E1 and ent3 have logins; E1b (no platform account) is not a target.
    assert {t.organisation_id for t in added} == {world.orgs["ent1"].pk, world.orgs["ent3"].pk}
    assert surveys.targets_add(campaign=campaign, region=region("110000"), acting_user=user) == []
    refused("park", "out_of_reach", surveys.targets_add, campaign=campaign, park=world.parks["p2"], acting_user=user)
    refused("region", "out_of_reach", surveys.targets_add, campaign=campaign, region=region("320000"), acting_user=user)
    refused(
        "organisations",
        "out_of_reach",
        surveys.targets_add,
        campaign=campaign,
        organisations=[world.orgs["ent2"]],
        acting_user=user,
    )
    refused(
        "organisations",
        "audience_kind",
        surveys.targets_add,
        campaign=campaign,
        organisations=[world.orgs["bank1"]],
        acting_user=user,
    )
    refused("organisations", "required", surveys.targets_add, campaign=campaign, acting_user=user)
    # The park administration reaches only its own park's enterprises, and no region.
    park_survey = enterprise_campaign(world, org="park1", title="园区企业调查")
    assert len(surveys.targets_add(campaign=park_survey, park=world.parks["p1"], acting_user=world.user("park1"))) == 2
    refused(
        "region",
        "out_of_reach",
        surveys.targets_add,
        campaign=park_survey,
        region=region("110108"),
        acting_user=world.user("park1"),
    )
    # Banks of a region, for a bank survey.
    bank = bank_campaign(world)
    banks = surveys.targets_add(campaign=bank, region=region("110000"), acting_user=user)
    assert {t.organisation_id for t in banks} == {world.orgs[k].pk for k in ("bank1", "bank1_br", "bank1_sub")}
    refused("park", "audience_kind", surveys.targets_add, campaign=bank, park=world.parks["p1"], acting_user=user)
    # Removing is for drafts only.
    surveys.target_remove(target=banks[0], acting_user=user)
    assert bank.targets.count() == 2


def test_publish_needs_questions_and_targets(world: World) -> None:
    user = world.user("ipo_bj")
    empty = enterprise_campaign(world, questions=False)
    with as_of(TODAY):
        error = refused("questions", "no_questions", surveys.campaign_publish, campaign=empty, acting_user=user)
    assert "no_targets" in codes(error)["targets"]
    campaign = published(world, enterprise_campaign(world, title="B"), ["ent1"])
    assert campaign.status == SurveyStatus.OPEN and campaign.published_at is not None
    assert campaign.targets.get().invited_at is not None
    with as_of(TODAY):
        refused("status", "not_draft", surveys.campaign_publish, campaign=campaign, acting_user=user)
    late = enterprise_campaign(world, title="C")
    with as_of(datetime.date(2026, 5, 5)):
        surveys.targets_add(campaign=late, organisations=[world.orgs["ent1"]], acting_user=user)
        refused("closes_on", "past", surveys.campaign_publish, campaign=late, acting_user=user)


# ------------------------------------------------------------------------------------------------------- answers


def test_answers_typed_once_and_all_or_nothing(world: World) -> None:
    campaign = published(world, enterprise_campaign(world, flows=False), ["ent1"])
    user = world.user("ent1")
    questions = {q.text: q for q in campaign.questions.all()}
    bad = answers_for(campaign, 未来="五百万", 期望="12.5", 资金="买房", 拟用="房产", 是否="也许", 对园区="6")
    with as_of(TODAY), pytest.raises(ValidationError) as info:
        surveys.response_submit(campaign=campaign, answers=bad, acting_user=user)
    errors = codes(info.value)
    assert errors[surveys.answer_field(questions["未来半年融资需求金额（元）"])] == ["money"]
    assert errors[surveys.answer_field(questions["期望融资期限（月）"])] == ["integer"]
    assert errors[surveys.answer_field(questions["资金主要用途"])] == ["choice"]
    assert errors[surveys.answer_field(questions["拟用于质押的知识产权"])] == ["choice"]
    assert errors[surveys.answer_field(questions["是否了解知识产权质押融资"])] == ["yes_no"]
    assert errors[surveys.answer_field(questions["对园区融资服务的满意度"])] == ["rating"]
    # The message names the question.
    message = info.value.error_dict[surveys.answer_field(questions["资金主要用途"])][0]
    assert "第3题" in str(message.message % message.params) and "资金主要用途" in str(message.message % message.params)
    assert not SurveyResponse.objects.exists() and campaign.targets.get().responded_at is None

    missing = answers_for(campaign, 未来="")
    with as_of(TODAY):
        refused(
            surveys.answer_field(questions["未来半年融资需求金额（元）"]),
            "required",
            surveys.response_submit,
            campaign=campaign,
            answers=missing,
            acting_user=user,
        )
        refused(
            "answers",
            "unknown_question",
            surveys.response_submit,
            campaign=campaign,
            answers={**answers_for(campaign), "999999": "x"},
            acting_user=user,
        )
        response = surveys.response_submit(
            campaign=campaign, answers=answers_for(campaign, 未来="500万"), acting_user=user
        )
    stored = response.answers
    assert stored[str(questions["未来半年融资需求金额（元）"].pk)] == "5000000.00"
    assert stored[str(questions["期望融资期限（月）"].pk)] == 12
    assert stored[str(questions["拟用于质押的知识产权"].pk)] == ["发明专利", "商标"]
    assert stored[str(questions["是否了解知识产权质押融资"].pk)] is True
    assert stored[str(questions["对园区融资服务的满意度"].pk)] == 4
    assert str(questions["其他意见"].pk) not in stored  # optional, empty: not stored
    assert campaign.targets.get().responded_at is not None and response.demand is None
    with as_of(TODAY):
        refused(
            "campaign",
            "already_answered",
            surveys.response_submit,
            campaign=campaign,
            answers=answers_for(campaign),
            acting_user=world.user("ent1", Role.ADMIN),
        )


def test_who_may_answer(world: World) -> None:
    add_enterprise(world, "ent3", serial=5003)
    draft = enterprise_campaign(world, flows=False)
    surveys.targets_add(campaign=draft, organisations=[world.orgs["ent1"]], acting_user=world.user("ipo_bj"))
    with as_of(TODAY), pytest.raises(PermissionDenied):  # a draft is not answerable (nor visible)
        surveys.response_submit(campaign=draft, answers=answers_for(draft), acting_user=world.user("ent1"))
    with as_of(TODAY):
        surveys.campaign_publish(campaign=draft, acting_user=world.user("ipo_bj"))
    for user in (world.user("ent3"), world.user("ent1", Role.VIEWER), world.user("ipo_bj")):
        with as_of(TODAY), pytest.raises(PermissionDenied):
            surveys.response_submit(campaign=draft, answers=answers_for(draft), acting_user=user)
    with as_of(OPENS - datetime.timedelta(days=1)):
        refused(
            "campaign",
            "not_yet_open",
            surveys.response_submit,
            campaign=draft,
            answers=answers_for(draft),
            acting_user=world.user("ent1"),
        )
    with as_of(TODAY):
        surveys.campaign_close(campaign=draft, acting_user=world.user("ipo_bj"))
        refused(
            "campaign",
            "closed",
            surveys.response_submit,
            campaign=draft,
            answers=answers_for(draft),
            acting_user=world.user("ent1"),
        )


# ----------------------------------------------------------------------------------------------------- reminders


def test_reminders_respect_the_interval(world: World) -> None:
    add_enterprise(world, "ent3", serial=5003)
    add_enterprise(world, "ent4", serial=5004)
    campaign = enterprise_campaign(world, flows=False)
    surveys.campaign_update(campaign=campaign, data={"reminder_every_days": 7}, acting_user=world.user("ipo_bj"))
    published(world, campaign, ["ent1", "ent3", "ent4"], day=OPENS)  # invited on 04-01
    user = world.user("ipo_bj")
    with as_of(OPENS):
        surveys.response_submit(campaign=campaign, answers=answers_for(campaign), acting_user=world.user("ent1"))
    assert surveys.campaign_remind(campaign=campaign, acting_user=user, today=datetime.date(2026, 4, 7)) == 0
    assert surveys.campaign_remind(campaign=campaign, acting_user=user, today=datetime.date(2026, 4, 8)) == 2
    assert surveys.campaign_remind(campaign=campaign, acting_user=user, today=datetime.date(2026, 4, 10)) == 0
    with as_of(datetime.date(2026, 4, 12)):
        surveys.response_submit(campaign=campaign, answers=answers_for(campaign), acting_user=world.user("ent3"))
    assert surveys.campaign_remind(campaign=campaign, acting_user=user, today=datetime.date(2026, 4, 15)) == 1
    ent4 = SurveyTarget.objects.get(campaign=campaign, organisation=world.orgs["ent4"])
    ent3 = SurveyTarget.objects.get(campaign=campaign, organisation=world.orgs["ent3"])
    assert ent4.reminders_sent == 2 and ent4.last_reminded_at is not None
    assert ent4.last_reminded_at.date() == datetime.date(2026, 4, 15)
    assert ent3.reminders_sent == 1 and ent3.responded_at is not None
    assert AuditEvent.objects.filter(action="surveycampaign.remind", object_id=str(campaign.pk)).count() == 4
    with pytest.raises(PermissionDenied):
        surveys.campaign_remind(campaign=campaign, acting_user=world.user("ent1"))
    # The job reminds every open campaign and closes those past their closing date.
    assert surveys.campaigns_remind(today=datetime.date(2026, 4, 22)) == {"campaigns": 1, "reminded": 1}
    assert surveys.campaigns_close_due(today=CLOSES) == 0
    assert surveys.campaigns_close_due(today=CLOSES + datetime.timedelta(days=1)) == 1
    campaign.refresh_from_db()
    assert campaign.status == SurveyStatus.CLOSED
    refused("status", "not_open", surveys.campaign_remind, campaign=campaign, acting_user=user)


# -------------------------------------------------------------------------------------------------------- repeat


def test_repeat_into_next_period(world: World) -> None:
    user = world.user("ipo_bj")
    campaign = published(world, enterprise_campaign(world, flows=False), ["ent1"])
    with as_of(TODAY):
        nxt = surveys.campaign_repeat(campaign=campaign, acting_user=user)
    assert nxt.period_label == "2026Q3" and nxt.previous == campaign and nxt.status == SurveyStatus.DRAFT
    assert (nxt.opens_on, nxt.closes_on) == (datetime.date(2026, 7, 1), datetime.date(2026, 7, 30))
    assert [(q.position, q.text, q.kind, q.maps_to, q.choices) for q in nxt.questions.all()] == [
        (q.position, q.text, q.kind, q.maps_to, q.choices) for q in campaign.questions.all()
    ]
    assert list(nxt.targets.values_list("organisation_id", "invited_at")) == [(world.orgs["ent1"].pk, None)]
    with as_of(TODAY):
        refused("period_label", "duplicate_period", surveys.campaign_repeat, campaign=campaign, acting_user=user)
        refused("status", "not_published", surveys.campaign_repeat, campaign=nxt, acting_user=user)
    once = enterprise_campaign(world, title="一次性")
    surveys.campaign_update(
        campaign=once, data={"recurrence": SurveyRecurrence.ONCE, "period_label": "专项"}, acting_user=user
    )
    refused("recurrence", "not_recurring", surveys.campaign_repeat, campaign=once, acting_user=user)
    yearly = SurveyCampaign.objects.get(pk=bank_campaign(world).pk)
    published(world, yearly, ["bank1"])
    with as_of(TODAY):
        assert surveys.campaign_repeat(campaign=yearly, acting_user=user).period_label == "2027"


def test_delete_draft_only(world: World) -> None:
    user = world.user("ipo_bj")
    draft = enterprise_campaign(world, flows=False)
    surveys.campaign_delete(campaign=draft, acting_user=user)
    assert not SurveyCampaign.objects.filter(pk=draft.pk).exists() and not SurveyQuestion.objects.exists()
    live = published(world, enterprise_campaign(world, flows=False), ["ent1"])
    refused("status", "not_draft", surveys.campaign_delete, campaign=live, acting_user=user)
