"""Demo products and the import command: the published sheet loaded for the world's banks (北京银行 = bank1,
江苏银行 = bank2) through their own officers (maker-checker), our own products for every bank, all live; without the
sheet only ours; `ipledge market import-products` for our template and the published sheet, drafts unless --approve."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ipledge.core.models import AuditEvent
from ipledge.market import seeding_products
from ipledge.market.choices import ProductStatus, ProductVersionStatus
from ipledge.market.models import Product, ProductVersion
from ipledge.market.seeding_products import OWN_PRODUCTS, seed_products
from tests.market.factories_products import GOOD_ROW, template_csv
from tests.world import World

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)


def test_seed_with_the_published_sheet(world: World, shared_data: Path) -> None:
    lines: list[str] = []

    class Out:
        def write(self, text: str) -> None:
            lines.append(text)

    counts = seed_products(rng=random.Random(7), today=TODAY, stdout=Out())
    assert counts["products_published_sheet"] == 3  # 北京银行 ×2, 江苏银行 ×1; the other lenders are not in the world
    assert counts["products_own"] == len(OWN_PRODUCTS)
    assert counts["products_live"] == 3 + len(OWN_PRODUCTS) == Product.objects.count()
    assert not Product.objects.exclude(status=ProductStatus.LIVE).exists()
    sheet = Product.objects.filter(code__startswith="PUB-")
    assert {(p.bank.name, p.name) for p in sheet} == {
        ("北京银行", "智权贷"),
        ("北京银行", "智权贷（上海分行）"),
        ("江苏银行", "苏知贷"),
    }
    for version in ProductVersion.objects.all():
        assert version.status == ProductVersionStatus.APPROVED
        assert version.submitted_by is not None and version.decided_by is not None
        assert version.submitted_by != version.decided_by
        assert version.submitted_by.organisation_id == version.product.bank_id
        assert version.decided_at is not None and version.decided_at.date() == TODAY
    bj = Product.objects.get(code="PUB-002", bank=world.orgs["bank1"]).live_version
    assert bj is not None and bj.min_remaining_years == {"invention": 8, "utility_model": 4}
    assert {p.bank_id for p in Product.objects.filter(code__startswith="DEMO-")} >= {
        world.orgs[k].pk for k in ("bank1_br", "bank1_sub", "bank1_br2", "bank2")
    }
    own = [p.live_version for p in Product.objects.filter(code__startswith="DEMO-")]
    assert all(v is not None and v.amount_min.amount >= 1_000_000 and v.amount_max.amount <= 30_000_000 for v in own)
    assert any(v.requires_whitelist for v in own if v) and any(v.requires_guarantee for v in own if v)
    assert any(v.requires_insurance for v in own if v) and any(v.rate_kind == "fixed" for v in own if v)
    assert any("公开资料" in line for line in lines)
    assert AuditEvent.objects.filter(action="product_version.approve").count() == Product.objects.count()


def test_seed_without_the_sheet_makes_only_ours(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(seeding_products, "published_sheet_path", lambda: tmp_path / "missing.csv")
    counts = seed_products(rng=random.Random(1), today=TODAY)
    assert counts["products_published_sheet"] == 0 and counts["products_own"] == len(OWN_PRODUCTS)
    assert not Product.objects.filter(code__startswith="PUB-").exists()
    again = seed_products(rng=random.Random(1), today=TODAY)  # codes already there: nothing doubled
    assert again["products_own"] == 0 and Product.objects.count() == len(OWN_PRODUCTS)


def test_cli_published_sheet_drafts_by_default_then_approve(world: World, shared_data: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("market", "import-products", "--published", str(shared_data / "bank_ip_loan_products.csv"))
    out = capsys.readouterr().out
    assert "3 created, 0 published live" in out and "not approved (drafts)" in out and "Korea" in out
    assert set(Product.objects.values_list("status", flat=True)) == {ProductStatus.DRAFT}
    Product.objects.all().delete()
    call_command(
        "market",
        "import-products",
        "--published",
        str(shared_data / "bank_ip_loan_products.csv"),
        "--approve",
        "--json",
    )
    result = json.loads(capsys.readouterr().out)
    assert result["published"] == 3 and result["officers"]["北京银行"] == {
        "maker": "bank1_operator",
        "checker": "bank1_reviewer",
    }
    assert any(s["reason"].startswith("平台上没有") for s in result["skipped_rows"])
    assert set(Product.objects.values_list("status", flat=True)) == {ProductStatus.LIVE}


def test_cli_template_for_a_bank(world: World, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.csv"
    good.write_bytes(template_csv([GOOD_ROW]))
    call_command("market", "import-products", "--bank", "江苏银行", str(good), "--approve")
    out = capsys.readouterr().out
    assert "approved by bank2_reviewer" in out
    product = Product.objects.get(bank=world.orgs["bank2"])
    assert product.status == ProductStatus.LIVE
    bad = tmp_path / "bad.csv"
    bad.write_bytes(template_csv([{**GOOD_ROW, "产品编号": "B-1", "定价方式": "浮动"}]))
    with pytest.raises(CommandError):
        call_command("market", "import-products", "--bank", str(world.orgs["bank1"].pk), str(bad))
    assert "定价方式\tinvalid_choice" in capsys.readouterr().out
    assert not Product.objects.filter(bank=world.orgs["bank1"]).exists()
    with pytest.raises(CommandError, match="no bank"):
        call_command("market", "import-products", "--bank", "没有这家银行", str(good))
    with pytest.raises(CommandError, match="either"):
        call_command("market", "import-products", "--bank", "江苏银行", str(good), "--published", str(good))
