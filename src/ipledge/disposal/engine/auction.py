"""Bidding arithmetic of an online auction (网络拍卖): the next acceptable bid and the anti-sniping extension
(延时竞价: a bid in the last N minutes pushes the end to N minutes after it)."""

from __future__ import annotations

import datetime


def minimum_bid_fen(*, reserve_fen: int, increment_fen: int, current_fen: int | None) -> int:
    """The first bid must reach the reserve (保留价); every later one must beat the current price by the increment."""
    if current_fen is None:
        return reserve_fen
    return current_fen + increment_fen


def extended_end(
    *, ends_at: datetime.datetime, placed_at: datetime.datetime, window: datetime.timedelta
) -> datetime.datetime:
    """A bid placed within `window` of the end moves the end to `placed_at + window`; otherwise it stays."""
    if window <= datetime.timedelta(0):
        return ends_at
    if placed_at > ends_at - window:
        return max(ends_at, placed_at + window)
    return ends_at
