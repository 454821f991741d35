"""Health and readiness probes, structured logs with request ids, and the production settings' deploy check."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from ipledge.core import health
from ipledge.core.logs import RequestIdFilter

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login_or_database(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_checks_database_migrations_and_cache(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(health, "_migrations_seen_applied", False)
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ok" and response.json()["checks"] == []


def test_readyz_is_unavailable_while_migrations_are_pending(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(health, "_migrations_seen_applied", False)

    class PendingExecutor:
        def __init__(self, connection: object) -> None:
            self.loader = type("L", (), {"graph": type("G", (), {"leaf_nodes": lambda self: []})()})()

        def migration_plan(self, targets: object) -> list[object]:
            return [("core", "0099_future"), ("market", "0099_future")]

    monkeypatch.setattr(health, "MigrationExecutor", PendingExecutor)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == ["migrations: 2 not applied"]


def test_readyz_is_unavailable_when_the_database_fails(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(health, "_check_database", lambda: "database: OperationalError")
    response = Client().get("/readyz")
    assert response.status_code == 503 and "database: OperationalError" in response.json()["checks"]


def test_probes_refuse_writes() -> None:
    assert Client().post("/healthz").status_code == 405
    assert Client().post("/readyz").status_code == 405


def test_every_response_carries_a_request_id_and_the_log_line_has_it(caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="ipledge.request")
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="probe-123")
    assert response["X-Request-ID"] == "probe-123"
    records = [r for r in caplog.records if r.name == "ipledge.request"]
    assert records, "no request log line"
    line = records[-1]
    assert line.http_path == "/healthz" and line.http_status == 200  # type: ignore[attr-defined]
    RequestIdFilter().filter(line)
    # The filter keeps an id set while the request ran; outside a request it says "-".
    orphan = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    RequestIdFilter().filter(orphan)
    assert orphan.request_id == "-"  # type: ignore[attr-defined]


def test_an_unsafe_request_id_is_replaced() -> None:
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline" and len(response["X-Request-ID"]) == 32


def test_json_log_lines_are_one_object_each_with_the_request_id() -> None:
    from pythonjsonlogger.json import JsonFormatter

    formatter = JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )
    record = logging.LogRecord("ipledge.request", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    record.request_id = "abc"
    record.http_status = 200
    payload = json.loads(formatter.format(record))
    assert payload["request_id"] == "abc" and payload["message"] == "GET /x" and payload["http_status"] == 200
    assert payload["level"] == "INFO" and payload["logger"] == "ipledge.request"


def _production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DJANGO_SETTINGS_MODULE="ipledge.settings.production",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="ipledge.example.gov.cn",
        DATABASE_URL="postgres://ipledge@127.0.0.1:5432/ipledge",
        CACHE_URL="locmemcache://",
    )
    env.update(extra)
    return env


def _ipledge(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("ipledge")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_check_deploy_is_clean_under_production_settings(tmp_path: Path) -> None:
    result = _ipledge(
        "check", "--deploy", "--fail-level", "WARNING", env=_production_env(IPLEDGE_DATA_DIR=str(tmp_path))
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_real_secret_key(tmp_path: Path) -> None:
    result = _ipledge("check", env=_production_env(SECRET_KEY="dev-insecure", IPLEDGE_DATA_DIR=str(tmp_path)))
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_production_refuses_sqlite_unless_asked(tmp_path: Path) -> None:
    env = _production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}", IPLEDGE_DATA_DIR=str(tmp_path))
    assert "Production runs on PostgreSQL" in _ipledge("check", env=env).stderr
