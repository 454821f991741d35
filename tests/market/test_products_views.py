"""Product pages: the library with its filters, a product's terms in words and version history, creating,
editing, submitting, approving (maker-checker) and rejecting in the browser, withdrawal, the template import (good file,
bad file rejected whole with row errors) and the downloadable template."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.money import Money
from ipledge.market.choices import ProductStatus, ProductVersionStatus
from ipledge.market.models import Product
from ipledge.market.services import products as services
from tests.market.factories_products import (
    GOOD_ROW,
    draft_product,
    live_product,
    open_version,
    submitted_product,
    template_csv,
    terms,
)
from tests.world import World

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, url: str, expect: int = 200, **params: Any) -> str:
    response = client.get(url, params)
    assert response.status_code == expect, (response.status_code, url)
    return response.content.decode()


def test_library_lists_live_products_to_everyone_and_drafts_to_their_bank(world: World) -> None:
    live = live_product(world, code="L1", name="智权贷")
    draft = draft_product(world, code="D1", name="草稿贷")
    url = reverse("market:product_list")
    ent = page(client_for(world.user("ent1")), url)
    assert "智权贷" in ent and "草稿贷" not in ent and 'name="status"' not in ent
    assert reverse("market:product_detail", args=[live.pk]) in ent
    own = page(client_for(world.user("bank1_sub")), url)  # a branch does not see its head office's draft
    assert "草稿贷" not in own
    head = page(client_for(world.user("bank1")), url)
    assert "草稿贷" in head and 'name="status"' in head
    assert "草稿贷" not in page(client_for(world.user("bank1")), url, status="live")
    assert reverse("market:product_detail", args=[draft.pk]) in head


def test_library_filters(world: World) -> None:
    live_product(world, code="BJ", name="北京发明贷")  # Beijing, inventions + utility models, 1–20 M, 6–24 months
    live_product(
        world,
        "bank2",
        code="JS",
        name="苏知贷",
        region_codes=(),
        collateral_kinds=("trademark",),
        min_remaining_years={},
        pledge_rate_caps={},
        amount_max=Money(5_000_000),
        term_max_months=36,
    )
    client = client_for(world.user("ent2"))
    url = reverse("market:product_list")

    def names(**params: Any) -> set[str]:
        html = page(client, url, **params)
        return {n for n in ("北京发明贷", "苏知贷") if n in html}

    assert names() == {"北京发明贷", "苏知贷"}
    assert names(region="320115") == {"苏知贷"}  # no region list: applies everywhere
    assert names(region="110108") == {"北京发明贷", "苏知贷"}
    assert names(region="11") == {"北京发明贷", "苏知贷"}
    assert names(kind="invention") == {"北京发明贷"}
    assert names(amount="8000000") == {"北京发明贷"}
    assert names(term_months="30") == {"苏知贷"}
    assert names(bank=world.orgs["bank2"].pk) == {"苏知贷"}
    assert names(rate_kind="fixed") == set()


def test_detail_renders_terms_in_chinese_with_lpr(world: World) -> None:
    product = live_product(world)
    html = page(client_for(world.user("ent1")), reverse("market:product_detail", args=[product.pk]))
    assert "发明专利：剩余有效期≥8年，质押率≤25%" in html
    assert "实用新型专利：剩余有效期≥4年，质押率≤15%" in html
    assert "LPR+120BP" in html
    assert "当前1年期LPR" in html and "100万 – 2,000万" in html and "北京市" in html
    assert "version-approve" not in html and "version-new" not in html


def test_another_bank_gets_404_for_a_draft_and_its_actions(world: World) -> None:
    product = submitted_product(world)
    version = open_version(product)
    other = client_for(world.user("bank2", Role.ADMIN))
    page(other, reverse("market:product_detail", args=[product.pk]), expect=404)
    assert other.post(reverse("market:product_version_approve", args=[version.pk])).status_code == 404
    assert other.post(reverse("market:product_withdraw", args=[product.pk])).status_code == 404
    page(other, reverse("market:product_version_edit", args=[version.pk]), expect=404)
    page(client_for(world.user("ent1")), reverse("market:product_detail", args=[product.pk]), expect=404)


def test_enterprise_cannot_open_the_create_or_import_pages(world: World) -> None:
    client = client_for(world.user("ent1"))
    page(client, reverse("market:product_create"), expect=404)
    page(client, reverse("market:product_import"), expect=404)
    page(client_for(world.user("bank1", Role.REVIEWER)), reverse("market:product_create"), expect=404)


def _form_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "WEB-01",
        "name": "网页贷",
        "summary": "网页发布",
        "collateral_kinds": ["invention", "trademark"],
        "years_invention": "8",
        "cap_invention": "25",
        "cap_trademark": "30",
        "amount_min": "1000000",
        "amount_max": "20000000",
        "term_min_months": "6",
        "term_max_months": "24",
        "rate_kind": "lpr_spread",
        "rate_spread_bp": "120",
        "region_codes": "110000",
        "size_classes": ["small", "micro"],
        "min_enterprise_age_years": "1",
        "excludes_dishonest": "on",
        "required_documents": "营业执照\n财务报表",
    }
    data.update(changes)
    return data


def test_create_submit_and_approve_in_the_browser(world: World) -> None:
    maker = client_for(world.user("bank1"))
    response = maker.post(reverse("market:product_create"), _form_data(bank=world.orgs["bank1"].pk))
    assert response.status_code == 302, response.content.decode()[:2000]
    product = Product.objects.get(code="WEB-01")
    assert response["Location"] == reverse("market:product_detail", args=[product.pk])
    version = open_version(product)
    assert version.pledge_rate_caps == {"invention": "0.25", "trademark": "0.3"}
    assert version.min_remaining_years == {"invention": 8} and version.required_documents == ["营业执照", "财务报表"]
    html = page(maker, reverse("market:product_detail", args=[product.pk]))
    assert "version-submit" in html and "version-approve" not in html
    maker.post(reverse("market:product_version_submit", args=[version.pk]))
    version.refresh_from_db()
    assert version.status == ProductVersionStatus.PENDING
    assert "submitter-note" in page(maker, reverse("market:product_detail", args=[product.pk]))

    checker = client_for(world.user("bank1", Role.REVIEWER))
    assert "version-approve" in page(checker, reverse("market:product_detail", args=[product.pk]))
    assert "网页贷" in page(checker, reverse("market:product_approvals"))
    response = checker.post(reverse("market:product_version_approve", args=[version.pk]), {"approve-note": "同意"})
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.status == ProductStatus.LIVE and product.live_version_id == version.pk
    assert "网页贷" in page(client_for(world.user("ent1")), reverse("market:product_list"))


def test_create_shows_field_errors_from_the_service(world: World) -> None:
    draft_product(world, code="WEB-01")
    client = client_for(world.user("bank1"))
    data = _form_data(bank=world.orgs["bank1"].pk, years_trademark="40", region_codes="999999", amount_min="30000000")
    response = client.post(reverse("market:product_create"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert Product.objects.filter(code="WEB-01").count() == 1
    data["years_trademark"] = "5"
    html = client.post(reverse("market:product_create"), data).content.decode()
    assert 'data-field="code"' in html and "本行已有编号" in html
    assert 'data-field="region_codes"' in html and "999999" in html
    assert 'data-field="amount_max"' in html


def test_submitter_sees_no_approve_button_and_a_post_is_refused(world: World) -> None:
    admin = world.user("bank1", Role.ADMIN)
    product = draft_product(world)
    services.product_version_submit(version=open_version(product), acting_user=admin)
    client = client_for(admin)
    html = page(client, reverse("market:product_detail", args=[product.pk]))
    assert "version-approve" not in html and "submitter-note" in html
    response = client.post(reverse("market:product_version_approve", args=[open_version(product).pk]), follow=True)
    assert "审批人不能是提交人本人" in response.content.decode()
    assert open_version(product).status == ProductVersionStatus.PENDING
    operator = client_for(world.user("bank1"))
    assert operator.post(reverse("market:product_version_approve", args=[open_version(product).pk])).status_code == 403


def test_reject_without_note_keeps_it_pending_then_rejects(world: World) -> None:
    product = submitted_product(world)
    version = open_version(product)
    checker = client_for(world.user("bank1", Role.REVIEWER))
    response = checker.post(reverse("market:product_version_reject", args=[version.pk]), {"reject-note": ""})
    assert response.status_code == 400 and "退回须填写审批意见" in response.content.decode()
    checker.post(reverse("market:product_version_reject", args=[version.pk]), {"reject-note": "额度过高"})
    version.refresh_from_db()
    assert version.status == ProductVersionStatus.REJECTED


def test_edit_a_draft_and_draft_a_new_version_with_a_diff(world: World) -> None:
    product = draft_product(world)
    version = open_version(product)
    client = client_for(world.user("bank1"))
    url = reverse("market:product_version_edit", args=[version.pk])
    assert 'value="智权贷"' in page(client, url)
    data = _form_data(name="智权贷Plus", rate_spread_bp="100")
    assert client.post(url, data).status_code == 302
    version.refresh_from_db()
    product.refresh_from_db()
    assert version.rate_spread_bp == 100 and product.name == "智权贷Plus"
    services.product_version_submit(version=version, acting_user=world.user("bank1"))
    services.product_version_approve(version=version, acting_user=world.user("bank1", Role.REVIEWER))
    new_url = reverse("market:product_version_new", args=[product.pk])
    assert 'value="100"' in page(client, new_url)  # starts from the latest version
    assert client.post(new_url, _form_data(rate_spread_bp="80", amount_max="30000000")).status_code == 302
    html = page(client, reverse("market:product_detail", args=[product.pk]))
    assert "version-diff" in html and "LPR+100BP" in html and "LPR+80BP" in html and "3,000万" in html
    assert page(client_for(world.user("bank2")), reverse("market:product_version_new", args=[product.pk]), expect=404)


def test_withdraw_in_the_browser(world: World) -> None:
    product = live_product(world)
    assert (
        client_for(world.user("bank1", Role.VIEWER))
        .post(reverse("market:product_withdraw", args=[product.pk]))
        .status_code
        == 403
    )
    client_for(world.user("bank1")).post(
        reverse("market:product_withdraw", args=[product.pk]), {"withdraw-note": "停办"}
    )
    product.refresh_from_db()
    assert product.status == ProductStatus.WITHDRAWN
    page(client_for(world.user("ent1")), reverse("market:product_detail", args=[product.pk]), expect=404)


def test_import_page_good_file_creates_drafts(world: World) -> None:
    client = client_for(world.user("bank1"))
    second = {
        **GOOD_ROW,
        "产品编号": "IMP-02",
        "产品名称": "商标贷",
        "可接受质押物": "商标",
        "最短剩余有效期（年）": "",
    }
    second["质押率上限（%）"] = "商标:30"
    content = template_csv([GOOD_ROW, second], encoding="gb18030")
    upload = SimpleUploadedFile("products.csv", content, content_type="text/csv")
    response = client.post(reverse("market:product_import"), {"bank": world.orgs["bank1"].pk, "file": upload})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"].endswith("?status=draft")
    products = {p.code: p for p in Product.objects.filter(bank=world.orgs["bank1"])}
    assert set(products) == {"IMP-01", "IMP-02"}
    version = products["IMP-01"].versions.get()
    assert version.amount_min == Money(1_000_000) and version.requires_whitelist
    assert version.pledge_rate_caps == {"invention": "0.3", "utility_model": "0.15"}
    assert products["IMP-02"].versions.get().collateral_kinds == ["trademark"]


def test_import_page_bad_file_is_rejected_whole_with_row_errors(world: World) -> None:
    client = client_for(world.user("bank1"))
    bad = {**GOOD_ROW, "产品编号": "IMP-02", "最长期限（月）": "3", "可接受质押物": "发明专利；房产"}
    worse = {**GOOD_ROW, "产品编号": "IMP-03", "适用地区代码": "999999", "定价方式": "LPR加点", "LPR加点（基点）": ""}
    upload = SimpleUploadedFile("p.csv", template_csv([GOOD_ROW, bad, worse]), content_type="text/csv")
    response = client.post(reverse("market:product_import"), {"bank": world.orgs["bank1"].pk, "file": upload})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-row="3"' in html and "房产" in html
    assert 'data-row="4"' in html and "999999" in html and "LPR加点（基点）" in html
    assert not Product.objects.exists()


def test_template_download_is_a_workbook_with_the_columns(world: World) -> None:
    import openpyxl

    from ipledge.market.importing import TEMPLATE_COLUMNS

    response = client_for(world.user("bank1")).get(reverse("market:product_import_template"))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header == [c.header for c in TEMPLATE_COLUMNS]
    assert [c.value for c in sheet[2]][:2] == ["ZQD-2026", "智权贷"]


def test_detail_of_a_fixed_rate_product(world: World) -> None:
    product = live_product(world, rate_kind="fixed", rate_spread_bp=None, rate_fixed=Decimal("4.35"))
    html = page(client_for(world.user("ent1")), reverse("market:product_detail", args=[product.pk]))
    assert "固定年利率4.35%" in html and "当前1年期LPR" not in html
    assert terms().rate_spread_bp == 120
