"""Liveness and readiness probes for load balancers and orchestrators (nginx upstream checks, systemd, k8s).

`/healthz` answers while the process can serve a request at all and touches nothing else, so a database outage
does not make every app server look dead and get restarted in a loop. `/readyz` answers 200 only when this
server can do real work: the database answers, every migration in the code is applied (a server started before
`migrate` finished must not take traffic) and the cache answers. Neither needs a login nor writes anything.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

# Once every migration was seen applied, later probes skip the migration graph (it costs tens of milliseconds);
# migrations only ever get applied, so the answer cannot turn false again in a running process.
_migrations_seen_applied = False


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready"; the reason goes to the operator
        return f"database: {type(exc).__name__}"
    return None


def _check_migrations() -> str | None:
    global _migrations_seen_applied
    if _migrations_seen_applied:
        return None
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return f"migrations: {type(exc).__name__}"
    if pending:
        return f"migrations: {len(pending)} not applied"
    _migrations_seen_applied = True
    return None


def _check_cache() -> str | None:
    probe = f"ipledge:readyz:{time.monotonic_ns()}"
    try:
        cache.set(probe, 1, timeout=5)
        ok = cache.get(probe) == 1
        cache.delete(probe)
    except Exception as exc:
        return f"cache: {type(exc).__name__}"
    return None if ok else "cache: value not kept"


@login_not_required
@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    failures = [reason for check in (_check_database, _check_migrations, _check_cache) if (reason := check())]
    body: dict[str, Any] = {
        "status": "unavailable" if failures else "ok",
        "checks": failures,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return JsonResponse(body, status=503 if failures else 200)
