"""API schemas of the whitelists (授信白名单): criteria, whitelists, versions with their entries and diff, and
applications. Names carry the `Screening…` prefix so that no OpenAPI component collides with another app's.

Reasons travel as codes with their words (`{"code", "text", "park_only"}`): a code prefixed "park:" fails only the
park's tightening (园区细化标准), not the province's baseline; see `services.whitelists` for the codes."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema

from ipledge.core.apikit import MAX_ID
from ipledge.core.schemas import InputSchema
from ipledge.registry.choices import SizeClass
from ipledge.registry.schemas import OrgRef

from .choices import ApplicationStatus, CriteriaLevel, CriteriaStatus, EntrySource, VersionStatus

ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
Period = Annotated[
    str,
    Field(
        min_length=4,
        max_length=16,
        description="A year, half-year or quarter: 2027, 2027H1, 2027Q3.",
        examples=["2026"],
    ),
]


def _username(user: Any) -> str | None:
    return None if user is None else str(user.get_username())


def _reasons(codes: Any) -> list[dict[str, Any]]:
    from .selectors_whitelists import reasons

    return [{"code": r.code, "text": r.text, "park_only": r.park_only} for r in reasons(codes or [])]


class ScreeningReasonOut(Schema):
    code: str = Field(..., description='A reason code, e.g. "exclusion:dishonest", "park:below_min_score", "passed".')
    text: str = Field(..., description="The reason in words (zh-hans).")
    park_only: bool = Field(..., description="Fails only the park's tightening; the baseline is passed.")


class ScreeningParkRef(Schema):
    id: int
    name: str


class ScreeningEnterpriseRef(Schema):
    id: int
    name: str
    uscc: str


# ---------------------------------------------------------------------------
# Criteria
# ---------------------------------------------------------------------------


class ScreeningExclusionIn(InputSchema):
    rule: str = Field(
        ...,
        max_length=32,
        description="dishonest | serious_violation | abnormal | tax_rating | penalties",
        examples=["tax_rating"],
    )
    effective_from: datetime.date | None = None
    effective_to: datetime.date | None = Field(None, description="Inclusive; null for open-ended.")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description='tax_rating: {"ratings": ["D"]}; penalties: {"max_count": 2, "within_days": 1095}; '
        "the other rules take none.",
    )


class ScreeningExclusionOut(Schema):
    rule: str
    effective_from: datetime.date | None
    effective_to: datetime.date | None
    params: dict[str, Any]
    text: str = Field(..., description="The rule in words.")


class ScreeningCriteriaIn(InputSchema):
    level: CriteriaLevel = Field(..., description="baseline (an IP office) or park (a park's administration).")
    name: str = Field(..., min_length=1, max_length=128)
    period: Period
    region: str | None = Field(
        None,
        pattern=r"^[0-9]{6}$",
        description="Baseline: the region code it applies to (within your jurisdiction). Park: omit.",
    )
    park_id: ObjectId | None = Field(None, description="Park criteria: the park you administer.")
    baseline_id: ObjectId | None = Field(
        None, description="Park criteria: the published baseline (default: the one covering the park)."
    )
    scorecard_id: ObjectId | None = Field(
        None, description="Baseline: the scorecard (default: the active expert card). Park: the baseline's."
    )
    min_score: Decimal = Field(..., ge=0, le=Decimal("9999.99"), decimal_places=2)
    min_invention_patents: int = Field(0, ge=0, le=32767)
    require_high_tech_or_specialised: bool = False
    allowed_sizes: list[SizeClass] = Field(default_factory=list, description="Empty: any size.")
    exclusions: list[ScreeningExclusionIn] = Field(default_factory=list, max_length=50)
    note: str = Field("", max_length=2000)
    owner_id: ObjectId | None = Field(None, description="The platform only: the organisation that owns it.")


class ScreeningCriteriaPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=128)
    period: Period | None = None
    baseline_id: ObjectId | None = None
    scorecard_id: ObjectId | None = None
    min_score: Decimal | None = Field(None, ge=0, le=Decimal("9999.99"), decimal_places=2)
    min_invention_patents: int | None = Field(None, ge=0, le=32767)
    require_high_tech_or_specialised: bool | None = None
    allowed_sizes: list[SizeClass] | None = None
    exclusions: list[ScreeningExclusionIn] | None = Field(None, max_length=50)
    note: str | None = Field(None, max_length=2000)


class ScreeningCriteriaFilter(Schema):
    level: CriteriaLevel | None = None
    status: CriteriaStatus | None = None
    period: str | None = Field(None, max_length=16)
    park_id: ObjectId | None = None
    region: str | None = Field(None, pattern=r"^[0-9]{6}$")
    q: str | None = Field(None, max_length=64, description="Name contains.")


class ScreeningCriteriaOut(Schema):
    id: int
    name: str
    level: CriteriaLevel
    status: CriteriaStatus
    period: str
    region: str = Field(..., description="Region code.")
    region_name: str
    park: ScreeningParkRef | None
    baseline_id: int | None
    owner: OrgRef
    scorecard_id: int
    min_score: Decimal
    min_invention_patents: int
    require_high_tech_or_specialised: bool
    allowed_sizes: list[str]
    exclusions: list[ScreeningExclusionOut]
    note: str
    published_at: datetime.datetime | None
    published_by: str | None
    created_at: datetime.datetime

    @staticmethod
    def resolve_region(obj: Any) -> str:
        return str(obj.region.code)

    @staticmethod
    def resolve_region_name(obj: Any) -> str:
        return str(obj.region.full_name)

    @staticmethod
    def resolve_exclusions(obj: Any) -> list[dict[str, Any]]:
        from .engine.spec import ExclusionRule
        from .selectors_whitelists import exclusion_text

        rows = []
        for raw in obj.exclusions or []:
            rule = ExclusionRule.from_json(raw)
            rows.append({**rule.to_json(), "text": exclusion_text(rule)})
        return rows

    @staticmethod
    def resolve_published_by(obj: Any) -> str | None:
        return _username(obj.published_by)


class ScreeningComparisonRow(Schema):
    key: str = Field(..., description='A field ("min_score", …) or "exclusion:<rule>".')
    label: str
    baseline: str
    park: str
    verdict: str = Field(..., description="same | tightens | loosens (a park may never loosen).")


class ScreeningCriteriaDetailOut(ScreeningCriteriaOut):
    comparison: list[ScreeningComparisonRow] = Field(
        ..., description="Park criteria: each item beside the baseline's (empty for a baseline)."
    )

    @staticmethod
    def resolve_comparison(obj: Any) -> list[dict[str, Any]]:
        from .selectors_whitelists import criteria_comparison

        return [{**row, "label": str(row["label"])} for row in criteria_comparison(obj)]


# ---------------------------------------------------------------------------
# Whitelists and versions
# ---------------------------------------------------------------------------


class ScreeningVersionOut(Schema):
    id: int
    whitelist_id: int
    park: ScreeningParkRef
    period: str
    number: int
    status: VersionStatus
    as_of: datetime.date
    scorecard_id: int
    candidates: int
    included: int
    previous_id: int | None = Field(..., description="The approved version this one would replace.")
    prepared_by: str | None
    submitted_by: str | None
    submitted_at: datetime.datetime | None
    decided_by: str | None
    decided_at: datetime.datetime | None
    decision_note: str
    created_at: datetime.datetime

    @staticmethod
    def resolve_park(obj: Any) -> Any:
        return obj.whitelist.park

    @staticmethod
    def resolve_period(obj: Any) -> str:
        return str(obj.whitelist.period)

    @staticmethod
    def resolve_prepared_by(obj: Any) -> str | None:
        return _username(obj.prepared_by)

    @staticmethod
    def resolve_submitted_by(obj: Any) -> str | None:
        return _username(obj.submitted_by)

    @staticmethod
    def resolve_decided_by(obj: Any) -> str | None:
        return _username(obj.decided_by)


class ScreeningRulesOut(Schema):
    min_score: float
    min_invention_patents: int
    require_high_tech_or_specialised: bool
    allowed_sizes: list[str]
    exclusions: list[dict[str, Any]]


class ScreeningVersionDetailOut(ScreeningVersionOut):
    rules: ScreeningRulesOut = Field(..., description="The effective rules used: the baseline merged with the park's.")
    applied: int = Field(..., description="Entries considered because the enterprise applied (企业申请).")
    park_added: int = Field(..., description="Entries the park put in (园区推荐).")

    @staticmethod
    def resolve_rules(obj: Any) -> dict[str, Any]:
        from .engine.spec import CriteriaSpec

        return CriteriaSpec.from_json(obj.rules or {}).to_json()

    @staticmethod
    def resolve_applied(obj: Any) -> int:
        return int(obj.entries.filter(source=EntrySource.APPLIED).count())

    @staticmethod
    def resolve_park_added(obj: Any) -> int:
        return int(obj.entries.filter(source=EntrySource.PARK_ADDED).count())


class ScreeningPointOut(Schema):
    name: str = Field(..., description="The characteristic.")
    label: str
    value: str = Field(..., description="The bin the enterprise fell in (empty when none was recorded).")
    points: float
    rationale: str = Field(..., description="Why the expert card weighs it so (empty for a trained card).")


class ScreeningEntryOut(Schema):
    id: int
    version_id: int
    enterprise: ScreeningEnterpriseRef
    included: bool
    source: EntrySource
    score: Decimal | None
    reasons: list[ScreeningReasonOut]
    park_note: str
    points: list[ScreeningPointOut] = Field(
        ..., description="Points per scorecard characteristic; they add up to the score with the base points."
    )

    @staticmethod
    def resolve_reasons(obj: Any) -> list[dict[str, Any]]:
        return _reasons(obj.reasons)

    @staticmethod
    def resolve_points(obj: Any) -> list[dict[str, Any]]:
        from .selectors_whitelists import point_rows

        return point_rows(obj)


class ScreeningEntryFilter(Schema):
    included: bool | None = None
    source: EntrySource | None = None
    q: str | None = Field(None, max_length=64, description="Enterprise name contains, or its exact USCC.")


class ScreeningDiffItem(Schema):
    enterprise_id: int
    name: str
    reasons: list[ScreeningReasonOut]

    @staticmethod
    def resolve_reasons(obj: Any) -> list[dict[str, Any]]:
        return _reasons(obj["reasons"])


class ScreeningDiffOut(Schema):
    version_id: int
    previous_id: int | None
    added: list[ScreeningDiffItem]
    removed: list[ScreeningDiffItem]
    unchanged: int


class ScreeningWhitelistOut(Schema):
    id: int
    park: ScreeningParkRef
    period: str
    region_code: str
    baseline_id: int
    criteria_id: int | None
    current_version: ScreeningVersionOut | None
    created_at: datetime.datetime


class ScreeningWhitelistDetailOut(ScreeningWhitelistOut):
    versions: list[ScreeningVersionOut] = Field(..., description="The versions you may see, newest first.")

    @staticmethod
    def resolve_versions(obj: Any) -> list[Any]:
        return list(getattr(obj, "versions_visible", []))


class ScreeningScreenIn(InputSchema):
    park_id: ObjectId
    period: Period
    as_of: datetime.date | None = Field(None, description="Members and credit records on this day; default today.")


class ScreeningOverrideIn(InputSchema):
    include: bool = Field(..., description="true: put in (it must pass the baseline); false: take out.")
    note: str = Field(..., min_length=1, max_length=255, description="The park's reason (园区意见).")


class ScreeningDecisionIn(InputSchema):
    note: str = Field("", max_length=2000, description="Required when returning.")


# ---------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------


class ScreeningApplicationIn(InputSchema):
    park_id: ObjectId
    period: Period
    statement: str = Field("", max_length=2000)
    enterprise_id: ObjectId | None = Field(None, description="Default: your own enterprise.")


class ScreeningApplicationFilter(Schema):
    status: ApplicationStatus | None = None
    period: str | None = Field(None, max_length=16)
    park_id: ObjectId | None = None


class ScreeningApplicationOut(Schema):
    id: int
    enterprise: ScreeningEnterpriseRef
    park: ScreeningParkRef
    period: str
    statement: str
    status: ApplicationStatus
    answered_in_id: int | None
    answer: list[ScreeningReasonOut] = Field(..., description="Why the enterprise is in or out, once answered.")
    created_at: datetime.datetime

    @staticmethod
    def resolve_answer(obj: Any) -> list[dict[str, Any]]:
        return _reasons(obj.answer)


class ScreeningWhitelistFilter(Schema):
    period: str | None = Field(None, max_length=16)
    park_id: ObjectId | None = None
