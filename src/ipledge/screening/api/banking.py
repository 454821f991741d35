"""Banking API (白名单推送与意向性授信额度, W2 W4): subscriptions, the pull of the whitelist (each entry with its
explanation; `approved_since` for incremental pulls; also as xlsx), credit decisions, park intended credit lines
and their allocations.

Conventions as in the compensation and disposal APIs: reads start from `restrict(user, "view")` (another bank's
row answers 404 like a missing one); references in a body are resolved within the caller's reach (else 400
`not_found` naming the field); the services decide who may act (their `PermissionDenied` answers 403, their
`ValidationError` 400 naming the field and the rule, e.g. `exceeds_remaining`, `ipc_mismatch`, `not_current`).
A row written with an API key records no user; its audit event names the key.
"""

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
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
from ipledge.core.models import Organisation
from ipledge.core.money import Money
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.registry.models import Park

from .. import selectors_banking as selectors
from ..export_banking import XLSX, export_filename, whitelist_workbook
from ..models import CreditDecision, IntendedCreditLine, LineAllocation, Subscription, WhitelistEntry
from ..schemas_banking import (
    ScreeningBankDecisionFilter,
    ScreeningBankDecisionIn,
    ScreeningBankDecisionOut,
    ScreeningBankEntryFilter,
    ScreeningBankEntryOut,
    ScreeningBankSubscriptionFilter,
    ScreeningBankSubscriptionIn,
    ScreeningBankSubscriptionOut,
    ScreeningCreditLineDetailOut,
    ScreeningCreditLineFilter,
    ScreeningCreditLineIn,
    ScreeningCreditLineOut,
    ScreeningLineAllocationIn,
    ScreeningLineAllocationOut,
)
from ..services import banking as services

