"""API schemas of the demand library (融资项目库) and the bank's leads (线索).

Money travels as a decimal string in yuan with two places (`"2000000.00"`), never as a JSON number. Names carry the
prefix `MarketDemand…` / `MarketLead…` so that no OpenAPI component collides with another area's.
"""

import datetime
from typing import Annotated, Any

from ninja import Field, Schema

from ipledge.core.apikit import MAX_ID
from ipledge.core.schemas import InputSchema
from ipledge.registry.schemas import MoneyStr, OrgRef, money_out

from .choices import DemandPurpose, DemandSource, DemandStatus, LeadResponse

ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
TermMonths = Annotated[int, Field(ge=1, le=360, description="Term in months, 1–360.")]


def _username(user: Any) -> str | None:
    return None if user is None else str(user.get_username())


def _pct(value: Any) -> str | None:
    return None if value is None else f"{value}"


class MarketDemandEnterpriseRef(Schema):
    id: int
    name: str
    region_code: str
    industry_section: str
    size_class: str


class MarketDemandParkRef(Schema):
    id: int
    name: str


class MarketDemandRightRef(Schema):
    id: int
    kind: str
    patent_type: str
    number: str
    title: str
    legal_status: str
    term_end: datetime.date | None


class MarketDemandBestMatch(Schema):
    product: str
    bank: str
    score: str


class MarketDemandOut(Schema):
    id: int
    reference: str
    enterprise: MarketDemandEnterpriseRef
    park: MarketDemandParkRef | None
    region_code: str
    source: DemandSource
    amount: str
    term_months: int
    purpose: DemandPurpose
    description: str
    status: DemandStatus
    share_with_matching_banks: bool
    share_banks: list[OrgRef]
    rights: list[MarketDemandRightRef]
    expires_on: datetime.date
    loan_reference: str | None
    closed_on: datetime.date | None
    matched_at: datetime.datetime | None
    version: int
    eligible_products: int = Field(..., description="Eligible live products among the matches you may see.")
    best_match: MarketDemandBestMatch | None = Field(None, description="The top-ranked match you may see.")
    created_by: str | None
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_out(obj.amount)

    @staticmethod
    def resolve_share_banks(obj: Any) -> list[Any]:
        return sorted((s.bank for s in obj.shares.all()), key=lambda bank: bank.name)

    @staticmethod
    def resolve_rights(obj: Any) -> list[Any]:
        return sorted((dr.ip_right for dr in obj.rights.all()), key=lambda right: right.number)

    @staticmethod
    def resolve_loan_reference(obj: Any) -> str | None:
        return obj.loan.reference if obj.loan_id else None

    @staticmethod
    def resolve_eligible_products(obj: Any) -> int:
        return int(getattr(obj, "eligible_count", 0) or 0)

    @staticmethod
    def resolve_best_match(obj: Any) -> dict[str, Any] | None:
        name = getattr(obj, "best_product_name", None)
        if not name:
            return None
        return {"product": name, "bank": getattr(obj, "best_bank_name", ""), "score": str(obj.best_score)}

    @staticmethod
    def resolve_created_by(obj: Any) -> str | None:
        return _username(obj.created_by)


class MarketDemandIn(InputSchema):
    enterprise_id: ObjectId | None = Field(
        None, description="The enterprise (a park names one of its member enterprises); default: your enterprise."
    )
    park_id: ObjectId | None = Field(None, description="The park posting on the enterprise's behalf (default: yours).")
    amount: MoneyStr
    term_months: TermMonths
    purpose: DemandPurpose
    description: str = Field("", max_length=2000)
    right_ids: list[ObjectId] = Field(
        default_factory=list, max_length=200, description="IP rights offered: registered to the enterprise and valid."
    )
    share_bank_ids: list[ObjectId] = Field(
        default_factory=list, max_length=200, description="Banks the enterprise consents to share the demand with."
    )
    share_with_matching_banks: bool = Field(False, description="Share with every bank whose product matches.")
    expires_on: datetime.date | None = Field(None, description="Default: today + 180 days; never in the past.")


