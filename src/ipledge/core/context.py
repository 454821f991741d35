"""Per-request context (request id, API key) carried to services without threading it through every call."""

from __future__ import annotations

import contextvars
import uuid

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("ipledge_request_id", default="")
api_key_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("ipledge_api_key_id", default=None)


def current_request_id() -> str:
    return request_id_var.get() or ""


def new_request_id() -> str:
    return uuid.uuid4().hex
