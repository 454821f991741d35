"""API schemas of lending (贷款): loans, their schedule, transactions, covers, collateral, investments and
classification history; bank credit plans and NPL reports; LPR quotes.

Money travels as a decimal string in yuan with at most two places, rates as decimal fraction strings ("0.0385" is
3.85 %), dates as ISO 8601 (see the registry schemas).
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from ninja import Field, Schema

from ipledge.core.apikit import MAX_ID
from ipledge.core.schemas import InputSchema
from ipledge.registry.schemas import MoneyStr, OrgRef, money_out

from .choices import (
    CoverKind,
    ImplementationStatus,
    InvestmentTermKind,
    LoanClass,
    LoanOrigin,
    LprTenor,
    RateType,
    RenewalKind,
    RepaymentMethod,
    TransactionKind,
)

ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
RateStr = Annotated[
    str,
    Field(
        pattern=r"^0(\.[0-9]{1,6})?$",
        description='Annual rate as a decimal fraction string, e.g. "0.0385" for 3.85 %.',
        examples=["0.0385"],
    ),
]
RatioStr = Annotated[
    str,
    Field(pattern=r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$", description='A ratio in [0, 1], e.g. "0.8".', examples=["0.8"]),
]
IdempotencyKey = Annotated[str, Field(max_length=64, description="Same key again returns the original transaction.")]


def _rate(value: Any) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------------------
# Loans
# ---------------------------------------------------------------------------


class BorrowerRef(Schema):
    id: int
    name: str
    uscc: str


class LoanOut(Schema):
    id: int
    reference: str
    status: int = Field(..., description="LoanStatus: 100 submitted … 300 active, 600 closed (see docs).")
    status_label: str
    origin: LoanOrigin
    borrower: BorrowerRef
    bank: OrgRef
    park_id: int | None
    region_code: str
    purpose: str
    requested_amount: str
    requested_term_months: int
    principal: str | None
    term_months: int | None
    rate_type: RateType
    annual_rate: str | None
    lpr_tenor: str
    lpr_spread_bp: int | None
    repricing_months: int | None
    repayment_method: RepaymentMethod
    repayment_interval_months: int
    grace_months: int
    penalty_markup: str
    contract_no: str
    contract_signed_on: datetime.date | None
    pledge_registration_id: int | None
    is_ip_pledge: bool
    first_disbursed_on: datetime.date | None
    maturity_date: datetime.date | None
    closed_on: datetime.date | None
    defaulted_on: datetime.date | None
    renewal_of_id: int | None
    renewal_kind: str
    disbursed_amount: str
    outstanding_principal: str
    classification: LoanClass
    days_past_due: int
    version: int

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_requested_amount(obj: Any) -> str | None:
        return money_out(obj.requested_amount)

    @staticmethod
    def resolve_principal(obj: Any) -> str | None:
        return money_out(obj.principal)

    @staticmethod
    def resolve_disbursed_amount(obj: Any) -> str | None:
        return money_out(obj.disbursed_amount)

    @staticmethod
    def resolve_outstanding_principal(obj: Any) -> str | None:
        return money_out(obj.outstanding_principal)

    @staticmethod
    def resolve_annual_rate(obj: Any) -> str | None:
        return _rate(obj.annual_rate)

    @staticmethod
    def resolve_penalty_markup(obj: Any) -> str:
        return str(obj.penalty_markup)


class PositionOut(Schema):
    as_of: datetime.date
    outstanding_principal: str
    overdue_principal: str
    overdue_interest: str
    principal_due_today: str
    interest_due_today: str
    penalty_due: str
    accrued_interest: str
    days_past_due: int
    next_due_date: datetime.date | None
    next_due_amount: str
    payoff_amount: str


class InstalmentOut(Schema):
    number: int
    period_start: datetime.date
    due_date: datetime.date
    annual_rate: str
    principal_due: str
    interest_due: str
    principal_paid: str
    interest_paid: str
    penalty_paid: str
    settled_on: datetime.date | None

    @staticmethod
    def resolve_annual_rate(obj: Any) -> str:
        return str(obj.annual_rate)

    @staticmethod
    def resolve_principal_due(obj: Any) -> str | None:
        return money_out(obj.principal_due)

    @staticmethod
    def resolve_interest_due(obj: Any) -> str | None:
        return money_out(obj.interest_due)

    @staticmethod
    def resolve_principal_paid(obj: Any) -> str | None:
        return money_out(obj.principal_paid)

    @staticmethod
    def resolve_interest_paid(obj: Any) -> str | None:
        return money_out(obj.interest_paid)

    @staticmethod
    def resolve_penalty_paid(obj: Any) -> str | None:
        return money_out(obj.penalty_paid)


class TransactionOut(Schema):
    id: int
    kind: TransactionKind
    value_date: datetime.date
    amount: str
    principal_part: str
    interest_part: str
    penalty_part: str
    allocation: list[dict[str, Any]]
    idempotency_key: str
    note: str
    reversed_at: datetime.datetime | None
    reversal_reason: str

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_out(obj.amount)

    @staticmethod
    def resolve_principal_part(obj: Any) -> str | None:
        return money_out(obj.principal_part)

    @staticmethod
    def resolve_interest_part(obj: Any) -> str | None:
        return money_out(obj.interest_part)

    @staticmethod
    def resolve_penalty_part(obj: Any) -> str | None:
        return money_out(obj.penalty_part)


class CoverOut(Schema):
    id: int
    kind: CoverKind
    provider_id: int | None
    provider_name: str
    cover_ratio: str
    policy_no: str
    valid_until: datetime.date | None

    @staticmethod
    def resolve_cover_ratio(obj: Any) -> str:
        return str(obj.cover_ratio)


class ImplementationOut(Schema):
    id: int
    reported_on: datetime.date
    status: ImplementationStatus
    note: str


class CollateralOut(Schema):
    id: int
    ip_right_id: int
    ip_right_number: str
    ip_right_title: str
    appraised_value: str | None
    appraised_on: datetime.date | None
    valuer_name: str
    implementation: list[ImplementationOut]

    @staticmethod
    def resolve_ip_right_number(obj: Any) -> str:
        return str(obj.ip_right.number)

    @staticmethod
    def resolve_ip_right_title(obj: Any) -> str:
        return str(obj.ip_right.title)

    @staticmethod
    def resolve_appraised_value(obj: Any) -> str | None:
        return money_out(obj.appraised_value)

    @staticmethod
    def resolve_implementation(obj: Any) -> list[Any]:
        return list(obj.implementation_reports.all())


class InvestmentOut(Schema):
    id: int
    investor_id: int | None
    investor_name: str
    term_kind: InvestmentTermKind
    amount: str | None
    equity_ratio: str | None
    exercise_deadline: datetime.date | None
    terms: str

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_out(obj.amount)

    @staticmethod
    def resolve_equity_ratio(obj: Any) -> str | None:
        return _rate(obj.equity_ratio)


class ClassificationChangeOut(Schema):
    business_day: datetime.date
    from_class: LoanClass
    to_class: LoanClass
    source: str
    days_past_due: int
    reasons: list[Any]
    note: str


class LoanDetailOut(LoanOut):
    due_diligence: dict[str, Any]
    decision_note: str
    prepared_by: str | None
    approved_by: str | None
    classification_source: str
    manual_class: str
    funds_misused: bool
    credit_impaired: bool
    refinanced_by_new_loan: bool
    external_rating_downgraded: bool
    restructured_on: datetime.date | None
    position: PositionOut | None = Field(None, description="Null before the first disbursement.")
    schedule: list[InstalmentOut]
    transactions: list[TransactionOut]
    covers: list[CoverOut]
    collateral: list[CollateralOut]
    investments: list[InvestmentOut]
    classification_history: list[ClassificationChangeOut]

    @staticmethod
    def resolve_prepared_by(obj: Any) -> str | None:
        return obj.prepared_by.get_username() if obj.prepared_by_id else None

    @staticmethod
    def resolve_approved_by(obj: Any) -> str | None:
        return obj.approved_by.get_username() if obj.approved_by_id else None

    @staticmethod
    def resolve_position(obj: Any) -> Any:
        return getattr(obj, "position", None)

    @staticmethod
    def resolve_schedule(obj: Any) -> list[Any]:
        return list(obj.instalments.all())

    @staticmethod
    def resolve_classification_history(obj: Any) -> list[Any]:
        return list(obj.classification_changes.all())


class LoanFilter(Schema):
    status: int | None = None
    classification: LoanClass | None = None
    bank_id: ObjectId | None = None
    borrower_id: ObjectId | None = None
    park_id: ObjectId | None = None
    origin: LoanOrigin | None = None
    q: str | None = Field(None, max_length=64, description="Reference or borrower name contains.")


class LoanDetailQuery(Schema):
    as_of: datetime.date | None = Field(None, description="Position on this day (default: today).")


class LoanIn(InputSchema):
    borrower_id: ObjectId | None = Field(None, description="The borrower, if within your reach (its own users).")
    borrower_uscc: str | None = Field(
        None, max_length=64, description="Or the borrower's USCC, as a bank holds it from the application form."
    )
    bank_id: ObjectId | None = Field(None, description="The handling bank; default: the caller's own bank.")
    park_id: ObjectId | None = None
    requested_amount: MoneyStr
    requested_term_months: int = Field(..., ge=1, le=120)
    purpose: str = Field("", max_length=2000)
    origin: LoanOrigin = LoanOrigin.DIRECT


class ReasonIn(InputSchema):
    reason: str = Field(..., min_length=1, max_length=255)


class NoteIn(InputSchema):
    note: str = Field("", max_length=2000)


class DueDiligenceIn(InputSchema):
    done: bool = True
    note: str = Field("", max_length=500)


class CustomRowIn(InputSchema):
    due_date: datetime.date
    principal: MoneyStr


class SubmitIn(InputSchema):
    principal: MoneyStr
    term_months: int = Field(..., ge=1, le=120)
    repayment_method: RepaymentMethod
    rate_type: RateType = RateType.FIXED
    annual_rate: RateStr | None = None
    lpr_tenor: LprTenor | None = None
    lpr_spread_bp: int | None = Field(None, ge=-500, le=2000)
    repricing_months: int | None = Field(None, ge=1, le=120)
    repayment_interval_months: int = Field(1, ge=1, le=120)
    grace_months: int = Field(0, ge=0, le=119)
    penalty_markup: RatioStr = "0.5"
    custom_schedule: list[CustomRowIn] = Field([], max_length=240)


class ContractIn(InputSchema):
    contract_no: str = Field(..., min_length=1, max_length=64)
    signed_on: datetime.date


class PledgeIn(InputSchema):
    registration_id: ObjectId


class MoneyMoveIn(InputSchema):
    amount: MoneyStr
    value_date: datetime.date
    idempotency_key: IdempotencyKey = ""


class RenewIn(InputSchema):
    kind: RenewalKind
    principal: MoneyStr
    term_months: int = Field(..., ge=1, le=120)
    annual_rate: RateStr
    repayment_method: RepaymentMethod
    contract_no: str = Field("", max_length=64)


class DefaultIn(InputSchema):
    on: datetime.date
    reason: str = Field(..., min_length=1, max_length=2000)


class CoverIn(InputSchema):
    kind: CoverKind
    provider_id: ObjectId | None = None
    provider_name: str = Field("", max_length=128)
    cover_ratio: RatioStr
    policy_no: str = Field("", max_length=64)
    valid_until: datetime.date | None = None


class InvestmentIn(InputSchema):
    investor_id: ObjectId | None = None
    investor_name: str = Field("", max_length=128)
    term_kind: InvestmentTermKind
    amount: MoneyStr | None = None
    equity_ratio: RatioStr | None = None
    exercise_deadline: datetime.date | None = None
    terms: str = Field("", max_length=4000)


class CollateralIn(InputSchema):
    ip_right_id: ObjectId
    appraised_value: MoneyStr | None = None
    appraised_on: datetime.date | None = None
    valuer_name: str = Field("", max_length=128)


class ImplementationIn(InputSchema):
    status: ImplementationStatus
    reported_on: datetime.date
    note: str = Field("", max_length=255)


class ClassificationIn(InputSchema):
    to_class: LoanClass
    reason: str = Field(..., min_length=1, max_length=2000)


class RiskFlagsIn(InputSchema):
    reason: str = Field(..., min_length=1, max_length=2000)
    funds_misused: bool | None = None
    credit_impaired: bool | None = None
    refinanced_by_new_loan: bool | None = None
    external_rating_downgraded: bool | None = None
    expected_loss_ratio: RatioStr | None = None
    restructured_on: datetime.date | None = None


# ---------------------------------------------------------------------------
# Bank plans, NPL reports, LPR
# ---------------------------------------------------------------------------


class CreditPlanIn(InputSchema):
    bank_id: ObjectId | None = Field(None, description="Default: the caller's own bank.")
    year: int = Field(..., ge=2019, le=2100)
    planned_amount: MoneyStr
    planned_clients: int = Field(..., ge=0, le=10_000_000)
    note: str = Field("", max_length=255)


class CreditPlanOut(Schema):
    id: int
    bank: OrgRef
    year: int
    planned_amount: str
    planned_clients: int
    note: str

    @staticmethod
    def resolve_planned_amount(obj: Any) -> str | None:
        return money_out(obj.planned_amount)


class NplReportIn(InputSchema):
    bank_id: ObjectId | None = Field(None, description="Default: the caller's own bank.")
    as_of: datetime.date
    npl_ratio: RatioStr


class NplReportOut(Schema):
    id: int
    bank: OrgRef
    as_of: datetime.date
    npl_ratio: str

    @staticmethod
    def resolve_npl_ratio(obj: Any) -> str:
        return str(obj.npl_ratio)


class BankReportFilter(Schema):
    bank_id: ObjectId | None = None
    year: int | None = Field(None, ge=2019, le=2100)


class LprQuery(Schema):
    tenor: LprTenor = LprTenor.ONE_YEAR
    on: datetime.date | None = Field(None, description="Rate in force on this day (default: today).")


class LprQuoteOut(Schema):
    tenor: str
    effective_on: datetime.date
    rate: str

    @staticmethod
    def resolve_rate(obj: Any) -> str:
        return str(obj.rate)


class LprOut(Schema):
    tenor: str
    on: datetime.date
    rate: str | None
    history: list[LprQuoteOut]
