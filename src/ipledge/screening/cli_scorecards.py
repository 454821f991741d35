"""`ipledge screening train-scorecard …` and `ipledge screening score …`: scorecards from the command line.

* ``train-scorecard --name NAME [--user USERNAME] [--activate]`` — fit a logistic scorecard on the loan outcomes of
  the user's jurisdiction (`services.scorecards.scorecard_train`; without ``--user`` the system trains on every loan
  and the card has no owner). Prints one JSON line: id, name, training rows, hold-out AUC, Gini, KS. With too few
  outcomes it says so, exits 1 and the expert weights stay in use. ``--activate`` activates the card afterwards
  (refused below the useful AUC).
* ``score --enterprise ID [--scorecard ID] [--as-of YYYY-MM-DD]`` — one enterprise's score on a card (default: the
  platform's expert card), one JSON line with the points and bin of every characteristic.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from .cli import Subcommand


def _user(username: str | None) -> Any:
    from ipledge.core.models import User

    if not username:
        return None
    user = User.objects.select_related("organisation").filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"no active user {username!r}")
    return user


def _train_arguments(parser: CommandParser) -> None:
    parser.add_argument("--name", required=True, help="the new card's name")
    parser.add_argument("--user", default="", help="username of the IP office officer who trains (default: the system)")
    parser.add_argument("--activate", action="store_true", help="activate the card when its hold-out AUC allows")


def _train(command: BaseCommand, options: dict[str, Any]) -> None:
    from .services.scorecards import scorecard_activate, scorecard_train

    user = _user(options["user"])
    try:
        card = scorecard_train(acting_user=user, name=options["name"])
        if options["activate"]:
            card = scorecard_activate(scorecard=card, acting_user=user)
    except PermissionDenied as exc:
        raise CommandError(f"permission denied: {exc}") from exc
    except ValidationError as exc:
        raise CommandError("; ".join(exc.messages)) from exc
    metrics = card.metrics or {}
    line = {
        "scorecard_id": card.pk,
        "name": card.name,
        "is_active": card.is_active,
        "training_rows": card.training_rows,
        "bads": metrics.get("bads"),
        **{k: metrics.get(k) for k in ("auc", "gini", "ks")},
        "dropped": metrics.get("dropped", []),
    }
    command.stdout.write(json.dumps(line, ensure_ascii=False))


def _score_arguments(parser: CommandParser) -> None:
    parser.add_argument("--enterprise", required=True, type=int, help="enterprise id")
    parser.add_argument("--scorecard", type=int, default=None, help="scorecard id (default: the platform expert card)")
    parser.add_argument("--as-of", type=datetime.date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")


def _score(command: BaseCommand, options: dict[str, Any]) -> None:
    from ipledge.registry.models import Enterprise

    from .models import Scorecard
    from .services.scorecards import score_enterprise

    enterprise = Enterprise.objects.filter(pk=options["enterprise"]).first()
    if enterprise is None:
        raise CommandError(f"no enterprise with id {options['enterprise']}")
    card = None
    if options["scorecard"] is not None:
        card = Scorecard.objects.filter(pk=options["scorecard"]).first()
        if card is None:
            raise CommandError(f"no scorecard with id {options['scorecard']}")
    result = score_enterprise(enterprise=enterprise, card=card, as_of=options["as_of"])
    line = {
        "enterprise_id": result["enterprise_id"],
        "enterprise_name": result["enterprise_name"],
        "as_of": result["as_of"].isoformat(),
        "scorecard_id": result["scorecard_id"],
        "scorecard_name": result["scorecard_name"],
        "base_points": result["base_points"],
        "score": result["score"],
        "points": {row["name"]: {"value": row["value"], "points": row["points"]} for row in result["rows"]},
    }
    command.stdout.write(json.dumps(line, ensure_ascii=False))


SUBCOMMANDS: dict[str, Subcommand] = {
    "train-scorecard": Subcommand(
        help="Fit a logistic scorecard on the platform's loan outcomes (refused while there are too few).",
        add_arguments=_train_arguments,
        handle=_train,
    ),
    "score": Subcommand(
        help="One enterprise's score with the points of every characteristic, as one JSON line.",
        add_arguments=_score_arguments,
        handle=_score,
    ),
}
