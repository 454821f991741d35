"""API schemas of the products area (产品资源库): a product's terms in and out, versions, the library's filters,
decisions and the template import.

Money travels as a decimal string in yuan with two places (`"20000000.00"`), pledge-rate caps as decimal fractions
(`"0.25"` = 25 %), the fixed rate in percent (`"4.35"`), the LPR spread in basis points. Collateral kinds, size
classes and industry sections are codes (see the field descriptions); unknown codes are refused by the service with
a 400 naming the field and the rule, like every other rule of the terms. Names carry the prefix `MarketProduct…`.
"""

import datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema

from ipledge.core.apikit import MAX_ID
from ipledge.core.money import Money
from ipledge.core.schemas import InputSchema
from ipledge.registry.schemas import MoneyStr, OrgRef, money_out

from .choices import CollateralKind, ProductStatus, ProductVersionStatus, RateKind
from .selectors_products import kind_rules, rate_text
from .terms import ProductTerms

ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
KINDS_DOC = ", ".join(CollateralKind.values)


def _username(user: Any) -> str | None:
    return None if user is None else str(user.get_username())


# ---------------------------------------------------------------------------
# Terms
# ---------------------------------------------------------------------------


class MarketProductTermsIn(InputSchema):
    summary: str = Field("", max_length=5000)
    collateral_kinds: list[str] = Field(..., max_length=10, description=f"Accepted collateral kinds: {KINDS_DOC}.")
    min_remaining_years: dict[str, int] = Field(
        default_factory=dict, description='Minimum remaining life in years per accepted kind, e.g. {"invention": 8}.'
    )
    pledge_rate_caps: dict[str, Decimal] = Field(
        default_factory=dict,
        description='Pledge-rate cap (质押率上限) per accepted kind as a fraction, e.g. {"invention": "0.25"}.',
    )
    amount_min: MoneyStr
    amount_max: MoneyStr
    term_min_months: int = Field(..., ge=0, le=10_000)
    term_max_months: int = Field(..., ge=0, le=10_000)
    rate_kind: RateKind
    rate_spread_bp: int | None = Field(None, ge=-100_000, le=100_000, description="LPR spread in basis points.")
    rate_fixed: Decimal | None = Field(None, max_digits=7, decimal_places=2, description="Fixed annual rate in %.")
    region_codes: list[str] = Field(
        default_factory=list, max_length=100, description="6-digit region codes or 2/4-digit prefixes; empty = all."
    )
    industry_sections: list[str] = Field(
        default_factory=list, max_length=20, description="GB/T 4754 sections A–T; empty = all."
    )
    size_classes: list[str] = Field(
        default_factory=list, max_length=4, description="large, medium, small, micro; empty = all."
    )
    min_enterprise_age_years: int = Field(0, ge=0, le=10_000)
    requires_whitelist: bool = False
    excludes_dishonest: bool = True
    max_recent_penalties: int | None = Field(None, ge=0, le=10_000)
    requires_guarantee: bool = False
    requires_insurance: bool = False
    required_documents: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=50)
    source_url: str = Field("", max_length=1000)

    def terms(self) -> ProductTerms:
        return ProductTerms(
            summary=self.summary.strip(),
            collateral_kinds=tuple(self.collateral_kinds),
            min_remaining_years=dict(self.min_remaining_years),
            pledge_rate_caps=dict(self.pledge_rate_caps),
            amount_min=Money(Decimal(self.amount_min)),
            amount_max=Money(Decimal(self.amount_max)),
            term_min_months=self.term_min_months,
            term_max_months=self.term_max_months,
            rate_kind=str(self.rate_kind),
            rate_spread_bp=self.rate_spread_bp if self.rate_kind == RateKind.LPR_SPREAD else None,
            rate_fixed=self.rate_fixed if self.rate_kind == RateKind.FIXED else None,
            region_codes=tuple(self.region_codes),
            industry_sections=tuple(self.industry_sections),
            size_classes=tuple(self.size_classes),
            min_enterprise_age_years=self.min_enterprise_age_years,
            requires_whitelist=self.requires_whitelist,
            excludes_dishonest=self.excludes_dishonest,
            max_recent_penalties=self.max_recent_penalties,
            requires_guarantee=self.requires_guarantee,
            requires_insurance=self.requires_insurance,
            required_documents=tuple(d.strip() for d in self.required_documents if d.strip()),
            source_url=self.source_url.strip(),
        )


class MarketProductCreateIn(MarketProductTermsIn):
    bank_id: ObjectId | None = Field(None, description="The publishing bank (yours or one below it); default: yours.")
    code: str = Field(..., max_length=100, description="Unique within the bank (at most 40 characters).")
    name: str = Field(..., max_length=500, description="At most 128 characters.")


class MarketProductVersionIn(MarketProductTermsIn):
    name: str | None = Field(
        None, max_length=500, description="Rename the product (only while it has never been live)."
    )


