"""Load the 百园万企 target figures (行动目标, T1–T4) a user may see, and present them.

`target_overview` reads through `restrict(user, "view")` (user None = unrestricted, for jobs and reports) into the
frames of `ipledge.monitoring.engine.targets`, where every definition lives; the implementation rate of pledged
patents (质押专利实施率, T3) is the lending engine's own T3 figure. Parks (园区) shown are those in the viewer's
region (government bodies), the viewer's own parks (park administrations) or all (platform, jobs).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db.models import BigIntegerField, ExpressionWrapper, F, Min, Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ipledge.core import exports
from ipledge.core.choices import GOVERNMENT_KINDS, OrganisationKind, RegionLevel
from ipledge.core.context import business_date
from ipledge.core.models import Region, User
from ipledge.core.scoping import Action, scope_for
from ipledge.lending.engine.indicators import indicator_set
from ipledge.lending.indicators import lending_frames
from ipledge.lending.models import Loan
from ipledge.market.models import Demand
from ipledge.registration.models import PledgeRegistration
from ipledge.registry.models import Enterprise, Park, ParkMembership

from .engine.targets import (
    PARKS_GOAL,
    SMES_GOAL,
    TargetFrames,
    attributed_registrations,
    target_figures,
    trend,
)

__all__ = [
    "PARKS_GOAL",
    "SMES_GOAL",
    "TargetOverview",
    "may_view_targets",
    "park_enterprises",
    "province_prefix",
    "target_overview",
    "target_trend",
    "targets_workbook",
    "viewable_target_parks",
    "visible_parks",
]

TREND_YEARS = 5


@dataclass(frozen=True)
class TargetOverview:
    year: int
    region_prefix: str
    parks: pl.DataFrame  # per park: see engine.targets.PARK_COLUMNS
    provinces: pl.DataFrame  # per province: see engine.targets.PROVINCE_COLUMNS
    parks_reaching: int  # goal PARKS_GOAL
    new_smes: int  # goal SMES_GOAL
    new_smes_by_size: dict[str, int]
    implementation_rate: float | None
    turnaround_days_avg: float | None
    online_share: float | None
    demand_to_loan_days_median: float | None
    queries: dict[str, str]  # figure key -> description of the query behind it (traceability)


def may_view_targets(user: Any) -> bool:
    """Government bodies (their region), park administrations (their parks) and the platform."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.VIEW):
        return False
    return scope.is_platform or scope.kind in GOVERNMENT_KINDS or scope.kind == OrganisationKind.PARK_ADMIN


def viewable_target_parks(user: Any) -> QuerySet[Park]:
    """The parks whose target pages (`monitoring:targets_park`) the user may open: none unless `may_view_targets`."""
    return visible_parks(user) if may_view_targets(user) else Park.objects.none()


def visible_parks(user: User | None) -> QuerySet[Park]:
    """The parks whose targets the user follows (the park list itself is public; the targets are not)."""
    parks = Park.objects.all()
    if user is None:
        return parks
    scope = scope_for(user)
    if scope is None:
        return parks.none()
    if scope.is_platform:
        return parks
    if scope.kind in GOVERNMENT_KINDS:
        region = scope.region_q("region__code")
        return parks.filter(region) if region is not None else parks.none()
    if scope.kind == OrganisationKind.PARK_ADMIN:
        return parks.filter(scope.org_tree_q("administering_org__tree_path"))
    return parks.none()


def province_prefix(code: str) -> str:
    """A region code's prefix ("320000" → "32", "320500" → "3205"); "" for none."""
    code = (code or "").strip()
    while code.endswith("00"):
        code = code[:-2]
    return code


def _fen(field: str) -> ExpressionWrapper:
    """The integer fen stored in a MoneyField, without converting each value to `Money`."""
    return ExpressionWrapper(F(field), output_field=BigIntegerField())


def _visible(model: type[Model], user: User | None) -> QuerySet[Any]:
    manager = model._default_manager
    return manager.all() if user is None else manager.restrict(user, "view")  # type: ignore[attr-defined]


