"""Targets API (百园万企 目标监测, T1–T4): `GET /monitoring/targets` answers the year's overview — the KPIs against
the goals (parks with both pledge projects 质押项目数 and pledged amount 质押登记金额 up 20 % on the year before, goal
100; new small, medium and micro enterprises 中小微企业 first financed through IP, goal 10,000; implementation rate
of pledged patents 质押专利实施率; service convenience 服务便利度), one row per province and one per park.

Figures are computed from what the caller may view (`restrict(user, "view")`), as on the dashboard
(`monitoring:targets`); government bodies, park administrations and the platform may call it, others get 403. Money
is integer fen (`*_fen`), ratios are fractions (0.2 = 20 %); `queries` describes the query behind each figure.
"""

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from ipledge.core.apikit import ApiError, caller, error_responses
from ipledge.core.choices import RegionLevel
from ipledge.core.context import business_date
from ipledge.core.models import Region

from ..engine.targets import PARKS_GOAL, SMES_GOAL
from ..targets import default_year, may_view_targets, target_overview

router = Router(tags=["monitoring"])

EARLIEST_YEAR = 2000


class TargetQuery(Schema):
    year: int | None = Field(
        None,
        ge=EARLIEST_YEAR,
        le=9999,
        description="Year (default: this year, or the latest earlier year with a visible registration).",
    )
    province: str | None = Field(
        None, pattern=r"^\d{2}0000$", description="Province code (e.g. 320000); default: every visible province."
    )


class TargetParkOut(Schema):
    park_id: int
    park_name: str
    province_code: str
    province_name: str
    is_key_park: bool
    projects: int = Field(..., description="Pledge registrations (质押项目数) attributed to the park in the year.")
    amount_fen: int = Field(..., description="Sum of their claim amounts (质押登记金额), fen.")
    projects_prev: int
    amount_prev_fen: int
    projects_growth: float | None = Field(..., description="Year-on-year growth; null when last year was zero.")
    amount_growth: float | None
    reaches_goal: bool = Field(..., description="Both growths at least 20 %.")


class TargetProvinceOut(Schema):
    province_code: str
    province_name: str
    parks: int
    parks_reaching: int
    key_parks: int
    projects: int
    amount_fen: int
    new_smes: int


class TargetOverviewOut(Schema):
    year: int
    region_prefix: str
    as_of: str = Field(..., description="Business date of the data (ISO 8601).")
    parks_reaching: int
    parks_goal: int
    new_smes: int
    smes_goal: int
    new_smes_by_size: dict[str, int] = Field(..., description="medium / small / micro")
    implementation_rate: float | None
    turnaround_days_avg: float | None = Field(..., description="Mean registration turnaround, working days.")
    online_share: float | None
    demand_to_loan_days_median: float | None
    queries: dict[str, str]
    provinces: list[TargetProvinceOut]
    parks: list[TargetParkOut]


@router.get(
    "/monitoring/targets",
    response={200: TargetOverviewOut, **error_responses(400, 403)},
    summary="百园万企 targets (T1–T4) for a year: KPIs, provinces and parks",
)
def targets(request: HttpRequest, query: Query[TargetQuery]) -> dict[str, Any]:
    user = caller(request)
    if not may_view_targets(user):
        raise ApiError(403, "forbidden", "您的机构无权查看目标监测。", "Your organisation may not view the targets.")
    today = business_date()
    year = query.year if query.year is not None else default_year(user)
    if year > today.year:
        raise ApiError(400, "max_value", "年度不能晚于今年。", "year must not be later than this year.", field="year")
    province = query.province or ""
    if province and not Region.objects.filter(code=province, level=RegionLevel.PROVINCE).exists():
        raise ApiError(
            400,
            "not_found",
            f"省份代码 {province} 不存在。",
            f"Province code {province} does not exist.",
            field="province",
        )
    overview = target_overview(user=user, year=year, region_prefix=province)
    return {
        "year": overview.year,
        "region_prefix": overview.region_prefix,
        "as_of": today.isoformat(),
        "parks_reaching": overview.parks_reaching,
        "parks_goal": PARKS_GOAL,
        "new_smes": overview.new_smes,
        "smes_goal": SMES_GOAL,
        "new_smes_by_size": overview.new_smes_by_size,
        "implementation_rate": overview.implementation_rate,
        "turnaround_days_avg": overview.turnaround_days_avg,
        "online_share": overview.online_share,
        "demand_to_loan_days_median": overview.demand_to_loan_days_median,
        "queries": overview.queries,
        "provinces": overview.provinces.to_dicts(),
        "parks": overview.parks.to_dicts(),
    }
