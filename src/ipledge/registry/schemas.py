"""API schemas of the registry: parks, enterprises and IP rights.

Money travels as a decimal string in yuan with at most two places (`"35000000.00"`), never as a JSON number, so
no client can lose a fen to floating point; shares of ownership are decimal strings too. Dates are ISO 8601.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Self

from ninja import Field, Schema
from pydantic import model_validator
from pydantic_core import PydanticCustomError

from ipledge.core import privacy
from ipledge.core.apikit import MAX_ID, MAX_INT
from ipledge.core.money import Money
from ipledge.core.schemas import InputSchema, RegionRef

from .choices import CopyrightWorkKind, IPKind, LegalStatus, ParkKind, ParkLevel, PatentType, SizeClass
from .models import LicenceKind

MoneyStr = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,15}(\.[0-9]{1,2})?$",
        description='Amount in yuan as a decimal string, e.g. "35000000.00".',
        examples=["35000000.00"],
    ),
]
ShareStr = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,3}(\.[0-9]{1,2})?$",
        description="Share in percent as a decimal string, 0.01–100.",
        examples=["100", "60.5"],
    ),
]
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
Count = Annotated[int, Field(ge=0, le=MAX_INT)]
RegionCode = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="6-digit administrative division code.")]
IndustrySection = Annotated[str, Field(pattern=r"^[A-T]$", description="GB/T 4754-2017 section letter A–T.")]
IndustryDivision = Annotated[str, Field(pattern=r"^([0-9]{2,4})?$", description="GB/T 4754-2017 division code.")]


def money_out(value: Money | None) -> str | None:
    return None if value is None else f"{value.amount:.2f}"


class OrgRef(Schema):
    id: int
    name: str


# ---------------------------------------------------------------------------
# Parks
# ---------------------------------------------------------------------------


class ParkOut(Schema):
    id: int
    name: str
    level: ParkLevel
    kind: ParkKind
    region: RegionRef
    administering_org: OrgRef | None
    is_key_park: bool
    nbs_code: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


class ParkFilter(Schema):
    q: str | None = Field(None, max_length=64, description="Name contains.")
    level: ParkLevel | None = None
    kind: ParkKind | None = None
    region: RegionCode | None = Field(None, description="Parks in this region and below.")


class ParkIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=128)
    level: ParkLevel
    kind: ParkKind
    region_code: RegionCode
    administering_org_id: ObjectId | None = Field(None, description="A park administration (园区管委会) you can see.")
    is_key_park: bool = False
    nbs_code: str = Field("", pattern=r"^([0-9]{6})?$")


class ParkPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=128)
    level: ParkLevel | None = None
    kind: ParkKind | None = None
    region_code: RegionCode | None = None
    administering_org_id: ObjectId | None = None
    is_key_park: bool | None = None
    nbs_code: str | None = Field(None, pattern=r"^([0-9]{6})?$")


# ---------------------------------------------------------------------------
# Enterprises
# ---------------------------------------------------------------------------


class MembershipOut(Schema):
    park_id: int
    park_name: str
    joined_on: datetime.date
    left_on: datetime.date | None

    @staticmethod
    def resolve_park_name(obj: Any) -> str:
        return str(obj.park.name)


def _personal(obj: Any, context: Any) -> dict[str, Any]:
    """The enterprise's personal fields as the calling user may see them (core.privacy); masked without a caller."""
    request = (context or {}).get("request")
    user = getattr(request, "auth_user", None) or getattr(request, "user", None)
    return privacy.personal_data(user, obj)


