"""API schemas of risk compensation (风险补偿基金): funds and their figures, schemes and versions, enrolments,
claims with their terms, payments, recoveries and ledger positions, the journal, stress tests and alerts.

Money travels as a decimal string in yuan with two places (`"4800000.00"`), never as a JSON number; the ledger's
fen never leave the server (a signed amount is a debit when positive, a credit when negative). Ratios and shares
are decimal fraction strings (`"0.8"` is 80 %). Names carry a prefix (`Fund…`, `Scheme…`, `Compensation…`) so that
no OpenAPI component collides with another app's.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from ninja import Field, Schema

from ipledge.core.apikit import MAX_ID
from ipledge.core.money import Money
from ipledge.core.schemas import InputSchema, RegionRef
from ipledge.registry.choices import SizeClass
from ipledge.registry.schemas import MoneyStr, OrgRef, money_out

from .choices import (
    AccountKind,
    ClaimTrigger,
    EnrolmentStatus,
    EntryKind,
    FundAlertKind,
    FundStatus,
    PartyRole,
    PaymentPurpose,
    PaymentStatus,
    RecoveryKind,
    SchemeStatus,
    SharingMode,
    StressRunStatus,
)

ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
FractionStr = Annotated[
    str,
    Field(
        pattern=r"^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$",
        description='A fraction in [0, 1] as a decimal string, e.g. "0.8" for 80 %.',
        examples=["0.8"],
    ),
]
LeverageStr = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,3}(\.[0-9]{1,2})?$",
        description='Leverage cap (放大倍数) as a decimal string, 1–100, e.g. "10".',
        examples=["10"],
    ),
]
IdempotencyKey = Annotated[
    str, Field(max_length=64, description="The same key again answers the original record and moves no money twice.")
]


def _fen(value: Any) -> str | None:
    return None if value is None else f"{Money.from_fen(int(value)).amount:.2f}"


def _fen_map(values: dict[str, Any] | None) -> dict[str, str]:
    return {role: f"{Money.from_fen(int(fen)).amount:.2f}" for role, fen in (values or {}).items()}


def tiers_out(tiers: Any) -> list[dict[str, Any]]:
    """Stored sharing tiers as the API shows them: bounds in yuan (null: unbounded), shares as strings."""
    return [
        {
            "up_to": None if tier.get("up_to") is None else str(tier["up_to"]),
            "shares": {role: str(share) for role, share in (tier.get("shares") or {}).items()},
        }
        for tier in tiers or []
    ]


def _username(user: Any) -> str | None:
    return None if user is None else str(user.get_username())


def _org(org: Any) -> dict[str, Any] | None:
    return None if org is None else {"id": org.pk, "name": org.name}


# ---------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------


class FundRef(Schema):
    id: int
    code: str
    name: str


class CompensationLoanRef(Schema):
    id: int
    reference: str


class CompensationBorrowerRef(Schema):
    id: int
    name: str


# ---------------------------------------------------------------------------
# Funds
# ---------------------------------------------------------------------------


class FundOut(Schema):
    id: int
    code: str
    name: str
    manager: OrgRef
    sponsors: list[OrgRef]
    region: RegionRef
    capital: str = Field(..., description="Subscribed capital (认缴规模), yuan.")
    leverage_cap: str = Field(..., description="Covered principal may reach capital × this (放大倍数).")
    liability_capped: bool = Field(..., description="Payouts are limited to the fund's balance (以基金总额为限).")
    status: FundStatus
    established_on: datetime.date
    expires_on: datetime.date | None
    idle_days: int
    idle_utilisation: str

    @staticmethod
    def resolve_sponsors(obj: Any) -> list[Any]:
        return list(obj.sponsors.all())

    @staticmethod
    def resolve_capital(obj: Any) -> str | None:
        return money_out(obj.capital)

    @staticmethod
    def resolve_leverage_cap(obj: Any) -> str:
        return str(obj.leverage_cap)

    @staticmethod
    def resolve_idle_utilisation(obj: Any) -> str:
        return str(obj.idle_utilisation)


class SchemeTierIn(InputSchema):
    up_to: MoneyStr | None = Field(
        None, description="Inclusive upper bound of the loan balance at NPL, yuan; null: unbounded (last tier only)."
    )
    shares: dict[str, FractionStr] = Field(
        ...,
        description="Role → share: fund (required, > 0), bank (required, may be 0), insurer, guarantor, valuer; "
        "they add up to exactly 1.",
        examples=[{"fund": "0.8", "bank": "0.2"}],
    )


class SchemeTierOut(Schema):
    up_to: str | None
    shares: dict[str, str]


class SchemeVersionOut(Schema):
    id: int
    fund_id: int
    scheme_id: int
    scheme_code: str
    scheme_name: str
    number: int
    status: SchemeStatus
    effective_from: datetime.date
    effective_to: datetime.date | None
    ip_only: bool
    min_ip_share: str
    covers_ip_share_only: bool
    enterprise_sizes: list[str]
    requires_whitelist: bool
    region_prefixes: list[str]
    max_principal: str | None
    max_term_months: int | None
    enrol_window_days: int
    sharing_mode: SharingMode
    sharing_tiers: list[SchemeTierOut]
    covers_interest: bool
    advance_ratio: str
    cap_per_loan: str | None
    cap_per_enterprise: str | None
    cap_per_year: str | None
    trigger: ClaimTrigger
    trigger_days_overdue: int
    requires_collection_evidence: bool
    claim_window_days: int | None
    pledge_before_npl: bool
    note: str
    prepared_by: str | None
    approved_by: str | None
    approved_at: datetime.datetime | None

    @staticmethod
    def resolve_fund_id(obj: Any) -> int:
        return int(obj.scheme.fund_id)

    @staticmethod
    def resolve_scheme_code(obj: Any) -> str:
        return str(obj.scheme.code)

    @staticmethod
    def resolve_scheme_name(obj: Any) -> str:
        return str(obj.scheme.name)

    @staticmethod
    def resolve_min_ip_share(obj: Any) -> str:
        return str(obj.min_ip_share)

    @staticmethod
    def resolve_advance_ratio(obj: Any) -> str:
        return str(obj.advance_ratio)

    @staticmethod
    def resolve_max_principal(obj: Any) -> str | None:
        return money_out(obj.max_principal)

    @staticmethod
    def resolve_cap_per_loan(obj: Any) -> str | None:
        return money_out(obj.cap_per_loan)

    @staticmethod
    def resolve_cap_per_enterprise(obj: Any) -> str | None:
        return money_out(obj.cap_per_enterprise)

    @staticmethod
    def resolve_cap_per_year(obj: Any) -> str | None:
        return money_out(obj.cap_per_year)

    @staticmethod
    def resolve_sharing_tiers(obj: Any) -> list[dict[str, Any]]:
        return tiers_out(obj.sharing_tiers)

    @staticmethod
    def resolve_prepared_by(obj: Any) -> str | None:
        return _username(obj.prepared_by)

    @staticmethod
    def resolve_approved_by(obj: Any) -> str | None:
        return _username(obj.approved_by)


class SchemeOut(Schema):
    id: int
    fund_id: int
    code: str
    name: str
    versions: list[SchemeVersionOut] = Field(
        default_factory=list, description="Newest first; a loan is enrolled under the version in force when made."
    )

    @staticmethod
    def resolve_versions(obj: Any) -> list[Any]:
        return list(getattr(obj, "visible_versions", []))


class FundDetailOut(FundOut):
    schemes: list[SchemeOut]

    @staticmethod
    def resolve_schemes(obj: Any) -> list[Any]:
        return list(getattr(obj, "visible_schemes", []))


class FundFilter(Schema):
    status: FundStatus | None = None
    q: str | None = Field(None, max_length=64, description="Code or name contains.")


class FundIn(InputSchema):
    code: str = Field(..., min_length=1, max_length=32)
    name: str = Field(..., min_length=1, max_length=128)
    manager_id: ObjectId | None = Field(None, description="The fund manager; default: the caller's organisation.")
    region_code: str = Field(..., pattern=r"^[0-9]{6}$", description="6-digit code of the region the fund serves.")
    capital: MoneyStr
    leverage_cap: LeverageStr
    established_on: datetime.date
    sponsor_ids: list[ObjectId] = Field(default_factory=list, max_length=50, description="Sponsors (出资方).")
    liability_capped: bool = True
    expires_on: datetime.date | None = None
    idle_days: int = Field(365, ge=1, le=3650)
    idle_utilisation: FractionStr = "0.3"


class FundPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=128)
    capital: MoneyStr | None = None
    leverage_cap: LeverageStr | None = None
    liability_capped: bool | None = None
    status: FundStatus | None = None
    expires_on: datetime.date | None = None
    idle_days: int | None = Field(None, ge=1, le=3650)
    idle_utilisation: FractionStr | None = None


class FundFiguresOut(Schema):
    """A fund's monitoring figures (M3); ratios as decimal strings."""

    fund_id: int
    as_of: datetime.date
    capital: str
    contributed: str
    balance: str = Field(..., description="The fund's account balance (基金专户余额).")
    loans_covered: int
    covered_amount: str
    capacity: str = Field(..., description="Capital × leverage cap.")
    leverage_used: str = Field(..., description="Covered principal ÷ capital.")
    utilisation: str = Field(..., description="Covered principal ÷ capacity.")
    claims_filed: int
    claims_open: int
    claims_cleared: int
    advanced: str
    recovered: str
    fund_losses: str
    final_losses: str
    ever_covered: str
    loss_rate: str
    last_claim_on: datetime.date | None
    days_since_activity: int
    idle: bool


