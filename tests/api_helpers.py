"""Helpers for API tests: clients for a session user or an API key, JSON calls, and the error-shape check."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from ipledge.core.models import ApiKey, User
from ipledge.core.services import api_key_create

API = "/api/v1"


def session_client(user: User, *, enforce_csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(user)
    return client


def key_client(secret: str, *, header: str = "bearer") -> Client:
    if header == "bearer":
        return Client(headers={"Authorization": f"Bearer {secret}"})
    return Client(headers={"X-API-Key": secret})


def make_key(admin: User, *, role: str = "operator", name: str = "test key") -> tuple[ApiKey, str]:
    assert admin.organisation is not None
    return api_key_create(organisation=admin.organisation, name=name, role=role, acting_user=admin)


def send(client: Client, method: str, path: str, data: Any = None, **extra: Any) -> Any:
    body = json.dumps(data) if data is not None else ""
    return getattr(client, method)(f"{API}{path}", body, content_type="application/json", **extra)


def get(client: Client, path: str, params: dict[str, Any] | None = None) -> Any:
    return client.get(f"{API}{path}", params or {})


def assert_error(response: Any, status: int, *, field: Any = ..., rule: str | None = None) -> dict[str, Any]:
    """The response has `status` and the one error shape; when given, some error names `field` and/or `rule`."""
    assert response.status_code == status, (response.status_code, response.content.decode())
    body = response.json()
    assert set(body) == {"errors", "request_id"}, body
    assert body["request_id"] and body["request_id"] == response["X-Request-ID"]
    assert body["errors"], body
    for item in body["errors"]:
        assert set(item) == {"field", "rule", "message", "message_en"}, item
        assert item["rule"] and item["message"] and item["message_en"], item
    if field is not ... or rule is not None:
        matches = [
            e for e in body["errors"] if (field is ... or e["field"] == field) and (rule is None or e["rule"] == rule)
        ]
        assert matches, f"no error with field={field!r} rule={rule!r} in {body['errors']}"
    return body
