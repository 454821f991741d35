"""Product pages (产品资源库): the library every user browses (live products of every bank; a bank also sees its own
drafts and withdrawn products), a product with its terms in words, version history with field-by-field diffs and the
bank's internal approval (maker-checker), creating and editing, and the bank's import of our product template.

Views are thin: reads start from `restrict()` (another organisation's draft answers 404 like a missing one), each
write runs one service of `ipledge.market.services.products`, a `ValidationError` is shown next to the field it
names, and a `PermissionDenied` answers 403. Create pages answer 404 to users who may never create a product.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from ipledge.core.choices import OrganisationKind
from ipledge.core.forms import attach_errors
from ipledge.core.models import Organisation
from ipledge.core.scoping import Action, scope_for
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest

from .. import selectors_products as selectors
from ..choices import ProductStatus, ProductVersionStatus, RateKind
from ..forms_products import (
    DecisionForm,
    ProductFilterForm,
    ProductImportForm,
    ProductTermsForm,
    WithdrawForm,
    initial_from_version,
)
from ..importing import TEMPLATE_COLUMNS, template_workbook
from ..models import Product, ProductVersion
from ..services import products as services
from ..tables_products import PendingVersionTable, ProductTable, status_badge, version_badge

PER_PAGE = 25
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _own_banks(user: Any) -> QuerySet[Organisation]:
    """The banks the user may act for: its own bank and the banks below it (every bank for the platform)."""
    scope = scope_for(user)
    banks = Organisation.objects.filter(kind=OrganisationKind.BANK, is_active=True)
    if scope is None:
        return banks.none()
    if not scope.is_platform:
        if scope.kind != OrganisationKind.BANK:
            return banks.none()
        banks = banks.filter(tree_path__startswith=scope.org_tree_path)
    return banks.order_by("tree_path", "name")


def _is_bank(user: Any) -> bool:
    scope = scope_for(user)
    return scope is not None and (scope.is_platform or scope.kind == OrganisationKind.BANK)


def _may_change(user: Any, product: Product) -> bool:
    return Product.objects.restrict(user, Action.CHANGE).filter(pk=product.pk).exists()


# ---------------------------------------------------------------------------
# The library
# ---------------------------------------------------------------------------


@require_GET
def product_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    data = request.GET.copy()
    for key in ("page", "sort"):
        data.pop(key, None)
    form = ProductFilterForm(data or None, banks=selectors.banks_with_products(user=user), show_status=_is_bank(user))
    products = selectors.product_list(user=user, filters=form.filters())
    table = ProductTable(products)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(
        request,
        "market/products/list.html",
        {
            "filter": {"form": form},
            "table": table,
            "can_create": services.may_write_products(user, Action.ADD),
            "pending": selectors.pending_versions(user=user).count(),
        },
    )


@require_GET
def product_approvals(request: AuthenticatedRequest) -> HttpResponse:
    """Versions awaiting the user's decision (reviewers and admins of a bank)."""
    table = PendingVersionTable(selectors.pending_versions(user=request.user))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, "market/products/approvals.html", {"table": table})


# ---------------------------------------------------------------------------
# One product
# ---------------------------------------------------------------------------


def _detail_context(request: AuthenticatedRequest, product: Product, **forms: Any) -> dict[str, Any]:
    user = request.user
    history = selectors.version_history(user=user, product=product)
    versions = [item["version"] for item in history]
    shown = product.live_version if product.live_version_id else (versions[0] if versions else None)
    open_version = next((v for v in versions if v.status in services.OPEN_STATUSES), None)
    may_change = _may_change(user, product)
    can_decide = open_version is not None and services.may_approve(user, open_version)
    return {
        "product": product,
        "status_badge": status_badge(product),
        "version": shown,
        "rows": selectors.terms_rows(shown) if shown else [],
        "kind_rules": selectors.kind_rules(shown) if shown else [],
        "rate": selectors.rate_detail(shown) if shown else None,
        "is_lpr": shown is not None and shown.rate_kind == RateKind.LPR_SPREAD,
        "history": [{**item, "badge": version_badge(item["version"])} for item in history],
        "open_version": open_version,
        "can_edit": may_change and open_version is not None and open_version.status == ProductVersionStatus.DRAFT,
        "can_submit": may_change and open_version is not None and open_version.status == ProductVersionStatus.DRAFT,
        "can_new_version": may_change and open_version is None,
        "can_withdraw": may_change and product.status != ProductStatus.WITHDRAWN,
        "can_decide": can_decide,
        "submitter_waiting": open_version is not None
        and open_version.status == ProductVersionStatus.PENDING
        and not can_decide,
        "approve_form": forms.get("approve_form") or DecisionForm(prefix="approve"),
        "reject_form": forms.get("reject_form") or DecisionForm(prefix="reject"),
        "withdraw_form": forms.get("withdraw_form") or WithdrawForm(prefix="withdraw"),
    }


def _product(user: Any, pk: int) -> Product:
    scoped_get(Product, user=user, pk=pk)
    return Product.objects.select_related("bank", "bank__region", "live_version", "created_by").get(pk=pk)


@require_GET
def product_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    product = _product(request.user, pk)
    return render(request, "market/products/detail.html", _detail_context(request, product))


