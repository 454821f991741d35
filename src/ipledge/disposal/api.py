"""Collateral-disposal API (质物处置, D1): cases opened on defaulted loans, their fresh valuation, the route and
its approval (maker-checker), online auctions (sessions, lots, bidder registrations and deposits, bids, closing),
negotiated sales and acquisitions, the payment, the transfer of the rights, the proceeds waterfall, licence income
and the disposal history.

Conventions as in the compensation API: reads start from `restrict(user, "view")` (another bank's case answers 404
like a missing one); references in a body are resolved within the caller's reach (else 400 `not_found` naming the
field); the services decide who may act (their `PermissionDenied` answers 403, their `ValidationError` 400 naming
the field and the rule, e.g. `too_low`, `maker_is_checker`). Auction listings (sessions, lots and the public bid
history: bidder numbers, amounts and times) are open to every signed-in organisation; who bid is read by the
bidder itself, the platform and the case's bank. Every write is taken by a named officer or an API key; a row
written with a key records no user (its audit event names the key), and maker-checker treats a key as never a
different person.

Licence income is idempotent: an `Idempotency-Key` header (or `idempotency_key` in the body) answers the original
record again with `Idempotent-Replayed: true`, and nothing runs down the waterfall twice.
"""

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Status
from ninja.pagination import paginate

from ipledge.compensation.models import Claim
from ipledge.core.apikit import (
    MAX_ID,
    ApiError,
    Paginated,
    caller,
    error_responses,
    forbidden,
    idempotency_key,
    organisation_or_400,
    renamed_fields,
    require,
    resolve,
)
from ipledge.core.models import Organisation
from ipledge.core.money import Money
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.lending.models import Loan

from . import services
from .models import AuctionSession, Bid, BidderRegistration, CaseRight, DisposalCase, LicenceIncome, Lot, ProceedsEntry
from .schemas import (
    AuctionBidIn,
    AuctionBidOut,
    AuctionLotDetailOut,
    AuctionLotIn,
    AuctionSessionDetailOut,
    AuctionSessionFilter,
    AuctionSessionIn,
    AuctionSessionOut,
    DisposalBidderFilter,
    DisposalBidderOut,
    DisposalCaseDetailOut,
    DisposalCaseFilter,
    DisposalCaseIn,
    DisposalCaseOut,
    DisposalCloseIn,
    DisposalDepositIn,
    DisposalDistributeIn,
    DisposalHistoryFilter,
    DisposalHistoryOut,
    DisposalLicenceIncomeIn,
    DisposalLicenceIncomeOut,
    DisposalPaymentIn,
    DisposalRevalueIn,
    DisposalRouteIn,
    DisposalSaleIn,
)

router = Router(tags=["disposal"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)
READ_ERRORS = error_responses(403, 404)
CaseId = Path(..., ge=1, le=MAX_ID)
SessionId = Path(..., ge=1, le=MAX_ID)
LotId = Path(..., ge=1, le=MAX_ID)
IDEMPOTENCY_HEADER = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "maxLength": 64},
            "description": "The same key again answers the original record (header `Idempotent-Replayed: true`) "
            "and posts nothing twice; overrides `idempotency_key` in the body.",
        }
    ]
}


def _money(value: str) -> Money:
    return Money(Decimal(value))


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def _rights() -> Prefetch[Any]:
    return Prefetch("rights", queryset=CaseRight.objects.select_related("ip_right").order_by("pk"))


def _lots() -> QuerySet[Lot]:
    return Lot.objects.select_related("session", "winner", "case").prefetch_related(
        Prefetch("case__rights", queryset=CaseRight.objects.select_related("ip_right").order_by("pk"))
    )


def _cases(user: Any) -> QuerySet[DisposalCase]:
    return DisposalCase.objects.restrict(user, Action.VIEW).select_related(
        "loan", "bank", "pledgor", "platform", "buyer", "proposed_by", "approved_by"
    )


