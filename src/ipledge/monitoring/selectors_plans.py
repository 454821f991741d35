"""Reads of the plans area (O1, O2): provincial action plans (省级行动方案) and their task ledger (任务台账), reminders
(工作提醒) and the key-park check (重点园区 ≥ 3 per province). Every read starts from `restrict(user, action)`.

`open_reminders(user)` is what the navigation and dashboard show: the open reminders the user's organisation
reads (its own, and for officials those of their region).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When

from ipledge.core.choices import OrganisationKind, RegionLevel
from ipledge.core.context import business_date
from ipledge.core.models import Region
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.models import Park

from .choices import DesignationStatus
from .models import KeyParkDesignation, PlanTask, ProvincialPlan, Reminder
from .services.plans import KEY_PARKS_MINIMUM, OPEN_TASK_STATUSES, overdue_q


@dataclass(frozen=True)
class PlanFilters:
    province: str = ""  # 6-digit province code
    status: str = ""
    year: int | None = None


def plan_list(*, user: Any, filters: PlanFilters | None = None) -> QuerySet[ProvincialPlan]:
    filters = filters or PlanFilters()
    plans = ProvincialPlan.objects.restrict(user, Action.VIEW).select_related("region", "issuing_org")
    if filters.province:
        plans = plans.filter(region__code=filters.province)
    if filters.status:
        plans = plans.filter(status=filters.status)
    if filters.year:
        plans = plans.filter(year_from__lte=filters.year, year_to__gte=filters.year)
    today = business_date()
    return plans.annotate(
        task_count=Count("tasks", distinct=True),
        done_count=Count("tasks", filter=Q(tasks__status="done"), distinct=True),
        overdue_count=Count(
            "tasks", filter=Q(tasks__status__in=OPEN_TASK_STATUSES, tasks__due_on__lt=today), distinct=True
        ),
    ).order_by("region__code", "-year_from", "-pk")


def plan_tasks(*, user: Any, plan: ProvincialPlan, today: datetime.date | None = None) -> QuerySet[PlanTask]:
    """The ledger lines of `plan` the user reads (an owner organisation reads only its own), with `is_overdue`."""
    today = today or business_date()
    return (
        PlanTask.objects.restrict(user, Action.VIEW)
        .filter(plan=plan)
        .select_related("owner_org", "updated_by")
        .annotate(
            is_overdue=Case(When(overdue_q(today), then=Value(True)), default=Value(False), output_field=BooleanField())
        )
        .order_by("number")
    )


def task_list(*, user: Any, owned_only: bool = False) -> QuerySet[PlanTask]:
    """Every ledger line the user reads (across plans); `owned_only` keeps the lines the user's organisation owns."""
    today = business_date()
    tasks = PlanTask.objects.restrict(user, Action.VIEW).select_related("plan", "plan__region", "owner_org")
    if owned_only:
        scope = scope_for(user)
        if scope is None or scope.organisation_id is None:
            return tasks.none()
        tasks = tasks.filter(scope.org_tree_q("owner_org__tree_path"))
    return tasks.annotate(
        is_overdue=Case(When(overdue_q(today), then=Value(True)), default=Value(False), output_field=BooleanField())
    ).order_by("due_on", "plan_id", "number")


# ---------------------------------------------------------------------------
# Reminders
# ---------------------------------------------------------------------------


def reminder_list(*, user: Any, open_only: bool = True, kind: str = "") -> QuerySet[Reminder]:
    reminders = Reminder.objects.restrict(user, Action.VIEW).select_related("recipient", "plan", "task")
    if open_only:
        reminders = reminders.filter(resolved_on__isnull=True)
    if kind:
        reminders = reminders.filter(kind=kind)
    return reminders.order_by("resolved_on", "-raised_on", "-pk")


def open_reminders(user: Any) -> QuerySet[Reminder]:
    """Open reminders for the user's organisation (its own; officials also those of their region). For the nav
    badge: `open_reminders(request.user).count()`."""
    return reminder_list(user=user, open_only=True)


# ---------------------------------------------------------------------------
# Key parks
# ---------------------------------------------------------------------------


def designation_list(
    *, user: Any, year: int | None = None, province: str = "", active_only: bool = False
) -> QuerySet[KeyParkDesignation]:
    designations = KeyParkDesignation.objects.restrict(user, Action.VIEW).select_related(
        "park", "park__region", "designated_by"
    )
    if year:
        designations = designations.filter(year=year)
    if province:
        designations = designations.filter(region_code__startswith=province[:2])
    if active_only:
        designations = designations.filter(status=DesignationStatus.ACTIVE)
    return designations.order_by("region_code", "park__name", "-year", "-pk")


@dataclass
class ParkEvaluation:
    """One designated park with its figures for the year (from the targets overview when available)."""

    designation: KeyParkDesignation
    projects: int | None = None
    amount_fen: int | None = None
    projects_growth: float | None = None
    amount_growth: float | None = None
    reaches_goal: bool | None = None

    @property
    def amount_wan(self) -> float | None:
        return None if self.amount_fen is None else self.amount_fen / 1_000_000


@dataclass
class ProvinceCheck:
    """The O2 check for one province and year: at least 3 active key / demonstration parks."""

    province_code: str
    province_name: str
    year: int
    active: int
    parks: list[ParkEvaluation] = field(default_factory=list)
    candidate_parks: int = 0
    results_year: int | None = None

    @property
    def minimum(self) -> int:
        return KEY_PARKS_MINIMUM

    @property
    def missing(self) -> int:
        return max(0, KEY_PARKS_MINIMUM - self.active)

    @property
    def meets(self) -> bool:
        return self.active >= KEY_PARKS_MINIMUM


