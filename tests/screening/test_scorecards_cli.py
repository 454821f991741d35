"""`ipledge screening train-scorecard` and `ipledge screening score`."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ipledge.core.choices import Role
from ipledge.screening.choices import ScorecardMethod
from ipledge.screening.models import Scorecard
from tests.screening.factories_scorecards import training_population

pytestmark = pytest.mark.django_db


def _run(*args: str) -> dict:
    out = io.StringIO()
    call_command("screening", *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_score_prints_the_breakdown(world):
    e1 = world.enterprises["e1"]
    line = _run("score", "--enterprise", str(e1.pk), "--as-of", "2026-01-05")
    assert line["enterprise_id"] == e1.pk and line["as_of"] == "2026-01-05"
    assert line["points"]["is_high_tech"] == {"value": "是", "points": 5.0}
    assert line["score"] == pytest.approx(line["base_points"] + sum(p["points"] for p in line["points"].values()))
    with pytest.raises(CommandError, match="no enterprise"):
        _run("score", "--enterprise", "999999")
    with pytest.raises(CommandError, match="no scorecard"):
        _run("score", "--enterprise", str(e1.pk), "--scorecard", "999999")


def test_train_refuses_with_too_few_outcomes(world):
    with pytest.raises(CommandError, match="继续使用专家权重"):
        _run("train-scorecard", "--name", "全国")
    with pytest.raises(CommandError, match="permission denied"):
        _run("train-scorecard", "--name", "x", "--user", world.user("bank1").username)
    with pytest.raises(CommandError, match="no active user"):
        _run("train-scorecard", "--name", "x", "--user", "nobody")


def test_train_and_activate(world):
    training_population(world, n=420)
    line = _run(
        "train-scorecard", "--name", "北京卡", "--user", world.user("ipo_bj", Role.ADMIN).username, "--activate"
    )
    card = Scorecard.objects.get(pk=line["scorecard_id"])
    assert card.method == ScorecardMethod.LOGISTIC and card.is_active and line["is_active"] is True
    assert line["training_rows"] == 420 and line["auc"] == card.metrics["auc"]
