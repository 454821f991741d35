"""Demand-area test states, built straight through the ORM (no dependency on the products services):

- `live_product(w, bank_key, code, **terms)`: a live product of a bank with an approved version 1 (defaults: accepts
  invention and utility-model patents and trademarks, 5 years' minimum remaining life for an invention patent,
  amount 100k–10M, term 6–36 months, LPR + 100 bp, no region/industry/size restriction);
- `two_products(w)`: bank1_sub's product (fits E1's demand) and bank2's product that asks 30 years of remaining life
  of an invention patent (never fits);
- `post(w, ...)`: E1's operator posts a demand through the service (r1 offered, consent to every matching bank);
- `granted_loan(w, enterprise_key, bank_key)`: an active loan of the enterprise straight through the ORM.
"""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal
from typing import Any

from ipledge.core.money import Money
from ipledge.lending.choices import LoanStatus
from ipledge.lending.models import Loan
from ipledge.market.choices import DemandPurpose, ProductStatus, ProductVersionStatus, RateKind
from ipledge.market.models import Demand, Product, ProductVersion
from ipledge.market.services import demands as services
from tests.world import World

_serial = itertools.count(1)


def live_product(w: World, bank_key: str, code: str, **terms: Any) -> Product:
    product = Product.objects.create(bank=w.orgs[bank_key], code=code, name=terms.pop("name", f"{code}知识产权质押贷"))
    fields: dict[str, Any] = {
        "collateral_kinds": ["invention", "utility_model", "trademark"],
        "min_remaining_years": {"invention": 5},
        "pledge_rate_caps": {"invention": "0.4", "utility_model": "0.2", "trademark": "0.3"},
        "amount_min": Money(100_000),
        "amount_max": Money(10_000_000),
        "term_min_months": 6,
        "term_max_months": 36,
        "rate_kind": RateKind.LPR_SPREAD,
        "rate_spread_bp": 100,
        "excludes_dishonest": True,
    }
    fields.update(terms)
    version = ProductVersion.objects.create(
        product=product, number=1, status=ProductVersionStatus.APPROVED, created_by=w.user(bank_key), **fields
    )
    product.live_version = version
    product.status = ProductStatus.LIVE
    product.save()
    return product


def two_products(w: World) -> tuple[Product, Product]:
    fits = live_product(w, "bank1_sub", "ZZD-1", name="智知贷")
    misses = live_product(
        w, "bank2", "KJD-2", name="科技长贷", min_remaining_years={"invention": 30}, collateral_kinds=["invention"]
    )
    return fits, misses


def post(
    w: World,
    *,
    user: Any = None,
    enterprise: str = "e1",
    amount: str = "3000000",
    term_months: int = 12,
    rights: tuple[str, ...] = ("r1",),
    share_with_matching_banks: bool = True,
    banks: tuple[str, ...] = (),
    **kwargs: Any,
) -> Demand:
    return services.demand_create(
        enterprise=w.enterprises[enterprise],
        amount=Money(amount),
        term_months=term_months,
        purpose=kwargs.pop("purpose", DemandPurpose.RESEARCH),
        description=kwargs.pop("description", "研发新一代图像传感芯片"),
        right_ids=[w.rights[k].pk for k in rights],
        share_bank_ids=[w.orgs[b].pk for b in banks],
        share_with_matching_banks=share_with_matching_banks,
        acting_user=user or w.user("ent1"),
        **kwargs,
    )


def granted_loan(
    w: World, enterprise_key: str = "e1", bank_key: str = "bank1_sub", status: int = LoanStatus.ACTIVE
) -> Loan:
    enterprise = w.enterprises[enterprise_key]
    return Loan.objects.create(
        reference=f"TD{next(_serial):08d}",
        status=status,
        borrower=enterprise,
        bank=w.orgs[bank_key],
        region_code=enterprise.region_code,
        requested_amount=Money("3000000"),
        requested_term_months=12,
        principal=Money("3000000"),
        term_months=12,
        annual_rate=Decimal("0.0385"),
        first_disbursed_on=datetime.date(2026, 1, 10) if status == LoanStatus.ACTIVE else None,
        disbursed_amount=Money("3000000") if status == LoanStatus.ACTIVE else Money(0),
        outstanding_principal=Money("3000000") if status == LoanStatus.ACTIVE else Money(0),
    )