def _province_regions(user: Any, province: str) -> list[Region]:
    """Provinces the check lists: the one asked for, else those inside the user's region that have parks."""
    if province:
        return list(Region.objects.filter(code=f"{province[:2]}0000"))
    codes = {code[:2] for code in Park.objects.values_list("region__code", flat=True) if code}
    scope = scope_for(user)
    if scope is not None and not scope.is_platform and scope.region_prefix:
        codes = {c for c in codes if c.startswith(scope.region_prefix[:2]) or scope.region_prefix.startswith(c)}
    return list(Region.objects.filter(code__in=[f"{c}0000" for c in codes]).order_by("code"))


def _park_figures(user: Any, year: int, province_prefix: str) -> dict[int, dict[str, Any]]:
    """Per-park figures for the year from the targets overview (T1)."""
    from .targets import target_overview

    overview = target_overview(user=user, year=year, region_prefix=province_prefix)
    return {int(row["park_id"]): row for row in overview.parks.iter_rows(named=True)}


def figures_year(user: Any, year: int) -> int:
    """The year whose results evaluate the designations: the designation year, or the latest earlier year with
    registrations while the designation year has none yet (otherwise every park would show -100 %)."""
    from .targets import default_year

    return min(year, default_year(user))


def key_park_check(*, user: Any, year: int, province: str = "") -> list[ProvinceCheck]:
    """For each province: its active designations for `year`, the count against the minimum of 3, and each
    designated park's results for the year."""
    checks = []
    results_year = figures_year(user, year)
    # One targets overview for every province listed (read once, on first need), not one per province.
    figures: dict[int, dict[str, Any]] | None = None
    for region in _province_regions(user, province):
        prefix = region.code[:2]
        designations = list(
            designation_list(user=user, year=year, province=region.code, active_only=True).select_related("park")
        )
        if designations and figures is None:
            figures = _park_figures(user, results_year, province[:2] if province else "")
        evaluations = []
        for designation in designations:
            row = (figures or {}).get(designation.park_id, {})
            evaluations.append(
                ParkEvaluation(
                    designation=designation,
                    projects=row.get("projects"),
                    amount_fen=row.get("amount_fen"),
                    projects_growth=row.get("projects_growth"),
                    amount_growth=row.get("amount_growth"),
                    reaches_goal=row.get("reaches_goal"),
                )
            )
        checks.append(
            ProvinceCheck(
                province_code=region.code,
                province_name=region.name,
                year=year,
                results_year=results_year,
                active=len(designations),
                parks=evaluations,
                candidate_parks=Park.objects.filter(region__code__startswith=prefix).count(),
            )
        )
    return checks


def designable_parks(*, user: Any) -> QuerySet[Park]:
    """Parks the user may designate: those in the region of the user's IP office (every park for the platform)."""
    scope = scope_for(user)
    parks = Park.objects.select_related("region").order_by("region__code", "name")
    if scope is None:
        return parks.none()
    if scope.is_platform:
        return parks
    if scope.kind != OrganisationKind.IP_OFFICE or scope.region_prefix is None:
        return parks.none()
    return parks.filter(region__code__startswith=scope.region_prefix)


def province_choices(codes: Iterable[str] | None = None) -> list[tuple[str, str]]:
    regions = Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code")
    if codes is not None:
        regions = regions.filter(code__in=list(codes))
    return [(r.code, r.name) for r in regions]


LEDGER_COLUMNS = (
    ("序号", 6),
    ("任务", 36),
    ("具体内容", 40),
    ("对应要求", 10),
    ("责任单位", 28),
    ("完成时限", 12),
    ("状态", 10),
    ("进度（%）", 10),
    ("完成日期", 12),
    ("逾期", 8),
    ("佐证材料说明", 40),
    ("佐证材料文件", 24),
)


def ledger_workbook(plan: ProvincialPlan, tasks: Iterable[PlanTask]) -> bytes:
    """The task ledger (任务台账) as xlsx, through the safe workbook of `ipledge.core.exports`."""
    import io

    from ipledge.core.exports import workbook

    out = io.BytesIO()
    book = workbook(out)
    sheet = book.add_worksheet("任务台账")
    bold = book.add_format({"bold": True, "bg_color": "#E7EEF7", "border": 1, "text_wrap": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    date = book.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
    title = book.add_format({"bold": True, "font_size": 14})
    sheet.write(0, 0, f"{plan.title} 任务台账", title)
    sheet.write(
        1,
        0,
        f"{plan.region.name} · {plan.get_status_display()} · 印发 {plan.issued_on or '—'} · "
        f"报送期限 {plan.submission_due_on or '—'} · 报送 {plan.submitted_on or '—'}",
    )
    for col, (header, width) in enumerate(LEDGER_COLUMNS):
        sheet.write(3, col, header, bold)
        sheet.set_column(col, col, width)
    for row, task in enumerate(tasks, start=4):
        values = (
            task.number,
            task.title,
            task.description,
            task.requirement,
            str(task.owner_org) if task.owner_org_id else task.owner_name,
        )
        for col, value in enumerate(values):
            sheet.write(row, col, value, wrap)
        sheet.write_datetime(row, 5, datetime.datetime.combine(task.due_on, datetime.time()), date)
        sheet.write(row, 6, task.get_status_display(), wrap)
        sheet.write_number(row, 7, task.progress)
        if task.completed_on:
            sheet.write_datetime(row, 8, datetime.datetime.combine(task.completed_on, datetime.time()), date)
        sheet.write(row, 9, "是" if getattr(task, "is_overdue", False) else "", wrap)
        sheet.write(row, 10, task.evidence, wrap)
        sheet.write(row, 11, task.evidence_file_name, wrap)
    sheet.freeze_panes(4, 2)
    book.close()
    return out.getvalue()
