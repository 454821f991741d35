"""Cohort normalisation: bounded, trimmed, fitted on one frame and applied to another, with fallbacks."""

from __future__ import annotations

import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipledge.valuation.engine.cohort import (
    CohortStats,
    apply_cohort_stats,
    fit_cohort_stats,
    normalise_value,
    normalise_within_cohort,
)
from ipledge.valuation.engine.pipeline import fit_rights_cohort_stats, indicator_values, rights_frame

PROPERTY = settings(max_examples=80, deadline=None)


def frame(sections: list[str | None], years: list[int | None], values: list[int | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"ipc_section": sections, "filing_year": years, "claims_count": values},
        schema={"ipc_section": pl.String, "filing_year": pl.Int32, "claims_count": pl.Int64},
    )


@PROPERTY
@given(
    data=st.lists(
        st.tuples(
            st.sampled_from(["A", "B", None]),
            st.sampled_from([2019, 2020, None]),
            st.none() | st.integers(-5, 10**6),
        ),
        min_size=1,
        max_size=60,
    ),
    trim=st.sampled_from([0.0, 0.01, 0.1]),
)
def test_normalised_values_are_bounded_and_nulls_stay_null(
    data: list[tuple[str | None, int | None, int | None]], trim: float
) -> None:
    f = frame(*map(list, zip(*data, strict=True)))  # type: ignore[arg-type]
    out, _ = normalise_within_cohort(f, ["claims_count"], trim=trim)
    for raw, norm in zip(f["claims_count"], out["claims_count"], strict=True):
        if raw is None:
            assert norm is None
        else:
            assert norm is not None and 0.0 <= norm <= 1.0


def test_top_one_percent_outlier_does_not_set_the_maximum() -> None:
    values = [i % 10 for i in range(999)] + [1_000_000]  # 0..9, and one right claiming a million
    f = frame(["H"] * 1000, [2020] * 1000, values)
    out, stats = normalise_within_cohort(f, ["claims_count"], trim=0.01)
    lo, hi = stats.bounds("claims_count", ("H", 2020)) or (None, None)
    assert hi == pytest.approx(9.0)  # the trimmed maximum, not 1,000,000
    assert lo == pytest.approx(0.0)
    norm = out["claims_count"].to_list()
    assert norm[-1] == 1.0  # the outlier is winsorised to the top
    assert norm[9] == pytest.approx(1.0)  # a 9 is at the trimmed maximum
    assert norm[5] == pytest.approx(5 / 9)
    # Without trimming the outlier would squash everyone else to ~0.
    untrimmed, _ = normalise_within_cohort(f, ["claims_count"], trim=0.0)
    assert untrimmed["claims_count"][5] == pytest.approx(5 / 1_000_000)


def test_cohorts_are_normalised_separately() -> None:
    f = frame(["A", "A", "B", "B"], [2020] * 4, [10, 5, 100, 50])
    out, _ = normalise_within_cohort(f, ["claims_count"], trim=0.0)
    assert out["claims_count"].to_list() == [1.0, 0.5, 1.0, 0.5]  # 5 claims in A weigh what 50 weigh in B


def test_zero_maximum_maps_to_zero() -> None:
    out, _ = normalise_within_cohort(frame(["A", "A"], [2020, 2020], [0, 0]), ["claims_count"])
    assert out["claims_count"].to_list() == [0.0, 0.0]


def test_fit_on_train_apply_to_test_never_sees_test_rows() -> None:
    train = frame(["A"] * 4, [2020] * 4, [2, 4, 6, 10])
    test = frame(["A", "A"], [2020, 2020], [5, 1000])
    stats = fit_cohort_stats(train, ["claims_count"], trim=0.0)
    scaled = apply_cohort_stats(test, stats)
    assert scaled["claims_count"].to_list() == [0.5, 1.0]  # the training max (10) is the scale, not 1000
    # Adding rows to the test frame changes nothing: the statistics are the training fold's.
    bigger = pl.concat([test, frame(["A"], [2020], [1])])
    assert apply_cohort_stats(bigger, stats)["claims_count"].to_list()[:2] == [0.5, 1.0]
    # Fitting on the test fold itself would scale differently: that is what a fold must not do.
    own, _ = normalise_within_cohort(test, ["claims_count"], trim=0.0)
    assert own["claims_count"].to_list() == [0.005, 1.0]


