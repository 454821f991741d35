"""Monitoring rows on both sides of the test world (Beijing and Jiangsu), for the permission and endpoint matrices.

Rows are written directly: the matrices test who reaches what, and each area's own tests cover the services.
"""

from __future__ import annotations

import datetime
import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from ipledge.core.models import Region
from ipledge.monitoring.choices import (
    AnomalyRule,
    CaseCategory,
    CaseStatus,
    FinancialsSource,
    FindingEventKind,
    FindingSeverity,
    FindingStatus,
    MeasureCategory,
    PlanStatus,
    ReminderKind,
    ReportKind,
    ScanStatus,
)
from ipledge.monitoring.models import (
    AnomalyScan,
    Bulletin,
    EnterpriseFinancials,
    Finding,
    FindingEvent,
    GeneratedReport,
    KeyParkDesignation,
    MeasureEntry,
    PlanTask,
    ProvincialPlan,
    Reminder,
    TypicalCase,
)
from ipledge.monitoring.services.reports import storage_name
from tests.world import World

DAY = datetime.date(2026, 3, 2)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _stored(content: bytes, content_type: str) -> str:
    """Store a file the way generated reports are stored (by digest), so downloads find it."""
    digest = hashlib.sha256(content).hexdigest()
    name = storage_name(digest, content_type)
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(content))
    return digest


def add_monitoring(w: World) -> World:
    regions = {r.code: r for r in Region.objects.filter(code__in=["110000", "320000"])}
    scan = AnomalyScan.objects.create(as_of=DAY, status=ScanStatus.FINISHED, rules=list(AnomalyRule.values))
    sides = (
        ("bj", "110000", "110108", "ipo_bj", "park1", "p1", "e1", "bank1_sub"),
        ("js", "320000", "320115", "ipo_js", "park2", "p2", "e2", "bank2"),
    )
    for tag, province, local, office, park_org, park, enterprise, bank in sides:
        bulletin = Bulletin.objects.create(
            number=f"通报-{tag}-1",
            title="关于质押数据异常的通报",
            body="经核查确认的异常。",
            region_code=province,
            issued_by=w.orgs[office],
            issued_on=DAY,
        )
        finding = Finding.objects.create(
            rule=AnomalyRule.DUPLICATE_PLEDGE,
            severity=FindingSeverity.HIGH,
            fingerprint=f"fp-{tag}",
            evidence_digest=f"ev-{tag}",
            title="同一专利两笔有效质押",
            evidence={"records": [], "figures": {"active_pledges": 2}},
            region_code=local,
            park=w.parks[park],
            enterprise=w.enterprises[enterprise],
            status=FindingStatus.OPEN,
            scan=scan,
            first_seen_on=DAY,
            last_seen_on=DAY,
        )
        Finding.objects.create(
            rule=AnomalyRule.LOAN_BEFORE_REGISTRATION,
            severity=FindingSeverity.MEDIUM,
            fingerprint=f"fp2-{tag}",
            evidence_digest=f"ev2-{tag}",
            title="先放款后登记",
            region_code=local,
            status=FindingStatus.REPORTED,
            decided_at=datetime.datetime(2026, 3, 3, tzinfo=datetime.UTC),
            decision_note="确认。",
            bulletin=bulletin,
            first_seen_on=DAY,
            last_seen_on=DAY,
        )
        FindingEvent.objects.create(finding=finding, kind=FindingEventKind.RAISED, to_status=FindingStatus.OPEN)
        plan = ProvincialPlan.objects.create(
            region=regions[province],
            issuing_org=w.orgs[office],
            title=f"{tag} 知识产权质押融资入园惠企行动实施方案",
            year_from=2026,
            year_to=2028,
            status=PlanStatus.ISSUED,
            issued_on=DAY,
            submission_due_on=DAY + datetime.timedelta(days=10),
        )
        task = PlanTask.objects.create(
            plan=plan, number=1, title="园区对接活动", owner_org=w.orgs[park_org], due_on=DAY + datetime.timedelta(90)
        )
        PlanTask.objects.create(plan=plan, number=2, title="风险补偿资金", owner_name="省财政厅", due_on=DAY)
        Reminder.objects.create(
            kind=ReminderKind.TASK_OVERDUE,
            subject_key=f"task:{task.pk}",
            plan=plan,
            task=task,
            region_code=province,
            recipient=w.orgs[park_org],
            message="任务逾期",
            raised_on=DAY,
        )
        Reminder.objects.create(
            kind=ReminderKind.PLAN_SUBMISSION_DUE,
            subject_key=f"plan:{plan.pk}",
            plan=plan,
            region_code=province,
            recipient=w.orgs[office],
            message="方案待报送",
            raised_on=DAY,
        )
        KeyParkDesignation.objects.create(
            park=w.parks[park], year=2026, region_code=province, designated_by=w.orgs[office], designated_on=DAY
        )
        EnterpriseFinancials.objects.create(
            enterprise=w.enterprises[enterprise],
            year=2025,
            revenue=1_000_000,
            employees=40,
            source=FinancialsSource.REPORT,
            region_code=local,
        )
        MeasureEntry.objects.create(
            region=regions[province],
            region_code=province,
            park=w.parks[park],
            category=MeasureCategory.MATCHMAKING,
            title="园区银企对接会",
            issuing_body="园区管委会",
            started_on=DAY,
            description="每季度一次。",
            owner_org=w.orgs[park_org],
        )
        MeasureEntry.objects.create(
            region=regions[province],
            region_code=province,
            category=MeasureCategory.RISK_COMPENSATION,
            title="风险补偿资金池",
            issuing_body="省知识产权局",
            started_on=DAY,
            description="公开措施。",
            is_public=True,
            owner_org=w.orgs[office],
        )
        GeneratedReport.objects.create(
            kind=ReportKind.ANNUAL_SUMMARY,
            title=f"{tag} 2025 年度工作总结",
            region=regions[province],
            region_code=province,
            period_start=datetime.date(2025, 1, 1),
            period_end=datetime.date(2025, 12, 31),
            file_digest=_stored(f"summary {tag}".encode(), DOCX),
            file_name="summary.docx",
            content_type=DOCX,
            created_by_org=w.orgs[office],
        )
        for status, nominator in ((CaseStatus.NOMINATED, park_org), (CaseStatus.PUBLISHED, bank)):
            TypicalCase.objects.create(
                year=2026,
                title=f"{tag} 案例 {status}",
                category=CaseCategory.PARK_SERVICE,
                region_code=local,
                park=w.parks[park],
                summary="摘要",
                practice="做法",
                results="成效",
                status=status,
                published_on=DAY if status == CaseStatus.PUBLISHED else None,
                nominated_by_org=w.orgs[nominator],
                nominated_on=DAY,
            )
    # A national report, seen by national bodies only.
    GeneratedReport.objects.create(
        kind=ReportKind.MEASURES_TABLE,
        title="全国工作措施一览表",
        region_code="",
        period_start=datetime.date(2026, 1, 1),
        period_end=datetime.date(2026, 3, 31),
        file_digest=_stored(b"national measures", XLSX),
        file_name="measures.xlsx",
        content_type=XLSX,
        created_by_org=w.orgs["cnipa"],
    )
    return w
