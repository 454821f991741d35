"""Request and response signing for the 信易贷 exchange (docs/exchange.md §3); pure, no Django.

Each request carries four headers: the key id, a unix timestamp, a random nonce and an HMAC-SHA256 signature over
the canonical string

    METHOD "\\n" PATH-WITH-QUERY "\\n" TIMESTAMP "\\n" NONCE "\\n" SHA256-HEX-OF-BODY

with the secret both sides share. A receiver refuses a request whose signature does not match, whose timestamp is
outside ±REPLAY_WINDOW_SECONDS of its own clock, or whose nonce it has already seen inside that window.

A response is signed the same way with the method replaced by ``RESPONSE:<status>`` and the nonce being the
request's nonce echoed back, which binds the response to the request it answers (an old response cannot be replayed
for a new request).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

REPLAY_WINDOW_SECONDS = 300

HEADER_KEY = "X-Ipledge-Key"
HEADER_TIMESTAMP = "X-Ipledge-Timestamp"
HEADER_NONCE = "X-Ipledge-Nonce"
HEADER_SIGNATURE = "X-Ipledge-Signature"
HEADER_IDEMPOTENCY = "Idempotency-Key"
SIGNED_HEADERS = (HEADER_KEY, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)

# Reason codes `verify` answers with (also the `error` of a 401 answer).
MISSING_HEADER = "missing_header"
UNKNOWN_KEY = "unknown_key"
BAD_SIGNATURE = "bad_signature"
STALE_TIMESTAMP = "stale_timestamp"
REPLAYED_NONCE = "replayed_nonce"
REASONS = (MISSING_HEADER, UNKNOWN_KEY, BAD_SIGNATURE, STALE_TIMESTAMP, REPLAYED_NONCE)

MAX_NONCE_LENGTH = 64


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_string(*, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join((method.upper(), path, timestamp, nonce, body_digest(body)))


def signature(secret: str, canonical: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), canonical.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii")


def new_nonce() -> str:
    return secrets.token_hex(16)


def response_method(status: int) -> str:
    return f"RESPONSE:{int(status)}"


def sign_headers(
    *,
    key_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four signature headers for one request (or, with `response_method(status)`, one response)."""
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    nonce = nonce or new_nonce()
    canonical = canonical_string(method=method, path=path, timestamp=ts, nonce=nonce, body=body)
    return {
        HEADER_KEY: key_id,
        HEADER_TIMESTAMP: ts,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature(secret, canonical),
    }


def _lower(headers: Mapping[str, str] | Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def verify(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str] | Any,
    body: bytes,
    secret_for: Callable[[str], str | None],
    now: float | None = None,
    remember_nonce: Callable[[str, str], bool] | None = None,
    expected_nonce: str | None = None,
) -> str | None:
    """None when the message is authentic and fresh, else the reason code.

    `headers` is any mapping with ``items()`` (header names are matched case-insensitively). `secret_for(key_id)`
    answers the shared secret or None for an unknown key. `remember_nonce(key_id, nonce)` stores the nonce for the
    window and answers False when it was already there; it is called only after the signature checked out, so a
    forger cannot burn nonces. `expected_nonce` (responses) requires the echoed request nonce instead.
    """
    values = _lower(headers)
    got = {name: values.get(name.lower(), "").strip() for name in SIGNED_HEADERS}
    if not all(got.values()):
        return MISSING_HEADER
    key_id, ts, nonce, sig = (got[h] for h in SIGNED_HEADERS)
    if len(nonce) > MAX_NONCE_LENGTH:
        return MISSING_HEADER
    secret = secret_for(key_id)
    if not secret:
        return UNKNOWN_KEY
    expected = signature(secret, canonical_string(method=method, path=path, timestamp=ts, nonce=nonce, body=body))
    if not hmac.compare_digest(expected.encode("ascii"), sig.encode("ascii", "replace")):
        return BAD_SIGNATURE
    try:
        stamp = int(ts)
    except ValueError:
        return STALE_TIMESTAMP
    clock = time.time() if now is None else now
    if abs(clock - stamp) > REPLAY_WINDOW_SECONDS:
        return STALE_TIMESTAMP
    if expected_nonce is not None and not hmac.compare_digest(nonce.encode(), expected_nonce.encode()):
        return REPLAYED_NONCE
    if remember_nonce is not None and not remember_nonce(key_id, nonce):
        return REPLAYED_NONCE
    return None


class NonceMemory:
    """An in-process nonce store for one window (the mock server; tests). Not shared between processes."""

    def __init__(self, window: int = REPLAY_WINDOW_SECONDS) -> None:
        self.window = window
        self._seen: dict[tuple[str, str], float] = {}

    def __call__(self, key_id: str, nonce: str) -> bool:
        now = time.time()
        horizon = now - 2 * self.window
        if len(self._seen) > 10_000:
            self._seen = {k: t for k, t in self._seen.items() if t >= horizon}
        if (key_id, nonce) in self._seen and self._seen[(key_id, nonce)] >= horizon:
            return False
        self._seen[(key_id, nonce)] = now
        return True
