"""The screen: credit records in force, exclusions, thresholds and reasons; checked case by case and against the
row-by-row reference on random populations."""

from __future__ import annotations

import datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipledge.screening.engine.expert import EXPERT_SCORECARD
from ipledge.screening.engine.reference import screen_row
from ipledge.screening.engine.screen import derive_credit, screen
from ipledge.screening.engine.spec import FEATURE_SCHEMA, RECORD_SCHEMA, RULES, CriteriaSpec, ExclusionRule

D = datetime.date
AS_OF = D(2026, 1, 5)
NO_RULES = CriteriaSpec()


def features(*rows: dict) -> pl.DataFrame:
    defaults = {
        "valuation_grade": None,
        "invention_patents": 2,
        "innovation_score": 50.0,
        "size_class": "small",
        "age_years": 7.0,
        "industry_section": "C",
        "is_high_tech": False,
        "is_specialised": False,
        "revenue_yuan": None,
        "asset_turnover": None,
        "prior_loans": 0,
        "prior_bad_loans": 0,
    }
    return pl.DataFrame([{**defaults, **row} for row in rows], schema=FEATURE_SCHEMA)


def records(*rows: dict) -> pl.DataFrame:
    defaults = {"removed_on": None, "expires_on": None, "tax_rating": "", "rating_year": None}
    return pl.DataFrame([{**defaults, **row} for row in rows], schema=RECORD_SCHEMA)


def rec(eid: int, kind: str, listed: D, **more: object) -> dict:
    return {"enterprise_id": eid, "kind": kind, "listed_on": listed, **more}


def run(f: pl.DataFrame, r: pl.DataFrame, criteria: CriteriaSpec = NO_RULES, day: D = AS_OF) -> list[dict]:
    return screen(f, r, criteria, EXPERT_SCORECARD, day).to_dicts()


def test_result_columns_and_order():
    out = screen(features({"enterprise_id": 3}, {"enterprise_id": 1}), records(), NO_RULES, EXPERT_SCORECARD, AS_OF)
    assert out.get_column("enterprise_id").to_list() == [3, 1]
    names = [c.name for c in EXPERT_SCORECARD.characteristics]
    assert out.columns[:2] == ["enterprise_id", "score"]
    assert {f"points_{n}" for n in names} | {f"value_{n}" for n in names} <= set(out.columns)
    assert out.columns[-3:] == ["excluded", "reasons", "included"]
    assert out.schema["reasons"] == pl.List(pl.Utf8)
    assert out.row(0, named=True)["reasons"] == ["passed"]


@pytest.mark.parametrize(
    ("extra", "counts"),
    [
        ({}, True),
        ({"removed_on": AS_OF}, False),  # removed (repaired) that day: no longer counts
        ({"removed_on": AS_OF + datetime.timedelta(days=1)}, True),
        ({"expires_on": AS_OF}, False),  # publicity period over
        ({"expires_on": D(2026, 6, 1)}, True),
    ],
)
def test_a_record_counts_while_in_force(extra, counts):
    r = records(rec(1, "dishonest", D(2025, 1, 1), **extra))
    [row] = run(features({"enterprise_id": 1}), r, CriteriaSpec(exclusions=(ExclusionRule("dishonest"),)))
    assert row["excluded"] is counts
    assert ("exclusion:dishonest" in row["reasons"]) is counts


def test_a_record_listed_after_the_day_does_not_count():
    r = records(rec(1, "serious_violation", AS_OF + datetime.timedelta(days=1)))
    crit = CriteriaSpec(exclusions=(ExclusionRule("serious_violation"),))
    assert run(features({"enterprise_id": 1}), r, crit)[0]["excluded"] is False
    assert run(features({"enterprise_id": 1}), r, crit, day=D(2026, 2, 1))[0]["excluded"] is True


def test_penalties_in_three_years_and_the_penalty_rule_window():
    three_years_ago = AS_OF - datetime.timedelta(days=1095)
    r = records(
        rec(1, "penalty", three_years_ago),  # exactly 1,095 days: outside the window
        rec(1, "penalty", three_years_ago + datetime.timedelta(days=1)),
        rec(1, "penalty", D(2025, 12, 1)),
        rec(1, "penalty", D(2025, 11, 1), removed_on=D(2025, 12, 1)),  # repaired
        rec(1, "abnormal", D(2025, 11, 1)),  # another kind
    )
    loose = CriteriaSpec(exclusions=(ExclusionRule("penalties", params={"max_count": 2, "within_days": 1095}),))
    strict = CriteriaSpec(exclusions=(ExclusionRule("penalties", params={"max_count": 0, "within_days": 60}),))
    [row] = run(features({"enterprise_id": 1}), r, loose)
    assert row["penalties_3y"] == 2 and row["excluded"] is False
    assert row["value_penalties_3y"] == "2" and row["points_penalties_3y"] == -5.0
    [row] = run(features({"enterprise_id": 1}), r, strict)
    assert row["reasons"][:2] == ["exclusion:penalties", "penalties:1"]