def product_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not services.may_write_products(user, Action.ADD):
        raise Http404
    banks = _own_banks(user)
    initial = {"rate_kind": RateKind.LPR_SPREAD, "excludes_dishonest": True, "bank": banks.first()}
    form = ProductTermsForm(request.POST or None, banks=banks, creating=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                product = services.product_create(
                    bank=d["bank"], code=d["code"], name=d["name"], terms=form.terms(), acting_user=user
                )
        except ValidationError as exc:
            form.attach(exc)
        else:
            messages.success(request, _("产品“%(name)s”已保存为草稿，提交行内审批后上架。") % {"name": product.name})
            return redirect("market:product_detail", product.pk)
    return render(request, "market/products/form.html", {"form": form, "creating": True})


def product_version_new(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A new draft version of a product, starting from its latest version."""
    user = request.user
    product = scoped_get(Product, user=user, pk=pk, action=Action.CHANGE)
    latest = product.versions.order_by("-number").first()
    initial = initial_from_version(latest) if latest is not None else {}
    form = ProductTermsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                version = services.product_version_draft(product=product, terms=form.terms(), acting_user=user)
        except ValidationError as exc:
            form.attach(exc)
        else:
            messages.success(request, _("已起草新版本 v%(n)s。") % {"n": version.number})
            return redirect("market:product_detail", product.pk)
    return render(request, "market/products/form.html", {"form": form, "product": product, "new_version": True})


def product_version_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    version = scoped_get(ProductVersion, user=user, pk=pk, action=Action.CHANGE)
    product = version.product
    if version.status != ProductVersionStatus.DRAFT:
        messages.error(request, _("只能修改草稿版本。"))
        return redirect("market:product_detail", product.pk)
    renaming = product.status == ProductStatus.DRAFT
    form = ProductTermsForm(request.POST or None, initial=initial_from_version(version), renaming=renaming)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                services.product_version_update(
                    version=version,
                    terms=form.terms(),
                    acting_user=user,
                    name=form.cleaned_data.get("name") if renaming else None,
                )
        except ValidationError as exc:
            form.attach(exc)
        else:
            messages.success(request, _("草稿已保存。"))
            return redirect("market:product_detail", product.pk)
    return render(
        request, "market/products/form.html", {"form": form, "product": product, "version": version, "editing": True}
    )


def _flash(request: AuthenticatedRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@require_POST
def product_version_submit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    version = scoped_get(ProductVersion, user=request.user, pk=pk)
    try:
        with transaction.atomic():
            services.product_version_submit(version=version, acting_user=request.user)
    except ValidationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("已提交行内审批，须由本行其他复核人审批（审批分离）。"))
    return redirect("market:product_detail", version.product_id)


@require_POST
def product_version_approve(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    version = scoped_get(ProductVersion, user=user, pk=pk)
    form = DecisionForm(request.POST, prefix="approve")
    form.is_valid()
    try:
        with transaction.atomic():
            services.product_version_approve(
                version=version, acting_user=user, note=form.cleaned_data.get("note") or ""
            )
    except ValidationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("已批准，产品已上架。"))
    return redirect("market:product_detail", version.product_id)


@require_POST
def product_version_reject(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    version = scoped_get(ProductVersion, user=user, pk=pk)
    form = DecisionForm(request.POST, prefix="reject")
    form.is_valid()
    try:
        with transaction.atomic():
            services.product_version_reject(version=version, acting_user=user, note=form.cleaned_data.get("note") or "")
    except ValidationError as exc:
        form.add_error("note", exc.messages[0] if exc.messages else "")
        product = _product(user, version.product_id)
        return render(
            request, "market/products/detail.html", _detail_context(request, product, reject_form=form), status=400
        )
    messages.success(request, _("已退回，经办人可起草新版本。"))
    return redirect("market:product_detail", version.product_id)


@require_POST
def product_withdraw(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    product = scoped_get(Product, user=user, pk=pk)
    if not _may_change(user, product):
        raise PermissionDenied
    form = WithdrawForm(request.POST, prefix="withdraw")
    form.is_valid()
    try:
        with transaction.atomic():
            services.product_withdraw(product=product, acting_user=user, note=form.cleaned_data.get("note") or "")
    except ValidationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("产品已下架，不再向企业展示和匹配。"))
    return redirect("market:product_detail", product.pk)


# ---------------------------------------------------------------------------
# Import of our product template
# ---------------------------------------------------------------------------


def product_import(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not services.may_write_products(user, Action.ADD):
        raise Http404
    form = ProductImportForm(request.POST or None, request.FILES or None, banks=_own_banks(user))
    errors: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = services.product_import(
                bank=form.cleaned_data["bank"],
                file_name=upload.name or "upload",
                content=upload.read(),
                acting_user=user,
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            if result.rejected:
                errors = result.errors
            else:
                messages.success(
                    request,
                    _("已导入 %(n)s 个草稿产品，提交行内审批后上架。") % {"n": len(result.products)},
                )
                return redirect(reverse("market:product_list") + "?status=draft")
    return render(
        request,
        "market/products/import.html",
        {"form": form, "errors": errors, "columns": TEMPLATE_COLUMNS},
        status=400 if errors else 200,
    )


@require_GET
def product_import_template(request: AuthenticatedRequest) -> HttpResponse:
    response = HttpResponse(template_workbook(), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote('产品导入模板.xlsx')}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


urlpatterns = [
    path("products/", product_list, name="product_list"),
    path("products/new/", product_create, name="product_create"),
    path("products/approvals/", product_approvals, name="product_approvals"),
    path("products/import/", product_import, name="product_import"),
    path("products/import/template.xlsx", product_import_template, name="product_import_template"),
    path("products/<int:pk>/", product_detail, name="product_detail"),
    path("products/<int:pk>/versions/new/", product_version_new, name="product_version_new"),
    path("products/<int:pk>/withdraw/", product_withdraw, name="product_withdraw"),
    path("products/versions/<int:pk>/edit/", product_version_edit, name="product_version_edit"),
    path("products/versions/<int:pk>/submit/", product_version_submit, name="product_version_submit"),
    path("products/versions/<int:pk>/approve/", product_version_approve, name="product_version_approve"),
    path("products/versions/<int:pk>/reject/", product_version_reject, name="product_version_reject"),
]
