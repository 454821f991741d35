"""Demo data: measures (工作措施) of each demo province's IP office, of a city office and of every park
administration (some public, for the showcase), then one annual work summary (年度工作总结, docx) and one measures
overview table (工作措施一览表, xlsx) of the first province for last year. Idempotent: measures are only seeded when
there are none, reports only when none was generated yet."""

from __future__ import annotations

import datetime
import random
from typing import Any

from ipledge.core.choices import AdminLevel, OrganisationKind
from ipledge.core.models import Organisation
from ipledge.registry.models import Park

from .choices import MeasureCategory, MeasureStatus, ReportKind
from .models import GeneratedReport, MeasureEntry
from .services.measures import measure_create
from .services.reports import report_generate

PROVINCE_MEASURES: list[tuple[str, str, str, str]] = [
    # category, title, description, results
    (
        MeasureCategory.POLICY,
        "关于进一步推进知识产权质押融资工作的实施意见",
        "明确“百园万企”行动目标、部门分工和年度任务，建立月调度、季通报工作机制。",
        "全省16个部门联合印发，纳入年度营商环境考核。",
    ),
    (
        MeasureCategory.SUBSIDY,
        "知识产权质押贷款贴息和评估费补助",
        "对获得知识产权质押贷款的中小微企业给予贷款利息50%、评估费全额补助，单户年度补助上限50万元。",
        "全年兑现贴息和补助资金，惠及企业数百家。",
    ),
    (
        MeasureCategory.RISK_COMPENSATION,
        "知识产权质押融资风险补偿资金池",
        "省市共同出资设立风险补偿资金池，对合作银行的不良贷款本金损失按比例给予补偿。",
        "合作银行扩大至12家，撬动质押贷款规模明显增长。",
    ),
    (
        MeasureCategory.SERVICE,
        "知识产权质押登记“全程网办”和就近办理",
        "推行质押登记线上办理、电子证书，在重点园区设立质押登记受理窗口。",
        "登记办理时长压缩至2个工作日以内，线上办理占比超过九成。",
    ),
    (
        MeasureCategory.MATCHMAKING,
        "“知惠行”银企对接专项活动",
        "联合金融监管部门在各重点园区开展银企对接会，推送白名单企业和金融产品。",
        "",
    ),
    (
        MeasureCategory.VALUATION,
        "知识产权评估机构推荐名录和评估指引",
        "发布评估机构推荐名录，制定专利价值评估指引，推广低成本快速评估。",
        "",
    ),
]
PARK_MEASURES: list[tuple[str, str, str, str]] = [
    (
        MeasureCategory.SERVICE,
        "园区知识产权金融服务站",
        "在园区政务服务中心设立知识产权金融服务站，提供质押登记指导、价值评估对接和融资需求收集。",
        "服务站累计服务企业上百家次。",
    ),
    (
        MeasureCategory.GUARANTEE,
        "园区科技担保与知识产权质押组合贷",
        "园区担保平台为知识产权质押贷款提供增信，担保费率降至1%以下。",
        "",
    ),
    (
        MeasureCategory.PUBLICITY,
        "知识产权质押融资政策宣讲进企业",
        "组织政策宣讲和培训，编印政策汇编，送政策上门。",
        "",
    ),
]


def _say(stdout: Any, text: str) -> None:
    if stdout is not None:
        stdout.write(text)


def seed_measures(*, rng: random.Random, today: datetime.date, stdout: Any = None) -> dict[str, int]:
    counts = {"measures": 0, "generated reports": 0}
    last_year = today.year - 1
    provinces = list(
        Organisation.objects.filter(kind=OrganisationKind.IP_OFFICE, admin_level=AdminLevel.PROVINCIAL)
        .select_related("region")
        .order_by("region__code")
    )
    if not MeasureEntry.objects.exists():
        for office in provinces:
            if office.region is None:
                continue
            for index, (category, title, description, results) in enumerate(PROVINCE_MEASURES):
                started = datetime.date(last_year - (index % 2), 1 + rng.randrange(12), 1 + rng.randrange(28))
                completed = index % 3 == 2
                measure_create(
                    region=office.region,
                    category=category,
                    title=title,
                    issuing_body=office.name,
                    document_no=f"{office.region.name[:2]}知发〔{started.year}〕{10 + index}号",
                    started_on=started,
                    ended_on=datetime.date(last_year, 12, 31) if completed else None,
                    status=MeasureStatus.COMPLETED if completed else MeasureStatus.ONGOING,
                    description=description,
                    results=results,
                    is_public=index < 3,
                    owner_org=office,
                    acting_user=None,
                )
                counts["measures"] += 1
        cities = Organisation.objects.filter(
            kind=OrganisationKind.IP_OFFICE, admin_level=AdminLevel.MUNICIPAL, region__isnull=False
        ).select_related("region")
        for office in cities:
            assert office.region is not None
            measure_create(
                region=office.region,
                category=MeasureCategory.SUBSIDY,
                title=f"{office.region.name}知识产权质押融资“入园惠企”专项",
                issuing_body=office.name,
                started_on=datetime.date(last_year, 3, 1),
                description="对辖区园区企业首次办理知识产权质押融资给予一次性奖励。",
                results="首贷企业数量同比增长。",
                is_public=True,
                owner_org=office,
                acting_user=None,
            )
            counts["measures"] += 1
        parks = Park.objects.filter(administering_org__isnull=False).select_related("region", "administering_org")
        for park in parks:
            assert park.administering_org is not None
            for index, (category, title, description, results) in enumerate(PARK_MEASURES):
                measure_create(
                    region=park.region,
                    park=park,
                    category=category,
                    title=f"{park.name}{title}",
                    issuing_body=park.administering_org.name,
                    started_on=datetime.date(last_year, 2 + 3 * index, 10),
                    description=description,
                    results=results,
                    is_public=index != 2,
                    owner_org=park.administering_org,
                    acting_user=None,
                )
                counts["measures"] += 1
        _say(stdout, f"  measures: {counts['measures']}")
    if provinces and provinces[0].region is not None and not GeneratedReport.objects.exists():
        region = provinces[0].region
        for kind in (ReportKind.ANNUAL_SUMMARY, ReportKind.MEASURES_TABLE):
            report_generate(
                kind=kind,
                region=region,
                period_start=datetime.date(last_year, 1, 1),
                period_end=datetime.date(last_year, 12, 31),
                acting_user=None,
            )
            counts["generated reports"] += 1
        _say(stdout, f"  generated reports: {counts['generated reports']} ({region.name} {last_year})")
    return counts
