"""Demo data: provincial action plans (省级行动方案) with task ledgers (任务台账), key-park designations (重点 /
示范园区认定), then one reminder run.

For every province with an IP office and parks: a plan with 8 tasks owned by the province's offices, park
administrations and banks (some done with evidence notes, some under way, one overdue, one due within a week). The
first province's plan was issued and submitted in spring; the next one's was issued 8 days ago and is not
submitted yet (a submission reminder). Designations for this year: 3 in the first province (meets the minimum),
2 in the others (short of 3: a reminder). Everything goes through the services. Idempotent: a province that already
has a plan is skipped.
"""

from __future__ import annotations

import datetime
import random
from typing import Any

from ipledge.core.choices import AdminLevel, OrganisationKind, Role
from ipledge.core.context import as_of
from ipledge.core.models import Organisation, Region, User
from ipledge.registry.models import Park
from ipledge.registry.services import park_update

from .choices import DesignationKind, TaskStatus
from .models import KeyParkDesignation, ProvincialPlan
from .services import plans as services

TASKS = (
    ("T1", "建立百园万企工作台账，按季度调度园区质押融资数据", "ip_office", -200, TaskStatus.DONE),
    ("O2", "确定省级重点园区并报送名单", "ip_office", -240, TaskStatus.DONE),
    ("S1", "园区设立知识产权金融服务站，开展政策宣讲", "park", -120, TaskStatus.DONE),
    ("T2", "园区组织银企对接活动不少于4场", "park", -20, TaskStatus.IN_PROGRESS),  # overdue
    ("S2", "推出专属知识产权质押融资产品", "bank", 5, TaskStatus.IN_PROGRESS),  # due within a week
    ("T3", "新增知识产权质押融资中小微企业数较上年增长20%", "park", 25, TaskStatus.IN_PROGRESS),
    ("O3", "开展融资企业跟踪调查与成效评估", "ip_office", 60, TaskStatus.NOT_STARTED),
    ("M1", "报送年度工作总结与工作措施一览表", "ip_office", 90, TaskStatus.NOT_STARTED),
)


def _say(stdout: Any, text: str) -> None:
    if stdout is not None:
        stdout.write(text)


def _officer(org: Organisation) -> User | None:
    return (
        User.objects.filter(organisation=org, is_active=True, role__in=(Role.ADMIN, Role.OPERATOR))
        .order_by("role", "pk")
        .first()
    )


def _bank_in(prefix: str) -> Organisation | None:
    return (
        Organisation.objects.filter(kind=OrganisationKind.BANK, is_active=True, region__code__startswith=prefix)
        .order_by("tree_path")
        .first()
    )


def seed_plans(*, rng: random.Random, today: datetime.date, stdout: Any = None) -> dict[str, int]:
    offices = Organisation.objects.filter(
        kind=OrganisationKind.IP_OFFICE, admin_level=AdminLevel.PROVINCIAL, is_active=True, region__isnull=False
    ).select_related("region")
    counts = {"plans": 0, "plan_tasks": 0, "key_park_designations": 0}
    for index, office in enumerate(offices.order_by("region__code")):
        province: Region = office.region  # type: ignore[assignment]
        prefix = province.code[:2]
        parks = list(Park.objects.filter(region__code__startswith=prefix).select_related("administering_org"))
        officer = _officer(office)
        if not parks or officer is None or ProvincialPlan.objects.filter(region=province).exists():
            continue
        first = index == 0
        spring = min(datetime.date(today.year, 3, 10), today - datetime.timedelta(days=30))
        issued_on = spring if first else today - datetime.timedelta(days=8)
        with as_of(min(today, issued_on)):
            plan = services.plan_create(
                region=province,
                title=f"{province.name}知识产权质押融资入园惠企行动实施方案（{today.year}—{today.year + 2}年）",
                document_no=f"{province.name[:1]}知发〔{today.year}〕{rng.randint(3, 40)}号",
                year_from=today.year,
                year_to=today.year + 2,
                summary="围绕百园万企目标，明确重点园区、责任单位与完成时限，按季度调度、年度总结。",
                acting_user=officer,
            )
            plan = services.plan_issue(plan=plan, issued_on=issued_on, acting_user=officer)
        counts["plans"] += 1
        owners = {"ip_office": office, "park": parks[0].administering_org or office, "bank": _bank_in(prefix) or office}
        for number, (requirement, title, owner_key, offset, status) in enumerate(TASKS, start=1):
            # The later province's plan is a week old: its past deadlines fall inside that week.
            due_on = today + datetime.timedelta(days=offset if first else max(offset, -7))
            with as_of(min(today, issued_on)):
                task = services.task_create(
                    plan=plan,
                    title=title,
                    requirement=requirement,
                    owner_org=owners[owner_key],
                    due_on=due_on,
                    acting_user=officer,
                )
            counts["plan_tasks"] += 1
            if status == TaskStatus.NOT_STARTED:
                continue
            reporter = _officer(owners[owner_key]) or officer
            done = status == TaskStatus.DONE
            completed_on = (
                max(issued_on, min(today, due_on - datetime.timedelta(days=rng.randint(0, 10)))) if done else None
            )
            with as_of(today):
                services.task_report_progress(
                    task=task,
                    report=services.TaskProgress(
                        status=status,
                        progress=100 if done else rng.choice((30, 50, 60)),
                        evidence=f"见第{number}项任务推进情况报告" if done else "",
                        completed_on=completed_on,
                    ),
                    acting_user=reporter,
                )
        if first:
            with as_of(today):
                services.plan_submit(
                    plan=plan, submitted_on=issued_on + datetime.timedelta(days=7), acting_user=officer
                )
        designated = parks[:3] if first else parks[:2]
        for park in designated:
            if KeyParkDesignation.objects.filter(park=park, year=today.year, status="active").exists():
                continue
            with as_of(today):
                services.designation_create(
                    park=park,
                    year=today.year,
                    kind=DesignationKind.DEMONSTRATION if park == designated[0] else DesignationKind.KEY,
                    designated_on=min(datetime.date(today.year, 4, 1), today),
                    rationale="质押融资规模与增速居全省前列，服务体系健全。",
                    goals="质押项目数、登记金额年增长20%以上。",
                    acting_user=officer,
                )
            counts["key_park_designations"] += 1
        for park in parks:
            if park not in designated and park.is_key_park:
                # Park.is_key_park follows this year's designations (see services.plans._sync_key_park).
                park_update(park=park, data={"is_key_park": False}, acting_user=officer)
    with as_of(today):
        run = services.reminders_run(today=today)
    counts["reminders"] = run["open"]
    _say(
        stdout,
        f"  plans: {counts['plans']} plans, {counts['plan_tasks']} tasks, "
        f"{counts['key_park_designations']} key-park designations, {run['open']} open reminders",
    )
    return counts
