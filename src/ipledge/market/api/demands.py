"""Demand-library API (融资项目库, S4) and the bank's leads (线索): demands (list, post, read, edit, withdraw, link the
loan, sharing consent, re-match), the ranked matches of a demand with their reasons (text, code and figures), the
leads of a bank and its answers.

Conventions as in the screening APIs: reads start from `restrict(user, "view")` (another organisation's demand
answers 404 like a missing one); references in a body are resolved within the caller's reach (else 400 `not_found`
naming the field); the services decide who may act (their `PermissionDenied` answers 403, their `ValidationError`
400 naming the field and the rule, e.g. `not_owner`, `not_bank`, `invalid_transition`, `stale`).
"""

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Path, Query, Router, Status
from ninja.pagination import paginate

from ipledge.core.apikit import (
    MAX_ID,
    ApiError,
    Paginated,
    caller,
    error_responses,
    forbidden,
    renamed_fields,
    require,
    resolve,
)
from ipledge.core.money import Money
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.registry.models import Enterprise, Park

from .. import selectors_demands as selectors
from ..choices import LeadResponse
from ..models import Demand, Match
from ..schemas_demands import (
    MarketDemandFilter,
    MarketDemandIn,
    MarketDemandLoanIn,
    MarketDemandMatchOut,
    MarketDemandOut,
    MarketDemandPatch,
    MarketDemandSharesIn,
    MarketDemandWithdrawIn,
    MarketLeadFilter,
    MarketLeadOut,
    MarketLeadRespondIn,
)
from ..services import demands as services

