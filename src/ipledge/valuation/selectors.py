"""Valuation reads. Lists start from `restrict(user, action)`; the engine's input rows are assembled in bulk from the
registry, the pledge register, the legal-status events, licences and the implementation reports, so that one right
in a request and a province's portfolio in a batch are read the same way (a fixed number of queries per chunk).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import polars as pl
from django.db.models import Count, QuerySet

from ipledge.core.scoping import Action
from ipledge.lending.choices import ImplementationStatus
from ipledge.lending.models import ImplementationReport
from ipledge.registration.models import LegalStatusEvent, PledgedRight
from ipledge.registry.choices import IPKind, LegalStatus
from ipledge.registry.models import Enterprise, IPRight, IPRightOwner, LicenceContract

from .models import (
    ComparableTransaction,
    InnovationScore,
    PledgeRatePolicy,
    RevaluationBatch,
    Valuation,
    ValuationModel,
)

# Legal-status codes counted as history (see registration.monitoring): invalidation requests announced or decided,
# and transfers of the right.
INVALIDATION_CODES = ("IP01", "IW01")
TRANSFER_CODES = ("TR01",)
IMPLEMENTED = frozenset(
    {ImplementationStatus.SELF_USE, ImplementationStatus.LICENSED, ImplementationStatus.TRANSFERRED}
)
CHUNK = 5_000
DAYS_PER_YEAR = 365.25


def valuation_list(*, user: Any) -> QuerySet[Valuation]:
    return Valuation.objects.restrict(user, Action.VIEW).select_related(
        "ip_right", "bundle", "enterprise", "agency", "requested_by_org"
    )


def batch_list(*, user: Any) -> QuerySet[RevaluationBatch]:
    return RevaluationBatch.objects.restrict(user, Action.VIEW).select_related("park", "region", "requested_by_org")


def comparable_list(*, user: Any) -> QuerySet[ComparableTransaction]:
    return ComparableTransaction.objects.restrict(user, Action.VIEW)


def innovation_scores(*, user: Any, enterprise: Enterprise) -> QuerySet[InnovationScore]:
    return InnovationScore.objects.restrict(user, Action.VIEW).filter(enterprise=enterprise)


def active_model(label: str) -> ValuationModel | None:
    return ValuationModel.objects.filter(label=label, is_active=True).first()


def latest_valuations(*, user: Any, ip_right: IPRight) -> QuerySet[Valuation]:
    return valuation_list(user=user).filter(ip_right=ip_right).order_by("-version")


def policy_for_bank(bank: Any) -> PledgeRatePolicy | None:
    """The pledge-rate policy a bank lends under: its own active one, else the nearest office above it."""
    if bank is None or not getattr(bank, "tree_path", ""):
        return None
    ancestors = [int(part) for part in bank.tree_path.strip("/").split("/") if part]
    policies = {p.bank_id: p for p in PledgeRatePolicy.objects.filter(bank_id__in=ancestors, is_active=True)}
    for bank_id in reversed(ancestors):
        if bank_id in policies:
            return policies[bank_id]
    return None


_comparables_cache: dict[str, Any] = {}


def comparables_frame() -> pl.DataFrame | None:
    """Every recorded comparable, for the market approach (used only in aggregate, within kind and IPC section).

    Kept per process while the table's (count, last id) is unchanged: one cheap aggregate per valuation instead of
    reading every comparable again."""
    from django.db.models import Max

    key = ComparableTransaction.objects.aggregate(n=Count("pk"), last=Max("pk"), at=Max("created_at"))
    if _comparables_cache.get("key") == key:
        return _comparables_cache["frame"]  # type: ignore[no-any-return]
    frame = _read_comparables()
    _comparables_cache.update(key=key, frame=frame)
    return frame


def _read_comparables() -> pl.DataFrame | None:
    rows = list(
        ComparableTransaction.objects.values_list("kind", "patent_type", "ipc_section", "price", "score").order_by()
    )
    if not rows:
        return None
    return pl.DataFrame(
        {
            "kind": [r[0] for r in rows],
            "patent_type": [r[1] for r in rows],
            "ipc_section": [r[2] for r in rows],
            "price_fen": [r[3].fen for r in rows],
            "score": [None if r[4] is None else float(r[4]) for r in rows],
        },
        schema={
            "kind": pl.Utf8,
            "patent_type": pl.Utf8,
            "ipc_section": pl.Utf8,
            "price_fen": pl.Int64,
            "score": pl.Float64,
        },
    )


def _chunks(ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _years(start: datetime.date | None, end: datetime.date | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).days / DAYS_PER_YEAR


def _counts(queryset: QuerySet[Any], key: str) -> dict[int, int]:
    return {row[key]: row["n"] for row in queryset.values(key).annotate(n=Count("pk")).order_by()}


def right_input_rows(right_ids: Iterable[int], *, as_of: datetime.date, holder_id: int | None = None) -> list[dict]:
    """The engine's input rows (docs/valuation-engine.md) for these rights on the valuation date.

    `holder_id` names the holder whose share is valued (a pledgor); by default the holder with the largest share.
    Unknown stays None: a missing citation count is not a zero count.
    """
    ids = sorted(set(right_ids))
    out: list[dict] = []
    for chunk in _chunks(ids):
        out.extend(_input_chunk(chunk, as_of=as_of, holder_id=holder_id))
    return out


def _input_chunk(ids: list[int], *, as_of: datetime.date, holder_id: int | None) -> list[dict]:
    rights = list(
        IPRight.objects.filter(pk__in=ids)
        .order_by("pk")
        .values(
            "pk",
            "kind",
            "patent_type",
            "main_ipc",
            "title",
            "legal_status",
            "filing_date",
            "grant_date",
            "valid_from",
            "term_end",
            "annual_fee_paid_until",
            "claims_count",
            "forward_citations",
            "backward_citations",
            "family_size",
            "nice_classes",
            "renewal_count",
            "work_kind",
            "created_on",
            "suspended",
            "preserved",
            "invalidation_pending",
        )
    )
    owners: dict[int, list[tuple[int | None, float]]] = defaultdict(list)
    for right_id, enterprise_id, share in IPRightOwner.objects.filter(right_id__in=ids).values_list(
        "right_id", "enterprise_id", "share"
    ):
        owners[right_id].append((enterprise_id, float(share) / 100))
    holders: dict[int, tuple[int | None, float]] = {}
    for right_id, entries in owners.items():
        chosen = next((e for e in entries if holder_id is not None and e[0] == holder_id), None)
        if chosen is None:
            chosen = max(entries, key=lambda e: (e[1], -(e[0] or 0)))
        holders[right_id] = chosen
    enterprise_ids = {h[0] for h in holders.values() if h[0] is not None}
    enterprises = {
        row["pk"]: row
        for row in Enterprise.objects.filter(pk__in=enterprise_ids).values("pk", "revenue", "industry_section")
    }
    portfolio = _counts(
        IPRightOwner.objects.filter(enterprise_id__in=enterprise_ids, right__legal_status=LegalStatus.VALID),
        "enterprise_id",
    )
    pledged = set(
        PledgedRight.objects.filter(ip_right_id__in=ids, is_active=True).values_list("ip_right_id", flat=True)
    )
    invalidations = _counts(
        LegalStatusEvent.objects.filter(ip_right_id__in=ids, code__in=INVALIDATION_CODES, event_date__lte=as_of),
        "ip_right_id",
    )
    transfers = _counts(
        LegalStatusEvent.objects.filter(ip_right_id__in=ids, code__in=TRANSFER_CODES, event_date__lte=as_of),
        "ip_right_id",
    )
    licences = _counts(LicenceContract.objects.filter(ip_right_id__in=ids, recorded_on__lte=as_of), "ip_right_id")
    implemented: dict[int, bool] = {}
    for right_id, status in (
        ImplementationReport.objects.filter(collateral__ip_right_id__in=ids, reported_on__lte=as_of)
        .order_by("collateral__ip_right_id", "reported_on", "pk")
        .values_list("collateral__ip_right_id", "status")
    ):
        implemented[right_id] = status in IMPLEMENTED  # the latest report wins (ordered ascending)

    rows: list[dict] = []
    for r in rights:
        right_id = r["pk"]
        kind = r["kind"]
        holder = holders.get(right_id, (None, 1.0))
        enterprise = enterprises.get(holder[0]) if holder[0] is not None else None
        start = r["filing_date"] or r["valid_from"] or r["created_on"]
        fee_paid: bool | None = None
        if kind == IPKind.PATENT and r["annual_fee_paid_until"] is not None:
            fee_paid = r["annual_fee_paid_until"] >= as_of
        revenue = enterprise["revenue"] if enterprise else None
        rows.append(
            {
                "right_id": right_id,
                "kind": kind,
                "patent_type": r["patent_type"] or "",
                "ipc_section": (r["main_ipc"] or "")[:1].upper() if kind == IPKind.PATENT else "",
                "filing_year": start.year if start else None,
                "legal_status": r["legal_status"],
                "remaining_years": _years(as_of, r["term_end"]),
                "age_years": _years(start, as_of),
                "fee_paid": fee_paid,
                "claims_count": r["claims_count"],
                "forward_citations": r["forward_citations"],
                "backward_citations": r["backward_citations"],
                "family_size": r["family_size"],
                "ipc_count": None,  # the register keeps the main IPC only
                "grant_lag_years": _years(r["filing_date"], r["grant_date"]) if kind == IPKind.PATENT else None,
                "owner_count": max(1, len(owners.get(right_id, []))),
                "own_share": holder[1],
                "suspended": r["suspended"],
                "preserved": r["preserved"],
                "invalidation_pending": r["invalidation_pending"],
                "already_pledged": right_id in pledged,
                "invalidation_requests": invalidations.get(right_id, 0) if kind == IPKind.PATENT else None,
                "litigation_count": None,  # no court feed on the platform yet
                "licence_count": licences.get(right_id, 0),
                "transfer_count": transfers.get(right_id, 0) if kind == IPKind.PATENT else None,
                "implemented": implemented.get(right_id),
                "owner_revenue_fen": revenue.fen if revenue is not None else None,
                "owner_portfolio_size": max(1, portfolio.get(holder[0], 0)) if holder[0] is not None else 1,
                "industry_section": (enterprise or {}).get("industry_section") or "",
                "nice_class_count": len(r["nice_classes"] or []) if kind == IPKind.TRADEMARK else None,
                "renewal_count": r["renewal_count"] if kind == IPKind.TRADEMARK else None,
                "work_kind": r["work_kind"] or "",
                # Kept for the bundle's overlap test and the report, not read by the per-right engine.
                "main_ipc": r["main_ipc"] or "",
                "title": r["title"],
                "holder_enterprise_id": holder[0],
            }
        )
    return rows