def _case(request: HttpRequest, case_id: int) -> DisposalCase:
    """The case within the caller's view scope (404 otherwise); the services then check the action."""
    user = caller(request)
    require(user, DisposalCase, Action.VIEW)
    return scoped_get(DisposalCase, user=user, pk=case_id)


def _case_to_manage(request: HttpRequest, case_id: int) -> DisposalCase:
    """The case, when the caller's bank runs it: checked before references in the body are resolved."""
    case = _case(request, case_id)
    if not DisposalCase.objects.restrict(caller(request), Action.CHANGE).filter(pk=case.pk).exists():
        raise forbidden("只有质权人银行的经办人员可以执行此操作。", "Only the pledgee bank's officers may do this.")
    return case


def _case_detail(request: HttpRequest, case_id: int) -> DisposalCase:
    """The case with its rights, every listing, the waterfall, licence income and the claim the caller may see."""
    user = caller(request)
    case = (
        _cases(user)
        .prefetch_related(
            _rights(),
            Prefetch("entries", queryset=ProceedsEntry.objects.select_related("payee", "posted_by")),
            Prefetch("licence_incomes", queryset=LicenceIncome.objects.select_related("recorded_by")),
        )
        .get(pk=case_id)
    )
    case.case_lots = list(_lots().filter(case=case).order_by("pk"))  # type: ignore[attr-defined]
    case.visible_claim_id = (  # type: ignore[attr-defined]
        Claim.objects.restrict(user, Action.VIEW)
        .filter(loan_id=case.loan_id)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return case


def _session(request: HttpRequest, session_id: int) -> AuctionSession:
    user = caller(request)
    require(user, AuctionSession, Action.VIEW)
    return scoped_get(AuctionSession, user=user, pk=session_id)


def _session_detail(session_id: int) -> AuctionSession:
    session = AuctionSession.objects.select_related("platform").annotate(lot_total=Count("lots")).get(pk=session_id)
    session.listed_lots = list(_lots().filter(session=session).order_by("number"))  # type: ignore[attr-defined]
    return session


def _lot(request: HttpRequest, lot_id: int) -> Lot:
    user = caller(request)
    require(user, Lot, Action.VIEW)
    return scoped_get(Lot, user=user, pk=lot_id)


def _registrations() -> QuerySet[BidderRegistration]:
    return BidderRegistration.objects.select_related("lot", "bidder", "registered_by")


def _lot_detail(request: HttpRequest, lot_id: int) -> Lot:
    """The lot with its public bid history (bidder numbers only) and the caller's own registration."""
    user = caller(request)
    lot = _lots().get(pk=lot_id)
    lot.public_bids = list(  # type: ignore[attr-defined]
        Bid.objects.filter(lot=lot).select_related("registration").order_by("-sequence")
    )
    org_id = getattr(user, "organisation_id", None)
    lot.own_registration = (  # type: ignore[attr-defined]
        _registrations().filter(lot=lot, bidder_id=org_id).first() if org_id is not None else None
    )
    return lot


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------


@router.get(
    "/disposal/cases",
    response={200: list[DisposalCaseOut], **error_responses(403)},
    summary="Disposal cases (处置案件) within your reach: the lending bank's, and those you sell, buy, pledged, "
    "cover or supervise",
)
@paginate(Paginated)
def case_list(request: HttpRequest, filters: Query[DisposalCaseFilter]) -> QuerySet[DisposalCase]:
    user = caller(request)
    require(user, DisposalCase, Action.VIEW)
    qs = _cases(user)
    if filters.status is not None:
        qs = qs.filter(status=filters.status)
    if filters.route:
        qs = qs.filter(route=filters.route)
    if filters.loan_id:
        qs = qs.filter(loan_id=filters.loan_id)
    if filters.platform_id:
        qs = qs.filter(platform_id=filters.platform_id)
    if filters.q:
        qs = qs.filter(reference__icontains=filters.q)
    return qs


@router.post(
    "/disposal/cases",
    response={201: DisposalCaseDetailOut, **WRITE_ERRORS},
    summary="The pledgee bank opens a case on a defaulted or non-performing loan, with every right it holds in pledge",
)
def case_open(request: HttpRequest, payload: DisposalCaseIn) -> Status[DisposalCase]:
    user = caller(request)
    require(user, DisposalCase, Action.ADD)
    loan = resolve(Loan, user=user, action=Action.VIEW, field="loan_id", label_en="loan", pk=payload.loan_id)
    try:
        case = services.case_open(loan=loan, note=payload.note, acting_user=user)
    except ValidationError as exc:
        raise renamed_fields(exc, {"loan": "loan_id"}) from exc
    return Status(201, _case_detail(request, case.pk))


@router.get(
    "/disposal/cases/{case_id}",
    response={200: DisposalCaseDetailOut, **READ_ERRORS},
    summary="One case with its rights and valuations, its lots, the proceeds waterfall and the linked claim",
)
def case_detail(request: HttpRequest, case_id: int = CaseId) -> DisposalCase:
    case = _case(request, case_id)
    return _case_detail(request, case.pk)


@router.post(
    "/disposal/cases/{case_id}/revalue",
    response={200: DisposalCaseDetailOut, **WRITE_ERRORS},
    summary="A fresh machine valuation (机评) of every right in the case, for the reserve price",
)
def case_revalue(request: HttpRequest, payload: DisposalRevalueIn, case_id: int = CaseId) -> DisposalCase:
    case = _case_to_manage(request, case_id)
    agency = organisation_or_400(payload.agency_id, "agency_id", "评估机构", "Agency")
    try:
        services.case_revalue(case=case, agency=agency, acting_user=caller(request))
    except ValidationError as exc:
        raise renamed_fields(exc, {"agency": "agency_id"}) from exc
    return _case_detail(request, case.pk)


@router.post(
    "/disposal/cases/{case_id}/route",
    response={200: DisposalCaseDetailOut, **WRITE_ERRORS},
    summary="The bank proposes the route (处置方式): online auction at a platform, negotiated transfer, "
    "acquisition by a third party, or licensing; a second officer approves it",
)
def case_route(request: HttpRequest, payload: DisposalRouteIn, case_id: int = CaseId) -> DisposalCase:
    case = _case_to_manage(request, case_id)
    platform = organisation_or_400(payload.platform_id, "platform_id", "处置平台/收储机构", "Platform")
    try:
        services.case_propose_route(
            case=case, route=str(payload.route), platform=platform, note=payload.note, acting_user=caller(request)
        )
    except ValidationError as exc:
        raise renamed_fields(exc, {"platform": "platform_id"}) from exc
    return _case_detail(request, case.pk)


@router.post(
    "/disposal/cases/{case_id}/approve-route",
    response={200: DisposalCaseDetailOut, **WRITE_ERRORS},
    summary="Another bank officer with the approving role (never the proposer) approves the route",
)
def case_approve_route(request: HttpRequest, case_id: int = CaseId) -> DisposalCase:
    case = _case(request, case_id)
    services.case_approve_route(case=case, acting_user=caller(request))
    return _case_detail(request, case.pk)


@router.post(
    "/disposal/cases/{case_id}/sale",
    response={200: DisposalCaseDetailOut, **WRITE_ERRORS},
    summary="Record a negotiated transfer (协议转让) or a third-party acquisition (第三方收储) at an agreed price",
)
def case_sale(request: HttpRequest, payload: DisposalSaleIn, case_id: int = CaseId) -> DisposalCase:
    case = _case_to_manage(request, case_id)
    buyer = organisation_or_400(payload.buyer_id, "buyer_id", "买受人", "Buyer")
    assert buyer is not None
    try:
        services.sale_record(case=case, buyer=buyer, price=_money(payload.price), acting_user=caller(request))
    except ValidationError as exc:
        raise renamed_fields(exc, {"buyer": "buyer_id"}) from exc
    return _case_detail(request, case.pk)


@router.post(
    "/disposal/cases/{case_id}/payment",
    response={200: DisposalCaseDetailOut, **WRITE_ERRORS},
    summary="The buyer has paid the price (less the applied deposit): confirmed by the platform or the bank",
)
def case_payment(request: HttpRequest, payload: DisposalPaymentIn, case_id: int = CaseId) -> DisposalCase:
    case = _case(request, case_id)
    services.payment_confirm(case=case, paid_on=payload.paid_on, acting_user=caller(request))
    return _case_detail(request, case.pk)


@router.post(
    "/disposal/cases/{case_id}/transfer",
    response={200: DisposalCaseDetailOut, **WRITE_ERRORS},
    summary="The rights pass to the buyer and the bank files the pledge cancellation (质权已实现); the sale becomes "
    "a market comparable",
)
def case_transfer(request: HttpRequest, case_id: int = CaseId) -> DisposalCase:
    case = _case(request, case_id)
    services.case_transfer(case=case, acting_user=caller(request))
    return _case_detail(request, case.pk)


@router.post(
    "/disposal/cases/{case_id}/distribute",
    response={200: DisposalCaseDetailOut, **WRITE_ERRORS},
    summary="Run the price down the waterfall: costs, bank principal and interest, the fund's return through the "
    "claim's clearing, surplus to the pledgor",
)
def case_distribute(request: HttpRequest, payload: DisposalDistributeIn, case_id: int = CaseId) -> DisposalCase:
    case = _case(request, case_id)
    services.proceeds_distribute(case=case, costs=_money(payload.costs), acting_user=caller(request))
    return _case_detail(request, case.pk)


@router.post(
    "/disposal/cases/{case_id}/licence-income",
    response={201: DisposalLicenceIncomeOut, **WRITE_ERRORS},
    openapi_extra=IDEMPOTENCY_HEADER,
    summary="Licence income under 许可运营, credited down the waterfall as it arrives (idempotent with a key)",
)
def case_licence_income(
    request: HttpRequest, response: HttpResponse, payload: DisposalLicenceIncomeIn, case_id: int = CaseId
) -> Status[LicenceIncome]:
    case = _case(request, case_id)
    user = caller(request)
    key = idempotency_key(request, payload.idempotency_key)
    replayed = bool(key) and LicenceIncome.objects.filter(case=case, idempotency_key=key).exists()
    income = services.licence_income_record(
        case=case,
        licensee=payload.licensee,
        amount=_money(payload.amount),
        costs=_money(payload.costs),
        received_on=payload.received_on,
        idempotency_key=key,
        acting_user=user,
    )
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(201, LicenceIncome.objects.select_related("recorded_by").get(pk=income.pk))


@router.post(
    "/disposal/cases/{case_id}/close",
    response={200: DisposalCaseDetailOut, **WRITE_ERRORS},
    summary="Close a distributed case, or a licensing case whose operation has ended (结案)",
)
def case_close(request: HttpRequest, payload: DisposalCloseIn, case_id: int = CaseId) -> DisposalCase:
    case = _case(request, case_id)
    services.case_close(case=case, note=payload.note, acting_user=caller(request))
    return _case_detail(request, case.pk)


# ---------------------------------------------------------------------------
# Auction sessions and lots
# ---------------------------------------------------------------------------


@router.get(
    "/disposal/sessions",
    response={200: list[AuctionSessionOut], **error_responses(403)},
    summary="Auction sessions (拍卖场次), public to every signed-in organisation, newest first",
)
@paginate(Paginated)
def session_list(request: HttpRequest, filters: Query[AuctionSessionFilter]) -> QuerySet[AuctionSession]:
    user = caller(request)
    require(user, AuctionSession, Action.VIEW)
    qs = AuctionSession.objects.restrict(user, Action.VIEW).select_related("platform").annotate(lot_total=Count("lots"))
    if filters.platform_id:
        qs = qs.filter(platform_id=filters.platform_id)
    if filters.status:
        qs = qs.filter(status=filters.status)
    return qs


@router.post(
    "/disposal/sessions",
    response={201: AuctionSessionDetailOut, **WRITE_ERRORS},
    summary="A disposal platform opens an auction session; several cases' lots may sit in it (集中拍卖)",
)
def session_create(request: HttpRequest, payload: AuctionSessionIn) -> Status[AuctionSession]:
    user = caller(request)
    require(user, AuctionSession, Action.ADD)
    platform = (
        resolve(Organisation, user=user, action=Action.VIEW, field="platform_id", pk=payload.platform_id)
        if payload.platform_id is not None
        else getattr(user, "organisation", None)
    )
    if platform is None:
        raise ApiError(400, "required", "请指定处置平台。", "Name the disposal platform.", field="platform_id")
    try:
        session = services.session_create(
            platform=platform,
            title=payload.title,
            starts_at=payload.starts_at,
            ends_at=payload.ends_at,
            extension_minutes=payload.extension_minutes,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, {"platform": "platform_id"}) from exc
    return Status(201, _session_detail(session.pk))


@router.get(
    "/disposal/sessions/{session_id}",
    response={200: AuctionSessionDetailOut, **READ_ERRORS},
    summary="One auction session with its lots",
)
def session_detail(request: HttpRequest, session_id: int = SessionId) -> AuctionSession:
    session = _session(request, session_id)
    return _session_detail(session.pk)


@router.post(
    "/disposal/sessions/{session_id}/lots",
    response={201: AuctionLotDetailOut, **WRITE_ERRORS},
    summary="The platform lists a case whose approved route is an online auction with it as a lot of the session",
)
def lot_create(request: HttpRequest, payload: AuctionLotIn, session_id: int = SessionId) -> Status[Lot]:
    session = _session(request, session_id)
    user = caller(request)
    if not AuctionSession.objects.restrict(user, Action.CHANGE).filter(pk=session.pk).exists():
        raise forbidden(
            "只有举办该场次的处置平台可以执行此操作。", "Only the disposal platform running the session may do this."
        )
    case = resolve(
        DisposalCase, user=user, action=Action.VIEW, field="case_id", label_en="disposal case", pk=payload.case_id
    )
    try:
        lot = services.lot_list(
            session=session,
            case=case,
            reserve_price=_money(payload.reserve_price),
            deposit=_money(payload.deposit),
            increment=_money(payload.increment),
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, {"case": "case_id"}) from exc
    return Status(201, _lot_detail(request, lot.pk))


@router.get(
    "/disposal/lots/{lot_id}",
    response={200: AuctionLotDetailOut, **READ_ERRORS},
    summary="One lot with the rights offered, the price, the lowest acceptable bid and the public bid history "
    "(bidder numbers, amounts, times)",
)
def lot_detail(request: HttpRequest, lot_id: int = LotId) -> Lot:
    lot = _lot(request, lot_id)
    return _lot_detail(request, lot.pk)


@router.post(
    "/disposal/lots/{lot_id}/register",
    response={201: DisposalBidderOut, **WRITE_ERRORS},
    summary="Sign up to bid (竞买登记); the pledgor and the pledgee bank may not. Bids are taken once the platform "
    "confirms the deposit",
)
def lot_register(request: HttpRequest, lot_id: int = LotId) -> Status[BidderRegistration]:
    lot = _lot(request, lot_id)
    registration = services.bidder_register(lot=lot, acting_user=caller(request))
    return Status(201, _registrations().get(pk=registration.pk))


@router.post(
    "/disposal/lots/{lot_id}/bids",
    response={201: AuctionBidOut, **WRITE_ERRORS},
    summary="Bid: the first reaches the reserve, each later one beats the current price by the increment; a bid "
    "near the end pushes the lot's end back (延时竞价)",
)
def lot_bid(request: HttpRequest, payload: AuctionBidIn, lot_id: int = LotId) -> Status[Bid]:
    lot = _lot(request, lot_id)
    bid = services.bid_place(lot=lot, amount=_money(payload.amount), acting_user=caller(request))
    return Status(201, Bid.objects.select_related("registration", "lot").get(pk=bid.pk))


@router.post(
    "/disposal/lots/{lot_id}/close",
    response={200: AuctionLotDetailOut, **WRITE_ERRORS},
    summary="After its end the platform closes the lot: the highest bid wins (deposit applied, the others' "
    "refunded); without a bid the case goes back to be relisted or re-routed",
)
def lot_close(request: HttpRequest, lot_id: int = LotId) -> Lot:
    lot = _lot(request, lot_id)
    services.lot_close(lot=lot, acting_user=caller(request))
    return _lot_detail(request, lot.pk)


# ---------------------------------------------------------------------------
# Bidder registrations
# ---------------------------------------------------------------------------


@router.get(
    "/disposal/bidders",
    response={200: list[DisposalBidderOut], **error_responses(403)},
    summary="Bidder registrations: your own, all of your sessions' for a platform, your cases' for a bank",
)
@paginate(Paginated)
def bidder_list(request: HttpRequest, filters: Query[DisposalBidderFilter]) -> QuerySet[BidderRegistration]:
    user = caller(request)
    require(user, BidderRegistration, Action.VIEW)
    qs = BidderRegistration.objects.restrict(user, Action.VIEW).select_related("lot", "bidder", "registered_by")
    if filters.lot_id:
        qs = qs.filter(lot_id=filters.lot_id)
    if filters.session_id:
        qs = qs.filter(lot__session_id=filters.session_id)
    if filters.deposit_status:
        qs = qs.filter(deposit_status=filters.deposit_status)
    return qs


@router.post(
    "/disposal/bidders/{registration_id}/deposit",
    response={200: DisposalBidderOut, **WRITE_ERRORS},
    summary="The platform confirms a bidder's deposit arrived (保证金到账); the bidder may then bid",
)
def bidder_deposit(
    request: HttpRequest, payload: DisposalDepositIn, registration_id: int = Path(..., ge=1, le=MAX_ID)
) -> BidderRegistration:
    user = caller(request)
    require(user, BidderRegistration, Action.VIEW)
    registration = scoped_get(BidderRegistration, user=user, pk=registration_id)
    services.deposit_confirm(registration=registration, paid_on=payload.paid_on, acting_user=caller(request))
    return _registrations().get(pk=registration.pk)


# ---------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------


@router.get(
    "/disposal/history",
    response={200: list[DisposalHistoryOut], **error_responses(403)},
    summary="Sales of the cases within your reach against the rights' prior valuations, and the time to sale",
)
@paginate(Paginated)
def disposal_history(request: HttpRequest, filters: Query[DisposalHistoryFilter]) -> list[dict[str, Any]]:
    user = caller(request)
    require(user, DisposalCase, Action.VIEW)
    visible = dict(
        DisposalCase.objects.restrict(user, Action.VIEW).filter(sale_price__isnull=False).values_list("reference", "pk")
    )
    rows = []
    for row in services.disposal_history(region_prefix=filters.region_prefix):
        case_id = visible.get(row["case"])
        if case_id is None:
            continue
        rows.append(
            {
                "case_id": case_id,
                "reference": row["case"],
                "route": row["route"] or None,
                "sale_price": None if row["sale_price"] is None else f"{row['sale_price'].amount:.2f}",
                "prior_value": None if row["prior_value"] is None else f"{row['prior_value'].amount:.2f}",
                "price_to_value": None if row["price_to_value"] is None else str(row["price_to_value"]),
                "days_to_sale": row["days_to_sale"],
            }
        )
    return rows