class ContributionIn(InputSchema):
    sponsor_id: ObjectId
    amount: MoneyStr
    paid_on: datetime.date
    reference: str = Field("", max_length=64, description="Bank statement reference (银行流水号).")
    idempotency_key: IdempotencyKey = ""


# ---------------------------------------------------------------------------
# Schemes and versions
# ---------------------------------------------------------------------------


class SchemeIn(InputSchema):
    fund_id: ObjectId
    code: str = Field(..., min_length=1, max_length=32)
    name: str = Field(..., min_length=1, max_length=128)


class SchemeVersionIn(InputSchema):
    """A draft version's rules; omitted fields take the defaults shown."""

    scheme_id: ObjectId
    effective_from: datetime.date
    sharing_tiers: list[SchemeTierIn] = Field(..., max_length=20)
    sharing_mode: SharingMode = SharingMode.WHOLE
    ip_only: bool = False
    min_ip_share: FractionStr = "0"
    covers_ip_share_only: bool = False
    enterprise_sizes: list[SizeClass] = Field(default_factory=list, max_length=10)
    requires_whitelist: bool = False
    region_prefixes: list[str] = Field(default_factory=list, max_length=50)
    max_principal: MoneyStr | None = None
    max_term_months: int | None = Field(None, ge=1, le=360)
    enrol_window_days: int = Field(30, ge=0, le=3650)
    covers_interest: bool = False
    advance_ratio: FractionStr = "1"
    cap_per_loan: MoneyStr | None = None
    cap_per_enterprise: MoneyStr | None = None
    cap_per_year: MoneyStr | None = None
    trigger: ClaimTrigger = ClaimTrigger.NON_PERFORMING
    trigger_days_overdue: int = Field(90, ge=0, le=3650)
    requires_collection_evidence: bool = True
    claim_window_days: int | None = Field(None, ge=1, le=3650)
    pledge_before_npl: bool = True
    note: str = Field("", max_length=4000)


