"""Advance payment and clearing (前置补偿 + 清算) of a compensation claim.

The 2021 Action Plan asks funds to pay their share first and settle after the collateral is sold: "先行按比例拨付
补偿金，待质物处置后再行清算" (domain.md §4.3). So a claim has two money events:

1. **Advance payment (先行按比例拨付)** when the loan turns non-performing: each payer (the fund and any insurer,
   guarantor or valuer in the scheme) pays the bank its share of the exposure (the outstanding principal), or a
   stated fraction (`advance_ratio`) of it. The bank bears the rest, plus all interest.
2. **Clearing (清算)** once the pledged rights have been disposed of (质物处置): the final loss is the exposure less
   the net recoveries (sale price less disposal costs, plus anything else recovered from the borrower or a
   guarantor), never below zero. Each party's final share is the same rule applied to the final loss, and the
   difference from what it advanced is trued up: an over-payment comes back from the bank (a clawback, 追回), an
   under-payment is topped up.

Jiangsu worked example (domain.md §4.3, exact in the tests): principal ¥6 m at NPL, tier ≤ ¥10 m (fund 0.8, bank
0.2). The fund advances ¥4.8 m; disposal nets ¥2 m; the final loss is ¥4 m, the fund's final share ¥3.2 m, so the
bank returns ¥1.6 m (= 80 % of the recovery) to the fund and keeps a final share of ¥0.8 m.

The tier is chosen by the balance at NPL in both steps (see `sharing`). The caps passed to `clear` describe the
fund's limit for this loan's *total* payout, so "remaining" caps must count the amount advanced for this loan as
still available (they are the remaining figures as they stood before the advance).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .sharing import NO_CAPS, PAYER_ROLES, ROLES, Caps, SharingRule, Split, split_loss

_ROLE_ORDER = {role: index for index, role in enumerate(ROLES)}


@dataclass(frozen=True)
class Transfer:
    """One true-up payment between the bank and a payer role."""

    payer: str  # role
    payee: str  # role
    fen: int  # > 0


def _whole_fen(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be whole fen (int), got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative (got {value})")
    return value


def _round_half_up(value: Fraction) -> int:
    # Amounts here are never negative, so half-up is floor(x + 1/2).
    shifted = value + Fraction(1, 2)
    return shifted.numerator // shifted.denominator


def advance(
    *,
    exposure_fen: int,
    balance_fen: int,
    rule: SharingRule,
    caps: Caps = NO_CAPS,
    advance_ratio: Decimal = Decimal(1),
) -> dict[str, int]:
    """What each payer role pays the bank in advance: `advance_ratio` × its share of the exposure.

    Each amount is rounded half up to the fen on its own (it is one payment, not a split). The fund never pays above
    `caps.limit_fen()`. Roles paying nothing are left out.
    """
    _whole_fen(exposure_fen, "exposure_fen")
    if isinstance(advance_ratio, bool) or not isinstance(advance_ratio, Decimal | int):
        raise TypeError(f"advance_ratio must be a Decimal, got {type(advance_ratio).__name__}")
    ratio = Decimal(advance_ratio)
    if not ratio.is_finite() or not 0 < ratio <= 1:
        raise ValueError(f"advance_ratio must be above 0 and at most 1 (got {ratio})")
    split = split_loss(loss_fen=exposure_fen, balance_fen=balance_fen, rule=rule, caps=caps)
    limit = caps.limit_fen()
    paid: dict[str, int] = {}
    for role, share in split.shares_fen.items():
        if role not in PAYER_ROLES:
            continue
        amount = _round_half_up(share * Fraction(ratio))
        if role == "fund" and limit is not None:
            amount = min(amount, limit)
        if amount > 0:
            paid[role] = amount
    return paid


@dataclass(frozen=True)
class Clearing:
    """The outcome of clearing one claim after disposal."""

    exposure_fen: int
    recoveries_fen: int
    final_loss_fen: int  # max(exposure − recoveries, 0)
    split: Split  # split_loss(final loss, balance at NPL, rule, caps)
    paid_fen: dict[str, int]  # what each payer role had paid before clearing (the input)
    transfers: tuple[Transfer, ...]  # true-ups, in ROLES order: bank → role (over-paid) or role → bank (under-paid)

    def balance_after(self) -> dict[str, int]:
        """Net paid per payer role after the true-ups; equals `split.shares_fen` for every payer role."""
        roles = set(self.paid_fen) | {role for role in self.split.shares_fen if role in PAYER_ROLES}
        net = {role: self.paid_fen.get(role, 0) for role in sorted(roles, key=_ROLE_ORDER.__getitem__)}
        for transfer in self.transfers:
            if transfer.payee == "bank":
                net[transfer.payer] += transfer.fen
            else:
                net[transfer.payee] -= transfer.fen
        return net


def clear(
    *,
    exposure_fen: int,
    recoveries_fen: int,
    balance_fen: int,
    paid_fen: Mapping[str, int],
    rule: SharingRule,
    caps: Caps = NO_CAPS,
) -> Clearing:
    """Final loss, final shares and the true-up transfers of a claim whose collateral has been disposed of.

    `paid_fen` is what each payer role paid the bank before clearing (normally the advance). A payer role that
    paid but has no share in the rule gets everything back; the bank's final share is what the payers do not bear.
    """
    _whole_fen(exposure_fen, "exposure_fen")
    _whole_fen(recoveries_fen, "recoveries_fen")
    paid: dict[str, int] = {}
    for role in sorted(paid_fen, key=lambda r: _ROLE_ORDER.get(r, len(ROLES))):
        if role not in PAYER_ROLES:
            raise ValueError(f"paid_fen: {role!r} is not a payer role ({', '.join(PAYER_ROLES)})")
        paid[role] = _whole_fen(paid_fen[role], f"paid_fen[{role!r}]")
    final_loss = max(exposure_fen - recoveries_fen, 0)
    split = split_loss(loss_fen=final_loss, balance_fen=balance_fen, rule=rule, caps=caps)
    roles = set(paid) | {role for role in split.shares_fen if role in PAYER_ROLES}
    transfers: list[Transfer] = []
    for role in sorted(roles, key=_ROLE_ORDER.__getitem__):
        difference = paid.get(role, 0) - split.shares_fen.get(role, 0)
        if difference > 0:
            transfers.append(Transfer(payer="bank", payee=role, fen=difference))
        elif difference < 0:
            transfers.append(Transfer(payer=role, payee="bank", fen=-difference))
    return Clearing(
        exposure_fen=exposure_fen,
        recoveries_fen=recoveries_fen,
        final_loss_fen=final_loss,
        split=split,
        paid_fen=paid,
        transfers=tuple(transfers),
    )
