"""The matching engine's input frames read from the database: live products (`engine.matching.PRODUCT_SCHEMA`) and
demands with their enterprise's features and offered rights (`DEMAND_SCHEMA`).

A fixed handful of `values()` queries per chunk of 2,000 demands, never a query per demand. Decisions:
- Live products: `Product.status = live` with its `live_version` approved. Pledge-rate caps ("0.25") become basis
  points (2500), a fixed rate (3.45 %) basis points too (345); minimum remaining years above 30 count as 30.
- Offered rights: the demand's `DemandRight`s whose legal status is valid, mapped to a `CollateralKind` (patents by
  type — PCT invention counts as invention, PCT utility model as utility model —, trademark, copyright by work kind:
  software or work, IC layout). Remaining life in days from `term_end` to the day (null term end: unknown, the right
  counts for the kind but never meets a minimum life).
- A right's value: the p50 of its latest (highest version) finance-scenario valuation made on or before the day,
  still valid on it, not returned by the agency's checker, made for the demand's enterprise. Unvalued rights leave
  the capacity unknown (`unvalued_max_days_k`). The demand's `grade`: the best grade of those valuations.
- whitelisted: included in an approved whitelist version (`screening.selectors.is_whitelisted`, in bulk).
- dishonest: a matched 失信被执行人 or 严重违法失信 record in force on the day; penalties_3y: matched administrative
  penalties in force and listed in the 1,095 days before the day (`screening.engine.screen`'s window).
- age_days: days from `established_on` to the day (null when unknown).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import polars as pl
from django.db.models import Q

from ipledge.registry.choices import CopyrightWorkKind, IPKind, LegalStatus, PatentType
from ipledge.registry.models import Enterprise, IPRight
from ipledge.screening.choices import MATCHED_STATUSES, RecordKind, VersionStatus
from ipledge.screening.models import CreditRecord, WhitelistEntry
from ipledge.valuation.choices import Scenario, ValuationStatus
from ipledge.valuation.models import Valuation

from .choices import ProductStatus, ProductVersionStatus
from .engine.matching import DEMAND_SCHEMA, KINDS, MAX_YEARS, PRODUCT_SCHEMA, YEARS
from .models import Demand, DemandRight, Product

CHUNK = 2000
PENALTY_WINDOW_DAYS = 1095
GRADE_ORDER = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")
PATENT_KINDS = {
    PatentType.INVENTION: "invention",
    PatentType.PCT_INVENTION: "invention",
    PatentType.UTILITY_MODEL: "utility_model",
    PatentType.PCT_UTILITY_MODEL: "utility_model",
    PatentType.DESIGN: "design",
}


def collateral_kind(kind: str, patent_type: str = "", work_kind: str = "") -> str | None:
    """The `CollateralKind` of an IP right (None when it has none, e.g. a patent without a type)."""
    if kind == IPKind.PATENT:
        return PATENT_KINDS.get(patent_type)  # type: ignore[call-overload]
    if kind == IPKind.TRADEMARK:
        return "trademark"
    if kind == IPKind.COPYRIGHT:
        return "software" if work_kind == CopyrightWorkKind.SOFTWARE else "work"
    if kind == IPKind.IC_LAYOUT:
        return "ic_layout"
    return None


def _chunks(ids: Sequence[int], size: int = CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _bp(value: Any, scale: int) -> int:
    return int((Decimal(str(value)) * scale).to_integral_value())


def version_row(product_id: int, bank_id: int, version: Any) -> dict[str, Any]:
    """One `PRODUCT_SCHEMA` row from a product version (a model instance or anything with its attributes)."""
    kinds = set(version.collateral_kinds or [])
    min_years = version.min_remaining_years or {}
    caps = version.pledge_rate_caps or {}
    row: dict[str, Any] = {
        "product_id": product_id,
        "version_id": version.pk,
        "bank_id": bank_id,
        "amount_min": version.amount_min.fen,
        "amount_max": version.amount_max.fen,
        "term_min": version.term_min_months,
        "term_max": version.term_max_months,
        "rate_kind": version.rate_kind,
        "spread_bp": version.rate_spread_bp,
        "fixed_bp": None if version.rate_fixed is None else _bp(version.rate_fixed, 100),
        "region_codes": [str(c) for c in version.region_codes or []],
        "industry_sections": [str(c) for c in version.industry_sections or []],
        "size_classes": [str(c) for c in version.size_classes or []],
        "min_age": version.min_enterprise_age_years or 0,
        "requires_whitelist": bool(version.requires_whitelist),
        "excludes_dishonest": bool(version.excludes_dishonest),
        "max_penalties": version.max_recent_penalties,
        "requires_guarantee": bool(version.requires_guarantee),
        "requires_insurance": bool(version.requires_insurance),
    }
    for k in KINDS:
        row[f"accepts_{k}"] = k in kinds
        row[f"min_years_{k}"] = min(max(int(min_years.get(k) or 0), 0), MAX_YEARS)
        row[f"cap_bp_{k}"] = _bp(caps[k], 10000) if caps.get(k) not in (None, "") else 0
    return row


def live_products(product_ids: Sequence[int] | None = None) -> pl.DataFrame:
    """Live products with their current approved version (`PRODUCT_SCHEMA`), by product id."""
    qs = Product.objects.filter(
        status=ProductStatus.LIVE, live_version__isnull=False, live_version__status=ProductVersionStatus.APPROVED
    ).select_related("live_version")
    if product_ids is not None:
        qs = qs.filter(pk__in=list(product_ids))
    rows = [version_row(p.pk, p.bank_id, p.live_version) for p in qs.order_by("pk")]
    return pl.DataFrame(rows, schema=PRODUCT_SCHEMA, orient="row") if rows else pl.DataFrame(schema=PRODUCT_SCHEMA)


def _whitelisted(enterprise_ids: list[int]) -> set[int]:
    return set(
        WhitelistEntry.objects.filter(
            enterprise_id__in=enterprise_ids, included=True, version__status=VersionStatus.APPROVED
        ).values_list("enterprise_id", flat=True)
    )


def _credit(enterprise_ids: list[int], day: datetime.date) -> tuple[set[int], dict[int, int]]:
    in_force = (
        Q(listed_on__lte=day)
        & (Q(removed_on__isnull=True) | Q(removed_on__gt=day))
        & (Q(expires_on__isnull=True) | Q(expires_on__gt=day))
    )
    rows = CreditRecord.objects.filter(
        in_force,
        enterprise_id__in=enterprise_ids,
        match_status__in=sorted(str(s) for s in MATCHED_STATUSES),
        kind__in=[RecordKind.DISHONEST, RecordKind.SERIOUS_VIOLATION, RecordKind.PENALTY],
    ).values_list("enterprise_id", "kind", "listed_on")
    dishonest: set[int] = set()
    penalties: dict[int, int] = defaultdict(int)
    since = day - datetime.timedelta(days=PENALTY_WINDOW_DAYS)
    for enterprise_id, kind, listed_on in rows:
        if kind == RecordKind.PENALTY:
            if listed_on > since:
                penalties[enterprise_id] += 1
        else:
            dishonest.add(enterprise_id)
    return dishonest, penalties


def _valuations(pairs: set[tuple[int, int]], day: datetime.date) -> dict[tuple[int, int], tuple[int, str]]:
    """{(enterprise id, right id): (p50 fen, grade)} of the latest valid finance valuation of each offered right."""
    right_ids = sorted({r for _e, r in pairs})
    latest: dict[tuple[int, int], tuple[int, int, str]] = {}
    for chunk in _chunks(right_ids):
        rows = (
            Valuation.objects.filter(
                ip_right_id__in=chunk,
                scenario=Scenario.FINANCE,
                valuation_date__lte=day,
                valid_until__gte=day,
            )
            .exclude(status=ValuationStatus.RETURNED)
            .values_list("enterprise_id", "ip_right_id", "version", "p50", "grade")
        )
        for enterprise_id, right_id, version, p50, grade in rows:
            key = (enterprise_id, right_id)
            if key in pairs and (key not in latest or version > latest[key][0]):
                latest[key] = (version, p50.fen if hasattr(p50, "fen") else int(p50), grade)
    return {key: (fen, grade) for key, (_v, fen, grade) in latest.items()}


def demand_rows(demands: list[dict[str, Any]], day: datetime.date) -> list[dict[str, Any]]:
    """`DEMAND_SCHEMA` rows of demands given as {"demand_id", "enterprise_id", "region_code", "amount" (fen),
    "term"} — the stored demands, or a demand being drafted (id 0) — as of `day`."""
    enterprise_ids = sorted({d["enterprise_id"] for d in demands})
    demand_ids = [d["demand_id"] for d in demands if d["demand_id"]]
    enterprises = {
        r["pk"]: r
        for r in Enterprise.objects.filter(pk__in=enterprise_ids).values(
            "pk", "region_code", "industry_section", "size_class", "established_on", "is_high_tech", "is_specialised"
        )
    }
    whitelisted = _whitelisted(enterprise_ids)
    dishonest, penalties = _credit(enterprise_ids, day)
    offered: dict[int, list[int]] = defaultdict(list)
    for demand_id, right_id in DemandRight.objects.filter(demand_id__in=demand_ids).values_list(
        "demand_id", "ip_right_id"
    ):
        offered[demand_id].append(right_id)
    for d in demands:
        if not d["demand_id"] and d.get("right_ids"):
            offered[0] = list(d["right_ids"])
    right_ids = sorted({r for rs in offered.values() for r in rs})
    rights = {
        r["pk"]: r
        for r in IPRight.objects.filter(pk__in=right_ids, legal_status=LegalStatus.VALID).values(
            "pk", "kind", "patent_type", "work_kind", "term_end"
        )
    }
    wanted = {(d["enterprise_id"], r) for d in demands for r in offered.get(d["demand_id"], ()) if r in rights}
    values = _valuations(wanted, day)
    rank = {g: i for i, g in enumerate(GRADE_ORDER)}

    rows = []
    for d in demands:
        ent = enterprises.get(d["enterprise_id"], {})
        established = ent.get("established_on")
        row: dict[str, Any] = {
            "demand_id": d["demand_id"],
            "enterprise_id": d["enterprise_id"],
            "region_code": d.get("region_code") or ent.get("region_code") or None,
            "industry_section": ent.get("industry_section") or None,
            "size_class": ent.get("size_class") or None,
            "age_days": None if established is None else max(0, (day - established).days),
            "whitelisted": d["enterprise_id"] in whitelisted,
            "dishonest": d["enterprise_id"] in dishonest,
            "penalties_3y": penalties.get(d["enterprise_id"], 0),
            "grade": None,
            "high_tech": bool(ent.get("is_high_tech")),
            "specialised": bool(ent.get("is_specialised")),
            "amount": d["amount"],
            "term": d["term"],
        }
        per_kind: dict[str, dict[str, Any]] = {
            k: {"count": 0, "max": None, "unvalued": None, "values": [0] * YEARS} for k in KINDS
        }
        best: int | None = None
        for right_id in offered.get(d["demand_id"], ()):
            right = rights.get(right_id)
            kind = collateral_kind(right["kind"], right["patent_type"], right["work_kind"]) if right else None
            if right is None or kind is None:
                continue
            slot = per_kind[kind]
            slot["count"] += 1
            days = None if right["term_end"] is None else (right["term_end"] - day).days
            if days is not None:
                slot["max"] = days if slot["max"] is None else max(slot["max"], days)
            valued = values.get((d["enterprise_id"], right_id))
            if valued is None:
                if days is not None:
                    slot["unvalued"] = days if slot["unvalued"] is None else max(slot["unvalued"], days)
                continue
            fen, grade = valued
            if grade in rank and (best is None or rank[grade] < best):
                best = rank[grade]
            if days is not None and days >= 0:
                whole = min((4 * days) // 1461, MAX_YEARS)
                for y in range(whole + 1):
                    slot["values"][y] += fen
        row["grade"] = None if best is None else GRADE_ORDER[best]
        for k, slot in per_kind.items():
            row[f"count_{k}"] = slot["count"]
            row[f"max_days_{k}"] = slot["max"]
            row[f"unvalued_max_days_{k}"] = slot["unvalued"]
            row[f"value_ge_{k}"] = slot["values"]
        rows.append(row)
    return rows


def demand_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=DEMAND_SCHEMA, orient="row") if rows else pl.DataFrame(schema=DEMAND_SCHEMA)


def demands_frame(demand_ids: Sequence[int], day: datetime.date) -> pl.DataFrame:
    """`DEMAND_SCHEMA` rows of the stored demands, in the order given."""
    order = {pk: i for i, pk in enumerate(demand_ids)}
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(list(demand_ids)):
        base = [
            {
                "demand_id": r["pk"],
                "enterprise_id": r["enterprise_id"],
                "region_code": r["region_code"],
                "amount": r["amount"].fen,
                "term": r["term_months"],
            }
            for r in Demand.objects.filter(pk__in=chunk).values(
                "pk", "enterprise_id", "region_code", "amount", "term_months"
            )
        ]
        rows += demand_rows(base, day)
    rows.sort(key=lambda r: order[r["demand_id"]])
    return demand_frame(rows)