def test_latest_tax_rating_in_force():
    r = records(
        rec(1, "tax_rating", D(2024, 4, 1), tax_rating="A", rating_year=2023),
        rec(1, "tax_rating", D(2025, 4, 1), tax_rating="D", rating_year=2024),
        rec(2, "tax_rating", D(2024, 4, 1), tax_rating="B", rating_year=2023),
        rec(2, "tax_rating", D(2025, 4, 1), tax_rating="D", rating_year=2024, removed_on=D(2025, 9, 1)),  # 信用修复
        rec(3, "tax_rating", D(2025, 4, 1), tax_rating="C", rating_year=2024),
        rec(3, "tax_rating", D(2025, 5, 1), tax_rating="A", rating_year=2023),  # listed later, an older year
    )
    crit = CriteriaSpec(exclusions=(ExclusionRule("tax_rating", params={"ratings": ["D"]}),))
    out = run(features({"enterprise_id": 1}, {"enterprise_id": 2}, {"enterprise_id": 3}, {"enterprise_id": 4}), r, crit)
    assert [row["tax_rating"] for row in out] == ["D", "B", "C", None]
    assert out[0]["reasons"][:2] == ["exclusion:tax_rating", "tax_rating:D"]
    assert [row["value_tax_rating"] for row in out] == ["D", "B", "C", "未评级"]
    assert [row["excluded"] for row in out] == [True, False, False, False]


def test_rules_apply_only_in_their_period():
    r = records(rec(1, "abnormal", D(2025, 1, 1)))
    later = CriteriaSpec(exclusions=(ExclusionRule("abnormal", effective_from=D(2026, 2, 1)),))
    ended = CriteriaSpec(exclusions=(ExclusionRule("abnormal", effective_to=D(2026, 1, 4)),))
    current = CriteriaSpec(exclusions=(ExclusionRule("abnormal", D(2026, 1, 1), D(2026, 1, 5)),))
    f = features({"enterprise_id": 1})
    assert [run(f, r, c)[0]["excluded"] for c in (later, ended, current)] == [False, False, True]


def test_thresholds_each_give_their_reason_in_order():
    crit = CriteriaSpec(
        exclusions=(ExclusionRule("dishonest"), ExclusionRule("abnormal")),
        min_score=65.0,
        min_invention_patents=3,
        require_high_tech_or_specialised=True,
        allowed_sizes=("medium",),
    )
    r = records(rec(1, "abnormal", D(2025, 1, 1)), rec(1, "dishonest", D(2025, 1, 1)))
    f = features(
        {"enterprise_id": 1, "invention_patents": None, "size_class": None},
        {"enterprise_id": 2, "invention_patents": 3, "size_class": "medium", "is_specialised": True},
    )
    first, second = run(f, r, crit)
    assert first["reasons"] == [
        "exclusion:dishonest",
        "exclusion:abnormal",
        "below_min_score",
        "few_invention_patents",
        "not_high_tech_or_specialised",
        "size_not_allowed",
    ]
    assert first["included"] is False and first["excluded"] is True
    assert second["score"] >= 65.0
    assert second["reasons"] == ["passed"] and second["included"] is True


def test_the_min_score_is_inclusive():
    [row] = run(features({"enterprise_id": 1}), records(), CriteriaSpec(min_score=59.0))
    assert row["score"] == 59.0 and row["included"] is True  # 62 less the B rating it has no record of
    [row] = run(features({"enterprise_id": 1}), records(), CriteriaSpec(min_score=59.01))
    assert row["reasons"] == ["below_min_score"]


def test_two_rules_of_one_kind_fire_as_one_reason():
    r = records(*[rec(1, "penalty", D(2025, 12, d)) for d in (1, 2, 3)])
    crit = CriteriaSpec(
        exclusions=(
            ExclusionRule("penalties", params={"max_count": 5, "within_days": 365}),
            ExclusionRule("penalties", params={"max_count": 1, "within_days": 60}),
        )
    )
    [row] = run(features({"enterprise_id": 1}), r, crit)
    assert row["reasons"][:2] == ["exclusion:penalties", "penalties:3"]
    assert row["reasons"].count("exclusion:penalties") == 1


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="unknown exclusion rule"):
        run(features({"enterprise_id": 1}), records(), CriteriaSpec(exclusions=(ExclusionRule("bankrupt"),)))


def test_missing_record_columns_are_refused():
    with pytest.raises(ValueError, match="records lack"):
        screen(features({"enterprise_id": 1}), pl.DataFrame({"enterprise_id": [1]}), NO_RULES, EXPERT_SCORECARD, AS_OF)


