"""Product services (产品资源库): a bank's IP-financing products, their numbered versions and the bank's internal
approval (maker-checker), imports of the bank's own product template and of the published product sheet.

Lifecycle
---------
- `product_create` makes a draft product with a draft version 1. An officer edits the draft version
  (`product_version_update`) and submits it (`product_version_submit`, draft → pending).
- A reviewer or admin of the same bank tree (the product's bank or a bank above it), who is not the submitter,
  approves (`product_version_approve`): the version becomes the product's live version, the previous approved one is
  superseded, the product goes live (also when it had been withdrawn: approving a new version relaunches it), and
  the matching engine recomputes the product against every active demand. Or returns it (`product_version_reject`,
  a note is required); the bank then drafts a new version.
- A live product changes through a new version (`product_version_draft`); the live version stays in force until
  the new one is approved. At most one version is open (draft or pending) at a time, and at most one is approved
  (both also unique constraints).
- `product_withdraw` takes a product off the library (已下架); matching drops its unanswered matches.

Who: adding and changing need an operator or admin of the bank or of a bank above it (`Product.scope_q`), approving
a reviewer or admin; the platform operator may do anything. A version submitted with an API key (no user) can only
be decided by a person, never by a key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import audited_create, record_event, snapshot
from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.context import business_now
from ipledge.core.models import Organisation, User
from ipledge.core.scoping import Action, scope_for

from ..choices import ProductStatus, ProductVersionStatus
from ..models import Product, ProductVersion
from ..terms import ProductTerms, terms_from_version, validate_terms

MAX_CODE = 40
MAX_NAME = 128
OPEN_STATUSES = (ProductVersionStatus.DRAFT, ProductVersionStatus.PENDING)


def _error(field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params)})


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


def _match_product(product: Product) -> None:
    """Recompute the product's matches (helper module of the matching area, imported when needed)."""
    from .matching import product_match

    product_match(product=product)


# ---------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------


def _require_bank_officer(user: User, bank: Organisation, action: str, what: str) -> None:
    """The user's role allows `action` and the bank lies in the user's bank tree (or the user is the platform)."""
    scope = scope_for(user)
    if scope is None or not scope.may(action):
        raise PermissionDenied(f"your role may not {what}")
    if scope.is_platform:
        return
    if scope.kind != OrganisationKind.BANK or not bank.tree_path.startswith(scope.org_tree_path):
        raise PermissionDenied(f"only officers of the bank (or of a bank above it) may {what}")


def may_write_products(user: Any, action: str = Action.ADD) -> bool:
    """Whether the user may create (or change) products of some bank: a bank officer with the role for it."""
    scope = scope_for(user)
    if scope is None or not scope.may(action):
        return False
    return scope.is_platform or scope.kind == OrganisationKind.BANK


def may_approve(user: Any, version: ProductVersion) -> bool:
    """A reviewer or admin of the version's bank tree who did not submit it, while it is pending."""
    if version.status != ProductVersionStatus.PENDING:
        return False
    try:
        _require_checker(user, version)
        _maker_checker(version, user)
    except (PermissionDenied, ValidationError):
        return False
    return True


def _require_checker(user: User, version: ProductVersion) -> None:
    scope = scope_for(user)
    if scope is None or not scope.may(Action.APPROVE):
        raise PermissionDenied("only a reviewer or admin of the bank approves its products")
    if scope.is_platform:
        return
    if (
        scope.kind != OrganisationKind.BANK
        or not Product.objects.restrict(user, Action.APPROVE).filter(pk=version.product_id).exists()
    ):
        raise PermissionDenied("only a reviewer or admin of the product's bank (or a bank above it) decides")


def _maker_checker(version: ProductVersion, acting_user: User | None) -> None:
    # An API key has no user: a version submitted that way cannot be decided that way either.
    if version.submitted_by_id == (acting_user.pk if acting_user is not None else None):
        raise _error("decided_by", _("审批人不能是提交人本人（审批分离）。"), "maker_is_checker")


