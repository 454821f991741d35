"""Criteria rules: the shape of exclusion lists, tighten-never-loosen, and the merge of a baseline with a park's."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipledge.screening.engine import rules
from ipledge.screening.engine.rules import Violation, merge, tightening_violations, validate_exclusions
from ipledge.screening.engine.spec import RULES, CriteriaSpec, ExclusionRule

D = datetime.date
TAX_D = ExclusionRule("tax_rating", params={"ratings": ["D"]})
PEN = ExclusionRule("penalties", params={"max_count": 2, "within_days": 1095})
BASE = CriteriaSpec(
    exclusions=(ExclusionRule("dishonest"), TAX_D, PEN),
    min_score=60.0,
    min_invention_patents=1,
    require_high_tech_or_specialised=True,
    allowed_sizes=("small", "medium", "micro"),
)


def codes(violations: list[Violation]) -> list[tuple[str, str]]:
    return [(v.field, v.code) for v in violations]


# ------------------------------------------------------------------------------------------------------- validation


def test_valid_exclusions_pass():
    raw = [r.to_json() for r in BASE.exclusions] + [
        {"rule": "abnormal", "effective_from": "2026-01-01", "effective_to": "2026-12-31", "params": {}},
        {"rule": "serious_violation"},
    ]
    assert validate_exclusions(raw) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"rule": "dishonest"}, [("exclusions", "not_a_list")]),
        (["dishonest"], [("exclusions[0]", "not_an_object")]),
        ([{"rule": "bankrupt"}], [("exclusions[0].rule", "unknown_rule")]),
        ([{}], [("exclusions[0].rule", "unknown_rule")]),
        ([{"rule": "dishonest", "note": "x"}], [("exclusions[0].note", "unknown_key")]),
        ([{"rule": "dishonest", "effective_from": "2026-13-01"}], [("exclusions[0].effective_from", "invalid_date")]),
        ([{"rule": "dishonest", "effective_to": 20260101}], [("exclusions[0].effective_to", "invalid_date")]),
        (
            [{"rule": "dishonest", "effective_from": "2026-02-01", "effective_to": "2026-01-31"}],
            [("exclusions[0].effective_to", "dates_reversed")],
        ),
        ([{"rule": "dishonest", "params": {"ratings": ["D"]}}], [("exclusions[0].params.ratings", "unknown_param")]),
        ([{"rule": "dishonest", "params": ["D"]}], [("exclusions[0].params", "not_an_object")]),
        ([{"rule": "tax_rating"}], [("exclusions[0].params.ratings", "missing_param")]),
        ([{"rule": "tax_rating", "params": {"ratings": []}}], [("exclusions[0].params.ratings", "invalid_params")]),
        ([{"rule": "tax_rating", "params": {"ratings": ["E"]}}], [("exclusions[0].params.ratings", "invalid_params")]),
        ([{"rule": "tax_rating", "params": {"ratings": "D"}}], [("exclusions[0].params.ratings", "invalid_params")]),
        (
            [{"rule": "tax_rating", "params": {"ratings": ["D", "D"]}}],
            [("exclusions[0].params.ratings", "invalid_params")],
        ),
        (
            [{"rule": "penalties", "params": {"max_count": 2}}],
            [("exclusions[0].params.within_days", "missing_param")],
        ),
        (
            [{"rule": "penalties", "params": {"max_count": -1, "within_days": 365}}],
            [("exclusions[0].params.max_count", "invalid_params")],
        ),
        (
            [{"rule": "penalties", "params": {"max_count": True, "within_days": 365}}],
            [("exclusions[0].params.max_count", "invalid_params")],
        ),
        (
            [{"rule": "penalties", "params": {"max_count": 1, "within_days": 0}}],
            [("exclusions[0].params.within_days", "invalid_params")],
        ),
        (
            [{"rule": "penalties", "params": {"max_count": 1, "within_days": "365"}}],
            [("exclusions[0].params.within_days", "invalid_params")],
        ),
    ],
)
def test_bad_exclusions_name_the_field_and_the_rule(raw, expected):
    assert codes(validate_exclusions(raw)) == expected


def test_every_problem_is_reported_with_its_index():
    raw = [{"rule": "dishonest"}, {"rule": "x", "effective_from": "bad"}, 5]
    assert codes(validate_exclusions(raw)) == [
        ("exclusions[1].rule", "unknown_rule"),
        ("exclusions[1].effective_from", "invalid_date"),
        ("exclusions[2]", "not_an_object"),
    ]


def test_sizes_are_validated():
    assert rules.validate_sizes(["small", "micro"]) == []
    assert codes(rules.validate_sizes(["tiny"])) == [("allowed_sizes", "unknown_size")]
    assert codes(rules.validate_sizes("small")) == [("allowed_sizes", "not_a_list")]


# ------------------------------------------------------------------------------------------------------- tightening


def test_same_or_stricter_criteria_pass():
    assert tightening_violations(BASE, BASE) == []
    stricter = CriteriaSpec(
        exclusions=(
            ExclusionRule("dishonest"),
            ExclusionRule("tax_rating", params={"ratings": ["C", "D"]}),
            ExclusionRule("penalties", params={"max_count": 1, "within_days": 1825}),
            ExclusionRule("abnormal"),
        ),
        min_score=65.0,
        min_invention_patents=2,
        require_high_tech_or_specialised=True,
        allowed_sizes=("small",),
    )
    assert tightening_violations(BASE, stricter) == []


def test_each_loosening_is_named():
    loose = CriteriaSpec(
        exclusions=(
            ExclusionRule("tax_rating", params={"ratings": ["C"]}),
            ExclusionRule("penalties", params={"max_count": 3, "within_days": 1095}),
        ),
        min_score=59.99,
        min_invention_patents=0,
        require_high_tech_or_specialised=False,
        allowed_sizes=("small", "large"),
    )
    assert codes(tightening_violations(BASE, loose)) == [
        ("min_score", "looser_min_score"),
        ("min_invention_patents", "looser_min_invention_patents"),
        ("require_high_tech_or_specialised", "dropped_high_tech_requirement"),
        ("allowed_sizes", "sizes_not_subset"),
        ("exclusions", "missing_exclusion"),
        ("exclusions", "looser_exclusion_params"),
        ("exclusions", "looser_exclusion_params"),
    ]
    v = tightening_violations(BASE, loose)
    assert v[0].message_params == {"baseline": 60.0, "park": 59.99}
    assert v[3].message_params["extra"] == ["large"]
    assert v[4].message_params["rule"] == "dishonest"


def test_penalty_window_shorter_is_looser():
    park = CriteriaSpec(exclusions=(ExclusionRule("penalties", params={"max_count": 2, "within_days": 730}),))
    base = CriteriaSpec(exclusions=(PEN,))
    assert codes(tightening_violations(base, park)) == [("exclusions", "looser_exclusion_params")]


def test_unrestricted_sizes_loosen_a_restricting_baseline_but_not_the_reverse():
    base = CriteriaSpec(allowed_sizes=("small",))
    assert codes(tightening_violations(base, CriteriaSpec())) == [("allowed_sizes", "sizes_unrestricted")]
    assert tightening_violations(CriteriaSpec(), base) == []


@pytest.mark.parametrize(
    ("base_period", "park_periods", "ok"),
    [
        ((None, None), [(None, None)], True),
        ((None, None), [(D(2026, 1, 1), None)], False),
        ((None, None), [(None, D(2030, 1, 1))], False),
        ((D(2026, 1, 1), D(2026, 12, 31)), [(D(2025, 1, 1), D(2027, 1, 1))], True),
        ((D(2026, 1, 1), D(2026, 12, 31)), [(D(2026, 1, 2), None)], False),
        ((D(2026, 1, 1), D(2026, 12, 31)), [(D(2026, 1, 1), D(2026, 6, 30)), (D(2026, 7, 1), None)], True),
        ((D(2026, 1, 1), D(2026, 12, 31)), [(D(2026, 1, 1), D(2026, 6, 29)), (D(2026, 7, 1), None)], False),
        ((D(2026, 1, 1), D(2026, 12, 31)), [(D(2026, 7, 1), None), (None, D(2026, 7, 3))], True),
        ((D(2026, 1, 1), None), [(D(2026, 1, 1), D(2099, 12, 31))], False),
    ],
)
def test_exclusion_dates_must_cover_the_baseline(base_period, park_periods, ok):
    base = CriteriaSpec(exclusions=(ExclusionRule("abnormal", *base_period),))
    park = CriteriaSpec(exclusions=tuple(ExclusionRule("abnormal", f, t) for f, t in park_periods))
    found = codes(tightening_violations(base, park))
    assert found == ([] if ok else [("exclusions", "exclusion_dates_not_covered")])


def test_only_strict_enough_rules_count_towards_coverage():
    base = CriteriaSpec(exclusions=(TAX_D,))
    park = CriteriaSpec(
        exclusions=(
            ExclusionRule("tax_rating", None, D(2026, 6, 30), {"ratings": ["C", "D"]}),
            ExclusionRule("tax_rating", D(2026, 7, 1), None, {"ratings": ["C"]}),  # drops D from July: looser
        )
    )
    assert codes(tightening_violations(base, park)) == [("exclusions", "exclusion_dates_not_covered")]


# ------------------------------------------------------------------------------------------------------------ merge


def test_merge_takes_the_stricter_of_each():
    park = CriteriaSpec(
        exclusions=(ExclusionRule("abnormal"), TAX_D),
        min_score=55.0,
        min_invention_patents=3,
        require_high_tech_or_specialised=False,
        allowed_sizes=("micro", "small", "large"),
    )
    merged = merge(BASE, park)
    assert merged.min_score == 60.0 and merged.min_invention_patents == 3
    assert merged.require_high_tech_or_specialised is True
    assert merged.allowed_sizes == ("small", "micro")
    assert [r.rule for r in merged.exclusions] == ["dishonest", "tax_rating", "penalties", "abnormal"]


def test_merge_refuses_disjoint_sizes():
    with pytest.raises(ValueError, match="allowed_sizes"):
        merge(CriteriaSpec(allowed_sizes=("small",)), CriteriaSpec(allowed_sizes=("large",)))
    assert merge(CriteriaSpec(), CriteriaSpec(allowed_sizes=("large",))).allowed_sizes == ("large",)


DATES = st.one_of(st.none(), st.dates(D(2024, 1, 1), D(2028, 12, 31)))


@st.composite
def exclusion(draw: st.DrawFn) -> ExclusionRule:
    rule = draw(st.sampled_from(RULES))
    start, end = draw(DATES), draw(DATES)
    if start is not None and end is not None and end < start:
        start, end = end, start
    params: dict = {}
    if rule == "tax_rating":
        params = {"ratings": sorted(draw(st.sets(st.sampled_from(rules.TAX_RATINGS), min_size=1)))}
    elif rule == "penalties":
        params = {"max_count": draw(st.integers(0, 5)), "within_days": draw(st.integers(1, 2000))}
    return ExclusionRule(rule, start, end, params)


@st.composite
def criteria(draw: st.DrawFn) -> CriteriaSpec:
    return CriteriaSpec(
        exclusions=tuple(draw(st.lists(exclusion(), max_size=5))),
        min_score=draw(st.floats(0, 100, allow_nan=False)),
        min_invention_patents=draw(st.integers(0, 10)),
        require_high_tech_or_specialised=draw(st.booleans()),
        allowed_sizes=tuple(sorted(draw(st.sets(st.sampled_from(rules.SIZE_CLASSES))))),
    )


@settings(max_examples=400, deadline=None)
@given(criteria(), criteria())
def test_merge_is_never_looser_than_either(baseline, park):
    if baseline.allowed_sizes and park.allowed_sizes and not set(baseline.allowed_sizes) & set(park.allowed_sizes):
        with pytest.raises(ValueError):
            merge(baseline, park)
        return
    merged = merge(baseline, park)
    assert tightening_violations(baseline, merged) == []
    assert tightening_violations(park, merged) == []
    assert validate_exclusions([r.to_json() for r in merged.exclusions]) == []


@settings(max_examples=300, deadline=None)
@given(criteria(), criteria())
def test_a_park_that_passes_adds_nothing_looser_to_the_merge(baseline, park):
    """When the park only tightens, the merge's thresholds are the park's own."""
    if tightening_violations(baseline, park):
        return
    merged = merge(baseline, park)
    assert merged.min_score == park.min_score
    assert merged.min_invention_patents == park.min_invention_patents
    assert merged.require_high_tech_or_specialised == park.require_high_tech_or_specialised
    assert set(merged.allowed_sizes) == set(park.allowed_sizes)
