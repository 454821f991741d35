"""Reads of the anomaly pages and API (异常线索): findings, their case events, scans and bulletins. Every read starts
from `restrict()`: a finding outside the user's region answers 404 like a missing one."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse

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
        out.append({**record, "url": url})
    return out


def scan_list(*, user: Any) -> QuerySet[AnomalyScan]:
    return AnomalyScan.objects.restrict(user, Action.VIEW).select_related("started_by")


def bulletin_list(*, user: Any) -> QuerySet[Bulletin]:
    return Bulletin.objects.restrict(user, Action.VIEW).select_related("issued_by")


def bulletin_findings(*, user: Any, bulletin: Bulletin) -> QuerySet[Finding]:
    return Finding.objects.restrict(user, Action.VIEW).filter(bulletin=bulletin)