class EnterpriseOut(Schema):
    id: int
    uscc: str
    name: str
    organisation_id: int | None = Field(None, description="The enterprise's own platform account, if any.")
    registration_region: RegionRef | None = Field(None, description="Derived from the USCC.")
    industry_section: str
    industry_division: str
    established_on: datetime.date | None
    employees: int | None
    revenue: str | None = Field(None, description="Yuan, decimal string.")
    total_assets: str | None = Field(None, description="Yuan, decimal string.")
    size_class: SizeClass | None = Field(None, description="Derived under 工信部联企业〔2011〕300号; null if unknown.")
    is_high_tech: bool
    is_specialised: bool
    legal_representative: str = Field("", description="法定代表人 (public: printed on the business licence).")
    legal_representative_id_number: str = Field(
        "",
        description="The legal representative's ID number; masked (110101********123X) unless the caller sees it "
        "in full: the enterprise's own users, admins/operators of a park it is a member of, a bank doing business "
        "with it (loan or pledge filing), superusers.",
    )
    contact_phone: str = Field("", description="Contact phone; masked (138****5678) under the same rule.")
    personal_data_masked: bool = Field(False, description="True when the two fields above are shown masked.")
    parks: list[MembershipOut]
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_legal_representative_id_number(obj: Any, context: Any) -> str:
        return str(_personal(obj, context)["legal_representative_id_number"])

    @staticmethod
    def resolve_contact_phone(obj: Any, context: Any) -> str:
        return str(_personal(obj, context)["contact_phone"])

    @staticmethod
    def resolve_personal_data_masked(obj: Any, context: Any) -> bool:
        return bool(_personal(obj, context)["personal_data_masked"])

    @staticmethod
    def resolve_revenue(obj: Any) -> str | None:
        return money_out(obj.revenue)

    @staticmethod
    def resolve_total_assets(obj: Any) -> str | None:
        return money_out(obj.total_assets)

    @staticmethod
    def resolve_size_class(obj: Any) -> str | None:
        return obj.size_class or None

    @staticmethod
    def resolve_parks(obj: Any) -> list[Any]:
        return list(obj.memberships.all())


class EnterpriseFilter(Schema):
    q: str | None = Field(None, max_length=64, description="Name or USCC contains.")
    park: ObjectId | None = Field(None, description="Member (now or before) of this park.")
    size_class: SizeClass | None = None
    industry_section: IndustrySection | None = None


class EnterpriseIn(InputSchema):
    uscc: str = Field(
        ...,
        min_length=1,
        max_length=64,
        description="统一社会信用代码; spaces and full-width forms are accepted and normalised.",
    )
    name: str = Field(..., min_length=1, max_length=128)
    industry_section: IndustrySection
    industry_division: IndustryDivision = ""
    established_on: datetime.date | None = None
    employees: Count | None = None
    revenue: MoneyStr | None = None
    total_assets: MoneyStr | None = None
    is_high_tech: bool = False
    is_specialised: bool = False
    legal_representative: str = Field("", max_length=64)
    legal_representative_id_number: str = Field(
        "", max_length=32, description="18-character resident ID number (check digit verified); blank for none."
    )
    contact_phone: str = Field(
        "", max_length=32, description="Mobile (1[3-9] + 9 digits) or landline with area code (010-12345678)."
    )
    park_id: ObjectId | None = Field(None, description="Enrol in this park (one you administer).")
    joined_on: datetime.date | None = Field(None, description="Date of joining the park; default today.")


class EnterprisePatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=128)
    industry_section: IndustrySection | None = None
    industry_division: IndustryDivision | None = None
    established_on: datetime.date | None = None
    employees: Count | None = None
    revenue: MoneyStr | None = None
    total_assets: MoneyStr | None = None
    is_high_tech: bool | None = None
    is_specialised: bool | None = None
    legal_representative: str | None = Field(None, max_length=64)
    legal_representative_id_number: str | None = Field(
        None, max_length=32, description="Only a caller who sees the personal data in full may change it."
    )
    contact_phone: str | None = Field(
        None, max_length=32, description="Only a caller who sees the personal data in full may change it."
    )


# ---------------------------------------------------------------------------
# IP rights
# ---------------------------------------------------------------------------


class OwnerOut(Schema):
    enterprise_id: int | None
    enterprise_name: str | None
    holder_name: str
    share: str = Field(..., description="Percent, decimal string.")

    @staticmethod
    def resolve_enterprise_name(obj: Any) -> str | None:
        return obj.enterprise.name if obj.enterprise_id else None

    @staticmethod
    def resolve_share(obj: Any) -> str:
        return f"{obj.share:.2f}"


