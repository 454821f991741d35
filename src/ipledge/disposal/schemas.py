"""API schemas of collateral disposal (质物处置): cases with their rights, lots and proceeds entries, auction
sessions and lots with the public bid history, bidder registrations, licence income and the disposal history.

Money travels as a decimal string in yuan with two places (`"2200000.00"`), never as a JSON number. Times of the
auction are ISO 8601 date-times with a time zone. Names carry a prefix (`Disposal…`, `Auction…`) so that no OpenAPI
component collides with another app's.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AwareDatetime

from ipledge.core.apikit import MAX_ID
from ipledge.core.money import Money
from ipledge.core.schemas import InputSchema
from ipledge.registry.choices import IPKind
from ipledge.registry.schemas import MoneyStr, OrgRef, money_out

from .choices import DepositStatus, LotStatus, ProceedsSource, ProceedsStep, Route, SessionStatus
from .engine import auction as auction_rules

ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
IdempotencyKey = Annotated[
    str, Field(max_length=64, description="The same key again answers the original record and posts nothing twice.")
]


def _username(user: Any) -> str | None:
    return None if user is None else str(user.get_username())


# ---------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------


class DisposalLoanRef(Schema):
    id: int
    reference: str


class DisposalPledgorRef(Schema):
    id: int
    name: str


class DisposalRightRef(Schema):
    id: int
    kind: IPKind
    number: str
    title: str


# ---------------------------------------------------------------------------
# Auction sessions, lots, bids and bidders
# ---------------------------------------------------------------------------


class AuctionSessionOut(Schema):
    id: int
    platform: OrgRef
    title: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime = Field(..., description="The scheduled end; each lot keeps its own (extended) end.")
    extension_minutes: int = Field(
        ..., description="A bid this close to a lot's end pushes the end to this many minutes after it (延时竞价)."
    )
    status: SessionStatus
    lot_count: int
    created_at: datetime.datetime

    @staticmethod
    def resolve_lot_count(obj: Any) -> int:
        count = getattr(obj, "lot_total", None)
        return int(count) if count is not None else int(obj.lots.count())


class AuctionLotOut(Schema):
    """A lot as every signed-in organisation sees it in the listing (拍卖公告)."""

    id: int
    session_id: int
    session_title: str
    case_id: int
    number: int
    rights: list[DisposalRightRef] = Field(..., description="The rights offered together in the lot.")
    reserve_price: str = Field(..., description="保留价: the first bid must reach it.")
    deposit: str = Field(..., description="保证金 a bidder pays before it may bid.")
    increment: str = Field(..., description="加价幅度: each later bid beats the current price by at least this.")
    current_price: str | None
    bid_count: int
    starts_at: datetime.datetime
    ends_at: datetime.datetime = Field(..., description="The lot's end, pushed back by late bids.")
    status: LotStatus
    winner_alias: str | None = Field(None, description="The winning bidder's number (竞买号) once sold.")
    closed_at: datetime.datetime | None

    @staticmethod
    def resolve_session_title(obj: Any) -> str:
        return str(obj.session.title)

    @staticmethod
    def resolve_rights(obj: Any) -> list[Any]:
        return [item.ip_right for item in obj.case.rights.all()]

    @staticmethod
    def resolve_reserve_price(obj: Any) -> str | None:
        return money_out(obj.reserve_price)

    @staticmethod
    def resolve_deposit(obj: Any) -> str | None:
        return money_out(obj.deposit)

    @staticmethod
    def resolve_increment(obj: Any) -> str | None:
        return money_out(obj.increment)

    @staticmethod
    def resolve_current_price(obj: Any) -> str | None:
        return money_out(obj.current_price)

    @staticmethod
    def resolve_starts_at(obj: Any) -> datetime.datetime:
        return obj.session.starts_at  # type: ignore[no-any-return]

    @staticmethod
    def resolve_winner_alias(obj: Any) -> str | None:
        return None if obj.winner_id is None else str(obj.winner.alias)


class AuctionBidHistoryOut(Schema):
    """One accepted bid as the lot page shows it: the bidder appears by its number (竞买号) only."""

    sequence: int
    alias: str
    amount: str
    placed_at: datetime.datetime

    @staticmethod
    def resolve_alias(obj: Any) -> str:
        return str(obj.registration.alias)

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_out(obj.amount)


class DisposalBidderOut(Schema):
    """A bidder registration (竞买登记), read by the bidder, the platform and the case's bank."""

    id: int
    lot_id: int
    session_id: int
    case_id: int
    bidder: OrgRef
    alias: str = Field(..., description="The bidder's number in the lot (竞买号), shown publicly with its bids.")
    deposit_status: DepositStatus
    deposit_paid_on: datetime.date | None
    registered_by: str | None
    created_at: datetime.datetime

    @staticmethod
    def resolve_session_id(obj: Any) -> int:
        return int(obj.lot.session_id)

    @staticmethod
    def resolve_case_id(obj: Any) -> int:
        return int(obj.lot.case_id)

    @staticmethod
    def resolve_registered_by(obj: Any) -> str | None:
        return _username(obj.registered_by)


