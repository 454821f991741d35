"""The meeting scheduler (`market.engine.scheduling`): examples, and properties over random events (bounded sizes):
never a double booking of a desk or an enterprise, never more meetings than capacity, each pair at most once, the
enterprise cap kept, the fixed meetings kept, deterministic whatever the input order, and maximal (a pair left out
for lack of a slot has no common free slot in the final schedule)."""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipledge.market.engine.scheduling import (
    ALREADY_MET,
    DUPLICATE_PAIR,
    ENTERPRISE_CAP,
    NO_DESK,
    NO_FREE_SLOT,
    Candidate,
    Fixed,
    Schedule,
    common_free_slots,
    schedule,
)


def C(bank: int, enterprise: int, score: str | int, match: int | None = None) -> Candidate:
    return Candidate(bank=bank, enterprise=enterprise, score=Decimal(score), match_id=match)


def test_best_score_first_earliest_slot_lowest_desk() -> None:
    result = schedule(
        candidates=[C(1, 10, 50), C(1, 11, 90), C(2, 10, 70), C(1, 12, 90)],
        desks={1: 1, 2: 1},
        slot_count=3,
    )
    placed = [(a.bank, a.enterprise, a.slot, a.desk) for a in result.assignments]
    # 90s first (tie: enterprise 11 before 12), then 70, then 50 in the first slot both are free.
    assert placed == [(1, 11, 1, 1), (1, 12, 2, 1), (2, 10, 1, 1), (1, 10, 3, 1)]
    assert result.unscheduled == ()


def test_second_desk_used_in_the_same_slot() -> None:
    result = schedule(candidates=[C(1, 10, 80), C(1, 11, 70), C(1, 12, 60)], desks={1: 2}, slot_count=1)
    assert [(a.enterprise, a.slot, a.desk) for a in result.assignments] == [(10, 1, 1), (11, 1, 2)]
    assert [(u.candidate.enterprise, u.reason) for u in result.unscheduled] == [(12, NO_FREE_SLOT)]


def test_fixed_meetings_are_kept_and_their_pairs_not_placed_again() -> None:
    result = schedule(
        candidates=[C(1, 10, 99), C(1, 11, 50), C(1, 11, 40, match=7)],
        desks={1: 1},
        slot_count=2,
        fixed=[Fixed(bank=1, enterprise=10, slot=1, desk=1)],
    )
    assert [(a.enterprise, a.slot) for a in result.assignments] == [(11, 2)]
    reasons = {(u.candidate.enterprise, u.candidate.match_id): u.reason for u in result.unscheduled}
    assert reasons == {(10, None): ALREADY_MET, (11, 7): DUPLICATE_PAIR}


def test_enterprise_cap_counts_fixed_meetings() -> None:
    result = schedule(
        candidates=[C(2, 10, 90), C(3, 10, 80), C(3, 11, 10)],
        desks={1: 1, 2: 1, 3: 1},
        slot_count=5,
        fixed=[Fixed(bank=1, enterprise=10, slot=1, desk=1)],
        max_per_enterprise=2,
    )
    assert [(a.bank, a.enterprise, a.slot) for a in result.assignments] == [(2, 10, 2), (3, 11, 1)]
    assert [(u.candidate.bank, u.reason) for u in result.unscheduled] == [(3, ENTERPRISE_CAP)]


def test_a_bank_without_desks_is_refused() -> None:
    result = schedule(candidates=[C(9, 10, 50), C(1, 10, 40)], desks={1: 1, 9: 0}, slot_count=1)
    assert [(u.candidate.bank, u.reason) for u in result.unscheduled] == [(9, NO_DESK)]
    assert len(result.assignments) == 1


def test_no_slots_means_nothing_placed() -> None:
    result = schedule(candidates=[C(1, 10, 50)], desks={1: 3}, slot_count=0)
    assert result.assignments == () and result.unscheduled[0].reason == NO_FREE_SLOT
    with pytest.raises(ValueError):
        schedule(candidates=[], desks={}, slot_count=-1)


def test_common_free_slots() -> None:
    meetings = [Fixed(1, 10, 1, 1), Fixed(2, 11, 2, 1)]
    assert common_free_slots(bank=1, enterprise=11, desks={1: 1, 2: 1}, slot_count=3, meetings=meetings) == [(3, 1)]


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

BANKS = st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=4)  # desks per bank (0 allowed)


@st.composite
def events(draw: st.DrawFn) -> tuple[list[Candidate], dict[int, int], int, list[Fixed], int | None]:
    desk_counts = draw(BANKS)
    desks = {100 + i: n for i, n in enumerate(desk_counts)}
    enterprises = [200 + i for i in range(draw(st.integers(min_value=1, max_value=8)))]
    slot_count = draw(st.integers(min_value=0, max_value=5))
    candidates = draw(
        st.lists(
            st.builds(
                Candidate,
                bank=st.sampled_from(sorted(desks)),
                enterprise=st.sampled_from(enterprises),
                score=st.decimals(min_value=0, max_value=100, places=2),
                match_id=st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
            ),
            max_size=40,
        )
    )
    # Fixed meetings that are consistent among themselves (placed by the engine itself on a random subset).
    seed_pairs = draw(st.lists(st.tuples(st.sampled_from(sorted(desks)), st.sampled_from(enterprises)), max_size=6))
    fixed_schedule = schedule(
        candidates=[Candidate(b, e, Decimal(0)) for b, e in seed_pairs], desks=desks, slot_count=slot_count
    )
    fixed = [Fixed(a.bank, a.enterprise, a.slot, a.desk) for a in fixed_schedule.assignments]
    cap = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=4)))
    return candidates, desks, slot_count, fixed, cap


