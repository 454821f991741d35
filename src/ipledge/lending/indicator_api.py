"""Indicator API (统计指标): `GET /lending/indicators` answers every indicator table for a period and one slice.

The figures are computed from what the caller may view (`restrict(user, "view")`), exactly as on the dashboard.
Lending-basis and registration-basis tables carry `basis` so that clients never add the two together. Money is
integer fen (`*_fen`), ratios are fractions (0.0123 = 1.23 %), dates ISO 8601.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from ipledge.core.apikit import ApiError, caller, error_item, error_responses
from ipledge.core.context import business_date

from .indicators import compute_indicators, may_view_indicators, period_errors, table_rows, table_title

router = Router(tags=["lending-indicators"])


class IndicatorQuery(Schema):
    period_start: dt.date = Field(..., description="First day of the period (inclusive).")
    period_end: dt.date = Field(..., description="Last day of the period (inclusive).")
    slice: Literal["bank", "head_office", "park", "province", "city", "ip_kind", "size_class"] = Field(
        "province", description="Slice of the `*_by_<slice>` tables."
    )
    granularity: Literal["month", "quarter", "year"] = Field("month", description="Buckets of the series tables.")


class IndicatorTableOut(Schema):
    name: str = Field(..., description="e.g. lending_summary, lending_by_province, registration_series")
    title: str
    basis: Literal["lending", "registration", "reference"] = Field(
        ..., description="lending = bank statistics, registration = CNIPA registrations: never summed together."
    )
    rows: list[dict[str, Any]]


class IndicatorSetOut(Schema):
    period_start: dt.date
    period_end: dt.date
    slice: str
    granularity: str
    as_of: dt.date = Field(..., description="Business date of the data (current classifications hold from here).")
    tables: list[IndicatorTableOut]


def _basis(name: str) -> Literal["lending", "registration", "reference"]:
    if name.startswith("registration_"):
        return "registration"
    if name == "puhui_thresholds":
        return "reference"
    return "lending"


@router.get(
    "/lending/indicators",
    response={200: IndicatorSetOut, **error_responses(400, 403)},
    summary="Lending and registration indicators (统计指标) for a period",
)
def indicators(request: HttpRequest, query: Query[IndicatorQuery]) -> dict[str, Any]:
    user = caller(request)
    if not may_view_indicators(user):
        raise ApiError(
            403, "forbidden", "您的机构无权查看统计指标。", "Your organisation may not view the lending indicators."
        )
    problems = period_errors(query.period_start, query.period_end, query.granularity, query.slice)
    if problems:
        raise ApiError(400, problems[0][1], problems[0][2], errors=[error_item(*p) for p in problems])
    tables = compute_indicators(
        user,
        period_start=query.period_start,
        period_end=query.period_end,
        slice_key=query.slice,
        granularity=query.granularity,
    )
    return {
        "period_start": query.period_start,
        "period_end": query.period_end,
        "slice": query.slice,
        "granularity": query.granularity,
        "as_of": business_date(),
        "tables": [
            {"name": name, "title": table_title(name), "basis": _basis(name), "rows": table_rows(table)}
            for name, table in tables.items()
        ],
    }
