"""Request signing for the 信易贷 exchange (pure): canonical string, signature, and each refusal reason."""

from __future__ import annotations

from ipledge.integration import signing

SECRET = "demo-secret-please-change"
BODY = b'{"message_id":"5b0f3f4e-1c1a-4c55-9a55-6f1f3b2d9e10","kind":"product","schema_version":1}'
TS = 1767225600  # 2026-01-01T00:00:00Z
NONCE = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def _headers(**overrides: object) -> dict[str, str]:
    kwargs: dict[str, object] = {
        "key_id": "xyd-demo",
        "secret": SECRET,
        "method": "POST",
        "path": "/v1/messages",
        "body": BODY,
        "timestamp": TS,
        "nonce": NONCE,
    }
    kwargs.update(overrides)
    return signing.sign_headers(**kwargs)  # type: ignore[arg-type]


def _verify(headers: dict[str, str], *, body: bytes = BODY, now: float = TS + 10, **kwargs: object) -> str | None:
    return signing.verify(
        method="POST",
        path="/v1/messages",
        headers=headers,
        body=body,
        secret_for=lambda key: SECRET if key == "xyd-demo" else None,
        now=now,
        **kwargs,  # type: ignore[arg-type]
    )


def test_canonical_string_is_the_documented_five_lines() -> None:
    canonical = signing.canonical_string(method="post", path="/v1/messages?a=1", timestamp="1", nonce="n", body=b"")
    assert canonical == (
        "POST\n/v1/messages?a=1\n1\nn\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_worked_example_of_the_specification() -> None:
    # The same numbers are printed in docs/exchange.md §3.3: a change in the algorithm breaks both.
    headers = _headers()
    assert headers == {
        "X-Ipledge-Key": "xyd-demo",
        "X-Ipledge-Timestamp": "1767225600",
        "X-Ipledge-Nonce": NONCE,
        "X-Ipledge-Signature": "51TCYew+zYeEjgJFv41XAV4GooOT1Sbh8QtbOKSINSg=",
    }


def test_authentic_request_passes_and_header_names_are_case_insensitive() -> None:
    headers = {k.lower(): v for k, v in _headers().items()}
    assert _verify(headers) is None


def test_each_refusal_has_its_reason() -> None:
    headers = _headers()
    missing = dict(headers)
    del missing["X-Ipledge-Nonce"]
    assert _verify(missing) == signing.MISSING_HEADER
    assert _verify({**headers, "X-Ipledge-Key": "someone-else"}) == signing.UNKNOWN_KEY
    assert _verify(headers, body=BODY + b" ") == signing.BAD_SIGNATURE
    assert _verify(_headers(secret="wrong")) == signing.BAD_SIGNATURE
    assert _verify({**headers, "X-Ipledge-Signature": "not base64 at all ☃"}) == signing.BAD_SIGNATURE
    assert _verify(headers, now=TS + signing.REPLAY_WINDOW_SECONDS + 1) == signing.STALE_TIMESTAMP
    assert _verify(headers, now=TS - signing.REPLAY_WINDOW_SECONDS - 1) == signing.STALE_TIMESTAMP
    assert _verify(headers, now=TS + signing.REPLAY_WINDOW_SECONDS) is None


def test_a_nonce_is_accepted_once_inside_the_window() -> None:
    memory = signing.NonceMemory()
    headers = _headers()
    assert _verify(headers, remember_nonce=memory) is None
    assert _verify(headers, remember_nonce=memory) == signing.REPLAYED_NONCE
    assert _verify(_headers(nonce="another"), remember_nonce=memory) is None


def test_a_forged_request_does_not_burn_the_nonce() -> None:
    memory = signing.NonceMemory()
    assert _verify(_headers(secret="forged"), remember_nonce=memory) == signing.BAD_SIGNATURE
    assert _verify(_headers(), remember_nonce=memory) is None


def test_a_response_is_bound_to_the_request_nonce_and_status() -> None:
    headers = signing.sign_headers(
        key_id="xyd-demo",
        secret=SECRET,
        method=signing.response_method(200),
        path="/v1/messages",
        body=b"{}",
        timestamp=TS,
        nonce=NONCE,
    )

    def check(status: int, nonce: str) -> str | None:
        return signing.verify(
            method=signing.response_method(status),
            path="/v1/messages",
            headers=headers,
            body=b"{}",
            secret_for=lambda key: SECRET,
            now=TS,
            expected_nonce=nonce,
        )

    assert check(200, NONCE) is None
    assert check(200, "a-different-request") == signing.REPLAYED_NONCE
    assert check(503, NONCE) == signing.BAD_SIGNATURE
