"""Survey pages: the office creates a campaign, builds questions with htmx (add with a refused mapping shown under
the field, edit, move, delete), adds targets by park, publishes; the enterprise sees it in 我的调查 with its reminder,
answers through the generated form (errors under the question), and cannot answer twice; the office reads the
results with charts and library entries, exports, closes and repeats. Scoping: another office's campaign 404,
a non-target 404, a draft invisible to its targets."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.market.choices import QuestionKind, QuestionTarget, SurveyStatus
from ipledge.market.models import SurveyCampaign, SurveyQuestion, SurveyResponse
from ipledge.market.services import surveys
from tests.market.factories_surveys import (
    TODAY,
    add_enterprise,
    answers_for,
    enterprise_campaign,
    published,
)
from tests.world import World

pytestmark = pytest.mark.django_db


def client_for(world: World, key: str, role: str = Role.OPERATOR) -> Client:
    client = Client()
    client.force_login(world.user(key, role))
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def test_office_builds_and_publishes(world: World) -> None:
    add_enterprise(world, "ent3", serial=5003)
    office = client_for(world, "ipo_bj")
    assert office.get(reverse("market:survey_list")).status_code == 200
    assert office.get(reverse("market:survey_create")).status_code == 200
    bad = office.post(
        reverse("market:survey_create"),
        {
            "organiser": world.orgs["ipo_bj"].pk,
            "title": "2026年第二季度融资需求调查",
            "audience": "enterprise",
            "recurrence": "quarterly",
            "period_label": "2026-2",
            "opens_on": "2026-04-01",
            "closes_on": "2026-04-30",
            "reminder_every_days": 7,
            "flows_into_library": "on",
        },
    )
    assert bad.status_code == 200 and "2026Q4" in text(bad) and 'data-field="period_label"' in text(bad)
    with as_of(TODAY):
        done = office.post(
            reverse("market:survey_create"),
            {
                "organiser": world.orgs["ipo_bj"].pk,
                "title": "2026年第二季度融资需求调查",
                "audience": "enterprise",
                "recurrence": "quarterly",
                "period_label": "2026Q2",
                "opens_on": "2026-04-01",
                "closes_on": "2026-04-30",
                "reminder_every_days": 7,
                "flows_into_library": "on",
            },
        )
    campaign = SurveyCampaign.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("market:survey_detail", args=[campaign.pk])

    add_url = reverse("market:survey_question_add", args=[campaign.pk])
    htmx = {"HTTP_HX_REQUEST": "true"}
    refused = office.post(
        add_url,
        {
            "new-kind": QuestionKind.INTEGER,
            "new-text": "融资金额",
            "new-maps_to": QuestionTarget.DEMAND_AMOUNT,
            "new-required": "on",
        },
        **htmx,
    )
    assert refused.status_code == 200 and 'id="survey-questions"' in text(refused)
    assert "<html" not in text(refused) and 'data-field="maps_to"' in text(refused)
    for data in (
        {"new-kind": QuestionKind.MONEY, "new-text": "融资金额（元）", "new-maps_to": QuestionTarget.DEMAND_AMOUNT},
        {
            "new-kind": QuestionKind.CHOICE,
            "new-text": "资金用途",
            "new-choices": "补充流动资金\n研发投入",
            "new-maps_to": QuestionTarget.DEMAND_PURPOSE,
        },
        {"new-kind": QuestionKind.RATING, "new-text": "满意度"},
    ):
        page = office.post(add_url, {**data, "new-required": "on"}, **htmx)
        assert page.status_code == 200
    questions = list(campaign.questions.order_by("position"))
    assert [q.text for q in questions] == ["融资金额（元）", "资金用途", "满意度"]
    assert "question-up" in text(page) and "question-add-form" in text(page)

    # Edit (the form comes inline), move, delete.
    edit_url = reverse("market:survey_question_edit", args=[questions[2].pk])
    form = office.get(edit_url, **htmx)
    assert "question-edit-form" in text(form)
    office.post(
        edit_url,
        {f"edit{questions[2].pk}-kind": QuestionKind.RATING, f"edit{questions[2].pk}-text": "服务满意度"},
        **htmx,
    )
    office.post(reverse("market:survey_question_move", args=[questions[2].pk]), {"direction": "up"}, **htmx)
    assert list(campaign.questions.order_by("position").values_list("text", flat=True)) == [
        "融资金额（元）",
        "服务满意度",
        "资金用途",
    ]
    office.post(reverse("market:survey_question_delete", args=[questions[1].pk]))
    assert campaign.questions.count() == 2

    # Targets by park; publish.
    targets = office.get(reverse("market:survey_targets", args=[campaign.pk]))
    assert targets.status_code == 200 and "target-form" in text(targets)
    office.post(reverse("market:survey_targets", args=[campaign.pk]), {"park": world.parks["p1"].pk})
    assert campaign.targets.count() == 2
    draft_targets = office.get(reverse("market:survey_targets", args=[campaign.pk]))
    assert text(draft_targets).count("target-remove") == 2 and 'data-state="not_sent"' in text(draft_targets)
    ent3_target = campaign.targets.get(organisation=world.orgs["ent3"])
    office.post(reverse("market:survey_target_remove", args=[ent3_target.pk]))
    assert campaign.targets.count() == 1
    office.post(reverse("market:survey_targets", args=[campaign.pk]), {"organisations": [world.orgs["ent3"].pk]})
    assert campaign.targets.count() == 2
    with as_of(TODAY):
        office.post(reverse("market:survey_publish", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.status == SurveyStatus.OPEN
    detail = office.get(reverse("market:survey_detail", args=[campaign.pk]))
    assert "question-add-form" not in text(detail) and "survey-remind" in text(detail)
    listing = office.get(reverse("market:survey_list"))
    assert "2026年第二季度融资需求调查" in text(listing)


def test_enterprise_answers_in_my_surveys(world: World) -> None:
    campaign = published(world, enterprise_campaign(world, flows=False), ["ent1"], day=datetime.date(2026, 4, 1))
    surveys.campaign_remind(campaign=campaign, acting_user=world.user("ipo_bj"), today=datetime.date(2026, 4, 9))
    ent = client_for(world, "ent1")
    with as_of(TODAY):
        mine = ent.get(reverse("market:survey_mine"))
    body = text(mine)
    assert mine.status_code == 200 and f'data-campaign="{campaign.pk}"' in body and 'data-state="reminded"' in body
    assert "bi-bell" in body and "2026-04-30" in body and "survey-overdue" not in body
    with as_of(datetime.date(2026, 5, 2)):
        assert "survey-overdue" in text(ent.get(reverse("market:survey_mine")))
    # The enterprise's survey list link leads to 我的调查.
    assert ent.get(reverse("market:survey_list"))["Location"] == reverse("market:survey_mine")

    url = reverse("market:survey_respond", args=[campaign.pk])
    form = ent.get(url)
    assert form.status_code == 200 and 'type="radio"' in text(form) and 'type="checkbox"' in text(form)
    questions = {q.text: q for q in campaign.questions.all()}
    data = {f"q_{k}": v for k, v in answers_for(campaign, 期望="十二", 对园区="").items()}
    data[f"q_{questions['拟用于质押的知识产权'].pk}"] = ["发明专利", "商标"]
    with as_of(TODAY):
        bad = ent.post(url, data)
    page = text(bad)
    assert bad.status_code == 200 and f'data-field="q_{questions["期望融资期限（月）"].pk}"' in page
    assert f'data-field="q_{questions["对园区融资服务的满意度"].pk}"' in page and "此题为必答题" in page
    data[f"q_{questions['期望融资期限（月）'].pk}"] = "12"
    data[f"q_{questions['对园区融资服务的满意度'].pk}"] = "5"
    with as_of(TODAY):
        ok = ent.post(url, data)
    assert ok.status_code == 302 and ok["Location"] == reverse("market:survey_mine")
    response = SurveyResponse.objects.get()
    assert response.answers[str(questions["拟用于质押的知识产权"].pk)] == ["发明专利", "商标"]
    again = ent.get(url)
    assert "already-answered" in text(again) and "survey-answer-form" not in text(again)
    with as_of(TODAY):
        ent.post(url, data)
    assert SurveyResponse.objects.count() == 1
    own = ent.get(reverse("market:survey_response_detail", args=[response.pk]))
    assert own.status_code == 200 and "发明专利；商标" in text(own)
    # A viewer of the enterprise sees the survey but cannot answer.
    assert "survey-answer-form" not in text(client_for(world, "ent1", Role.VIEWER).get(url))


def test_results_export_close_repeat(world: World) -> None:
    add_enterprise(world, "ent3", serial=5003)
    campaign = published(world, enterprise_campaign(world), ["ent1", "ent3"])
    with as_of(TODAY):
        surveys.response_submit(campaign=campaign, answers=answers_for(campaign), acting_user=world.user("ent1"))
    office = client_for(world, "ipo_bj")
    page = office.get(reverse("market:survey_results", args=[campaign.pk]))
    body = text(page)
    assert page.status_code == 200 and "50.0%" in body and 'id="survey-charts"' in body
    charts = page.context["charts"]
    assert {c["type"] for c in charts} == {"bar", "histogram"}
    assert "library-demand" in body and "survey_charts.js" in body and "<script>" not in body
    assert 'class="col-auto stat-mean">5,000,000.00' in body
    rating = next(r for r in page.context["results"].questions if r.question.kind == QuestionKind.RATING)
    assert rating.stats["mean"] == "4.00" and [o["count"] for o in rating.options] == [0, 0, 0, 1, 0]
    export = office.get(reverse("market:survey_export", args=[campaign.pk]))
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")
    with as_of(TODAY):
        office.post(reverse("market:survey_close", args=[campaign.pk]))
        repeat = office.post(reverse("market:survey_repeat", args=[campaign.pk]))
    campaign.refresh_from_db()
    successor = SurveyCampaign.objects.get(previous=campaign)
    assert campaign.status == SurveyStatus.CLOSED and repeat["Location"] == reverse(
        "market:survey_detail", args=[successor.pk]
    )
    assert successor.period_label == "2026Q3" and successor.questions.count() == campaign.questions.count()


def test_scoping(world: World) -> None:
    add_enterprise(world, "ent3", serial=5003)
    campaign = published(world, enterprise_campaign(world, flows=False), ["ent1"])
    draft = enterprise_campaign(world, title="草稿调查", flows=False)
    surveys.targets_add(campaign=draft, organisations=[world.orgs["ent1"]], acting_user=world.user("ipo_bj"))
    question = campaign.questions.first()
    assert isinstance(question, SurveyQuestion)
    other_office = client_for(world, "ipo_js")
    for name in ("survey_detail", "survey_targets", "survey_results", "survey_export", "survey_edit"):
        assert other_office.get(reverse(f"market:{name}", args=[campaign.pk])).status_code == 404, name
    assert other_office.post(reverse("market:survey_publish", args=[draft.pk])).status_code == 404
    assert other_office.post(reverse("market:survey_question_delete", args=[question.pk])).status_code == 404
    # The target cannot manage the campaign, a non-target cannot open it, a draft is invisible to its targets.
    ent = client_for(world, "ent1")
    assert ent.get(reverse("market:survey_detail", args=[campaign.pk])).status_code == 404
    assert ent.get(reverse("market:survey_results", args=[campaign.pk])).status_code == 404
    assert ent.get(reverse("market:survey_respond", args=[draft.pk])).status_code == 404
    assert str(draft.pk) not in [
        c.split('"')[0] for c in text(ent.get(reverse("market:survey_mine"))).split('data-campaign="')[1:]
    ]
    stranger = client_for(world, "ent3")
    assert stranger.get(reverse("market:survey_respond", args=[campaign.pk])).status_code == 404
    with as_of(TODAY):
        assert stranger.post(reverse("market:survey_respond", args=[campaign.pk]), {}).status_code == 404
    # A viewer of the organiser reads the builder, the targets and the results, but its write routes answer as for
    # a campaign it cannot reach (404), like the other apps' pages.
    viewer = client_for(world, "ipo_bj", Role.VIEWER)
    assert viewer.get(reverse("market:survey_detail", args=[draft.pk])).status_code == 200
    assert viewer.get(reverse("market:survey_targets", args=[draft.pk])).status_code == 200
    assert viewer.post(reverse("market:survey_publish", args=[draft.pk])).status_code == 404
    assert viewer.get(reverse("market:survey_edit", args=[draft.pk])).status_code == 404
    assert viewer.post(reverse("market:survey_question_add", args=[draft.pk]), {}).status_code == 404
    assert viewer.get(reverse("market:survey_create")).status_code == 404
