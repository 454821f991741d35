"""Bundle valuation (打包质押): overlap discount, concentration, pledge ceiling over eligible rights only."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from ipledge.valuation.engine.bundle import (
    BundleValuation,
    OverlapDiscount,
    ipc_main_group,
    note_texts,
    value_bundle,
)

MONEY_KEYS = (
    "p10_fen",
    "p50_fen",
    "p90_fen",
    "p10_before_fen",
    "p50_before_fen",
    "p90_before_fen",
    "overlap_discount_fen",
    "loan_ceiling_fen",
)


def valued_row(right_id: int, p50: int, *, rate: float = 0.2, eligible: bool = True, **extra: Any) -> dict[str, Any]:
    p10, p90 = p50 // 2, p50 * 2
    return {
        "right_id": right_id,
        "score": 60.0,
        "grade": "BBB",
        "p10_fen": p10,
        "p50_fen": p50,
        "p90_fen": p90,
        "pledge_rate": rate if eligible else 0.0,
        "loan_ceiling_fen": int(rate * p10) // 100 * 100 if eligible else 0,
        "pledge_eligible": eligible,
        "pledge_reasons": extra.pop("reasons", []),
        **extra,
    }


def input_row(right_id: int, kind: str = "patent", **extra: Any) -> dict[str, Any]:
    defaults = {"patent_type": "invention" if kind == "patent" else "", "ipc_section": "", "nice_class_count": None}
    return {"right_id": right_id, "kind": kind, **defaults, **extra}


def bundle(valued: list[dict[str, Any]], rights: list[dict[str, Any]], **kwargs: Any) -> BundleValuation:
    return value_bundle(pl.DataFrame(valued), rights=pl.DataFrame(rights), **kwargs)


def test_overlap_discount_in_same_main_ipc_group() -> None:
    result = bundle(
        [valued_row(1, 1_000_000), valued_row(2, 3_000_000), valued_row(3, 2_000_000)],
        [
            input_row(1, ipc_section="H", main_ipc="H04L 9/32"),
            input_row(2, ipc_section="H", main_ipc="H04L9/08"),
            input_row(3, ipc_section="H", main_ipc="H04W 12/06"),
        ],
    )
    by_id = {r.right_id: r for r in result.rights}
    # Right 2 has the larger P50 in group H04L 9 and keeps it whole; right 1 loses 10 %; right 3 is alone.
    assert by_id[2].overlap_factor_bp == 10_000 and by_id[2].overlap_group == "ipc:H04L 9"
    assert by_id[1].overlap_factor_bp == 9_000 and by_id[1].overlap_rank == 1
    assert by_id[1].p50_fen == 900_000 and by_id[1].p10_fen == 450_000 and by_id[1].p90_fen == 1_800_000
    assert by_id[3].overlap_factor_bp == 10_000 and by_id[3].overlap_group == "ipc:H04W 12"
    assert result.p50_before_fen == 6_000_000 and result.p50_fen == 5_900_000
    assert result.overlap_discount_fen == 100_000
    assert [g.right_ids for g in result.overlap_groups] == [(2, 1)]
    assert "overlap_discount" in result.notes
    # The discounted ceiling of right 1: its 100,000-fen ceiling × 0.9.
    assert by_id[1].loan_ceiling_fen == 90_000


def test_overlap_by_ipc_section_without_main_ipc_and_floor() -> None:
    valued = [valued_row(i, 1_000_000 - i) for i in range(1, 8)]
    rights = [input_row(i, ipc_section="G") for i in range(1, 8)]
    result = bundle(valued, rights, overlap_discount=OverlapDiscount(per_right=0.1, floor=0.7))
    factors = [r.overlap_factor_bp for r in sorted(result.rights, key=lambda r: r.overlap_rank)]
    assert factors == [10_000, 9_000, 8_000, 7_000, 7_000, 7_000, 7_000]
    assert result.overlap_groups[0].basis == "ipc_section"


def test_float_shorthand_and_unknown_ipc_not_grouped() -> None:
    result = bundle(
        [valued_row(1, 500_000), valued_row(2, 400_000)],
        [input_row(1, ipc_section=""), input_row(2, ipc_section="")],
        overlap_discount=0.25,
    )
    assert all(r.overlap_group is None and r.overlap_factor_bp == 10_000 for r in result.rights)
    assert "ipc_unknown" in result.notes
    assert result.overlap_rule.per_right == 0.25


def test_trademark_family_overlap() -> None:
    result = bundle(
        [valued_row(1, 800_000), valued_row(2, 600_000), valued_row(3, 700_000)],
        [
            input_row(1, "trademark", title="星光"),
            input_row(2, "trademark", title="星光"),
            input_row(3, "trademark", title="月影"),
        ],
    )
    by_id = {r.right_id: r for r in result.rights}
    assert by_id[2].overlap_factor_bp == 9_000 and by_id[2].overlap_group == "trademark:星光"
    assert by_id[1].overlap_factor_bp == 10_000 and by_id[3].overlap_factor_bp == 10_000


def test_single_right_concentration_is_one() -> None:
    result = bundle([valued_row(7, 2_000_000)], [input_row(7, ipc_section="A")])
    assert result.hhi == pytest.approx(1.0)
    assert result.effective_rights == pytest.approx(1.0)
    assert result.largest_share == pytest.approx(1.0) and result.largest_right_id == 7
    assert "single_right" in result.notes


def test_concentration_herfindahl_of_p50_shares() -> None:
    result = bundle(
        [valued_row(1, 3_000_000), valued_row(2, 1_000_000)],
        [input_row(1, ipc_section="A"), input_row(2, ipc_section="B")],
    )
    assert result.hhi == pytest.approx(0.75**2 + 0.25**2)
    assert result.largest_share == pytest.approx(0.75) and result.largest_right_id == 1
    assert result.effective_rights == pytest.approx(1 / 0.625)


def test_ineligible_rights_excluded_from_ceiling_with_reasons() -> None:
    result = bundle(
        [
            valued_row(1, 4_000_000, rate=0.25),
            valued_row(2, 2_000_000, eligible=False, reasons=["already_pledged"]),
            valued_row(3, 1_000_000, eligible=False, reasons=["remaining_term_short", "grade_too_low"]),
        ],
        [input_row(1, ipc_section="A"), input_row(2, ipc_section="B"), input_row(3, "copyright")],
    )
    assert result.eligible_right_ids == (1,)
    assert result.ineligible == ((2, ("already_pledged",)), (3, ("remaining_term_short", "grade_too_low")))
    assert result.loan_ceiling_fen == 500_000  # 25 % of right 1's P10 (2,000,000) only
    assert result.recommended_rate == pytest.approx(0.25)
    assert "ineligible_excluded" in result.notes
    # The range still values every right: ineligible is about lending, not about worth.
    assert result.p50_fen == 7_000_000


def test_recommended_rate_is_p10_weighted_and_ceiling_floored_to_yuan() -> None:
    result = bundle(
        [valued_row(1, 3_000_000, rate=0.25), valued_row(2, 1_000_000, rate=0.15)],
        [input_row(1, ipc_section="A"), input_row(2, "trademark")],
    )
    assert result.recommended_rate == pytest.approx((0.25 * 1_500_000 + 0.15 * 500_000) / 2_000_000)
    assert result.loan_ceiling_fen % 100 == 0
    assert result.loan_ceiling_fen == 375_000 + 75_000


def test_no_eligible_right_gives_zero() -> None:
    result = bundle([valued_row(1, 1_000, eligible=False, reasons=["gate_failed"])], [input_row(1)])
    assert result.loan_ceiling_fen == 0 and result.recommended_rate == 0.0
    assert "no_eligible_rights" in result.notes


def test_zero_value_bundle_has_no_concentration() -> None:
    result = bundle([valued_row(1, 0, eligible=False)], [input_row(1)])
    assert result.hhi is None and result.largest_share is None


def test_two_patents_and_a_trademark_through_the_engine() -> None:
    from ipledge.valuation.engine.pipeline import rights_frame, value_rights
    from ipledge.valuation.engine.synthetic import synthetic_rights

    population = synthetic_rights(3000, seed=7)
    common = {
        "legal_status": "valid",
        "fee_paid": True,
        "owner_count": 1,
        "own_share": 1.0,
        "owner_revenue_fen": 5_000_000_000,
        "owner_portfolio_size": 5,
        "industry_section": "C",
        "already_pledged": False,
        "licence_count": 1,
        "transfer_count": 0,
        "implemented": True,
    }
    rows = [
        {
            "right_id": 1,
            "kind": "patent",
            "patent_type": "invention",
            "ipc_section": "H",
            "filing_year": 2019,
            "remaining_years": 13.0,
            "age_years": 7.0,
            "claims_count": 12,
            "forward_citations": 6,
            "backward_citations": 8,
            "family_size": 3,
            "ipc_count": 3,
            "grant_lag_years": 2.0,
            **common,
        },
        {
            "right_id": 2,
            "kind": "patent",
            "patent_type": "invention",
            "ipc_section": "H",
            "filing_year": 2021,
            "remaining_years": 15.0,
            "age_years": 5.0,
            "claims_count": 8,
            "forward_citations": 2,
            "backward_citations": 5,
            "family_size": 1,
            "ipc_count": 2,
            "grant_lag_years": 2.5,
            **common,
        },
        {
            "right_id": 3,
            "kind": "trademark",
            "patent_type": "",
            "ipc_section": "",
            "filing_year": 2015,
            "remaining_years": 9.0,
            "age_years": 11.0,
            "nice_class_count": 3,
            "renewal_count": 1,
            **common,
        },
    ]
    from ipledge.valuation.engine.pipeline import fit_rights_cohort_stats

    stats = fit_rights_cohort_stats(pl.concat([population, rights_frame(rows)]))
    rights = rights_frame(rows).with_columns(
        pl.Series("main_ipc", ["H04L 9/32", "H04L 9/08", ""]), pl.Series("holder_enterprise_id", [42, 42, 42])
    )
    valued = value_rights(rights_frame(rows), cohort_stats=stats)
    result = value_bundle(valued, rights=rights)

    assert dict(result.kinds) == {"patent": 2, "trademark": 1}
    assert result.complementary and "patent_trademark_complementary" in result.notes
    assert len(result.overlap_groups) == 1 and set(result.overlap_groups[0].right_ids) == {1, 2}
    assert 0 <= result.p10_fen <= result.p50_fen <= result.p90_fen
    assert result.p50_fen <= result.p50_before_fen
    for right in result.rights:
        assert right.p10_fen <= right.p50_fen <= right.p90_fen
    assert result.loan_ceiling_fen == sum(r.loan_ceiling_fen for r in result.rights) // 100 * 100
    assert result.loan_ceiling_fen <= sum(int(v) for v in valued["loan_ceiling_fen"])

    data = result.to_dict()
    for key in MONEY_KEYS:
        assert type(data[key]) is int, key
    for right in data["rights"]:
        for key in ("p10_fen", "p50_fen", "p90_fen", "p50_before_fen", "loan_ceiling_fen"):
            assert type(right[key]) is int, key
    assert data["hhi"] == pytest.approx(result.hhi)
    assert note_texts(result.notes, "en")[0].startswith("The bundle's range sums")


def test_ipc_main_group_parsing() -> None:
    assert ipc_main_group("H04L 9/32") == "H04L 9"
    assert ipc_main_group("h04l0009/32") == "H04L 9"
    assert ipc_main_group("A61K 31/00") == "A61K 31"
    assert ipc_main_group("") is None and ipc_main_group("9/32") is None


def test_duplicate_right_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        bundle([valued_row(1, 10), valued_row(1, 10)], [input_row(1)])
