"""The public product display (金融产品): no login; only products on sale (live, approved live version) are listed
and opened; drafts and withdrawn products answer 404; the filters (amount, term, region, IP kind, bank, words)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ipledge.core.money import Money
from ipledge.market.choices import ProductStatus, ProductVersionStatus, RateKind
from ipledge.market.models import Product, ProductVersion
from ipledge.portal import selectors_home
from tests.market.factories import add_market

pytestmark = pytest.mark.django_db


def _software_product(world: Any) -> Product:
    """A Jiangsu-only software-copyright product of bank2: 1万–50万, 1–12 months, fixed 4.35 %."""
    product = Product.objects.create(bank=world.orgs["bank2"], code="P-soft", name="软著快贷")
    version = ProductVersion.objects.create(
        product=product,
        number=1,
        status=ProductVersionStatus.APPROVED,
        collateral_kinds=["software"],
        amount_min=Money(10_000),
        amount_max=Money(500_000),
        term_min_months=1,
        term_max_months=12,
        rate_kind=RateKind.FIXED,
        rate_fixed="4.35",
        region_codes=["320000"],
        summary="面向软件企业的著作权质押贷款。",
    )
    product.live_version = version
    product.status = ProductStatus.LIVE
    product.save()
    return product


def _listed(response: Any) -> set[int]:
    return {card["product"].pk for card in response.context["cards"]}


@pytest.fixture
def market(world):  # type: ignore[no-untyped-def]
    m = add_market(world)
    m.products["soft"] = _software_product(world)
    return m


def test_anonymous_sees_only_products_on_sale(market) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(reverse("portal:product_list"))
    assert response.status_code == 200
    assert _listed(response) == {market.products[k].pk for k in ("bank1", "bank2", "soft")}
    html = response.content.decode()
    assert "bank1_sub知识产权质押贷" not in html and "bank1_br2知识产权质押贷" not in html
    assert "10万 – 1,000万" in html and "6–36个月" in html and "LPR+100BP" in html
    assert "固定年利率4.35%" in html


def test_detail_opens_a_live_product_and_404s_drafts_and_withdrawn(market) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    response = client.get(reverse("portal:product_detail", kwargs={"pk": market.products["soft"].pk}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "软著快贷" in html and "计算机软件著作权" in html and "1–12个月" in html and "江苏" in html
    for key in ("bank1_sub", "bank1_br2"):
        url = reverse("portal:product_detail", kwargs={"pk": market.products[key].pk})
        assert client.get(url).status_code == 404, key
    assert client.get(reverse("portal:product_detail", kwargs={"pk": 999_999})).status_code == 404


def test_a_live_product_whose_live_version_is_not_approved_is_not_public(market) -> None:  # type: ignore[no-untyped-def]
    product = market.products["soft"]
    ProductVersion.objects.filter(pk=product.live_version_id).update(status=ProductVersionStatus.SUPERSEDED)
    assert selectors_home.public_product(product.pk) is None
    url = reverse("portal:product_detail", kwargs={"pk": product.pk})
    assert Client().get(url).status_code == 404


FILTER_CASES: list[tuple[dict[str, str], set[str]]] = [
    ({"amount": "20"}, {"bank1", "bank2", "soft"}),  # 20万: inside every range
    ({"amount": "100"}, {"bank1", "bank2"}),  # 100万: above the software product's 50万
    ({"amount": "1"}, {"soft"}),  # 1万: below the others' 10万
    ({"term": "3"}, {"soft"}),
    ({"term": "24"}, {"bank1", "bank2"}),
    ({"amount": "30", "term": "12"}, {"bank1", "bank2", "soft"}),
    ({"amount": "100", "term": "3"}, set()),
    ({"region": "110000"}, {"bank1", "bank2"}),  # the software product is Jiangsu-only
    ({"region": "320000"}, {"bank1", "bank2", "soft"}),
    ({"kind": "software"}, {"soft"}),
    ({"kind": "trademark"}, {"bank1", "bank2"}),
    ({"q": "软著"}, {"soft"}),
    ({"q": "软件企业"}, {"soft"}),  # the summary
]


def test_filters(market) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    failures = []
    for params, expected in FILTER_CASES:
        response = client.get(reverse("portal:product_list"), params)
        got = _listed(response)
        if response.status_code != 200 or got != {market.products[k].pk for k in expected}:
            failures.append((params, response.status_code, sorted(got)))
    assert not failures, failures


def test_bank_filter(market, world) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(reverse("portal:product_list"), {"bank": world.orgs["bank2"].pk})
    assert _listed(response) == {market.products["bank2"].pk, market.products["soft"].pk}


def test_bad_filter_is_shown_next_to_the_field(market) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(reverse("portal:product_list"), {"term": "abc"})
    assert response.status_code == 400
    assert 'data-field="term"' in response.content.decode()
    assert _listed(response) == set()


def test_pagination(market, world) -> None:  # type: ignore[no-untyped-def]
    for n in range(12):
        product = Product.objects.create(bank=world.orgs["bank1"], code=f"P-x{n}", name=f"批量产品{n:02d}")
        version = ProductVersion.objects.create(
            product=product,
            number=1,
            status=ProductVersionStatus.APPROVED,
            collateral_kinds=["invention"],
            amount_min=Money(100_000),
            amount_max=Money(1_000_000),
            term_min_months=6,
            term_max_months=12,
            rate_kind=RateKind.LPR_SPREAD,
            rate_spread_bp=50,
        )
        Product.objects.filter(pk=product.pk).update(live_version=version, status=ProductStatus.LIVE)
    client = Client()
    first = client.get(reverse("portal:product_list"), {"kind": "invention"})
    assert first.context["total"] == 14 and len(first.context["cards"]) == 12
    assert "kind=invention&amp;page=2" in first.content.decode()
    second = client.get(reverse("portal:product_list"), {"kind": "invention", "page": "2"})
    assert len(second.context["cards"]) == 2
