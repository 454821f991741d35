"""Matching-area test states built straight through the ORM (independent of the products and demands services):

- `live_product(w, bank_key, **terms)`: a live product of the bank with an approved version (maker ≠ checker);
- `demand_for(w, enterprise_key, rights=[...], **fields)`: an open demand offering the given rights;
- `valued(w, right_key, p50_yuan, grade)`: a finance valuation of the right for its owner, valid today;
- `invention(w, enterprise_key, filed)`: a valid invention patent of the enterprise filed on that date.
`product_row` / `demand_row` build engine rows (dicts of `PRODUCT_SCHEMA` / `DEMAND_SCHEMA`) without a database: an
eligible pair by default (E1-like enterprise in Haidian offering one valued invention patent with 12 years left).
Defaults: products accept invention patents with ≥ 5 years left at a 30 % pledge-rate cap, 1–10 million yuan, 6–36
months, LPR + 50 bp; demands ask 2 million yuan for 12 months.
"""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal
from typing import Any

from django.utils import timezone

from ipledge.core.context import business_date
from ipledge.core.money import Money
from ipledge.core.synthetic import make_patent_number
from ipledge.market.choices import (
    DemandPurpose,
    DemandStatus,
    ProductStatus,
    ProductVersionStatus,
    RateKind,
)
from ipledge.market.engine import matching as engine
from ipledge.market.models import Demand, DemandRight, Product, ProductVersion
from ipledge.registry.choices import IPKind
from ipledge.registry.models import IPRight
from ipledge.registry.services import ip_right_create
from tests.world import World

_serial = itertools.count(1)

DEFAULT_TERMS: dict[str, Any] = {
    "collateral_kinds": ["invention"],
    "min_remaining_years": {"invention": 5},
    "pledge_rate_caps": {"invention": "0.30"},
    "amount_min": Money("1000000"),
    "amount_max": Money("10000000"),
    "term_min_months": 6,
    "term_max_months": 36,
    "rate_kind": RateKind.LPR_SPREAD,
    "rate_spread_bp": 50,
    "rate_fixed": None,
}


def live_product(w: World, bank_key: str = "bank1_sub", *, name: str = "", **terms: Any) -> Product:
    n = next(_serial)
    bank = w.orgs[bank_key]
    product = Product.objects.create(bank=bank, code=f"P{n:04d}", name=name or f"知识产权质押贷{n}")
    version = ProductVersion.objects.create(
        product=product,
        number=1,
        status=ProductVersionStatus.APPROVED,
        submitted_by=w.user(bank_key),
        submitted_at=timezone.now(),
        decided_by=w.user(bank_key, "reviewer"),
        decided_at=timezone.now(),
        **{**DEFAULT_TERMS, **terms},
    )
    product.status = ProductStatus.LIVE
    product.live_version = version
    product.save()
    return product


def new_version(w: World, product: Product, **terms: Any) -> ProductVersion:
    """A second approved version replacing the live one (the previous one superseded)."""
    old = product.live_version
    assert old is not None
    ProductVersion.objects.filter(pk=old.pk).update(status=ProductVersionStatus.SUPERSEDED)
    fields = {f: getattr(old, f) for f in DEFAULT_TERMS}
    version = ProductVersion.objects.create(
        product=product,
        number=old.number + 1,
        status=ProductVersionStatus.APPROVED,
        submitted_by=old.submitted_by,
        decided_by=old.decided_by,
        **{**fields, **terms},
    )
    product.live_version = version
    product.save()
    return version


def demand_for(
    w: World,
    enterprise_key: str = "e1",
    *,
    rights: list[IPRight] | None = None,
    amount: str = "2000000",
    term_months: int = 12,
    status: str = DemandStatus.OPEN,
    **fields: Any,
) -> Demand:
    n = next(_serial)
    enterprise = w.enterprises[enterprise_key]
    demand = Demand.objects.create(
        reference=f"XQ-T{n:06d}",
        enterprise=enterprise,
        region_code=enterprise.region_code,
        amount=Money(amount),
        term_months=term_months,
        purpose=DemandPurpose.RESEARCH,
        status=status,
        expires_on=business_date() + datetime.timedelta(days=180),
        **fields,
    )
    for right in rights if rights is not None else [w.rights["r1"]]:
        DemandRight.objects.create(demand=demand, ip_right=right)
    return demand


