"""Per-request context (request id, API key) carried to services without threading it through every call."""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import uuid
from collections.abc import Iterator

from django.utils import timezone

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("ipledge_request_id", default="")
api_key_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("ipledge_api_key_id", default=None)


def current_request_id() -> str:
    return request_id_var.get() or ""


def new_request_id() -> str:
    return uuid.uuid4().hex


business_date_var: contextvars.ContextVar[datetime.date | None] = contextvars.ContextVar(
    "ipledge_business_date", default=None
)


def business_date() -> datetime.date:
    """Today's date in Asia/Shanghai, unless a back-dated import or seed has set the business date."""
    return business_date_var.get() or timezone.localdate()


@contextlib.contextmanager
def as_of(day: datetime.date) -> Iterator[None]:
    """Run services as if on `day` (seeding history, replaying imports); restores the previous date after."""
    token = business_date_var.set(day)
    try:
        yield
    finally:
        business_date_var.reset(token)


def business_now() -> datetime.datetime:
    """Now, or 10:00 Beijing time on the business date when one is set (so back-dated rows stay consistent)."""
    day = business_date_var.get()
    if day is None:
        return timezone.now()
    return datetime.datetime.combine(day, datetime.time(10, 0), tzinfo=timezone.get_default_timezone())
