"""Meeting scheduling for matchmaking events (银企对接排期): pure Python, no Django.

Input: candidate pairs (a bank participant, an enterprise participant, a score and the match they come from), the
number of desks (洽谈台) each bank staffs, the number of time slots of the day, and the meetings already fixed (kept
as they are). Output: an assignment of candidates to (slot, desk), and the candidates left out with the reason.

The rules every schedule keeps:
- a bank desk holds at most one meeting per slot; an enterprise attends at most one meeting per slot;
- a bank and an enterprise meet at most once (a pair already fixed is not placed again; of several candidates for
  the same pair only the best is considered);
- optionally, an enterprise has at most `max_per_enterprise` meetings (fixed ones count);
- a desk number lies in 1..desks of its bank, a slot in 1..slot_count.

Greedy by score: candidates are taken best score first, ties broken by bank id, then enterprise id, then match id
(so the result never depends on input order). Each is placed in the earliest slot where the enterprise is free and
some desk of its bank is free, at the lowest free desk. Occupancy only grows while the candidates are taken, so a
candidate left out for `no_free_slot` still has no common free slot in the final schedule: the schedule is maximal
(no left-out pair could be added to it without moving another meeting).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

# Reasons a candidate is left unscheduled.
NO_FREE_SLOT = "no_free_slot"  # no slot where the enterprise and some desk of the bank are both free
ENTERPRISE_CAP = "enterprise_cap"  # the enterprise already has its maximum number of meetings
ALREADY_MET = "already_met"  # the pair is already fixed (an existing meeting)
DUPLICATE_PAIR = "duplicate_pair"  # a better candidate for the same pair was considered first
NO_DESK = "no_desk"  # the bank staffs no desk (unknown bank, or zero desks)

REASONS = (NO_FREE_SLOT, ENTERPRISE_CAP, ALREADY_MET, DUPLICATE_PAIR, NO_DESK)


@dataclass(frozen=True)
class Candidate:
    bank: int
    enterprise: int
    score: Decimal
    match_id: int | None = None

    def sort_key(self) -> tuple[Decimal, int, int, int]:
        return (-self.score, self.bank, self.enterprise, -1 if self.match_id is None else self.match_id)


@dataclass(frozen=True)
class Fixed:
    """A meeting already in the schedule (kept as it is)."""

    bank: int
    enterprise: int
    slot: int
    desk: int


@dataclass(frozen=True)
class Assignment:
    bank: int
    enterprise: int
    slot: int
    desk: int
    score: Decimal
    match_id: int | None = None


@dataclass(frozen=True)
class Unscheduled:
    candidate: Candidate
    reason: str


@dataclass(frozen=True)
class Schedule:
    assignments: tuple[Assignment, ...]
    unscheduled: tuple[Unscheduled, ...]


class _Board:
    """Who is busy when: bank desks and enterprises per slot, pairs already meeting, meetings per enterprise."""

    def __init__(self, desks: Mapping[int, int], slot_count: int) -> None:
        self.desks = {bank: max(0, int(n)) for bank, n in desks.items()}
        self.slot_count = slot_count
        self.desk_busy: set[tuple[int, int, int]] = set()  # (bank, desk, slot)
        self.enterprise_busy: set[tuple[int, int]] = set()  # (enterprise, slot)
        self.pairs: set[tuple[int, int]] = set()
        self.per_enterprise: dict[int, int] = {}

    def take(self, bank: int, enterprise: int, slot: int, desk: int) -> None:
        self.desk_busy.add((bank, desk, slot))
        self.enterprise_busy.add((enterprise, slot))
        self.pairs.add((bank, enterprise))
        self.per_enterprise[enterprise] = self.per_enterprise.get(enterprise, 0) + 1

    def free_desk(self, bank: int, slot: int) -> int | None:
        for desk in range(1, self.desks.get(bank, 0) + 1):
            if (bank, desk, slot) not in self.desk_busy:
                return desk
        return None

    def first_common(self, bank: int, enterprise: int) -> tuple[int, int] | None:
        for slot in range(1, self.slot_count + 1):
            if (enterprise, slot) in self.enterprise_busy:
                continue
            desk = self.free_desk(bank, slot)
            if desk is not None:
                return slot, desk
        return None


def schedule(
    *,
    candidates: Iterable[Candidate],
    desks: Mapping[int, int],
    slot_count: int,
    fixed: Iterable[Fixed] = (),
    max_per_enterprise: int | None = None,
) -> Schedule:
    """Place candidates greedily by score around the fixed meetings (see the module docstring)."""
    if slot_count < 0:
        raise ValueError("slot_count must not be negative")
    if max_per_enterprise is not None and max_per_enterprise < 0:
        raise ValueError("max_per_enterprise must not be negative")
    board = _Board(desks, slot_count)
    for meeting in fixed:
        board.take(meeting.bank, meeting.enterprise, meeting.slot, meeting.desk)
    fixed_pairs = set(board.pairs)

    assignments: list[Assignment] = []
    left: list[Unscheduled] = []
    considered: set[tuple[int, int]] = set()
    for candidate in sorted(candidates, key=Candidate.sort_key):
        pair = (candidate.bank, candidate.enterprise)
        if pair in fixed_pairs:
            left.append(Unscheduled(candidate, ALREADY_MET))
            continue
        if pair in considered:
            left.append(Unscheduled(candidate, DUPLICATE_PAIR))
            continue
        considered.add(pair)
        if board.desks.get(candidate.bank, 0) < 1:
            left.append(Unscheduled(candidate, NO_DESK))
            continue
        if max_per_enterprise is not None and board.per_enterprise.get(candidate.enterprise, 0) >= max_per_enterprise:
            left.append(Unscheduled(candidate, ENTERPRISE_CAP))
            continue
        place = board.first_common(candidate.bank, candidate.enterprise)
        if place is None:
            left.append(Unscheduled(candidate, NO_FREE_SLOT))
            continue
        slot, desk = place
        board.take(candidate.bank, candidate.enterprise, slot, desk)
        assignments.append(
            Assignment(
                bank=candidate.bank,
                enterprise=candidate.enterprise,
                slot=slot,
                desk=desk,
                score=candidate.score,
                match_id=candidate.match_id,
            )
        )
    return Schedule(assignments=tuple(assignments), unscheduled=tuple(left))


def common_free_slots(
    *, bank: int, enterprise: int, desks: Mapping[int, int], slot_count: int, meetings: Iterable[Fixed]
) -> list[tuple[int, int]]:
    """Every (slot, lowest free desk) where both the enterprise and some desk of the bank are free."""
    board = _Board(desks, slot_count)
    for meeting in meetings:
        board.take(meeting.bank, meeting.enterprise, meeting.slot, meeting.desk)
    found = []
    for slot in range(1, slot_count + 1):
        if (enterprise, slot) in board.enterprise_busy:
            continue
        desk = board.free_desk(bank, slot)
        if desk is not None:
            found.append((slot, desk))
    return found
