"""A small HTTPS client for the 信易贷 exchange (docs/exchange.md) over `urllib.request`.

It signs every request, verifies TLS (the system trust store, or the CA file in the setting
`IPLEDGE_EXCHANGE_CA_BUNDLE` for a partner behind a private CA), refuses redirects, and verifies the partner's
signature on every 2xx response. Every failure is an `ExchangeError` that says whether trying again later may help:
connection errors, timeouts, 408, 429 and 5xx are retryable; other 4xx, redirects and a bad response signature are
not.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import signing

if TYPE_CHECKING:
    from .models import ExchangePartner

DEFAULT_TIMEOUT = 15.0
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
USER_AGENT = "ipledge-exchange/1"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class ExchangeError(Exception):
    """A failed exchange call; `retryable` says whether the same call may succeed later."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.reason = reason


@dataclass
class ExchangeResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _ca_bundle() -> str | None:
    from django.conf import settings

    value = getattr(settings, "IPLEDGE_EXCHANGE_CA_BUNDLE", None)
    return str(value) if value else None


def _retryable_status(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _error_text(body: bytes) -> str:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return body[:200].decode("utf-8", "replace")
    if isinstance(data, dict) and "error" in data:
        return str(data["error"])
    return json.dumps(data, ensure_ascii=False)[:200]


class ExchangeClient:
    def __init__(
        self,
        *,
        base_url: str,
        key_id: str,
        secret: str,
        timeout: float = DEFAULT_TIMEOUT,
        ca_bundle: str | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ExchangeError(f"bad partner URL {base_url!r}", retryable=False, reason="bad_url")
        if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            raise ExchangeError("the exchange runs over HTTPS only", retryable=False, reason="insecure_url")
        self.base_url = base_url.rstrip("/")
        self.key_id = key_id
        self.secret = secret
        self.timeout = timeout
        context = ssl.create_default_context(cafile=ca_bundle or _ca_bundle())
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirect())

    @classmethod
    def for_partner(cls, partner: ExchangePartner, *, timeout: float = DEFAULT_TIMEOUT) -> ExchangeClient:
        return cls(base_url=partner.base_url, key_id=partner.key_id, secret=partner.secret, timeout=timeout)

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        idempotency_key: str | None = None,
    ) -> ExchangeResponse:
        """Send one signed request to `base_url + path` and answer the verified 2xx response."""
        url = self.url(path)
        parts = urlsplit(url)
        signed_path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = b"" if json_body is None else json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        headers = signing.sign_headers(
            key_id=self.key_id, secret=self.secret, method=method, path=signed_path, body=body
        )
        headers["Accept"] = "application/json"
        headers["User-Agent"] = USER_AGENT
        if json_body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        if idempotency_key:
            headers[signing.HEADER_IDEMPOTENCY] = idempotency_key
        req = urllib.request.Request(url, data=body if method.upper() != "GET" else None, method=method.upper())
        for name, value in headers.items():
            req.add_header(name, value)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                status = int(resp.status)
                data = resp.read(MAX_RESPONSE_BYTES + 1)
                got_headers = {k: v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
            try:
                data = exc.read(MAX_RESPONSE_BYTES + 1)
            except OSError:
                data = b""
            finally:
                exc.close()
            if 300 <= status < 400:
                raise ExchangeError(
                    f"HTTP {status}: redirects are not followed", retryable=False, status=status
                ) from None
            raise ExchangeError(
                f"HTTP {status}: {_error_text(data)}",
                retryable=_retryable_status(status),
                status=status,
                reason=_error_text(data) if status == 401 else "",
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise ExchangeError(f"TLS verification failed: {exc.reason}", retryable=False, reason="tls") from None
        except http.client.HTTPException as exc:
            raise ExchangeError(f"broken HTTP answer: {exc!r}", retryable=True, reason="connection") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise ExchangeError(
                    f"TLS verification failed: {reason.reason}", retryable=False, reason="tls"
                ) from None
            raise ExchangeError(f"connection failed: {reason}", retryable=True, reason="connection") from None
        if len(data) > MAX_RESPONSE_BYTES:
            raise ExchangeError("response too large", retryable=False, status=status, reason="too_large")
        problem = signing.verify(
            method=signing.response_method(status),
            path=signed_path,
            headers=got_headers,
            body=data,
            secret_for=lambda key: self.secret if key == self.key_id else None,
            expected_nonce=headers[signing.HEADER_NONCE],
        )
        if problem is not None:
            raise ExchangeError(
                f"response signature refused: {problem}",
                retryable=False,
                status=status,
                reason=f"response_{problem}",
            )
        return ExchangeResponse(status=status, body=data, headers=got_headers)

    def get_json(self, path: str) -> Any:
        response = self.request("GET", path)
        try:
            return response.json()
        except (UnicodeDecodeError, ValueError) as exc:
            raise ExchangeError(f"response is not JSON: {exc}", retryable=False, status=response.status) from None

    def post_json(self, path: str, body: Any, *, idempotency_key: str | None = None) -> ExchangeResponse:
        return self.request("POST", path, json_body=body, idempotency_key=idempotency_key)
