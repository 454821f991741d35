"""Indicator score: gates and multipliers, unknown ≠ zero, contributions, completeness, grades, the tree data."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipledge.valuation.engine.pipeline import fit_rights_cohort_stats, indicator_values, rights_frame, value_rights
from ipledge.valuation.engine.tree import DIMENSIONS, GRADES, RIGHT_TYPES, load_scenario, tree_document
from tests.valuation.test_engine_reference import right_rows

PROPERTY = settings(max_examples=30, deadline=None)


def patent(**overrides: Any) -> dict[str, Any]:
    """A sound, fully documented invention patent."""
    row: dict[str, Any] = {
        "right_id": 1,
        "kind": "patent",
        "patent_type": "invention",
        "ipc_section": "H",
        "filing_year": 2016,
        "legal_status": "valid",
        "remaining_years": 11.0,
        "age_years": 9.0,
        "fee_paid": True,
        "claims_count": 12,
        "forward_citations": 6,
        "backward_citations": 10,
        "family_size": 3,
        "ipc_count": 2,
        "grant_lag_years": 2.5,
        "owner_count": 1,
        "own_share": 1.0,
        "suspended": False,
        "preserved": False,
        "invalidation_pending": False,
        "already_pledged": False,
        "invalidation_requests": 0,
        "litigation_count": 0,
        "licence_count": 1,
        "transfer_count": 0,
        "implemented": True,
        "owner_revenue_fen": 8_000_000_000,
        "owner_portfolio_size": 12,
        "industry_section": "C",
    }
    row.update(overrides)
    return row


# A population, so that the cohort of the test patent has a scale that does not depend on the patent itself.
POPULATION = rights_frame(
    [
        patent(
            right_id=100 + i, claims_count=4 + i, forward_citations=i, backward_citations=2 * i, family_size=1 + i % 5
        )
        for i in range(30)
    ]
    + [patent(right_id=200 + i, kind="trademark", nice_class_count=1 + i % 4, renewal_count=i % 3) for i in range(30)]
)
STATS = fit_rights_cohort_stats(POPULATION)


def value(*rows: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    return value_rights(rights_frame(list(rows)), cohort_stats=STATS, **kwargs).to_dicts()


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"legal_status": "lapsed"}, "lapsed"),
        ({"legal_status": "expired"}, "expired"),
        ({"legal_status": "invalidated"}, "invalidated"),
        ({"legal_status": "pending"}, "not_granted"),
        ({"legal_status": None}, "status_unknown"),
        ({"fee_paid": False}, "fee_unpaid"),
        ({"suspended": True}, "suspended"),
        ({"preserved": True}, "preserved"),
    ],
)
def test_hard_gates_zero_the_score_the_value_and_the_pledge(overrides: dict[str, Any], code: str) -> None:
    sound, gated = value(patent(), patent(right_id=2, **overrides))
    assert sound["score"] > 50 and sound["p50_fen"] > 0 and sound["pledge_eligible"]
    assert code in gated["gates"]
    assert gated["gate_multiplier"] == 0.0
    assert gated["score"] == 0.0 and gated["grade"] == "C"
    assert all(gated[c] == 0.0 for c in gated if c.startswith("c_"))
    assert (gated["p10_fen"], gated["p50_fen"], gated["p90_fen"]) == (0, 0, 0)
    assert gated["value_income_fen"] is None and gated["value_cost_fen"] is None
    assert not gated["pledge_eligible"] and gated["pledge_rate"] == 0.0 and gated["loan_ceiling_fen"] == 0
    assert gated["pledge_reasons"][0] == "gate_failed"
    # Completeness describes the inputs, not the verdict.
    assert gated["completeness"] == sound["completeness"]


def test_unknown_fee_status_is_not_a_gate() -> None:
    (row,) = value(patent(fee_paid=None))
    assert row["gates"] == [] and row["gate_multiplier"] == 1.0


@pytest.mark.parametrize(
    ("overrides", "code", "factor"),
    [
        ({"invalidation_pending": True}, "invalidation_pending", 0.6),
        ({"owner_count": 2}, "co_owned", 0.9),
        ({"invalidation_pending": True, "owner_count": 3}, "co_owned", 0.6 * 0.9),
    ],
)
def test_multipliers_scale_score_and_value(overrides: dict[str, Any], code: str, factor: float) -> None:
    sound, haircut = value(patent(), patent(right_id=2, **overrides))
    assert code in haircut["gates"]
    assert haircut["gate_multiplier"] == pytest.approx(factor)
    assert haircut["score"] == pytest.approx(sound["score"] * factor)
    for key in ("c_claims", "c_remaining_term", "c_owner_revenue"):
        assert haircut[key] == pytest.approx(sound[key] * factor)
    # The approaches are gross; the multiplier applies to the reconciled range once.
    assert haircut["value_income_fen"] == sound["value_income_fen"]
    assert haircut["p50_fen"] == pytest.approx(sound["p50_fen"] * factor, abs=1)


def test_already_pledged_is_not_a_value_gate() -> None:
    sound, pledged = value(patent(), patent(right_id=2, already_pledged=True))
    assert pledged["gates"] == [] and pledged["score"] == sound["score"] and pledged["p50_fen"] == sound["p50_fen"]
    assert not pledged["pledge_eligible"] and pledged["pledge_reasons"] == ["already_pledged"]


@PROPERTY
@given(rows=st.lists(right_rows(), min_size=1, max_size=20), scenario=st.sampled_from(["finance", "licensing"]))
def test_contributions_sum_to_the_score(rows: list[dict[str, Any]], scenario: str) -> None:
    f = rights_frame([{**r, "right_id": i} for i, r in enumerate(rows)])
    out = value_rights(f, scenario=scenario, cohort_stats=fit_rights_cohort_stats(f, scenario, min_size=1))
    contrib = [c for c in out.columns if c.startswith("c_")]
    for row in out.iter_rows(named=True):
        total = math.fsum(row[c] for c in contrib)
        assert total == pytest.approx(row["score"], rel=1e-12, abs=1e-9)
        assert 0.0 <= row["score"] <= 100.0 + 1e-9
        assert all(row[c] >= 0.0 for c in contrib)
        assert 0.0 <= row["completeness"] <= 1.0 + 1e-12
        assert row["grade"] == load_scenario(scenario).grade(row["score"])


def test_inapplicable_indicators_contribute_nothing() -> None:
    (mark,) = value(patent(kind="trademark", nice_class_count=3, renewal_count=1, remaining_years=6.0))
    for key in ("claims", "forward_citations", "backward_citations", "ipc_breadth", "grant_lag", "family_coverage"):
        assert mark[f"c_{key}"] == 0.0
    assert mark["c_nice_breadth"] > 0 and mark["c_renewals"] > 0
    (chip,) = value(patent(kind="ic_layout", patent_type=""))
    # No technical indicator applies to a layout design: the dimension drops out and the others are renormalised.
    assert chip["completeness"] == pytest.approx(1.0)
    assert mark["c_work_kind"] == 0.0


def test_unknown_is_not_zero() -> None:
    known_zero, unknown = value(patent(forward_citations=0), patent(right_id=2, forward_citations=None))
    assert unknown["c_forward_citations"] == 0.0
    assert known_zero["c_forward_citations"] < 0.2  # winsorised up to the cohort's 1st percentile, near 0
    # A zero count is evidence against the patent; an unknown one only shifts the weight to what is known.
    assert unknown["score"] > known_zero["score"]
    assert unknown["completeness"] < known_zero["completeness"] == pytest.approx(1.0)


def test_completeness_drops_and_the_range_widens_when_inputs_are_unknown() -> None:
    blind = {k: None for k in ("claims_count", "forward_citations", "backward_citations", "family_size", "ipc_count")}
    blind |= {"grant_lag_years": None, "licence_count": None, "implemented": None, "invalidation_requests": None}
    full, partial = value(patent(), patent(right_id=2, **blind))
    assert partial["completeness"] < full["completeness"]
    assert partial["sigma"] > full["sigma"]
    assert partial["p90_fen"] / partial["p10_fen"] > full["p90_fen"] / full["p10_fen"]


def test_score_moves_with_its_indicators() -> None:
    weak, strong = value(
        patent(forward_citations=0, claims_count=4, remaining_years=2.0, implemented=False),
        patent(right_id=2, forward_citations=29, claims_count=33, remaining_years=19.0),
    )
    assert strong["score"] > weak["score"]
    assert strong["c_forward_citations"] > weak["c_forward_citations"]


def test_a_perfect_right_scores_100() -> None:
    (chip,) = value(
        patent(
            kind="ic_layout",
            patent_type="",
            remaining_years=10.0,
            licence_count=None,
            transfer_count=None,
            owner_revenue_fen=10**12,
            industry_section="I",
        )
    )
    assert chip["score"] == pytest.approx(100.0) and chip["grade"] == "AAA"


@pytest.mark.parametrize(
    ("score", "grade"),
    [(100, "AAA"), (90, "AAA"), (89.99, "AA"), (80, "AA"), (70, "A"), (60, "BBB"), (50, "BB"), (40, "B")]
    + [(30, "CCC"), (20, "CC"), (19.99, "C"), (0, "C")],
)
def test_grade_bands(score: float, grade: str) -> None:
    assert load_scenario().grade(score) == grade


def test_trademark_term_counts_its_renewability() -> None:
    scenario = load_scenario()
    assert scenario.statutory_terms["invention"] == 20 and scenario.statutory_terms["utility_model"] == 10
    assert scenario.statutory_terms["design"] == 15 and scenario.statutory_terms["copyright"] == 50
    rows = [
        patent(kind="trademark", remaining_years=0.5, nice_class_count=2),
        patent(right_id=2, patent_type="utility_model", remaining_years=0.5),
        patent(right_id=3, patent_type="design", remaining_years=7.5),
        patent(right_id=4, remaining_years=25.0),
    ]
    values = indicator_values(rights_frame(rows), cohort_stats=STATS)["v_remaining_term"].to_list()
    # A mark about to expire can still be renewed; half a year of a utility model's 10 years is 0.05.
    assert values == pytest.approx([0.5, 0.05, 0.5, 1.0])


def test_tree_data_is_complete_and_sourced() -> None:
    doc = tree_document()
    assert [b["grade"] for b in doc["grades"]["bands"]] == list(GRADES)
    for ind in doc["indicators"]:
        assert ind["dimension"] in DIMENSIONS
        assert set(ind["applies_to"]) <= set(RIGHT_TYPES)
        assert ind["label_zh"] and ind["label_en"] and ind["source"] and ind["note"]
    finance, licensing = load_scenario("finance"), load_scenario("licensing")
    assert finance.dimension_weights == {"legal": 0.35, "technical": 0.30, "economic": 0.35}
    assert licensing.dimension_weights["technical"] > finance.dimension_weights["technical"]
    assert licensing.dimension_weights["legal"] < finance.dimension_weights["legal"]
    assert finance.indicator("licences").weight < licensing.indicator("licences").weight
    for scenario in (finance, licensing):
        for rtype in RIGHT_TYPES:
            legal = scenario.dimensions_of(rtype)
            assert "legal" in legal and "economic" in legal  # every type has a legal and an economic view
    assert "technical" not in finance.dimensions_of("ic_layout")
    assert {i.key for i in finance.indicators if "copyright" in i.applies_to} >= {"work_kind", "remaining_term"}


def test_unknown_scenario_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        load_scenario("insurance")
