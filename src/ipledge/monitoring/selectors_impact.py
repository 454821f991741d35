"""Reads for the impact analysis (成效分析) and the yearly enterprise figures (企业年度经营数据).

`impact_frames` loads the engine's frames for what the user may see: the enterprises (`Enterprise.restrict`), their
yearly figures (`EnterpriseFinancials.restrict`) and the follow-up answers (`SurveyResponse.restrict`). Whether and
when a visible enterprise was first financed is read from every loan, not only the loans the user may open: an
enterprise financed by a bank outside the user's view must still never land in the comparison group (对照组), and
the fact revealed (a year, for an enterprise the user already sees) is no loan detail.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db.models import Min, QuerySet
from django.db.models.functions import ExtractYear

from ipledge.core.apikit import may
from ipledge.core.choices import GOVERNMENT_KINDS, OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.models import Region
from ipledge.core.scoping import Action, scope_for
from ipledge.lending.models import Loan
from ipledge.market.choices import QuestionKind, SurveyAudience
from ipledge.market.models import SurveyQuestion, SurveyResponse
from ipledge.registry.models import Enterprise

from .engine.impact import (
    ENTERPRISE_SCHEMA,
    FINANCIALS_SCHEMA,
    FINANCING_SCHEMA,
    RATINGS_SCHEMA,
    ImpactResult,
    RatingSummary,
    impact_analysis,
    satisfaction_summary,
)
from .models import EnterpriseFinancials

# The impact analysis is for the bodies that steer the programme: IP offices, regulators, NDRC (their region), park
# administrations (their member enterprises) and the platform. An enterprise reads its own figures only.
IMPACT_VIEWER_KINDS = frozenset({*GOVERNMENT_KINDS, OrganisationKind.PARK_ADMIN})


def may_view_impact(user: Any) -> bool:
    scope = scope_for(user)
    if scope is None or not may(user, EnterpriseFinancials, Action.VIEW):
        return False
    return scope.is_platform or scope.kind in IMPACT_VIEWER_KINDS


@dataclass(frozen=True)
class FinancialsFilters:
    year: int | None = None
    province_code: str = ""
    source: str = ""
    enterprise: str = ""  # name contains


def financials_list(*, user: Any, filters: FinancialsFilters | None = None) -> QuerySet[EnterpriseFinancials]:
    qs = EnterpriseFinancials.objects.restrict(user, Action.VIEW).select_related("enterprise", "survey_response")
    f = filters or FinancialsFilters()
    if f.year is not None:
        qs = qs.filter(year=f.year)
    if f.province_code:
        qs = qs.filter(region_code__startswith=f.province_code[:2])
    if f.source:
        qs = qs.filter(source=f.source)
    if f.enterprise:
        qs = qs.filter(enterprise__name__contains=f.enterprise.strip())
    return qs.order_by("enterprise__name", "-year", "pk")


def _visible_enterprises(user: Any, province_code: str) -> QuerySet[Enterprise]:
    qs = Enterprise.objects.restrict(user, Action.VIEW)
    if province_code:
        qs = qs.filter(region_code__startswith=province_code[:2])
    return qs


def _province(code: str) -> str:
    return f"{code[:2]}0000" if len(code) >= 2 else ""


def impact_frames(*, user: Any, province_code: str = "") -> dict[str, pl.DataFrame]:
    """The engine's input frames (enterprises, financing, financials, ratings) within the user's view."""
    visible = _visible_enterprises(user, province_code)
    firms = pl.DataFrame(
        [
            {
                "enterprise_id": pk,
                "industry_section": section or "",
                "size_class": size or "",
                "province_code": _province(region or ""),
            }
            for pk, section, size, region in visible.values_list("pk", "industry_section", "size_class", "region_code")
        ],
        schema=ENTERPRISE_SCHEMA,
    )
    financed = (
        Loan.objects.filter(is_ip_pledge=True, first_disbursed_on__isnull=False, borrower__in=visible.values("pk"))
        .values("borrower_id")
        .annotate(first=Min("first_disbursed_on"))
        .values_list("borrower_id", "first")
    )
    financing = pl.DataFrame(
        [{"enterprise_id": pk, "first_financed_year": first.year} for pk, first in financed],
        schema=FINANCING_SCHEMA,
    )
    rows = EnterpriseFinancials.objects.restrict(user, Action.VIEW).filter(enterprise__in=visible.values("pk"))
    figures = pl.DataFrame(
        [
            {
                "enterprise_id": r[0],
                "year": r[1],
                "rd_spending_fen": r[2].fen if r[2] is not None else None,
                "revenue_fen": r[3].fen if r[3] is not None else None,
                "employees": r[4],
                "patents_implemented": r[5],
            }
            for r in rows.values_list(
                "enterprise_id", "year", "rd_spending", "revenue", "employees", "patents_implemented"
            ).iterator(chunk_size=5000)
        ],
        schema=FINANCIALS_SCHEMA,
    )
    return {
        "enterprises": firms,
        "financing": financing,
        "financials": figures,
        "ratings": rating_frame(user=user, province_code=province_code),
    }


def rating_frame(*, user: Any, province_code: str = "") -> pl.DataFrame:
    """(question, rating) of every rating question answered in the follow-up surveys (跟踪调查) the user may read."""
    questions = dict(
        SurveyQuestion.objects.filter(
            campaign__audience=SurveyAudience.FOLLOW_UP, kind=QuestionKind.RATING
        ).values_list("pk", "text")
    )
    if not questions:
        return pl.DataFrame(schema=RATINGS_SCHEMA)
    responses = SurveyResponse.objects.restrict(user, Action.VIEW).filter(campaign__audience=SurveyAudience.FOLLOW_UP)
    if province_code:
        responses = responses.filter(organisation__enterprise__region_code__startswith=province_code[:2])
    out: list[dict[str, Any]] = []
    for answers in responses.values_list("answers", flat=True).iterator(chunk_size=2000):
        for key, value in (answers or {}).items():
            text = questions.get(int(key)) if str(key).isdigit() else None
            if text is not None and isinstance(value, int) and not isinstance(value, bool):
                out.append({"question": text, "rating": value})
    return pl.DataFrame(out, schema=RATINGS_SCHEMA)


def financing_years(*, user: Any, province_code: str = "") -> list[int]:
    """Years in which some visible enterprise was first financed, newest first."""
    visible = _visible_enterprises(user, province_code)
    firsts = (
        Loan.objects.filter(is_ip_pledge=True, first_disbursed_on__isnull=False, borrower__in=visible.values("pk"))
        .values("borrower_id")
        .annotate(first=Min("first_disbursed_on"))
        .annotate(year=ExtractYear("first"))
        .values_list("year", flat=True)
    )
    return sorted({int(y) for y in firsts}, reverse=True)


def default_year(*, user: Any) -> int:
    """The latest cohort whose after-year (t+1) has figures; else two years ago."""
    latest = EnterpriseFinancials.objects.restrict(user, Action.VIEW).order_by("-year").values_list("year", flat=True)
    last = latest.first()
    return (last - 1) if last is not None else business_date().year - 2


def province_choices(*, user: Any) -> list[tuple[str, str]]:
    """Provinces of the enterprises the user sees, as (code, name)."""
    prefixes = {
        code[:2]
        for code in Enterprise.objects.restrict(user, Action.VIEW)
        .exclude(region_code="")
        .values_list("region_code", flat=True)
        .distinct()
        .order_by()
    }
    codes = sorted(f"{p}0000" for p in prefixes)
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    return [(code, names.get(code, code)) for code in codes]


@dataclass(frozen=True)
class ImpactOverview:
    year: int
    province_code: str
    result: ImpactResult
    satisfaction: list[RatingSummary]
    computed_on: datetime.date


def impact_overview(*, user: Any, year: int, province_code: str = "") -> ImpactOverview:
    frames = impact_frames(user=user, province_code=province_code)
    result = impact_analysis(
        enterprises=frames["enterprises"],
        financing=frames["financing"],
        financials=frames["financials"],
        year=year,
    )
    return ImpactOverview(
        year=year,
        province_code=province_code,
        result=result,
        satisfaction=satisfaction_summary(frames["ratings"]),
        computed_on=business_date(),
    )
