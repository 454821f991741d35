"""Valuation API (知识产权评估): value one right or a bundle synchronously, read and list valuations, the report as
.docx, the agency's submit and sign-off, a bank's pledge-rate policy, comparables, enterprise innovation scores,
batch revaluation with progress, and the learned layer's model card.

Reads start from `restrict(user, "view")` (another organisation's valuation answers 404 like a missing one);
rights, bundles and enterprises named in a body are resolved within the caller's reach (400 `not_found` naming the
field); the services decide who may act (403) and which rule was broken (400 naming the field and the rule).
"""

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Status
from ninja.pagination import paginate

from ipledge.core.apikit import MAX_ID, ApiError, Paginated, caller, error_responses, region_or_400, require, resolve
from ipledge.core.choices import OrganisationKind
from ipledge.core.models import Organisation
from ipledge.core.money import Money
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.registry.models import Enterprise, IPRight, Park

from . import engine_bridge as bridge
from . import selectors, services
from .models import (
    ComparableTransaction,
    InnovationScore,
    PledgeRatePolicy,
    RevaluationBatch,
    Valuation,
    ValuationModel,
)
from .reports import valuation_report_docx
from .schemas import (
    BatchIn,
    BatchOut,
    BundleValuationIn,
    ComparableIn,
    ComparableOut,
    InnovationScoreOut,
    ModelOut,
    PolicyIn,
    PolicyOut,
    SignOffIn,
    ValuationFilter,
    ValuationIn,
    ValuationOut,
    ValuationSubmitIn,
)

