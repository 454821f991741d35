"""Public portal home (公共服务门户首页) and the public financial-product display (金融产品), no login."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET


@login_not_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {})


@login_not_required
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/product_list.html", {})


@login_not_required
@require_GET
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "portal/product_detail.html", {})


urlpatterns: list[URLPattern] = [
    path("", home, name="home"),
    path("products/", product_list, name="product_list"),
    path("products/<int:pk>/", product_detail, name="product_detail"),
]
