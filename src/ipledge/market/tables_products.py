"""django-tables2 tables of the product pages: the library and the approval queue."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from .choices import ProductStatus, ProductVersionStatus
from .models import Product, ProductVersion
from .selectors_products import kind_label, rate_text, region_names, shown_version, wan

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "text-nowrap"}}

STATUS_BADGES: dict[str, str] = {
    ProductStatus.DRAFT: "text-bg-light border",
    ProductStatus.LIVE: "text-bg-success",
    ProductStatus.WITHDRAWN: "text-bg-secondary",
}
VERSION_BADGES: dict[str, str] = {
    ProductVersionStatus.DRAFT: "text-bg-light border",
    ProductVersionStatus.PENDING: "text-bg-warning",
    ProductVersionStatus.APPROVED: "text-bg-success",
    ProductVersionStatus.REJECTED: "text-bg-danger",
    ProductVersionStatus.SUPERSEDED: "text-bg-secondary",
}


def status_badge(product: Product) -> SafeString:
    return format_html(
        '<span class="badge product-status {}">{}</span>',
        STATUS_BADGES.get(product.status, "text-bg-light"),
        product.get_status_display(),
    )


def version_badge(version: ProductVersion) -> SafeString:
    return format_html(
        '<span class="badge version-status {}">{}</span>',
        VERSION_BADGES.get(version.status, "text-bg-light"),
        version.get_status_display(),
    )


class ProductTable(tables.Table):
    name = tables.Column(verbose_name=_("产品"), order_by=("name",))
    bank = tables.Column(verbose_name=_("银行"), order_by=("bank__name",))
    kinds = tables.Column(verbose_name=_("可接受质押物"), empty_values=(), orderable=False)
    amount = tables.Column(verbose_name=_("额度（元）"), empty_values=(), orderable=False)
    term = tables.Column(verbose_name=_("期限（月）"), empty_values=(), orderable=False)
    rate = tables.Column(verbose_name=_("定价"), empty_values=(), orderable=False)
    regions = tables.Column(verbose_name=_("适用地区"), empty_values=(), orderable=False)
    status = tables.Column(verbose_name=_("状态"))

    class Meta:
        model = Product
        fields = ("name", "bank", "kinds", "amount", "term", "rate", "regions", "status")
        attrs = TABLE_ATTRS
        empty_text = _("没有符合条件的产品。")
        row_attrs = {"class": "product", "data-product": lambda record: record.pk}

    def render_name(self, record: Product) -> SafeString:
        return format_html(
            '<a class="product-link" href="{}">{}</a><div class="small text-body-secondary">{}</div>',
            reverse("market:product_detail", args=[record.pk]),
            record.name,
            record.code,
        )

    def render_bank(self, record: Product) -> str:
        return record.bank.name

    def render_kinds(self, record: Product) -> str:
        version = shown_version(record)
        return "、".join(kind_label(k) for k in (version.collateral_kinds if version else [])) or "—"

    def render_amount(self, record: Product) -> str:
        version = shown_version(record)
        return f"{wan(version.amount_min)}–{wan(version.amount_max)}" if version else "—"

    def render_term(self, record: Product) -> str:
        version = shown_version(record)
        return f"{version.term_min_months}–{version.term_max_months}" if version else "—"

    def render_rate(self, record: Product) -> str:
        version = shown_version(record)
        return rate_text(version) if version else "—"

    def render_regions(self, record: Product) -> str:
        version = shown_version(record)
        names = region_names(version.region_codes or []) if version else []
        return "、".join(names) or str(_("不限"))

    def render_status(self, record: Product) -> SafeString:
        return status_badge(record)


class PendingVersionTable(tables.Table):
    product = tables.Column(verbose_name=_("产品"), orderable=False)
    bank = tables.Column(verbose_name=_("银行"), accessor="product__bank__name", orderable=False)
    number = tables.Column(verbose_name=_("版本"), orderable=False)
    submitted_by = tables.Column(verbose_name=_("提交人"), orderable=False)
    submitted_at = tables.DateTimeColumn(verbose_name=_("提交时间"), format="Y-m-d H:i", orderable=False)

    class Meta:
        model = ProductVersion
        fields = ("product", "bank", "number", "submitted_by", "submitted_at")
        attrs = TABLE_ATTRS
        empty_text = _("没有待审批的产品版本。")
        row_attrs = {"class": "pending-version", "data-version": lambda record: record.pk}

    def render_product(self, record: ProductVersion) -> SafeString:
        return format_html(
            '<a href="{}#v{}">{}</a>',
            reverse("market:product_detail", args=[record.product_id]),
            record.number,
            record.product.name,
        )

    def render_number(self, value: Any) -> str:
        return f"v{value}"
