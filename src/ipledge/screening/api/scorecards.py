"""Scorecard API (评分卡): the cards with their bins, points and metrics; training a card on the platform's loan
outcomes and activating it (IP offices); one enterprise's score broken down per characteristic.

Conventions as in the other screening APIs: reads start from `restrict(user, "view")`; scorecards are published to
every signed-in organisation (how scores are made is public within the deployment), an enterprise is scored only for
whoever may see it in the registry (else 404 like a missing one); the services decide who may write
(`PermissionDenied` → 403, `ValidationError` → 400 naming the field and the rule: `training_rows` /
`too_few_outcomes` when the platform has too few loan outcomes to fit a card — the expert weights stay in use —,
`scorecard` / `auc_too_low`, `already_active`, `default_card`).
"""

import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from ipledge.core.apikit import MAX_ID, Paginated, caller, error_responses, forbidden, require, resolve
from ipledge.core.schemas import InputSchema
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.registry.models import Enterprise
from ipledge.registry.schemas import OrgRef

from .. import explain
from ..choices import ScorecardMethod
from ..models import Scorecard
from ..selectors_scorecards import scorecard_list as list_cards
from ..selectors_scorecards import scorecard_spec
from ..services import scorecards as services

router = Router(tags=["screening"])

CardId = Path(..., ge=1, le=MAX_ID)
EnterpriseId = Path(..., ge=1, le=MAX_ID)
READ_ERRORS = error_responses(403, 404)
WRITE_ERRORS = error_responses(400, 403, 404, 409)


# ----------------------------------------------------------------------------------------------------- schemas


class ScreeningBinOut(Schema):
    label: str
    points: float
    lower: float | None = Field(None, description="Numeric bins: lower <= x (None: open).")
    upper: float | None = Field(None, description="Numeric bins: x < upper (None: open).")
    categories: list[str] = Field(
        default_factory=list,
        description="Categorical bins: the values it takes (empty on the catch-all bin); flags: 'true' / 'false'.",
    )
    missing: bool = Field(False, description="The bin of missing values.")


class ScreeningCharacteristicOut(Schema):
    name: str
    label: str
    kind: str = Field(..., description="numeric | categorical | flag")
    rationale: str = Field("", description="The expert card's documented reason for the weights (zh-hans).")
    bins: list[ScreeningBinOut]


class ScreeningScorecardOut(Schema):
    id: int
    name: str
    method: ScorecardMethod
    is_active: bool
    owner: OrgRef | None = Field(None, description="The IP office that trained it; null for the platform's cards.")
    training_rows: int
    auc: float | None = Field(None, description="Hold-out ROC AUC of a trained card.")
    created_at: datetime.datetime


class ScreeningScorecardDetailOut(ScreeningScorecardOut):
    base_points: float
    method_text: str
    characteristics: list[ScreeningCharacteristicOut]
    metrics: dict[str, Any] = Field(
        default_factory=dict,
        description="Trained cards: auc, gini, ks (hold-out), n, bads, bad_rate, n_test, bads_test, scale "
        "(pdo, base_score, base_odds, factor, offset), intercept, coefficients, iv, dropped.",
    )
    notes: str


class ScreeningScorecardFilter(Schema):
    active: bool | None = Field(None, description="Only active (true) or inactive (false) cards.")
    method: ScorecardMethod | None = None


class ScreeningTrainIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=128)


class ScreeningPointsOut(Schema):
    name: str
    label: str
    value: str = Field(..., description="The bin the enterprise fell in.")
    points: float
    rationale: str


class ScreeningEnterpriseScoreOut(Schema):
    enterprise_id: int
    enterprise_name: str
    as_of: datetime.date
    scorecard_id: int
    scorecard_name: str
    method: ScorecardMethod
    base_points: float
    score: float = Field(..., description="base_points + Σ points, rounded to 2 decimals.")
    points: list[ScreeningPointsOut]
    features: dict[str, Any] = Field(..., description="The values it was scored on (nulls: not known).")


class ScreeningScoreQuery(Schema):
    scorecard_id: int | None = Field(None, ge=1, le=MAX_ID, description="Default: your organisation's active card.")
    as_of: datetime.date | None = Field(None, description="Default: today.")


# ----------------------------------------------------------------------------------------------------- helpers


def _auc(card: Scorecard) -> float | None:
    auc = card.metrics.get("auc") if isinstance(card.metrics, dict) else None
    return float(auc) if auc is not None else None


def _owner(card: Scorecard) -> dict[str, Any] | None:
    return {"id": card.owner.pk, "name": card.owner.name} if card.owner is not None else None


def _summary(card: Scorecard) -> dict[str, Any]:
    return {
        "id": card.pk,
        "name": card.name,
        "method": card.method,
        "is_active": card.is_active,
        "owner": _owner(card),
        "training_rows": card.training_rows,
        "auc": _auc(card),
        "created_at": card.created_at,
    }


def _detail(card: Scorecard) -> dict[str, Any]:
    spec = scorecard_spec(card)
    described = {c["name"]: c for c in explain.describe_card(spec)}
    return {
        **_summary(card),
        "base_points": spec.base_points,
        "method_text": explain.method_text(card.method),
        "characteristics": [
            {
                "name": c.name,
                "label": described[c.name]["label"],
                "kind": c.kind,
                "rationale": described[c.name]["rationale"],
                "bins": [
                    {
                        "label": b.label,
                        "points": b.points,
                        "lower": b.lower,
                        "upper": b.upper,
                        "categories": list(b.categories),
                        "missing": b.missing,
                    }
                    for b in c.bins
                ],
            }
            for c in spec.characteristics
        ],
        "metrics": card.metrics if isinstance(card.metrics, dict) else {},
        "notes": spec.notes,
    }


