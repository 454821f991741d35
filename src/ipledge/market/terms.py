"""A product's terms as one immutable value (`ProductTerms`), read from and written to a `ProductVersion`.

Services take `ProductTerms` so that forms, the API, the importers and the surveys all hand over the same shape;
`validate_terms` checks it field by field (errors name the field and the rule) before anything is stored.
Empty eligibility lists mean "no restriction" (no regions = every region).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ipledge.core.money import Money

from .choices import CollateralKind, RateKind

INDUSTRY_SECTIONS = tuple("ABCDEFGHIJKLMNOPQRST")  # GB/T 4754-2017 门类
MAX_REMAINING_YEARS = 30
MAX_TERM_MONTHS = 360
MAX_SPREAD_BP = 2000
MAX_FIXED_RATE = Decimal("36")

# Fields copied one-to-one between ProductTerms and ProductVersion.
TERM_FIELDS = (
    "summary",
    "collateral_kinds",
    "min_remaining_years",
    "pledge_rate_caps",
    "amount_min",
    "amount_max",
    "term_min_months",
    "term_max_months",
    "rate_kind",
    "rate_spread_bp",
    "rate_fixed",
    "region_codes",
    "industry_sections",
    "size_classes",
    "min_enterprise_age_years",
    "requires_whitelist",
    "excludes_dishonest",
    "max_recent_penalties",
    "requires_guarantee",
    "requires_insurance",
    "required_documents",
    "source_url",
)


@dataclass(frozen=True, kw_only=True)
class ProductTerms:
    """The terms and eligibility rules of one product version (准入条件). Keyword-only."""

    summary: str = ""
    collateral_kinds: tuple[str, ...]
    min_remaining_years: dict[str, int]
    pledge_rate_caps: dict[str, Decimal]
    amount_min: Money
    amount_max: Money
    term_min_months: int
    term_max_months: int
    rate_kind: str
    rate_spread_bp: int | None
    rate_fixed: Decimal | None
    region_codes: tuple[str, ...] = ()
    industry_sections: tuple[str, ...] = ()
    size_classes: tuple[str, ...] = ()
    min_enterprise_age_years: int = 0
    requires_whitelist: bool = False
    excludes_dishonest: bool = True
    max_recent_penalties: int | None = None
    requires_guarantee: bool = False
    requires_insurance: bool = False
    required_documents: tuple[str, ...] = ()
    source_url: str = ""

    def replace(self, **changes: Any) -> ProductTerms:
        return dataclasses.replace(self, **changes)

    def to_version_fields(self) -> dict[str, Any]:
        """The values to store on a `ProductVersion` (JSON columns get lists/dicts of strings)."""
        return {
            "summary": self.summary,
            "collateral_kinds": list(self.collateral_kinds),
            "min_remaining_years": {k: int(v) for k, v in self.min_remaining_years.items()},
            "pledge_rate_caps": {k: str(Decimal(v)) for k, v in self.pledge_rate_caps.items()},
            "amount_min": self.amount_min,
            "amount_max": self.amount_max,
            "term_min_months": self.term_min_months,
            "term_max_months": self.term_max_months,
            "rate_kind": self.rate_kind,
            "rate_spread_bp": self.rate_spread_bp if self.rate_kind == RateKind.LPR_SPREAD else None,
            "rate_fixed": self.rate_fixed if self.rate_kind == RateKind.FIXED else None,
            "region_codes": list(self.region_codes),
            "industry_sections": list(self.industry_sections),
            "size_classes": list(self.size_classes),
            "min_enterprise_age_years": self.min_enterprise_age_years,
            "requires_whitelist": self.requires_whitelist,
            "excludes_dishonest": self.excludes_dishonest,
            "max_recent_penalties": self.max_recent_penalties,
            "requires_guarantee": self.requires_guarantee,
            "requires_insurance": self.requires_insurance,
            "required_documents": list(self.required_documents),
            "source_url": self.source_url,
        }


def terms_from_version(version: Any) -> ProductTerms:
    """The terms stored on a `ProductVersion`."""
    return ProductTerms(
        summary=version.summary or "",
        collateral_kinds=tuple(version.collateral_kinds or ()),
        min_remaining_years={str(k): int(v) for k, v in (version.min_remaining_years or {}).items()},
        pledge_rate_caps={str(k): Decimal(str(v)) for k, v in (version.pledge_rate_caps or {}).items()},
        amount_min=Money(version.amount_min),
        amount_max=Money(version.amount_max),
        term_min_months=int(version.term_min_months),
        term_max_months=int(version.term_max_months),
        rate_kind=str(version.rate_kind),
        rate_spread_bp=version.rate_spread_bp,
        rate_fixed=Decimal(version.rate_fixed) if version.rate_fixed is not None else None,
        region_codes=tuple(version.region_codes or ()),
        industry_sections=tuple(version.industry_sections or ()),
        size_classes=tuple(version.size_classes or ()),
        min_enterprise_age_years=int(version.min_enterprise_age_years or 0),
        requires_whitelist=bool(version.requires_whitelist),
        excludes_dishonest=bool(version.excludes_dishonest),
        max_recent_penalties=version.max_recent_penalties,
        requires_guarantee=bool(version.requires_guarantee),
        requires_insurance=bool(version.requires_insurance),
        required_documents=tuple(version.required_documents or ()),
        source_url=version.source_url or "",
    )


_REGION_CODE = re.compile(r"^(?:[0-9]{2}|[0-9]{4}|[0-9]{6})$")


def _unknown_regions(codes: tuple[str, ...]) -> list[str]:
    from ipledge.core.models import Region

    wanted = [c for c in codes if _REGION_CODE.match(c)]
    six = {c for c in wanted if len(c) == 6}
    prefixes = {c for c in wanted if len(c) < 6}
    known = set(Region.objects.filter(code__in=six).values_list("code", flat=True)) if six else set()
    known_prefixes = (
        set(Region.objects.filter(prefix__in=prefixes).values_list("prefix", flat=True)) if prefixes else set()
    )
    missing = []
    for code in codes:
        known_code = code in known if len(code) == 6 else code in known_prefixes
        if not _REGION_CODE.match(code) or not known_code:
            missing.append(code)
    return missing


def validate_terms(terms: ProductTerms) -> None:
    """Check every rule of `terms`; raise one `ValidationError` whose dict names each failing field."""
    from ipledge.registry.choices import SizeClass

    errors: dict[str, list[ValidationError]] = {}

    def fail(name: str, message: str, code: str) -> None:
        errors.setdefault(name, []).append(ValidationError(message, code=code))

    kinds = tuple(terms.collateral_kinds)
    valid_kinds = set(CollateralKind.values)
    if not kinds:
        fail("collateral_kinds", _("请至少选择一种可接受的质押物。"), "required")
    bad_kinds = [k for k in kinds if k not in valid_kinds]
    if bad_kinds:
        fail(
            "collateral_kinds", _("不支持的质押物类型：%(kinds)s。") % {"kinds": "、".join(bad_kinds)}, "invalid_choice"
        )
    if len(set(kinds)) != len(kinds):
        fail("collateral_kinds", _("质押物类型重复。"), "duplicate")

    for kind, years in (terms.min_remaining_years or {}).items():
        if kind not in kinds:
            fail(
                "min_remaining_years",
                _("%(kind)s 不在可接受质押物中，不能设置剩余有效期。") % {"kind": _kind_label(kind)},
                "kind_not_accepted",
            )
        elif isinstance(years, bool) or not isinstance(years, int) or not 0 <= years <= MAX_REMAINING_YEARS:
            fail(
                "min_remaining_years",
                _("%(kind)s 的最短剩余有效期须为0至%(max)s年的整数。")
                % {"kind": _kind_label(kind), "max": MAX_REMAINING_YEARS},
                "out_of_range",
            )

    for kind, cap in (terms.pledge_rate_caps or {}).items():
        if kind not in kinds:
            fail(
                "pledge_rate_caps",
                _("%(kind)s 不在可接受质押物中，不能设置质押率上限。") % {"kind": _kind_label(kind)},
                "kind_not_accepted",
            )
            continue
        try:
            value = Decimal(str(cap))
        except Exception:  # noqa: BLE001 - any unparsable value is the same rule
            value = Decimal(-1)
        if not value.is_finite():
            value = Decimal(-1)
        if not (Decimal(0) < value <= Decimal(1)):
            fail(
                "pledge_rate_caps",
                _("%(kind)s 的质押率上限须大于0且不超过100%%。") % {"kind": _kind_label(kind)},
                "out_of_range",
            )

    amount_min, amount_max = terms.amount_min, terms.amount_max
    if not isinstance(amount_min, Money) or amount_min.fen <= 0:
        fail("amount_min", _("最低额度须大于零。"), "min_value")
    if not isinstance(amount_max, Money) or amount_max.fen <= 0:
        fail("amount_max", _("最高额度须大于零。"), "min_value")
    elif isinstance(amount_min, Money) and amount_min.fen > amount_max.fen:
        fail("amount_max", _("最高额度不能低于最低额度。"), "range")

    tmin, tmax = terms.term_min_months, terms.term_max_months
    if not isinstance(tmin, int) or not 1 <= tmin <= MAX_TERM_MONTHS:
        fail("term_min_months", _("最短期限须为1至%(max)s个月。") % {"max": MAX_TERM_MONTHS}, "out_of_range")
    if not isinstance(tmax, int) or not 1 <= tmax <= MAX_TERM_MONTHS:
        fail("term_max_months", _("最长期限须为1至%(max)s个月。") % {"max": MAX_TERM_MONTHS}, "out_of_range")
    elif isinstance(tmin, int) and tmin > tmax:
        fail("term_max_months", _("最长期限不能短于最短期限。"), "range")

    if terms.rate_kind not in RateKind.values:
        fail("rate_kind", _("请选择定价方式。"), "invalid_choice")
    elif terms.rate_kind == RateKind.LPR_SPREAD:
        spread = terms.rate_spread_bp
        if spread is None:
            fail("rate_spread_bp", _("LPR加点产品须填写加点（基点）。"), "required")
        elif not -MAX_SPREAD_BP <= spread <= MAX_SPREAD_BP:
            fail("rate_spread_bp", _("加点须在±%(max)s基点之间。") % {"max": MAX_SPREAD_BP}, "out_of_range")
    else:
        fixed = terms.rate_fixed
        if fixed is None:
            fail("rate_fixed", _("固定利率产品须填写年利率（%）。"), "required")
        elif not Decimal(fixed).is_finite() or not Decimal(0) < Decimal(fixed) <= MAX_FIXED_RATE:
            fail("rate_fixed", _("固定年利率须大于0且不超过%(max)s%%。") % {"max": MAX_FIXED_RATE}, "out_of_range")

    regions = tuple(terms.region_codes)
    if regions:
        missing = _unknown_regions(regions)
        if missing:
            fail(
                "region_codes",
                _("未知的行政区划代码：%(codes)s（应为已登记的6位代码或2/4位前缀）。") % {"codes": "、".join(missing)},
                "unknown_region",
            )
    bad_sections = [s for s in terms.industry_sections if s not in INDUSTRY_SECTIONS]
    if bad_sections:
        fail(
            "industry_sections",
            _("行业门类应为A至T：%(codes)s 无效。") % {"codes": "、".join(bad_sections)},
            "invalid_choice",
        )
    bad_sizes = [s for s in terms.size_classes if s not in SizeClass.values]
    if bad_sizes:
        fail("size_classes", _("无效的企业规模：%(codes)s。") % {"codes": "、".join(bad_sizes)}, "invalid_choice")
    if not isinstance(terms.min_enterprise_age_years, int) or not 0 <= terms.min_enterprise_age_years <= 100:
        fail("min_enterprise_age_years", _("最短成立年限须为0至100年。"), "out_of_range")
    if terms.max_recent_penalties is not None and not 0 <= terms.max_recent_penalties <= 100:
        fail("max_recent_penalties", _("行政处罚上限须为0至100次。"), "out_of_range")
    if terms.source_url and not re.match(r"^https?://", terms.source_url):
        fail("source_url", _("来源链接须以 http:// 或 https:// 开头。"), "invalid")
    if len(terms.source_url) > 500:
        fail("source_url", _("来源链接不能超过500个字符。"), "max_length")

    if errors:
        raise ValidationError(errors)


def _kind_label(kind: str) -> str:
    try:
        return str(CollateralKind(kind).label)
    except ValueError:
        return kind


__all__ = ["INDUSTRY_SECTIONS", "TERM_FIELDS", "ProductTerms", "terms_from_version", "validate_terms"]
