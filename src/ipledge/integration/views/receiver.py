"""The receiving side of the 信易贷 exchange at /exchange/v1/ (docs/exchange.md §4, §7).

No session and no CSRF token: each request is authenticated by its HMAC signature (the partner's key id and shared
secret), must be fresh (timestamp within ±300 s) and carry a nonce not seen inside the window. Nonces are kept in
the Django cache (`cache.add`), which is shared between processes when the cache is (the database cache in
production; the per-process memory cache in development, where a replay to a second process would only be caught
by the message-id idempotency). Every answer to a known partner is signed with the same headers, the request's
nonce echoed back.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from .. import signing
from ..models import ExchangePartner
from ..services.inbound import receive

MAX_BODY_BYTES = 1024 * 1024
SCHEMA_VERSION = 1
NONCE_CACHE_PREFIX = "ipledge:exchange:nonce:"


def _remember_nonce(key_id: str, nonce: str) -> bool:
    # Kept twice the window: a timestamp may be up to the window in the past or in the future.
    return bool(cache.add(f"{NONCE_CACHE_PREFIX}{key_id}:{nonce}", 1, timeout=2 * signing.REPLAY_WINDOW_SECONDS))


def _answer(
    request: HttpRequest, status: int, data: dict[str, Any], partner: ExchangePartner | None = None
) -> HttpResponse:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    response = HttpResponse(body, status=status, content_type="application/json; charset=utf-8")
    nonce = request.headers.get(signing.HEADER_NONCE, "")
    if partner is not None and nonce:
        headers = signing.sign_headers(
            key_id=partner.key_id,
            secret=partner.secret,
            method=signing.response_method(status),
            path=request.get_full_path(),
            body=body,
            nonce=nonce,
        )
        for name, value in headers.items():
            response[name] = value
    response["Cache-Control"] = "no-store"
    return response


def _authenticate(request: HttpRequest, body: bytes) -> tuple[ExchangePartner | None, str | None]:
    found: dict[str, ExchangePartner] = {}

    def secret_for(key_id: str) -> str | None:
        partner = ExchangePartner.objects.filter(key_id=key_id, is_active=True).first()
        if partner is None:
            return None
        found["partner"] = partner
        return partner.secret

    problem = signing.verify(
        method=request.method or "",
        path=request.get_full_path(),
        headers=request.headers,
        body=body,
        secret_for=secret_for,
        remember_nonce=_remember_nonce,
    )
    partner = found.get("partner")
    # Only a request that proved the key earns a signed answer.
    if problem in (None, signing.STALE_TIMESTAMP, signing.REPLAYED_NONCE):
        return partner, problem
    return None, problem


def _field_errors(exc: ValidationError) -> dict[str, list[dict[str, str]]]:
    if not hasattr(exc, "error_dict"):
        return {"payload": [{"code": e.code or "invalid", "message": str(e.message)} for e in exc.error_list]}
    out: dict[str, list[dict[str, str]]] = {}
    for name, errors in exc.error_dict.items():
        out[name] = [
            {"code": e.code or "invalid", "message": str(e.message % e.params if e.params else e.message)}
            for e in errors
        ]
    return out


@csrf_exempt
@login_not_required
def messages(request: HttpRequest) -> HttpResponse:
    """POST a credit_data or loan_outcome message; 200 with the outcome (duplicates too), 400/401/409/413."""
    if request.method != "POST":
        return _answer(request, 405, {"error": "method_not_allowed"})
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return _answer(request, 413, {"error": "too_large", "limit": MAX_BODY_BYTES})
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return _answer(request, 413, {"error": "too_large", "limit": MAX_BODY_BYTES})
    partner, problem = _authenticate(request, body)
    if problem is not None or partner is None:
        return _answer(request, 401, {"error": problem or signing.UNKNOWN_KEY}, partner)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _answer(request, 400, {"error": "invalid", "fields": {"body": [{"code": "not_json"}]}}, partner)
    if not isinstance(data, dict):
        return _answer(request, 400, {"error": "invalid", "fields": {"body": [{"code": "not_object"}]}}, partner)
    if data.get("schema_version") != SCHEMA_VERSION:
        fields = {"schema_version": [{"code": "unsupported_version", "message": f"expected {SCHEMA_VERSION}"}]}
        return _answer(request, 400, {"error": "invalid", "fields": fields}, partner)
    message_id = data.get("message_id")
    idempotency = request.headers.get(signing.HEADER_IDEMPOTENCY)
    if idempotency and idempotency != message_id:
        fields = {"message_id": [{"code": "idempotency_mismatch", "message": "Idempotency-Key must equal message_id"}]}
        return _answer(request, 400, {"error": "invalid", "fields": fields}, partner)
    try:
        message, created = receive(
            partner=partner,
            message_id=message_id,  # type: ignore[arg-type]
            kind=str(data.get("kind") or ""),
            payload=data.get("payload"),
        )
    except ValidationError as exc:
        fields = _field_errors(exc)
        if any(e["code"] == "message_id_reused" for e in fields.get("message_id", [])):
            return _answer(request, 409, {"error": "message_id_reused", "fields": fields}, partner)
        return _answer(request, 400, {"error": "invalid", "fields": fields}, partner)
    answer: dict[str, Any] = {"message_id": message.message_id, "status": message.status, "duplicate": not created}
    if message.result.get("reason"):
        answer["reason"] = message.result["reason"]
    return _answer(request, 200, answer, partner)


@csrf_exempt
@login_not_required
def ping(request: HttpRequest) -> HttpResponse:
    """GET, signed: a connectivity and key check for partners."""
    if request.method != "GET":
        return _answer(request, 405, {"error": "method_not_allowed"})
    partner, problem = _authenticate(request, request.body)
    if problem is not None or partner is None:
        return _answer(request, 401, {"error": problem or signing.UNKNOWN_KEY}, partner)
    return _answer(
        request,
        200,
        {"status": "ok", "partner": partner.code, "schema_version": SCHEMA_VERSION, "time": timezone.now().isoformat()},
        partner,
    )


urlpatterns: list[URLPattern] = [
    path("messages", messages, name="messages"),
    path("ping", ping, name="ping"),
]
