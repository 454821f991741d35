"""The targets dashboard (百园万企 目标监测, T1–T4): KPI cards against the goals, a China map by province, trend
charts and the province table; drill down province → parks → one park's enterprises; `?format=xlsx` downloads the
tables.

Figures come from `ipledge.monitoring.targets`, which reads only what `restrict(user, "view")` allows; government
bodies, park administrations and the platform see the page (`may_view_targets`), others get 403. A province or park
outside the viewer's parks answers 404, like a missing one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

import polars as pl
from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from ipledge.core.choices import RegionLevel
from ipledge.core.context import business_date
from ipledge.core.forms import BootstrapMixin
from ipledge.core.models import Region
from ipledge.core.money import Money
from ipledge.core.views import AuthenticatedRequest

from ..engine.targets import GROWTH_GOAL, PARKS_GOAL, SMES_GOAL
from ..targets import (
    COLUMN_TITLES,
    SIZE_TITLES,
    TargetOverview,
    default_year,
    may_view_targets,
    park_enterprises,
    target_dashboard,
    target_overview,
    targets_workbook,
    viewable_target_parks,
    visible_parks,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EARLIEST_YEAR = 2000


def _province_choices(user: Any) -> list[tuple[str, str]]:
    codes = {f"{code[:2]}0000" for code in visible_parks(user).values_list("region__code", flat=True)}
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    return [(code, names.get(code, code)) for code in sorted(codes)]


class TargetFilterForm(BootstrapMixin, forms.Form):
    year = forms.IntegerField(label=gettext_lazy("年度"), min_value=EARLIEST_YEAR)
    province = forms.ChoiceField(label=gettext_lazy("省份"), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        province: forms.ChoiceField = self.fields["province"]  # type: ignore[assignment]
        province.choices = [("", _("全部")), *_province_choices(user)]
        self.fields["year"].widget.attrs.update({"min": EARLIEST_YEAR, "max": business_date().year})

    def clean_year(self) -> int:
        year = self.cleaned_data["year"]
        if year > business_date().year:
            raise forms.ValidationError(_("年度不能晚于今年。"), code="max_value")
        return int(year)


def _guard(request: AuthenticatedRequest) -> None:
    if not may_view_targets(request.user):
        raise PermissionDenied


def _filters(request: AuthenticatedRequest, *, province: str | None = None) -> tuple[TargetFilterForm, bool]:
    data = {"year": str(default_year(request.user)), "province": province or ""}
    data.update({k: str(request.GET[k]) for k in ("year", "province") if request.GET.get(k)})
    if province is not None:
        data["province"] = province
    form = TargetFilterForm(data, user=request.user)
    return form, form.is_valid()


# ---------------------------------------------------------------------------
# Display helpers
# ---------------------------------------------------------------------------


def _wan(fen: int | None) -> str:
    """Fen as 万元 with two decimals."""
    if fen is None:
        return "—"
    return f"{(Decimal(fen) / 1_000_000).quantize(Decimal('0.01')):,}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _progress(value: int, goal: int) -> int:
    return min(100, round(value * 100 / goal)) if goal else 0


def _kpis(overview: TargetOverview) -> list[dict[str, Any]]:
    return [
        {
            "label": _("双增20%园区数"),
            "value": f"{overview.parks_reaching:,}",
            "icon": "buildings",
            "note": _("目标 %(goal)s 个") % {"goal": PARKS_GOAL},
            "progress": _progress(overview.parks_reaching, PARKS_GOAL),
        },
        {
            "label": _("新增知识产权融资中小微企业"),
            "value": f"{overview.new_smes:,}",
            "icon": "people",
            "note": _("目标 %(goal)s 家") % {"goal": f"{SMES_GOAL:,}"},
            "progress": _progress(overview.new_smes, SMES_GOAL),
        },
        {
            "label": _("质押专利实施率"),
            "value": _pct(overview.implementation_rate),
            "icon": "gear",
            "note": _("年末在押专利"),
        },
        {
            "label": _("登记平均办理用时"),
            "value": _number(overview.turnaround_days_avg),
            "icon": "stopwatch",
            "note": _("工作日"),
        },
        {"label": _("网上办理占比"), "value": _pct(overview.online_share), "icon": "globe", "note": _("质押登记")},
        {
            "label": _("需求到放款天数"),
            "value": _number(overview.demand_to_loan_days_median, 0),
            "icon": "hourglass-split",
            "note": _("中位数（天）"),
        },
    ]


def _cell(column: str, value: Any) -> dict[str, Any]:
    if value is None:
        text = "—"
    elif isinstance(value, bool):
        text = _("是") if value else _("否")
    elif column.endswith("_fen"):
        text = str(Money.from_fen(int(value)))
    elif isinstance(value, float):
        text = _pct(value)
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    flag = ""
    if column == "reaches_goal":
        flag = "text-success fw-semibold" if value else "text-body-secondary"
    elif column.endswith("_growth") and isinstance(value, float):
        flag = "text-success" if value >= GROWTH_GOAL else ("text-danger" if value < 0 else "")
    return {"text": text, "numeric": not isinstance(value, str), "flag": flag}


def _rows(table: pl.DataFrame, columns: tuple[str, ...], link: Any = None) -> dict[str, Any]:
    return {
        "headings": [str(COLUMN_TITLES[c]) + (_("（元）") if c.endswith("_fen") else "") for c in columns],
        "rows": [
            {"cells": [_cell(c, row[c]) for c in columns], "link": link(row) if link else None}
            for row in table.iter_rows(named=True)
        ],
    }


PROVINCE_TABLE = ("province_name", "parks", "parks_reaching", "key_parks", "projects", "amount_fen", "new_smes")
PARK_TABLE = (
    "park_name",
    "is_key_park",
    "projects",
    "projects_prev",
    "projects_growth",
    "amount_fen",
    "amount_prev_fen",
    "amount_growth",
    "reaches_goal",
)


def _xlsx(tables: dict[str, pl.DataFrame], *, stem: str, year: int) -> HttpResponse:
    body = targets_workbook(tables, subtitle=_("%(year)s年") % {"year": year})
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(f'{stem}_{year}.xlsx')}"
    return response


def _charts(overview: TargetOverview, trend: pl.DataFrame) -> dict[str, Any]:
    return {
        "map": {
            "name": str(_("质押项目数")),
            "data": [
                {
                    "code": row["province_code"],
                    "value": row["projects"],
                    "reaching": row["parks_reaching"],
                    "parks": row["parks"],
                    "new_smes": row["new_smes"],
                }
                for row in overview.provinces.iter_rows(named=True)
            ],
            "labels": {
                "reaching": str(_("达标园区")),
                "parks": str(_("园区数")),
                "new_smes": str(_("新增融资中小微企业")),
            },
        },
        "trend": {
            "years": [str(y) for y in trend.get_column("year").to_list()],
            "projects": trend.get_column("projects").to_list(),
            "amount_wan": [round(fen / 1_000_000, 2) for fen in trend.get_column("amount_fen").to_list()],
            "parks_reaching": trend.get_column("parks_reaching").to_list(),
            "new_smes": trend.get_column("new_smes").to_list(),
            "labels": {
                "projects": str(_("质押项目数")),
                "amount": str(_("登记金额（万元）")),
                "parks_reaching": str(_("达标园区数")),
                "new_smes": str(_("新增融资中小微企业")),
            },
        },
        "sizes": {
            "name": str(_("新增融资中小微企业")),
            "labels": [str(SIZE_TITLES[k]) for k in overview.new_smes_by_size],
            "values": list(overview.new_smes_by_size.values()),
        },
    }


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------


@require_GET
def targets(request: AuthenticatedRequest) -> HttpResponse:
    _guard(request)
    form, valid = _filters(request)
    if not valid:
        return render(request, "monitoring/targets.html", {"form": form}, status=400)
    year, province = form.cleaned_data["year"], form.cleaned_data["province"]
    overview, trend = target_dashboard(user=request.user, year=year, region_prefix=province)
    if request.GET.get("format") == "xlsx":
        return _xlsx(
            {
                str(_("省份")): overview.provinces.select("province_code", "province_name", *PROVINCE_TABLE[1:]),
                str(_("园区")): overview.parks.drop("park_id"),
                str(_("历年趋势")): trend,
            },
            stem=_("百园万企目标监测"),
            year=year,
        )
    context = {
        "form": form,
        "year": year,
        "overview": overview,
        "kpis": _kpis(overview),
        "province_table": _rows(
            overview.provinces, PROVINCE_TABLE, lambda row: (row["province_code"], row["parks"] > 0)
        ),
        "park_count": overview.parks.height,
        "charts": _charts(overview, trend),
        "query": request.GET.urlencode(),
        "growth_goal": f"{GROWTH_GOAL:.0%}",
    }
    return render(request, "monitoring/targets.html", context)


def _province_region(request: AuthenticatedRequest, code: str) -> Region:
    region = Region.objects.filter(code=code, level=RegionLevel.PROVINCE).first()
    if region is None or not visible_parks(request.user).filter(region__code__startswith=region.prefix).exists():
        raise Http404
    return region


@require_GET
def targets_province(request: AuthenticatedRequest, code: int) -> HttpResponse:
    _guard(request)
    region = _province_region(request, str(code))
    form, valid = _filters(request, province=region.code)
    if not valid:
        raise Http404  # the province is in the URL: only a bad year can fail, and the page has no form for it
    year = form.cleaned_data["year"]
    overview = target_overview(user=request.user, year=year, region_prefix=region.code)
    if request.GET.get("format") == "xlsx":
        return _xlsx({str(_("园区")): overview.parks.drop("park_id")}, stem=f"{region.name}_{_('园区目标')}", year=year)
    context = {
        "region": region,
        "year": year,
        "overview": overview,
        "kpis": _kpis(overview)[:2],
        "park_table": _rows(overview.parks, PARK_TABLE, lambda row: row["park_id"]),
        "query": request.GET.urlencode(),
        "growth_goal": f"{GROWTH_GOAL:.0%}",
    }
    return render(request, "monitoring/targets_province.html", context)


def _park_figures(row: dict[str, Any]) -> dict[str, str]:
    figures = {k: _cell(k, v)["text"] for k, v in row.items()}
    for key in ("projects_growth", "amount_growth"):
        figures[key] = _("同比 %(growth)s") % {"growth": figures[key]}
    return figures


@require_GET
def targets_park(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    # 404 rather than 403 for those who may not view targets at all, like a park outside the viewer's reach.
    park = viewable_target_parks(request.user).select_related("region").filter(pk=pk).first()
    if park is None:
        raise Http404
    form, valid = _filters(request)
    year = form.cleaned_data["year"] if valid else default_year(request.user)
    overview = target_overview(user=request.user, year=year, region_prefix=park.region.code)
    figures = overview.parks.filter(pl.col("park_id") == park.pk)
    row = figures.row(0, named=True) if figures.height else None
    enterprises = park_enterprises(user=request.user, park=park, year=year)
    for entry in enterprises:
        entry["amount"] = Money.from_fen(entry["amount_fen"])
    province_code = f"{park.region.code[:2]}0000"
    context = {
        "park": park,
        "year": year,
        "figures": _park_figures(row) if row else None,
        "reaches_goal": bool(row and row["reaches_goal"]),
        "enterprises": enterprises,
        "province_code": province_code,
        "province_name": Region.objects.filter(code=province_code).values_list("name", flat=True).first() or "",
        "years": list(range(business_date().year, max(EARLIEST_YEAR, business_date().year - 6), -1)),
        "growth_goal": f"{GROWTH_GOAL:.0%}",
    }
    return render(request, "monitoring/targets_park.html", context)


urlpatterns: list[URLPattern] = [
    # GET ?year=&province=; `&format=xlsx` downloads the province, park and trend tables.
    path("targets/", targets, name="targets"),
    path("targets/province/<int:code>/", targets_province, name="targets_province"),
    path("targets/park/<int:pk>/", targets_park, name="targets_park"),
]
