"""The vectorised matching engine against its row-by-row twin (`engine.reference`) on random frames, and the
engine's frame contract. No database."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipledge.market.engine import matching as engine
from ipledge.market.engine import reference
from tests.market.factories_matching import demand_row as _demand
from tests.market.factories_matching import product_row as _product

RATES = engine.Rates(lpr_1y_bp=310, lpr_5y_bp=360)
REGIONS = ["110000", "110100", "110108", "320000", "320100", "320115", "440300"]
SECTIONS = ["C", "I", "M", "F"]
SIZES = ["micro", "small", "medium", "large"]
GRADES = [None, "AAA", "AA", "A", "BBB", "BB", "B", "CCC", "C"]


@st.composite
def products(draw: Any, pid: int) -> dict[str, Any]:
    amount_min = draw(st.integers(1, 2_000)) * 100_000
    row: dict[str, Any] = {
        "product_id": pid,
        "version_id": 1000 + pid,
        "bank_id": draw(st.integers(1, 3)),
        "amount_min": amount_min,
        "amount_max": amount_min + draw(st.integers(0, 20_000)) * 100_000,
        "term_min": (tmin := draw(st.integers(1, 24))),
        "term_max": tmin + draw(st.integers(0, 84)),
        "rate_kind": draw(st.sampled_from(["lpr_spread", "fixed"])),
        "spread_bp": draw(st.integers(-20, 300)),
        "fixed_bp": draw(st.integers(150, 900)),
        "region_codes": draw(st.lists(st.sampled_from(REGIONS), max_size=2, unique=True) | st.just([]) | st.just([])),
        "industry_sections": draw(
            st.lists(st.sampled_from(SECTIONS), max_size=3, unique=True) | st.just([]) | st.just([])
        ),
        "size_classes": draw(st.lists(st.sampled_from(SIZES), max_size=3, unique=True) | st.just([]) | st.just([])),
        "min_age": draw(st.sampled_from([0, 0, 0, 1, 3])),
        "requires_whitelist": draw(st.sampled_from([False, False, False, True])),
        "excludes_dishonest": draw(st.booleans()),
        "max_penalties": draw(st.sampled_from([None, None, 0, 1, 2])),
        "requires_guarantee": draw(st.booleans()),
        "requires_insurance": draw(st.booleans()),
    }
    accepted = draw(st.lists(st.sampled_from(engine.KINDS), min_size=1, max_size=4, unique=True))
    if draw(st.sampled_from([True, True, False])):
        accepted.append("invention")
    for k in engine.KINDS:
        row[f"accepts_{k}"] = k in accepted
        row[f"min_years_{k}"] = draw(st.integers(0, 10)) if k in accepted else 0
        row[f"cap_bp_{k}"] = draw(st.sampled_from([1000, 2500, 3000, 5000])) if k in accepted else 0
    return row


@st.composite
def demands(draw: Any, did: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "demand_id": did,
        "enterprise_id": 500 + did,
        "region_code": draw(st.sampled_from([*REGIONS, None])),
        "industry_section": draw(st.sampled_from([*SECTIONS, None])),
        "size_class": draw(st.sampled_from([*SIZES, None])),
        "age_days": draw(st.one_of(st.none(), st.integers(0, 6000), st.integers(0, 6000))),
        "whitelisted": draw(st.booleans()),
        "dishonest": draw(st.sampled_from([False, False, False, True])),
        "penalties_3y": draw(st.sampled_from([0, 0, 0, 1, 3])),
        "grade": draw(st.sampled_from(GRADES)),
        "high_tech": draw(st.booleans()),
        "specialised": draw(st.booleans()),
        "amount": draw(st.integers(1, 6_000)) * 100_000,
        "term": draw(st.integers(1, 90)),
    }
    offered = draw(st.lists(st.sampled_from(engine.KINDS), max_size=4, unique=True))
    if draw(st.sampled_from([True, True, False])):
        offered.append("invention")
    for k in engine.KINDS:
        if k not in offered:
            row.update({f"count_{k}": 0, f"max_days_{k}": None, f"unvalued_max_days_{k}": None})
            row[f"value_ge_{k}"] = [0] * engine.YEARS
            continue
        days = draw(st.lists(st.one_of(st.none(), st.integers(-10, 7300)), min_size=1, max_size=3))
        values = draw(
            st.lists(
                st.one_of(st.none(), st.integers(1, 400).map(lambda v: v * 100_000)),
                min_size=len(days),
                max_size=len(days),
            )
        )
        known = [x for x in days if x is not None]
        unvalued = [x for x, v in zip(days, values, strict=True) if x is not None and v is None]
        cumulative = [0] * engine.YEARS
        for x, v in zip(days, values, strict=True):
            if x is None or v is None or x < 0:
                continue
            for y in range(min(4 * x // 1461, engine.MAX_YEARS) + 1):
                cumulative[y] += v
        row.update(
            {
                f"count_{k}": len(days),
                f"max_days_{k}": max(known) if known else None,
                f"unvalued_max_days_{k}": max(unvalued) if unvalued else None,
                f"value_ge_{k}": cumulative,
            }
        )
    return row


@st.composite
def worlds(draw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]], engine.Rates]:
    n_products = draw(st.integers(0, 12))
    n_demands = draw(st.integers(0, 8))
    ps = [draw(products(i + 1)) for i in range(n_products)]
    draw(st.randoms()).shuffle(ps)  # the engine sorts by product id itself
    ds = [draw(demands(i + 1)) for i in range(n_demands)]
    rates = draw(st.sampled_from([RATES, engine.Rates(None, None), engine.Rates(385, None)]))
    return ps, ds, rates


def _frames(ps: list[dict[str, Any]], ds: list[dict[str, Any]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    pf = pl.DataFrame(ps, schema=engine.PRODUCT_SCHEMA, orient="row") if ps else engine.empty_products()
    df = pl.DataFrame(ds, schema=engine.DEMAND_SCHEMA, orient="row") if ds else engine.empty_demands()
    return pf, df


def _key(pair: dict[str, Any]) -> tuple[int, int]:
    return pair["demand_id"], pair["product_id"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.sampled_from([None, 0, 2, 20]), st.integers(1, 5))
def test_engine_equals_reference(world: Any, near_misses: int | None, chunk: int) -> None:
    ps, ds, rates = world
    pf, df = _frames(ps, ds)
    fast = engine.match(df, pf, rates, near_misses=near_misses, chunk=chunk).to_dicts()
    slow = [pair for d in ds for pair in reference.match_demand(d, ps, rates, near_misses=near_misses)]
    assert sorted(fast, key=_key) == sorted(slow, key=_key)
    prepared = engine.prepare_products(pf, rates)
    from_rows = engine.select_pairs(engine.evaluate(engine.prepare_demands(ds), prepared), near_misses=near_misses)
    assert sorted(from_rows.to_dicts(), key=_key) == sorted(fast, key=_key)
    products_by_id = {p["product_id"]: p for p in ps}
    demands_by_id = {d["demand_id"]: d for d in ds}
    for pair in fast:  # reasons follow the rule outcomes both ways
        items = engine.pair_reasons(demands_by_id[pair["demand_id"]], products_by_id[pair["product_id"]], pair)
        failed = {i["code"] for i in items if not i["passed"] and not i.get("soft")}
        assert failed == {rule for rule in engine.HARD_RULES if not pair[f"ok_{rule}"]}
        assert (not failed) == pair["eligible"]


@settings(max_examples=60, deadline=None)
@given(worlds(), st.integers(1, 4))
def test_top_k_is_the_head_of_the_ranking(world: Any, k: int) -> None:
    ps, ds, rates = world
    pf, df = _frames(ps, ds)
    evaluation = engine.evaluate(engine.prepare_demands(df), engine.prepare_products(pf, rates))
    best = engine.top_k(evaluation, k)
    for row, d in enumerate(ds):
        ranked = [p["product_id"] for p in reference.match_demand(d, ps, rates, near_misses=0)]
        expected = ranked[:k] + [-1] * (min(k, len(ps)) - len(ranked[:k]))
        got = [int(evaluation.products.product_id[c]) if c >= 0 else -1 for c in best[row]]
        assert got == expected


def test_capacity_is_the_valued_rights_at_the_caps_with_enough_life() -> None:
    product = _product(
        accepts=("invention", "trademark"),
        min_years={"invention": 8, "trademark": 2},
        caps={"invention": 3000, "trademark": 1000},
    )
    demand = _demand(
        rights={
            "invention": [(9 * 366, 10_000_000_00), (7 * 366, 5_000_000_00)],
            "trademark": [(3 * 366, 1_000_000_00)],
        }
    )
    pair = reference.match_pair(demand, product, RATES)
    assert pair["capacity"] == 10_000_000_00 * 3000 // 10000 + 1_000_000_00 * 1000 // 10000
    fast = engine.match(*reversed(_frames([product], [demand])), RATES, near_misses=None).to_dicts()[0]
    assert fast["capacity"] == pair["capacity"]


def test_unvalued_rights_leave_the_capacity_unknown_not_failed() -> None:
    product = _product(amount_min=5_000_000_00)
    demand = _demand(rights={"invention": [(12 * 366, None)]}, amount=6_000_000_00)
    pair = engine.match(*reversed(_frames([product], [demand])), RATES, near_misses=None).to_dicts()[0]
    assert pair["capacity"] == 0 and pair["capacity_unknown"] and pair["eligible"]
    items = engine.pair_reasons(demand, product, pair)
    assert [i["code"] for i in items if i.get("soft") and not i["passed"]] == ["valuation_missing"]


def test_remaining_life_is_exact_in_days() -> None:
    need = 8
    product = _product(min_years={"invention": need})
    just = 1461 * need // 4 + (1 if 1461 * need % 4 else 0)
    assert reference.match_pair(_demand(rights={"invention": [(just, 10**10)]}), product, RATES)["ok_remaining_life"]
    assert not reference.match_pair(_demand(rights={"invention": [(just - 1, 10**10)]}), product, RATES)[
        "ok_remaining_life"
    ]
    assert engine.remaining_years_floor1(just - 1) == 7.9


def test_lpr_tenor_follows_the_term() -> None:
    product = _product(spread_bp=40, term_max=120)
    short = reference.match_pair(_demand(term=60), product, RATES)
    long = reference.match_pair(_demand(term=61), product, RATES)
    assert (short["rate_bp"], long["rate_bp"]) == (350, 400)


def test_rank_breaks_ties_on_rate_then_product_id() -> None:
    a = _product(pid=3, spread_bp=50)
    b = _product(pid=1, spread_bp=50)
    c = _product(pid=2, rate_kind="fixed", fixed_bp=360)  # same rate as LPR 310 + 50: same score
    pairs = engine.match(*reversed(_frames([a, b, c], [_demand()])), RATES, near_misses=None).sort("rank").to_dicts()
    assert [p["product_id"] for p in pairs] == [1, 2, 3]
    assert len({p["score_centi"] for p in pairs}) == 1


def test_frames_need_every_column() -> None:
    with pytest.raises(ValueError, match="lacks columns"):
        engine.prepare_products(pl.DataFrame({"product_id": [1]}), RATES)


def test_value_lists_need_31_entries() -> None:
    demand = _demand()
    demand["value_ge_invention"] = [1, 2]
    with pytest.raises(ValueError, match="31"):
        engine.prepare_demands(pl.DataFrame([demand], schema=engine.DEMAND_SCHEMA, orient="row"))


def test_empty_inputs() -> None:
    pf, df = _frames([], [])
    assert engine.match(df, pf, RATES).height == 0
    pf, df = _frames([_product()], [])
    assert engine.match(df, pf, RATES).height == 0
    pf, df = _frames([], [_demand()])
    evaluation = engine.evaluate(engine.prepare_demands(df), engine.prepare_products(pf, RATES))
    assert evaluation.eligible.shape == (1, 0)
    assert engine.top_k(evaluation, 5).shape == (1, 0)
    assert np.all(engine.rank(evaluation) == 0)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([None, 3]))
def test_engine_equals_reference_on_realistic_frames(seed: int, near_misses: int | None) -> None:
    """The benchmark's mixes, where about one pair in sixteen is eligible (the hand-made strategies above reach the
    edge cases, these the common ones)."""
    from ipledge.market.benchmark import synthetic_demands, synthetic_products

    pf, df = synthetic_products(40, seed=seed), synthetic_demands(30, seed=seed)
    fast = engine.match(df, pf, RATES, near_misses=near_misses, chunk=7).to_dicts()
    ps = pf.to_dicts()
    slow = [pair for d in df.to_dicts() for pair in reference.match_demand(d, ps, RATES, near_misses=near_misses)]
    assert sorted(fast, key=_key) == sorted(slow, key=_key)