class AuctionLotDetailOut(AuctionLotOut):
    minimum_bid: str | None = Field(None, description="The lowest bid accepted now; null once the lot is closed.")
    bids: list[AuctionBidHistoryOut] = Field(..., description="The public bid history, newest first.")
    registration: DisposalBidderOut | None = Field(
        None, description="Your organisation's registration for the lot, if it signed up."
    )

    @staticmethod
    def resolve_minimum_bid(obj: Any) -> str | None:
        if obj.status != LotStatus.LISTED:
            return None
        fen = auction_rules.minimum_bid_fen(
            reserve_fen=obj.reserve_price.fen,
            increment_fen=obj.increment.fen,
            current_fen=obj.current_price.fen if obj.current_price is not None else None,
        )
        return money_out(Money.from_fen(fen))

    @staticmethod
    def resolve_bids(obj: Any) -> list[Any]:
        return list(getattr(obj, "public_bids", []))

    @staticmethod
    def resolve_registration(obj: Any) -> Any:
        return getattr(obj, "own_registration", None)


class AuctionSessionDetailOut(AuctionSessionOut):
    lots: list[AuctionLotOut]

    @staticmethod
    def resolve_lots(obj: Any) -> list[Any]:
        return list(getattr(obj, "listed_lots", []))


class AuctionBidOut(Schema):
    """The answer to your own bid."""

    id: int
    lot_id: int
    sequence: int
    alias: str
    amount: str
    placed_at: datetime.datetime
    lot_ends_at: datetime.datetime = Field(..., description="The lot's end after the bid (pushed back when late).")

    @staticmethod
    def resolve_alias(obj: Any) -> str:
        return str(obj.registration.alias)

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_out(obj.amount)

    @staticmethod
    def resolve_lot_ends_at(obj: Any) -> datetime.datetime:
        return obj.lot.ends_at  # type: ignore[no-any-return]


class AuctionSessionFilter(Schema):
    platform_id: ObjectId | None = None
    status: SessionStatus | None = None


class AuctionSessionIn(InputSchema):
    platform_id: ObjectId | None = Field(None, description="The disposal platform; default: the caller's own.")
    title: str = Field(..., min_length=1, max_length=128)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    extension_minutes: int = Field(5, ge=0, le=60)


class AuctionLotIn(InputSchema):
    case_id: ObjectId = Field(..., description="A case whose approved route is an online auction at this platform.")
    reserve_price: MoneyStr
    deposit: MoneyStr
    increment: MoneyStr


class AuctionBidIn(InputSchema):
    amount: MoneyStr


class DisposalBidderFilter(Schema):
    lot_id: ObjectId | None = None
    session_id: ObjectId | None = None
    deposit_status: DepositStatus | None = None


