"""Product reads (产品资源库) and how a product's terms read in Chinese.

Every list starts from `Product.objects.restrict(user, "view")`: everyone on the platform sees live products; a bank
also sees its own (and its branches') drafts and withdrawn products. The version a list shows and filters on is the
live version, else the latest one (a draft product). Filters that look inside the JSON rule lists (region, kind)
run in Python over the candidates, since SQLite cannot search JSON arrays; the library is small (thousands).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.models import Organisation, Region
from ipledge.core.money import Money
from ipledge.core.scoping import Action

from .choices import CollateralKind, ProductStatus, ProductVersionStatus, RateKind
from .models import Product, ProductVersion

# ---------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductFilters:
    region: str = ""  # a region code (6 digits) or prefix the product must apply in
    kind: str = ""  # a CollateralKind the product must accept
    amount: Money | None = None  # a demand amount inside the product's range
    term_months: int | None = None  # a demand term inside the product's range
    bank_id: int | None = None  # products of this bank and the banks below it
    rate_kind: str = ""
    status: str = ""  # ProductStatus (a bank filtering its own products)
    q: str = ""  # name or code contains

    @property
    def needs_terms(self) -> bool:
        return bool(self.region or self.kind or self.amount is not None or self.term_months is not None) or bool(
            self.rate_kind
        )


def region_prefix(code: str) -> str:
    """Significant leading digits of a region code: 110000 → 11, 320100 → 3201, 110108 → 110108 (prefixes stay)."""
    code = (code or "").strip()
    if len(code) == 6:
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def applies_in(region_codes: list[str] | tuple[str, ...], code: str) -> bool:
    """A product with no regions applies everywhere; otherwise one of its regions contains `code`, or lies inside it
    (a product of a district shows when browsing its province)."""
    if not region_codes or not code:
        return True
    wanted = region_prefix(code)
    for own in region_codes:
        prefix = region_prefix(own)
        if wanted.startswith(prefix) or prefix.startswith(wanted):
            return True
    return False


def _latest_version_id() -> Subquery:
    return Subquery(ProductVersion.objects.filter(product=OuterRef("pk")).order_by("-number").values("pk")[:1])


def visible_products(*, user: Any) -> QuerySet[Product]:
    return (
        Product.objects.restrict(user, Action.VIEW)
        .select_related("bank", "bank__region", "live_version")
        .annotate(shown_version_id=Coalesce("live_version_id", _latest_version_id()))
    )


def _terms_match(version: ProductVersion, filters: ProductFilters) -> bool:
    if filters.kind and filters.kind not in (version.collateral_kinds or []):
        return False
    if filters.region and not applies_in(version.region_codes or [], filters.region):
        return False
    if filters.amount is not None and not (version.amount_min <= filters.amount <= version.amount_max):
        return False
    if filters.term_months is not None and not (
        version.term_min_months <= filters.term_months <= version.term_max_months
    ):
        return False
    return not (filters.rate_kind and version.rate_kind != filters.rate_kind)


def product_list(*, user: Any, filters: ProductFilters | None = None) -> QuerySet[Product]:
    """The products the user sees, filtered: live products of every bank; the user's own bank's others too."""
    filters = filters or ProductFilters()
    qs = visible_products(user=user)
    if filters.bank_id is not None:
        root = Organisation.objects.filter(pk=filters.bank_id, kind=OrganisationKind.BANK).values("tree_path").first()
        qs = qs.filter(bank__tree_path__startswith=root["tree_path"]) if root else qs.none()
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.q:
        from django.db.models import Q

        qs = qs.filter(Q(name__icontains=filters.q) | Q(code__icontains=filters.q))
    if filters.needs_terms:
        shown = dict(qs.values_list("pk", "shown_version_id"))  # type: ignore[misc]
        versions = ProductVersion.objects.filter(pk__in=[v for v in shown.values() if v]).only(
            "pk",
            "collateral_kinds",
            "region_codes",
            "amount_min",
            "amount_max",
            "term_min_months",
            "term_max_months",
            "rate_kind",
        )
        keep = {v.pk for v in versions if _terms_match(v, filters)}
        qs = qs.filter(pk__in=[pk for pk, vid in shown.items() if vid in keep])
    return qs.order_by("bank__name", "name", "pk")


def shown_version(product: Product) -> ProductVersion | None:
    """The version a list shows: the live version, else the latest (cached on the object)."""
    cached = getattr(product, "_shown_version", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    version = product.live_version
    if version is None:
        version = product.versions.order_by("-number").first()
    product._shown_version = version  # type: ignore[attr-defined]
    return version


def product_versions(*, user: Any, product: Product) -> QuerySet[ProductVersion]:
    """The versions of a product the user sees (others see only the current approved one), newest first."""
    return (
        ProductVersion.objects.restrict(user, Action.VIEW)
        .filter(product=product)
        .select_related("created_by", "submitted_by", "decided_by")
        .order_by("-number")
    )


def pending_versions(*, user: Any) -> QuerySet[ProductVersion]:
    """Versions awaiting the internal approval that the user may decide (reviewers and admins of the bank tree)."""
    approvable = Product.objects.restrict(user, Action.APPROVE).values("pk")
    return (
        ProductVersion.objects.filter(product__in=approvable, status=ProductVersionStatus.PENDING)
        .select_related("product", "product__bank", "submitted_by")
        .order_by("submitted_at", "pk")
    )


def banks_with_products(*, user: Any) -> QuerySet[Organisation]:
    return Organisation.objects.filter(
        pk__in=Product.objects.restrict(user, Action.VIEW).values("bank_id"), kind=OrganisationKind.BANK
    ).order_by("name")


# ---------------------------------------------------------------------------
# Terms in words
# ---------------------------------------------------------------------------


def wan(value: Money | None) -> str:
    """An amount in 万元 when it is whole ten-thousands (2,000万), else in yuan."""
    if value is None:
        return "—"
    amount = value.amount
    if amount % 10_000 == 0:
        return f"{int(amount / 10_000):,}万"
    return f"{amount:,.2f}"


def percent(value: Decimal | str) -> str:
    number = (Decimal(str(value)) * 100).normalize()
    return f"{number:f}%"


def kind_label(kind: str) -> str:
    try:
        return str(CollateralKind(kind).label)
    except ValueError:
        return kind


def kind_rules(version: ProductVersion) -> list[dict[str, str]]:
    """Per accepted kind: "发明专利：剩余有效期≥8年，质押率≤25%"."""
    years = version.min_remaining_years or {}
    caps = version.pledge_rate_caps or {}
    out = []
    for kind in version.collateral_kinds or []:
        parts = []
        if kind in years:
            parts.append(_("剩余有效期≥%(n)s年") % {"n": years[kind]})
        if kind in caps:
            parts.append(_("质押率≤%(p)s") % {"p": percent(caps[kind])})
        label = kind_label(kind)
        text = f"{label}：{'，'.join(parts)}" if parts else label
        out.append({"kind": kind, "label": label, "text": text})
    return out


def rate_text(version: ProductVersion) -> str:
    """ "LPR+120BP" / "LPR-20BP" / "固定年利率4.35%"."""
    if version.rate_kind == RateKind.LPR_SPREAD:
        spread = int(version.rate_spread_bp or 0)
        return f"LPR{'+' if spread >= 0 else '-'}{abs(spread)}BP"
    if version.rate_fixed is not None:
        return _("固定年利率%(rate)s%%") % {"rate": f"{Decimal(version.rate_fixed).normalize():f}"}
    return "—"


def current_lpr(day: datetime.date | None = None) -> Decimal | None:
    """The 1-year LPR in force on the day (a fraction, 0.0300), or None when the lending app has none."""
    try:
        from ipledge.lending.services import lpr_rate_on
    except ImportError:  # pragma: no cover - the lending app is part of the project
        return None
    try:
        return lpr_rate_on(tenor="1y", day=day or business_date())
    except Exception:  # noqa: BLE001 - no quote yet: the page shows the spread only
        return None


def rate_detail(version: ProductVersion, day: datetime.date | None = None) -> dict[str, Any]:
    """The rate in words and, for LPR products, today's 1-year LPR and the resulting annual rate."""
    out: dict[str, Any] = {"text": rate_text(version), "lpr": None, "annual": None}
    if version.rate_kind == RateKind.LPR_SPREAD:
        lpr = current_lpr(day)
        if lpr is not None:
            out["lpr"] = percent(lpr.quantize(Decimal("0.0001")))
            annual = lpr + Decimal(int(version.rate_spread_bp or 0)) / Decimal(10_000)
            out["annual"] = percent(annual.quantize(Decimal("0.0001")))
    return out


