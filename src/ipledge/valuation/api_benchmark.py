"""`ipledge bench valuation-api`: latency of one synchronous valuation through the API, p50 / p95.

Runs in the current process against the configured database (seed it with `make demo` first; the benchmark writes
valuations, so point it at a copy: `bench/run.py --valuation-api` copies the demo database to a temporary file).
Each request is a `POST /api/v1/valuations` by the pledgee bank's operator for a pledged right (session auth,
the whole middleware stack, the service with its audit event and the engine). The baseline, measured in the same
run, is `GET /api/v1/ip-rights/{id}` of the same rights by the same users: the ratio says what valuing costs over
reading the right.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from django.test import Client

API = "/api/v1"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def run_api_benchmark(*, requests: int = 200, warmup: int = 10) -> dict[str, Any]:
    from ipledge.core.choices import Role
    from ipledge.core.models import User
    from ipledge.registration.models import PledgedRight

    pairs: list[tuple[User, int]] = []
    for item in PledgedRight.objects.filter(is_active=True).select_related("registration__pledgee").order_by("pk"):
        user = User.objects.filter(organisation=item.registration.pledgee, role=Role.OPERATOR).first()
        if user is not None:
            pairs.append((user, item.ip_right_id))
        if len(pairs) >= requests:
            break
    if not pairs:
        raise RuntimeError("no pledged rights: seed the database first (make demo)")
    clients: dict[int, Client] = {}

    def client(user: User) -> Client:
        if user.pk not in clients:
            clients[user.pk] = Client(SERVER_NAME="127.0.0.1")
            clients[user.pk].force_login(user)
        return clients[user.pk]

    def timed(call: Any) -> float:
        started = time.perf_counter()
        response = call()
        elapsed = time.perf_counter() - started
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{response.status_code}: {response.content[:300]!r}")
        return elapsed

    for user, right_id in pairs[:warmup]:  # first requests load Polars, the tree, the cohort statistics
        client(user).post(f"{API}/valuations", json.dumps({"ip_right_id": right_id}), content_type="application/json")
    valuing = [
        timed(
            lambda u=user, r=right_id: client(u).post(
                f"{API}/valuations", json.dumps({"ip_right_id": r}), content_type="application/json"
            )
        )
        for user, right_id in pairs
    ]
    reading = [timed(lambda u=user, r=right_id: client(u).get(f"{API}/ip-rights/{r}")) for user, right_id in pairs]
    p95, base95 = _percentile(valuing, 0.95), _percentile(reading, 0.95)
    return {
        "requests": len(valuing),
        "p50_ms": round(statistics.median(valuing) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "baseline_p50_ms": round(statistics.median(reading) * 1000, 1),
        "baseline_p95_ms": round(base95 * 1000, 1),
        "ratio_p95": round(p95 / base95, 2) if base95 else None,
        "target_p95_ms": 100,
    }
