"""Monitoring API: impact analysis (成效分析, O3) and the yearly enterprise figures (企业年度经营数据).

- `GET /monitoring/impact?year=&province=`: the matched difference-in-differences of the enterprises first financed
  through IP in `year` against similar unfinanced ones (see `monitoring.engine.impact`), and the satisfaction of the
  follow-up surveys (跟踪调查). For IP offices, regulators, NDRC, park administrations and the platform, on what
  they may see.
- `/monitoring/financials`: list (filters), create (an enterprise its own; an IP office for enterprises registered
  in its region), read, correct (PATCH, only the fields given; `updated_at` as read refuses a stale edit).

Conventions as in the market APIs: reads start from `restrict(user, "view")` (another organisation's row answers
404); the services decide who may act (403) and name the field and the rule of a refusal (400). Money travels as
a decimal string in yuan; impact estimates of money outcomes as integer fen (estimates, not ledger amounts).
"""

import datetime
from decimal import Decimal
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from ipledge.core.apikit import (
    MAX_ID,
    ApiError,
    Paginated,
    caller,
    error_responses,
    renamed_fields,
    require,
    resolve,
)
from ipledge.core.money import Money
from ipledge.core.schemas import InputSchema
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.registry.models import Enterprise
from ipledge.registry.schemas import MoneyStr, money_out

from .. import selectors_impact as selectors
from ..choices import FinancialsSource
from ..models import EnterpriseFinancials
from ..services import financials as services

router = Router(tags=["monitoring"])

WRITE_ERRORS = error_responses(400, 403, 404)
READ_ERRORS = error_responses(403, 404)
FinancialsId = Path(..., ge=1, le=MAX_ID)
Year = Annotated[int, Field(ge=services.EARLIEST_YEAR, le=2100)]
Count = Annotated[int, Field(ge=0, le=services.COUNT_MAX)]
FIELDS = {"enterprise": "enterprise_id"}


class MonitoringImpactFilter(Schema):
    year: Year | None = Field(None, description="Financing cohort: first IP-pledge loan disbursed in this year.")
    province: str | None = Field(
        None, pattern=r"^[0-9]{2}0000$", description="Province code (e.g. 320000); default: everything you see."
    )


class MonitoringImpactOutcomeOut(Schema):
    key: str = Field(..., description="rd_spending, revenue, employees or patents_implemented.")
    unit: str = Field(..., description="`fen` for money outcomes, `count` otherwise.")
    pairs: int = Field(..., description="Matched pairs with the outcome known in t−1 and t+1 on both sides.")
    treated_before: float | None
    treated_after: float | None
    control_before: float | None
    control_after: float | None
    treated_change: float | None
    control_change: float | None
    effect: float | None = Field(..., description="Difference in differences (mean of pair differences).")
    ci_low: float | None = Field(..., description="95 % t interval; null below 3 pairs.")
    ci_high: float | None
    significant: bool


class MonitoringImpactRatingOut(Schema):
    question: str
    answers: int
    mean: float
    satisfied_share: float = Field(..., description="Share of ratings 4–5 of 5.")
    distribution: list[int] = Field(..., description="Answers rating 1, 2, 3, 4, 5.")


class MonitoringImpactOut(Schema):
    year: int
    province: str
    financed: int = Field(..., description="Enterprises first financed through IP in the year.")
    financed_with_baseline: int
    comparison_pool: int = Field(..., description="Never-financed enterprises with figures for year − 1.")
    matched: int
    unmatched: int
    same_province: int
    controls_used: int
    outcomes: list[MonitoringImpactOutcomeOut]
    satisfaction: list[MonitoringImpactRatingOut]


class MonitoringFinancialsEnterpriseRef(Schema):
    id: int
    name: str


class MonitoringFinancialsOut(Schema):
    id: int
    enterprise: MonitoringFinancialsEnterpriseRef
    year: int
    rd_spending: str | None
    revenue: str | None
    employees: int | None
    patents_held: int | None
    patents_implemented: int | None
    source: FinancialsSource
    survey_response_id: int | None
    region_code: str
    updated_at: datetime.datetime

    @staticmethod
    def resolve_rd_spending(obj: Any) -> str | None:
        return money_out(obj.rd_spending)

    @staticmethod
    def resolve_revenue(obj: Any) -> str | None:
        return money_out(obj.revenue)


class MonitoringFinancialsFilter(Schema):
    year: Year | None = None
    province: str | None = Field(None, pattern=r"^[0-9]{2}0000$")
    source: FinancialsSource | None = None
    enterprise: str | None = Field(None, max_length=64, description="Enterprise name contains.")


class MonitoringFinancialsIn(InputSchema):
    enterprise_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = Field(
        None, description="The enterprise (an IP office names one of its region's); default: your enterprise."
    )
    year: Year
    rd_spending: MoneyStr | None = None
    revenue: MoneyStr | None = None
    employees: Count | None = None
    patents_held: Count | None = None
    patents_implemented: Count | None = None


class MonitoringFinancialsPatch(InputSchema):
    updated_at: datetime.datetime | None = Field(None, description="As read; a newer edit refuses yours (`stale`).")
    rd_spending: MoneyStr | None = None
    revenue: MoneyStr | None = None
    employees: Count | None = None
    patents_held: Count | None = None
    patents_implemented: Count | None = None