class SchemeVersionFilter(Schema):
    fund_id: ObjectId | None = None
    scheme_id: ObjectId | None = None
    status: SchemeStatus | None = None


class CompensationNoteIn(InputSchema):
    note: str = Field("", max_length=2000)


class CompensationReasonIn(InputSchema):
    reason: str = Field(..., min_length=1, max_length=255)


# ---------------------------------------------------------------------------
# Enrolments
# ---------------------------------------------------------------------------


class EnrolmentOut(Schema):
    id: int
    fund: FundRef
    scheme_id: int
    scheme_code: str
    scheme_version_id: int
    scheme_version_number: int
    loan: CompensationLoanRef
    bank: OrgRef
    borrower: CompensationBorrowerRef
    status: EnrolmentStatus
    enrolled_on: datetime.date
    released_on: datetime.date | None
    ip_share: str
    covered_amount: str = Field(..., description="Principal in the pool (在池本金) = principal × IP share.")
    insurer: OrgRef | None
    guarantor: OrgRef | None
    valuer: OrgRef | None

    @staticmethod
    def resolve_scheme_id(obj: Any) -> int:
        return int(obj.scheme_version.scheme_id)

    @staticmethod
    def resolve_scheme_code(obj: Any) -> str:
        return str(obj.scheme_version.scheme.code)

    @staticmethod
    def resolve_scheme_version_number(obj: Any) -> int:
        return int(obj.scheme_version.number)

    @staticmethod
    def resolve_bank(obj: Any) -> dict[str, Any] | None:
        return _org(obj.loan.bank)

    @staticmethod
    def resolve_ip_share(obj: Any) -> str:
        return str(obj.ip_share)

    @staticmethod
    def resolve_covered_amount(obj: Any) -> str | None:
        return money_out(obj.covered_amount)