# ---------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------


def _clean_code(code: str) -> str:
    value = (code or "").strip()
    if not value:
        raise _error("code", _("请填写产品编号。"), "required")
    if len(value) > MAX_CODE:
        raise _error("code", _("产品编号不能超过%(max)s个字符。"), "max_length", {"max": MAX_CODE})
    return value


def _clean_name(name: str) -> str:
    value = (name or "").strip()
    if not value:
        raise _error("name", _("请填写产品名称。"), "required")
    if len(value) > MAX_NAME:
        raise _error("name", _("产品名称不能超过%(max)s个字符。"), "max_length", {"max": MAX_NAME})
    return value


def _merge(*errors: ValidationError) -> ValidationError:
    merged: dict[str, list[ValidationError]] = {}
    for exc in errors:
        for name, items in exc.error_dict.items():
            merged.setdefault(name, []).extend(items)
    return ValidationError(merged)


@transaction.atomic
def product_create(*, bank: Organisation, code: str, name: str, terms: ProductTerms, acting_user: User) -> Product:
    """A draft product of `bank` with its draft version 1 (nothing is shown to other banks or enterprises yet)."""
    _require_bank_officer(acting_user, bank, Action.ADD, "create products")
    errors: list[ValidationError] = []
    if bank.kind != OrganisationKind.BANK:
        errors.append(_error("bank", _("发布机构必须是银行。"), "not_bank"))
    clean: dict[str, str] = {}
    for key, cleaner, value in (("code", _clean_code, code), ("name", _clean_name, name)):
        try:
            clean[key] = cleaner(value)
        except ValidationError as exc:
            errors.append(exc)
    if "code" in clean and Product.objects.filter(bank=bank, code=clean["code"]).exists():
        errors.append(_error("code", _("本行已有编号为“%(code)s”的产品。"), "unique", {"code": clean["code"]}))
    try:
        validate_terms(terms)
    except ValidationError as exc:
        errors.append(exc)
    if errors:
        raise _merge(*errors)
    product = audited_create(
        instance=Product(bank=bank, code=clean["code"], name=clean["name"], created_by=_actor(acting_user)),
        acting_user=acting_user,
        action="product.create",
    )
    _version_create(product, terms, 1, acting_user)
    return product


def _version_create(product: Product, terms: ProductTerms, number: int, acting_user: User) -> ProductVersion:
    version = ProductVersion(
        product=product,
        number=number,
        status=ProductVersionStatus.DRAFT,
        created_by=_actor(acting_user),
        **terms.to_version_fields(),
    )
    return audited_create(instance=version, acting_user=acting_user, action="product_version.create")


def _lock_product(product: Product, user: User, action: str, what: str) -> Product:
    locked = Product.objects.select_for_update().select_related("bank").get(pk=product.pk)
    _require_bank_officer(user, locked.bank, action, what)
    return locked


def _lock_version(version: ProductVersion, statuses: Iterable[str]) -> ProductVersion:
    locked = ProductVersion.objects.select_for_update().select_related("product", "product__bank").get(pk=version.pk)
    if locked.status not in set(statuses):
        raise _error(
            "status",
            _("该版本当前为“%(status)s”，不能办理此操作。"),
            "invalid_state",
            {"status": locked.get_status_display()},
        )
    return locked


