"""Per-key API rate limit: a fixed one-minute window counted in Django's cache.

Each key has `rate_limit_per_minute`. Calls are counted under `ipledge:rl:<key id>:<minute>`; the call that takes
the count above the limit, and every later one in that minute, is refused with 429 and `Retry-After` (seconds to
the next window). A fixed window lets a client burst up to twice the limit across a window boundary; that is
accepted in exchange for one cache increment per call.

The count lives in the `default` cache. LocMem (the default) is per process, so with several gunicorn workers or
servers each one counts separately and the effective limit is multiplied: a multi-server deployment sets
`CACHE_URL` to a shared backend (a DatabaseCache table, `dbcache://ipledge_cache` after
`ipledge createcachetable`, or Redis, `redis://host:6379/1`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache

WINDOW_SECONDS = 60

# The clock the limiter reads; tests replace it to cross windows without sleeping.
clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window resets; 0 when allowed


def hit(key_id: str, limit: int) -> Decision:
    """Count one call of this key in the current window and say whether it is within the limit."""
    now = clock()
    window = int(now // WINDOW_SECONDS)
    cache_key = f"ipledge:rl:{key_id}:{window}"
    # add() is a no-op when the counter exists; incr() is atomic on Redis/Memcached and locked on LocMem/DB.
    cache.add(cache_key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add() and incr()
        cache.set(cache_key, 1, timeout=WINDOW_SECONDS * 2)
        count = 1
    if count <= limit:
        return Decision(True, count, limit, 0)
    retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
    return Decision(False, count, limit, retry_after)