router = Router(tags=["screening"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)
READ_ERRORS = error_responses(403, 404)
SubscriptionId = Path(..., ge=1, le=MAX_ID)
DecisionId = Path(..., ge=1, le=MAX_ID)
LineId = Path(..., ge=1, le=MAX_ID)
AllocationId = Path(..., ge=1, le=MAX_ID)


def _money(value: str | None) -> Money | None:
    return None if value is None else Money(Decimal(value))


def _own_bank(request: HttpRequest, bank_id: int | None) -> Organisation:
    """The bank a body names, else the caller's own organisation; the services check it is within reach."""
    bank = organisation_or_400(bank_id, "bank_id", "银行", "Bank")
    if bank is None:
        bank = getattr(caller(request), "organisation", None)
    if bank is None:
        raise ApiError(400, "required", "请指定银行。", "Name the bank (bank_id).", field="bank_id")
    return bank  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------
# Subscriptions
# ---------------------------------------------------------------------------


def _subscriptions(user: Any) -> QuerySet[Subscription]:
    return selectors.subscription_list(user=user)


@router.get(
    "/screening/subscriptions",
    response={200: list[ScreeningBankSubscriptionOut], **error_responses(403)},
    summary="Your bank's whitelist subscriptions (白名单订阅), active and cancelled",
)
@paginate(Paginated)
def subscription_list(request: HttpRequest, filters: Query[ScreeningBankSubscriptionFilter]) -> QuerySet[Subscription]:
    user = caller(request)
    require(user, Subscription, Action.VIEW)
    qs = _subscriptions(user)
    if filters.active is not None:
        qs = qs.filter(is_active=filters.active)
    return qs


@router.post(
    "/screening/subscriptions",
    response={201: ScreeningBankSubscriptionOut, **WRITE_ERRORS},
    summary="Subscribe a bank to one park's whitelists, or to those of every park in a region",
)
def subscription_create(request: HttpRequest, payload: ScreeningBankSubscriptionIn) -> Status[Subscription]:
    user = caller(request)
    require(user, Subscription, Action.ADD)
    bank = _own_bank(request, payload.bank_id)
    park = None
    if payload.park_id is not None:
        park = resolve(Park, user=user, action=Action.VIEW, field="park_id", pk=payload.park_id)
    region = region_or_400(payload.region_code, "region_code")
    try:
        subscription = services.subscription_create(bank=bank, park=park, region=region, acting_user=user)
    except ValidationError as exc:
        raise renamed_fields(exc, {"bank": "bank_id", "park": "park_id", "region": "region_code"}) from exc
    return Status(201, _subscriptions(user).get(pk=subscription.pk))


@router.post(
    "/screening/subscriptions/{subscription_id}/cancel",
    response={200: ScreeningBankSubscriptionOut, **WRITE_ERRORS},
    summary="Cancel a subscription: its whitelists are no longer delivered (the row stays, inactive)",
)
def subscription_cancel(request: HttpRequest, subscription_id: int = SubscriptionId) -> Subscription:
    user = caller(request)
    require(user, Subscription, Action.VIEW)
    subscription = scoped_get(Subscription, user=user, pk=subscription_id)
    services.subscription_cancel(subscription=subscription, acting_user=user)
    return _subscriptions(user).get(pk=subscription.pk)


# ---------------------------------------------------------------------------
# The pull
# ---------------------------------------------------------------------------


def _entry_filters(filters: ScreeningBankEntryFilter) -> selectors.EntryFilters:
    return selectors.EntryFilters(
        park_id=filters.park_id,
        region=region_or_400(filters.region, "region"),
        min_score=filters.min_score,
        decided=filters.decided,
        approved_since=filters.approved_since,
    )


@router.get(
    "/screening/bank/entries",
    response={200: list[ScreeningBankEntryOut], **error_responses(400, 403)},
    summary="The whitelist as your bank receives it: included entries of the current approved versions of the "
    "parks and regions you subscribe to, each with its points per characteristic and reasons",
    description="Incremental pulls: pass `approved_since` (the time of your last pull) to receive only entries of "
    "versions approved since then. Entries are ordered by score, best first.",
)
@paginate(Paginated)
def bank_entries(request: HttpRequest, filters: Query[ScreeningBankEntryFilter]) -> QuerySet[WhitelistEntry]:
    user = caller(request)
    require(user, WhitelistEntry, Action.VIEW)
    return selectors.bank_entries(user=user, filters=_entry_filters(filters))


@router.get(
    "/screening/bank/entries.xlsx",
    response=error_responses(400, 403),
    openapi_extra={
        "responses": {
            200: {
                "description": "The same entries as an Excel workbook (Chinese headers, money as numbers).",
                "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
    summary="The whitelist pull as an xlsx workbook (same filters)",
)
def bank_entries_xlsx(request: HttpRequest, filters: Query[ScreeningBankEntryFilter]) -> HttpResponse:
    user = caller(request)
    require(user, WhitelistEntry, Action.VIEW)
    entries = selectors.bank_entries(user=user, filters=_entry_filters(filters))
    response = HttpResponse(whitelist_workbook(entries.iterator(chunk_size=500)), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(export_filename())}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------------------
# Credit decisions
# ---------------------------------------------------------------------------


@router.get(
    "/screening/decisions",
    response={200: list[ScreeningBankDecisionOut], **error_responses(403)},
    summary="Credit decisions (授信决定) within your reach: a bank's own tree's; the enterprise's own; the park's "
    "and the region's bodies read",
)
@paginate(Paginated)
def decision_list(request: HttpRequest, filters: Query[ScreeningBankDecisionFilter]) -> QuerySet[CreditDecision]:
    user = caller(request)
    require(user, CreditDecision, Action.VIEW)
    qs = selectors.decision_list(user=user)
    if filters.outcome is not None:
        qs = qs.filter(outcome=filters.outcome)
    if filters.entry_id is not None:
        qs = qs.filter(entry_id=filters.entry_id)
    if filters.enterprise_id is not None:
        qs = qs.filter(enterprise_id=filters.enterprise_id)
    if filters.park_id is not None:
        qs = qs.filter(entry__version__whitelist__park_id=filters.park_id)
    return qs


@router.post(
    "/screening/decisions",
    response={201: ScreeningBankDecisionOut, **WRITE_ERRORS},
    summary="Record a decision on an entry you receive: a grant (amount, term, 无还本续贷 flag, optionally drawn on "
    "a park allocation of your lines) or a refusal",
)
def decision_create(request: HttpRequest, payload: ScreeningBankDecisionIn) -> Status[CreditDecision]:
    user = caller(request)
    require(user, CreditDecision, Action.ADD)
    entry = resolve(
        WhitelistEntry, user=user, action=Action.VIEW, field="entry_id", label_en="whitelist entry", pk=payload.entry_id
    )
    allocation = None
    if payload.allocation_id is not None:
        allocation = resolve(
            LineAllocation,
            user=user,
            action=Action.VIEW,
            field="allocation_id",
            label_en="line allocation",
            pk=payload.allocation_id,
        )
    try:
        decision = services.decision_record(
            entry=entry,
            outcome=str(payload.outcome),
            amount=_money(payload.amount),
            term_months=payload.term_months,
            renewal_without_repayment=payload.renewal_without_repayment,
            allocation=allocation,
            decided_on=payload.decided_on,
            note=payload.note,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, {"entry": "entry_id", "allocation": "allocation_id"}) from exc
    return Status(201, selectors.decision_list(user=user).get(pk=decision.pk))


@router.get(
    "/screening/decisions/{decision_id}",
    response={200: ScreeningBankDecisionOut, **READ_ERRORS},
    summary="One credit decision",
)
def decision_detail(request: HttpRequest, decision_id: int = DecisionId) -> CreditDecision:
    user = caller(request)
    require(user, CreditDecision, Action.VIEW)
    scoped_get(CreditDecision, user=user, pk=decision_id)
    return selectors.decision_list(user=user).get(pk=decision_id)


# ---------------------------------------------------------------------------
# Intended credit lines and allocations
# ---------------------------------------------------------------------------


def _line_detail(user: Any, line_id: int) -> IntendedCreditLine:
    line = selectors.line_list(user=user).get(pk=line_id)
    line.visible_allocations = list(selectors.line_allocations(user=user, line=line))  # type: ignore[attr-defined]
    return line


@router.get(
    "/screening/credit-lines",
    response={200: list[ScreeningCreditLineOut], **error_responses(403)},
    summary="Park intended credit lines (意向性授信额度) within your reach: a bank's own tree's, a park's own, the "
    "region's bodies read; with utilisation and days to expiry",
)
@paginate(Paginated)
def line_list(request: HttpRequest, filters: Query[ScreeningCreditLineFilter]) -> QuerySet[IntendedCreditLine]:
    user = caller(request)
    require(user, IntendedCreditLine, Action.VIEW)
    qs = selectors.line_list(user=user)
    if filters.park_id is not None:
        qs = qs.filter(park_id=filters.park_id)
    if filters.bank_id is not None:
        qs = qs.filter(bank_id=filters.bank_id)
    if filters.status is not None:
        qs = qs.filter(status=filters.status)
    return qs


@router.post(
    "/screening/credit-lines",
    response={201: ScreeningCreditLineDetailOut, **WRITE_ERRORS},
    summary="A bank grants a park an intended credit line around a patent cluster (IPC subclass or main group) or a "
    "regional brand, with amount, period and conditions",
)
def line_create(request: HttpRequest, payload: ScreeningCreditLineIn) -> Status[IntendedCreditLine]:
    user = caller(request)
    require(user, IntendedCreditLine, Action.ADD)
    bank = _own_bank(request, payload.bank_id)
    park = resolve(Park, user=user, action=Action.VIEW, field="park_id", pk=payload.park_id)
    amount = _money(payload.amount)
    assert amount is not None
    try:
        line = services.line_create(
            bank=bank,
            park=park,
            basis=str(payload.basis),
            ipc_group=payload.ipc_group,
            brand=payload.brand,
            amount=amount,
            valid_from=payload.valid_from,
            valid_to=payload.valid_to,
            conditions=payload.conditions,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, {"bank": "bank_id", "park": "park_id"}) from exc
    return Status(201, _line_detail(user, line.pk))


@router.get(
    "/screening/credit-lines/{line_id}",
    response={200: ScreeningCreditLineDetailOut, **READ_ERRORS},
    summary="One intended credit line with its utilisation and the allocations you may see",
)
def line_detail(request: HttpRequest, line_id: int = LineId) -> IntendedCreditLine:
    user = caller(request)
    require(user, IntendedCreditLine, Action.VIEW)
    scoped_get(IntendedCreditLine, user=user, pk=line_id)
    return _line_detail(user, line_id)


@router.post(
    "/screening/credit-lines/{line_id}/withdraw",
    response={200: ScreeningCreditLineDetailOut, **WRITE_ERRORS},
    summary="The granting bank withdraws its line: active allocations are released (what was drawn stays drawn)",
)
def line_withdraw(request: HttpRequest, line_id: int = LineId) -> IntendedCreditLine:
    user = caller(request)
    require(user, IntendedCreditLine, Action.VIEW)
    line = scoped_get(IntendedCreditLine, user=user, pk=line_id)
    services.line_withdraw(line=line, acting_user=user)
    return _line_detail(user, line.pk)


@router.post(
    "/screening/credit-lines/{line_id}/allocations",
    response={201: ScreeningLineAllocationOut, **WRITE_ERRORS},
    summary="The park allocates part of the line to an enterprise of its current approved whitelist (never beyond "
    "the line: `exceeds_remaining` states what is left)",
)
def line_allocate(
    request: HttpRequest, payload: ScreeningLineAllocationIn, line_id: int = LineId
) -> Status[LineAllocation]:
    user = caller(request)
    require(user, IntendedCreditLine, Action.VIEW)
    line = scoped_get(IntendedCreditLine, user=user, pk=line_id)
    services.require_park_officer(user, line, Action.ADD)  # before the body's references are resolved
    entry = resolve(
        WhitelistEntry, user=user, action=Action.VIEW, field="entry_id", label_en="whitelist entry", pk=payload.entry_id
    )
    amount = _money(payload.amount)
    assert amount is not None
    try:
        allocation = services.allocation_create(
            line=line, entry=entry, amount=amount, note=payload.note, acting_user=user
        )
    except ValidationError as exc:
        raise renamed_fields(exc, {"entry": "entry_id", "line": "line_id"}) from exc
    return Status(201, LineAllocation.objects.select_related("enterprise").get(pk=allocation.pk))


@router.post(
    "/screening/allocations/{allocation_id}/release",
    response={200: ScreeningLineAllocationOut, **WRITE_ERRORS},
    summary="The park releases an allocation: its unused part goes back to the line",
)
def allocation_release(request: HttpRequest, allocation_id: int = AllocationId) -> LineAllocation:
    user = caller(request)
    require(user, LineAllocation, Action.VIEW)
    allocation = scoped_get(LineAllocation, user=user, pk=allocation_id)
    services.allocation_release(allocation=allocation, acting_user=user)
    return LineAllocation.objects.select_related("enterprise").get(pk=allocation.pk)
