"""Demo data: measures (being built)."""

from __future__ import annotations

import datetime
import random
from typing import Any


def seed_measures(*, rng: random.Random, today: datetime.date, stdout: Any = None) -> dict[str, int]:
    return {}