class MarketProductDecisionIn(InputSchema):
    note: str = Field("", max_length=2000, description="The reviewer's note (required to reject).")


class MarketProductWithdrawIn(InputSchema):
    note: str = Field("", max_length=2000)


# ---------------------------------------------------------------------------
# Out
# ---------------------------------------------------------------------------


class MarketProductVersionOut(Schema):
    id: int
    number: int
    status: ProductVersionStatus
    status_label: str
    summary: str
    collateral_kinds: list[str]
    collateral_rules: list[str] = Field(
        ..., description='Per kind in words, e.g. "发明专利：剩余有效期≥8年，质押率≤25%".'
    )
    min_remaining_years: dict[str, int]
    pledge_rate_caps: dict[str, str]
    amount_min: str
    amount_max: str
    term_min_months: int
    term_max_months: int
    rate_kind: RateKind
    rate_text: str = Field(..., description='"LPR+120BP" or "固定年利率4.35%".')
    rate_spread_bp: int | None
    rate_fixed: str | None
    region_codes: list[str]
    industry_sections: list[str]
    size_classes: list[str]
    min_enterprise_age_years: int
    requires_whitelist: bool
    excludes_dishonest: bool
    max_recent_penalties: int | None
    requires_guarantee: bool
    requires_insurance: bool
    required_documents: list[str]
    source_url: str
    created_by: str | None
    created_at: datetime.datetime
    submitted_by: str | None
    submitted_at: datetime.datetime | None
    decided_by: str | None
    decided_at: datetime.datetime | None
    decision_note: str

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_collateral_rules(obj: Any) -> list[str]:
        return [r["text"] for r in kind_rules(obj)]

    @staticmethod
    def resolve_pledge_rate_caps(obj: Any) -> dict[str, str]:
        return {k: str(v) for k, v in (obj.pledge_rate_caps or {}).items()}

    @staticmethod
    def resolve_amount_min(obj: Any) -> str | None:
        return money_out(obj.amount_min)

    @staticmethod
    def resolve_amount_max(obj: Any) -> str | None:
        return money_out(obj.amount_max)

    @staticmethod
    def resolve_rate_text(obj: Any) -> str:
        return rate_text(obj)

    @staticmethod
    def resolve_rate_fixed(obj: Any) -> str | None:
        return None if obj.rate_fixed is None else f"{obj.rate_fixed:.2f}"

    @staticmethod
    def resolve_created_by(obj: Any) -> str | None:
        return _username(obj.created_by)

    @staticmethod
    def resolve_submitted_by(obj: Any) -> str | None:
        return _username(obj.submitted_by)

    @staticmethod
    def resolve_decided_by(obj: Any) -> str | None:
        return _username(obj.decided_by)


class MarketProductOut(Schema):
    id: int
    code: str
    name: str
    bank: OrgRef
    status: ProductStatus
    status_label: str
    live_version_id: int | None
    current: MarketProductVersionOut | None = Field(
        ..., description="The live version; for your own draft product, its latest version."
    )
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_current(obj: Any) -> Any:
        from .selectors_products import shown_version

        return shown_version(obj)


class MarketProductDetailOut(MarketProductOut):
    versions: list[MarketProductVersionOut] = Field(..., description="The versions you may see, newest first.")

    @staticmethod
    def resolve_versions(obj: Any) -> list[Any]:
        return list(getattr(obj, "visible_versions", []))


class MarketProductFilter(Schema):
    q: str | None = Field(None, max_length=64, description="Name or code contains.")
    region: str | None = Field(
        None,
        pattern=r"^(\d{2}|\d{4}|\d{6})$",
        description="Products applying in this region (code or prefix); products without regions always match.",
    )
    kind: CollateralKind | None = Field(None, description="Products accepting this collateral kind.")
    amount: MoneyStr | None = Field(None, description="A demand amount inside the product's range.")
    term_months: int | None = Field(None, ge=1, le=360, description="A demand term inside the product's range.")
    bank_id: ObjectId | None = Field(None, description="Products of this bank and the banks below it.")
    rate_kind: RateKind | None = None
    status: ProductStatus | None = Field(None, description="A bank filtering its own products (others see live).")


class MarketProductImportErrorOut(Schema):
    # A 400 about the request itself (an unknown bank_id, a file too large) has the usual error shape: no row.
    row: int | None = Field(
        None,
        description="Row in the file (header = 1; 0 = the file itself); absent for errors about the request itself.",
    )
    field: str | None = Field(..., description="The column header (or the request field).")
    rule: str
    message: str
    message_en: str


class MarketProductImportOut(Schema):
    rows: int
    products: list[MarketProductOut]


class MarketProductImportRejectedOut(Schema):
    errors: list[MarketProductImportErrorOut]
    request_id: str