class EnrolmentFilter(Schema):
    fund_id: ObjectId | None = None
    loan_id: ObjectId | None = None
    status: EnrolmentStatus | None = None


class EnrolmentIn(InputSchema):
    loan_id: ObjectId
    scheme_id: ObjectId = Field(..., description="The scheme; the version in force when the loan was made applies.")
    ip_share: FractionStr = Field("1", description="Share of the IP rights in all the collateral's value.")
    insurer_id: ObjectId | None = Field(None, description="Required when the scheme gives the insurer a share.")
    guarantor_id: ObjectId | None = Field(None, description="Required when the scheme gives the guarantor a share.")
    valuer_id: ObjectId | None = Field(None, description="Required when the scheme gives the valuer a share.")


# ---------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------


class CompensationClaimOut(Schema):
    id: int
    reference: str
    status: int = Field(
        ...,
        description="ClaimStatus: 100 filed, 150 reviewed, 300 advance paid, 500 clearing, "
        "600 cleared, 900 rejected, 910 withdrawn.",
    )
    status_label: str
    fund: FundRef
    enrolment_id: int
    loan: CompensationLoanRef
    bank: OrgRef
    borrower: CompensationBorrowerRef
    npl_on: datetime.date
    days_past_due: int
    outstanding_principal: str = Field(..., description="Principal outstanding when the loan became NPL.")
    unpaid_interest: str
    exposure: str = Field(..., description="The amount shared (代偿敞口).")
    advance_total: str = Field(..., description="All parties' advance payments (先行拨付).")
    fund_committed: str = Field(..., description="The fund's share: its advance, its final share once cleared.")
    recoveries_total: str = Field(..., description="Net recoveries applied to the claim.")
    final_loss: str | None
    filed_by: str | None
    filed_on: datetime.date
    reviewed_by: str | None
    reviewed_at: datetime.datetime | None
    review_note: str
    approved_by: str | None
    approved_on: datetime.date | None
    decision_note: str
    cleared_on: datetime.date | None
    version: int

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_bank(obj: Any) -> dict[str, Any] | None:
        return _org(obj.loan.bank)

    @staticmethod
    def resolve_borrower(obj: Any) -> dict[str, Any]:
        borrower = obj.enrolment.borrower
        return {"id": borrower.pk, "name": borrower.name}

    @staticmethod
    def resolve_outstanding_principal(obj: Any) -> str | None:
        return money_out(obj.outstanding_principal)

    @staticmethod
    def resolve_unpaid_interest(obj: Any) -> str | None:
        return money_out(obj.unpaid_interest)

    @staticmethod
    def resolve_exposure(obj: Any) -> str | None:
        return money_out(obj.exposure)

    @staticmethod
    def resolve_advance_total(obj: Any) -> str | None:
        return money_out(obj.advance_total)

    @staticmethod
    def resolve_fund_committed(obj: Any) -> str | None:
        return money_out(obj.fund_committed)

    @staticmethod
    def resolve_recoveries_total(obj: Any) -> str | None:
        return money_out(obj.recoveries_total)

    @staticmethod
    def resolve_final_loss(obj: Any) -> str | None:
        return money_out(obj.final_loss)

    @staticmethod
    def resolve_filed_by(obj: Any) -> str | None:
        return _username(obj.filed_by)

    @staticmethod
    def resolve_reviewed_by(obj: Any) -> str | None:
        return _username(obj.reviewed_by)

    @staticmethod
    def resolve_approved_by(obj: Any) -> str | None:
        return _username(obj.approved_by)