class DisposalDepositIn(InputSchema):
    paid_on: datetime.date | None = Field(None, description="Default: today.")


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------


class DisposalCaseOut(Schema):
    id: int
    reference: str
    status: int = Field(
        ...,
        description="CaseStatus: 100 opened, 200 route proposed, 300 route approved, 400 in progress, 500 sold, "
        "600 paid, 700 transferred, 800 distributed, 900 closed.",
    )
    status_label: str
    loan: DisposalLoanRef
    bank: OrgRef
    pledgor: DisposalPledgorRef
    region_code: str
    route: Route | None = Field(None, description="Null until a route is proposed.")
    route_label: str | None
    route_note: str
    platform: OrgRef | None = Field(None, description="The disposal platform (auction) or the acquirer.")
    opened_on: datetime.date
    proposed_by: str | None
    approved_by: str | None
    route_approved_on: datetime.date | None
    buyer: OrgRef | None
    sale_price: str | None
    sold_on: datetime.date | None
    paid_on: datetime.date | None
    transferred_on: datetime.date | None
    cancellation_filing_id: int | None = Field(None, description="The pledge cancellation filed at the transfer.")
    costs: str = Field(..., description="Disposal costs taken first from the proceeds.")
    distributed_on: datetime.date | None
    closed_on: datetime.date | None
    note: str
    version: int

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_route(obj: Any) -> str | None:
        return str(obj.route) if obj.route else None

    @staticmethod
    def resolve_route_label(obj: Any) -> str | None:
        return str(obj.get_route_display()) if obj.route else None

    @staticmethod
    def resolve_pledgor(obj: Any) -> dict[str, Any]:
        return {"id": obj.pledgor.pk, "name": obj.pledgor.name}

    @staticmethod
    def resolve_proposed_by(obj: Any) -> str | None:
        return _username(obj.proposed_by)

    @staticmethod
    def resolve_approved_by(obj: Any) -> str | None:
        return _username(obj.approved_by)

    @staticmethod
    def resolve_sale_price(obj: Any) -> str | None:
        return money_out(obj.sale_price)

    @staticmethod
    def resolve_costs(obj: Any) -> str | None:
        return money_out(obj.costs)


class DisposalCaseRightOut(Schema):
    id: int
    ip_right: DisposalRightRef
    prior_value: str | None = Field(None, description="The last valuation's P50 before the case (原评估值).")
    prior_valuation_id: int | None
    fresh_value: str | None = Field(None, description="The fresh valuation's P50 (处置评估值), for the reserve.")
    fresh_valuation_id: int | None
    price_share: str | None = Field(None, description="The sale price spread over the rights by prior value.")

    @staticmethod
    def resolve_prior_value(obj: Any) -> str | None:
        return money_out(obj.prior_value)

    @staticmethod
    def resolve_fresh_value(obj: Any) -> str | None:
        return money_out(obj.fresh_value)

    @staticmethod
    def resolve_price_share(obj: Any) -> str | None:
        return money_out(obj.price_share)


class DisposalProceedsEntryOut(Schema):
    """One step of the waterfall: `amount` moves from `credit_account` to `debit_account`."""

    id: int
    source: ProceedsSource
    licence_income_id: int | None
    step: ProceedsStep
    step_label: str
    sequence: int
    debit_account: str = Field(..., description="Who receives the amount.")
    credit_account: str = Field(..., description="Where it comes from (the proceeds, or the bank for the fund).")
    payee: OrgRef | None
    amount: str
    posted_on: datetime.date
    posted_by: str | None

    @staticmethod
    def resolve_step_label(obj: Any) -> str:
        return str(obj.get_step_display())

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_out(obj.amount)

    @staticmethod
    def resolve_posted_by(obj: Any) -> str | None:
        return _username(obj.posted_by)


