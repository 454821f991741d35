"""The five-category classification engine (五级分类): every trigger, the edges, upgrades, overrides, the frame."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipledge.lending.choices import CLASS_RANK, LoanClass
from ipledge.lending.engine.classification import (
    CLASSES,
    FRAME_SCHEMA,
    RULES,
    LoanFacts,
    add_months,
    classify,
    classify_frame,
    facts_row,
    portfolio_facts,
)

DAY = dt.date(2026, 6, 30)
N, SM, SS, DB, LS = CLASSES


def decide(**kw: object) -> tuple[str, tuple[str, ...]]:
    d = classify(LoanFacts(**kw), business_day=DAY)  # type: ignore[arg-type]
    return d.to_class, d.reasons


def test_vocabulary_matches_the_model_choices() -> None:
    assert list(CLASSES) == list(LoanClass.values)
    assert {c: i for i, c in enumerate(CLASSES)} == CLASS_RANK


def test_every_rule_has_both_descriptions_and_a_citation() -> None:
    for rule in RULES.values():
        assert rule.zh and rule.en and "风险分类办法" in rule.citation
        assert rule.floor in (*CLASSES, "")


def test_a_clean_loan_is_normal() -> None:
    assert decide() == (N, ())


@pytest.mark.parametrize(
    ("dpd", "expected"),
    [
        (0, (N, ())),
        (1, (N, ())),
        (7, (N, ())),
        (8, (SM, ("dpd_gt_7",))),
        (90, (SM, ("dpd_gt_7",))),
        (91, (SS, ("dpd_gt_90",))),
        (270, (SS, ("dpd_gt_90",))),
        (271, (DB, ("dpd_gt_270",))),
        (360, (DB, ("dpd_gt_270",))),
        (361, (LS, ("dpd_gt_360",))),
    ],
)
def test_days_past_due_bands_and_their_edges(dpd: int, expected: tuple[str, tuple[str, ...]]) -> None:
    assert decide(days_past_due=dpd) == expected


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("funds_misused", SM),
        ("refinanced_by_new_loan", SM),
        ("debtor_npl_elsewhere", SM),
        ("credit_impaired", SS),
        ("external_rating_downgraded", SS),
    ],
)
def test_event_flags(flag: str, expected: str) -> None:
    assert decide(**{flag: True}) == (expected, (flag,))


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        ("0.4999", (SS, ("credit_impaired",))),
        ("0.5", (DB, ("credit_impaired", "ecl_ge_50pct"))),
        ("0.8999", (DB, ("credit_impaired", "ecl_ge_50pct"))),
        ("0.9", (LS, ("credit_impaired", "ecl_ge_90pct"))),
        ("1", (LS, ("credit_impaired", "ecl_ge_90pct"))),
    ],
)
def test_expected_credit_loss_bands_need_impairment(ratio: str, expected: tuple[str, tuple[str, ...]]) -> None:
    assert decide(credit_impaired=True, expected_loss_ratio=Decimal(ratio)) == expected
    # Without the impairment flag a loss estimate alone triggers nothing.
    assert decide(expected_loss_ratio=Decimal(ratio)) == (N, ())


def test_several_triggers_take_the_worst_and_list_every_rule() -> None:
    cls, reasons = decide(days_past_due=30, funds_misused=True, external_rating_downgraded=True)
    assert cls == SS
    assert reasons == ("dpd_gt_7", "funds_misused", "external_rating_downgraded")


@pytest.mark.parametrize(
    ("npl", "claims", "fires"),
    [(10, 100, False), (11, 100, True), (1_000_001, 10_000_000, True), (1_000_000, 10_000_000, False), (0, 0, False)],
)
def test_cross_default_at_this_bank_is_strictly_more_than_ten_percent(npl: int, claims: int, fires: bool) -> None:
    cls, reasons = decide(bank_npl_fen=npl, bank_claims_fen=claims)
    assert (cls, reasons) == ((SS, ("cross_default_bank_10pct",)) if fires else (N, ()))


@pytest.mark.parametrize(
    ("over90", "debts", "fires"), [(20, 100, False), (21, 100, True), (2_000_001, 10_000_000, True)]
)
def test_cross_default_at_all_banks_is_strictly_more_than_twenty_percent(over90: int, debts: int, fires: bool) -> None:
    cls, reasons = decide(platform_over90_fen=over90, platform_claims_fen=debts)
    assert (cls, reasons) == ((SS, ("cross_default_platform_20pct",)) if fires else (N, ()))


def test_restructured_loan_is_special_mention_until_the_end_of_observation() -> None:
    assert decide(restructure_observation_until=DAY) == (SM, ("restructure_observation",))
    assert decide(restructure_observation_until=DAY - dt.timedelta(days=1)) == (N, ())
    # Observation does not soften a worse trigger.
    assert decide(restructure_observation_until=DAY, days_past_due=95)[0] == SS


def test_special_mention_returns_to_normal_as_soon_as_no_trigger_holds() -> None:
    assert decide(current_class=SM) == (N, ())


def _npl(**kw: object) -> tuple[str, tuple[str, ...]]:
    base: dict[str, object] = {"current_class": SS, "days_past_due": 0}
    return decide(**{**base, **kw})


def test_non_performing_is_sticky_while_arrears_remain() -> None:
    # dpd fell from 95 to 30 after a partial payment: still 次级, not 关注.
    assert _npl(days_past_due=30) == (SS, ("dpd_gt_7", "npl_upgrade_conditions_unmet"))
    assert decide(current_class=DB, days_past_due=100) == (DB, ("dpd_gt_90", "npl_upgrade_conditions_unmet"))


def test_upgrade_needs_arrears_cleared() -> None:
    assert _npl(arrears_cleared_on=None, periods_paid_on_time=5) == (SS, ("npl_upgrade_conditions_unmet",))


def test_upgrade_two_periods_but_not_six_months_is_not_enough() -> None:
    # Monthly loan: two on-time periods after 3 months; the 6 months are the longer condition.
    assert _npl(arrears_cleared_on=DAY - dt.timedelta(days=90), periods_paid_on_time=3)[0] == SS


def test_upgrade_six_months_but_not_two_periods_is_not_enough() -> None:
    # Semi-annual loan: 8 months passed but only one period fell due; two periods are the longer condition.
    assert _npl(arrears_cleared_on=add_months(DAY, -8), periods_paid_on_time=1)[0] == SS


def test_upgrade_when_both_hold_exactly_on_the_six_month_day() -> None:
    facts = LoanFacts(current_class=SS, arrears_cleared_on=dt.date(2025, 12, 15), periods_paid_on_time=2)
    assert classify(facts, business_day=dt.date(2026, 6, 15)) == classify(LoanFacts(), business_day=DAY)
    held = classify(facts, business_day=dt.date(2026, 6, 14))
    assert (held.to_class, held.reasons) == (SS, ("npl_upgrade_conditions_unmet",))


def test_upgrade_goes_to_the_class_the_rules_give() -> None:
    assert _npl(arrears_cleared_on=add_months(DAY, -7), periods_paid_on_time=2, funds_misused=True) == (
        SM,
        ("funds_misused",),
    )
    # From 损失 straight to 正常 when the conditions hold.
    assert decide(current_class=LS, arrears_cleared_on=add_months(DAY, -12), periods_paid_on_time=4) == (N, ())


def test_upgrade_blocked_by_credit_impairment_of_the_debtor_at_the_bank() -> None:
    good = {"arrears_cleared_on": add_months(DAY, -12), "periods_paid_on_time": 4}
    assert _npl(**good, debtor_impaired_at_bank=True) == (SS, ("npl_upgrade_conditions_unmet",))
    assert _npl(current_class=DB, **good, credit_impaired=True) == (
        DB,
        ("credit_impaired", "npl_upgrade_conditions_unmet"),
    )


def test_a_worse_class_is_never_held_back() -> None:
    assert _npl(days_past_due=300) == (DB, ("dpd_gt_270",))


def test_manual_override_is_a_floor() -> None:
    assert decide(manual_class=DB) == (DB, ("manual_override",))
    # It cannot make the class better than the days-past-due floor …
    assert decide(manual_class=N, days_past_due=100) == (SS, ("dpd_gt_90", "manual_override"))
    # … nor lift a non-performing loan whose upgrade conditions are unmet.
    assert decide(manual_class=SM, current_class=SS) == (SS, ("manual_override", "npl_upgrade_conditions_unmet"))
    assert decide(manual_class=LS, days_past_due=100) == (LS, ("dpd_gt_90", "manual_override"))


def test_add_months_clamps_like_polars() -> None:
    days = [dt.date(2024, 8, 31), dt.date(2025, 8, 31), dt.date(2024, 1, 15), dt.date(2023, 12, 31)]
    frame = pl.DataFrame({"d": days}).select(pl.col("d").dt.offset_by("6mo"))
    assert frame["d"].to_list() == [add_months(d, 6) for d in days]
    assert add_months(dt.date(2024, 8, 31), 6) == dt.date(2025, 2, 28)


# --- the frame agrees with the scalar engine --------------------------------------------------------------------

_dates = st.one_of(st.none(), st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2027, 12, 31)))
_fen = st.integers(min_value=0, max_value=10**11)
_facts = st.builds(
    LoanFacts,
    current_class=st.sampled_from(CLASSES),
    days_past_due=st.one_of(st.sampled_from([0, 7, 8, 90, 91, 270, 271, 360, 361]), st.integers(0, 2000)),
    funds_misused=st.booleans(),
    refinanced_by_new_loan=st.booleans(),
    credit_impaired=st.booleans(),
    external_rating_downgraded=st.booleans(),
    expected_loss_ratio=st.one_of(
        st.none(),
        st.sampled_from([Decimal("0.5"), Decimal("0.9"), Decimal("0.4999"), Decimal("0.8999")]),
        st.decimals(min_value=0, max_value=1, places=4),
    ),
    debtor_npl_elsewhere=st.booleans(),
    debtor_impaired_at_bank=st.booleans(),
    bank_claims_fen=_fen,
    bank_npl_fen=_fen,
    platform_claims_fen=_fen,
    platform_over90_fen=_fen,
    restructure_observation_until=_dates,
    arrears_cleared_on=_dates,
    periods_paid_on_time=st.integers(0, 6),
    manual_class=st.sampled_from(("", *CLASSES)),
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(_facts, min_size=1, max_size=40),
    day=st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2027, 12, 31)),
)
def test_classify_frame_equals_classify(rows: list[LoanFacts], day: dt.date) -> None:
    frame = pl.DataFrame([facts_row(f) for f in rows], schema=FRAME_SCHEMA)
    out = classify_frame(frame, business_day=day)
    expected = [classify(f, business_day=day) for f in rows]
    assert out["to_class"].to_list() == [d.to_class for d in expected]
    assert [tuple(r) for r in out["reasons"].to_list()] == [d.reasons for d in expected]


def test_classify_frame_fills_missing_columns_with_defaults() -> None:
    out = classify_frame(pl.DataFrame({"loan_id": [1, 2], "days_past_due": [0, 100]}), business_day=DAY)
    assert out["to_class"].to_list() == [N, SS]
    assert out["loan_id"].to_list() == [1, 2]


def test_portfolio_facts_cross_default() -> None:
    # Debtor 1 at bank 10: loan a (dpd 95, 200 fen) makes loan b (800 fen, 20 % > 10 %) non-performing; its loan
    # c at bank 20 is only 关注 (an NPL elsewhere) since 200/1000 of its debts are over 90 days, not more than 20 %.
    frame = pl.DataFrame(
        {
            "loan_id": [1, 2, 3, 4],
            "borrower_id": [1, 1, 1, 2],
            "head_office_id": [10, 10, 20, 10],
            "outstanding_fen": [200, 800, 0, 500],
            "current_class": [N, N, N, N],
            "days_past_due": [95, 0, 0, 0],
        }
    )
    facts = portfolio_facts(frame, business_day=DAY)
    out = classify_frame(facts, business_day=DAY).sort("loan_id")
    # Numerators leave the loan's own amount out: loan 1 is 次级 by its own days past due.
    assert out["bank_npl_fen"].to_list() == [0, 200, 0, 0]
    assert out["bank_claims_fen"].to_list() == [1000, 1000, 0, 500]
    assert out["platform_over90_fen"].to_list() == [0, 200, 200, 0]
    assert out["to_class"].to_list() == [SS, SS, SM, N]
    assert out["reasons"].to_list()[0] == ["dpd_gt_90"]
    assert out["reasons"].to_list()[1] == ["debtor_npl_elsewhere", "cross_default_bank_10pct"]
    assert out["reasons"].to_list()[2] == ["debtor_npl_elsewhere"]
    # One more fen over 90 days at all banks tips the 20 % rule for every loan of the debtor.
    frame2 = frame.with_columns(
        pl.when(pl.col("loan_id") == 1).then(201).otherwise(pl.col("outstanding_fen")).alias("outstanding_fen")
    )
    out2 = classify_frame(portfolio_facts(frame2, business_day=DAY), business_day=DAY).sort("loan_id")
    assert out2["to_class"].to_list() == [SS, SS, SS, N]
    assert "cross_default_platform_20pct" in out2["reasons"].to_list()[2]
