"""Matching reasons in words (匹配理由): `describe_reason` renders one reason item of `Match.reasons`, and
`reasons_for_display` a match's whole list for the demand, lead and product pages and the API.

Items are {"code", "passed", "params"} (plus "soft": True for notes that never fail a pair), as the engine writes
them (`engine.matching.pair_reasons`). Source strings are zh-hans through gettext; when English is active and the
catalogue has no entry yet, the built-in English text of the same table is used, so both languages always read
properly. Amounts in params are integer fen (shown in 万元 / CNY), years and counts plain numbers, region codes are
shown with their names, industry sections with their GB/T 4754 names. An unknown code is shown as it is (never an
error on a page).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_noop as N_

from ipledge.registry.choices import SizeClass
from ipledge.registry.rules import INDUSTRY_SECTIONS

from .choices import CollateralKind
from .engine import matching as engine

# (code, passed, variant) → (zh source for gettext, English)
TEXTS: dict[tuple[str, bool, str], tuple[str, str]] = {
    (engine.RULE_KIND, True, ""): (
        N_("所提供的{usable}属于本产品可接受的质押物"),
        "the {usable} offered is collateral this product accepts",
    ),
    (engine.RULE_KIND, False, ""): (
        N_("本产品只接受{accepted}作为质押物，所提供的知识产权（{offered}）不在其列"),
        "this product accepts only {accepted} as collateral; the rights offered ({offered}) are not among them",
    ),
    (engine.RULE_KIND, False, "none"): (
        N_("未提供可质押的有效知识产权，本产品接受{accepted}"),
        "no valid IP right is offered as collateral; this product accepts {accepted}",
    ),
    (engine.RULE_LIFE, True, ""): (
        N_("{kind}剩余有效期{have}年，满足本产品至少{need}年的要求"),
        "{kind} has {have} years left; this product needs {need}",
    ),
    (engine.RULE_LIFE, False, ""): (
        N_("{kind}剩余有效期{have}年，本产品要求至少{need}年"),
        "{kind} has {have} years left; this product needs {need}",
    ),
    (engine.RULE_LIFE, False, "unknown"): (
        N_("{kind}剩余有效期未知，本产品要求至少{need}年"),
        "the remaining life of the {kind} is unknown; this product needs {need} years",
    ),
    (engine.RULE_LIFE, False, "none"): (
        N_("没有本产品可接受类型的知识产权，无法满足剩余有效期要求"),
        "no right of a kind this product accepts, so no remaining life to meet its minimum",
    ),
    (engine.RULE_AMOUNT, True, ""): (
        N_("融资金额{amount}在产品额度{min}至{max}之内"),
        "the amount of {amount} is within the product's range of {min} to {max}",
    ),
    (engine.RULE_AMOUNT, False, "below"): (
        N_("融资金额{amount}低于本产品最低额度{min}"),
        "the amount of {amount} is below this product's minimum of {min}",
    ),
    (engine.RULE_AMOUNT, False, "above"): (
        N_("融资金额{amount}超过本产品最高额度{max}"),
        "the amount of {amount} is above this product's maximum of {max}",
    ),
    (engine.RULE_CAPACITY, True, ""): (
        N_("按本产品质押率，已评估的知识产权可支持约{capacity}，不低于产品最低额度{need}"),
        "at this product's pledge-rate caps the valued rights support about {capacity}, at least its minimum of {need}",
    ),
    (engine.RULE_CAPACITY, False, ""): (
        N_("按本产品质押率，已评估的知识产权仅可支持约{capacity}，低于产品最低额度{need}"),
        "at this product's pledge-rate caps the valued rights support only about {capacity}, below its minimum of "
        "{need}",
    ),
    (engine.SOFT_VALUATION, False, ""): (
        N_("部分拟质押知识产权尚无有效评估，可支持额度未知，建议先进行价值评估"),
        "some offered rights have no valid valuation, so the amount they support is unknown; a valuation is suggested",
    ),
    (engine.SOFT_COVERAGE, True, ""): (
        N_("质押物可支持约{capacity}，覆盖融资金额{amount}"),
        "the collateral supports about {capacity}, covering the amount of {amount}",
    ),
    (engine.SOFT_COVERAGE, False, ""): (
        N_("质押物可支持约{capacity}，不足融资金额{amount}，可能需要追加担保或调低金额"),
        "the collateral supports about {capacity}, less than the amount of {amount}; further security or a smaller "
        "amount may be needed",
    ),
    (engine.RULE_TERM, True, ""): (
        N_("融资期限{term}个月在产品期限{min}至{max}个月之内"),
        "the term of {term} months is within the product's {min} to {max} months",
    ),
    (engine.RULE_TERM, False, "below"): (
        N_("融资期限{term}个月短于本产品最短期限{min}个月"),
        "the term of {term} months is shorter than this product's minimum of {min} months",
    ),
    (engine.RULE_TERM, False, "above"): (
        N_("融资期限{term}个月长于本产品最长期限{max}个月"),
        "the term of {term} months is longer than this product's maximum of {max} months",
    ),
    (engine.RULE_REGION, True, ""): (
        N_("企业登记地{region}在本产品适用地区（{allowed}）内"),
        "registered in {region}, within this product's regions ({allowed})",
    ),
    (engine.RULE_REGION, False, ""): (
        N_("本产品仅适用于{allowed}，企业登记地为{region}"),
        "this product is only for {allowed}; the enterprise is registered in {region}",
    ),
    (engine.RULE_INDUSTRY, True, ""): (
        N_("企业所属行业{section}在本产品适用行业内"),
        "the enterprise's industry, {section}, is one this product serves",
    ),
    (engine.RULE_INDUSTRY, False, ""): (
        N_("本产品仅适用于{allowed}行业，企业所属行业为{section}"),
        "this product serves only the industries {allowed}; the enterprise is in {section}",
    ),
    (engine.RULE_SIZE, True, ""): (
        N_("企业规模（{size}）符合本产品要求"),
        "the enterprise's size ({size}) is one this product serves",
    ),
    (engine.RULE_SIZE, False, ""): (
        N_("本产品仅适用于{allowed}企业，该企业为{size}"),
        "this product serves only {allowed} enterprises; this one is {size}",
    ),
    (engine.RULE_AGE, True, ""): (
        N_("企业成立{have}年，满足本产品至少{need}年的要求"),
        "the enterprise is {have} years old; this product needs {need}",
    ),
    (engine.RULE_AGE, False, ""): (
        N_("企业成立{have}年，本产品要求成立至少{need}年"),
        "the enterprise is {have} years old; this product needs at least {need}",
    ),
    (engine.RULE_AGE, False, "unknown"): (
        N_("企业成立日期未知，本产品要求成立至少{need}年"),
        "the enterprise's founding date is unknown; this product needs at least {need} years",
    ),
    (engine.RULE_WHITELIST, True, ""): (
        N_("企业在授信白名单内"),
        "the enterprise is on a credit whitelist",
    ),
    (engine.RULE_WHITELIST, False, ""): (
        N_("本产品仅面向授信白名单企业，该企业不在白名单内"),
        "this product is only for whitelisted enterprises; this one is not on a whitelist",
    ),
    (engine.RULE_DISHONEST, True, ""): (
        N_("无在列的失信被执行人或严重违法失信记录"),
        "no active dishonest-debtor or serious-violation record",
    ),
    (engine.RULE_DISHONEST, False, ""): (
        N_("企业有在列的失信被执行人或严重违法失信记录，本产品不予受理"),
        "the enterprise has an active dishonest-debtor or serious-violation record, which this product excludes",
    ),
    (engine.RULE_PENALTIES, True, ""): (
        N_("近三年行政处罚{have}次，未超过本产品上限{max}次"),
        "{have} administrative penalties in the last three years, within this product's cap of {max}",
    ),
    (engine.RULE_PENALTIES, False, ""): (
        N_("近三年行政处罚{have}次，超过本产品上限{max}次"),
        "{have} administrative penalties in the last three years, above this product's cap of {max}",
    ),
    (engine.SOFT_GUARANTEE, False, ""): (N_("本产品需另行提供担保"), "this product also requires a guarantee"),
    (engine.SOFT_INSURANCE, False, ""): (N_("本产品需办理保证保险"), "this product requires guarantee insurance"),
    (engine.SOFT_APPROVAL, True, ""): (
        N_("预计获批概率约{percent}%（按白名单、评估等级、质押物覆盖等估算，非模型预测）"),
        "estimated approval chance about {percent}% (a heuristic from whitelist, valuation grade and collateral "
        "coverage, not a trained model)",
    ),
    (engine.SOFT_RATE, True, ""): (N_("参考年利率{rate}%"), "reference annual rate {rate}%"),
    (engine.SOFT_RATE, True, "unknown"): (
        N_("参考年利率暂无（缺少LPR报价）"),
        "no reference annual rate (no LPR quote)",
    ),
}

KIND_EN = {
    CollateralKind.INVENTION: "invention patent",
    CollateralKind.UTILITY_MODEL: "utility model patent",
    CollateralKind.DESIGN: "design patent",
    CollateralKind.TRADEMARK: "trademark",
    CollateralKind.SOFTWARE: "software copyright",
    CollateralKind.WORK: "copyright work",
    CollateralKind.IC_LAYOUT: "IC layout design",
}
SIZE_EN = {SizeClass.LARGE: "large", SizeClass.MEDIUM: "medium", SizeClass.SMALL: "small", SizeClass.MICRO: "micro"}


def _english() -> bool:
    return (get_language() or "").lower().startswith("en")


def _text(key: tuple[str, bool, str]) -> str:
    source, english = TEXTS[key]
    translated = gettext(source)
    if _english() and translated == source:
        return english
    return translated


def _join(values: list[str]) -> str:
    return ", ".join(values) if _english() else "、".join(values)


def money_text(fen: Any) -> str:
    """An amount in fen as 万元 (zh) or CNY (en): 3000000000 → "3000万元" / "CNY 30,000,000"."""
    if fen is None:
        return "—"
    fen = int(fen)
    if _english():
        yuan = Decimal(fen) / 100
        return f"CNY {yuan:,.0f}" if yuan == yuan.to_integral_value() else f"CNY {yuan:,.2f}"
    wan = (Decimal(fen) / 1_000_000).quantize(Decimal("0.01")).normalize()
    return f"{wan:f}万元"


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def kind_label(kind: str | None) -> str:
    if not kind:
        return "—"
    if _english():
        return KIND_EN.get(kind, kind)  # type: ignore[call-overload]
    try:
        return str(CollateralKind(kind).label)
    except ValueError:
        return kind


@lru_cache(maxsize=4096)
def _region_name(code: str) -> str:
    from ipledge.core.models import Region

    name = Region.objects.filter(code=code).values_list("name", flat=True).first()
    return f"{name}（{code}）" if name else code


def region_label(code: str | None) -> str:
    return _region_name(str(code)) if code else "—"


def section_label(section: str | None) -> str:
    if not section:
        return "—"
    name = INDUSTRY_SECTIONS.get(section)
    return f"{section} {name}" if name and not _english() else section


def size_label(size: str | None) -> str:
    if not size:
        return "—"
    if _english():
        return SIZE_EN.get(size, size)  # type: ignore[call-overload]
    try:
        return str(SizeClass(size).label)
    except ValueError:
        return size


def _variant(code: str, passed: bool, params: Mapping[str, Any]) -> str:
    if passed and code != engine.SOFT_RATE:
        return ""
    if code == engine.RULE_KIND:
        return "none" if not params.get("offered") else ""
    if code == engine.RULE_LIFE:
        if params.get("kind") is None:
            return "none"
        return "unknown" if params.get("have") is None else ""
    if code in (engine.RULE_AMOUNT, engine.RULE_TERM):
        value = params.get("amount", params.get("term"))
        low = params.get("min")
        return "below" if value is not None and low is not None and value < low else "above"
    if code == engine.RULE_AGE:
        return "unknown" if params.get("have") is None else ""
    if code == engine.SOFT_RATE:
        return "unknown" if params.get("rate_bp") is None else ""
    return ""


def _format_params(code: str, params: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        if key in ("amount", "min", "max", "capacity", "need") and code in (
            engine.RULE_AMOUNT,
            engine.RULE_CAPACITY,
            engine.SOFT_COVERAGE,
            engine.SOFT_VALUATION,
        ):
            out[key] = money_text(value)
        elif key == "kind":
            out[key] = kind_label(value)
        elif key in ("accepted", "offered"):
            out[key] = _join([kind_label(v) for v in value or []]) or "—"
        elif key == "region":
            out[key] = region_label(value)
        elif key == "allowed" and code == engine.RULE_REGION:
            out[key] = _join([region_label(v) for v in value or []])
        elif key == "allowed" and code == engine.RULE_INDUSTRY:
            out[key] = _join([section_label(v) for v in value or []])
        elif key == "allowed" and code == engine.RULE_SIZE:
            out[key] = _join([size_label(v) for v in value or []])
        elif key == "section":
            out[key] = section_label(value)
        elif key == "size":
            out[key] = size_label(value)
        else:
            out[key] = _number(value)
    if code == engine.RULE_KIND:
        accepted = set(params.get("accepted") or [])
        out["usable"] = _join([kind_label(v) for v in params.get("offered") or [] if v in accepted]) or "—"
    if code == engine.SOFT_APPROVAL and params.get("milli") is not None:
        out["percent"] = f"{Decimal(int(params['milli'])) / 10:.1f}".rstrip("0").rstrip(".")
    if code == engine.SOFT_RATE and params.get("rate_bp") is not None:
        out["rate"] = f"{Decimal(int(params['rate_bp'])) / 100:.2f}"
    return out


def describe_reason(item: Mapping[str, Any]) -> str:
    """One reason item in words, in the active language (zh default, en when active)."""
    code = str(item.get("code", ""))
    passed = bool(item.get("passed"))
    params = item.get("params") or {}
    key = (code, passed, _variant(code, passed, params))
    if key not in TEXTS:
        key = (code, passed, "")
        if key not in TEXTS:
            return code
    try:
        return _text(key).format(**_format_params(code, params))
    except (KeyError, IndexError, ValueError, TypeError):
        return code


def reasons_for_display(match: Any) -> list[dict[str, Any]]:
    """A match's reasons as {"code", "passed", "soft", "text"}: failed hard rules first, then the passed ones, then
    the notes (each group in the engine's order)."""
    items = list(getattr(match, "reasons", match) or [])

    def group(item: Mapping[str, Any]) -> int:
        if item.get("soft"):
            return 2
        return 1 if item.get("passed") else 0

    return [
        {
            "code": str(item.get("code", "")),
            "passed": bool(item.get("passed")),
            "soft": bool(item.get("soft")),
            "text": describe_reason(item),
        }
        for item in sorted(items, key=group)
    ]