@transaction.atomic
def product_version_draft(*, product: Product, terms: ProductTerms, acting_user: User) -> ProductVersion:
    """A new draft version of a product (to change a live product's terms, or to redraft after a rejection); the
    live version stays in force until the new one is approved."""
    product = _lock_product(product, acting_user, Action.CHANGE, "draft product versions")
    if product.versions.filter(status__in=OPEN_STATUSES).exists():
        raise _error("product", _("该产品已有一个未完成审批的版本，请先办结。"), "open_version_exists")
    validate_terms(terms)
    number = (product.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    return _version_create(product, terms, number, acting_user)


@transaction.atomic
def product_version_update(
    *, version: ProductVersion, terms: ProductTerms, acting_user: User, name: str | None = None
) -> ProductVersion:
    """Change the terms of a draft version (and, optionally, the product's name while it has never been live)."""
    _lock_product(version.product, acting_user, Action.CHANGE, "change product versions")
    version = _lock_version(version, {ProductVersionStatus.DRAFT})
    errors: list[ValidationError] = []
    product = version.product
    new_name = product.name
    if name is not None:
        try:
            new_name = _clean_name(name)
        except ValidationError as exc:
            errors.append(exc)
    try:
        validate_terms(terms)
    except ValidationError as exc:
        errors.append(exc)
    if errors:
        raise _merge(*errors)
    if new_name != product.name:
        before = snapshot(product, ["name"])
        product.name = new_name
        product.save(update_fields=["name", "updated_at"])
        record_event(
            acting_user=acting_user, action="product.rename", instance=product, old=before, new={"name": new_name}
        )
    values = terms.to_version_fields()
    before = snapshot(version, values.keys())
    for key, value in values.items():
        setattr(version, key, value)
    after = snapshot(version, values.keys())
    changed = [k for k in after if before.get(k) != after.get(k)]
    if changed:
        version.full_clean(validate_constraints=False)
        version.save()
        record_event(
            acting_user=acting_user,
            action="product_version.update",
            instance=version,
            old={k: before[k] for k in changed},
            new={k: after[k] for k in changed},
        )
    return version


def _set_version(version: ProductVersion, *, action: str, acting_user: User | None, **changes: Any) -> None:
    before = snapshot(version, changes.keys())
    for name, value in changes.items():
        setattr(version, name, value)
    version.save(update_fields=list(changes))
    record_event(
        acting_user=acting_user, action=action, instance=version, old=before, new=snapshot(version, changes.keys())
    )


def _set_product(product: Product, *, action: str, acting_user: User | None, **changes: Any) -> None:
    before = snapshot(product, changes.keys())
    for name, value in changes.items():
        setattr(product, name, value)
    product.save(update_fields=[*changes, "updated_at"])
    record_event(
        acting_user=acting_user, action=action, instance=product, old=before, new=snapshot(product, changes.keys())
    )


@transaction.atomic
def product_version_submit(*, version: ProductVersion, acting_user: User) -> ProductVersion:
    """The officer submits a draft version for the bank's internal approval (draft → pending)."""
    _lock_product(version.product, acting_user, Action.CHANGE, "submit product versions")
    version = _lock_version(version, {ProductVersionStatus.DRAFT})
    validate_terms(terms_from_version(version))
    _set_version(
        version,
        action="product_version.submit",
        acting_user=acting_user,
        status=ProductVersionStatus.PENDING,
        submitted_by=_actor(acting_user),
        submitted_at=business_now(),
    )
    return version


@transaction.atomic
def product_version_approve(*, version: ProductVersion, acting_user: User, note: str = "") -> ProductVersion:
    """A reviewer (not the submitter) approves: the version goes live, the previous approved one is superseded, the
    product is live, and its matches are recomputed."""
    _require_checker(acting_user, version)
    product = Product.objects.select_for_update().get(pk=version.product_id)
    version = _lock_version(version, {ProductVersionStatus.PENDING})
    _maker_checker(version, acting_user)
    for old in ProductVersion.objects.select_for_update().filter(product=product, status=ProductVersionStatus.APPROVED):
        _set_version(
            old, action="product_version.supersede", acting_user=acting_user, status=ProductVersionStatus.SUPERSEDED
        )
    _set_version(
        version,
        action="product_version.approve",
        acting_user=acting_user,
        status=ProductVersionStatus.APPROVED,
        decided_by=_actor(acting_user),
        decided_at=business_now(),
        decision_note=(note or "").strip(),
    )
    _set_product(
        product, action="product.publish", acting_user=acting_user, status=ProductStatus.LIVE, live_version=version
    )
    _match_product(product)
    version.product = product
    return version


@transaction.atomic
def product_version_reject(*, version: ProductVersion, acting_user: User, note: str) -> ProductVersion:
    """A reviewer (not the submitter) returns a pending version with the reasons; the bank drafts a new one."""
    _require_checker(acting_user, version)
    version = _lock_version(version, {ProductVersionStatus.PENDING})
    note = (note or "").strip()
    if not note:
        raise _error("note", _("退回须填写审批意见。"), "required")
    _maker_checker(version, acting_user)
    _set_version(
        version,
        action="product_version.reject",
        acting_user=acting_user,
        status=ProductVersionStatus.REJECTED,
        decided_by=_actor(acting_user),
        decided_at=business_now(),
        decision_note=note,
    )
    return version


@transaction.atomic
def product_withdraw(*, product: Product, acting_user: User, note: str = "") -> Product:
    """Take a product off the library (已下架): it is no longer shown to others nor ranked, and its unanswered matches
    go. Its versions stay as they were, for the record; approving a new version relaunches it."""
    product = _lock_product(product, acting_user, Action.CHANGE, "withdraw products")
    if product.status == ProductStatus.WITHDRAWN:
        raise _error("status", _("该产品已下架。"), "invalid_state")
    before = snapshot(product, ["status"])
    product.status = ProductStatus.WITHDRAWN
    product.save(update_fields=["status", "updated_at"])
    record_event(
        acting_user=acting_user,
        action="product.withdraw",
        instance=product,
        old=before,
        new={"status": product.status},
        extra={"note": (note or "").strip()},
    )
    _match_product(product)
    return product


# ---------------------------------------------------------------------------
# Imports
# ---------------------------------------------------------------------------


@dataclass
class ProductImportResult:
    """The outcome of one template import: the draft products written, or the row errors (and nothing written)."""

    rows: int = 0
    products: list[Product] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return bool(self.errors)


@transaction.atomic
def product_import(*, bank: Organisation, file_name: str, content: bytes, acting_user: User) -> ProductImportResult:
    """Import the bank's own product template (csv or xlsx): the whole file is validated first; a single bad row
    rejects the file with row-level errors and nothing is written; a good file creates one draft product per row."""
    from ..importing import parse_product_template

    _require_bank_officer(acting_user, bank, Action.ADD, "import products")
    if bank.kind != OrganisationKind.BANK:
        raise _error("bank", _("发布机构必须是银行。"), "not_bank")
    parsed = parse_product_template(file_name, content)
    result = ProductImportResult(rows=len(parsed.rows), errors=[e.as_dict() for e in parsed.errors])
    existing = set(
        Product.objects.filter(bank=bank, code__in=[r.code for r in parsed.rows]).values_list("code", flat=True)
    )
    for row in parsed.rows:
        if row.code in existing:
            result.errors.append(
                {
                    "row": row.row,
                    "field": "产品编号",
                    "rule": "unique",
                    "message": f"本行已有编号为“{row.code}”的产品。",
                    "message_en": f"The bank already has a product coded {row.code!r}.",
                }
            )
    if result.errors:
        result.errors.sort(key=lambda e: (e["row"], e["field"] or ""))
        return result
    for row in parsed.rows:
        result.products.append(
            product_create(bank=bank, code=row.code, name=row.name, terms=row.terms, acting_user=acting_user)
        )
    record_event(
        acting_user=acting_user,
        action="product.import",
        object_type="market.product",
        object_repr=f"{bank.name} · {file_name}"[:255],
        region_code=bank.region.code if bank.region_id else "",  # type: ignore[union-attr]
        extra={"file": file_name, "rows": len(parsed.rows), "products": [p.pk for p in result.products]},
    )
    return result


# --------------------------------------------------------------- the published product sheet


@dataclass
class PublishedImportReport:
    """What `products_import_published` did, row by row."""

    created: list[Product] = field(default_factory=list)
    published: list[Product] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    officers: dict[str, tuple[str, str]] = field(default_factory=dict)  # bank name → (maker, checker) usernames

    def counts(self) -> dict[str, int]:
        return {"created": len(self.created), "published": len(self.published), "skipped": len(self.skipped)}


def _bank_for(name: str) -> Organisation | None:
    """The bank organisation of a normalised lender name: the head office (no parent) of that name, else any bank."""
    banks = Organisation.objects.filter(kind=OrganisationKind.BANK, is_active=True, name=name)
    return banks.filter(parent__isnull=True).order_by("pk").first() or banks.order_by("tree_path").first()


def bank_officer(bank: Organisation, roles: Iterable[str], *, exclude: User | None = None) -> User | None:
    """An active officer of the bank with one of `roles` (in that order of preference); for approval roles also one of
    a bank above it (whose reviewers may approve products of the banks below)."""
    roles = list(roles)
    orgs = [bank]
    if any(r in (Role.REVIEWER, Role.ADMIN) for r in roles):
        parent = bank.parent
        while parent is not None:
            orgs.append(parent)
            parent = parent.parent
    for org in orgs:
        for role in roles:
            users = User.objects.filter(organisation=org, role=role, is_active=True).order_by("pk")
            if exclude is not None:
                users = users.exclude(pk=exclude.pk)
            user = users.first()
            if user is not None:
                return user
    return None


def makers_and_checkers(bank: Organisation) -> tuple[User | None, User | None]:
    """The bank's own officer who makes (an operator, else an admin) and a different reviewer (else admin) of the bank
    or a bank above it who checks: the demo seed and the published-sheet import act as these two."""
    maker = bank_officer(bank, (Role.OPERATOR, Role.ADMIN))
    checker = bank_officer(bank, (Role.REVIEWER, Role.ADMIN), exclude=maker)
    return maker, checker


def product_publish(*, product: Product, maker: User, checker: User, note: str = "") -> ProductVersion:
    """Submit the product's open draft as `maker` and approve it as `checker` (two people of the bank)."""
    version = product.versions.get(status=ProductVersionStatus.DRAFT)
    product_version_submit(version=version, acting_user=maker)
    return product_version_approve(version=version, acting_user=checker, note=note)


def products_import_published(*, path: Path, approve: bool = False) -> PublishedImportReport:
    """Load the published product sheet (`importing.parse_published_products`) as products of the banks it names.

    Each lender is mapped to a bank organisation by its normalised name (a row whose bank is not on the platform is
    skipped with the reason). The products are created as drafts by an operator of that bank (else its admin); with
    `approve` the same operator submits them and a reviewer of the bank or a bank above it (else an admin, never the
    same person) approves them, so they go live through the ordinary maker-checker path. A product whose code the
    bank already has is skipped, so the load can run again."""
    from ..importing import parse_published_products

    parsed, skipped = parse_published_products(path)
    report = PublishedImportReport(skipped=[(s.row, s.reason) for s in skipped])
    for item in parsed:
        bank = _bank_for(item.bank_name)
        if bank is None:
            report.skipped.append((item.row, f"平台上没有“{item.bank_name}”（{item.lender}）"))
            continue
        maker, checker = makers_and_checkers(bank)
        if maker is None:
            report.skipped.append((item.row, f"“{bank.name}”没有可办理的经办人或管理员账号"))
            continue
        if Product.objects.filter(bank=bank, code=item.code).exists():
            report.skipped.append((item.row, f"“{bank.name}”已有编号为 {item.code} 的产品"))
            continue
        if approve and checker is None:
            report.skipped.append((item.row, f"“{bank.name}”没有另一位复核人或管理员，无法审批上架"))
            continue
        with transaction.atomic():
            product = product_create(bank=bank, code=item.code, name=item.name, terms=item.terms, acting_user=maker)
            report.created.append(product)
            if approve:
                assert checker is not None
                product_publish(product=product, maker=maker, checker=checker, note="公开资料导入，复核上架")
                report.published.append(product)
        report.officers[bank.name] = (maker.username, checker.username if checker is not None and approve else "")
    return report
