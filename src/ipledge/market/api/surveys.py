"""Survey API (常态化调查): campaigns, typed questions, targets by name or rule, publish / remind / close / repeat,
the respondent's pending surveys and answers, results summary and the xlsx export.

Conventions as in the other APIs: reads start from `restrict(user, "view")`; the management endpoints answer 404 for
a campaign the caller does not organise (also for its targets), a draft is invisible to its targets, and a survey
the caller's organisation is not a target of answers 404 too. References in a body are resolved within reach (else
400 `not_found` naming the field). The services decide who may act (403) and every rule (400 naming the field and
the rule); answer errors name the question as `answers.<question id>`.
"""

from typing import Any
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Path, Query, Router, Status
from ninja.pagination import paginate

from ipledge.core.apikit import (
    MAX_ID,
    ApiError,
    Paginated,
    caller,
    error_responses,
    organisation_or_400,
    region_or_400,
    renamed_fields,
    require,
    resolve,
)
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.registry.models import Park

from .. import selectors_surveys as selectors
from ..export_surveys import XLSX, export_filename, response_workbook
from ..models import SurveyCampaign, SurveyQuestion, SurveyResponse, SurveyTarget
from ..schemas_surveys import (
    MarketSurveyAnswersIn,
    MarketSurveyDetailOut,
    MarketSurveyFilter,
    MarketSurveyIn,
    MarketSurveyMineOut,
    MarketSurveyMoveIn,
    MarketSurveyOut,
    MarketSurveyPatch,
    MarketSurveyQuestionIn,
    MarketSurveyQuestionOut,
    MarketSurveyQuestionPatch,
    MarketSurveyRemindOut,
    MarketSurveyResponseOut,
    MarketSurveyResultsOut,
    MarketSurveyTargetFilter,
    MarketSurveyTargetOut,
    MarketSurveyTargetsAdded,
    MarketSurveyTargetsIn,
)
from ..services import surveys as services