def valued(w: World, right: IPRight, p50_yuan: str, grade: str = "A", *, enterprise_key: str = "e1") -> Any:
    """A computed finance valuation of the right, valid for a year from today (only what matching reads is real)."""
    from ipledge.valuation.models import Valuation

    today = business_date()
    p50 = Money(p50_yuan)
    version = (
        Valuation.objects.filter(ip_right=right).order_by("-version").values_list("version", flat=True).first() or 0
    ) + 1
    return Valuation.objects.create(
        ip_right=right,
        version=version,
        enterprise=w.enterprises[enterprise_key],
        valuation_date=today,
        valid_until=today + datetime.timedelta(days=365),
        score=Decimal("70"),
        grade=grade,
        completeness=Decimal("0.9"),
        gate_multiplier=Decimal("1"),
        p10=p50,
        p50=p50,
        p90=p50,
        sigma=0.3,
        pledge_rate=Decimal("0.3"),
        loan_ceiling=p50,
        pledge_eligible=True,
        policy_name="测试",
    )


def invention(w: World, enterprise_key: str, filed: datetime.date, *, title: str = "一种测试装置") -> IPRight:
    n = next(_serial)
    return ip_right_create(
        kind=IPKind.PATENT,
        number=make_patent_number(year=filed.year, type_digit=1, serial=3_000_000 + n),
        title=title,
        filing_date=filed,
        grant_date=filed + datetime.timedelta(days=700),
        owners=[{"enterprise": w.enterprises[enterprise_key], "share": Decimal(100)}],
        acting_user=None,
    )


# ------------------------------------------------------------------------------------------- engine rows (no database)


def product_row(
    *,
    pid: int = 1,
    accepts: tuple[str, ...] = ("invention",),
    min_years: dict[str, int] | None = None,
    caps: dict[str, int] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "product_id": pid,
        "version_id": 100 + pid,
        "bank_id": 1,
        "amount_min": 1_000_000_00,
        "amount_max": 10_000_000_00,
        "term_min": 6,
        "term_max": 36,
        "rate_kind": "lpr_spread",
        "spread_bp": 50,
        "fixed_bp": None,
        "region_codes": [],
        "industry_sections": [],
        "size_classes": [],
        "min_age": 0,
        "requires_whitelist": False,
        "excludes_dishonest": True,
        "max_penalties": None,
        "requires_guarantee": False,
        "requires_insurance": False,
    }
    min_years = min_years or {"invention": 5}
    caps = caps or {"invention": 3000}
    for k in engine.KINDS:
        row[f"accepts_{k}"] = k in accepts
        row[f"min_years_{k}"] = min_years.get(k, 0)
        row[f"cap_bp_{k}"] = caps.get(k, 0)
    row.update(fields)
    return row


def demand_row(
    *, did: int = 1, rights: dict[str, list[tuple[int | None, int | None]]] | None = None, **fields: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "demand_id": did,
        "enterprise_id": 7,
        "region_code": "110108",
        "industry_section": "I",
        "size_class": "small",
        "age_days": 3000,
        "whitelisted": False,
        "dishonest": False,
        "penalties_3y": 0,
        "grade": "A",
        "high_tech": True,
        "specialised": False,
        "amount": 2_000_000_00,
        "term": 12,
    }
    rights = {"invention": [(12 * 366, 10_000_000_00)]} if rights is None else rights
    for k in engine.KINDS:
        entries = rights.get(k, [])
        known = [d for d, _v in entries if d is not None]
        unvalued = [d for d, v in entries if d is not None and v is None]
        cumulative = [0] * engine.YEARS
        for d, v in entries:
            if d is not None and v is not None and d >= 0:
                for y in range(min(4 * d // 1461, engine.MAX_YEARS) + 1):
                    cumulative[y] += v
        row[f"count_{k}"] = len(entries)
        row[f"max_days_{k}"] = max(known) if known else None
        row[f"unvalued_max_days_{k}"] = max(unvalued) if unvalued else None
        row[f"value_ge_{k}"] = cumulative
    row.update(fields)
    return row
