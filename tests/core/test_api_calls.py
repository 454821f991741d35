"""Every API call is recorded in ApiCall (reads, failures, 401/404/429 included), outside the handler's
transaction; organisation admins read their calls through /api-calls and the call-log page."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ipledge import api as api_module
from ipledge.core import ratelimit
from ipledge.core.models import ApiCall
from ipledge.core.services import api_key_create
from ipledge.core.synthetic import make_uscc
from ipledge.registry.models import Enterprise
from tests.api_helpers import API, assert_error, get, key_client, make_key, send, session_client

pytestmark = pytest.mark.django_db


def _last() -> ApiCall:
    return ApiCall.objects.order_by("-id").first()  # type: ignore[return-value]


def test_a_key_read_is_recorded_with_the_key_organisation_and_request_id(world):
    key, secret = make_key(world.user("bank1", "admin"), role="viewer")
    response = get(key_client(secret), "/organisations", {"page_size": 5})
    assert response.status_code == 200
    call = _last()
    assert call.api_key_id == key.pk and call.user_id is None
    assert call.organisation_id == world.orgs["bank1"].pk
    assert (call.method, call.path, call.status_code) == ("GET", f"{API}/organisations", 200)
    assert call.request_id == response["X-Request-ID"]
    assert call.client_ip == "127.0.0.1"
    assert call.duration_ms >= 0


def test_a_session_call_is_recorded_with_the_user(world):
    user = world.user("ent1", "operator")
    assert get(session_client(user), "/me").status_code == 200
    call = _last()
    assert call.api_key_id is None and call.user_id == user.pk and call.organisation_id == world.orgs["ent1"].pk


def test_failures_are_recorded_401_404_and_unknown_paths(world):
    before = ApiCall.objects.count()
    assert_error(get(key_client("ipk_deadbeef_nope"), "/me"), 401)
    call = _last()
    assert (call.status_code, call.api_key_id, call.user_id, call.organisation_id) == (401, None, None, None)

    _, secret = make_key(world.user("bank1", "admin"), role="viewer")
    assert_error(get(key_client(secret), "/organisations/999999"), 404)
    assert _last().status_code == 404 and _last().api_key_id is not None
    assert_error(get(key_client(secret), "/no-such-thing"), 404)
    assert _last().path == f"{API}/no-such-thing"
    assert_error(Client().get(f"{API}/me"), 401)  # anonymous, no key at all
    assert ApiCall.objects.count() == before + 4


def test_a_failed_write_is_recorded_though_its_transaction_rolled_back(world):
    client = session_client(world.user("park1", "operator"))
    uscc = make_uscc(region_code="320115", serial=4301)
    response = send(client, "post", "/enterprises", {"uscc": uscc, "name": "回滚企业", "industry_section": "C"})
    assert_error(response, 403, rule="out_of_scope")  # written, then rolled back by the handler
    assert not Enterprise.objects.filter(uscc=uscc).exists()
    call = _last()
    assert (call.method, call.status_code, call.path) == ("POST", 403, f"{API}/enterprises")


def test_a_throttled_call_is_recorded_with_its_key(world, monkeypatch):
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_030.0)
    cache.clear()
    admin = world.user("bank1", "admin")
    key, secret = api_key_create(
        organisation=admin.organisation, name="one", role="viewer", acting_user=admin, rate_limit_per_minute=1
    )
    get(key_client(secret), "/me")
    assert_error(get(key_client(secret), "/me"), 429, rule="throttled")
    assert list(ApiCall.objects.filter(api_key=key).values_list("status_code", flat=True).order_by("id")) == [200, 429]
    cache.clear()


def test_one_insert_per_call_and_the_path_is_truncated(world):
    _, secret = make_key(world.user("bank1", "admin"), role="viewer")
    client = key_client(secret)
    with CaptureQueriesContext(connection) as queries:
        get(client, "/me")
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].upper().startswith('INSERT INTO "CORE_APICALL"')]
    assert len(inserts) == 1
    long_path = "x" * 700
    assert get(client, f"/{long_path}").status_code == 404
    assert len(_last().path) == 512


def test_the_openapi_document_and_docs_are_not_recorded(world):
    before = ApiCall.objects.count()
    assert Client().get(f"{API}/openapi.json").status_code == 200
    assert Client().get(f"{API}/docs").status_code == 200
    assert ApiCall.objects.count() == before


def test_a_failing_record_never_fails_the_call(world, monkeypatch):
    def broken(**kwargs):  # type: ignore[no-untyped-def]
        raise DatabaseError("disk full")

    monkeypatch.setattr(api_module, "api_call_record", broken)
    _, secret = make_key(world.user("bank1", "admin"), role="viewer")
    assert get(key_client(secret), "/me").status_code == 200


# ---------------------------------------------------------------------------
# Reading the calls: GET /api-calls and the call-log page
# ---------------------------------------------------------------------------


def _traffic(world):  # type: ignore[no-untyped-def]
    key1, secret1 = make_key(world.user("bank1", "admin"), role="viewer", name="bank-one-etl")
    key2, secret2 = make_key(world.user("bank2", "admin"), role="viewer", name="bank-two-etl")
    get(key_client(secret1), "/me")
    get(key_client(secret1), "/organisations/999999")
    get(key_client(secret2), "/me")
    return key1, key2


def test_api_calls_lists_only_the_own_organisations_calls(world):
    key1, key2 = _traffic(world)
    client = session_client(world.user("bank1", "admin"))
    body = get(client, "/api-calls", {"page_size": 500}).json()
    orgs = {item["organisation_id"] for item in body["items"]}
    assert orgs == {world.orgs["bank1"].pk}
    assert {item["api_key_id"] for item in body["items"]} >= {str(key1.pk)}
    assert str(key2.pk) not in {item["api_key_id"] for item in body["items"]}

    by_key = get(client, "/api-calls", {"key_id": str(key1.pk), "status_code": 404}).json()
    assert by_key["count"] == 1 and by_key["items"][0]["path"] == f"{API}/organisations/999999"
    # Another organisation's key: 404, exactly as for a key that does not exist.
    assert_error(get(client, "/api-calls", {"key_id": str(key2.pk)}), 404)
    # Not an admin: the role cannot read the call log at all.
    assert_error(get(session_client(world.user("bank1", "operator")), "/api-calls"), 403)


def test_call_log_page_for_admins_with_filters(client, world):
    key1, key2 = _traffic(world)
    client.force_login(world.user("bank1", "admin"))
    page = client.get("/settings/api-calls/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/api/v1/organisations/999999" in html
    filtered = client.get("/settings/api-calls/", {"key": str(key1.pk), "status_code": "200"}).content.decode()
    assert "/api/v1/organisations/999999" not in filtered and "/api/v1/me" in filtered
    # Another organisation's key is not a choice: the form refuses it and shows no key's calls beyond its own.
    other = client.get("/settings/api-calls/", {"key": str(key2.pk)})
    assert other.status_code == 200 and "bank-two-etl" not in other.content.decode()
    assert other.context["form"].errors.keys() == {"key"}

    client.force_login(world.user("bank2", "admin"))
    assert "/api/v1/organisations/999999" not in client.get("/settings/api-calls/").content.decode()
    client.force_login(world.user("bank1", "operator"))
    assert client.get("/settings/api-calls/").status_code == 404
