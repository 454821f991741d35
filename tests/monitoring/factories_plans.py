"""Plans-area rows on both sides of the test world, through the services: a Beijing plan (issued, with tasks owned by
park1 and bank1) and a Jiangsu plan (draft, one task owned by park2), designations in both provinces and one
reminder run. Beijing officials and park1/bank1 see the Beijing rows; Jiangsu's see theirs."""

from __future__ import annotations

import datetime

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import Region
from ipledge.monitoring.models import KeyParkDesignation, PlanTask, ProvincialPlan
from ipledge.monitoring.services import plans as services
from tests.world import World

DAY = datetime.date(2026, 3, 2)


def ipo(world: World, key: str = "ipo_bj") -> object:
    return world.user(key, Role.OPERATOR)


def make_plan(world: World, key: str = "ipo_bj", code: str = "110000", title: str = "北京市行动方案") -> ProvincialPlan:
    return services.plan_create(
        region=Region.objects.get(code=code),
        title=title,
        year_from=2026,
        year_to=2028,
        acting_user=world.user(key, Role.OPERATOR),
    )


def make_task(
    world: World, plan: ProvincialPlan, *, owner: str | None = "park1", due: datetime.date, title: str = "任务"
) -> PlanTask:
    key = "ipo_bj" if plan.region.code == "110000" else "ipo_js"
    return services.task_create(
        plan=plan,
        title=title,
        owner_org=world.orgs[owner] if owner else None,
        owner_name="" if owner else "市财政局",
        due_on=due,
        acting_user=world.user(key, Role.OPERATOR),
    )


def add_plans(world: World) -> World:
    with as_of(DAY):
        bj = make_plan(world)
        services.plan_issue(plan=bj, issued_on=DAY - datetime.timedelta(days=12), acting_user=world.user("ipo_bj"))
        make_task(world, bj, owner="park1", due=DAY - datetime.timedelta(days=1), title="园区银企对接")
        make_task(world, bj, owner="bank1", due=DAY + datetime.timedelta(days=3), title="推出专属产品")
        make_task(world, bj, owner=None, due=DAY + datetime.timedelta(days=60), title="贴息资金安排")
        js = make_plan(world, "ipo_js", "320000", "江苏省行动方案")
        make_task(world, js, owner="park2", due=DAY + datetime.timedelta(days=30), title="园区服务站")
        for park, office in (("p1", "ipo_bj"), ("p2", "ipo_js")):
            # Another factory may already have designated the park this year: then the next year.
            taken = KeyParkDesignation.objects.filter(park=world.parks[park], year=DAY.year, status="active").exists()
            services.designation_create(
                park=world.parks[park],
                year=DAY.year + 1 if taken else DAY.year,
                designated_on=DAY,
                acting_user=world.user(office),
            )
        services.reminders_run(today=DAY)
    return world
