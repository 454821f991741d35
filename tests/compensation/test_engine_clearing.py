"""Advance payment (先行按比例拨付) and clearing (清算): the worked example, true-ups, caps and conservation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipledge.compensation.engine.clearing import Transfer, advance, clear
from ipledge.compensation.engine.sharing import PAYER_ROLES, Caps, SharingRule
from tests.compensation.test_engine_sharing import (
    JIANGSU,
    MILLION,
    SHENZHEN,
    YUAN,
    ZHONGSHAN,
    caps_strategy,
    rule_and_balance,
)


def test_worked_example_jiangsu_advance_then_clearing() -> None:
    # Loan ¥8 m, ¥6 m principal outstanding at NPL, tier ≤ ¥10 m: fund 0.8, bank 0.2 (domain.md §4.3).
    exposure = 6_000_000 * YUAN
    paid = advance(exposure_fen=exposure, balance_fen=exposure, rule=JIANGSU)
    assert paid == {"fund": 480_000_000}
    result = clear(exposure_fen=exposure, recoveries_fen=200_000_000, balance_fen=exposure, paid_fen=paid, rule=JIANGSU)
    assert result.final_loss_fen == 400_000_000
    assert result.split.shares_fen == {"fund": 320_000_000, "bank": 80_000_000}
    assert result.transfers == (Transfer(payer="bank", payee="fund", fen=160_000_000),)
    assert result.balance_after() == {"fund": 320_000_000}
    assert (result.exposure_fen, result.recoveries_fen, result.paid_fen) == (exposure, 200_000_000, paid)


def test_zhongshan_advance_comes_from_every_payer_and_clears_each() -> None:
    paid = advance(exposure_fen=2 * MILLION, balance_fen=2 * MILLION, rule=ZHONGSHAN)
    assert paid == {"fund": 1_080_000 * YUAN, "insurer": 320_000 * YUAN, "valuer": 80_000 * YUAN}
    result = clear(
        exposure_fen=2 * MILLION, recoveries_fen=MILLION, balance_fen=2 * MILLION, paid_fen=paid, rule=ZHONGSHAN
    )
    assert result.split.shares_fen == {
        "fund": 540_000_00,
        "bank": 260_000_00,
        "insurer": 160_000_00,
        "valuer": 40_000_00,
    }
    assert result.transfers == (
        Transfer("bank", "fund", 540_000_00),
        Transfer("bank", "insurer", 160_000_00),
        Transfer("bank", "valuer", 40_000_00),
    )


def test_partial_advance_is_rounded_half_up_and_topped_up_at_clearing() -> None:
    # 6,000,000.01 yuan × 0.8 = 4,800,000.008 → the fund's share is 480,000,001 fen (largest remainder);
    # half of it is 240,000,000.5 fen → 240,000,001 fen, half up.
    paid = advance(exposure_fen=600_000_001, balance_fen=600_000_001, rule=JIANGSU, advance_ratio=Decimal("0.5"))
    assert paid == {"fund": 240_000_001}
    # Nothing recovered: the fund owes the rest of its share.
    result = clear(exposure_fen=600_000_001, recoveries_fen=0, balance_fen=600_000_001, paid_fen=paid, rule=JIANGSU)
    assert result.transfers == (Transfer(payer="fund", payee="bank", fen=240_000_000),)
    assert result.balance_after() == {"fund": 480_000_001}


def test_advance_respects_the_fund_caps() -> None:
    caps = Caps(fund_per_loan_fen=3 * MILLION, fund_available_fen=2 * MILLION)
    assert advance(exposure_fen=6 * MILLION, balance_fen=6 * MILLION, rule=JIANGSU, caps=caps) == {"fund": 2 * MILLION}


def test_advance_omits_payers_with_nothing_to_pay() -> None:
    assert advance(exposure_fen=0, balance_fen=5 * MILLION, rule=ZHONGSHAN) == {}
    assert advance(exposure_fen=1, balance_fen=1, rule=ZHONGSHAN) == {"fund": 1}


@pytest.mark.parametrize("ratio", [Decimal(0), Decimal("1.01"), Decimal("-0.5"), Decimal("NaN")])
def test_advance_ratio_must_be_in_zero_one(ratio: Decimal) -> None:
    with pytest.raises(ValueError, match="advance_ratio"):
        advance(exposure_fen=100, balance_fen=100, rule=SHENZHEN, advance_ratio=ratio)


def test_advance_ratio_is_never_a_float() -> None:
    with pytest.raises(TypeError, match="advance_ratio"):
        advance(exposure_fen=100, balance_fen=100, rule=SHENZHEN, advance_ratio=0.5)  # type: ignore[arg-type]


def test_recoveries_above_the_exposure_return_everything() -> None:
    result = clear(
        exposure_fen=MILLION,
        recoveries_fen=2 * MILLION,
        balance_fen=MILLION,
        paid_fen={"fund": 80 * 10_000 * YUAN},
        rule=JIANGSU,
    )
    assert result.final_loss_fen == 0
    assert result.split.shares_fen == {"fund": 0, "bank": 0}
    assert result.transfers == (Transfer("bank", "fund", 80 * 10_000 * YUAN),)


def test_a_payer_outside_the_rule_gets_its_money_back() -> None:
    result = clear(
        exposure_fen=MILLION, recoveries_fen=0, balance_fen=MILLION, paid_fen={"insurer": 100, "fund": 0}, rule=JIANGSU
    )
    assert result.transfers == (
        Transfer(payer="fund", payee="bank", fen=80 * 10_000 * YUAN),
        Transfer("bank", "insurer", 100),
    )
    assert result.balance_after() == {"fund": 800_000 * YUAN, "insurer": 0}


def test_clearing_caps_the_final_share_too() -> None:
    # The fund advanced 4.8 m; by clearing the fund's balance has fallen to 1 m, so it may keep at most 1 m.
    result = clear(
        exposure_fen=6 * MILLION,
        recoveries_fen=2 * MILLION,
        balance_fen=6 * MILLION,
        paid_fen={"fund": 4_800_000 * YUAN},
        rule=JIANGSU,
        caps=Caps(fund_available_fen=MILLION),
    )
    assert result.split.shares_fen == {"fund": MILLION, "bank": 3 * MILLION}
    assert (result.split.capped_fen, result.split.cap_reason) == (2_200_000 * YUAN, "fund_balance")
    assert result.transfers == (Transfer("bank", "fund", 3_800_000 * YUAN),)


@pytest.mark.parametrize(
    ("paid", "error"),
    [
        ({"bank": 100}, ValueError),
        ({"sponsor": 100}, ValueError),
        ({"fund": -1}, ValueError),
        ({"fund": 1.0}, TypeError),
    ],
)
def test_paid_must_be_whole_fen_from_payer_roles(paid: dict[str, int], error: type[Exception]) -> None:
    with pytest.raises(error):
        clear(exposure_fen=100, recoveries_fen=0, balance_fen=100, paid_fen=paid, rule=SHENZHEN)


def test_negative_or_float_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="recoveries_fen"):
        clear(exposure_fen=100, recoveries_fen=-1, balance_fen=100, paid_fen={}, rule=SHENZHEN)
    with pytest.raises(TypeError, match="exposure_fen"):
        advance(exposure_fen=100.0, balance_fen=100, rule=SHENZHEN)  # type: ignore[arg-type]


payments = st.dictionaries(st.sampled_from(PAYER_ROLES), st.integers(0, 10**11), max_size=4)


@settings(max_examples=200, deadline=None)
@given(rule_and_balance(), st.integers(0, 10**11), st.integers(0, 2 * 10**11), payments, caps_strategy)
def test_clearing_conserves_money(
    pair: tuple[SharingRule, int], exposure: int, recoveries: int, paid: dict[str, int], caps: Caps
) -> None:
    rule, balance = pair
    result = clear(
        exposure_fen=exposure, recoveries_fen=recoveries, balance_fen=balance, paid_fen=paid, rule=rule, caps=caps
    )
    shares = result.split.shares_fen
    assert result.final_loss_fen == max(exposure - recoveries, 0)
    assert sum(shares.values()) == result.final_loss_fen
    assert all(fen >= 0 for fen in shares.values())
    limit = caps.limit_fen()
    if limit is not None:
        assert shares["fund"] <= limit
    assert shares["bank"] == result.final_loss_fen - sum(fen for role, fen in shares.items() if role in PAYER_ROLES)
    for transfer in result.transfers:
        assert transfer.fen > 0
        assert "bank" in (transfer.payer, transfer.payee) and transfer.payer != transfer.payee
    for role in set(paid) | {r for r in shares if r in PAYER_ROLES}:
        into_bank = sum(t.fen for t in result.transfers if t.payer == role and t.payee == "bank")
        from_bank = sum(t.fen for t in result.transfers if t.payer == "bank" and t.payee == role)
        assert paid.get(role, 0) + into_bank - from_bank == shares.get(role, 0)
        assert result.balance_after()[role] == shares.get(role, 0)
    assert len({t.payer if t.payee == "bank" else t.payee for t in result.transfers}) == len(result.transfers)


@settings(max_examples=200, deadline=None)
@given(
    rule_and_balance(),
    st.integers(0, 10**11),
    caps_strategy,
    st.integers(1, 100).map(lambda n: Decimal(n) / 100),
)
def test_advance_never_exceeds_the_share_or_the_cap(
    pair: tuple[SharingRule, int], exposure: int, caps: Caps, ratio: Decimal
) -> None:
    rule, balance = pair
    paid = advance(exposure_fen=exposure, balance_fen=balance, rule=rule, caps=caps, advance_ratio=ratio)
    full = advance(exposure_fen=exposure, balance_fen=balance, rule=rule, caps=caps)
    assert set(paid) <= set(PAYER_ROLES)
    assert all(fen > 0 for fen in paid.values())
    limit = caps.limit_fen()
    if limit is not None:
        assert paid.get("fund", 0) <= limit
    for role, fen in paid.items():
        assert fen <= full[role]
        assert abs(Decimal(fen) - ratio * full[role]) <= Decimal("0.5")
    # Clearing straight after a full advance with nothing recovered moves no money.
    assert (
        clear(
            exposure_fen=exposure, recoveries_fen=0, balance_fen=balance, paid_fen=full, rule=rule, caps=caps
        ).transfers
        == ()
    )