def _rows(qs: QuerySet[Any], names: Sequence[str], schema: Mapping[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(qs.order_by().values_list(*names)), schema=dict(schema), orient="row")


def _province_of(code: str | None) -> str:
    return f"{code[:2]}0000" if code and len(code) >= 2 else ""


def _load(user: User | None, region_prefix: str, implementation_years: Sequence[int]) -> TargetFrames:
    parks_qs = visible_parks(user)
    if region_prefix:
        parks_qs = parks_qs.filter(region__code__startswith=region_prefix)
    park_rows = list(parks_qs.order_by().values_list("pk", "name", "region__code", "is_key_park"))
    province_names = dict(Region.objects.filter(level=RegionLevel.PROVINCE).values_list("code", "name"))
    parks = pl.DataFrame(
        [
            (pk, name, _province_of(code), province_names.get(_province_of(code), _province_of(code)), key)
            for pk, name, code, key in park_rows
        ],
        schema={
            "park_id": pl.Int64,
            "park_name": pl.String,
            "province_code": pl.String,
            "province_name": pl.String,
            "is_key_park": pl.Boolean,
        },
        orient="row",
    )
    regs_qs = _visible(PledgeRegistration, user)
    registrations = _rows(
        regs_qs.annotate(claim_fen=_fen("claim_amount")),
        ["pk", "registered_on", "claim_fen", "pledgor_id", "filing__channel", "filing__turnaround_working_days"],
        {
            "registration_id": pl.Int64,
            "registered_on": pl.Date,
            "claim_amount_fen": pl.Int64,
            "pledgor_id": pl.Int64,
            "channel": pl.String,
            "turnaround_working_days": pl.Int64,
        },
    )
    # Memberships of the visible pledgors in the shown parks only: the attribution needs no others.
    memberships = _rows(
        ParkMembership.objects.filter(enterprise_id__in=regs_qs.values("pledgor_id"), park__in=parks_qs),
        ["enterprise_id", "park_id", "joined_on", "left_on"],
        {"enterprise_id": pl.Int64, "park_id": pl.Int64, "joined_on": pl.Date, "left_on": pl.Date},
    )
    loans_qs = _visible(Loan, user).filter(is_ip_pledge=True, first_disbursed_on__isnull=False)
    if region_prefix:
        loans_qs = loans_qs.filter(borrower__region_code__startswith=region_prefix)
    loans = _rows(
        loans_qs,
        ["pk", "borrower_id", "first_disbursed_on"],
        {"loan_id": pl.Int64, "borrower_id": pl.Int64, "first_disbursed_on": pl.Date},
    )
    # First financing anywhere on the platform: a bank or region that sees one loan could not tell otherwise.
    firsts = dict(
        Loan.objects.filter(
            is_ip_pledge=True, first_disbursed_on__isnull=False, borrower_id__in=loans_qs.values("borrower_id")
        )
        .order_by()
        .values_list("borrower_id")
        .annotate(first=Min("first_disbursed_on"))
    )
    borrowers = Enterprise.objects.filter(pk__in=list(firsts)).values_list("pk", "size_class", "region_code")
    financed = pl.DataFrame(
        [(pk, size, _province_of(code), firsts[pk]) for pk, size, code in borrowers],
        schema={
            "enterprise_id": pl.Int64,
            "size_class": pl.String,
            "province_code": pl.String,
            "first_financed_on": pl.Date,
        },
        orient="row",
    )
    demand_rows = (
        _visible(Demand, user)
        .filter(enterprise_id__in=loans_qs.values("borrower_id"))
        .order_by()
        .values_list("pk", "enterprise_id", "created_at")
    )
    demands = pl.DataFrame(
        [(pk, enterprise, timezone.localtime(created).date()) for pk, enterprise, created in demand_rows],
        schema={"demand_id": pl.Int64, "enterprise_id": pl.Int64, "created_on": pl.Date},
        orient="row",
    )
    provinces = pl.DataFrame(
        list(province_names.items()), schema={"province_code": pl.String, "province_name": pl.String}, orient="row"
    )
    return TargetFrames.from_rows(
        registrations=registrations,
        memberships=memberships,
        parks=parks,
        financed=financed,
        loans=loans,
        demands=demands,
        provinces=provinces,
        implementation_rates={year: _implementation_rate(user, year, region_prefix) for year in implementation_years},
    )


def _implementation_rate(user: User | None, year: int, region_prefix: str) -> float | None:
    """The lending engine's T3 at the last quarter end of the year (up to today), over the visible loans."""
    today = business_date()
    start = dt.date(year, 1, 1)
    if start > today:
        return None
    end = min(dt.date(year, 12, 31), today)
    frames = lending_frames(user=user, as_of=today, since=start)
    if region_prefix:
        loans = frames.loans.filter(pl.col("region_code").str.starts_with(region_prefix))
        frames = dataclasses.replace(
            frames,
            loans=loans,
            collateral=frames.collateral.filter(pl.col("loan_id").is_in(loans.get_column("loan_id").implode())),
        )
    table = indicator_set(frames, period_start=start, period_end=end, slices=[], granularity="year")
    rates = table["t3_implementation"].get_column("implementation_rate")
    return float(rates[-1]) if rates.len() and rates[-1] is not None else None


def _queries(year: int, region_prefix: str) -> dict[str, str]:
    where = f"园区所在地区代码以“{region_prefix}”开头" if region_prefix else "全部可见园区"
    park_basis = (
        f"PledgeRegistration（本机构可见，restrict view）按 registered_on 取 {year} 年与 {year - 1} 年，"
        f"每笔登记归属出质人在登记日所在园区（ParkMembership：joined_on ≤ 登记日 < left_on，多个园区取编号最小者），"
        f"{where}"
    )
    loans = (
        f"Loan（本机构可见，is_ip_pledge，借款企业登记地{('以“' + region_prefix + '”开头') if region_prefix else '不限'}）"
        f"按借款企业取全平台最早 first_disbursed_on 落在 {year} 年，企业规模 size_class ∈ 中型/小型/微型"
    )
    regs_year = f"PledgeRegistration（本机构可见）registered_on 在 {year} 年，关联 PledgeFiling"
    return {
        "projects": f"质押项目数：{park_basis}；登记笔数 COUNT(*)",
        "amount_fen": f"质押登记金额（分）：{park_basis}；SUM(claim_amount)",
        "parks_reaching": f"项目数与登记金额同比增长均 ≥ 20% 的园区数（上年为 0 不计）：{park_basis}",
        "parks_goal": f"目标园区数：{PARKS_GOAL}",
        "new_smes": f"新增知识产权质押融资中小微企业数：{loans}；COUNT(DISTINCT 企业)",
        "smes_goal": f"目标企业数：{SMES_GOAL}",
        "implementation_rate": (
            f"质押专利实施率：LoanCollateral（专利，所属贷款在 {year} 年末最后一个季末处于放款未结清状态）"
            "最近一次 ImplementationReport 为自行实施、许可或转让者 ÷ 有实施报告者（贷款统计指标 T3）"
        ),
        "turnaround_days_avg": f"登记平均办理用时（工作日）：{regs_year}；AVG(turnaround_working_days)",
        "online_share": f"网上办理占比：{regs_year}；channel = online 的笔数 ÷ 总笔数",
        "demand_to_loan_days_median": (
            f"需求到放款天数中位数：Loan（本机构可见）first_disbursed_on 在 {year} 年，"
            "对同一企业在放款日及以前发布的最近一条 Demand（created_at）求间隔天数的中位数"
        ),
    }


def _overview(frames: TargetFrames, year: int, region_prefix: str) -> TargetOverview:
    figures = target_figures(frames, year)
    return TargetOverview(
        year=year,
        region_prefix=region_prefix,
        parks=figures.parks,
        provinces=figures.provinces,
        parks_reaching=figures.parks_reaching,
        new_smes=figures.new_smes,
        new_smes_by_size=figures.new_smes_by_size,
        implementation_rate=figures.implementation_rate,
        turnaround_days_avg=figures.turnaround_days_avg,
        online_share=figures.online_share,
        demand_to_loan_days_median=figures.demand_to_loan_days_median,
        queries=_queries(year, region_prefix),
    )


def target_overview(*, user: User | None, year: int, region_prefix: str = "") -> TargetOverview:
    """Every target figure for the year, over what `user` may view (None: everything) and, with `region_prefix`
    (a region code prefix such as "32", or a full code such as "320000"), that region only."""
    prefix = province_prefix(region_prefix)
    return _overview(_load(user, prefix, [year]), year, prefix)


def target_dashboard(
    *, user: User | None, year: int, region_prefix: str = "", years: int = TREND_YEARS
) -> tuple[TargetOverview, pl.DataFrame]:
    """The overview and the trend over the `years` years up to `year` (one load for both)."""
    prefix = province_prefix(region_prefix)
    frames = _load(user, prefix, [year])
    return _overview(frames, year, prefix), trend(frames, list(range(year - years + 1, year + 1)))


def target_trend(*, user: User | None, years: Sequence[int], region_prefix: str = "") -> pl.DataFrame:
    prefix = province_prefix(region_prefix)
    return trend(_load(user, prefix, []), years)


def default_year(user: User | None) -> int:
    """This year, or the latest earlier year with a visible registration when this year has none yet."""
    today = business_date()
    latest = (
        _visible(PledgeRegistration, user)
        .filter(registered_on__lte=today)
        .order_by("-registered_on")
        .values_list("registered_on", flat=True)
        .first()
    )
    return latest.year if latest is not None else today.year


def park_enterprises(*, user: User | None, park: Park, year: int) -> list[dict[str, Any]]:
    """The enterprises behind one park's figures for the year: their registrations attributed to the park and
    their IP-pledge loans first disbursed in the year (both as the user may view them)."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    regs_qs = _visible(PledgeRegistration, user).filter(registered_on__range=(start, end))
    frames = TargetFrames.from_rows(
        registrations=_rows(
            regs_qs.annotate(claim_fen=_fen("claim_amount")),
            ["pk", "registered_on", "claim_fen", "pledgor_id"],
            {
                "registration_id": pl.Int64,
                "registered_on": pl.Date,
                "claim_amount_fen": pl.Int64,
                "pledgor_id": pl.Int64,
            },
        ),
        memberships=_rows(
            ParkMembership.objects.filter(enterprise_id__in=regs_qs.values("pledgor_id")),
            ["enterprise_id", "park_id", "joined_on", "left_on"],
            {"enterprise_id": pl.Int64, "park_id": pl.Int64, "joined_on": pl.Date, "left_on": pl.Date},
        ),
    )
    attributed = attributed_registrations(frames).filter(pl.col("park_id") == park.pk)
    reg_ids = attributed.get_column("registration_id").to_list()
    registrations = list(regs_qs.filter(pk__in=reg_ids).select_related("pledgor").order_by("registered_on", "pk"))
    member_ids = ParkMembership.objects.filter(park=park).values("enterprise_id")
    loans = list(
        _visible(Loan, user)
        .filter(is_ip_pledge=True, first_disbursed_on__range=(start, end))
        .filter(Q(park=park) | Q(borrower_id__in=member_ids))
        .select_related("borrower", "bank")
        .order_by("first_disbursed_on", "pk")
    )
    by_enterprise: dict[int, dict[str, Any]] = {}

    def entry(enterprise: Enterprise) -> dict[str, Any]:
        return by_enterprise.setdefault(
            enterprise.pk, {"enterprise": enterprise, "registrations": [], "loans": [], "amount_fen": 0}
        )

    for registration in registrations:
        row = entry(registration.pledgor)
        row["registrations"].append(registration)
        row["amount_fen"] += registration.claim_amount.fen if registration.claim_amount is not None else 0
    for loan in loans:
        entry(loan.borrower)["loans"].append(loan)
    return sorted(by_enterprise.values(), key=lambda row: (-len(row["registrations"]), row["enterprise"].name))


# ---------------------------------------------------------------------------
# Presentation
# ---------------------------------------------------------------------------

COLUMN_TITLES: dict[str, Any] = {
    "park_id": gettext_lazy("园区编号"),
    "park_name": gettext_lazy("园区"),
    "province_code": gettext_lazy("省份代码"),
    "province_name": gettext_lazy("省份"),
    "is_key_park": gettext_lazy("重点园区"),
    "projects": gettext_lazy("质押项目数"),
    "amount_fen": gettext_lazy("质押登记金额"),
    "projects_prev": gettext_lazy("上年项目数"),
    "amount_prev_fen": gettext_lazy("上年登记金额"),
    "projects_growth": gettext_lazy("项目数同比"),
    "amount_growth": gettext_lazy("金额同比"),
    "reaches_goal": gettext_lazy("双增20%"),
    "parks": gettext_lazy("园区数"),
    "parks_reaching": gettext_lazy("达标园区数"),
    "key_parks": gettext_lazy("重点园区数"),
    "new_smes": gettext_lazy("新增融资中小微企业"),
    "year": gettext_lazy("年度"),
}
SIZE_TITLES: dict[str, Any] = {
    "medium": gettext_lazy("中型"),
    "small": gettext_lazy("小型"),
    "micro": gettext_lazy("微型"),
}


def targets_workbook(tables: Mapping[str, pl.DataFrame], *, subtitle: str) -> bytes:
    """One sheet per table (title → frame); money in yuan (fen ÷ 100), growths as percentages."""
    buffer = io.BytesIO()
    book = exports.workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    money = book.add_format({"num_format": "#,##0.00"})
    percent = book.add_format({"num_format": "0.00%"})
    for title, table in tables.items():
        sheet = book.add_worksheet(title[:31])
        sheet.write_string(0, 0, f"{title}　{subtitle}")
        for col, column in enumerate(table.columns):
            heading = str(COLUMN_TITLES.get(column, column))
            sheet.write_string(1, col, heading + _("（元）") if column.endswith("_fen") else heading, head)
            sheet.set_column(col, col, 16)
        for r, row in enumerate(table.iter_rows(), start=2):
            for col, (column, value) in enumerate(zip(table.columns, row, strict=True)):
                if value is None:
                    sheet.write_blank(r, col, None)
                elif isinstance(value, bool):
                    sheet.write_string(r, col, _("是") if value else _("否"))
                elif column.endswith("_fen"):
                    sheet.write_number(r, col, value / 100, money)  # display only: the figures stay fen
                elif isinstance(value, float):
                    sheet.write_number(r, col, value, percent)
                elif isinstance(value, int):
                    sheet.write_number(r, col, value)
                else:
                    sheet.write_string(r, col, str(value))
        sheet.freeze_panes(2, 0)
    book.close()
    return buffer.getvalue()
