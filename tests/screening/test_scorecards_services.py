"""Scorecard services: the platform default, training on loan outcomes (and refusing with too few), activation,
the active card of an organisation, and one enterprise's score."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from ipledge.screening.choices import RecordKind, ScorecardMethod
from ipledge.screening.engine.expert import EXPERT_SCORECARD
from ipledge.screening.engine.scorecard import card_problems
from ipledge.screening.engine.spec import ScorecardSpec
from ipledge.screening.models import Scorecard
from ipledge.screening.selectors_scorecards import active_scorecard
from ipledge.screening.services import scorecards as services
from tests.screening.factories_scorecards import add_loan, add_record, training_population

pytestmark = pytest.mark.django_db


def _events(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def test_default_is_the_expert_card_created_once(world):
    card = services.scorecard_default()
    assert card.method == ScorecardMethod.EXPERT and card.owner is None and card.is_active
    assert ScorecardSpec.from_json(card.definition) == EXPERT_SCORECARD
    assert services.scorecard_default().pk == card.pk
    assert Scorecard.objects.filter(owner__isnull=True, method=ScorecardMethod.EXPERT).count() == 1
    assert _events("screening.scorecard.create_default") == 1


def test_training_is_refused_with_too_few_outcomes_and_the_expert_card_stays(world):
    services.scorecard_default()
    for i in range(5):
        add_loan(world, world.enterprises["e1"], datetime.date(2024, 1, 1 + i), bad_on=datetime.date(2024, 9, 1))
    with pytest.raises(ValidationError) as caught:
        services.scorecard_train(acting_user=world.user("ipo_bj", Role.ADMIN), name="北京 2026")
    [error] = caught.value.error_dict["training_rows"]
    assert error.code == "too_few_outcomes"
    assert error.params == {"min_loans": 300, "min_bads": 30, "loans": 5, "bads": 5}
    assert "继续使用专家权重" in error.messages[0]
    assert not Scorecard.objects.filter(method=ScorecardMethod.LOGISTIC).exists()
    assert _events("screening.scorecard.train") == 0
    assert active_scorecard(organisation=world.orgs["ipo_bj"]).method == ScorecardMethod.EXPERT


@pytest.mark.parametrize(
    ("org", "role"),
    [
        ("park1", Role.ADMIN),
        ("bank1", Role.ADMIN),
        ("ipo_nj", Role.ADMIN),
        ("ipo_bj", Role.REVIEWER),
        ("ipo_bj", Role.VIEWER),
    ],
)
def test_only_national_and_provincial_offices_train(world, org, role):
    with pytest.raises(PermissionDenied):
        services.scorecard_train(acting_user=world.user(org, role), name="x")


def test_name_is_required(world):
    with pytest.raises(ValidationError) as caught:
        services.scorecard_train(acting_user=world.user("ipo_bj"), name="  ")
    assert "name" in caught.value.error_dict


@pytest.fixture
def trained(world):
    training_population(world, n=420)
    return services.scorecard_train(acting_user=world.user("ipo_bj"), name="北京市逻辑回归评分卡")


def test_training_on_the_jurisdictions_outcomes(world, trained):
    card = trained
    assert card.method == ScorecardMethod.LOGISTIC and card.is_active is False
    assert card.owner == world.orgs["ipo_bj"] and card.created_by == world.user("ipo_bj")
    assert card.training_rows == 420
    spec = ScorecardSpec.from_json(card.definition)
    assert card_problems(spec) == []
    assert [c.name for c in spec.characteristics] == [c.name for c in EXPERT_SCORECARD.characteristics]
    metrics = card.metrics
    assert metrics["n"] == 420 and metrics["bads"] >= 30 and metrics["region_prefix"] == "11"
    assert metrics["auc"] > 0.6  # outcomes were drawn from patents and tax ratings: the card must see it
    patents = next(c for c in spec.characteristics if c.name == "invention_patents")
    proper = [b for b in patents.bins if not b.missing]
    assert proper[0].points < proper[-1].points
    event = AuditEvent.objects.get(action="screening.scorecard.train")
    assert event.object_id == str(card.pk)
    # The Jiangsu office sees none of these loans: too few outcomes there.
    with pytest.raises(ValidationError):
        services.scorecard_train(acting_user=world.user("ipo_js"), name="江苏")


def test_the_features_are_taken_as_of_each_loans_start(world):
    """A D rating listed after the loan started is not evidence about that loan."""
    from ipledge.screening.services.scorecards import training_frame, training_outcomes

    e1 = world.enterprises["e1"]
    add_loan(world, e1, datetime.date(2024, 3, 1))
    add_record(world, e1, RecordKind.TAX_RATING, datetime.date(2024, 4, 1), tax_rating="D", rating_year=2023)
    add_record(world, e1, RecordKind.TAX_RATING, datetime.date(2023, 4, 1), tax_rating="A", rating_year=2022)
    add_loan(world, e1, datetime.date(2024, 6, 1), bad_on=datetime.date(2024, 12, 1))
    outcomes = training_outcomes(today=datetime.date(2026, 1, 5)).sort("as_of")
    frame = training_frame(outcomes)
    assert frame.get_column("tax_rating").to_list() == ["A", "D"]
    assert frame.get_column("bad").to_list() == [0, 1]
    assert frame.get_column("prior_loans").to_list() == [0, 1]


def test_activation_is_for_the_owner_office_approvers(world, trained):
    with pytest.raises(PermissionDenied):
        services.scorecard_activate(scorecard=trained, acting_user=world.user("ipo_js", Role.ADMIN))
    with pytest.raises(PermissionDenied):
        services.scorecard_activate(scorecard=trained, acting_user=world.user("ipo_bj"))  # operators train only
    card = services.scorecard_activate(scorecard=trained, acting_user=world.user("ipo_bj", Role.REVIEWER))
    assert card.is_active
    assert AuditEvent.objects.filter(action="screening.scorecard.activate", object_id=str(card.pk)).exists()
    with pytest.raises(ValidationError) as caught:
        services.scorecard_activate(scorecard=card, acting_user=world.user("ipo_bj", Role.ADMIN))
    assert caught.value.error_dict["scorecard"][0].code == "already_active"
    assert active_scorecard(organisation=world.orgs["ipo_bj"]).pk == card.pk
    assert active_scorecard(organisation=world.orgs["ipo_js"]).method == ScorecardMethod.EXPERT
    services.scorecard_deactivate(scorecard=card, acting_user=world.user("ipo_bj", Role.ADMIN))
    card.refresh_from_db()
    assert card.is_active is False
    assert active_scorecard(organisation=world.orgs["ipo_bj"]).method == ScorecardMethod.EXPERT


def test_a_card_no_better_than_chance_is_not_activated(world, trained):
    Scorecard.objects.filter(pk=trained.pk).update(metrics={**trained.metrics, "auc": 0.55})
    trained.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        services.scorecard_activate(scorecard=trained, acting_user=world.user("ipo_bj", Role.ADMIN))
    assert caught.value.error_dict["scorecard"][0].code == "auc_too_low"


def test_a_broken_definition_is_not_activated(world):
    bad = Scorecard.objects.create(
        name="坏卡", method=ScorecardMethod.EXPERT, definition={**EXPERT_SCORECARD.to_json(), "characteristics": []}
    )
    bad.definition["characteristics"] = [{"name": "x", "label": "X", "kind": "numeric", "bins": []}]
    bad.is_active = False
    bad.owner = world.orgs["ipo_bj"]
    bad.save()
    with pytest.raises(ValidationError) as caught:
        services.scorecard_activate(scorecard=bad, acting_user=world.user("ipo_bj", Role.ADMIN))
    assert caught.value.error_dict["scorecard"][0].code == "invalid_card"


def test_the_platform_default_cannot_stop(world):
    card = services.scorecard_default()
    with pytest.raises(PermissionDenied):
        services.scorecard_deactivate(scorecard=card, acting_user=world.user("ipo_bj", Role.ADMIN))
    with pytest.raises(ValidationError) as caught:
        services.scorecard_deactivate(scorecard=card, acting_user=None)
    assert caught.value.error_dict["scorecard"][0].code == "default_card"


def test_an_ancestors_card_serves_its_branches(world):
    parent_card = Scorecard.objects.create(
        name="江苏卡", method=ScorecardMethod.EXPERT, definition=EXPERT_SCORECARD.to_json(), owner=world.orgs["ipo_js"]
    )
    assert active_scorecard(organisation=world.orgs["ipo_nj"]).pk == parent_card.pk
    own = Scorecard.objects.create(
        name="南京卡", method=ScorecardMethod.EXPERT, definition=EXPERT_SCORECARD.to_json(), owner=world.orgs["ipo_nj"]
    )
    assert active_scorecard(organisation=world.orgs["ipo_nj"]).pk == own.pk
    assert active_scorecard(organisation=world.orgs["ipo_js"]).pk == parent_card.pk
    assert active_scorecard(organisation=world.orgs["bank1"]).method == ScorecardMethod.EXPERT
    assert active_scorecard(organisation=None).owner is None


def test_score_enterprise_decomposes(world):
    e1 = world.enterprises["e1"]
    add_record(world, e1, RecordKind.TAX_RATING, datetime.date(2025, 4, 1), tax_rating="A", rating_year=2024)
    add_record(world, e1, RecordKind.PENALTY, datetime.date(2025, 5, 1))
    result = services.score_enterprise(enterprise=e1, as_of=datetime.date(2026, 1, 5))
    assert result["scorecard_id"] == services.scorecard_default().pk
    rows = {row["name"]: row for row in result["rows"]}
    assert rows["tax_rating"]["value"] == "A" and rows["tax_rating"]["points"] == 6.0
    assert rows["penalties_3y"]["value"] == "1" and rows["penalties_3y"]["points"] == 0.0
    assert rows["is_high_tech"]["value"] == "是" and rows["is_high_tech"]["points"] == 5.0
    assert rows["asset_turnover"]["value"] == "<0.8" or rows["asset_turnover"]["value"] == "0.3–0.8"
    assert rows["tax_rating"]["rationale"]
    assert result["score"] == pytest.approx(result["base_points"] + sum(r["points"] for r in result["rows"]))
    assert result["features"]["invention_patents"] == 1