class DisposalLicenceIncomeOut(Schema):
    id: int
    case_id: int
    licensee: str
    received_on: datetime.date
    amount: str
    costs: str
    idempotency_key: str
    recorded_by: str | None
    created_at: datetime.datetime

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_out(obj.amount)

    @staticmethod
    def resolve_costs(obj: Any) -> str | None:
        return money_out(obj.costs)

    @staticmethod
    def resolve_recorded_by(obj: Any) -> str | None:
        return _username(obj.recorded_by)


class DisposalCaseDetailOut(DisposalCaseOut):
    rights: list[DisposalCaseRightOut]
    lots: list[AuctionLotOut] = Field(..., description="Every listing of the case, oldest first.")
    entries: list[DisposalProceedsEntryOut] = Field(..., description="The proceeds waterfall as posted.")
    licence_incomes: list[DisposalLicenceIncomeOut]
    claim_id: int | None = Field(
        None, description="The risk-compensation claim on the loan, when you may see it (its recovery comes from here)."
    )

    @staticmethod
    def resolve_rights(obj: Any) -> list[Any]:
        return list(obj.rights.all())

    @staticmethod
    def resolve_lots(obj: Any) -> list[Any]:
        return list(getattr(obj, "case_lots", []))

    @staticmethod
    def resolve_entries(obj: Any) -> list[Any]:
        return list(obj.entries.all())

    @staticmethod
    def resolve_licence_incomes(obj: Any) -> list[Any]:
        return list(obj.licence_incomes.all())

    @staticmethod
    def resolve_claim_id(obj: Any) -> int | None:
        return getattr(obj, "visible_claim_id", None)


class DisposalCaseFilter(Schema):
    status: int | None = Field(None, ge=0, le=1000)
    route: Route | None = None
    loan_id: ObjectId | None = None
    platform_id: ObjectId | None = None
    q: str | None = Field(None, max_length=64, description="Case reference contains.")


class DisposalCaseIn(InputSchema):
    loan_id: ObjectId = Field(..., description="A defaulted or non-performing loan of your bank with its pledge.")
    note: str = Field("", max_length=2000)


class DisposalRevalueIn(InputSchema):
    agency_id: ObjectId | None = Field(None, description="A valuation agency to run the fresh valuation for.")


class DisposalRouteIn(InputSchema):
    route: Route
    platform_id: ObjectId | None = Field(
        None, description="Required for an online auction (the disposal platform) and an acquisition (the acquirer)."
    )
    note: str = Field("", max_length=4000)


class DisposalSaleIn(InputSchema):
    buyer_id: ObjectId = Field(..., description="The buyer; for an acquisition, the acquirer of the approved route.")
    price: MoneyStr


class DisposalPaymentIn(InputSchema):
    paid_on: datetime.date | None = Field(None, description="Default: today.")


class DisposalDistributeIn(InputSchema):
    costs: MoneyStr = Field(..., description="Disposal costs (处置费用), paid first out of the price.")


class DisposalLicenceIncomeIn(InputSchema):
    licensee: str = Field(..., min_length=1, max_length=128)
    amount: MoneyStr
    costs: MoneyStr = Field("0", description="Operating costs, at most the amount.")
    received_on: datetime.date
    idempotency_key: IdempotencyKey = ""


class DisposalCloseIn(InputSchema):
    note: str = Field("", max_length=2000)


# ---------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------


class DisposalHistoryOut(Schema):
    """One sale against the rights' prior valuations, for the market approach and the funds."""

    case_id: int
    reference: str
    route: Route | None
    sale_price: str | None
    prior_value: str | None
    price_to_value: str | None = Field(None, description="Sale price ÷ prior value, a decimal string.")
    days_to_sale: int | None = Field(None, description="Days from opening the case to the sale.")


class DisposalHistoryFilter(Schema):
    region_prefix: str = Field(
        "", pattern=r"^[0-9]{0,6}$", description='Cases in regions whose code starts with this, e.g. "11" (Beijing).'
    )