class CompensationCapsOut(Schema):
    """Limits on the fund's share of one claim (yuan; null: no such limit)."""

    fund_per_loan: str | None
    fund_enterprise_remaining: str | None
    fund_year_remaining: str | None
    fund_available: str | None = Field(
        None, description="The fund's balance, when its liability is capped (shown to the fund's books readers)."
    )


class CompensationTransferOut(Schema):
    payer: PartyRole
    payee: PartyRole
    amount: str


class CompensationClearingOut(Schema):
    final_loss: str
    shares: dict[str, str] = Field(..., description="Each role's final share of the loss.")
    paid: dict[str, str] = Field(..., description="What each payer role had paid the bank before clearing.")
    transfers: list[CompensationTransferOut] = Field(..., description="True-up instructions (清算结算).")
    capped: str
    cap_reason: str | None


class CompensationTermsOut(Schema):
    """The rules a claim is settled under, frozen when it was approved."""

    scheme_version_id: int
    mode: SharingMode
    tiers: list[SchemeTierOut]
    tier_index: int
    balance: str = Field(..., description="The balance that chose the tier (kept through clearing).")
    ratios: dict[str, str]
    advance_ratio: str
    caps: CompensationCapsOut
    cap_reason: str | None
    parties: dict[str, int | None] = Field(..., description="Role → organisation id.")
    advance: dict[str, str] = Field(..., description="Each payer role's advance payment.")
    clearing: CompensationClearingOut | None


class CompensationPositionOut(Schema):
    """The net of one account over the claim's entries (positive: debit; negative: credit)."""

    account_kind: AccountKind
    role: PartyRole
    party: OrgRef | None
    amount: str


class CompensationPaymentOut(Schema):
    id: int
    fund_id: int
    claim_id: int | None
    claim_reference: str | None
    purpose: PaymentPurpose
    payer_role: PartyRole
    payer: OrgRef
    payee_role: PartyRole
    payee: OrgRef
    amount: str
    status: PaymentStatus
    idempotency_key: str
    instructed_on: datetime.date
    paid_on: datetime.date | None
    reference: str
    entry_id: int | None

    @staticmethod
    def resolve_claim_reference(obj: Any) -> str | None:
        return None if obj.claim_id is None else str(obj.claim.reference)

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_out(obj.amount)


class RecoveryOut(Schema):
    id: int
    claim_id: int
    kind: RecoveryKind
    value_date: datetime.date
    gross_amount: str
    costs: str
    net_amount: str
    applied_amount: str = Field(..., description="The part shared at clearing; any surplus over the exposure is not.")
    source_reference: str
    note: str
    idempotency_key: str
    recorded_by: str | None
    created_at: datetime.datetime

    @staticmethod
    def resolve_gross_amount(obj: Any) -> str | None:
        return money_out(obj.gross_amount)

    @staticmethod
    def resolve_costs(obj: Any) -> str | None:
        return money_out(obj.costs)

    @staticmethod
    def resolve_net_amount(obj: Any) -> str | None:
        return money_out(obj.net_amount)

    @staticmethod
    def resolve_applied_amount(obj: Any) -> str | None:
        return money_out(obj.applied_amount)

    @staticmethod
    def resolve_recorded_by(obj: Any) -> str | None:
        return _username(obj.recorded_by)