class MarketDemandPatch(InputSchema):
    version: int | None = Field(None, ge=1, description="The version you edited (refused as `stale` if it moved on).")
    amount: MoneyStr | None = None
    term_months: TermMonths | None = None
    purpose: DemandPurpose | None = None
    description: str | None = Field(None, max_length=2000)
    right_ids: list[ObjectId] | None = Field(None, max_length=200)
    expires_on: datetime.date | None = None


class MarketDemandWithdrawIn(InputSchema):
    note: str = Field("", max_length=500)


class MarketDemandLoanIn(InputSchema):
    loan_id: ObjectId


class MarketDemandSharesIn(InputSchema):
    bank_ids: list[ObjectId] = Field(default_factory=list, max_length=200)
    share_with_matching_banks: bool = False


class MarketDemandFilter(Schema):
    status: DemandStatus | None = None
    purpose: DemandPurpose | None = None
    enterprise_id: int | None = None
    park_id: int | None = None
    active: bool | None = Field(None, description="Only active (open, matched, in talks) or only closed demands.")


class MarketDemandReason(Schema):
    code: str = Field(..., description="Reason code of the matching engine, e.g. `collateral.remaining_years`.")
    passed: bool
    soft: bool = Field(False, description="A note that never fails a pair (e.g. a valuation is suggested).")
    text: str = Field(..., description="The reason in words (zh-hans, or English when requested).")
    params: dict[str, Any] = Field(default_factory=dict, description="The figures the reason names.")


class MarketDemandProductRef(Schema):
    id: int
    code: str
    name: str
    bank: OrgRef


class MarketDemandMatchOut(Schema):
    id: int
    product: MarketDemandProductRef
    product_version: int
    eligible: bool
    rank: int | None
    score: str
    expected_approval: str = Field(..., description="Expected approval probability, 0–1, a decimal string.")
    supported_amount: str | None
    annual_rate: str | None = Field(None, description="Reference annual rate in percent.")
    response: LeadResponse
    response_note: str
    responded_at: datetime.datetime | None
    reasons: list[MarketDemandReason]
    computed_at: datetime.datetime

    @staticmethod
    def resolve_product_version(obj: Any) -> int:
        return int(obj.product_version.number)

    @staticmethod
    def resolve_score(obj: Any) -> str:
        return str(obj.score)

    @staticmethod
    def resolve_expected_approval(obj: Any) -> str:
        return str(obj.expected_approval)

    @staticmethod
    def resolve_supported_amount(obj: Any) -> str | None:
        return money_out(obj.supported_amount)

    @staticmethod
    def resolve_annual_rate(obj: Any) -> str | None:
        return _pct(obj.annual_rate)

    @staticmethod
    def resolve_reasons(obj: Any) -> list[dict[str, Any]]:
        from .explain import describe_reason

        out = []
        for item in obj.reasons or []:
            if not isinstance(item, dict):
                continue
            params = item.get("params")
            out.append(
                {
                    "code": str(item.get("code", "")),
                    "passed": bool(item.get("passed")),
                    "soft": bool(item.get("soft")),
                    "text": describe_reason(item),
                    "params": params if isinstance(params, dict) else {},
                }
            )
        return out


class MarketLeadDemandRef(Schema):
    id: int
    reference: str
    status: DemandStatus
    amount: str
    term_months: int
    purpose: DemandPurpose
    expires_on: datetime.date
    created_at: datetime.datetime

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_out(obj.amount)


class MarketLeadOut(MarketDemandMatchOut):
    demand: MarketLeadDemandRef
    enterprise: MarketDemandEnterpriseRef
    park: MarketDemandParkRef | None
    responded_by: str | None

    @staticmethod
    def resolve_enterprise(obj: Any) -> Any:
        return obj.demand.enterprise

    @staticmethod
    def resolve_park(obj: Any) -> Any:
        return obj.demand.park

    @staticmethod
    def resolve_responded_by(obj: Any) -> str | None:
        return _username(obj.responded_by)


class MarketLeadFilter(Schema):
    product_id: int | None = None
    response: str | None = Field(
        None, pattern="^(none|interested|contacted|declined)$", description="`none` = not answered yet."
    )
    park_id: int | None = None
    active: bool = Field(True, description="Only leads on active demands (default); false: every lead.")


class MarketLeadRespondIn(InputSchema):
    response: LeadResponse = Field(..., description="interested, contacted or declined.")
    note: str = Field("", max_length=2000)
