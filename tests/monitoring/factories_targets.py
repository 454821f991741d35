"""Targets test data (百园万企): pledge registrations over two years in both provinces of the test world.

`add_targets(world)`: e1 (Beijing, park p1) registers one pledge in 2024 and two in 2025 (both growths +100 %:
reaches the goal); e2 (Jiangsu, park p2) registers one in 2025 only (last year zero: growth None, not reaching).
The targets own no model: these are registrations made through the registration services, which the Beijing
officials see and the Jiangsu ones do not.
"""

from __future__ import annotations

import datetime

from ipledge.core.context import as_of
from ipledge.registration.models import PledgeRegistration
from tests.lending.factories import pledge_registration
from tests.world import World

CLAIM_FEN = 500_000_000  # pledge_registration's claim amount, ¥5,000,000
REGISTRATIONS: tuple[tuple[str, str, datetime.date], ...] = (
    ("e1", "bank1_sub", datetime.date(2024, 3, 1)),
    ("e1", "bank1_sub", datetime.date(2025, 3, 3)),
    ("e1", "bank1_sub", datetime.date(2025, 6, 2)),
    ("e2", "bank2", datetime.date(2025, 4, 1)),
)


def registered_on(w: World, *, borrower: str, bank: str, day: datetime.date) -> PledgeRegistration:
    with as_of(day):
        return pledge_registration(w, borrower=borrower, bank=bank, reuse=False)


def add_targets(w: World) -> World:
    for borrower, bank, day in REGISTRATIONS:
        registered_on(w, borrower=borrower, bank=bank, day=day)
    return w