def region_names(codes: list[str] | tuple[str, ...]) -> list[str]:
    if not codes:
        return []
    six = [c for c in codes if len(c) == 6]
    short = [c for c in codes if len(c) < 6]
    names = {r.code: r.name for r in Region.objects.filter(code__in=six)}
    for region in Region.objects.filter(prefix__in=short).order_by("code"):
        names.setdefault(region.prefix, region.name)
    return [names.get(c, c) for c in codes]


def _yes_no(value: bool) -> str:
    return _("是") if value else _("否")


def terms_rows(version: ProductVersion) -> list[dict[str, Any]]:
    """The version's terms as labelled lines (the detail page, and the diff between versions)."""
    from ipledge.registry.choices import SizeClass
    from ipledge.registry.rules import INDUSTRY_SECTIONS

    sizes = dict(SizeClass.choices)
    regions = region_names(version.region_codes or [])
    rows: list[dict[str, Any]] = [
        {"key": "summary", "label": _("产品简介"), "text": version.summary or "—"},
        {
            "key": "collateral",
            "label": _("可接受质押物及条件"),
            "text": "；".join(r["text"] for r in kind_rules(version)) or "—",
            "lines": [r["text"] for r in kind_rules(version)],
        },
        {
            "key": "amount",
            "label": _("额度（元）"),
            "text": f"{wan(version.amount_min)} – {wan(version.amount_max)}",
        },
        {
            "key": "term",
            "label": _("期限"),
            "text": _("%(a)s–%(b)s个月") % {"a": version.term_min_months, "b": version.term_max_months},
        },
        {"key": "rate", "label": _("定价"), "text": rate_text(version)},
        {"key": "regions", "label": _("适用地区"), "text": "、".join(regions) or _("不限")},
        {
            "key": "industries",
            "label": _("适用行业"),
            "text": "、".join(f"{s} {INDUSTRY_SECTIONS.get(s, '')}".strip() for s in version.industry_sections or [])
            or _("不限"),
        },
        {
            "key": "sizes",
            "label": _("适用企业规模"),
            "text": "、".join(str(sizes.get(s, s)) for s in version.size_classes or []) or _("不限"),
        },
        {
            "key": "age",
            "label": _("最短成立年限"),
            "text": _("%(n)s年") % {"n": version.min_enterprise_age_years}
            if version.min_enterprise_age_years
            else _("不限"),
        },
        {"key": "whitelist", "label": _("须为授信白名单企业"), "text": _yes_no(version.requires_whitelist)},
        {"key": "dishonest", "label": _("排除失信及严重违法企业"), "text": _yes_no(version.excludes_dishonest)},
        {
            "key": "penalties",
            "label": _("近三年行政处罚上限"),
            "text": _("%(n)s次") % {"n": version.max_recent_penalties}
            if version.max_recent_penalties is not None
            else _("不限"),
        },
        {"key": "guarantee", "label": _("需担保"), "text": _yes_no(version.requires_guarantee)},
        {"key": "insurance", "label": _("需保证保险"), "text": _yes_no(version.requires_insurance)},
        {"key": "documents", "label": _("申请材料"), "text": "；".join(version.required_documents or []) or "—"},
        {"key": "source", "label": _("公开资料来源"), "text": version.source_url or "—"},
    ]
    return rows


def version_diff(old: ProductVersion, new: ProductVersion) -> list[dict[str, str]]:
    """What changed from `old` to `new`, line by line in words (only the lines that differ)."""
    before = {r["key"]: r for r in terms_rows(old)}
    out = []
    for row in terms_rows(new):
        was = before[row["key"]]["text"]
        if was != row["text"]:
            out.append({"key": row["key"], "label": row["label"], "old": was, "new": row["text"]})
    return out


def version_history(*, user: Any, product: Product) -> list[dict[str, Any]]:
    """The versions the user sees, newest first, each with its diff against the version before it (when the user
    sees that one too)."""
    versions = list(product_versions(user=user, product=product))
    by_number = {v.number: v for v in versions}
    out = []
    for version in versions:
        previous = max((n for n in by_number if n < version.number), default=None)
        out.append(
            {
                "version": version,
                "previous": by_number[previous] if previous is not None else None,
                "diff": version_diff(by_number[previous], version) if previous is not None else [],
            }
        )
    return out


def is_live(product: Product) -> bool:
    return product.status == ProductStatus.LIVE
