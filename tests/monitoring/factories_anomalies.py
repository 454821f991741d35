"""Anomaly rows for the permission and endpoint matrices: a scan, findings in Beijing and Jiangsu with case events,
and a Beijing bulletin (通报) on a confirmed finding, made through the services.

Visible: the Beijing office (and CNIPA, the Beijing regulator and NDRC) sees the Beijing findings and bulletin; the
Jiangsu office sees only the Jiangsu finding; banks, parks, enterprises and valuers see none of them.
"""

from __future__ import annotations

import datetime
from typing import Any

from ipledge.core.choices import Role
from ipledge.core.context import business_date
from ipledge.monitoring.choices import FindingEventKind, FindingStatus
from ipledge.monitoring.models import AnomalyScan, Finding, FindingEvent
from ipledge.monitoring.services import findings as services

from ..world import World


def make_finding(
    w: World, *, region_code: str = "110108", rule: str = "classification_inconsistent", key: str = "1", **extra: Any
) -> Finding:
    today = business_date()
    scan = AnomalyScan.objects.order_by("-pk").first() or AnomalyScan.objects.create(as_of=today, status="finished")
    finding = Finding.objects.create(
        rule=rule,
        severity=extra.pop("severity", "high"),
        fingerprint=f"test-{rule}-{key}",
        evidence_digest=extra.pop("evidence_digest", "digest-1"),
        title=extra.pop("title", f"测试线索 {key}"),
        summary="测试用异常线索。",
        evidence=extra.pop("evidence", {"records": [], "figures": {"days_past_due": 120}}),
        subject_type="lending.Loan",
        subject_id=key,
        region_code=region_code,
        scan=scan,
        first_seen_on=today,
        last_seen_on=today,
        **extra,
    )
    FindingEvent.objects.create(finding=finding, kind=FindingEventKind.RAISED, to_status=FindingStatus.OPEN)
    return finding


def add_anomalies(w: World) -> World:
    today = business_date()
    AnomalyScan.objects.create(
        as_of=today,
        status="finished",
        counts={"classification_inconsistent": {"found": 3, "new": 3, "suppressed": 0, "cleared": 0}},
    )
    open_bj = make_finding(w, key="bj-open", enterprise=w.enterprises["e1"], park=w.parks["p1"])
    make_finding(w, region_code="320115", key="js-open", enterprise=w.enterprises["e2"])
    reported = make_finding(w, key="bj-reported", enterprise=w.enterprises["e1"])
    operator, reviewer = w.user("ipo_bj"), w.user("ipo_bj", Role.REVIEWER)
    services.finding_assign(
        finding=reported, assignee=operator, due_on=today + datetime.timedelta(days=10), acting_user=operator
    )
    services.finding_start_investigation(finding=reported, acting_user=operator)
    services.finding_note(finding=reported, note="已调取贷款档案。", acting_user=operator)
    services.finding_decide(finding=reported, confirm=True, note="逾期超过90天仍列正常类，属实。", acting_user=reviewer)
    services.bulletin_issue(
        findings=[reported], title="关于风险分类不实问题的通报", body="经核查……", acting_user=operator
    )
    w.anomaly_findings = {"bj_open": open_bj, "bj_reported": reported}  # type: ignore[attr-defined]
    return w