router = Router(tags=["valuation"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)
READ_ERRORS = error_responses(403, 404)
ValuationId = Path(..., ge=1, le=MAX_ID)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _agency(user: Any, agency_id: int | None) -> Organisation | None:
    if agency_id is None:
        return None
    agency = Organisation.objects.filter(pk=agency_id, kind=OrganisationKind.VALUER).first()
    if agency is None:
        raise ApiError(400, "not_found", "评估机构不存在。", "Valuation agency does not exist.", field="agency_id")
    return agency


def _valuation(request: HttpRequest, valuation_id: int, action: str = Action.VIEW) -> Valuation:
    user = caller(request)
    require(user, Valuation, Action.VIEW)
    return scoped_get(Valuation, user=user, pk=valuation_id, action=Action.VIEW)


def _reload(valuation: Valuation) -> Valuation:
    return Valuation.objects.select_related("ip_right", "agency", "requested_by_org").get(pk=valuation.pk)


@router.post(
    "/valuations",
    response={201: ValuationOut, **WRITE_ERRORS},
    summary="Value one IP right now (indicator score, three approaches, P10/P50/P90, pledge rate and loan ceiling)",
)
def valuation_create(request: HttpRequest, payload: ValuationIn) -> Status[Valuation]:
    user = caller(request)
    require(user, IPRight, Action.VIEW)
    right = resolve(IPRight, user=user, action=Action.VIEW, field="ip_right_id", pk=payload.ip_right_id)
    valuation = services.valuation_run(
        ip_right=right, acting_user=user, scenario=payload.scenario, agency=_agency(user, payload.agency_id)
    )
    return Status(201, _reload(valuation))


@router.post(
    "/valuations/bundle",
    response={201: ValuationOut, **WRITE_ERRORS},
    summary="Value a bundle (打包) of one holder's rights together: overlap discount, concentration, pledge ceiling",
)
def bundle_valuation_create(request: HttpRequest, payload: BundleValuationIn) -> Status[Valuation]:
    user = caller(request)
    require(user, IPRight, Action.VIEW)
    enterprise = resolve(Enterprise, user=user, action=Action.VIEW, field="enterprise_id", pk=payload.enterprise_id)
    rights = list(IPRight.objects.restrict(user, Action.VIEW).filter(pk__in=payload.right_ids))
    missing = sorted(set(payload.right_ids) - {r.pk for r in rights})
    if missing:
        raise ApiError(
            400,
            "not_found",
            f"知识产权不存在或不在您的权限范围内：{', '.join(map(str, missing))}。",
            f"IP rights not found: {', '.join(map(str, missing))}.",
            field="right_ids",
        )
    bundle = services.bundle_create(name=payload.name, enterprise=enterprise, rights=rights, acting_user=user)
    valuation = services.bundle_value(
        bundle=bundle, acting_user=user, scenario=payload.scenario, agency=_agency(user, payload.agency_id)
    )
    return Status(201, _reload(valuation))


@router.get("/valuations", response={200: list[ValuationOut], **READ_ERRORS}, summary="Valuations within your scope")
@paginate(Paginated)
def valuation_list(request: HttpRequest, filters: Query[ValuationFilter]) -> QuerySet[Valuation]:
    user = caller(request)
    require(user, Valuation, Action.VIEW)
    qs = selectors.valuation_list(user=user)
    if filters.ip_right_id:
        qs = qs.filter(ip_right_id=filters.ip_right_id)
    if filters.bundle_id:
        qs = qs.filter(bundle_id=filters.bundle_id)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.grade:
        qs = qs.filter(grade=filters.grade)
    return qs.order_by("-created_at", "-pk")


@router.get("/valuations/{valuation_id}", response={200: ValuationOut, **READ_ERRORS}, summary="One valuation")
def valuation_detail(request: HttpRequest, valuation_id: int = ValuationId) -> Valuation:
    return _reload(_valuation(request, valuation_id))


@router.get(
    "/valuations/{valuation_id}/report.docx",
    response={200: None, **READ_ERRORS},
    summary="The valuation report (.docx, Chinese)",
    openapi_extra={"responses": {200: {"description": "Word document", "content": {DOCX: {}}}}},
)
def valuation_report(request: HttpRequest, valuation_id: int = ValuationId) -> HttpResponse:
    valuation = _reload(_valuation(request, valuation_id))
    response = HttpResponse(valuation_report_docx(valuation), content_type=DOCX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(f'评估报告-{valuation.pk}.docx')}"
    response["Cache-Control"] = "private, no-store"
    return response


@router.post(
    "/valuations/{valuation_id}/submit",
    response={200: ValuationOut, **WRITE_ERRORS},
    summary="Valuation agency: submit the prepared valuation with its opinion for sign-off (maker)",
)
def valuation_submit(request: HttpRequest, payload: ValuationSubmitIn, valuation_id: int = ValuationId) -> Valuation:
    valuation = _valuation(request, valuation_id)
    services.valuation_submit(valuation=valuation, acting_user=caller(request), note=payload.note)
    return _reload(valuation)


@router.post(
    "/valuations/{valuation_id}/sign-off",
    response={200: ValuationOut, **WRITE_ERRORS},
    summary="Valuation agency: sign off (approve) or return the valuation (checker, never the maker)",
)
def valuation_sign_off(request: HttpRequest, payload: SignOffIn, valuation_id: int = ValuationId) -> Valuation:
    valuation = _valuation(request, valuation_id)
    services.valuation_sign_off(
        valuation=valuation, acting_user=caller(request), approve=payload.approve, note=payload.note
    )
    return _reload(valuation)


# Pledge-rate policy of the caller's bank


def _policy_out(policy: PledgeRatePolicy | None) -> dict[str, Any]:
    if policy is None:
        return {
            "id": None,
            "bank": None,
            "name": "平台默认质押率规则",
            "effective_from": None,
            "rules": bridge.policy_rules(bridge.default_policy()),
            "is_default": True,
        }
    return {
        "id": policy.pk,
        "bank": {"id": policy.bank_id, "name": policy.bank.name},
        "name": policy.name,
        "effective_from": policy.effective_from,
        "rules": policy.rules,
        "is_default": False,
    }


def _caller_bank(user: Any) -> Organisation:
    org = getattr(user, "organisation", None)
    if org is None or org.kind != OrganisationKind.BANK:
        raise ApiError(403, "forbidden", "只有银行可以查看或设置质押率政策。", "Only banks have pledge-rate policies.")
    return org  # type: ignore[no-any-return]


@router.get(
    "/valuation/pledge-policy",
    response={200: PolicyOut, **READ_ERRORS},
    summary="The pledge-rate policy your bank lends under (its own, the nearest above, or the platform default)",
)
def pledge_policy_get(request: HttpRequest) -> dict[str, Any]:
    return _policy_out(selectors.policy_for_bank(_caller_bank(caller(request))))


@router.put(
    "/valuation/pledge-policy",
    response={200: PolicyOut, **WRITE_ERRORS},
    summary="Set your bank's own pledge-rate policy (caps per kind, minimum remaining years, grade multipliers)",
)
def pledge_policy_put(request: HttpRequest, payload: PolicyIn) -> dict[str, Any]:
    user = caller(request)
    policy = services.pledge_policy_set(
        bank=_caller_bank(user),
        name=payload.name,
        rules=payload.rules,
        effective_from=payload.effective_from,
        acting_user=user,
    )
    return _policy_out(policy)


# Comparables


@router.get("/valuation/comparables", response={200: list[ComparableOut], **READ_ERRORS}, summary="Comparables")
@paginate(Paginated)
def comparable_list(request: HttpRequest) -> QuerySet[ComparableTransaction]:
    user = caller(request)
    require(user, ComparableTransaction, Action.VIEW)
    return selectors.comparable_list(user=user)


@router.post(
    "/valuation/comparables",
    response={201: ComparableOut, **WRITE_ERRORS},
    summary="Record a completed transfer, licence or disposal with its price (market approach comparable)",
)
def comparable_create(request: HttpRequest, payload: ComparableIn) -> Status[ComparableTransaction]:
    user = caller(request)
    require(user, ComparableTransaction, Action.ADD)
    right = (
        resolve(IPRight, user=user, action=Action.VIEW, field="ip_right_id", pk=payload.ip_right_id)
        if payload.ip_right_id is not None
        else None
    )
    comparable = services.comparable_record(
        transaction_kind=payload.transaction_kind,
        price=Money(Decimal(payload.price)),
        transacted_on=payload.transacted_on,
        source=payload.source,
        ip_right=right,
        kind=payload.kind,
        patent_type=payload.patent_type,
        ipc_section=payload.ipc_section,
        acting_user=user,
    )
    return Status(201, comparable)


# Enterprise innovation score (V1)


@router.get(
    "/enterprises/{enterprise_id}/innovation-scores",
    response={200: list[InnovationScoreOut], **READ_ERRORS},
    summary="An enterprise's innovation scores, newest first",
)
def innovation_score_list(
    request: HttpRequest, enterprise_id: int = Path(..., ge=1, le=MAX_ID)
) -> QuerySet[InnovationScore]:
    user = caller(request)
    enterprise = scoped_get(Enterprise, user=user, pk=enterprise_id)
    return selectors.innovation_scores(user=user, enterprise=enterprise)


@router.post(
    "/enterprises/{enterprise_id}/innovation-scores",
    response={201: InnovationScoreOut, **WRITE_ERRORS},
    summary="Score the enterprise's innovation capability now (IP portfolio, R&D intensity, growth, potential)",
)
def innovation_score_create(
    request: HttpRequest, enterprise_id: int = Path(..., ge=1, le=MAX_ID)
) -> Status[InnovationScore]:
    user = caller(request)
    enterprise = scoped_get(Enterprise, user=user, pk=enterprise_id)
    return Status(201, services.innovation_score_compute(enterprise=enterprise, acting_user=user))


# Batch revaluation


def _batch_out(batch: RevaluationBatch) -> dict[str, Any]:
    return {
        "id": batch.pk,
        "status": batch.status,
        "park_id": batch.park_id,
        "region_code": batch.region_code,
        "scenario": batch.scenario,
        "total": batch.total,
        "done": batch.done,
        "percent": batch.percent,
        "error": batch.error,
        "created_at": batch.created_at,
        "started_at": batch.started_at,
        "finished_at": batch.finished_at,
    }


@router.post(
    "/valuation/batches",
    response={201: BatchOut, **WRITE_ERRORS},
    summary="Queue a revaluation of a park's (park_id) or a region's (region_code) portfolio as a background task",
)
def batch_create(request: HttpRequest, payload: BatchIn) -> Status[dict[str, Any]]:
    user = caller(request)
    park = (
        resolve(Park, user=user, action=Action.VIEW, field="park_id", pk=payload.park_id)
        if payload.park_id is not None
        else None
    )
    region = region_or_400(payload.region_code or None, "region_code")
    batch = services.revaluation_batch_start(acting_user=user, park=park, region=region, scenario=payload.scenario)
    batch.refresh_from_db()
    return Status(201, _batch_out(batch))


@router.get("/valuation/batches/{batch_id}", response={200: BatchOut, **READ_ERRORS}, summary="A batch's progress")
def batch_detail(request: HttpRequest, batch_id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    batch = scoped_get(RevaluationBatch, user=caller(request), pk=batch_id)
    return _batch_out(batch)


@router.get(
    "/valuation/models",
    response={200: list[ModelOut], **READ_ERRORS},
    summary="The learned layer's models with their model cards (the active one first)",
)
def model_list(request: HttpRequest) -> QuerySet[ValuationModel]:
    user = caller(request)
    require(user, ValuationModel, Action.VIEW)
    return ValuationModel.objects.restrict(user, Action.VIEW).order_by("-is_active", "-trained_at")