class IPRightOut(Schema):
    id: int
    kind: IPKind
    number: str
    title: str
    legal_status: LegalStatus
    filing_date: datetime.date | None
    grant_date: datetime.date | None
    valid_from: datetime.date | None
    term_end: datetime.date | None
    patent_type: PatentType | None = Field(None, description="Patents only; derived from the application number.")
    main_ipc: str
    annual_fee_paid_until: datetime.date | None
    claims_count: int | None
    forward_citations: int | None
    backward_citations: int | None
    family_size: int | None
    nice_classes: list[int]
    renewal_count: int
    work_kind: CopyrightWorkKind | None = None
    created_on: datetime.date | None
    first_published_on: datetime.date | None
    owners: list[OwnerOut]
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_patent_type(obj: Any) -> str | None:
        return obj.patent_type or None

    @staticmethod
    def resolve_work_kind(obj: Any) -> str | None:
        return obj.work_kind or None

    @staticmethod
    def resolve_owners(obj: Any) -> list[Any]:
        return list(obj.owners.all())


class IPRightFilter(Schema):
    kind: IPKind | None = None
    legal_status: LegalStatus | None = None
    q: str | None = Field(None, max_length=64, description="Number or title contains.")
    owner: ObjectId | None = Field(None, description="Owned (in part) by this enterprise.")


class OwnerIn(InputSchema):
    enterprise_id: ObjectId | None = Field(None, description="An enterprise you may change.")
    holder_name: str | None = Field(None, min_length=1, max_length=128, description="A holder not on the platform.")
    share: ShareStr = "100"

    @model_validator(mode="after")
    def _one_holder(self) -> Self:
        if (self.enterprise_id is None) == (self.holder_name is None):
            raise PydanticCustomError(
                "owner_holder",
                "Give exactly one of enterprise_id and holder_name",
                {"message_zh": "权利人须填写 enterprise_id 或 holder_name 之一（且只能填一个）。"},
            )
        return self


class IPRightFields(InputSchema):
    """Fields an IP right shares between create and update (all optional)."""

    legal_status: LegalStatus | None = None
    filing_date: datetime.date | None = None
    grant_date: datetime.date | None = None
    valid_from: datetime.date | None = None
    term_end: datetime.date | None = Field(None, description="Computed for patents from type and filing date.")
    main_ipc: str | None = Field(None, max_length=32)
    annual_fee_paid_until: datetime.date | None = None
    claims_count: Count | None = None
    forward_citations: Count | None = None
    backward_citations: Count | None = None
    family_size: Count | None = None
    nice_classes: list[Annotated[int, Field(ge=1, le=45)]] | None = Field(None, max_length=45)
    renewal_count: Annotated[int, Field(ge=0, le=32767)] | None = None
    work_kind: CopyrightWorkKind | None = None
    created_on: datetime.date | None = None
    first_published_on: datetime.date | None = None


class IPRightIn(IPRightFields):
    kind: IPKind
    number: str = Field(
        ...,
        min_length=1,
        max_length=64,
        description="Application / registration number; normalised (patents need the check digit).",
    )
    title: str = Field(..., min_length=1, max_length=255)
    owners: list[OwnerIn] = Field(..., min_length=1, max_length=50)


class IPRightPatch(IPRightFields):
    number: str | None = Field(None, min_length=1, max_length=64)
    title: str | None = Field(None, min_length=1, max_length=255)


# ---------------------------------------------------------------------------
# Licence contracts (许可合同备案)
# ---------------------------------------------------------------------------


class LicenceOut(Schema):
    id: int
    ip_right_id: int
    record_no: str = Field(..., description="Record number (备案号) a licence-revenue pledge item refers to.")
    licence_kind: LicenceKind
    licensee_name: str
    licensee_id: int | None = Field(None, description="The licensee's enterprise, when it is on the platform.")
    start_on: datetime.date
    end_on: datetime.date
    royalty_terms: str
    recorded_on: datetime.date
    pledgee_consent: bool = Field(..., description="The pledgee consented (needed while the right is pledged).")
    created_at: datetime.datetime


class LicenceIn(InputSchema):
    licence_kind: LicenceKind = Field(
        ..., description="exclusive 独占, sole 排他, ordinary 普通, open 开放许可 (patents)."
    )
    record_no: str = Field(..., min_length=1, max_length=64)
    licensee_name: str = Field("", max_length=128, description="May be empty for an open licence.")
    licensee_id: ObjectId | None = Field(None, description="The licensee, if it is an enterprise you can see.")
    start_on: datetime.date
    end_on: datetime.date
    royalty_terms: str = Field("", max_length=2000)
    pledgee_consent: bool = Field(
        False, description="Record the pledgee's consent; a pledged right is licensed only with it (民法典第444条)."
    )
