"""Reads of the anomaly pages and API (异常线索): findings, their case events, scans and bulletins. Every read starts
from `restrict()`: a finding outside the user's region answers 404 like a missing one."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from ipledge.core.scoping import Action

from .choices import ACTIVE_FINDING_STATUSES
from .models import AnomalyScan, Bulletin, Finding, FindingEvent

# Evidence record types (engine `_rec`) → the page that shows the record.
RECORD_URLS: dict[str, str] = {
    "loan": "lending:loan_detail",
    "registration": "registration:registration_detail",
    "ip_right": "registry:ipright_detail",
    "enterprise": "registry:enterprise_detail",
    "park": "registry:park_detail",
    "claim": "compensation:claim_detail",
}


RECORD_LABELS: dict[str, Any] = {
    "loan": _("贷款"),
    "registration": _("质押登记"),
    "ip_right": _("知识产权"),
    "enterprise": _("企业"),
    "park": _("园区"),
    "claim": _("代偿申请"),
    "licence": _("许可合同备案"),
    "organisation": _("机构"),
}

# Evidence figure keys (engine drafts) → what the detail page calls them; unknown keys show as they are.
FIGURE_LABELS: dict[str, Any] = {
    "appraisals": _("评估份数"),
    "appraised": _("评估价值"),
    "amount": _("全年登记金额"),
    "amount_share": _("12月金额占比"),
    "amounts": _("金额笔数"),
    "age_days": _("放款时成立天数"),
    "banks": _("涉及银行"),
    "baseline": _("全域整数金额占比"),
    "chi_square": _("卡方统计量"),
    "claim_amount": _("登记债权数额"),
    "classification": _("风险分类"),
    "contract_no": _("合同编号"),
    "count_share": _("12月笔数占比"),
    "days_early": _("提前放款天数"),
    "days_past_due": _("逾期天数"),
    "days_since": _("登记后天数"),
    "debt_end": _("债务到期日"),
    "december_amount": _("12月登记金额"),
    "december_registrations": _("12月登记笔数"),
    "employees": _("从业人员"),
    "enterprises": _("涉及企业数"),
    "established_on": _("成立日期"),
    "event": _("事项"),
    "event_date": _("发生日期"),
    "expected": _("本福特期望分布"),
    "first_disbursed_on": _("首次放款日"),
    "loans": _("贷款笔数"),
    "ltv": _("质押率"),
    "mad": _("平均绝对偏差（MAD）"),
    "modified_z": _("对数修正Z值"),
    "norm": _("常规质押率"),
    "npl_on": _("不良认定日"),
    "observed": _("实际首位数字分布"),
    "outliers": _("异常评估份数"),
    "owner_count": _("权利人数量"),
    "owners": _("权利人企业"),
    "p50_ratio": _("与平台评估P50之比"),
    "peer_median": _("同类评估中位数"),
    "peer_ratio": _("与同类中位数之比"),
    "peers": _("同类评估份数"),
    "platform_p50": _("平台评估P50"),
    "principal": _("贷款金额"),
    "problems": _("问题"),
    "records": _("记录数"),
    "reference": _("备案号/公告"),
    "registered_on": _("登记日"),
    "registrations": _("全年登记笔数"),
    "round_amounts": _("百万整数倍笔数"),
    "share": _("占比"),
    "term_end": _("权利有效期止"),
    "threshold": _("阈值"),
    "tolerance": _("容忍倍数"),
    "unreturned": _("未返还追偿款"),
    "unreturned_since": _("应返还起始日"),
    "valuer": _("评估机构"),
    "year": _("年度"),
    "z": _("Z值"),
}


def evidence_figures(finding: Finding) -> list[tuple[Any, Any]]:
    figures = (finding.evidence or {}).get("figures", {})
    return [(FIGURE_LABELS.get(key, key), value) for key, value in figures.items()]


def finding_list(*, user: Any, filters: dict[str, Any] | None = None) -> QuerySet[Finding]:
    qs = Finding.objects.restrict(user, Action.VIEW).select_related("park", "enterprise", "institution", "assignee")
    filters = filters or {}
    for key in ("rule", "severity", "status"):
        if filters.get(key):
            qs = qs.filter(**{key: filters[key]})
    if filters.get("region"):
        qs = qs.filter(region_code__startswith=str(filters["region"]).rstrip("0") or str(filters["region"]))
    if filters.get("active"):
        qs = qs.filter(status__in=ACTIVE_FINDING_STATUSES)
    if filters.get("assigned_to_me"):
        qs = qs.filter(assignee=user)
    return qs


def finding_get(*, user: Any, pk: int, action: str = Action.VIEW) -> Finding:
    return finding_list(user=user).filter(pk__in=Finding.objects.restrict(user, action).values("pk")).get(pk=pk)


def finding_events(*, user: Any, finding: Finding) -> QuerySet[FindingEvent]:
    return FindingEvent.objects.restrict(user, Action.VIEW).filter(finding=finding).select_related("actor")


def may(user: Any, finding: Finding, action: str) -> bool:
    return Finding.objects.restrict(user, action).filter(pk=finding.pk).exists()


def evidence_links(finding: Finding) -> list[dict[str, Any]]:
    """The evidence records with a link to each record's own page where it has one."""
    out = []
    for record in (finding.evidence or {}).get("records", []):
        url = ""
        name = RECORD_URLS.get(str(record.get("type")))
        if name:
            try:
                url = reverse(name, args=[record["id"]])
            except (NoReverseMatch, KeyError):
                url = ""
        out.append({**record, "url": url, "type_label": RECORD_LABELS.get(str(record.get("type")), record.get("type"))})
    return out


def scan_list(*, user: Any) -> QuerySet[AnomalyScan]:
    return AnomalyScan.objects.restrict(user, Action.VIEW).select_related("started_by")


def bulletin_list(*, user: Any) -> QuerySet[Bulletin]:
    return Bulletin.objects.restrict(user, Action.VIEW).select_related("issued_by")


def bulletin_findings(*, user: Any, bulletin: Bulletin) -> QuerySet[Finding]:
    return Finding.objects.restrict(user, Action.VIEW).filter(bulletin=bulletin)
