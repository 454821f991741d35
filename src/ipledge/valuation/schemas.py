"""API schemas of valuation (知识产权评估). Money is a decimal string in yuan; rates and shares are decimal fraction
strings ("0.25" is 25 %); a valuation always carries its range (P10 / P50 / P90), never a bare point."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from ninja import Field, Schema

from ipledge.core.apikit import MAX_ID
from ipledge.core.money import Money
from ipledge.core.schemas import InputSchema
from ipledge.registry.schemas import MoneyStr, OrgRef, money_out

from .choices import BatchStatus, ComparableKind, ModelLabel, Scenario, ValuationMethod, ValuationStatus

ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _fen(fen: int) -> str:
    return f"{Money.from_fen(int(fen)).amount:.2f}"


class RightRef(Schema):
    id: int
    number: str
    title: str
    kind: str


class BundleMemberOut(Schema):
    right_id: int
    number: str
    score: float
    grade: str
    p10: str
    p50: str
    p90: str
    pledge_rate: str
    loan_ceiling: str
    pledge_eligible: bool
    pledge_reasons: list[str]


class ValuationOut(Schema):
    id: int
    version: int
    ip_right: RightRef | None
    bundle_id: int | None
    enterprise_id: int | None
    scenario: Scenario
    method: ValuationMethod
    status: ValuationStatus
    valuation_date: datetime.date
    valid_until: datetime.date
    score: str = Field(..., description="Value-degree score 0–100 (legal gates applied).")
    grade: str = Field(..., description="AAA, AA, A, BBB, BB, B, CCC, CC or C.")
    completeness: str = Field(..., description="Share of the indicator weight whose input was known, 0–1.")
    gate_multiplier: str
    gates: list[str]
    contributions: dict[str, float] = Field(..., description="Points each indicator adds; they sum to the score.")
    value_income: str | None
    value_cost: str | None
    value_market: str | None
    p10: str
    p50: str
    p90: str
    pledge_rate: str
    loan_ceiling: str
    pledge_eligible: bool
    pledge_reasons: list[str]
    policy_name: str
    ml_probability: float | None
    ml_contributions: dict[str, float]
    agency: OrgRef | None
    requested_by_org: OrgRef | None
    members: list[BundleMemberOut] = Field(default_factory=list, description="Bundles: each right's figures.")
    bundle_summary: dict[str, Any] = Field(default_factory=dict, description="Bundles: overlap and concentration.")

    @staticmethod
    def resolve_ip_right(obj: Any) -> dict[str, Any] | None:
        right = obj.ip_right
        if right is None:
            return None
        return {"id": right.pk, "number": right.number, "title": right.title, "kind": right.kind}

    @staticmethod
    def resolve_score(obj: Any) -> str:
        return f"{obj.score:.2f}"

    @staticmethod
    def resolve_completeness(obj: Any) -> str:
        return f"{obj.completeness:.3f}"

    @staticmethod
    def resolve_gate_multiplier(obj: Any) -> str:
        return f"{obj.gate_multiplier:.4f}"

    @staticmethod
    def resolve_pledge_rate(obj: Any) -> str:
        return f"{obj.pledge_rate:.4f}"

    @staticmethod
    def resolve_value_income(obj: Any) -> str | None:
        return money_out(obj.value_income)

    @staticmethod
    def resolve_value_cost(obj: Any) -> str | None:
        return money_out(obj.value_cost)

    @staticmethod
    def resolve_value_market(obj: Any) -> str | None:
        return money_out(obj.value_market)

    @staticmethod
    def resolve_p10(obj: Any) -> str | None:
        return money_out(obj.p10)

    @staticmethod
    def resolve_p50(obj: Any) -> str | None:
        return money_out(obj.p50)

    @staticmethod
    def resolve_p90(obj: Any) -> str | None:
        return money_out(obj.p90)

    @staticmethod
    def resolve_loan_ceiling(obj: Any) -> str | None:
        return money_out(obj.loan_ceiling)

    @staticmethod
    def resolve_members(obj: Any) -> list[dict[str, Any]]:
        return [
            {
                "right_id": m["right_id"],
                "number": m["number"],
                "score": m["score"],
                "grade": m["grade"],
                "p10": _fen(m["p10_fen"]),
                "p50": _fen(m["p50_fen"]),
                "p90": _fen(m["p90_fen"]),
                "pledge_rate": f"{m['pledge_rate']:.4f}",
                "loan_ceiling": _fen(m["loan_ceiling_fen"]),
                "pledge_eligible": m["pledge_eligible"],
                "pledge_reasons": m["pledge_reasons"],
            }
            for m in (obj.details or {}).get("members", [])
        ]

    @staticmethod
    def resolve_bundle_summary(obj: Any) -> dict[str, Any]:
        return dict((obj.details or {}).get("bundle", {}))


class ValuationIn(InputSchema):
    ip_right_id: ObjectId
    scenario: Scenario = Scenario.FINANCE
    agency_id: ObjectId | None = Field(None, description="A valuation agency to prepare and sign off the report.")


class BundleValuationIn(InputSchema):
    right_ids: list[ObjectId] = Field(..., min_length=2, max_length=200)
    enterprise_id: ObjectId = Field(..., description="The holder (pledgor) of every right in the bundle.")
    name: str = Field(..., min_length=1, max_length=128)
    scenario: Scenario = Scenario.FINANCE
    agency_id: ObjectId | None = None


class ValuationFilter(Schema):
    ip_right_id: ObjectId | None = None
    bundle_id: ObjectId | None = None
    status: ValuationStatus | None = None
    grade: str | None = Field(None, max_length=3)


class ValuationSubmitIn(InputSchema):
    note: str = Field(..., min_length=1, max_length=4000)


class SignOffIn(InputSchema):
    approve: bool
    note: str = Field("", max_length=4000)


class PolicyOut(Schema):
    id: int | None
    bank: OrgRef | None
    name: str
    effective_from: datetime.date | None
    rules: dict[str, Any]
    is_default: bool


class PolicyIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=128)
    rules: dict[str, Any] = Field(..., description="Same shape as GET returns: caps, minimum remaining years, grades.")
    effective_from: datetime.date | None = None


class ComparableIn(InputSchema):
    transaction_kind: ComparableKind
    price: MoneyStr
    transacted_on: datetime.date
    source: str = Field(..., min_length=1, max_length=255)
    ip_right_id: ObjectId | None = None
    kind: str = Field("", max_length=16)
    patent_type: str = Field("", max_length=24)
    ipc_section: str = Field("", max_length=1)


class ComparableOut(Schema):
    id: int
    transaction_kind: ComparableKind
    kind: str
    patent_type: str
    ipc_section: str
    price: str
    transacted_on: datetime.date
    source: str

    @staticmethod
    def resolve_price(obj: Any) -> str | None:
        return money_out(obj.price)


class InnovationScoreOut(Schema):
    id: int
    enterprise_id: int
    computed_on: datetime.date
    score: str
    grade: str
    completeness: str
    components: dict[str, Any]
    rights_valued: int

    @staticmethod
    def resolve_score(obj: Any) -> str:
        return f"{obj.score:.2f}"

    @staticmethod
    def resolve_completeness(obj: Any) -> str:
        return f"{obj.completeness:.3f}"


class BatchIn(InputSchema):
    park_id: ObjectId | None = None
    region_code: str | None = Field(None, pattern=r"^[0-9]{6}$")
    scenario: Scenario = Scenario.FINANCE


class BatchOut(Schema):
    id: int
    status: BatchStatus
    park_id: int | None
    region_code: str
    scenario: Scenario
    total: int
    done: int
    percent: int
    error: str
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None


class ModelOut(Schema):
    id: int
    label: ModelLabel
    is_active: bool
    cv_auc: float | None
    training_rows: int
    trained_at: datetime.datetime
    card: dict[str, Any]
