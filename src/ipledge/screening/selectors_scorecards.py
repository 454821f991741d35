"""Scorecard reads (评分卡). How scores are made is published to every signed-in user (`Scorecard.scope_q`), like
the valuation model card; reads still start from `restrict`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from ipledge.core.models import Organisation
from ipledge.core.scoping import Action

from .engine.spec import ScorecardSpec
from .models import Scorecard


def scorecard_list(*, user: Any, active: bool | None = None, method: str = "") -> QuerySet[Scorecard]:
    qs = Scorecard.objects.restrict(user, Action.VIEW).select_related("owner", "created_by")
    if active is not None:
        qs = qs.filter(is_active=active)
    if method:
        qs = qs.filter(method=method)
    return qs.order_by("-is_active", "-created_at", "-pk")


def scorecard_spec(scorecard: Scorecard) -> ScorecardSpec:
    return ScorecardSpec.from_json(scorecard.definition)


def active_scorecard(*, organisation: Organisation | None) -> Scorecard:
    """The card an organisation uses when none is named: its own or its nearest ancestor's most recent active card,
    else the platform default expert card."""
    if organisation is not None and organisation.tree_path:
        candidates = [
            card
            for card in Scorecard.objects.filter(is_active=True, owner__isnull=False).select_related("owner")
            if card.owner is not None and organisation.tree_path.startswith(card.owner.tree_path)
        ]
        if candidates:
            # The nearest owner first (the longest tree path), then the most recent card.
            return max(candidates, key=lambda c: (len(c.owner.tree_path) if c.owner else 0, c.created_at, c.pk))
    from .services.scorecards import scorecard_default

    return scorecard_default()
