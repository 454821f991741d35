"""API schemas of the banking area (白名单推送与意向性授信额度): subscriptions, the whitelist as a bank pulls it
(each entry with its explanation and the caller's latest decision), credit decisions, park intended credit lines
and their allocations.

Money travels as a decimal string in yuan with two places (`"2000000.00"`), never as a JSON number. Names carry the
prefix `ScreeningBank…` / `ScreeningLine…` so that no OpenAPI component collides with another area's.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AwareDatetime

from ipledge.core.apikit import MAX_ID
from ipledge.core.context import business_date
from ipledge.core.schemas import InputSchema, RegionRef
from ipledge.registry.schemas import MoneyStr, OrgRef, money_out

from .choices import AllocationStatus, DecisionOutcome, EntrySource, LineBasis, LineStatus
from .selectors_banking import explain_entry, line_figures

ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
RegionCode = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="6-digit administrative division code.")]


def _username(user: Any) -> str | None:
    return None if user is None else str(user.get_username())


class ScreeningBankParkRef(Schema):
    id: int
    name: str


class ScreeningBankEnterpriseRef(Schema):
    id: int
    name: str
    uscc: str


# ---------------------------------------------------------------------------
# Subscriptions
# ---------------------------------------------------------------------------


class ScreeningBankSubscriptionOut(Schema):
    id: int
    bank: OrgRef
    park: ScreeningBankParkRef | None
    region: RegionRef | None
    is_active: bool
    created_by: str | None
    created_at: datetime.datetime

    @staticmethod
    def resolve_created_by(obj: Any) -> str | None:
        return _username(obj.created_by)


class ScreeningBankSubscriptionIn(InputSchema):
    bank_id: ObjectId | None = Field(None, description="The subscribing bank (yours or one below it); default: yours.")
    park_id: ObjectId | None = Field(None, description="Subscribe to one park's whitelists …")
    region_code: RegionCode | None = Field(
        None, description="… or to those of every park in a region and below it (exactly one of the two)."
    )


class ScreeningBankSubscriptionFilter(Schema):
    active: bool | None = Field(None, description="Only active (true) or only cancelled (false) subscriptions.")


# ---------------------------------------------------------------------------
# The whitelist as delivered
# ---------------------------------------------------------------------------


class ScreeningBankPoints(Schema):
    characteristic: str
    label: str
    value: str = Field(..., description="The bin the enterprise's value fell in.")
    points: str = Field(..., description="Points of that bin, a decimal string.")


class ScreeningBankReason(Schema):
    code: str = Field(..., description="Reason code of the screen, e.g. `passed`, `exclusion:dishonest`.")
    text: str = Field(..., description="The reason in words (zh-hans).")


class ScreeningBankExplanation(Schema):
    base_points: str | None
    points: list[ScreeningBankPoints] = Field(
        ..., description="Per characteristic; with the base they add to the score."
    )
    reasons: list[ScreeningBankReason]


class ScreeningBankDecisionRef(Schema):
    id: int
    outcome: DecisionOutcome
    amount: str | None
    decided_on: datetime.date


class ScreeningBankVersionRef(Schema):
    id: int
    number: int
    period: str
    approved_at: datetime.datetime | None


class ScreeningBankEntryOut(Schema):
    id: int
    enterprise: ScreeningBankEnterpriseRef
    park: ScreeningBankParkRef
    region_code: str
    version: ScreeningBankVersionRef
    score: str | None
    source: EntrySource
    park_note: str
    explanation: ScreeningBankExplanation
    latest_decision: ScreeningBankDecisionRef | None = Field(
        None, description="The latest decision you may see on this entry (a bank: its own tree's)."
    )

    @staticmethod
    def resolve_park(obj: Any) -> Any:
        return obj.version.whitelist.park

    @staticmethod
    def resolve_region_code(obj: Any) -> str:
        return str(obj.version.whitelist.region_code)

    @staticmethod
    def resolve_version(obj: Any) -> dict[str, Any]:
        v = obj.version
        return {"id": v.pk, "number": v.number, "period": v.whitelist.period, "approved_at": v.decided_at}

    @staticmethod
    def resolve_score(obj: Any) -> str | None:
        return None if obj.score is None else f"{obj.score:.2f}"

    @staticmethod
    def resolve_explanation(obj: Any) -> dict[str, Any]:
        e = explain_entry(obj)
        return {
            "base_points": None if e.base_points is None else f"{e.base_points:.2f}",
            "points": [
                {"characteristic": r.name, "label": r.label, "value": r.value, "points": f"{r.points:.2f}"}
                for r in e.rows
            ],
            "reasons": [{"code": code, "text": text} for code, text in e.reasons],
        }

    @staticmethod
    def resolve_latest_decision(obj: Any) -> dict[str, Any] | None:
        pk = getattr(obj, "latest_decision_id", None)
        if pk is None:
            return None
        return {
            "id": pk,
            "outcome": obj.latest_outcome,
            "amount": money_out(obj.latest_amount),
            "decided_on": obj.latest_decided_on,
        }


class ScreeningBankEntryFilter(Schema):
    park_id: ObjectId | None = None
    region: RegionCode | None = Field(None, description="Parks in this region and below it.")
    min_score: Decimal | None = Field(None, ge=0, le=1000, decimal_places=2)
    decided: bool | None = Field(None, description="Only entries you decided on (true) or not yet (false).")
    approved_since: AwareDatetime | None = Field(
        None, description="Incremental pull: only versions approved at or after this moment (ISO 8601 with zone)."
    )


# ---------------------------------------------------------------------------
# Credit decisions
# ---------------------------------------------------------------------------


class ScreeningBankDecisionOut(Schema):
    id: int
    bank: OrgRef
    entry_id: int
    enterprise: ScreeningBankEnterpriseRef
    park: ScreeningBankParkRef
    outcome: DecisionOutcome
    outcome_label: str
    amount: str | None
    term_months: int | None
    renewal_without_repayment: bool = Field(..., description="无还本续贷: renewal without principal repayment.")
    allocation_id: int | None
    line_id: int | None
    decided_on: datetime.date
    note: str
    region_code: str
    decided_by: str | None = Field(None, description="Null when recorded with an API key.")
    created_at: datetime.datetime

    @staticmethod
    def resolve_park(obj: Any) -> Any:
        return obj.entry.version.whitelist.park

    @staticmethod
    def resolve_outcome_label(obj: Any) -> str:
        return str(obj.get_outcome_display())

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_out(obj.amount)

    @staticmethod
    def resolve_line_id(obj: Any) -> int | None:
        return None if obj.allocation_id is None else int(obj.allocation.line_id)

    @staticmethod
    def resolve_decided_by(obj: Any) -> str | None:
        return _username(obj.decided_by)


class ScreeningBankDecisionIn(InputSchema):
    entry_id: ObjectId = Field(..., description="An entry of the current approved whitelists you receive.")
    outcome: DecisionOutcome
    amount: MoneyStr | None = Field(None, description="Granted amount; only with `granted`.")
    term_months: int | None = Field(None, ge=0, le=32767, description="Term in months (1–360); only with `granted`.")
    renewal_without_repayment: bool = Field(False, description="无还本续贷; only with `granted`.")
    allocation_id: ObjectId | None = Field(
        None, description="Draw the grant on this park allocation of one of your lines (same enterprise)."
    )
    decided_on: datetime.date | None = Field(None, description="Default: today; never in the future.")
    note: str = Field("", max_length=255)


class ScreeningBankDecisionFilter(Schema):
    outcome: DecisionOutcome | None = None
    entry_id: ObjectId | None = None
    enterprise_id: ObjectId | None = None
    park_id: ObjectId | None = None


# ---------------------------------------------------------------------------
# Intended credit lines and allocations
# ---------------------------------------------------------------------------


class ScreeningLineAllocationOut(Schema):
    id: int
    line_id: int
    enterprise: ScreeningBankEnterpriseRef
    entry_id: int
    amount: str
    utilised: str = Field(..., description="Drawn by the bank's grants.")
    available: str = Field(..., description="Amount − utilised (0 once released).")
    status: AllocationStatus
    allocated_on: datetime.date
    released_on: datetime.date | None
    note: str

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_out(obj.amount)

    @staticmethod
    def resolve_utilised(obj: Any) -> str | None:
        return money_out(obj.utilised)

    @staticmethod
    def resolve_available(obj: Any) -> str | None:
        if obj.status != AllocationStatus.ACTIVE:
            return "0.00"
        return money_out(obj.amount - obj.utilised)


class ScreeningCreditLineOut(Schema):
    id: int
    bank: OrgRef
    park: ScreeningBankParkRef
    basis: LineBasis
    basis_label: str
    ipc_group: str = Field(..., description="Canonical IPC subclass (`H01L`) or main group (`H01L 21/`).")
    brand: str
    amount: str
    allocated: str = Field(..., description="Set aside for enterprises and not returned.")
    utilised: str = Field(..., description="Drawn by the bank's grants on the line's allocations.")
    remaining: str = Field(..., description="Still to allocate: amount − allocated.")
    valid_from: datetime.date
    valid_to: datetime.date
    days_to_expiry: int = Field(..., description="Days from today to the last valid day (negative once past).")
    conditions: str
    status: LineStatus
    region_code: str
    created_at: datetime.datetime

    @staticmethod
    def resolve_basis_label(obj: Any) -> str:
        return str(obj.get_basis_display())

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_out(obj.amount)

    @staticmethod
    def resolve_allocated(obj: Any) -> str | None:
        return money_out(obj.allocated)

    @staticmethod
    def resolve_utilised(obj: Any) -> str | None:
        return money_out(line_figures(obj).utilised)

    @staticmethod
    def resolve_remaining(obj: Any) -> str | None:
        return money_out(obj.amount - obj.allocated)

    @staticmethod
    def resolve_days_to_expiry(obj: Any) -> int:
        return int((obj.valid_to - business_date()).days)


class ScreeningCreditLineDetailOut(ScreeningCreditLineOut):
    allocations: list[ScreeningLineAllocationOut] = Field(..., description="The allocations you may see.")

    @staticmethod
    def resolve_allocations(obj: Any) -> list[Any]:
        return list(getattr(obj, "visible_allocations", []))


class ScreeningCreditLineIn(InputSchema):
    bank_id: ObjectId | None = Field(None, description="The granting bank (yours or one below it); default: yours.")
    park_id: ObjectId
    basis: LineBasis
    ipc_group: str = Field("", max_length=32, description="For a patent cluster: `H01L` or `H01L 21/`.")
    brand: str = Field("", max_length=128, description="For a regional brand (区域品牌).")
    amount: MoneyStr
    valid_from: datetime.date
    valid_to: datetime.date
    conditions: str = Field("", max_length=4000)


class ScreeningCreditLineFilter(Schema):
    park_id: ObjectId | None = None
    bank_id: ObjectId | None = None
    status: LineStatus | None = None


class ScreeningLineAllocationIn(InputSchema):
    entry_id: ObjectId = Field(..., description="An included entry of the current approved whitelist of the park.")
    amount: MoneyStr
    note: str = Field("", max_length=255)