def _all_meetings(result: Schedule, fixed: list[Fixed]) -> list[Fixed]:
    return fixed + [Fixed(a.bank, a.enterprise, a.slot, a.desk) for a in result.assignments]


@settings(max_examples=300, deadline=None)
@given(events())
def test_never_a_double_booking_and_within_capacity(case: tuple) -> None:  # type: ignore[type-arg]
    candidates, desks, slot_count, fixed, cap = case
    result = schedule(candidates=candidates, desks=desks, slot_count=slot_count, fixed=fixed, max_per_enterprise=cap)
    meetings = _all_meetings(result, fixed)
    desk_slots = Counter((m.bank, m.desk, m.slot) for m in meetings)
    enterprise_slots = Counter((m.enterprise, m.slot) for m in meetings)
    pairs = Counter((m.bank, m.enterprise) for m in meetings)
    assert max(desk_slots.values(), default=0) <= 1
    assert max(enterprise_slots.values(), default=0) <= 1
    assert max(pairs.values(), default=0) <= 1
    for a in result.assignments:
        assert 1 <= a.slot <= slot_count and 1 <= a.desk <= desks[a.bank]
    per_bank = Counter(m.bank for m in meetings)
    for bank, n in per_bank.items():
        assert n <= desks[bank] * slot_count
    assert len(meetings) <= sum(desks.values()) * slot_count
    if cap is not None:
        placed = Counter(a.enterprise for a in result.assignments)
        already = Counter(m.enterprise for m in fixed)
        for enterprise, n in placed.items():
            assert already[enterprise] + n <= cap
    # Every candidate is either placed or reported, never both, never lost.
    assert len(result.assignments) + len(result.unscheduled) == len(candidates)


@settings(max_examples=200, deadline=None)
@given(events(), st.randoms(use_true_random=False))
def test_deterministic_whatever_the_input_order(case: tuple, rnd: random.Random) -> None:  # type: ignore[type-arg]
    candidates, desks, slot_count, fixed, cap = case
    first = schedule(candidates=candidates, desks=desks, slot_count=slot_count, fixed=fixed, max_per_enterprise=cap)
    shuffled = list(candidates)
    rnd.shuffle(shuffled)
    again = schedule(candidates=shuffled, desks=desks, slot_count=slot_count, fixed=fixed, max_per_enterprise=cap)
    assert {(a.bank, a.enterprise, a.slot, a.desk) for a in first.assignments} == {
        (a.bank, a.enterprise, a.slot, a.desk) for a in again.assignments
    }
    assert first.assignments == again.assignments


@settings(max_examples=300, deadline=None)
@given(events())
def test_left_out_only_when_no_common_free_slot(case: tuple) -> None:  # type: ignore[type-arg]
    candidates, desks, slot_count, fixed, cap = case
    result = schedule(candidates=candidates, desks=desks, slot_count=slot_count, fixed=fixed, max_per_enterprise=cap)
    meetings = _all_meetings(result, fixed)
    met = {(m.bank, m.enterprise) for m in meetings}
    count = Counter(m.enterprise for m in meetings)
    for left in result.unscheduled:
        c = left.candidate
        if left.reason == NO_FREE_SLOT:
            # Occupancy only grows, so what was full when the pair was considered is still full now.
            assert (
                common_free_slots(
                    bank=c.bank, enterprise=c.enterprise, desks=desks, slot_count=slot_count, meetings=meetings
                )
                == []
            )
            assert (c.bank, c.enterprise) not in met
        elif left.reason == ENTERPRISE_CAP:
            assert cap is not None and count[c.enterprise] >= cap
        elif left.reason in (ALREADY_MET, DUPLICATE_PAIR):
            assert (c.bank, c.enterprise) in met or left.reason == DUPLICATE_PAIR
        else:
            assert left.reason == NO_DESK and desks[c.bank] == 0


@settings(max_examples=200, deadline=None)
@given(events())
def test_left_out_only_when_full_at_the_point_it_was_considered(case: tuple) -> None:  # type: ignore[type-arg]
    """Replay: the meetings in place when a candidate was considered are the fixed ones and the assignments of the
    candidates before it in score order; with those alone there was no common free slot for it."""
    candidates, desks, slot_count, fixed, cap = case
    result = schedule(candidates=candidates, desks=desks, slot_count=slot_count, fixed=fixed, max_per_enterprise=cap)
    keys = [Candidate(a.bank, a.enterprise, a.score, a.match_id).sort_key() for a in result.assignments]
    assert keys == sorted(keys)  # placed in the greedy order
    for left in result.unscheduled:
        if left.reason != NO_FREE_SLOT:
            continue
        c = left.candidate
        before = fixed + [
            Fixed(a.bank, a.enterprise, a.slot, a.desk)
            for a, key in zip(result.assignments, keys, strict=True)
            if key < c.sort_key()
        ]
        assert (
            common_free_slots(bank=c.bank, enterprise=c.enterprise, desks=desks, slot_count=slot_count, meetings=before)
            == []
        )
