"""The scorecard engine: binning, the exact decomposition of every score, the expert card, logistic fitting."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipledge.screening.engine.expert import CHARACTERISTICS, EXPERT_SCORECARD
from ipledge.screening.engine.scorecard import (
    MISSING_LABEL,
    UNBINNED,
    card_problems,
    fit_logistic,
    ks_statistic,
    scale,
    score,
)
from ipledge.screening.engine.spec import FEATURE_SCHEMA, Bin, Characteristic, ScorecardSpec

NUMERIC = Characteristic(
    name="x",
    label="X",
    kind="numeric",
    bins=(
        Bin(label="<1", points=-1.5, upper=1.0),
        Bin(label="1–5", points=2.25, lower=1.0, upper=5.0),
        Bin(label="≥5", points=7.0, lower=5.0),
        Bin(label="none", points=0.5, missing=True),
    ),
)
CATEGORY = Characteristic(
    name="c",
    label="C",
    kind="categorical",
    bins=(
        Bin(label="ab", points=3.0, categories=("a", "b")),
        Bin(label="other", points=-2.0),
        Bin(label="none", points=0.0, missing=True),
    ),
)
FLAG = Characteristic(
    name="f",
    label="F",
    kind="flag",
    bins=(
        Bin(label="yes", points=4.0, categories=("true",)),
        Bin(label="no", points=0.0, categories=("false",)),
        Bin(label="none", points=-1.0, missing=True),
    ),
)
CARD = ScorecardSpec(method="expert", base_points=50.0, characteristics=(NUMERIC, CATEGORY, FLAG))


def _frame(x: list, c: list, f: list) -> pl.DataFrame:
    return pl.DataFrame(
        {"enterprise_id": list(range(len(x))), "x": x, "c": c, "f": f},
        schema={"enterprise_id": pl.Int64, "x": pl.Float64, "c": pl.Utf8, "f": pl.Boolean},
    )


def test_bins_edges_missing_and_catch_all():
    frame = _frame(
        [0.999, 1.0, 4.999, 5.0, None, float("nan"), -1e9],
        ["a", "b", "z", None, "a", "b", "q"],
        [True, False, None, True, False, True, None],
    )
    out = score(frame, CARD)
    assert out.get_column("value_x").to_list() == ["<1", "1–5", "1–5", "≥5", "none", "none", "<1"]
    assert out.get_column("points_x").to_list() == [-1.5, 2.25, 2.25, 7.0, 0.5, 0.5, -1.5]
    assert out.get_column("value_c").to_list() == ["ab", "ab", "other", "none", "ab", "ab", "other"]
    assert out.get_column("value_f").to_list() == ["yes", "no", "none", "yes", "no", "yes", "none"]
    assert out.row(0, named=True)["score"] == 50.0 - 1.5 + 3.0 + 4.0
    assert out.columns == [
        "enterprise_id",
        "score",
        "points_x",
        "value_x",
        "points_c",
        "value_c",
        "points_f",
        "value_f",
    ]


def test_unbinned_values_score_zero_and_say_so():
    gappy = ScorecardSpec(
        method="expert",
        base_points=10.0,
        characteristics=(
            Characteristic(name="x", label="X", kind="numeric", bins=(Bin(label="<1", points=5.0, upper=1.0),)),
            Characteristic(
                name="c", label="C", kind="categorical", bins=(Bin(label="a", points=1.0, categories=("a",)),)
            ),
        ),
    )
    out = score(_frame([3.0, None], ["b", None], [True, True]), gappy)
    assert out.get_column("value_x").to_list() == [UNBINNED, UNBINNED]
    assert out.get_column("points_x").to_list() == [0.0, 0.0]
    assert out.get_column("score").to_list() == [10.0, 10.0]
    assert any("fall in no bin" in p for p in card_problems(gappy))


def test_score_requires_the_columns():
    with pytest.raises(ValueError, match="x"):
        score(pl.DataFrame({"enterprise_id": [1]}), CARD)


def test_order_is_kept():
    frame = _frame([9.0, 0.0, 3.0], ["a", "a", "a"], [True, True, True]).with_columns(
        pl.Series("enterprise_id", [30, 10, 20])
    )
    assert score(frame, CARD).get_column("enterprise_id").to_list() == [30, 10, 20]


@settings(max_examples=200, deadline=None)
@given(
    base=st.floats(-100, 100, allow_nan=False).map(lambda v: round(v, 2)),
    points=st.lists(st.integers(-10_000, 10_000), min_size=7, max_size=7),
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
            st.one_of(st.none(), st.sampled_from(["a", "b", "c", "zz"])),
            st.one_of(st.none(), st.booleans()),
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_every_score_is_base_plus_its_points(base, points, rows):
    """The decomposition: score = base points + Σ points per characteristic, to the cent, for any card points."""
    p = [v / 100 for v in points]
    card = ScorecardSpec(
        method="expert",
        base_points=base,
        characteristics=(
            Characteristic(
                "x",
                "X",
                "numeric",
                (Bin("lo", p[0], upper=0.0), Bin("hi", p[1], lower=0.0), Bin("none", p[2], missing=True)),
            ),
            Characteristic("c", "C", "categorical", (Bin("a", p[3], categories=("a",)), Bin("rest", p[4]))),
            Characteristic(
                "f", "F", "flag", (Bin("y", p[5], categories=("true",)), Bin("n", p[6], categories=("false",)))
            ),
        ),
    )
    out = score(_frame(*map(list, zip(*rows, strict=True))), card)
    for row in out.iter_rows(named=True):
        parts = [Decimal(str(row[f"points_{n}"])) for n in ("x", "c", "f")]
        assert Decimal(str(row["score"])) == Decimal(str(base)) + sum(parts, Decimal(0))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "valuation_grade": st.one_of(
                    st.none(), st.sampled_from(["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "X"])
                ),
                "invention_patents": st.one_of(st.none(), st.integers(0, 50)),
                "innovation_score": st.one_of(st.none(), st.floats(0, 100)),
                "penalties_3y": st.integers(0, 6),
                "tax_rating": st.one_of(st.none(), st.sampled_from(["A", "B", "M", "C", "D"])),
                "prior_bad_loans": st.integers(0, 4),
                "size_class": st.one_of(st.none(), st.sampled_from(["large", "medium", "small", "micro"])),
                "age_years": st.one_of(st.none(), st.floats(0, 60)),
                "industry_section": st.one_of(st.none(), st.sampled_from(list("ABCDEFGIMN"))),
                "is_high_tech": st.one_of(st.none(), st.booleans()),
                "is_specialised": st.one_of(st.none(), st.booleans()),
                "asset_turnover": st.one_of(st.none(), st.floats(0, 10)),
            }
        ),
        min_size=1,
        max_size=20,
    )
)
def test_expert_scores_decompose_and_stay_in_range(rows):
    schema = {
        **{k: v for k, v in FEATURE_SCHEMA.items() if k in rows[0]},
        "penalties_3y": pl.Int64,
        "tax_rating": pl.Utf8,
    }
    frame = pl.DataFrame(rows, schema=schema).with_row_index("enterprise_id")
    out = score(frame, EXPERT_SCORECARD)
    names = [c.name for c in EXPERT_SCORECARD.characteristics]
    assert UNBINNED not in out.select([f"value_{n}" for n in names]).to_numpy().ravel().tolist()
    for row in out.iter_rows(named=True):
        total = EXPERT_SCORECARD.base_points + sum(row[f"points_{n}"] for n in names)
        assert row["score"] == pytest.approx(total, abs=1e-9)
        assert -20 <= row["score"] <= 105


def test_expert_card_is_well_formed_and_neutral_on_missing():
    assert card_problems(EXPERT_SCORECARD) == []
    for c in EXPERT_SCORECARD.characteristics:
        missing = [b for b in c.bins if b.missing]
        assert [b.points for b in missing] == [0.0], c.name  # unknown data is neither punished nor rewarded
    turnover = next(c for c in EXPERT_SCORECARD.characteristics if c.name == "asset_turnover")
    assert next(b for b in turnover.bins if b.missing).label == "未提供"
    assert [name for name, _label, _kind in CHARACTERISTICS] == [
        "valuation_grade",
        "invention_patents",
        "innovation_score",
        "penalties_3y",
        "tax_rating",
        "prior_bad_loans",
        "size_class",
        "age_years",
        "industry_section",
        "is_high_tech",
        "is_specialised",
        "asset_turnover",
    ]


def _typical(**overrides: object) -> pl.DataFrame:
    row = {
        "enterprise_id": 1,
        "valuation_grade": None,
        "invention_patents": 2,
        "innovation_score": 50.0,
        "penalties_3y": 0,
        "tax_rating": "B",
        "prior_bad_loans": 0,
        "size_class": "small",
        "age_years": 7.0,
        "industry_section": "C",
        "is_high_tech": False,
        "is_specialised": False,
        "asset_turnover": None,
    }
    row.update(overrides)
    return pl.DataFrame([row], schema={**FEATURE_SCHEMA, "penalties_3y": pl.Int64, "tax_rating": pl.Utf8})


def test_expert_scale_typical_sme_lands_in_the_fifties_to_seventies():
    assert score(_typical(), EXPERT_SCORECARD).item(0, "score") == 62.0
    bare = _typical(
        invention_patents=0,
        innovation_score=None,
        tax_rating=None,
        size_class="micro",
        age_years=1.0,
        industry_section="F",
    )
    assert score(bare, EXPERT_SCORECARD).item(0, "score") == 38.0
    strong = _typical(
        valuation_grade="AA", invention_patents=12, innovation_score=85.0, tax_rating="A", is_high_tech=True
    )
    assert score(strong, EXPERT_SCORECARD).item(0, "score") == 92.0
    # credit history dominates: one bad loan and a D rating take a typical SME far below any threshold
    assert score(_typical(prior_bad_loans=1, tax_rating="D"), EXPERT_SCORECARD).item(0, "score") == 32.0


def test_card_problems_catch_overlaps_duplicates_and_bad_flags():
    overlapping = ScorecardSpec(
        method="expert",
        base_points=0.0,
        characteristics=(
            Characteristic(
                "x",
                "X",
                "numeric",
                (Bin("a", 1, upper=2.0), Bin("b", 1, lower=1.0), Bin("m", 0, missing=True)),
            ),
            Characteristic("f", "F", "flag", (Bin("y", 1, categories=("yes",)), Bin("m", 0, missing=True))),
            Characteristic("f", "F2", "weird", ()),
        ),
    )
    problems = " | ".join(card_problems(overlapping))
    assert "overlap or leave a gap" in problems
    assert "'true' and 'false'" in problems
    assert "appears twice" in problems
    assert "unknown kind" in problems


def test_scale_and_ks():
    sc = scale()
    assert sc["offset"] + sc["factor"] * math.log(20.0) == pytest.approx(60.0)
    assert sc["offset"] + sc["factor"] * math.log(40.0) == pytest.approx(70.0)  # ten points double the odds
    with pytest.raises(ValueError):
        scale(pdo=0)
    assert ks_statistic(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1, 1, 0, 0])) == 1.0
    assert ks_statistic(np.array([1.0, 2.0]), np.array([0, 0])) == 0.0


def _synthetic(n: int = 1200, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    patents = rng.poisson(2.0, n)
    tax = rng.choice(["A", "B", "M", "C", "D"], n, p=[0.3, 0.4, 0.1, 0.12, 0.08])
    turnover = rng.lognormal(-0.3, 0.6, n)
    logit = -2.0 - 0.5 * np.minimum(patents, 5) + np.where(np.isin(tax, ["C", "D"]), 1.8, 0.0) - 0.6 * (turnover > 1)
    bad = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pl.DataFrame(
        {
            "enterprise_id": np.arange(n),
            "invention_patents": patents.astype(np.int64),
            "tax_rating": [None if rng.random() < 0.1 else t for t in tax],
            "asset_turnover": [None if rng.random() < 0.3 else float(v) for v in turnover],
            "is_high_tech": rng.random(n) < 0.3,
            "noise": rng.normal(size=n),
            "bad": bad,
        }
    )


FIT_CHARACTERISTICS = [
    ("invention_patents", "有效发明专利", "numeric"),
    ("tax_rating", "纳税信用等级", "categorical"),
    ("asset_turnover", "总资产周转率", "numeric"),
    ("is_high_tech", "高新技术企业", "flag"),
    ("noise", "噪声", "numeric"),
]


def test_fit_logistic_points_follow_the_pdo_scale_and_the_evidence():
    frame = _synthetic()
    card, metrics = fit_logistic(frame, "bad", FIT_CHARACTERISTICS)
    assert card.method == "logistic"
    assert card_problems(card) == []
    assert metrics["n"] == 1200 and metrics["bads"] == int(frame["bad"].sum())
    assert metrics["n_test"] == 360 and metrics["auc"] > 0.7
    assert metrics["gini"] == pytest.approx(2 * metrics["auc"] - 1, abs=1e-3)
    assert 0 < metrics["ks"] < 1
    sc = metrics["scale"]
    assert card.base_points == pytest.approx(sc["offset"] - sc["factor"] * metrics["intercept"], abs=0.01)
    patents = next(c for c in card.characteristics if c.name == "invention_patents")
    numbered = [b for b in patents.bins if not b.missing]
    assert all(b.lower is None or float(b.lower).is_integer() for b in numbered)  # count bins fall on integers
    assert [b.points for b in numbered] == sorted(b.points for b in numbered)  # more patents, more points
    tax = next(c for c in card.characteristics if c.name == "tax_rating")
    worst = next(b for b in tax.bins if "D" in b.categories)
    best = next(b for b in tax.bins if "A" in b.categories)
    assert worst.points < best.points
    assert any(not b.categories and not b.missing for b in tax.bins)  # unseen ratings: a neutral catch-all
    # Points per bin = −factor · β · WoE: re-derive from the stored card on the training data's scores.
    scored = score(frame, card)
    names = [c.name for c in card.characteristics]
    assert (
        scored.select(
            (pl.col("score") - card.base_points - pl.sum_horizontal([f"points_{n}" for n in names])).abs().max()
        ).item()
        < 0.006
    )


def test_fit_logistic_metrics_describe_the_stored_card():
    frame = _synthetic(seed=9)
    card, metrics = fit_logistic(frame, "bad", FIT_CHARACTERISTICS, seed=11)
    again, metrics_again = fit_logistic(frame, "bad", FIT_CHARACTERISTICS, seed=11)
    assert again == card and metrics_again == metrics  # deterministic for a seed
    flag = next(c for c in card.characteristics if c.name == "is_high_tech")
    assert {b.label for b in flag.bins} >= {"是", "否", MISSING_LABEL}


def test_fit_logistic_drops_wrong_signed_characteristics():
    """w is protective on its own (its WoE says so) but, given u, raises the risk: a suppressor. Fitted beside u
    its coefficient takes the wrong sign, so it is dropped and scores 0 points, never rewarding the wrong side."""
    rng = np.random.default_rng(4)
    n = 4000
    u = rng.normal(size=n)
    w = u + rng.normal(scale=0.3, size=n)
    bad = (rng.random(n) < 1 / (1 + np.exp(-(-2.0 - 1.5 * u + 1.0 * w)))).astype(int)
    frame = pl.DataFrame({"u": u, "w": w, "bad": bad})
    card, metrics = fit_logistic(frame, "bad", [("u", "U", "numeric"), ("w", "W", "numeric")])
    assert metrics["dropped"] == ["w"]
    assert metrics["coefficients"]["w"] == 0.0 and metrics["coefficients"]["u"] < 0
    assert all(b.points == 0 for b in next(c for c in card.characteristics if c.name == "w").bins)


def test_fit_logistic_rejects_bad_input():
    frame = _synthetic()
    with pytest.raises(ValueError, match="target"):
        fit_logistic(frame, "nope", FIT_CHARACTERISTICS)
    with pytest.raises(ValueError, match="both"):
        fit_logistic(frame.with_columns(pl.lit(0).alias("bad")), "bad", FIT_CHARACTERISTICS)
    with pytest.raises(ValueError, match="kind"):
        fit_logistic(frame, "bad", [("noise", "噪声", "ordinal")])
    with pytest.raises(ValueError, match="zzz"):
        fit_logistic(frame, "bad", [("zzz", "Z", "numeric")])


def test_fit_logistic_survives_empty_and_constant_characteristics():
    frame = _synthetic().with_columns(
        pl.lit(None, dtype=pl.Float64).alias("never_known"),
        pl.lit("same").alias("constant"),
        pl.when((pl.col("bad") == 1) | (pl.col("enterprise_id") % 10 == 0))
        .then(None)
        .otherwise(pl.lit(1.0))
        .alias("missing_when_bad"),
    )
    extra = [
        ("never_known", "从未提供", "numeric"),
        ("constant", "常量", "categorical"),
        ("missing_when_bad", "坏样本缺失", "numeric"),
    ]
    card, metrics = fit_logistic(frame, "bad", [*FIT_CHARACTERISTICS, *extra])
    assert card_problems(card) == []
    never = next(c for c in card.characteristics if c.name == "never_known")
    assert all(b.points == 0 for b in never.bins) and metrics["binning_status"]["never_known"] == "constant"
    # Only its missingness can speak for this one, and it does: missing means bad, so the missing bin costs points.
    telling = next(c for c in card.characteristics if c.name == "missing_when_bad")
    assert next(b for b in telling.bins if b.missing).points < next(b for b in telling.bins if not b.missing).points
