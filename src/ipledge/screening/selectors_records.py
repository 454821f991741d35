"""Reads of credit records (信用记录), their imports and the match review queue; each starts from `restrict()`.

Who sees a record: the IP office that imported it (and the offices above), IP offices whose region the record's
enterprise (or, unmatched, its USCC) lies in, and everyone who sees the matched enterprise in the registry: its
park, its banks, the enterprise itself (`CreditRecord.scope_q`). Imports are read by the importing office's tree.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from ipledge.core.choices import OrganisationKind
from ipledge.core.models import Organisation
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.models import Enterprise

from .choices import MatchStatus
from .models import CreditImport, CreditRecord


def in_force_q(day: datetime.date, prefix: str = "") -> Q:
    """Records counting on `day` (the same rule as `CreditRecord.counts_on`): listed by then, not removed or repaired
    by then, publicity not over by then."""
    return (
        Q(**{f"{prefix}listed_on__lte": day})
        & (Q(**{f"{prefix}removed_on__isnull": True}) | Q(**{f"{prefix}removed_on__gt": day}))
        & (Q(**{f"{prefix}expires_on__isnull": True}) | Q(**{f"{prefix}expires_on__gt": day}))
    )


@dataclass(frozen=True)
class RecordFilters:
    kind: str = ""
    match_status: str = ""
    enterprise_id: int | None = None
    in_force_on: datetime.date | None = None
    q: str = ""  # a name or USCC, of the record's subject or of the matched enterprise
    batch_id: int | None = None


def _records(qs: QuerySet[CreditRecord]) -> QuerySet[CreditRecord]:
    return qs.select_related("enterprise", "batch", "batch__organisation", "reviewed_by")


def record_list(*, user: Any, filters: RecordFilters | None = None) -> QuerySet[CreditRecord]:
    qs = _records(CreditRecord.objects.restrict(user, Action.VIEW))
    f = filters or RecordFilters()
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.match_status:
        qs = qs.filter(match_status=f.match_status)
    if f.enterprise_id is not None:
        qs = qs.filter(enterprise_id=f.enterprise_id)
    if f.batch_id is not None:
        qs = qs.filter(batch_id=f.batch_id)
    if f.in_force_on is not None:
        qs = qs.filter(in_force_q(f.in_force_on))
    text = f.q.strip()
    if text:
        upper = text.upper()
        qs = qs.filter(
            Q(subject_name__icontains=text)
            | Q(subject_uscc=upper)
            | Q(enterprise__name__icontains=text)
            | Q(enterprise__uscc=upper)
        )
    return qs


def record_detail(*, user: Any, pk: Any) -> CreditRecord:
    from ipledge.core.selectors import scoped_get

    record = scoped_get(CreditRecord, user=user, pk=pk)
    return _records(CreditRecord.objects.filter(pk=record.pk)).get()


def review_queue(*, user: Any) -> QuerySet[CreditRecord]:
    """Pending records the user may decide: imported by the user's office tree, oldest listing first."""
    return _records(
        CreditRecord.objects.restrict(user, Action.CHANGE).filter(match_status=MatchStatus.PENDING)
    ).order_by("listed_on", "pk")


def import_list(*, user: Any) -> QuerySet[CreditImport]:
    return CreditImport.objects.restrict(user, Action.VIEW).select_related("organisation", "imported_by")


def records_for_enterprise(*, user: Any, enterprise: Enterprise) -> QuerySet[CreditRecord]:
    """The records matched to an enterprise, as far as the user may see them (newest listing first)."""
    return _records(CreditRecord.objects.restrict(user, Action.VIEW).filter(enterprise=enterprise))


def candidate_enterprises(*, user: Any, record: CreditRecord) -> list[dict[str, Any]]:
    """A pending record's stored candidates, each marked with whether the user can see (and so choose) it."""
    ids = [c["id"] for c in record.candidates or () if isinstance(c, dict) and "id" in c]
    visible = set(Enterprise.objects.restrict(user, Action.VIEW).filter(pk__in=ids).values_list("pk", flat=True))
    return [{**c, "visible": c.get("id") in visible} for c in record.candidates or () if isinstance(c, dict)]


def importing_organisations(*, user: Any) -> QuerySet[Organisation]:
    """The IP offices the user may import for: its own office and those below it (the platform: every office)."""
    scope = scope_for(user)
    offices = Organisation.objects.filter(kind=OrganisationKind.IP_OFFICE, is_active=True).order_by("tree_path")
    if scope is None:
        return offices.none()
    if scope.is_platform:
        return offices
    if scope.kind != OrganisationKind.IP_OFFICE:
        return offices.none()
    return offices.filter(tree_path__startswith=scope.org_tree_path)