def test_derive_credit_per_row_dates():
    f = features({"enterprise_id": 1}, {"enterprise_id": 1}, {"enterprise_id": 2}).with_columns(
        pl.Series("as_of", [D(2024, 1, 1), D(2025, 6, 1), D(2025, 6, 1)])
    )
    r = records(
        rec(1, "penalty", D(2024, 3, 1)),
        rec(1, "tax_rating", D(2024, 4, 1), tax_rating="B", rating_year=2023),
    )
    out = derive_credit(f, r)
    assert out.get_column("penalties_3y").to_list() == [0, 1, 0]
    assert out.get_column("tax_rating").to_list() == [None, "B", None]
    assert out.get_column("as_of").to_list() == [D(2024, 1, 1), D(2025, 6, 1), D(2025, 6, 1)]
    with pytest.raises(ValueError, match="as_of"):
        derive_credit(features({"enterprise_id": 1}), r)


# ----------------------------------------------------------------------------------------- against the reference

KINDS = ("dishonest", "penalty", "abnormal", "serious_violation", "tax_rating")
DAYS = st.dates(D(2021, 1, 1), D(2026, 12, 31))


@st.composite
def population(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame, CriteriaSpec, D]:
    n = draw(st.integers(1, 12))
    rows = [
        {
            "enterprise_id": i + 1,
            "valuation_grade": draw(st.one_of(st.none(), st.sampled_from(["AAA", "A", "BB", "B", "CC"]))),
            "invention_patents": draw(st.one_of(st.none(), st.integers(0, 12))),
            "innovation_score": draw(st.one_of(st.none(), st.floats(0, 100))),
            "size_class": draw(st.one_of(st.none(), st.sampled_from(["large", "medium", "small", "micro"]))),
            "age_years": draw(st.one_of(st.none(), st.floats(0, 30))),
            "industry_section": draw(st.one_of(st.none(), st.sampled_from(list("CFIM")))),
            "is_high_tech": draw(st.one_of(st.none(), st.booleans())),
            "is_specialised": draw(st.one_of(st.none(), st.booleans())),
            "asset_turnover": draw(st.one_of(st.none(), st.floats(0, 3))),
            "prior_bad_loans": draw(st.integers(0, 2)),
        }
        for i in range(n)
    ]
    recs = []
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(KINDS))
        listed = draw(DAYS)
        removed = draw(st.one_of(st.none(), st.dates(listed, D(2027, 1, 1))))
        recs.append(
            rec(
                draw(st.integers(1, n + 1)),  # n + 1: a record of an enterprise not screened
                kind,
                listed,
                removed_on=removed,
                expires_on=draw(st.one_of(st.none(), DAYS)),
                tax_rating=draw(st.sampled_from("ABMCD")) if kind == "tax_rating" else "",
                rating_year=draw(st.one_of(st.none(), st.integers(2020, 2025))) if kind == "tax_rating" else None,
            )
        )
    exclusions = []
    for rule in draw(st.lists(st.sampled_from(RULES), max_size=5)):
        params: dict = {}
        if rule == "tax_rating":
            params = {"ratings": sorted(draw(st.sets(st.sampled_from("ABMCD"), min_size=1)))}
        elif rule == "penalties":
            params = {"max_count": draw(st.integers(0, 3)), "within_days": draw(st.integers(1, 1500))}
        start = draw(st.one_of(st.none(), DAYS))
        exclusions.append(ExclusionRule(rule, start, draw(st.one_of(st.none(), DAYS)), params))
    crit = CriteriaSpec(
        exclusions=tuple(exclusions),
        min_score=draw(st.sampled_from([0.0, 40.0, 55.5, 62.0, 70.0])),
        min_invention_patents=draw(st.integers(0, 3)),
        require_high_tech_or_specialised=draw(st.booleans()),
        allowed_sizes=tuple(sorted(draw(st.sets(st.sampled_from(["large", "medium", "small", "micro"]))))),
    )
    return features(*rows), records(*recs), crit, draw(DAYS)


@settings(max_examples=150, deadline=None)
@given(population())
def test_the_vectorised_screen_equals_the_row_by_row_reference(case):
    f, r, crit, day = case
    fast = screen(f, r, crit, EXPERT_SCORECARD, day).to_dicts()
    rows_by_id: dict[int, list[dict]] = {}
    for record in r.to_dicts():
        rows_by_id.setdefault(record["enterprise_id"], []).append(record)
    for got, feature in zip(fast, f.to_dicts(), strict=True):
        want = screen_row(feature, rows_by_id.get(feature["enterprise_id"], []), crit, EXPERT_SCORECARD, day)
        assert got["score"] == want["score"]
        assert got["reasons"] == want["reasons"]
        assert (got["excluded"], got["included"]) == (want["excluded"], want["included"])
        assert (got["penalties_3y"], got["tax_rating"]) == (want["penalties_3y"], want["tax_rating"])
        for name in want["points"]:
            assert (got[f"points_{name}"], got[f"value_{name}"]) == (want["points"][name], want["values"][name])
