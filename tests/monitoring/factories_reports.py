"""Measures (工作措施) and generated reports (统计报告) on the test world, for the permission and endpoint matrices:
a Beijing provincial measure (not public), a public measure of park P2 filed by its administration, a Jiangsu measure
of the Nanjing office, and one measures overview table for each province (real files, generated as a job)."""

from __future__ import annotations

import datetime

from ipledge.core.models import Region
from ipledge.monitoring.choices import MeasureCategory, ReportKind
from ipledge.monitoring.services.measures import measure_create
from ipledge.monitoring.services.reports import report_generate
from tests.world import World


def add_reports(world: World) -> World:
    bj = Region.objects.get(code="110000")
    js = Region.objects.get(code="320000")
    nj = Region.objects.get(code="320100")
    measures = world.__dict__.setdefault("measures", {})
    measures["bj"] = measure_create(
        region=bj,
        category=MeasureCategory.POLICY,
        title="北京市知识产权质押融资实施意见",
        issuing_body="北京市知识产权局",
        document_no="京知发〔2025〕1号",
        started_on=datetime.date(2025, 3, 1),
        description="明确目标和分工。",
        acting_user=world.user("ipo_bj"),
    )
    measures["p2"] = measure_create(
        region=None,
        park=world.parks["p2"],
        category=MeasureCategory.SERVICE,
        title="江宁高新区知识产权金融服务站",
        issuing_body="南京江宁高新区管委会",
        started_on=datetime.date(2025, 5, 1),
        description="设立服务站。",
        is_public=True,
        acting_user=world.user("park2"),
    )
    measures["nj"] = measure_create(
        region=nj,
        category=MeasureCategory.SUBSIDY,
        title="南京市质押贷款贴息",
        issuing_body="南京市知识产权局",
        started_on=datetime.date(2025, 1, 10),
        description="贴息50%。",
        acting_user=world.user("ipo_nj"),
    )
    reports = world.__dict__.setdefault("reports", {})
    for key, region in (("bj", bj), ("js", js)):
        reports[key] = report_generate(
            kind=ReportKind.MEASURES_TABLE,
            region=region,
            period_start=datetime.date(2025, 1, 1),
            period_end=datetime.date(2025, 12, 31),
            acting_user=None,
        )
    return world