def test_unseen_cohort_falls_back_to_its_section_then_to_global() -> None:
    train = frame(["A", "A", "B", "B"], [2019, 2020, 2019, 2019], [10, 20, 100, 200])
    stats = fit_cohort_stats(train, ["claims_count"], trim=0.0)
    assert stats.bounds("claims_count", ("A", 2020)) == (20.0, 20.0)  # its own cohort
    assert stats.bounds("claims_count", ("A", 2031)) == (10.0, 20.0)  # section A over all years
    assert stats.bounds("claims_count", ("A", None)) == (10.0, 20.0)  # unknown year: section A
    assert stats.bounds("claims_count", ("G", 2019)) == (10.0, 200.0)  # unseen section: all rows
    test = frame(["A", "G", None], [2031, 2019, 2019], [10, 100, 50])
    assert apply_cohort_stats(test, stats)["claims_count"].to_list() == [0.5, 0.5, 0.25]


def test_small_cohorts_fall_back_like_unseen_ones() -> None:
    train = frame(["A"] * 3 + ["B"], [2019, 2019, 2020, 2020], [10, 20, 40, 1000])
    stats = fit_cohort_stats(train, ["claims_count"], trim=0.0, min_size=2)
    assert stats.bounds("claims_count", ("A", 2019)) == (10.0, 20.0)
    assert stats.bounds("claims_count", ("A", 2020)) == (10.0, 40.0)  # one value: use section A
    assert stats.bounds("claims_count", ("B", 2020)) == (10.0, 1000.0)  # section B too small: global


def test_statistics_round_trip_through_json() -> None:
    stats = fit_cohort_stats(frame(["A", "B", "B"], [2019, 2019, 2020], [1, 2, 3]), ["claims_count"], trim=0.0)
    again = CohortStats.from_dict(json.loads(json.dumps(stats.to_dict())))
    test = frame(["A", "B", "C"], [2019, 2020, None], [1, 1, 1])
    assert apply_cohort_stats(test, again).equals(apply_cohort_stats(test, stats))
    assert again.bounds("claims_count", ("B", 2020)) == stats.bounds("claims_count", ("B", 2020))


def test_column_fitted_on_nulls_only_stays_unknown() -> None:
    stats = fit_cohort_stats(frame(["A"], [2020], [None]), ["claims_count"])
    assert stats.bounds("claims_count", ("A", 2020)) is None
    assert apply_cohort_stats(frame(["A"], [2020], [3]), stats)["claims_count"].to_list() == [None]
    assert normalise_value(3, None) is None


def test_rights_cohorts_are_ipc_section_by_year_and_kind_by_year_for_other_rights() -> None:
    rows = [
        {"kind": "patent", "patent_type": "invention", "ipc_section": "H", "filing_year": 2020, "family_size": 4},
        {"kind": "patent", "patent_type": "invention", "ipc_section": "H", "filing_year": 2020, "family_size": 2},
        {"kind": "patent", "patent_type": "invention", "ipc_section": "A", "filing_year": 2020, "family_size": 8},
        {"kind": "trademark", "filing_year": 2020, "nice_class_count": 3},
        {"kind": "trademark", "filing_year": 2020, "nice_class_count": 6},
    ]
    frame_ = rights_frame([{**r, "right_id": i, "legal_status": "valid"} for i, r in enumerate(rows)])
    stats = fit_rights_cohort_stats(frame_, trim=0.0, min_size=1)
    values = indicator_values(frame_, cohort_stats=stats)
    assert values["v_family_coverage"].to_list()[:3] == [1.0, 0.5, 1.0]  # H and A are separate cohorts
    assert values["v_nice_breadth"].to_list()[3:] == [0.5, 1.0]  # trademarks × 2020
    # The default minimum cohort size (20) sends these tiny cohorts to the global statistics instead.
    pooled = indicator_values(frame_, cohort_stats=fit_rights_cohort_stats(frame_, trim=0.0))
    assert pooled["v_family_coverage"].to_list()[:3] == [0.5, 0.25, 1.0]


def test_trim_must_leave_something() -> None:
    with pytest.raises(ValueError):
        fit_cohort_stats(frame(["A"], [2020], [1]), ["claims_count"], trim=0.5)
