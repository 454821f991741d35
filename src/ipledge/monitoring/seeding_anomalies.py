"""Demo data: anomalies (being built)."""

from __future__ import annotations

import datetime
import random
from typing import Any


def seed_anomalies(*, rng: random.Random, today: datetime.date, stdout: Any = None) -> dict[str, int]:
    return {}
