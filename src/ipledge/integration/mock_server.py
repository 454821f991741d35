"""A mock 信易贷 partner for tests and demos: the partner side of docs/exchange.md, standard library only.

    python -m ipledge.integration.mock_server --port 0 --key-id K --secret S \\
        [--cert cert.pem --key key.pem] [--fail-first N] [--state-file path] [--uscc USCC ...]

Prints one JSON line ``{"port": N}`` on stdout once it listens (on 127.0.0.1 unless --host says otherwise).

- ``POST /v1/messages`` verifies our signature (401 ``{"error": reason}``), answers 503 to the first N signed
  requests with --fail-first N, deduplicates by message id and records what it received.
- ``GET /v1/credit-data?since=…&cursor=…`` and ``GET /v1/loan-outcomes?…`` serve a small fixed data set for the
  USCCs given with --uscc, two items a page, with a ``next`` cursor.
- ``GET /v1/_received`` (unsigned; loopback clients only) answers what was received, for tests.
Every answer to a signed request is signed with the shared secret, echoing the request nonce.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ipledge.integration import signing

MAX_BODY = 1024 * 1024
PAGE_SIZE = 2
DATA_UPDATED_AT = "2026-01-05T00:00:00+00:00"


class MockState:
    def __init__(self, *, key_id: str, secret: str, fail_first: int, usccs: list[str], state_file: str | None) -> None:
        self.key_id = key_id
        self.secret = secret
        self.fail_remaining = fail_first
        self.usccs = usccs
        self.state_file = state_file
        self.lock = threading.Lock()
        self.nonces = signing.NonceMemory()
        self.requests: list[dict[str, Any]] = []
        self.messages: dict[str, dict[str, Any]] = {}

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": list(self.requests),
            "messages": list(self.messages.values()),
            "fail_remaining": self.fail_remaining,
        }

    def save(self) -> None:
        if self.state_file:
            with open(self.state_file, "w", encoding="utf-8") as fh:
                json.dump(self.snapshot(), fh, ensure_ascii=False)

    def credit_items(self) -> list[dict[str, Any]]:
        return [
            {
                "message_id": f"mock-credit-{uscc}-20260105",
                "updated_at": DATA_UPDATED_AT,
                "payload": {
                    "uscc": uscc,
                    "as_of": "2026-01-05",
                    "tax_rating": "A" if i % 2 == 0 else "B",
                    "social_insurance_headcount": 20 + 5 * i,
                    "tax_arrears": False,
                    "utility_arrears": i % 3 == 2,
                    "data": {"customs_registered": True},
                },
            }
            for i, uscc in enumerate(self.usccs)
        ]

    def loan_items(self) -> list[dict[str, Any]]:
        return [
            {
                "message_id": f"mock-loan-{uscc}-granted",
                "updated_at": DATA_UPDATED_AT,
                "payload": {
                    "uscc": uscc,
                    "loan_ref": f"MOCK-{uscc[-8:]}",
                    "lender_name": "模拟银行",
                    "outcome": "granted",
                    "amount": f"{500000 + 100000 * i}.00",
                    "occurred_on": "2026-01-05",
                    "is_ip_pledge": True,
                },
            }
            for i, uscc in enumerate(self.usccs)
        ]


class Handler(BaseHTTPRequestHandler):
    server_version = "mock-xinyidai/1"
    protocol_version = "HTTP/1.1"

    @property
    def state(self) -> MockState:
        return self.server.state  # type: ignore[attr-defined, no-any-return]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _send(self, status: int, data: Any, *, signed: bool = True) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        nonce = self.headers.get(signing.HEADER_NONCE, "")
        if signed and nonce:
            headers = signing.sign_headers(
                key_id=self.state.key_id,
                secret=self.state.secret,
                method=signing.response_method(status),
                path=self.path,
                body=body,
                nonce=nonce,
            )
            for name, value in headers.items():
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._send(413, {"error": "too_large"}, signed=False)
            return None
        return self.rfile.read(length) if length else b""

    def _verify(self, body: bytes) -> bool:
        state = self.state
        problem = signing.verify(
            method=self.command,
            path=self.path,
            headers=self.headers,
            body=body,
            secret_for=lambda key: state.secret if key == state.key_id else None,
            remember_nonce=state.nonces,
        )
        if problem is not None:
            with state.lock:
                state.requests.append({"method": self.command, "path": self.path, "status": 401, "error": problem})
                state.save()
            self._send(401, {"error": problem}, signed=False)
            return False
        return True

    def do_POST(self) -> None:
        body = self._body()
        if body is None:
            return
        if urlsplit(self.path).path != "/v1/messages":
            self._send(404, {"error": "not_found"}, signed=False)
            return
        if not self._verify(body):
            return
        state = self.state
        answer: dict[str, Any]
        with state.lock:
            if state.fail_remaining > 0:
                state.fail_remaining -= 1
                state.requests.append({"method": "POST", "path": self.path, "status": 503})
                state.save()
                status, answer = 503, {"error": "unavailable"}
            else:
                try:
                    data = json.loads(body.decode("utf-8"))
                    message_id = str(data["message_id"])
                except (UnicodeDecodeError, ValueError, KeyError, TypeError):
                    state.requests.append({"method": "POST", "path": self.path, "status": 400})
                    status, answer = 400, {"error": "invalid", "fields": {"body": "invalid"}}
                else:
                    duplicate = message_id in state.messages
                    if not duplicate:
                        state.messages[message_id] = {
                            "message_id": message_id,
                            "kind": data.get("kind"),
                            "schema_version": data.get("schema_version"),
                            "payload": data.get("payload"),
                            "idempotency_key": self.headers.get(signing.HEADER_IDEMPOTENCY),
                        }
                    state.requests.append({"method": "POST", "path": self.path, "status": 200, "id": message_id})
                    status = 200
                    answer = {"message_id": message_id, "status": "accepted", "duplicate": duplicate}
                state.save()
        self._send(status, answer)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/v1/_received":
            if self.client_address[0] not in ("127.0.0.1", "::1"):
                self._send(403, {"error": "loopback_only"}, signed=False)
                return
            with self.state.lock:
                snapshot = self.state.snapshot()
            self._send(200, snapshot, signed=False)
            return
        if parts.path not in ("/v1/credit-data", "/v1/loan-outcomes", "/v1/ping"):
            self._send(404, {"error": "not_found"}, signed=False)
            return
        if not self._verify(b""):
            return
        if parts.path == "/v1/ping":
            self._send(200, {"status": "ok", "schema_version": 1})
            return
        query = parse_qs(parts.query)
        since = (query.get("since") or [""])[0]
        try:
            offset = int((query.get("cursor") or ["0"])[0])
        except ValueError:
            self._send(400, {"error": "invalid", "fields": {"cursor": "invalid"}})
            return
        items = self.state.credit_items() if parts.path == "/v1/credit-data" else self.state.loan_items()
        # Timestamps share one format here, so comparing the strings compares the times.
        items = [i for i in items if not since or i["updated_at"] > since]
        page = items[offset : offset + PAGE_SIZE]
        following = offset + PAGE_SIZE
        with self.state.lock:
            self.state.requests.append({"method": "GET", "path": self.path, "status": 200, "items": len(page)})
            self.state.save()
        self._send(200, {"items": page, "next": str(following) if following < len(items) else None})


def build_server(args: argparse.Namespace) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.state = MockState(  # type: ignore[attr-defined]
        key_id=args.key_id,
        secret=args.secret,
        fail_first=args.fail_first,
        usccs=list(args.uscc),
        state_file=args.state_file,
    )
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(args.cert, args.key or None)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mock 信易贷 partner (docs/exchange.md)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key-id", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--cert", default="")
    parser.add_argument("--key", default="")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--state-file", default=None)
    parser.add_argument("--uscc", action="append", default=[])
    args = parser.parse_args(argv)
    server = build_server(args)
    sys.stdout.write(json.dumps({"port": server.server_address[1]}) + "\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