router = Router(tags=["market"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)
READ_ERRORS = error_responses(403, 404)
DemandId = Path(..., ge=1, le=MAX_ID)
MatchId = Path(..., ge=1, le=MAX_ID)

FIELDS = {"enterprise": "enterprise_id", "park": "park_id", "loan": "loan_id", "match": "match_id"}


def _for_output(qs: QuerySet[Demand]) -> QuerySet[Demand]:
    return qs.select_related("created_by").prefetch_related("shares__bank", "rights__ip_right")


def _demand_out(user: Any, pk: int) -> Demand:
    return _for_output(selectors.demand_list(user=user)).get(pk=pk)


def _demand(user: Any, demand_id: int) -> Demand:
    require(user, Demand, Action.VIEW)
    return scoped_get(Demand, user=user, pk=demand_id)


def _demand_to_change(user: Any, demand_id: int) -> Demand:
    """A demand the caller may change: 404 when it cannot see it, 403 when it only reads it — decided before any
    reference in the body is resolved, so that a reader learns nothing from a 400 about the body."""
    demand = _demand(user, demand_id)
    if not Demand.objects.restrict(user, Action.CHANGE).filter(pk=demand.pk).exists():
        raise PermissionDenied
    return demand


def _ranked(user: Any, demand: Demand) -> list[Match]:
    fits, misses = selectors.ranked_matches(user=user, demand=demand)
    return [row.match for row in fits] + [row.match for row in misses]


# ---------------------------------------------------------------------------
# Demands
# ---------------------------------------------------------------------------


@router.get(
    "/market/demands",
    response={200: list[MarketDemandOut], **error_responses(403)},
    summary="Financing demands (融资需求) within your reach: an enterprise its own, a park its member enterprises', "
    "an IP office its region's, a bank those shared with it; newest first",
)
@paginate(Paginated)
def demand_list(request: HttpRequest, filters: Query[MarketDemandFilter]) -> QuerySet[Demand]:
    user = caller(request)
    require(user, Demand, Action.VIEW)
    return _for_output(
        selectors.demand_list(
            user=user,
            filters=selectors.DemandFilters(
                enterprise_id=filters.enterprise_id,
                park_id=filters.park_id,
                status=filters.status,
                purpose=filters.purpose,
                active=filters.active,
            ),
        )
    )


@router.post(
    "/market/demands",
    response={201: MarketDemandOut, **WRITE_ERRORS},
    summary="Post a demand for your enterprise, or (a park) for one of your member enterprises; it is matched at "
    "once against every live product",
)
def demand_create(request: HttpRequest, payload: MarketDemandIn) -> Status[Demand]:
    user = caller(request)
    require(user, Demand, Action.ADD)
    if payload.enterprise_id is not None:
        enterprise = resolve(Enterprise, user=user, action=Action.VIEW, field="enterprise_id", pk=payload.enterprise_id)
    else:
        enterprise = Enterprise.objects.filter(organisation_id=getattr(user, "organisation_id", None)).first()
        if enterprise is None:
            raise ApiError(
                400, "required", "请指定企业。", "Name the enterprise (enterprise_id).", field="enterprise_id"
            )
    park = None
    if payload.park_id is not None:
        park = resolve(Park, user=user, action=Action.VIEW, field="park_id", pk=payload.park_id)
    try:
        demand = services.demand_create(
            enterprise=enterprise,
            amount=Money(Decimal(payload.amount)),
            term_months=payload.term_months,
            purpose=str(payload.purpose),
            description=payload.description,
            right_ids=payload.right_ids,
            share_bank_ids=payload.share_bank_ids,
            share_with_matching_banks=payload.share_with_matching_banks,
            expires_on=payload.expires_on,
            park=park,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, FIELDS) from exc
    return Status(201, _demand_out(user, demand.pk))


@router.get(
    "/market/demands/{demand_id}",
    response={200: MarketDemandOut, **READ_ERRORS},
    summary="One demand with its offered rights, sharing consent and best match",
)
def demand_detail(request: HttpRequest, demand_id: int = DemandId) -> Demand:
    user = caller(request)
    demand = _demand(user, demand_id)
    return _demand_out(user, demand.pk)


@router.patch(
    "/market/demands/{demand_id}",
    response={200: MarketDemandOut, **WRITE_ERRORS},
    summary="Edit an open or matched demand (only the fields given); bumps its version and re-matches",
)
def demand_update(request: HttpRequest, payload: MarketDemandPatch, demand_id: int = DemandId) -> Demand:
    user = caller(request)
    demand = _demand(user, demand_id)
    try:
        services.demand_update(
            demand=demand,
            amount=Money(Decimal(payload.amount)) if payload.amount is not None else None,
            term_months=payload.term_months,
            purpose=str(payload.purpose) if payload.purpose is not None else None,
            description=payload.description,
            right_ids=payload.right_ids,
            expires_on=payload.expires_on,
            expected_version=payload.version,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, FIELDS) from exc
    return _demand_out(user, demand.pk)


@router.post(
    "/market/demands/{demand_id}/withdraw",
    response={200: MarketDemandOut, **WRITE_ERRORS},
    summary="Withdraw an active demand (open, matched or in talks)",
)
def demand_withdraw(request: HttpRequest, payload: MarketDemandWithdrawIn, demand_id: int = DemandId) -> Demand:
    user = caller(request)
    demand = _demand(user, demand_id)
    services.demand_withdraw(demand=demand, note=payload.note, acting_user=user)
    return _demand_out(user, demand.pk)


@router.post(
    "/market/demands/{demand_id}/link-loan",
    response={200: MarketDemandOut, **WRITE_ERRORS},
    summary="Link the enterprise's loan (approved or beyond) that met the demand; the demand becomes financed",
)
def demand_link_loan(request: HttpRequest, payload: MarketDemandLoanIn, demand_id: int = DemandId) -> Demand:
    from ipledge.lending.models import Loan

    user = caller(request)
    demand = _demand_to_change(user, demand_id)
    loan = resolve(Loan, user=user, action=Action.VIEW, field="loan_id", label_en="loan", pk=payload.loan_id)
    try:
        services.demand_link_loan(demand=demand, loan=loan, acting_user=user)
    except ValidationError as exc:
        raise renamed_fields(exc, FIELDS) from exc
    return _demand_out(user, demand.pk)


@router.put(
    "/market/demands/{demand_id}/shares",
    response={200: MarketDemandOut, **WRITE_ERRORS},
    summary="Replace the sharing consent (授权推送): the chosen banks, and whether every bank whose product "
    "matches may see the demand",
)
def demand_shares(request: HttpRequest, payload: MarketDemandSharesIn, demand_id: int = DemandId) -> Demand:
    user = caller(request)
    demand = _demand(user, demand_id)
    try:
        services.demand_shares_set(
            demand=demand,
            bank_ids=payload.bank_ids,
            share_with_matching_banks=payload.share_with_matching_banks,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, {"share_bank_ids": "bank_ids"}) from exc
    return _demand_out(user, demand.pk)


@router.post(
    "/market/demands/{demand_id}/rematch",
    response={200: list[MarketDemandMatchOut], **WRITE_ERRORS},
    summary="Match the demand again against every live product; answers the ranked matches you may see",
)
def demand_rematch(request: HttpRequest, demand_id: int = DemandId) -> list[Match]:
    user = caller(request)
    demand = _demand(user, demand_id)
    services.demand_rematch(demand=demand, acting_user=user)
    return _ranked(user, Demand.objects.get(pk=demand.pk))


@router.get(
    "/market/demands/{demand_id}/matches",
    response={200: list[MarketDemandMatchOut], **READ_ERRORS},
    summary="The demand's matches you may see: eligible live products in rank order, then the products that do not "
    "fit, each with its reasons (code, figures and words, e.g. why an invention patent's remaining life is short)",
)
def demand_matches(request: HttpRequest, demand_id: int = DemandId) -> list[Match]:
    user = caller(request)
    demand = _demand(user, demand_id)
    return _ranked(user, demand)


# ---------------------------------------------------------------------------
# Leads (线索)
# ---------------------------------------------------------------------------


def _require_bank(user: Any) -> None:
    if not selectors.is_bank_user(user):
        raise forbidden("只有银行可以查看融资线索。", "Only banks have leads.")


@router.get(
    "/market/leads",
    response={200: list[MarketLeadOut], **error_responses(403)},
    summary="Your bank's leads: eligible matches of your tree's live products on demands shared with you, best "
    "score first",
)
@paginate(Paginated)
def lead_list(request: HttpRequest, filters: Query[MarketLeadFilter]) -> QuerySet[Match]:
    user = caller(request)
    _require_bank(user)
    response = filters.response
    return selectors.lead_list(
        user=user,
        filters=selectors.LeadFilters(
            product_id=filters.product_id,
            response=LeadResponse.NONE if response == "none" else response,
            park_id=filters.park_id,
            active=True if filters.active else None,
        ),
    )


def _lead(user: Any, match_id: int) -> Match:
    require(user, Match, Action.VIEW)
    scoped_get(Match, user=user, pk=match_id)
    return selectors.lead_get(user=user, pk=match_id)


@router.get(
    "/market/leads/{match_id}",
    response={200: MarketLeadOut, **READ_ERRORS},
    summary="One lead (a match) with the demand, the enterprise's basic facts and the reasons; readable by whoever "
    "sees the match, answered by the product's bank",
)
def lead_detail(request: HttpRequest, match_id: int = MatchId) -> Match:
    user = caller(request)
    return _lead(user, match_id)


@router.post(
    "/market/leads/{match_id}/respond",
    response={200: MarketLeadOut, **WRITE_ERRORS},
    summary="Answer a lead: interested or contacted move the demand to in talks; declined leaves it as it is",
)
def lead_respond(request: HttpRequest, payload: MarketLeadRespondIn, match_id: int = MatchId) -> Match:
    user = caller(request)
    match = _lead(user, match_id)
    try:
        services.lead_respond(match=match, response=str(payload.response), note=payload.note, acting_user=user)
    except ValidationError as exc:
        raise renamed_fields(exc, FIELDS) from exc
    return selectors.lead_get(user=user, pk=match.pk)
