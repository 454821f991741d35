"""Loss-sharing rules (损失分担): the published schemes, tiers, marginal mode, caps, validation and parsing."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipledge.compensation.engine.sharing import (
    PAYER_ROLES,
    ROLES,
    Caps,
    FloatRejectedError,
    SharingRule,
    Tier,
    largest_remainder,
    rule_from_data,
    rule_to_data,
    split_loss,
    tier_for,
    validate_rule,
)

D = Decimal
YUAN = 100
MILLION = 1_000_000 * YUAN

ZHONGSHAN = SharingRule(
    tiers=(Tier(None, {"fund": D("0.54"), "bank": D("0.26"), "insurer": D("0.16"), "valuer": D("0.04")}),)
)
ZHUHAI = SharingRule(tiers=(Tier(None, {"fund": D("0.4"), "bank": D("0.6")}),))
SHENZHEN = SharingRule(tiers=(Tier(None, {"fund": D("0.5"), "bank": D("0.5")}),))
JIANGSU_DATA: list[dict[str, Any]] = [
    {"up_to": "10000000.00", "shares": {"fund": "0.8", "bank": "0.2"}},
    {"up_to": "30000000.00", "shares": {"fund": "0.5", "bank": "0.5"}},
]
JIANGSU = SharingRule(
    tiers=(
        Tier(10 * MILLION, {"fund": D("0.8"), "bank": D("0.2")}),
        Tier(30 * MILLION, {"fund": D("0.5"), "bank": D("0.5")}),
    )
)
JIANGSU_MARGINAL = SharingRule(tiers=JIANGSU.tiers, mode="marginal")


# --- the published schemes -----------------------------------------------------------------------------------


def test_zhongshan_four_party_split_of_one_million() -> None:
    split = split_loss(loss_fen=1 * MILLION, balance_fen=5 * MILLION, rule=ZHONGSHAN)
    assert split.shares_fen == {"fund": 540_000_00, "bank": 260_000_00, "insurer": 160_000_00, "valuer": 40_000_00}
    assert list(split.shares_fen) == ["fund", "bank", "insurer", "valuer"]
    assert split.ratios == {"fund": D("0.54"), "bank": D("0.26"), "insurer": D("0.16"), "valuer": D("0.04")}
    assert (split.tier_index, split.capped_fen, split.cap_reason) == (0, 0, None)


def test_zhuhai_bank_sixty_fund_forty() -> None:
    split = split_loss(loss_fen=2_500_000 * YUAN, balance_fen=3 * MILLION, rule=ZHUHAI)
    assert split.shares_fen == {"fund": 1_000_000 * YUAN, "bank": 1_500_000 * YUAN}


def test_shenzhen_one_to_one_gives_the_odd_fen_to_the_fund() -> None:
    # 100.01 yuan split 1:1: 50.005 each; the tie goes to the fund, as ROUND_HALF_UP of its share would.
    assert split_loss(loss_fen=10_001, balance_fen=10_001, rule=SHENZHEN).shares_fen == {"fund": 5_001, "bank": 5_000}


def test_jiangsu_tiers_follow_the_balance_at_npl() -> None:
    first = split_loss(loss_fen=6 * MILLION, balance_fen=6 * MILLION, rule=JIANGSU)
    assert first.shares_fen == {"fund": 4_800_000 * YUAN, "bank": 1_200_000 * YUAN}
    assert first.tier_index == 0
    second = split_loss(loss_fen=20 * MILLION, balance_fen=20 * MILLION, rule=JIANGSU)
    assert second.shares_fen == {"fund": 10 * MILLION, "bank": 10 * MILLION}
    assert second.tier_index == 1
    assert second.ratios == {"fund": D("0.5"), "bank": D("0.5")}


def test_tier_bounds_are_inclusive() -> None:
    assert tier_for(JIANGSU, 0) == 0
    assert tier_for(JIANGSU, 10 * MILLION) == 0
    assert tier_for(JIANGSU, 10 * MILLION + 1) == 1
    assert tier_for(JIANGSU, 30 * MILLION) == 1
    assert tier_for(ZHONGSHAN, 10**15) == 0


def test_balance_above_the_last_bounded_tier_raises() -> None:
    with pytest.raises(ValueError, match="balance above the highest tier"):
        tier_for(JIANGSU, 30 * MILLION + 1)
    with pytest.raises(ValueError, match="balance above the highest tier"):
        split_loss(loss_fen=MILLION, balance_fen=35 * MILLION, rule=JIANGSU)


def test_the_balance_not_the_final_loss_picks_the_tier() -> None:
    # A ¥20 m balance stays in the 50:50 tier even when only ¥1 m is finally lost.
    split = split_loss(loss_fen=MILLION, balance_fen=20 * MILLION, rule=JIANGSU)
    assert split.shares_fen == {"fund": 500_000 * YUAN, "bank": 500_000 * YUAN}


def test_zero_loss_splits_into_zeros() -> None:
    split = split_loss(loss_fen=0, balance_fen=5 * MILLION, rule=ZHONGSHAN, caps=Caps(fund_per_loan_fen=0))
    assert split.shares_fen == {"fund": 0, "bank": 0, "insurer": 0, "valuer": 0}
    assert (split.capped_fen, split.cap_reason) == (0, None)


# --- marginal mode (by hand) -----------------------------------------------------------------------------------


def test_marginal_mode_blends_the_tiers_by_balance_slices() -> None:
    # Balance ¥20 m = ¥10 m at 0.8 + ¥10 m at 0.5 → fund (8 + 5) / 20 = 0.65. Loss ¥12 m → fund 7.8 m, bank 4.2 m.
    split = split_loss(loss_fen=12 * MILLION, balance_fen=20 * MILLION, rule=JIANGSU_MARGINAL)
    assert split.shares_fen == {"fund": 7_800_000 * YUAN, "bank": 4_200_000 * YUAN}
    assert split.ratios == {"fund": D("0.65"), "bank": D("0.35")}
    assert split.tier_index == 1


def test_marginal_mode_rounds_by_largest_remainder() -> None:
    # Balance ¥15 m = ¥10 m at 0.8 + ¥5 m at 0.5 → fund (8 + 2.5) / 15 = 0.7, bank 0.3.
    # Loss 900,000,001 fen: quotas 630,000,000.7 and 270,000,000.3 → the spare fen goes to the fund (.7 > .3).
    split = split_loss(loss_fen=900_000_001, balance_fen=15 * MILLION, rule=JIANGSU_MARGINAL)
    assert split.shares_fen == {"fund": 630_000_001, "bank": 270_000_000}
    assert split.ratios == {"fund": D("0.7"), "bank": D("0.3")}


def test_marginal_mode_in_the_first_tier_equals_whole_mode() -> None:
    whole = split_loss(loss_fen=4 * MILLION, balance_fen=6 * MILLION, rule=JIANGSU)
    marginal = split_loss(loss_fen=4 * MILLION, balance_fen=6 * MILLION, rule=JIANGSU_MARGINAL)
    assert marginal == whole
    assert split_loss(loss_fen=100, balance_fen=0, rule=JIANGSU_MARGINAL).shares_fen == {"fund": 80, "bank": 20}


def test_marginal_blended_ratio_that_does_not_terminate_is_shown_to_twelve_places() -> None:
    # Balance ¥30 m = 10 at 0.8 + 20 at 0.5 → fund 18 / 30 = 0.6 exactly.
    assert split_loss(loss_fen=0, balance_fen=30 * MILLION, rule=JIANGSU_MARGINAL).ratios["fund"] == D("0.6")
    rule = SharingRule(
        tiers=(Tier(1 * YUAN, {"fund": D("1"), "bank": D("0")}), Tier(None, {"fund": D("0.5"), "bank": D("0.5")})),
        mode="marginal",
    )
    # 3 yuan = 1 at 1.0 + 2 at 0.5 → fund 2/3.
    split = split_loss(loss_fen=300, balance_fen=300, rule=rule)
    assert split.ratios["fund"] == D("0.666666666667")
    assert split.shares_fen == {"fund": 200, "bank": 100}


# --- caps ------------------------------------------------------------------------------------------------------


def test_per_loan_cap_moves_the_excess_to_the_bank() -> None:
    split = split_loss(
        loss_fen=6 * MILLION, balance_fen=6 * MILLION, rule=JIANGSU, caps=Caps(fund_per_loan_fen=3 * MILLION)
    )
    assert split.shares_fen == {"fund": 3 * MILLION, "bank": 3 * MILLION}
    assert (split.capped_fen, split.cap_reason) == (1_800_000 * YUAN, "per_loan")
    # The ratios stay the rule's: the cap shows as capped_fen.
    assert split.ratios == {"fund": D("0.8"), "bank": D("0.2")}


def test_fund_balance_cap_when_it_is_the_smallest() -> None:
    caps = Caps(fund_per_loan_fen=3 * MILLION, fund_year_remaining_fen=4 * MILLION, fund_available_fen=250_000 * YUAN)
    split = split_loss(loss_fen=1 * MILLION, balance_fen=1 * MILLION, rule=ZHONGSHAN, caps=caps)
    assert split.shares_fen == {
        "fund": 250_000 * YUAN,
        "bank": 550_000 * YUAN,
        "insurer": 160_000_00,
        "valuer": 40_000_00,
    }
    assert (split.capped_fen, split.cap_reason) == (290_000 * YUAN, "fund_balance")


def test_cap_that_does_not_bind_changes_nothing() -> None:
    caps = Caps(fund_enterprise_remaining_fen=5 * MILLION)
    split = split_loss(loss_fen=6 * MILLION, balance_fen=6 * MILLION, rule=JIANGSU, caps=caps)
    assert split.shares_fen["fund"] == 4_800_000 * YUAN
    assert (split.capped_fen, split.cap_reason) == (0, None)


def test_cap_limit_and_reason() -> None:
    assert Caps().limit_fen() is None
    assert Caps(fund_per_loan_fen=5, fund_year_remaining_fen=3).limit_fen() == 3
    assert Caps(fund_per_loan_fen=3, fund_year_remaining_fen=3).binding() == (3, "per_loan")
    assert Caps(fund_enterprise_remaining_fen=7).binding() == (7, "enterprise")
    # An over-used cap leaves nothing, not a negative payout.
    assert Caps(fund_year_remaining_fen=-10).limit_fen() == 0
    split = split_loss(loss_fen=1_000, balance_fen=1_000, rule=SHENZHEN, caps=Caps(fund_year_remaining_fen=-10))
    assert split.shares_fen == {"fund": 0, "bank": 1_000}
    assert split.cap_reason == "year"
    with pytest.raises(TypeError):
        Caps(fund_per_loan_fen=1.5)  # type: ignore[arg-type]


# --- largest remainder -----------------------------------------------------------------------------------------


def test_largest_remainder_ties_follow_roles_order() -> None:
    third = Fraction(1, 3)
    assert largest_remainder(100, {"fund": third, "bank": third, "insurer": third}) == {
        "fund": 34,
        "bank": 33,
        "insurer": 33,
    }
    assert largest_remainder(101, {"valuer": third, "bank": third, "insurer": third}) == {
        "valuer": 33,
        "bank": 34,
        "insurer": 34,
    }


def test_zhongshan_on_a_few_fen() -> None:
    # 3 fen × (.54, .26, .16, .04) = 1.62, .78, .48, .12 → floors 1, 0, 0, 0; the 2 spare fen go to .78 and .62.
    assert split_loss(loss_fen=3, balance_fen=3, rule=ZHONGSHAN).shares_fen == {
        "fund": 2,
        "bank": 1,
        "insurer": 0,
        "valuer": 0,
    }


# --- validation ------------------------------------------------------------------------------------------------


def problems(rule: SharingRule) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in validate_rule(rule)}


def test_the_published_rules_are_valid() -> None:
    for rule in (ZHONGSHAN, ZHUHAI, SHENZHEN, JIANGSU, JIANGSU_MARGINAL):
        assert validate_rule(rule) == []


def test_shares_must_add_up_to_exactly_one() -> None:
    rule = SharingRule(tiers=(Tier(None, {"fund": D("0.75"), "bank": D("0.2")}),))
    [problem] = validate_rule(rule)
    assert (problem.field, problem.code) == ("tiers[0].shares", "sum")
    assert problem.message == "shares must add up to exactly 1 (got 0.95)"


def test_each_share_between_zero_and_one_and_fund_positive() -> None:
    rule = SharingRule(tiers=(Tier(None, {"fund": D("1.2"), "bank": D("-0.2")}),))
    assert problems(rule) == {("tiers[0].shares.fund", "range"), ("tiers[0].shares.bank", "range")}
    rule = SharingRule(tiers=(Tier(None, {"fund": D("0"), "bank": D("1")}),))
    assert problems(rule) == {("tiers[0].shares.fund", "range")}
    rule = SharingRule(tiers=(Tier(None, {"fund": 0.5, "bank": D("0.5")}),))  # type: ignore[dict-item]
    assert ("tiers[0].shares.fund", "range") in problems(rule)


def test_fund_and_bank_are_required_and_roles_known() -> None:
    assert problems(SharingRule(tiers=())) == {("tiers", "required")}
    rule = SharingRule(tiers=(Tier(None, {"bank": D("1")}),))
    assert problems(rule) == {("tiers[0].shares.fund", "required")}
    rule = SharingRule(tiers=(Tier(None, {"fund": D("1")}),))
    assert problems(rule) == {("tiers[0].shares.bank", "required")}
    rule = SharingRule(tiers=(Tier(None, {"fund": D("0.5"), "bank": D("0.3"), "sponsor": D("0.2")}),))
    assert problems(rule) == {("tiers[0].shares.sponsor", "choice")}


def test_tiers_strictly_ascending_and_only_the_last_unbounded() -> None:
    fifty = {"fund": D("0.5"), "bank": D("0.5")}
    rule = SharingRule(tiers=(Tier(30 * MILLION, fifty), Tier(10 * MILLION, fifty)))
    assert problems(rule) == {("tiers[1].up_to_fen", "order")}
    rule = SharingRule(tiers=(Tier(10 * MILLION, fifty), Tier(10 * MILLION, fifty)))
    assert problems(rule) == {("tiers[1].up_to_fen", "order")}
    rule = SharingRule(tiers=(Tier(None, fifty), Tier(10 * MILLION, fifty)))
    assert problems(rule) == {("tiers[0].up_to_fen", "order")}
    rule = SharingRule(tiers=(Tier(0, fifty),))
    assert problems(rule) == {("tiers[0].up_to_fen", "range")}


def test_mode_must_be_known() -> None:
    [problem] = validate_rule(SharingRule(tiers=SHENZHEN.tiers, mode="progressive"))
    assert (problem.field, problem.code) == ("mode", "choice")


def test_split_refuses_an_invalid_rule_or_a_negative_loss() -> None:
    with pytest.raises(ValueError, match="shares must add up"):
        split_loss(
            loss_fen=100, balance_fen=100, rule=SharingRule(tiers=(Tier(None, {"fund": D("0.5"), "bank": D("0.4")}),))
        )
    with pytest.raises(ValueError, match="loss"):
        split_loss(loss_fen=-1, balance_fen=100, rule=SHENZHEN)
    with pytest.raises(ValueError, match="balance"):
        split_loss(loss_fen=1, balance_fen=-100, rule=SHENZHEN)


# --- parsing ---------------------------------------------------------------------------------------------------


def test_rule_from_data_parses_yuan_bounds_exactly() -> None:
    assert rule_from_data(JIANGSU_DATA) == JIANGSU
    assert rule_from_data(JIANGSU_DATA, mode="marginal") == JIANGSU_MARGINAL
    as_ints = [
        {"up_to": 10_000_000, "shares": {"fund": "0.8", "bank": "0.2"}},
        {"up_to": None, "shares": {"fund": 1, "bank": 0}},
    ]
    rule = rule_from_data(as_ints)
    assert rule.tiers[0].up_to_fen == 10 * MILLION
    assert rule.tiers[1].up_to_fen is None
    assert validate_rule(rule) == []
    assert rule_from_data([{"up_to": "0.01", "shares": {"fund": "1", "bank": "0"}}]).tiers[0].up_to_fen == 1


def test_rule_to_data_is_the_inverse() -> None:
    assert rule_to_data(JIANGSU) == JIANGSU_DATA
    assert rule_to_data(ZHONGSHAN) == [
        {"up_to": None, "shares": {"fund": "0.54", "bank": "0.26", "insurer": "0.16", "valuer": "0.04"}}
    ]


@pytest.mark.parametrize(
    "data",
    [
        [{"up_to": 10_000_000.0, "shares": {"fund": "0.8", "bank": "0.2"}}],
        [{"up_to": None, "shares": {"fund": 0.8, "bank": "0.2"}}],
    ],
)
def test_floats_are_rejected(data: list[dict[str, Any]]) -> None:
    with pytest.raises(TypeError, match="float"):
        rule_from_data(data)
    with pytest.raises(ValueError, match="float"):
        rule_from_data(data)
    with pytest.raises(FloatRejectedError):
        rule_from_data(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not a list", "expected a list"),
        ({"up_to": None}, "expected a list"),
        (["tier"], r"tiers\[0\]: expected an object"),
        ([{"up_to": "ten million", "shares": {"fund": "1", "bank": "0"}}], r"tiers\[0\]\.up_to: 'ten million' is not"),
        ([{"up_to": "100.001", "shares": {"fund": "1", "bank": "0"}}], "fractions of a fen"),
        ([{"up_to": "Infinity", "shares": {"fund": "1", "bank": "0"}}], "not a finite number"),
        ([{"up_to": None}], r"tiers\[0\]\.shares: expected an object"),
        ([{"up_to": None, "shares": {"fund": "x", "bank": "0"}}], r"tiers\[0\]\.shares\.fund"),
        ([{"up_to": None, "shares": {"fund": True, "bank": "0"}}], "got bool"),
        ([{"up_to": None, "shares": {"fund": "1"}, "cap": 3}], "unknown keys cap"),
    ],
)
def test_unparsable_data_raises_value_error(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rule_from_data(data)


def test_parsing_does_not_validate_semantics() -> None:
    rule = rule_from_data([{"up_to": None, "shares": {"fund": "0.7", "bank": "0.2"}}])
    assert [p.code for p in validate_rule(rule)] == ["sum"]


# --- properties ------------------------------------------------------------------------------------------------


@st.composite
def tier_shares(draw: st.DrawFn) -> dict[str, Decimal]:
    extra = draw(st.lists(st.sampled_from(["insurer", "guarantor", "valuer"]), unique=True, max_size=3))
    roles = ["fund", "bank", *extra]
    cuts = sorted(draw(st.lists(st.integers(0, 10_000), min_size=len(roles) - 1, max_size=len(roles) - 1)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 10_000], strict=True)]
    if parts[0] == 0:  # the fund's share must be positive
        donor = max(range(len(parts)), key=parts.__getitem__)
        parts[donor] -= 1
        parts[0] += 1
    return {role: Decimal(part).scaleb(-4) for role, part in zip(roles, parts, strict=True)}


@st.composite
def rules(draw: st.DrawFn) -> SharingRule:
    count = draw(st.integers(1, 4))
    bounds = sorted(draw(st.sets(st.integers(1, 10**11), min_size=count, max_size=count)))
    bounded_last = draw(st.booleans())
    tiers = tuple(
        Tier(None if index == count - 1 and not bounded_last else bound, draw(tier_shares()))
        for index, bound in enumerate(bounds)
    )
    return SharingRule(tiers=tiers, mode=draw(st.sampled_from(["whole", "marginal"])))


@st.composite
def rule_and_balance(draw: st.DrawFn) -> tuple[SharingRule, int]:
    rule = draw(rules())
    top = rule.tiers[-1].up_to_fen
    return rule, draw(st.integers(0, top if top is not None else 2 * 10**11))


caps_strategy = st.builds(
    Caps,
    fund_per_loan_fen=st.none() | st.integers(0, 10**11),
    fund_enterprise_remaining_fen=st.none() | st.integers(-(10**6), 10**11),
    fund_year_remaining_fen=st.none() | st.integers(0, 10**11),
    fund_available_fen=st.none() | st.integers(0, 10**11),
)


@settings(max_examples=200, deadline=None)
@given(rule_and_balance(), st.integers(0, 10**11))
def test_split_adds_up_and_each_part_is_within_a_fen_of_its_quota(pair: tuple[SharingRule, int], loss: int) -> None:
    rule, balance = pair
    assert validate_rule(rule) == []
    split = split_loss(loss_fen=loss, balance_fen=balance, rule=rule)
    assert sum(split.shares_fen.values()) == loss
    assert set(split.shares_fen) <= set(ROLES)
    assert {"fund", "bank"} <= set(split.shares_fen)
    assert list(split.shares_fen) == [r for r in ROLES if r in split.shares_fen]
    for role, fen in split.shares_fen.items():
        assert fen >= 0
        assert abs(Fraction(fen) - loss * Fraction(split.ratios[role])) < 1 + Fraction(loss, 10**12)
    if rule.mode == "whole":
        assert split.ratios == dict(rule.tiers[split.tier_index].shares)
    assert split.tier_index == tier_for(rule, balance)


@settings(max_examples=200, deadline=None)
@given(rule_and_balance(), st.integers(0, 10**11), caps_strategy)
def test_caps_bound_the_fund_and_the_bank_takes_the_excess(
    pair: tuple[SharingRule, int], loss: int, caps: Caps
) -> None:
    rule, balance = pair
    free = split_loss(loss_fen=loss, balance_fen=balance, rule=rule)
    capped = split_loss(loss_fen=loss, balance_fen=balance, rule=rule, caps=caps)
    limit = caps.limit_fen()
    assert sum(capped.shares_fen.values()) == loss
    assert all(fen >= 0 for fen in capped.shares_fen.values())
    if limit is not None:
        assert capped.shares_fen["fund"] <= limit
    excess = free.shares_fen["fund"] - capped.shares_fen["fund"]
    assert excess == capped.capped_fen >= 0
    assert capped.shares_fen["bank"] == free.shares_fen["bank"] + excess
    for role in PAYER_ROLES[1:]:
        assert capped.shares_fen.get(role) == free.shares_fen.get(role)
    assert (capped.cap_reason is None) == (excess == 0)


@settings(max_examples=200, deadline=None)
@given(rules())
def test_rule_data_round_trip(rule: SharingRule) -> None:
    data = rule_to_data(rule)
    assert rule_from_data(data, mode=rule.mode) == rule
    assert rule_to_data(rule_from_data(data)) == data