router = Router(tags=["market"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)
READ_ERRORS = error_responses(403, 404)
SurveyId = Path(..., ge=1, le=MAX_ID)
QuestionId = Path(..., ge=1, le=MAX_ID)
TargetId = Path(..., ge=1, le=MAX_ID)

_CAMPAIGN_FIELDS = {"organiser": "organiser_id"}
_TARGET_FIELDS = {"organisations": "organisation_ids", "park": "park_id", "region": "region_code"}


def _organised(user: Any, survey_id: int) -> SurveyCampaign:
    return selectors.organiser_campaign(user=user, pk=survey_id)


def _detail(user: Any, survey_id: int) -> SurveyCampaign:
    return selectors.organiser_campaigns(user=user).get(pk=survey_id)


def _question(user: Any, survey_id: int, question_id: int) -> SurveyQuestion:
    campaign = _organised(user, survey_id)
    question = scoped_get(SurveyQuestion, user=user, pk=question_id)
    if question.campaign_id != campaign.pk:
        raise Http404(SurveyQuestion._meta.verbose_name)  # a question of another campaign
    return question


# ---------------------------------------------------------------------------
# Campaigns
# ---------------------------------------------------------------------------


@router.get(
    "/market/surveys",
    response={200: list[MarketSurveyOut], **error_responses(403)},
    summary="Survey campaigns your organisation (or one below it) organises, with target and answer counts",
)
@paginate(Paginated)
def survey_list(request: HttpRequest, filters: Query[MarketSurveyFilter]) -> QuerySet[SurveyCampaign]:
    user = caller(request)
    require(user, SurveyCampaign, Action.VIEW)
    return selectors.organiser_campaigns(user=user, filters=filters.dict(exclude_none=True))


@router.post(
    "/market/surveys",
    response={201: MarketSurveyDetailOut, **WRITE_ERRORS},
    summary="Create a draft campaign (IP offices and park administrations; a park surveys its own enterprises)",
)
def survey_create(request: HttpRequest, payload: MarketSurveyIn) -> Status[SurveyCampaign]:
    user = caller(request)
    require(user, SurveyCampaign, Action.ADD)
    organiser = organisation_or_400(payload.organiser_id, "organiser_id", "发起机构", "Organiser")
    if organiser is None:
        organiser = getattr(user, "organisation", None)
    if organiser is None:
        raise ApiError(400, "required", "请指定发起机构。", "Name the organiser (organiser_id).", field="organiser_id")
    try:
        campaign = services.campaign_create(
            organiser=organiser,
            title=payload.title,
            description=payload.description,
            audience=str(payload.audience),
            period_label=payload.period_label,
            recurrence=str(payload.recurrence),
            opens_on=payload.opens_on,
            closes_on=payload.closes_on,
            reminder_every_days=payload.reminder_every_days,
            flows_into_library=payload.flows_into_library,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, _CAMPAIGN_FIELDS) from exc
    return Status(201, _detail(user, campaign.pk))


@router.get(
    "/market/surveys/mine",
    response={200: list[MarketSurveyMineOut], **error_responses(403)},
    summary="我的调查: the published surveys your organisation is a target of — pending first (with reminders, due "
    "date, overdue flag), then answered or closed ones",
)
def survey_mine(request: HttpRequest) -> list[dict[str, Any]]:
    user = caller(request)
    require(user, SurveyTarget, Action.VIEW)
    mine = selectors.my_surveys(user=user)
    return [
        {
            "campaign": s.campaign,
            "state": s.state,
            "pending": pending,
            "overdue": s.overdue,
            "days_left": s.days_left,
            "reminders_sent": s.target.reminders_sent,
            "last_reminded_at": s.target.last_reminded_at,
            "responded_at": s.target.responded_at,
            "response_id": s.response_id,
        }
        for pending, items in ((True, mine["pending"]), (False, mine["done"]))
        for s in items
    ]


@router.get(
    "/market/surveys/{survey_id}",
    response={200: MarketSurveyDetailOut, **READ_ERRORS},
    summary="One campaign with its questions (organisers; and targets once it is published, to answer it)",
)
def survey_detail(request: HttpRequest, survey_id: int = SurveyId) -> SurveyCampaign:
    user = caller(request)
    require(user, SurveyCampaign, Action.VIEW)
    campaign = scoped_get(SurveyCampaign, user=user, pk=survey_id)
    if selectors.is_organiser(user, campaign):
        return _detail(user, campaign.pk)
    return campaign


@router.patch(
    "/market/surveys/{survey_id}",
    response={200: MarketSurveyDetailOut, **WRITE_ERRORS},
    summary="Change a campaign's settings (all while a draft; description, closing date and reminder interval "
    "while open)",
)
def survey_update(request: HttpRequest, payload: MarketSurveyPatch, survey_id: int = SurveyId) -> SurveyCampaign:
    user = caller(request)
    campaign = _organised(user, survey_id)
    data = {k: (str(v) if k in ("audience", "recurrence") else v) for k, v in payload.dict(exclude_unset=True).items()}
    services.campaign_update(campaign=campaign, data=data, acting_user=user)
    return _detail(user, campaign.pk)


@router.delete(
    "/market/surveys/{survey_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a draft campaign (a published one is closed, never deleted)",
)
def survey_delete(request: HttpRequest, survey_id: int = SurveyId) -> Status[None]:
    user = caller(request)
    services.campaign_delete(campaign=_organised(user, survey_id), acting_user=user)
    return Status(204, None)


# ---------------------------------------------------------------------------
# Questions
# ---------------------------------------------------------------------------


@router.post(
    "/market/surveys/{survey_id}/questions",
    response={201: MarketSurveyQuestionOut, **WRITE_ERRORS},
    summary="Append a typed question to a draft (choice kinds need ≥2 distinct options; `maps_to` must suit the "
    "audience and the kind)",
)
def question_add(
    request: HttpRequest, payload: MarketSurveyQuestionIn, survey_id: int = SurveyId
) -> Status[SurveyQuestion]:
    user = caller(request)
    campaign = _organised(user, survey_id)
    question = services.question_add(
        campaign=campaign,
        kind=str(payload.kind),
        text=payload.text,
        help_text=payload.help_text,
        required=payload.required,
        choices=payload.choices,
        maps_to=payload.maps_to,
        acting_user=user,
    )
    return Status(201, question)


@router.patch(
    "/market/surveys/{survey_id}/questions/{question_id}",
    response={200: MarketSurveyQuestionOut, **WRITE_ERRORS},
    summary="Change a question of a draft",
)
def question_update(
    request: HttpRequest,
    payload: MarketSurveyQuestionPatch,
    survey_id: int = SurveyId,
    question_id: int = QuestionId,
) -> SurveyQuestion:
    user = caller(request)
    question = _question(user, survey_id, question_id)
    data = {k: (str(v) if k == "kind" else v) for k, v in payload.dict(exclude_unset=True).items()}
    return services.question_update(question=question, data=data, acting_user=user)


@router.delete(
    "/market/surveys/{survey_id}/questions/{question_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a question of a draft (the others are renumbered)",
)
def question_delete(request: HttpRequest, survey_id: int = SurveyId, question_id: int = QuestionId) -> Status[None]:
    user = caller(request)
    services.question_delete(question=_question(user, survey_id, question_id), acting_user=user)
    return Status(204, None)


@router.post(
    "/market/surveys/{survey_id}/questions/{question_id}/move",
    response={200: list[MarketSurveyQuestionOut], **WRITE_ERRORS},
    summary="Move a question of a draft to another position; answers the questions in their new order",
)
def question_move(
    request: HttpRequest, payload: MarketSurveyMoveIn, survey_id: int = SurveyId, question_id: int = QuestionId
) -> list[SurveyQuestion]:
    user = caller(request)
    question = _question(user, survey_id, question_id)
    services.question_move(question=question, position=payload.position, acting_user=user)
    return selectors.campaign_questions(question.campaign)


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------


@router.get(
    "/market/surveys/{survey_id}/targets",
    response={200: list[MarketSurveyTargetOut], **READ_ERRORS},
    summary="The targets of a campaign you organise, with their state (answered, reminded, pending, not sent)",
)
@paginate(Paginated)
def target_list(
    request: HttpRequest, filters: Query[MarketSurveyTargetFilter], survey_id: int = SurveyId
) -> QuerySet[SurveyTarget]:
    user = caller(request)
    campaign = _organised(user, survey_id)
    return selectors.campaign_targets(user=user, campaign=campaign, state=filters.state or "")


@router.post(
    "/market/surveys/{survey_id}/targets",
    response={201: MarketSurveyTargetsAdded, **WRITE_ERRORS},
    summary="Add targets by name, or every enterprise (with a platform account) of a park or region, or every "
    "bank of a region — inside your reach; already targeted ones are skipped",
)
def targets_add(request: HttpRequest, payload: MarketSurveyTargetsIn, survey_id: int = SurveyId) -> Status[Any]:
    user = caller(request)
    campaign = _organised(user, survey_id)
    organisations = []
    for pk in dict.fromkeys(payload.organisation_ids):
        org = organisation_or_400(pk, "organisation_ids", "机构", "Organisation")
        organisations.append(org)
    park = None
    if payload.park_id is not None:
        park = resolve(Park, user=user, action=Action.VIEW, field="park_id", pk=payload.park_id)
    region = region_or_400(payload.region_code, "region_code")
    try:
        added = services.targets_add(
            campaign=campaign, organisations=organisations, park=park, region=region, acting_user=user
        )
    except ValidationError as exc:
        raise renamed_fields(exc, _TARGET_FIELDS) from exc
    targets = SurveyTarget.objects.filter(pk__in=[t.pk for t in added]).select_related("organisation")
    return Status(201, {"added": len(added), "targets": list(targets.order_by("organisation__name", "pk"))})


@router.delete(
    "/market/surveys/{survey_id}/targets/{target_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove a target from a draft",
)
def target_remove(request: HttpRequest, survey_id: int = SurveyId, target_id: int = TargetId) -> Status[None]:
    user = caller(request)
    campaign = _organised(user, survey_id)
    target = scoped_get(SurveyTarget, user=user, pk=target_id)
    if target.campaign_id != campaign.pk:
        raise Http404(SurveyTarget._meta.verbose_name)
    services.target_remove(target=target, acting_user=user)
    return Status(204, None)


# ---------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------


@router.post(
    "/market/surveys/{survey_id}/publish",
    response={200: MarketSurveyDetailOut, **WRITE_ERRORS},
    summary="Publish a draft to its targets (needs ≥1 question and ≥1 target; sets the invitation time)",
)
def survey_publish(request: HttpRequest, survey_id: int = SurveyId) -> SurveyCampaign:
    user = caller(request)
    services.campaign_publish(campaign=_organised(user, survey_id), acting_user=user)
    return _detail(user, survey_id)


@router.post(
    "/market/surveys/{survey_id}/remind",
    response={200: MarketSurveyRemindOut, **WRITE_ERRORS},
    summary="Remind the targets that have not answered and were neither invited nor reminded within the "
    "campaign's interval (shown on their 我的调查)",
)
def survey_remind(request: HttpRequest, survey_id: int = SurveyId) -> dict[str, int]:
    user = caller(request)
    return {"reminded": services.campaign_remind(campaign=_organised(user, survey_id), acting_user=user)}


@router.post(
    "/market/surveys/{survey_id}/close",
    response={200: MarketSurveyDetailOut, **WRITE_ERRORS},
    summary="Close an open campaign: no more answers",
)
def survey_close(request: HttpRequest, survey_id: int = SurveyId) -> SurveyCampaign:
    user = caller(request)
    services.campaign_close(campaign=_organised(user, survey_id), acting_user=user)
    return _detail(user, survey_id)


@router.post(
    "/market/surveys/{survey_id}/repeat",
    response={201: MarketSurveyDetailOut, **WRITE_ERRORS},
    summary="The next period's draft of a recurring campaign (2026Q4 → 2027Q1, 2026H2 → 2027H1, 2026 → 2027) with "
    "the same questions and targets",
)
def survey_repeat(request: HttpRequest, survey_id: int = SurveyId) -> Status[SurveyCampaign]:
    user = caller(request)
    successor = services.campaign_repeat(campaign=_organised(user, survey_id), acting_user=user)
    return Status(201, _detail(user, successor.pk))


# ---------------------------------------------------------------------------
# Answers, results, export
# ---------------------------------------------------------------------------


@router.post(
    "/market/surveys/{survey_id}/responses",
    response={201: MarketSurveyResponseOut, **WRITE_ERRORS},
    summary="Answer a survey your organisation is a target of, once; every answer is checked by its question's "
    "kind (errors name `answers.<question id>`); mapped answers create a demand or a draft product in the same "
    "transaction",
)
def response_submit(
    request: HttpRequest, payload: MarketSurveyAnswersIn, survey_id: int = SurveyId
) -> Status[SurveyResponse]:
    user = caller(request)
    require(user, SurveyResponse, Action.ADD)
    target = selectors.respondent_target(user=user, pk=survey_id)
    response = services.response_submit(campaign=target.campaign, answers=payload.answers, acting_user=user)
    return Status(201, SurveyResponse.objects.select_related("organisation", "demand").get(pk=response.pk))


@router.get(
    "/market/surveys/{survey_id}/responses",
    response={200: list[MarketSurveyResponseOut], **READ_ERRORS},
    summary="The responses to a campaign: all of them for its organiser, your own for a target",
)
@paginate(Paginated)
def response_list(request: HttpRequest, survey_id: int = SurveyId) -> QuerySet[SurveyResponse]:
    user = caller(request)
    require(user, SurveyResponse, Action.VIEW)
    campaign = scoped_get(SurveyCampaign, user=user, pk=survey_id)
    responses = selectors.response_list(user=user, campaign=campaign)
    if not selectors.is_organiser(user, campaign):
        responses = responses.filter(organisation_id=user.organisation_id or 0)
    return responses


@router.get(
    "/market/surveys/{survey_id}/results",
    response={200: MarketSurveyResultsOut, **READ_ERRORS},
    summary="Results: response rate, per question counts (choices, yes/no, rating distribution and mean), number "
    "statistics (count, mean, median, min, max, histogram), text answers, and the library entries created",
)
def survey_results(request: HttpRequest, survey_id: int = SurveyId) -> dict[str, Any]:
    user = caller(request)
    campaign = _organised(user, survey_id)
    results = selectors.survey_results(campaign)
    return {
        "campaign_id": campaign.pk,
        "targets": results.targets,
        "responses": results.responses,
        "response_rate": results.rate or None,
        "questions": [r.as_dict() for r in results.questions],
        "library": [
            {
                "response_id": r.pk,
                "organisation": r.organisation,
                "demand_id": r.demand_id,
                "demand_reference": r.demand.reference if r.demand is not None else None,
                "product_id": r.product_id,
                "product_code": r.product.code if r.product is not None else None,
            }
            for r in results.library
        ],
    }


@router.get(
    "/market/surveys/{survey_id}/export.xlsx",
    response=READ_ERRORS,
    openapi_extra={
        "responses": {
            200: {
                "description": "One row per responding organisation, one column per question; a second sheet lists "
                "every target with its state.",
                "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
    summary="The responses as an xlsx workbook",
)
def survey_export(request: HttpRequest, survey_id: int = SurveyId) -> HttpResponse:
    user = caller(request)
    campaign = _organised(user, survey_id)
    response = HttpResponse(response_workbook(campaign), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(export_filename(campaign))}"
    response["X-Content-Type-Options"] = "nosniff"
    return response
