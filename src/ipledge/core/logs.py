"""Structured logs: every record carries the request id, and one line per request says what was served.

The request id is the one `RequestContextMiddleware` puts in `X-Request-ID` and audit events record, so an
operator can follow one request from nginx's access log through the app's lines to the audit trail.
With `IPLEDGE_LOG_FORMAT=json` (the production default) each line is one JSON object (python-json-logger).
"""

from __future__ import annotations

import logging

from .context import current_request_id

request_logger = logging.getLogger("ipledge.request")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id() or "-"
        return True


def log_request(
    *, method: str, path: str, status: int, duration_ms: float, user_id: int | None, org_id: int | None
) -> None:
    level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 and status != 404 else logging.INFO
    request_logger.log(
        level,
        "%s %s %s",
        method,
        path,
        status,
        extra={
            "http_method": method,
            "http_path": path,
            "http_status": status,
            "duration_ms": round(duration_ms, 1),
            "user_id": user_id,
            "organisation_id": org_id,
        },
    )
