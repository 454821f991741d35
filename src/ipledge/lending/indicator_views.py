"""The indicator dashboard (统计指标): period and slice selectors, KPI cards, ECharts charts, tables, .xlsx export.

The figures come from `compute_indicators`, which loads only what `restrict(user, "view")` allows; the page is
shown to banks, IP offices, regulators, NDRC and park administrations (`may_view_indicators`), others get 403.
Lending-basis and registration-basis figures are rendered in separate, labelled sections and never added together.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from ipledge.core.context import business_date
from ipledge.core.money import Money
from ipledge.core.views import AuthenticatedRequest

from .engine.indicators import SLICES
from .indicators import (
    COLUMN_TITLES,
    SLICE_TITLES,
    compute_indicators,
    default_slice,
    may_view_indicators,
    period_errors,
    table_title,
    tables_workbook,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GRANULARITY_CHOICES = [
    ("month", gettext_lazy("按月")),
    ("quarter", gettext_lazy("按季")),
    ("year", gettext_lazy("按年")),
]
SLICE_CHOICES = [
    ("bank", gettext_lazy("经办银行")),
    ("head_office", gettext_lazy("银行总行")),
    ("park", gettext_lazy("园区")),
    ("province", gettext_lazy("省份")),
    ("city", gettext_lazy("城市")),
    ("ip_kind", gettext_lazy("知识产权类型")),
    ("size_class", gettext_lazy("企业规模")),
]
# Tables shown (and exported) per basis; the slice tables are added for the chosen slice.
LENDING_TABLES = (
    "lending_summary",
    "lending_series",
    "npl_vs_bank",
    "credit_plan",
    "t2_first_financing",
    "t3_implementation",
)
REGISTRATION_TABLES = ("registration_summary", "registration_series")


class IndicatorForm(forms.Form):
    period_start = forms.DateField(label=gettext_lazy("起始日"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=gettext_lazy("截止日"), widget=forms.DateInput(attrs={"type": "date"}))
    slice = forms.ChoiceField(label=gettext_lazy("统计维度"), choices=SLICE_CHOICES)
    granularity = forms.ChoiceField(label=gettext_lazy("期间粒度"), choices=GRANULARITY_CHOICES)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if all(data.get(f) for f in ("period_start", "period_end", "slice", "granularity")):
            for field, rule, message, _en in period_errors(
                data["period_start"], data["period_end"], data["granularity"], data["slice"]
            ):
                self.add_error(field, forms.ValidationError(message, code=rule))
        return data


def _defaults(user: Any) -> dict[str, str]:
    today = business_date()
    return {
        "period_start": dt.date(today.year, 1, 1).isoformat(),
        "period_end": today.isoformat(),
        "slice": default_slice(user),
        "granularity": "month",
    }


@require_GET
def indicator_dashboard(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not may_view_indicators(user):
        raise PermissionDenied
    data = {**_defaults(user), **{k: v for k, v in request.GET.items() if k in IndicatorForm.base_fields and v}}
    form = IndicatorForm(data)
    if not form.is_valid():
        return render(request, "lending/indicators/dashboard.html", {"form": form}, status=400)
    params = form.cleaned_data
    tables = compute_indicators(
        user,
        period_start=params["period_start"],
        period_end=params["period_end"],
        slice_key=params["slice"],
        granularity=params["granularity"],
    )
    subtitle = _("%(start)s 至 %(end)s") % {
        "start": f"{params['period_start']:%Y-%m-%d}",
        "end": f"{params['period_end']:%Y-%m-%d}",
    }
    if request.GET.get("format") == "xlsx":
        return _xlsx(request, tables, params, subtitle)
    slice_key = params["slice"]
    context = {
        "form": form,
        "subtitle": subtitle,
        "slice_title": SLICE_TITLES[slice_key],
        "kpis": _kpis(tables),
        "lending_tables": [
            _table(name, tables[name]) for name in (*LENDING_TABLES[:2], f"lending_by_{slice_key}", *LENDING_TABLES[2:])
        ],
        "registration_tables": [
            _table(name, tables[name])
            for name in (REGISTRATION_TABLES[0], f"registration_by_{slice_key}", REGISTRATION_TABLES[1])
        ],
        "threshold_table": _table("puhui_thresholds", tables["puhui_thresholds"]),
        "charts": _charts(tables, params["granularity"]),
        "query": request.GET.urlencode(),
    }
    return render(request, "lending/indicators/dashboard.html", context)


def _xlsx(
    request: AuthenticatedRequest, tables: dict[str, pl.DataFrame], params: dict[str, Any], subtitle: str
) -> HttpResponse:
    wanted = request.GET.get("table")
    if wanted:
        if wanted not in tables:
            raise Http404
        chosen = {wanted: tables[wanted]}
        stem = table_title(wanted)
    else:
        chosen = tables
        stem = _("知识产权质押融资统计指标")
    body = tables_workbook(chosen, subtitle=subtitle)
    name = f"{stem}_{params['period_start']:%Y%m%d}-{params['period_end']:%Y%m%d}.xlsx".replace("·", "_")
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


# ---------------------------------------------------------------------------
# Display
# ---------------------------------------------------------------------------


def _wan(fen: int | None) -> str:
    """Fen as 万元 with two decimals, for the KPI cards."""
    if fen is None:
        return "—"
    return f"{(Decimal(fen) / 1_000_000).quantize(Decimal('0.01')):,}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _cell(column: str, value: Any) -> dict[str, Any]:
    numeric = not isinstance(value, str) and column not in ("bucket", "bucket_end", "day", "since", "until")
    if value is None:
        text = "—"
    elif isinstance(value, bool):
        text = _("是") if value else _("否")
    elif isinstance(value, dt.date):
        text = value.isoformat()
    elif column.endswith("_fen"):
        text = str(Money.from_fen(int(value)))
    elif column == "excess_pp":
        text = f"{value:+.2f}"
    elif isinstance(value, float):
        text = _pct(value)
    elif isinstance(value, int) and column not in ("year",) and column not in SLICES and column != "bank_id":
        text = f"{value:,}"
    else:
        text = str(value)
    flag = "text-danger" if column == "within_tolerance" and value is False else ""
    return {"text": text, "numeric": numeric, "flag": flag}


def _table(name: str, table: pl.DataFrame) -> dict[str, Any]:
    # Slice keys are ids or codes: the `name` column beside them is what people read.
    hidden = {"bank", "head_office", "park", "bank_id"} & set(table.columns)
    columns = [c for c in table.columns if c not in hidden]
    headings = [str(COLUMN_TITLES.get(c, c)) + (str(_("（元）")) if c.endswith("_fen") else "") for c in columns]
    rows = [[_cell(c, row[c]) for c in columns] for row in table.iter_rows(named=True)]
    if name.endswith("_summary") and len(rows) == 1:
        # One row of many figures reads better as a list: 指标 | 数值
        label = {"text": "", "numeric": False, "flag": ""}
        rows = [[{**label, "text": heading}, cell] for heading, cell in zip(headings, rows[0], strict=True)]
        headings = [_("指标"), _("数值")]
    return {"name": name, "title": table_title(name), "headings": headings, "rows": rows}


def _first(tables: dict[str, pl.DataFrame], name: str) -> dict[str, Any]:
    table = tables[name]
    return table.row(0, named=True) if table.height else {}


def _kpis(tables: dict[str, pl.DataFrame]) -> dict[str, list[dict[str, str]]]:
    lend = _first(tables, "lending_summary")
    reg = _first(tables, "registration_summary")
    unvalued = lend.get("pledge_loans_unvalued") or 0
    return {
        "lending": [
            {
                "label": _("新增贷款金额（万元）"),
                "value": _wan(lend.get("new_amount_fen")),
                "icon": "cash-coin",
                "note": _("%(n)s 笔") % {"n": f"{lend.get('new_loans', 0):,}"},
            },
            {"label": _("累放贷款户数"), "value": f"{lend.get('borrowers', 0):,}", "icon": "people", "note": ""},
            {
                "label": _("期末贷款余额（万元）"),
                "value": _wan(lend.get("balance_fen")),
                "icon": "bank",
                "note": _("有余额客户 %(n)s 户") % {"n": f"{lend.get('clients_with_balance', 0):,}"},
            },
            {
                "label": _("不良率"),
                "value": _pct(lend.get("npl_ratio")),
                "icon": "exclamation-triangle",
                "note": _("次级+可疑+损失 ÷ 余额"),
            },
            {
                "label": _("质押率"),
                "value": _pct(lend.get("pledge_rate")),
                "icon": "percent",
                "note": _("%(n)s 笔新增贷款缺评估值，未计入") % {"n": unvalued}
                if unvalued
                else _("贷款金额 ÷ 评估价值"),
            },
            {
                "label": _("普惠占比（金额）"),
                "value": _pct(lend.get("puhui_share_amount")),
                "icon": "heart",
                "note": _("笔数占比 %(p)s") % {"p": _pct(lend.get("puhui_share_loans"))},
            },
        ],
        "registration": [
            {
                "label": _("质押登记金额（万元）"),
                "value": _wan(reg.get("registered_amount_fen")),
                "icon": "journal-check",
                "note": "",
            },
            {"label": _("质押项目数"), "value": f"{reg.get('projects', 0):,}", "icon": "files", "note": ""},
            {"label": _("惠及企业数"), "value": f"{reg.get('enterprises', 0):,}", "icon": "building", "note": ""},
            {"label": _("普惠项目占比"), "value": _pct(reg.get("puhui_share")), "icon": "heart", "note": ""},
        ],
    }


def _bucket_label(day: dt.date, granularity: str) -> str:
    if granularity == "year":
        return f"{day.year}"
    if granularity == "quarter":
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    return f"{day:%Y-%m}"


def _num(values: list[Any], scale: float = 1.0, digits: int = 2) -> list[float | None]:
    """Chart values (display only: ECharts wants numbers)."""
    return [None if v is None else round(v * scale, digits) for v in values]


def _charts(tables: dict[str, pl.DataFrame], granularity: str) -> dict[str, Any]:
    series = tables["lending_series"]
    reg = tables["registration_series"]
    npl = tables["npl_vs_bank"].filter(pl.col("balance_fen") > 0)
    t2 = tables["t2_first_financing"]
    t3 = tables["t3_implementation"]
    to_wan = 1 / 1_000_000
    return {
        "buckets": [_bucket_label(d, granularity) for d in series.get_column("bucket")],
        "new_amount": _num(series.get_column("new_amount_fen").to_list(), to_wan),
        "new_loans": series.get_column("new_loans").to_list(),
        "balance": _num(series.get_column("balance_fen").to_list(), to_wan),
        "npl_ratio": _num(series.get_column("npl_ratio").to_list(), 100, 3),
        "puhui_amount": _num(series.get_column("puhui_share_amount").to_list(), 100),
        "puhui_loans": _num(series.get_column("puhui_share_loans").to_list(), 100),
        "registered_amount": _num(reg.get_column("registered_amount_fen").to_list(), to_wan),
        "projects": reg.get_column("projects").to_list(),
        "npl_banks": npl.get_column("name").to_list(),
        "npl_ip": _num(npl.get_column("npl_ratio").to_list(), 100, 3),
        "npl_bank": _num(npl.get_column("bank_npl_ratio").to_list(), 100, 3),
        "npl_limit": _num(npl.get_column("tolerance_ratio").to_list(), 100, 3),
        "t2_labels": t2.get_column("name").to_list(),
        "t2_values": t2.get_column("enterprises").to_list(),
        "t3_days": [d.isoformat() for d in t3.get_column("day")],
        "t3_rate": _num(t3.get_column("implementation_rate").to_list(), 100),
        "labels": {
            "new_amount": _("新增贷款金额（万元）"),
            "new_loans": _("新增贷款笔数"),
            "balance": _("贷款余额（万元）"),
            "npl_ratio": _("知识产权质押贷款不良率（%）"),
            "puhui_amount": _("普惠占比·金额（%）"),
            "puhui_loans": _("普惠占比·笔数（%）"),
            "registered_amount": _("质押登记金额（万元）"),
            "projects": _("质押项目数"),
            "npl_ip": _("质押贷款不良率（%）"),
            "npl_bank": _("全行不良率（%）"),
            "npl_limit": _("容忍上限：全行+3个百分点（%）"),
            "t2": _("首次融资企业数"),
            "t3": _("实施率（%）"),
        },
    }
