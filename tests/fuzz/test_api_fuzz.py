"""Schemathesis fuzzing of the committed OpenAPI document (`docs/openapi.json`), in-process against the Django WSGI
application, authenticated by an API key of an administrator of each main organisation kind.

Every (operation, role) pair is one test. Each draws up to `IPLEDGE_FUZZ_EXAMPLES` cases (default 3) from the
schema, positive (fitting it) and negative (breaking it; `IPLEDGE_FUZZ_MODES`, default "positive,negative"),
derandomised so a run is reproducible, and checks that no answer is a 5xx and that every answer's status code is
documented for the operation and its body matches the documented schema. Path parameters are either generated or,
half of the time, the id of a real object of the populated test world, so the handlers get past their 404s.

The world is built once per module inside a transaction rolled back at the end; every test, and every example
inside it, runs in a savepoint that is rolled back, so what one case writes never reaches the next.

The tests do not run in the PostgreSQL pass of `make test`: they fuzz the HTTP and schema layer, which does not
depend on the database, and a second pass would double their cost. `IPLEDGE_FUZZ_POSTGRES=1` runs them there too.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks

from ipledge.core.choices import Role
from ipledge.core.models import ApiKey
from ipledge.core.services import api_key_create

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
EXAMPLES = int(os.environ.get("IPLEDGE_FUZZ_EXAMPLES", "3"))
# "positive" cases fit the schema; "negative" ones break it on purpose (wrong types, missing fields) and must be
# refused with a documented 4xx, never a 500.
MODES = [GenerationMode(m) for m in os.environ.get("IPLEDGE_FUZZ_MODES", "positive,negative").split(",") if m]

# One administrator's key per main organisation kind (the role that may do the most in each), plus the other
# roles of a bank and the read-only role elsewhere, whose answers are mostly the 403 paths.
ROLES: dict[str, tuple[str, str]] = {
    "ip_office": ("ipo_bj", Role.ADMIN),
    "park_admin": ("park1", Role.ADMIN),
    "enterprise": ("ent1", Role.ADMIN),
    "bank": ("bank1_sub", Role.ADMIN),
    "valuer": ("valuer", Role.ADMIN),
    "fund_manager": ("fund", Role.ADMIN),
    "disposal_platform": ("exchange", Role.ADMIN),
    "bank_operator": ("bank1_sub", Role.OPERATOR),
    "bank_reviewer": ("bank1_sub", Role.REVIEWER),
    "enterprise_viewer": ("ent1", Role.VIEWER),
}

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        os.environ.get("IPLEDGE_DB_PASS") == "postgres" and os.environ.get("IPLEDGE_FUZZ_POSTGRES") != "1",
        reason="schema fuzzing runs in the SQLite pass only (set IPLEDGE_FUZZ_POSTGRES=1 to run it here)",
    ),
]

SCHEMA = schemathesis.openapi.from_path(SCHEMA_PATH)
OPERATIONS = sorted(
    ((op.method.upper(), op.path) for op in (result.ok() for result in SCHEMA.get_all_operations())),
    key=lambda pair: (pair[1], pair[0]),
)
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    from tests.test_endpoint_matrix import _populate
    from tests.world import build_world

    with django_db_blocker.unblock(), transaction.atomic():
        world = _populate(build_world())
        secrets = {}
        for role, (org_key, key_role) in ROLES.items():
            key, secret = api_key_create(
                organisation=world.orgs[org_key],
                name=f"fuzz-{role}",
                role=key_role,
                acting_user=world.user(org_key, Role.ADMIN),
            )
            # The fuzzer sends far more than a client would in a minute; throttling is tested on its own.
            ApiKey.objects.filter(pk=key.pk).update(rate_limit_per_minute=100000)
            secrets[role] = secret
        yield {"world": world, "secrets": secrets, "ids": _real_ids()}
        transaction.set_rollback(True)


def _real_ids() -> dict[str, list[Any]]:
    """Ids of real objects for each path parameter that names the first object of a route (the endpoint matrix
    knows its model), a few of each."""
    from tests.test_endpoint_matrix import API_ROUTES

    ids: dict[str, list[Any]] = {}
    for (_method, path), (kind, model, _action) in API_ROUTES.items():
        names = re.findall(r"\{(\w+)\}", path)
        if kind != "object" or model is None or not names or names[0] in ids:
            continue
        ids[names[0]] = list(model._default_manager.order_by("pk").values_list("pk", flat=True)[:6])
    return ids


@pytest.fixture(scope="module")
def wsgi_app() -> Iterator[Any]:
    """The real WSGI handler, with the per-request connection recycling off (as Django's test client does): it
    would otherwise close the connection that holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op[0]} {op[1]}")
def test_operation_answers_within_its_schema(fuzz_world, wsgi_app, operation: tuple[str, str], role: str) -> None:
    method, path = operation
    api_operation = SCHEMA[path][method]
    secret = fuzz_world["secrets"][role]
    real_ids = fuzz_world["ids"]

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(*(api_operation.as_strategy(mode) for mode in MODES)), data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        for name in list(case.path_parameters or {}):
            choices = real_ids.get(name)
            if choices and data.draw(st.booleans(), label=f"real {name}"):
                case.path_parameters[name] = data.draw(st.sampled_from(choices), label=name)
        with transaction.atomic():
            case.call_and_validate(app=wsgi_app, headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)
            transaction.set_rollback(True)

    run()
