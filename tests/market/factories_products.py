"""Test states of the products area, built through the services on the `world` (tests/world.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ipledge.core.choices import Role
from ipledge.core.money import Money
from ipledge.market.choices import CollateralKind, RateKind
from ipledge.market.models import Product, ProductVersion
from ipledge.market.services import products as services
from ipledge.market.terms import ProductTerms
from tests.world import World


def terms(**changes: Any) -> ProductTerms:
    """A plausible patent-pledge product: inventions ≥8 years (cap 25 %), utility models ≥4 years (15 %)."""
    base = ProductTerms(
        summary="面向科技型中小企业的知识产权质押贷款",
        collateral_kinds=(CollateralKind.INVENTION, CollateralKind.UTILITY_MODEL),
        min_remaining_years={CollateralKind.INVENTION: 8, CollateralKind.UTILITY_MODEL: 4},
        pledge_rate_caps={CollateralKind.INVENTION: Decimal("0.25"), CollateralKind.UTILITY_MODEL: Decimal("0.15")},
        amount_min=Money(1_000_000),
        amount_max=Money(20_000_000),
        term_min_months=6,
        term_max_months=24,
        rate_kind=RateKind.LPR_SPREAD,
        rate_spread_bp=120,
        rate_fixed=None,
        region_codes=("110000",),
        required_documents=("营业执照", "近两年财务报表"),
    )
    return base.replace(**changes) if changes else base


def draft_product(w: World, bank: str = "bank1", code: str = "ZQD-01", name: str = "智权贷", **changes: Any) -> Product:
    return services.product_create(
        bank=w.orgs[bank], code=code, name=name, terms=terms(**changes), acting_user=w.user(bank)
    )


def open_version(product: Product) -> ProductVersion:
    return product.versions.get(status__in=["draft", "pending"])


def submitted_product(w: World, bank: str = "bank1", **kwargs: Any) -> Product:
    product = draft_product(w, bank, **kwargs)
    services.product_version_submit(version=open_version(product), acting_user=w.user(bank))
    return product


def live_product(w: World, bank: str = "bank1", **kwargs: Any) -> Product:
    product = submitted_product(w, bank, **kwargs)
    services.product_version_approve(
        version=open_version(product), acting_user=w.user(bank, Role.REVIEWER), note="同意上架"
    )
    product.refresh_from_db()
    return product


def template_csv(rows: list[dict[str, str]], *, encoding: str = "utf-8") -> bytes:
    """Our product template as csv: every column, the given cells filled (others blank)."""
    import csv
    import io

    from ipledge.market.importing import TEMPLATE_COLUMNS

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.header for c in TEMPLATE_COLUMNS])
    for row in rows:
        writer.writerow([row.get(c.header, "") for c in TEMPLATE_COLUMNS])
    return out.getvalue().encode(encoding)


GOOD_ROW = {
    "产品编号": "IMP-01",
    "产品名称": "科创知产贷",
    "可接受质押物": "发明专利；实用新型专利",
    "最短剩余有效期（年）": "发明专利:8；实用新型专利:4",
    "质押率上限（%）": "发明专利:30；实用新型专利:15",
    "最低额度（元）": "100万",
    "最高额度（元）": "10000000",
    "最短期限（月）": "6",
    "最长期限（月）": "36",
    "定价方式": "LPR加点",
    "LPR加点（基点）": "90",
    "适用地区代码": "110000",
    "适用企业规模": "小型；微型",
    "须为授信白名单企业": "是",
}
