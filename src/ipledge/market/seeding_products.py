"""Demo products (产品资源库) on top of the demo seed, made through the product services by the banks' own officers.

1. The published product sheet `<project root>/../shared/data/bank_ip_loan_products.csv`, when present, is loaded
   with `services.products.products_import_published(approve=True)`: each row whose lender is a bank of the demo
   (北京银行, 江苏银行, 中国工商银行, 中国建设银行 …) becomes a product of that bank, created and submitted by an
   operator of the bank and approved by a reviewer of the bank (maker-checker); the others are skipped with the
   reason. The file is read at run time only.
2. Then `OWN_PRODUCTS`, products of our own making (varied collateral kinds, regions, amounts of 1–30 million yuan,
   terms of 12–36 months, LPR + 50–200 BP, some for whitelisted enterprises only, some needing a guarantee or a
   guarantee insurance), go to the demo banks, those without a published product first, the same way.

Every product ends live, so that matching has something to rank. Without the published sheet only ours are made.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings

from ipledge.core.choices import BankTier, OrganisationKind
from ipledge.core.context import as_of
from ipledge.core.models import Organisation
from ipledge.core.money import Money

from .choices import CollateralKind, ProductStatus, RateKind
from .models import Product
from .terms import ProductTerms

PUBLISHED_FILE = "bank_ip_loan_products.csv"
WAN = 10_000

INV, U, D, T, S, W, C = (
    CollateralKind.INVENTION,
    CollateralKind.UTILITY_MODEL,
    CollateralKind.DESIGN,
    CollateralKind.TRADEMARK,
    CollateralKind.SOFTWARE,
    CollateralKind.WORK,
    CollateralKind.IC_LAYOUT,
)

# name, summary, kinds, min years, caps (%), amount range (万元), term range (months), spread (BP), extra rules.
OWN_PRODUCTS: list[dict[str, Any]] = [
    {
        "name": "知识产权质押贷",
        "summary": "以有效发明专利、实用新型专利质押，按评估价值的一定比例核定额度。",
        "kinds": (INV, U),
        "years": {INV: 8, U: 4},
        "caps": {INV: 30, U: 20},
        "amount": (100, 1000),
        "term": (12, 36),
        "spread": (80, 120),
    },
    {
        "name": "科创白名单贷",
        "summary": "面向授信白名单内科技型中小企业的纯知识产权质押信用增信贷款，利率优惠。",
        "kinds": (INV, U, S),
        "years": {INV: 6},
        "caps": {INV: 40, U: 25, S: 20},
        "amount": (100, 500),
        "term": (12, 24),
        "spread": (50, 70),
        "requires_whitelist": True,
        "sizes": ("medium", "small", "micro"),
    },
    {
        "name": "商标质押贷",
        "summary": "以注册商标专用权质押，适合品牌企业补充流动资金。",
        "kinds": (T,),
        "years": {T: 3},
        "caps": {T: 30},
        "amount": (100, 800),
        "term": (12, 24),
        "spread": (120, 160),
        "industries": ("C", "F", "I", "R"),
    },
    {
        "name": "软著快贷",
        "summary": "以计算机软件著作权质押，线上申请、快速审批，服务软件和信息技术企业。",
        "kinds": (S, W),
        "caps": {S: 25, W: 20},
        "amount": (100, 300),
        "term": (12, 12),
        "spread": (150, 200),
        "industries": ("I", "M", "R"),
        "age": 1,
    },
    {
        "name": "专利组合担保贷",
        "summary": "以专利组合质押并由政府性融资担保机构提供担保，额度较高。",
        "kinds": (INV, U, D),
        "years": {INV: 5, U: 3, D: 3},
        "caps": {INV: 50, U: 30, D: 20},
        "amount": (500, 3000),
        "term": (24, 36),
        "spread": (90, 130),
        "requires_guarantee": True,
    },
    {
        "name": "知识产权保证保险贷",
        "summary": "知识产权质押并投保知识产权质押融资保证保险，风险由银行、保险和补偿资金共担。",
        "kinds": (INV, U),
        "years": {INV: 5, U: 3},
        "caps": {INV: 40, U: 25},
        "amount": (100, 1000),
        "term": (12, 24),
        "spread": (100, 140),
        "requires_insurance": True,
    },
    {
        "name": "芯片设计知识产权贷",
        "summary": "以集成电路布图设计专有权和发明专利质押，服务集成电路设计企业。",
        "kinds": (C, INV),
        "years": {C: 4, INV: 6},
        "caps": {C: 30, INV: 35},
        "amount": (300, 2000),
        "term": (12, 36),
        "spread": (70, 110),
        "industries": ("C", "I"),
    },
    {
        "name": "专精特新知产贷",
        "summary": "面向专精特新中小企业，发明专利质押，成立满2年。",
        "kinds": (INV,),
        "years": {INV: 6},
        "caps": {INV: 45},
        "amount": (200, 1500),
        "term": (12, 36),
        "spread": (60, 90),
        "sizes": ("medium", "small"),
        "age": 2,
        "penalties": 1,
    },
    {
        "name": "首贷知产贷",
        "summary": "支持首次获得银行贷款的小微企业以知识产权质押融资。",
        "kinds": (INV, U, T),
        "years": {INV: 5, U: 3},
        "caps": {INV: 30, U: 20, T: 25},
        "amount": (100, 500),
        "term": (12, 24),
        "spread": (60, 100),
        "sizes": ("small", "micro"),
    },
    {
        "name": "园区集群贷",
        "summary": "面向园区产业专利集群企业，园区推荐、担保增信。",
        "kinds": (INV, U),
        "years": {INV: 4, U: 2},
        "caps": {INV: 40, U: 25},
        "amount": (100, 1000),
        "term": (12, 36),
        "spread": (80, 110),
        "requires_whitelist": True,
        "requires_guarantee": True,
        "local": True,
    },
    {
        "name": "成果转化贷",
        "summary": "支持高校院所专利转化项目，以受让或许可取得的专利质押。",
        "kinds": (INV,),
        "years": {INV: 10},
        "caps": {INV: 30},
        "amount": (300, 2000),
        "term": (24, 36),
        "spread": (90, 140),
        "industries": ("C", "M"),
    },
    {
        "name": "外观设计质押贷",
        "summary": "以外观设计专利和商标组合质押，服务消费品和文创企业。",
        "kinds": (D, T, W),
        "years": {D: 3, T: 3},
        "caps": {D: 20, T: 30, W: 15},
        "amount": (100, 500),
        "term": (12, 24),
        "spread": (140, 200),
        "industries": ("C", "F", "R"),
    },
    {
        "name": "研发贷",
        "summary": "支持企业研发投入，以发明专利质押，按研发投入核定额度。",
        "kinds": (INV, U),
        "years": {INV: 7, U: 4},
        "caps": {INV: 35, U: 20},
        "amount": (200, 1200),
        "term": (12, 36),
        "spread": (70, 100),
        "fixed": None,
    },
    {
        "name": "知识产权流贷",
        "summary": "知识产权质押流动资金贷款，随借随还，固定利率。",
        "kinds": (INV, U, T, S),
        "caps": {INV: 30, U: 20, T: 25, S: 20},
        "amount": (100, 600),
        "term": (12, 12),
        "fixed": Decimal("3.95"),
    },
    {
        "name": "数字经济知产贷",
        "summary": "面向数字经济企业，以软件著作权、发明专利组合质押。",
        "kinds": (INV, S),
        "years": {INV: 5},
        "caps": {INV: 35, S: 25},
        "amount": (100, 1000),
        "term": (12, 24),
        "spread": (80, 120),
        "industries": ("I",),
        "age": 1,
    },
]

DOCUMENTS = ("营业执照", "近两年财务报表", "知识产权权属证明", "知识产权评估报告", "企业征信授权书")


def published_sheet_path() -> Path:
    """`<project root>/../shared/data/bank_ip_loan_products.csv` (the project root holds pyproject.toml)."""
    project_dir = Path(getattr(settings, "PROJECT_DIR", Path.cwd()))
    return project_dir.parent / "shared" / "data" / PUBLISHED_FILE


def _say(stdout: Any, text: str) -> None:
    if stdout is not None:
        stdout.write(text if text.endswith("\n") else text + "\n")


def _province(bank: Organisation) -> str:
    return bank.region.code[:2] + "0000" if bank.region_id else ""  # type: ignore[union-attr]


def _terms(spec: dict[str, Any], bank: Organisation, rng: random.Random) -> ProductTerms:
    low, high = spec["amount"]
    amount_max = rng.choice([v for v in range(high // 2, high + 1, 50) if v >= low] or [high])
    t_low, t_high = spec["term"]
    fixed = spec.get("fixed")
    spread_low, spread_high = spec.get("spread", (100, 100))
    local = spec.get("local") and bank.bank_tier == BankTier.TECH_SUB_BRANCH and bank.region_id
    region = bank.region.code if local else _province(bank)  # type: ignore[union-attr]
    national = bank.bank_tier == BankTier.HEAD_OFFICE and rng.random() < 0.3
    return ProductTerms(
        summary=spec["summary"],
        collateral_kinds=tuple(spec["kinds"]),
        min_remaining_years=dict(spec.get("years", {})),
        pledge_rate_caps={k: Decimal(v) / 100 for k, v in spec.get("caps", {}).items()},
        amount_min=Money(low * WAN),
        amount_max=Money(max(amount_max, low) * WAN),
        term_min_months=t_low,
        term_max_months=t_high,
        rate_kind=RateKind.FIXED if fixed is not None else RateKind.LPR_SPREAD,
        rate_spread_bp=None if fixed is not None else rng.randrange(spread_low, spread_high + 1, 5),
        rate_fixed=fixed,
        region_codes=() if national and not spec.get("local") else ((region,) if region else ()),
        industry_sections=tuple(spec.get("industries", ())),
        size_classes=tuple(spec.get("sizes", ())),
        min_enterprise_age_years=int(spec.get("age", 0)),
        requires_whitelist=bool(spec.get("requires_whitelist")),
        max_recent_penalties=spec.get("penalties"),
        requires_guarantee=bool(spec.get("requires_guarantee")),
        requires_insurance=bool(spec.get("requires_insurance")),
        required_documents=tuple(DOCUMENTS[: rng.randint(3, len(DOCUMENTS))]),
    )


def seed_products(*, rng: random.Random, today: datetime.date, stdout: Any = None) -> dict[str, int]:
    """Live demo products: the published sheet's (when present) and ours; returns the counts."""
    from .services.products import (
        makers_and_checkers,
        product_create,
        product_publish,
        products_import_published,
    )

    counts = {"products_published_sheet": 0, "products_sheet_skipped": 0, "products_own": 0, "products_live": 0}
    with as_of(today):
        path = published_sheet_path()
        if path.is_file():
            report = products_import_published(path=path, approve=True)
            counts["products_published_sheet"] = len(report.published)
            counts["products_sheet_skipped"] = len(report.skipped)
            _say(stdout, f"产品：公开资料 {len(report.published)} 个上架，{len(report.skipped)} 行跳过")
            for bank_name, (made_by, approved_by) in report.officers.items():
                _say(stdout, f"  {bank_name}: {made_by} 经办, {approved_by} 审批")
        else:
            _say(stdout, f"产品：未找到公开产品资料 {path}，只生成平台示例产品")
        banks = list(
            Organisation.objects.filter(kind=OrganisationKind.BANK, is_active=True)
            .select_related("region", "parent")
            .order_by("tree_path")
        )
        with_products = set(Product.objects.values_list("bank_id", flat=True))
        banks.sort(key=lambda b: (b.pk in with_products, b.tree_path))
        officers = {b.pk: makers_and_checkers(b) for b in banks}
        banks = [b for b in banks if all(officers[b.pk])]
        if banks:
            for index, spec in enumerate(OWN_PRODUCTS):
                bank = banks[index % len(banks)]
                maker, checker = officers[bank.pk]
                assert maker is not None and checker is not None
                code = f"DEMO-{index + 1:02d}"
                if Product.objects.filter(bank=bank, code=code).exists():
                    continue
                product = product_create(
                    bank=bank, code=code, name=spec["name"], terms=_terms(spec, bank, rng), acting_user=maker
                )
                product_publish(product=product, maker=maker, checker=checker, note="示例产品，复核上架")
                counts["products_own"] += 1
        counts["products_live"] = Product.objects.filter(status=ProductStatus.LIVE).count()
        _say(stdout, f"产品：平台示例 {counts['products_own']} 个上架；在售合计 {counts['products_live']} 个")
    return counts
