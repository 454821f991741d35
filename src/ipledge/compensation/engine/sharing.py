"""Loss sharing (损失分担) of a risk-compensation fund (知识产权质押融资风险补偿基金): who bears how much of a loss.

A compensation fund shares the loss of a defaulted IP-pledge loan with the lending bank and, in some schemes, an
insurer (保险机构), a guarantor (担保机构) and the valuer (评估机构) that appraised the pledged rights. The shares
come from the scheme (domain.md §4.1):

* fixed ratios, one tier without an upper bound: Zhongshan fund : bank : insurer : valuer = 54 : 26 : 16 : 4,
  Zhuhai bank 60 % fund 40 %, Shenzhen 1 : 1;
* tiered by the loan balance (贷款余额) when the loan became non-performing: Jiangsu 苏知贷 gives the fund 80 % and
  the bank 20 % when the balance is at most ¥10 m, 50 % each from ¥10 m to ¥30 m, and nothing above ¥30 m (the
  per-borrower ceiling, so a balance above the last bounded tier is an error, not a silent fallback).

Two readings of a tiered rule are supported. In `"whole"` mode the tier the balance falls in applies to the whole
loss, which is how the Jiangsu notice reads. In `"marginal"` mode each slice of the balance uses its own tier's
shares, like tax brackets; the loss is allocated in proportion to the balance slices, so a ¥20 m balance under the
Jiangsu tiers bears a blended fund share of (10 × 0.8 + 10 × 0.5) / 20 = 0.65.

The balance picks the tier and stays fixed through clearing (清算), even when the final loss after disposal is much
smaller: the scheme's terms are set when the loan turns non-performing, not by how well the collateral sold.

Money is integer fen (分) throughout and ratios are `Decimal`, computed exactly as fractions. A loss is split by the
largest-remainder method so that the parts add up to the loss to the fen; ties go to the role that comes first in
`ROLES`, which favours the fund and so matches ROUND_HALF_UP of the fund's share in a two-party split.

The fund's payout may be capped (per loan, per enterprise, per year, or by the fund's own balance when its liability
is limited to its total, 以其总额为限 — Zhanjiang). The excess falls back on the bank, which is the party that lent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

ROLES: tuple[str, ...] = ("fund", "bank", "insurer", "guarantor", "valuer")
# Roles that compensate the bank: the bank bears what is left of the loss after them.
PAYER_ROLES: tuple[str, ...] = ("fund", "insurer", "guarantor", "valuer")
MODES: tuple[str, ...] = ("whole", "marginal")
_ROLE_ORDER = {role: index for index, role in enumerate(ROLES)}
_ONE = Decimal(1)


class FloatRejectedError(TypeError, ValueError):
    """A float where money or a ratio was expected: binary floats cannot hold 0.1 yuan or a 0.8 share exactly.

    It is both a `TypeError` (wrong type) and a `ValueError` (bad input), so callers catching either see it."""


@dataclass(frozen=True)
class Tier:
    """One band of the loan balance and the shares that apply to it."""

    up_to_fen: int | None  # inclusive upper bound of the balance; None = unbounded (last tier only)
    shares: Mapping[str, Decimal]  # role -> share; keys ⊆ ROLES; "fund" > 0 and "bank" ≥ 0 required; sum exactly 1


@dataclass(frozen=True)
class SharingRule:
    """The tiers of a scheme, ascending by bound, and how they apply (`"whole"` or `"marginal"`)."""

    tiers: tuple[Tier, ...]
    mode: str = "whole"


@dataclass(frozen=True)
class RuleProblem:
    """One broken rule of a sharing rule, for a form or an API error naming the field."""

    field: str  # e.g. "tiers[1].shares", "tiers[0].up_to_fen", "mode"
    message: str  # English, naming the rule broken
    code: str  # "sum", "order", "range", "required", "choice"


def _fmt(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else repr(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_rule(rule: SharingRule) -> list[RuleProblem]:
    """Every broken rule of `rule`; an empty list means it is valid."""
    problems: list[RuleProblem] = []
    if rule.mode not in MODES:
        problems.append(RuleProblem("mode", f"mode must be one of {', '.join(MODES)} (got {rule.mode!r})", "choice"))
    if not rule.tiers:
        problems.append(RuleProblem("tiers", "a sharing rule needs at least one tier", "required"))
        return problems
    last = len(rule.tiers) - 1
    previous: int | None = None
    for index, tier in enumerate(rule.tiers):
        where = f"tiers[{index}]"
        problems.extend(_share_problems(where, tier.shares))
        bound = tier.up_to_fen
        bound_field = f"{where}.up_to_fen"
        if bound is None:
            if index != last:
                problems.append(RuleProblem(bound_field, "only the last tier may be unbounded", "order"))
            continue
        if not _is_int(bound):
            problems.append(RuleProblem(bound_field, f"the upper bound must be whole fen (got {_fmt(bound)})", "range"))
            continue
        if bound <= 0:
            problems.append(RuleProblem(bound_field, f"the upper bound must be positive (got {bound} fen)", "range"))
        if previous is not None and bound <= previous:
            problems.append(
                RuleProblem(
                    bound_field,
                    f"tiers must be strictly ascending by upper bound ({bound} fen is not above {previous} fen)",
                    "order",
                )
            )
        previous = bound if previous is None else max(previous, bound)
    return problems


def _share_problems(where: str, shares: Mapping[str, Any]) -> list[RuleProblem]:
    problems: list[RuleProblem] = []
    field_ = f"{where}.shares"
    total = Fraction(0)
    summable = True
    for role, share in shares.items():
        role_field = f"{field_}.{role}"
        if role not in _ROLE_ORDER:
            problems.append(RuleProblem(role_field, f"unknown role {role!r}: roles are {', '.join(ROLES)}", "choice"))
        if not isinstance(share, Decimal) or not share.is_finite():
            problems.append(RuleProblem(role_field, f"a share must be a finite Decimal (got {_fmt(share)})", "range"))
            summable = False
            continue
        if not 0 <= share <= 1:
            problems.append(RuleProblem(role_field, f"a share must be between 0 and 1 (got {_fmt(share)})", "range"))
        total += Fraction(share)
    fund = shares.get("fund")
    if fund is None:
        problems.append(RuleProblem(f"{field_}.fund", "the fund's share is required", "required"))
    elif isinstance(fund, Decimal) and fund == 0:  # a negative share is already out of range
        problems.append(RuleProblem(f"{field_}.fund", f"the fund's share must be above 0 (got {_fmt(fund)})", "range"))
    if "bank" not in shares:
        problems.append(RuleProblem(f"{field_}.bank", "the bank's share is required (it may be 0)", "required"))
    if summable and total != 1:
        shown = Decimal(total.numerator) / Decimal(total.denominator)
        problems.append(RuleProblem(field_, f"shares must add up to exactly 1 (got {_fmt(shown)})", "sum"))
    return problems


def _require_valid(rule: SharingRule) -> None:
    problems = validate_rule(rule)
    if problems:
        raise ValueError("invalid sharing rule: " + "; ".join(f"{p.field}: {p.message}" for p in problems))


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, float):
        raise FloatRejectedError(f"{where}: {value!r} is a float; pass a string such as '0.8' so it stays exact")
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ValueError(f"{where}: expected a decimal string or integer, got {type(value).__name__}")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(f"{where}: {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ValueError(f"{where}: {value!r} is not a finite number")
    return number


def yuan_to_fen(value: Any, where: str = "amount") -> int:
    """An exact yuan amount (string, int or Decimal, at most two decimals) as integer fen; floats are rejected."""
    fen = _decimal(value, where) * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{where}: {value!r} has fractions of a fen (at most two decimal places)")
    return int(fen)


def fen_to_yuan(fen: int) -> str:
    """Integer fen as a yuan string with two decimals, e.g. 1000000000 → "10000000.00"."""
    return format(Decimal(fen).scaleb(-2).quantize(Decimal("0.01")), "f")


def rule_from_data(data: Sequence[Mapping[str, Any]], mode: str = "whole") -> SharingRule:
    """Parse JSON-like tiers `[{"up_to": "10000000.00" | None, "shares": {"fund": "0.8", "bank": "0.2"}}, …]`.

    `up_to` is in yuan (string, int or Decimal; a missing key means unbounded). Only the syntax is checked here:
    unparsable input raises `ValueError` (a float raises `FloatRejectedError`, both a `TypeError` and a
    `ValueError`); whether the rule makes sense is `validate_rule`'s job.
    """
    if isinstance(data, str | bytes | Mapping) or not isinstance(data, Sequence):
        raise ValueError("tiers: expected a list of tiers")
    tiers: list[Tier] = []
    for index, item in enumerate(data):
        where = f"tiers[{index}]"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: expected an object with 'up_to' and 'shares'")
        unknown = set(item) - {"up_to", "shares"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
        raw_bound = item.get("up_to")
        bound = None if raw_bound is None else yuan_to_fen(raw_bound, f"{where}.up_to")
        raw_shares = item.get("shares")
        if not isinstance(raw_shares, Mapping):
            raise ValueError(f"{where}.shares: expected an object mapping roles to shares")
        shares: dict[str, Decimal] = {}
        for role, raw in raw_shares.items():
            if not isinstance(role, str):
                raise ValueError(f"{where}.shares: role names must be strings (got {role!r})")
            shares[role] = _decimal(raw, f"{where}.shares.{role}")
        tiers.append(Tier(up_to_fen=bound, shares=shares))
    return SharingRule(tiers=tuple(tiers), mode=mode)


def rule_to_data(rule: SharingRule) -> list[dict[str, Any]]:
    """The inverse of `rule_from_data`: yuan strings for bounds, strings for shares, roles in `ROLES` order."""
    return [
        {
            "up_to": None if tier.up_to_fen is None else fen_to_yuan(tier.up_to_fen),
            "shares": {role: format(tier.shares[role], "f") for role in _ordered(tier.shares)},
        }
        for tier in rule.tiers
    ]


def _ordered(roles: Mapping[str, Any] | set[str]) -> list[str]:
    return sorted(roles, key=lambda role: _ROLE_ORDER.get(role, len(ROLES)))


# Reason codes of the caps, in the order of the `Caps` fields.
CAP_REASONS: tuple[str, ...] = ("per_loan", "enterprise", "year", "fund_balance")


@dataclass(frozen=True)
class Caps:
    """Limits on the fund's payout for one loan; `None` means no such limit.

    "Remaining" figures are what is left under the cap *before* this loan's payout. A remaining figure below zero
    (the cap was over-used by earlier payouts) counts as nothing left.
    """

    fund_per_loan_fen: int | None = None
    fund_enterprise_remaining_fen: int | None = None
    fund_year_remaining_fen: int | None = None
    fund_available_fen: int | None = None  # the fund's balance, when liability is limited to its total

    def __post_init__(self) -> None:
        for name, value in self._named():
            if value is not None and not _is_int(value):
                raise TypeError(f"Caps.{name} must be whole fen (int) or None, got {type(value).__name__}")

    def _named(self) -> list[tuple[str, int | None]]:
        return [
            ("fund_per_loan_fen", self.fund_per_loan_fen),
            ("fund_enterprise_remaining_fen", self.fund_enterprise_remaining_fen),
            ("fund_year_remaining_fen", self.fund_year_remaining_fen),
            ("fund_available_fen", self.fund_available_fen),
        ]

    def binding(self) -> tuple[int, str] | None:
        """The smallest limit and its reason code, or None; ties go to the first field."""
        best: tuple[int, str] | None = None
        for (_, value), reason in zip(self._named(), CAP_REASONS, strict=True):
            if value is not None and (best is None or max(value, 0) < best[0]):
                best = (max(value, 0), reason)
        return best

    def limit_fen(self) -> int | None:
        """The lowest of the limits that are set, or None when none is."""
        bound = self.binding()
        return None if bound is None else bound[0]


NO_CAPS = Caps()


@dataclass(frozen=True)
class Split:
    """A loss split among the roles."""

    shares_fen: dict[str, int]  # every role of the applied tier(s) -> fen; sums to the loss exactly
    ratios: dict[str, Decimal]  # the ratio applied per role before caps: the tier's, or the blended one ("marginal")
    tier_index: int  # the applied tier ("whole"); the highest tier touched ("marginal")
    capped_fen: int  # fen moved from the fund to the bank because a cap bound (0 if none)
    cap_reason: str | None  # the binding (smallest) cap: "per_loan" | "enterprise" | "year" | "fund_balance"


def tier_for(rule: SharingRule, balance_fen: int) -> int:
    """Index of the tier the loan balance falls in (bounds are inclusive)."""
    if not _is_int(balance_fen) or balance_fen < 0:
        raise ValueError(f"balance must be whole fen ≥ 0 (got {balance_fen!r})")
    for index, tier in enumerate(rule.tiers):
        if tier.up_to_fen is None or balance_fen <= tier.up_to_fen:
            return index
    top = rule.tiers[-1].up_to_fen if rule.tiers else None
    raise ValueError(
        f"balance above the highest tier: {fen_to_yuan(balance_fen)} yuan exceeds the last bound"
        + ("" if top is None else f" of {fen_to_yuan(top)} yuan")
    )


def largest_remainder(total_fen: int, weights: Mapping[str, Fraction]) -> dict[str, int]:
    """Split `total_fen` in proportion to `weights` (which sum to 1) into whole fen adding up to it exactly.

    Each part is the floor of its exact quota; the fen left over go one each to the largest fractional parts, ties
    to the earlier role in `ROLES`.
    """
    quotas = {role: total_fen * weight for role, weight in weights.items()}
    parts = {role: quota.numerator // quota.denominator for role, quota in quotas.items()}
    left = total_fen - sum(parts.values())
    by_remainder = sorted(quotas, key=lambda role: (-(quotas[role] - parts[role]), _ROLE_ORDER.get(role, len(ROLES))))
    for role in by_remainder[:left]:
        parts[role] += 1
    return parts


def _to_decimal(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    if Fraction(exact) == value:
        return exact
    # A blended ratio can repeat forever; it is for display, so twelve places are plenty.
    return exact.quantize(Decimal("1e-12"))


def _blended(rule: SharingRule, balance_fen: int, top: int) -> dict[str, Fraction]:
    if balance_fen == 0:
        # No balance to slice: the first tier is the one a zero balance falls in.
        return {role: Fraction(share) for role, share in rule.tiers[0].shares.items()}
    weights: dict[str, Fraction] = {}
    lower = 0
    for tier in rule.tiers[: top + 1]:
        upper = balance_fen if tier.up_to_fen is None else min(balance_fen, tier.up_to_fen)
        slice_ = Fraction(upper - lower, balance_fen)
        for role, share in tier.shares.items():
            weights[role] = weights.get(role, Fraction(0)) + slice_ * Fraction(share)
        lower = upper
    return weights


def split_loss(*, loss_fen: int, balance_fen: int, rule: SharingRule, caps: Caps = NO_CAPS) -> Split:
    """Split `loss_fen` among the roles of the tier(s) chosen by `balance_fen`, then apply the fund's caps."""
    if not _is_int(loss_fen) or loss_fen < 0:
        raise ValueError(f"loss must be whole fen ≥ 0 (got {loss_fen!r})")
    _require_valid(rule)
    index = tier_for(rule, balance_fen)
    if rule.mode == "whole":
        weights = {role: Fraction(share) for role, share in rule.tiers[index].shares.items()}
    else:
        weights = _blended(rule, balance_fen, index)
    ordered = _ordered(set(weights))
    parts = largest_remainder(loss_fen, {role: weights[role] for role in ordered})
    capped, reason = 0, None
    binding = caps.binding()
    if binding is not None and parts["fund"] > binding[0]:
        capped, reason = parts["fund"] - binding[0], binding[1]
        parts["fund"] = binding[0]
        # The bank lent the money: what the fund may not pay stays with it.
        parts["bank"] += capped
    return Split(
        shares_fen={role: parts[role] for role in ordered},
        ratios={role: _to_decimal(weights[role]) for role in ordered},
        tier_index=index,
        capped_fen=capped,
        cap_reason=reason,
    )
