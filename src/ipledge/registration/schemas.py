"""API schemas of pledge registration: filings, their items, documents and findings, registrations, the public
announcement record and the bulk-filing report.

Money travels as a decimal string in yuan with at most two places, dates as ISO 8601 (see the registry schemas).
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema

from ipledge.core.apikit import MAX_ID
from ipledge.core.schemas import InputSchema
from ipledge.registry.choices import IPKind
from ipledge.registry.schemas import MoneyStr, OrgRef, ShareStr, money_out

from .choices import CancellationReason, Channel, ClaimKind, Decision, DocumentType, FilingStatus, FilingType, Severity

ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
DeclarationCode = Literal["pending_invalidation", "same_day_invention"]


class PledgorRef(Schema):
    id: int
    name: str
    uscc: str


# ---------------------------------------------------------------------------
# Filings
# ---------------------------------------------------------------------------


class FilingItemIn(InputSchema):
    kind: IPKind
    number: str = Field(
        ..., min_length=1, max_length=64, description="Application / registration number of a registered right."
    )
    co_owner_consent: bool = Field(False, description="The co-owners' written consent is on file.")
    licence_revenue: bool = Field(False, description="Pledge of licence revenue (许可收益权) only.")
    licence_contract_ref: str = Field("", max_length=64, description="Record number of the licence contract.")


class FilingIn(InputSchema):
    pledgor_uscc: str = Field(..., min_length=1, max_length=64, description="The pledgor enterprise's USCC.")
    pledgee_id: ObjectId = Field(..., description="The pledgee bank (your own bank or a unit below it).")
    claim_kind: ClaimKind = ClaimKind.LOAN
    claim_amount: MoneyStr
    performance_start: datetime.date
    performance_end: datetime.date
    guarantee_scope: str = Field(..., min_length=1, max_length=2000)
    contract_no: str = Field("", max_length=64)
    has_valuation: bool = False
    declarations: list[DeclarationCode] = Field(
        [], max_length=2, description="The parties' recorded declarations for the warn-and-proceed grounds."
    )
    channel: Channel = Channel.ONLINE
    items: list[FilingItemIn] = Field(..., min_length=1, max_length=50)


class FilingFilter(Schema):
    status: FilingStatus | None = None
    filing_type: FilingType | None = None


class FilingItemOut(Schema):
    ip_right_id: int
    kind: IPKind
    number: str
    title: str
    co_owner_consent: bool
    licence_revenue: bool
    licence_contract_ref: str

    @staticmethod
    def resolve_kind(obj: Any) -> str:
        return str(obj.ip_right.kind)

    @staticmethod
    def resolve_number(obj: Any) -> str:
        return str(obj.ip_right.number)

    @staticmethod
    def resolve_title(obj: Any) -> str:
        return str(obj.ip_right.title)


class DocumentOut(Schema):
    id: int
    doc_type: DocumentType
    original_name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime.datetime


class FindingOut(Schema):
    ip_right_id: int | None
    rule: str
    severity: Severity
    message: str
    message_en: str
    citation: str


class FilingOut(Schema):
    id: int
    filing_type: FilingType
    status: FilingStatus
    channel: Channel
    pledgor: PledgorRef
    pledgee: OrgRef
    filed_by_org: OrgRef
    registration_id: int | None = Field(
        None, description="The registration this filing created (set up) or concerns (cancellation)."
    )
    registration_no: str | None = None
    claim_kind: ClaimKind
    claim_amount: str | None = Field(None, description="Yuan, decimal string.")
    performance_start: datetime.date | None
    performance_end: datetime.date | None
    guarantee_scope: str
    contract_no: str
    has_valuation: bool
    declarations: list[str]
    cancellation_reason: CancellationReason | None = None
    change_description: str = Field("", description="A change filing (变更登记): what changes and why.")
    pledgor_confirmed_at: datetime.datetime | None
    submitted_on: datetime.date | None
    due_on: datetime.date | None
    correction_due_on: datetime.date | None
    decided_at: datetime.datetime | None
    decision_note: str
    turnaround_working_days: int | None
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def _registration(obj: Any) -> Any:
        if obj.registration_id:
            return obj.registration
        return getattr(obj, "created_registration", None)

    @staticmethod
    def resolve_registration_id(obj: Any) -> int | None:
        registration = FilingOut._registration(obj)
        return registration.pk if registration is not None else None

    @staticmethod
    def resolve_registration_no(obj: Any) -> str | None:
        registration = FilingOut._registration(obj)
        return registration.registration_no if registration is not None else None

    @staticmethod
    def resolve_claim_amount(obj: Any) -> str | None:
        return money_out(obj.claim_amount)

    @staticmethod
    def resolve_cancellation_reason(obj: Any) -> str | None:
        return obj.cancellation_reason or None


class FilingDetailOut(FilingOut):
    items: list[FilingItemOut]
    documents: list[DocumentOut]
    findings: list[FindingOut]

    @staticmethod
    def resolve_items(obj: Any) -> list[Any]:
        return list(obj.items.all())

    @staticmethod
    def resolve_documents(obj: Any) -> list[Any]:
        return list(obj.documents.all())

    @staticmethod
    def resolve_findings(obj: Any) -> list[Any]:
        return list(obj.findings.all())


class DecisionIn(InputSchema):
    decision: Decision
    note: str = Field("", max_length=2000, description="Required to request a correction or to refuse.")
    correction_working_days: int = Field(10, ge=1, le=60, description="Deadline of a correction, in working days.")


class ResubmitIn(InputSchema):
    """The corrected contract data (补正); omit a value that stays as filed."""

    claim_kind: ClaimKind | None = None
    claim_amount: MoneyStr | None = None
    performance_start: datetime.date | None = None
    performance_end: datetime.date | None = None
    guarantee_scope: str | None = Field(None, min_length=1, max_length=2000)
    contract_no: str | None = Field(None, max_length=64)
    has_valuation: bool | None = None
    declarations: list[DeclarationCode] | None = Field(None, max_length=2)


class TransferOwnerIn(InputSchema):
    enterprise_uscc: str | None = Field(None, max_length=64, description="USCC of a registered transferee enterprise.")
    holder_name: str = Field("", max_length=128, description="Name of a transferee not on the platform.")
    share: ShareStr = "100"


class TransferIn(InputSchema):
    """A transfer (转让) of a right as the IP office registers it."""

    owners: list[TransferOwnerIn] = Field(..., min_length=1, max_length=20)
    pledgee_consent: bool = Field(False, description="The pledgee's written consent is on file (pledged rights).")


class RightOwnerOut(Schema):
    # Not `OwnerOut`: the registry has a schema of that name, and OpenAPI component names must be unique.
    enterprise_id: int | None
    name: str
    share: str


class RightOwnersOut(Schema):
    id: int
    number: str
    owners: list[RightOwnerOut]


class CancellationIn(InputSchema):
    reason: CancellationReason


class ChangeIn(InputSchema):
    """A change (变更登记) of a registered pledge; omit (or null) a value that stays as registered."""

    claim_amount: MoneyStr | None = Field(None, description="New secured amount in yuan, decimal string.")
    performance_end: datetime.date | None = Field(None, description="New end of the debtor's performance period.")
    change_description: str = Field(..., min_length=1, max_length=2000, description="What changes and why.")


# ---------------------------------------------------------------------------
# Registrations
# ---------------------------------------------------------------------------


class PledgedRightOut(Schema):
    ip_right_id: int
    kind: IPKind
    number: str
    title: str
    is_active: bool
    licence_revenue: bool
    released_on: datetime.date | None

    @staticmethod
    def resolve_kind(obj: Any) -> str:
        return str(obj.ip_right.kind)

    @staticmethod
    def resolve_number(obj: Any) -> str:
        return str(obj.ip_right.number)

    @staticmethod
    def resolve_title(obj: Any) -> str:
        return str(obj.ip_right.title)


class RegistrationOut(Schema):
    id: int
    registration_no: str
    status: str
    filing_id: int
    pledgor: PledgorRef
    pledgee: OrgRef
    registered_on: datetime.date
    claim_amount: str | None = Field(None, description="Yuan, decimal string.")
    performance_end: datetime.date | None
    cancelled_on: datetime.date | None
    cancellation_reason: CancellationReason | None = None
    rights: list[PledgedRightOut]

    @staticmethod
    def resolve_claim_amount(obj: Any) -> str | None:
        return money_out(obj.claim_amount)

    @staticmethod
    def resolve_cancellation_reason(obj: Any) -> str | None:
        return obj.cancellation_reason or None

    @staticmethod
    def resolve_rights(obj: Any) -> list[Any]:
        return list(obj.pledged_rights.all())


class RegistrationFilter(Schema):
    status: Literal["active", "cancelled"] | None = None


class PublicPledgeOut(Schema):
    """The announcement record (公告) of a pledge: exactly the published fields and the status."""

    registration_no: str
    pledgor: str
    pledgee: str
    main_ipc: str
    right_number: str
    right_kind: IPKind
    grant_date: datetime.date | None
    registered_on: datetime.date
    status: Literal["active", "cancelled", "released"]
    cancelled_on: datetime.date | None


class PublicPledgeQuery(Schema):
    number: str = Field(
        ..., min_length=1, max_length=64, description="A right number (e.g. a patent number) or a registration number."
    )


# ---------------------------------------------------------------------------
# Bulk filing (集中代办)
# ---------------------------------------------------------------------------


class BulkFilingOut(Schema):
    rows: int
    created: int
    filing_ids: list[int]
