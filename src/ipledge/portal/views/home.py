"""Public portal home (公共服务门户首页) and the public financial-product display (金融产品), no login.

The home page shows the action's national headline figures (from the targets engine, cached briefly), a product
search, the registration announcement query (`registration:public_query`), the latest published policies, published
typical cases and the key parks. The product pages show only products on sale; anything else answers 404.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from ipledge.core.forms import BootstrapMixin
from ipledge.core.money import Money
from ipledge.market.choices import CollateralKind
from ipledge.market.selectors_products import kind_rules, rate_detail, rate_text, terms_rows, wan
from ipledge.monitoring import selectors_cases
from ipledge.portal.selectors_policies import public_policies

from .. import selectors_home as selectors

PAGE_SIZE = 12
LATEST_POLICIES = 5
LATEST_CASES = 6
KEY_PARKS = 8


class ProductSearchForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("关键词"), max_length=100, required=False)
    region = forms.ChoiceField(label=_("适用地区"), required=False)
    kind = forms.ChoiceField(label=_("知识产权类型"), required=False)
    amount = forms.DecimalField(
        label=_("融资金额（万元）"), required=False, min_value=Decimal("0.01"), max_digits=12, decimal_places=2
    )
    term = forms.IntegerField(label=_("融资期限（月）"), required=False, min_value=1, max_value=600)
    bank = forms.TypedChoiceField(label=_("银行"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        any_choice = ("", _("不限"))
        self.fields["region"].choices = [any_choice, *selectors.region_choices()]  # type: ignore[attr-defined]
        self.fields["kind"].choices = [any_choice, *CollateralKind.choices]  # type: ignore[attr-defined]
        self.fields["bank"].choices = [  # type: ignore[attr-defined]
            any_choice,
            *((bank.pk, bank.name) for bank in selectors.product_banks()),
        ]

    def filters(self) -> selectors.PublicProductFilters:
        data = self.cleaned_data
        amount = data.get("amount")
        return selectors.PublicProductFilters(
            q=(data.get("q") or "").strip(),
            region=data.get("region") or "",
            kind=data.get("kind") or "",
            amount=Money(amount * 10_000) if amount is not None else None,
            term_months=data.get("term"),
            bank_id=data.get("bank"),
        )


def _card(product: Any) -> dict[str, Any]:
    version = product.live_version
    return {
        "product": product,
        "version": version,
        "amount": f"{wan(version.amount_min)} – {wan(version.amount_max)}",
        "term": _("%(a)s–%(b)s个月") % {"a": version.term_min_months, "b": version.term_max_months},
        "rate": rate_text(version),
        "kinds": [rule["label"] for rule in kind_rules(version)],
    }


def _key_parks() -> list[dict[str, Any]]:
    out = [
        {"park": item["park"], "province": province.name, "designation": item["designation"]}
        for province in selectors_cases.showcase_provinces()
        for item in province.parks
    ]
    return out[:KEY_PARKS]


@login_not_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    cases = list(selectors_cases.public_cases()[:LATEST_CASES])
    names = selectors_cases.region_names(c.region_code for c in cases)
    return render(
        request,
        "portal/home.html",
        {
            "figures": selectors.headline_figures(),
            "search_form": ProductSearchForm(),
            "policies": public_policies().order_by("-issued_on", "-pk")[:LATEST_POLICIES],
            "cases": [{"case": c, "region_name": names.get(c.region_code, "")} for c in cases],
            "key_parks": _key_parks(),
            "product_count": selectors.public_products().count(),
        },
    )


@login_not_required
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    form = ProductSearchForm(request.GET or None)
    if request.GET and not form.is_valid():
        products = selectors.public_products().none()
        status = 400
    else:
        products = selectors.public_product_list(form.filters() if request.GET else None)
        status = 200
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "portal/product_list.html",
        {
            "form": form,
            "page": page,
            "cards": [_card(p) for p in page.object_list],
            "total": page.paginator.count,
            "query": query.urlencode(),
        },
        status=status,
    )


@login_not_required
@require_GET
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = selectors.public_product(pk)
    if product is None:
        raise Http404
    version = product.live_version
    assert version is not None  # public_product() only returns products with a live version
    return render(
        request,
        "portal/product_detail.html",
        {
            "product": product,
            "version": version,
            "card": _card(product),
            "rows": terms_rows(version),
            "rate": rate_detail(version),
        },
    )


urlpatterns: list[URLPattern] = [
    path("", home, name="home"),
    path("products/", product_list, name="product_list"),
    path("products/<int:pk>/", product_detail, name="product_detail"),
]
