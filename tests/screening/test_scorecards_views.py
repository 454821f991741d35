"""Scorecard pages: the list and model card for everyone, training and activation for the IP offices, one
enterprise's score for whoever may see the enterprise."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.screening.choices import RecordKind, ScorecardMethod
from ipledge.screening.models import Scorecard
from ipledge.screening.services import scorecards as services
from tests.screening.factories_scorecards import add_record, training_population

pytestmark = pytest.mark.django_db


def client_for(world, org: str, role: str = Role.OPERATOR) -> Client:
    client = Client()
    client.force_login(world.user(org, role))
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.mark.parametrize("org", ["ipo_bj", "bank1", "park1", "ent1", "reg_bj"])
def test_everyone_reads_the_cards(world, org):
    client = client_for(world, org, Role.VIEWER)
    response = client.get(reverse("screening:scorecard_list"))
    assert response.status_code == 200
    card = Scorecard.objects.get(owner__isnull=True)
    assert card.name in response.content.decode()
    detail = client.get(reverse("screening:scorecard_detail", args=[card.pk]))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "知识产权评估等级" in html and "未提供" in html and "按质押率政策" in html  # bins, points and reasons
    assert 'id="activate"' not in html and 'id="deactivate"' not in html


def test_train_form_only_for_offices_that_may_train(world):
    assert 'id="train-form"' in client_for(world, "ipo_bj").get(reverse("screening:scorecard_list")).content.decode()
    for org, role in (("ipo_bj", Role.REVIEWER), ("ipo_nj", Role.ADMIN), ("bank1", Role.ADMIN)):
        html = client_for(world, org, role).get(reverse("screening:scorecard_list")).content.decode()
        assert 'id="train-form"' not in html
        assert client_for(world, org, role).post(reverse("screening:scorecard_train"), {"name": "x"}).status_code == 403


def test_training_with_too_few_outcomes_says_the_expert_weights_stay(world):
    client = client_for(world, "ipo_bj", Role.ADMIN)
    response = client.post(reverse("screening:scorecard_train"), {"name": "北京"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("screening:scorecard_list")
    assert any("继续使用专家权重" in m for m in _messages(response))
    assert not Scorecard.objects.filter(method=ScorecardMethod.LOGISTIC).exists()
    empty = client.post(reverse("screening:scorecard_train"), {"name": ""}, follow=True)
    assert _messages(empty)


def test_train_then_activate_through_the_pages(world):
    training_population(world, n=420)
    operator = client_for(world, "ipo_bj")
    response = operator.post(reverse("screening:scorecard_train"), {"name": "北京市逻辑回归评分卡"}, follow=True)
    card = Scorecard.objects.get(method=ScorecardMethod.LOGISTIC)
    assert response.redirect_chain[-1][0] == reverse("screening:scorecard_detail", args=[card.pk])
    html = response.content.decode()
    assert 'id="metric-auc"' in html and 'id="activate"' not in html  # operators train, approvers activate
    reviewer = client_for(world, "ipo_bj", Role.REVIEWER)
    page = reviewer.get(reverse("screening:scorecard_detail", args=[card.pk])).content.decode()
    assert 'id="activate"' in page
    assert (
        client_for(world, "ipo_js", Role.ADMIN)
        .post(reverse("screening:scorecard_activate", args=[card.pk]))
        .status_code
        == 403
    )
    assert reviewer.get(reverse("screening:scorecard_activate", args=[card.pk])).status_code == 405
    reviewer.post(reverse("screening:scorecard_activate", args=[card.pk]))
    card.refresh_from_db()
    assert card.is_active
    reviewer.post(reverse("screening:scorecard_deactivate", args=[card.pk]))
    card.refresh_from_db()
    assert not card.is_active


def test_platform_default_cannot_be_stopped_from_the_page(world):
    card = services.scorecard_default()
    admin = client_for(world, "ipo_bj", Role.ADMIN)
    assert admin.post(reverse("screening:scorecard_deactivate", args=[card.pk])).status_code == 403


def test_missing_card_is_404(world):
    assert client_for(world, "ipo_bj").get(reverse("screening:scorecard_detail", args=[999_999])).status_code == 404


def test_enterprise_score_for_whoever_sees_the_enterprise(world):
    e1, e2 = world.enterprises["e1"], world.enterprises["e2"]
    add_record(world, e1, RecordKind.TAX_RATING, datetime.date(2025, 4, 1), tax_rating="A", rating_year=2024)
    url = reverse("screening:enterprise_score", args=[e1.pk])
    for org in ("ent1", "park1", "ipo_bj"):
        with as_of(datetime.date(2026, 1, 5)):
            response = client_for(world, org, Role.VIEWER).get(url)
        assert response.status_code == 200, org
        result = response.context["result"]
        assert result["score"] == pytest.approx(result["base_points"] + sum(r["points"] for r in result["rows"]))
        html = response.content.decode()
        assert 'id="enterprise-score"' in html and "纳税信用等级" in html
    assert client_for(world, "ent1").get(reverse("screening:enterprise_score", args=[e2.pk])).status_code == 404
    assert client_for(world, "ipo_js").get(url).status_code == 404


def test_enterprise_score_on_a_chosen_card_and_day(world):
    e1 = world.enterprises["e1"]
    other = Scorecard.objects.create(
        name="另一张卡",
        method=ScorecardMethod.EXPERT,
        definition={
            "method": "expert",
            "base_points": 10.0,
            "characteristics": [
                {
                    "name": "is_high_tech",
                    "label": "高新",
                    "kind": "flag",
                    "bins": [
                        {"label": "是", "points": 7.0, "categories": ["true"]},
                        {"label": "否", "points": 0.0, "categories": ["false"]},
                        {"label": "未提供", "points": 0.0, "missing": True},
                    ],
                }
            ],
        },
    )
    url = reverse("screening:enterprise_score", args=[e1.pk])
    response = client_for(world, "ent1").get(url, {"scorecard": other.pk, "as_of": "2025-06-30"})
    result = response.context["result"]
    assert result["scorecard_id"] == other.pk and result["score"] == 17.0
    assert result["as_of"] == datetime.date(2025, 6, 30)
    bad = client_for(world, "ent1").get(url, {"as_of": "2025-13-40"})
    assert bad.status_code == 200 and bad.context["form"].errors