def terms_out(terms: dict[str, Any], *, show_balance: bool) -> dict[str, Any] | None:
    """A claim's frozen terms (fen inside) as the API shows them (yuan strings)."""
    if not terms:
        return None
    clearing = terms.get("clearing")
    return {
        "scheme_version_id": terms["scheme_version"],
        "mode": terms["mode"],
        "tiers": tiers_out(terms.get("tiers")),
        "tier_index": terms["tier_index"],
        "balance": _fen(terms["balance_fen"]),
        "ratios": dict(terms.get("ratios") or {}),
        "advance_ratio": str(terms["advance_ratio"]),
        "caps": caps_out(terms.get("caps") or {}, show_balance=show_balance),
        "cap_reason": terms.get("cap_reason"),
        "parties": dict(terms.get("parties") or {}),
        "advance": _fen_map(terms.get("advance_fen")),
        "clearing": None
        if not clearing
        else {
            "final_loss": _fen(clearing["final_loss_fen"]),
            "shares": _fen_map(clearing.get("shares_fen")),
            "paid": _fen_map(clearing.get("paid_fen")),
            "transfers": [
                {"payer": t["payer"], "payee": t["payee"], "amount": _fen(t["fen"])}
                for t in clearing.get("transfers") or []
            ],
            "capped": _fen(clearing.get("capped_fen") or 0),
            "cap_reason": clearing.get("cap_reason"),
        },
    }


def caps_out(caps: dict[str, Any], *, show_balance: bool) -> dict[str, Any]:
    return {
        "fund_per_loan": _fen(caps.get("fund_per_loan_fen")),
        "fund_enterprise_remaining": _fen(caps.get("fund_enterprise_remaining_fen")),
        "fund_year_remaining": _fen(caps.get("fund_year_remaining_fen")),
        "fund_available": _fen(caps.get("fund_available_fen")) if show_balance else None,
    }


class CompensationClaimDetailOut(CompensationClaimOut):
    collection_efforts: str
    terms: CompensationTermsOut | None = Field(None, description="Null until the claim is approved.")
    payments: list[CompensationPaymentOut] = Field(..., description="The claim's instructions you may see.")
    recoveries: list[RecoveryOut]
    positions: list[CompensationPositionOut] = Field(..., description="Ledger positions the claim has moved.")

    @staticmethod
    def resolve_terms(obj: Any) -> dict[str, Any] | None:
        return terms_out(obj.terms or {}, show_balance=getattr(obj, "show_balance", False))

    @staticmethod
    def resolve_payments(obj: Any) -> list[Any]:
        return list(getattr(obj, "visible_payments", []))

    @staticmethod
    def resolve_recoveries(obj: Any) -> list[Any]:
        return list(obj.recoveries.all())

    @staticmethod
    def resolve_positions(obj: Any) -> list[dict[str, Any]]:
        return list(getattr(obj, "position_rows", []))


class CompensationClaimFilter(Schema):
    fund_id: ObjectId | None = None
    loan_id: ObjectId | None = None
    status: int | None = Field(None, ge=0, le=1000)


class CompensationClaimIn(InputSchema):
    enrolment_id: ObjectId
    collection_efforts: str = Field("", max_length=4000, description="Steps taken to collect (起诉、申请执行…).")
    unpaid_interest: MoneyStr | None = Field(None, description="Shared only when the scheme covers interest.")


class AdvancePreviewOut(Schema):
    """What approving the claim now would pay; nothing is written."""

    error: str | None = Field(None, description="`balance_above_tiers` when the scheme does not cover the balance.")
    tier_index: int | None
    ratios: dict[str, str]
    shares: dict[str, str] = Field(..., description="Each role's share of the whole exposure.")
    advance: dict[str, str] = Field(..., description="Each payer role's advance payment.")
    capped: str
    cap_reason: str | None
    caps: CompensationCapsOut | None