def _card(request: HttpRequest, card_id: int) -> Scorecard:
    user = caller(request)
    require(user, Scorecard, Action.VIEW)
    return scoped_get(Scorecard, user=user, pk=card_id)


# ----------------------------------------------------------------------------------------------------- endpoints


@router.get(
    "/screening/scorecards",
    response={200: list[ScreeningScorecardOut], **READ_ERRORS},
    summary="Scorecards (评分卡): the platform's expert card and the cards trained by the IP offices, active first",
)
@paginate(Paginated)
def scorecard_list(request: HttpRequest, filters: Query[ScreeningScorecardFilter]) -> list[dict[str, Any]]:
    user = caller(request)
    require(user, Scorecard, Action.VIEW)
    services.scorecard_default()
    qs: QuerySet[Scorecard] = list_cards(user=user, active=filters.active, method=filters.method or "")
    return [_summary(card) for card in qs]


# Declared before "/screening/scorecards/{card_id}": ninja matches paths in order and "train" would be taken as an id.
@router.post(
    "/screening/scorecards/train",
    response={201: ScreeningScorecardDetailOut, **WRITE_ERRORS},
    summary="Fit a logistic scorecard on the loan outcomes of your jurisdiction (national or provincial IP offices); "
    "stored inactive. Too few outcomes: 400 on `training_rows` and the expert weights stay in use",
)
def scorecard_train(request: HttpRequest, payload: ScreeningTrainIn) -> Status[dict[str, Any]]:
    user = caller(request)
    require(user, Scorecard, Action.ADD)
    if not services.may_train(user):
        raise forbidden(
            "只有国家或省级知识产权局的管理员或经办人员可以训练评分卡。",
            "Only national or provincial IP offices' admins and operators may train scorecards.",
        )
    card = services.scorecard_train(acting_user=user, name=payload.name)
    return Status(201, _detail(card))


@router.get(
    "/screening/scorecards/{card_id}",
    response={200: ScreeningScorecardDetailOut, **READ_ERRORS},
    summary="One scorecard's model card: method, base points, each characteristic's bins and points with the "
    "documented reasons, and the hold-out metrics of a trained card",
)
def scorecard_detail(request: HttpRequest, card_id: int = CardId) -> dict[str, Any]:
    return _detail(_card(request, card_id))


def _manage(request: HttpRequest, card_id: int) -> Scorecard:
    card = _card(request, card_id)
    if not services.may_manage(caller(request), card):
        raise forbidden(
            "只有评分卡所属知识产权局的管理员或审核人员可以启用或停用评分卡。",
            "Only the owning IP office's admins and reviewers may activate or stop this scorecard.",
        )
    return card


@router.post(
    "/screening/scorecards/{card_id}/activate",
    response={200: ScreeningScorecardDetailOut, **WRITE_ERRORS},
    summary="Offer a card for use by new criteria (the owner office's approvers); a trained card needs a useful "
    "hold-out AUC",
)
def scorecard_activate(request: HttpRequest, card_id: int = CardId) -> dict[str, Any]:
    card = _manage(request, card_id)
    return _detail(services.scorecard_activate(scorecard=card, acting_user=caller(request)))


@router.post(
    "/screening/scorecards/{card_id}/deactivate",
    response={200: ScreeningScorecardDetailOut, **WRITE_ERRORS},
    summary="Stop offering a card to new criteria (published criteria keep theirs); the platform default cannot stop",
)
def scorecard_deactivate(request: HttpRequest, card_id: int = CardId) -> dict[str, Any]:
    card = _manage(request, card_id)
    return _detail(services.scorecard_deactivate(scorecard=card, acting_user=caller(request)))


@router.get(
    "/screening/enterprises/{enterprise_id}/score",
    response={200: ScreeningEnterpriseScoreOut, **error_responses(400, 403, 404)},
    summary="One enterprise's score broken down per characteristic (bin and points), on a card of your choice or "
    "your organisation's active card",
)
def enterprise_score(
    request: HttpRequest, query: Query[ScreeningScoreQuery], enterprise_id: int = EnterpriseId
) -> dict[str, Any]:
    user = caller(request)
    require(user, Enterprise, Action.VIEW)
    enterprise = scoped_get(Enterprise, user=user, pk=enterprise_id)
    card = None
    if query.scorecard_id is not None:
        card = resolve(
            Scorecard, user=user, action=Action.VIEW, field="scorecard_id", label_en="scorecard", pk=query.scorecard_id
        )
    result = services.score_for_viewer(enterprise=enterprise, user=user, card=card, as_of=query.as_of)
    return {
        **{k: result[k] for k in ("enterprise_id", "enterprise_name", "as_of", "scorecard_id", "scorecard_name")},
        "method": result["method"],
        "base_points": result["base_points"],
        "score": result["score"],
        "points": [{k: row[k] for k in ("name", "label", "value", "points", "rationale")} for row in result["rows"]],
        "features": result["features"],
    }