def _figures(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in services.FIGURES:
        if name in data:
            value = data[name]
            out[name] = Money(Decimal(value)) if name in services.MONEY_FIGURES and value is not None else value
    return out


@router.get(
    "/monitoring/impact",
    response={200: MonitoringImpactOut, **READ_ERRORS},
    summary="Impact analysis (成效分析): enterprises first financed in a year vs matched unfinanced ones, t−1 → t+1 "
    "(difference in differences with 95 % intervals), and the follow-up surveys' satisfaction",
)
def impact(request: HttpRequest, filters: Query[MonitoringImpactFilter]) -> dict[str, Any]:
    user = caller(request)
    require(user, EnterpriseFinancials, Action.VIEW)
    if not selectors.may_view_impact(user):
        raise ApiError(
            403,
            "forbidden",
            "成效分析仅向知识产权局、金融监管、发展改革部门和园区管委会开放。",
            "The impact analysis is for IP offices, regulators, NDRC and park administrations.",
        )
    year = filters.year or selectors.default_year(user=user)
    overview = selectors.impact_overview(user=user, year=year, province_code=filters.province or "")
    result = overview.result
    return {
        "year": year,
        "province": overview.province_code,
        "financed": result.financed,
        "financed_with_baseline": result.financed_with_baseline,
        "comparison_pool": result.comparison_pool,
        "matched": result.matched,
        "unmatched": result.unmatched,
        "same_province": result.same_province,
        "controls_used": result.controls_used,
        "outcomes": [
            {
                "key": o.key,
                "unit": "fen" if o.is_money else "count",
                "pairs": o.pairs,
                "treated_before": o.treated_before,
                "treated_after": o.treated_after,
                "control_before": o.control_before,
                "control_after": o.control_after,
                "treated_change": o.treated_change,
                "control_change": o.control_change,
                "effect": o.effect,
                "ci_low": o.ci_low,
                "ci_high": o.ci_high,
                "significant": o.significant,
            }
            for o in result.outcomes
        ],
        "satisfaction": [
            {
                "question": s.question,
                "answers": s.answers,
                "mean": s.mean,
                "satisfied_share": s.satisfied_share,
                "distribution": list(s.distribution),
            }
            for s in overview.satisfaction
        ],
    }


@router.get(
    "/monitoring/financials",
    response={200: list[MonitoringFinancialsOut], **error_responses(403)},
    summary="Yearly enterprise figures (企业年度经营数据) you may read: an enterprise its own, an IP office or "
    "oversight body its region's, a park its member enterprises'",
)
@paginate(Paginated)
def financials_list(request: HttpRequest, filters: Query[MonitoringFinancialsFilter]) -> QuerySet[EnterpriseFinancials]:
    user = caller(request)
    require(user, EnterpriseFinancials, Action.VIEW)
    return selectors.financials_list(
        user=user,
        filters=selectors.FinancialsFilters(
            year=filters.year,
            province_code=filters.province or "",
            source=str(filters.source) if filters.source else "",
            enterprise=filters.enterprise or "",
        ),
    )


@router.post(
    "/monitoring/financials",
    response={201: MonitoringFinancialsOut, **WRITE_ERRORS},
    summary="Enter a year's figures of your enterprise (or, an IP office, of an enterprise of your region)",
)
def financials_create(request: HttpRequest, payload: MonitoringFinancialsIn) -> Status[EnterpriseFinancials]:
    user = caller(request)
    require(user, EnterpriseFinancials, Action.ADD)
    if payload.enterprise_id is not None:
        enterprise = resolve(Enterprise, user=user, action=Action.VIEW, field="enterprise_id", pk=payload.enterprise_id)
    else:
        enterprise = Enterprise.objects.filter(organisation_id=getattr(user, "organisation_id", None)).first()
        if enterprise is None:
            raise ApiError(
                400, "required", "请指定企业。", "Name the enterprise (enterprise_id).", field="enterprise_id"
            )
    try:
        row = services.financials_create(
            enterprise=enterprise,
            year=payload.year,
            figures=_figures(payload.model_dump(exclude={"enterprise_id", "year"})),
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, FIELDS) from exc
    return Status(201, row)


@router.get(
    "/monitoring/financials/{financials_id}",
    response={200: MonitoringFinancialsOut, **READ_ERRORS},
    summary="One enterprise's figures for one year",
)
def financials_detail(request: HttpRequest, financials_id: int = FinancialsId) -> EnterpriseFinancials:
    user = caller(request)
    require(user, EnterpriseFinancials, Action.VIEW)
    return scoped_get(EnterpriseFinancials, user=user, pk=financials_id)


@router.patch(
    "/monitoring/financials/{financials_id}",
    response={200: MonitoringFinancialsOut, **WRITE_ERRORS},
    summary="Correct a year's figures (only the fields given; null clears one); the row becomes 企业填报",
)
def financials_update(
    request: HttpRequest, payload: MonitoringFinancialsPatch, financials_id: int = FinancialsId
) -> EnterpriseFinancials:
    user = caller(request)
    row = scoped_get(EnterpriseFinancials, user=user, pk=financials_id)
    if not EnterpriseFinancials.objects.restrict(user, Action.CHANGE).filter(pk=row.pk).exists():
        raise PermissionDenied
    data = payload.model_dump(exclude_unset=True)
    seen = data.pop("updated_at", None)
    try:
        services.financials_update(financials=row, figures=_figures(data), expected_updated_at=seen, acting_user=user)
    except ValidationError as exc:
        raise renamed_fields(exc, FIELDS) from exc
    return scoped_get(EnterpriseFinancials, user=user, pk=row.pk)