class RecoveryIn(InputSchema):
    kind: RecoveryKind
    value_date: datetime.date
    gross_amount: MoneyStr
    costs: MoneyStr = Field("0", description="Disposal costs (处置费用) deducted from the gross amount.")
    source_reference: str = Field("", max_length=64)
    note: str = Field("", max_length=255)
    idempotency_key: IdempotencyKey = ""


# ---------------------------------------------------------------------------
# Payments and the journal
# ---------------------------------------------------------------------------


class CompensationPaymentFilter(Schema):
    fund_id: ObjectId | None = None
    claim_id: ObjectId | None = None
    status: PaymentStatus | None = None
    purpose: PaymentPurpose | None = None


class PaymentPaidIn(InputSchema):
    paid_on: datetime.date | None = Field(None, description="Default: today.")
    reference: str = Field("", max_length=64, description="Bank statement reference (银行流水号).")


class JournalLineOut(Schema):
    id: int
    account_id: int
    account_kind: AccountKind
    role: PartyRole
    party: OrgRef | None
    amount: str = Field(..., description="Positive: debit; negative: credit.")

    @staticmethod
    def resolve_account_kind(obj: Any) -> str:
        return str(obj.account.kind)

    @staticmethod
    def resolve_role(obj: Any) -> str:
        return str(obj.account.role)

    @staticmethod
    def resolve_party(obj: Any) -> dict[str, Any] | None:
        return _org(obj.account.party)

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_out(obj.amount)


class JournalEntryOut(Schema):
    id: int
    fund_id: int
    claim_id: int | None
    claim_reference: str | None
    kind: EntryKind
    value_date: datetime.date
    memo: str
    reverses_id: int | None
    reversed_by_id: int | None
    posted_by: str | None
    created_at: datetime.datetime
    lines: list[JournalLineOut] = Field(..., description="They add up to zero.")

    @staticmethod
    def resolve_claim_reference(obj: Any) -> str | None:
        return None if obj.claim_id is None else str(obj.claim.reference)

    @staticmethod
    def resolve_reversed_by_id(obj: Any) -> int | None:
        reversal = getattr(obj, "reversed_by", None)  # RelatedObjectDoesNotExist is an AttributeError
        return None if reversal is None else int(reversal.pk)

    @staticmethod
    def resolve_posted_by(obj: Any) -> str | None:
        return _username(obj.posted_by)

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())


class JournalEntryFilter(Schema):
    fund_id: ObjectId | None = None
    claim_id: ObjectId | None = None
    kind: EntryKind | None = None


# ---------------------------------------------------------------------------
# Stress tests and alerts
# ---------------------------------------------------------------------------


class StressRunIn(InputSchema):
    simulations: int = Field(10_000, ge=100, le=200_000)
    recovery_mean: FractionStr | None = Field(None, description="Mean recovery on a default (default: history).")
    recovery_sd: FractionStr | None = None
    correlation: FractionStr | None = Field(None, description="Default correlation among the pool's loans.")


class StressRunOut(Schema):
    id: int
    fund_id: int
    status: StressRunStatus
    simulations: int
    parameters: dict[str, Any]
    result: dict[str, Any] = Field(
        ..., description="Monte Carlo estimate per horizon (amounts in whole yuan); empty until done."
    )
    error: str
    requested_by: str | None
    created_at: datetime.datetime
    finished_at: datetime.datetime | None

    @staticmethod
    def resolve_requested_by(obj: Any) -> str | None:
        return _username(obj.requested_by)


class FundAlertOut(Schema):
    id: int
    fund: FundRef
    kind: FundAlertKind
    message: str
    figures: dict[str, Any]
    raised_on: datetime.date
    resolved_on: datetime.date | None


class FundAlertFilter(Schema):
    fund_id: ObjectId | None = None
    kind: FundAlertKind | None = None
    open: bool | None = Field(None, description="true: unresolved alerts only; false: resolved ones only.")
