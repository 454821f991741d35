"""API, core part: authentication (session + CSRF, API keys), the error shape, /me, regions, organisations,
audit events, API keys and identifier validation."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import IntegrityError
from django.test import Client
from django.utils import timezone

from ipledge.core.context import api_key_id_var
from ipledge.core.models import ApiKey, AuditEvent
from ipledge.core.synthetic import make_uscc
from tests.api_helpers import API, assert_error, get, key_client, make_key, send, session_client

pytestmark = pytest.mark.django_db


def _ids(response):  # type: ignore[no-untyped-def]
    return {item["id"] for item in response.json()["items"]}


# ---------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------


def test_unauthenticated_request_answers_401_in_the_error_shape(world):
    response = Client().get(f"{API}/me")
    body = assert_error(response, 401, field=None, rule="unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "登录" in body["errors"][0]["message"]


# The gazette-style announcement query is public by law; the portal FAQ publishes answered questions by design.
PUBLIC_PATHS = {"/public/pledges", "/portal/faq"}


def test_every_operation_requires_authentication(world):
    """Walk the OpenAPI document: every operation answers 401 without credentials (none redirects to login)."""
    schema = Client().get(f"{API}/openapi.json").json()
    ids = {
        "organisation_id": 1,
        "park_id": 1,
        "enterprise_id": 1,
        "right_id": 1,
        "key_id": "00000000-0000-0000-0000-000000000000",
        "kind": "uscc",
        "filing_id": 1,
        "document_id": 1,
        "registration_id": 1,
        "loan_id": 1,
        "item": "identity",
        "transaction_id": 1,
        "collateral_id": 1,
        "valuation_id": 1,
        "batch_id": 1,
        "fund_id": 1,
        "version_id": 1,
        "enrolment_id": 1,
        "claim_id": 1,
        "payment_id": 1,
        "entry_id": 1,
        "run_id": 1,
        "case_id": 1,
        "session_id": 1,
        "lot_id": 1,
        "import_id": 1,
        "record_id": 1,
        "criteria_id": 1,
        "whitelist_id": 1,
        "application_id": 1,
        "card_id": 1,
        "subscription_id": 1,
        "decision_id": 1,
        "line_id": 1,
        "allocation_id": 1,
        "product_id": 1,
        "demand_id": 1,
        "match_id": 1,
        "survey_id": 1,
        "question_id": 1,
        "target_id": 1,
        "event_id": 1,
        "participant_id": 1,
        "meeting_id": 1,
        "finding_id": 1,
        "bulletin_id": 1,
        "plan_id": 1,
        "task_id": 1,
        "designation_id": 1,
        "financials_id": 1,
        "measure_id": 1,
        "report_id": 1,
        "policy_id": 1,
        "consultation_id": 1,
        "request_id": 1,
        "partner_id": 1,
        "message_pk": 1,
        "entity": "enterprises",
    }
    checked = 0
    for path, operations in schema["paths"].items():
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
        if path.removeprefix(API) in PUBLIC_PATHS:
            assert Client().get(url, {"number": "201710601862.3"}).status_code == 200, path
            assert not operations["get"].get("security"), path
            continue
        for method in operations:
            if method == "get":
                response = Client().get(url)
            else:
                response = getattr(Client(), method)(url, "{}", content_type="application/json")
            assert_error(response, 401)
            assert operations[method]["security"], (method, path)
            checked += 1
    assert checked >= 20


def test_openapi_and_docs_are_public_and_offline():
    schema = Client().get(f"{API}/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "ipledge API"
    docs = Client().get(f"{API}/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    external = [u for u in re.findall(r"""(?:src|href)=["']([^"']+)""", html) if "//" in u]
    assert external == [], external
    assert '"validatorUrl": null' in html  # Swagger UI would otherwise call validator.swagger.io


def test_session_user_sees_me(world):
    response = get(session_client(world.users["park1_operator"]), "/me")
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == "park1_operator"
    assert body["organisation"]["id"] == world.orgs["park1"].pk
    assert body["organisation"]["kind"] == "park_admin"
    assert body["role"] == "operator"
    assert body["api_key"] is None
    assert body["actions"] == ["view", "add", "change"]
    assert body["may_add"] == {"park": False, "enterprise": True, "ip_right": True, "api_key": False}


def test_viewer_may_add_nothing(world):
    body = get(session_client(world.users["ipo_bj_viewer"]), "/me").json()
    assert body["actions"] == ["view"]
    assert not any(body["may_add"].values())


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
def test_api_key_authenticates_as_its_organisation_and_role(world, header):
    key, secret = make_key(world.users["bank1_admin"], role="viewer")
    response = get(key_client(secret, header=header), "/me")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["organisation"]["id"] == world.orgs["bank1"].pk
    assert body["role"] == "viewer"
    assert body["user"]["id"] is None
    assert body["api_key"] == {"id": str(key.pk), "name": "test key", "prefix": key.prefix}
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_api_key_is_scoped_like_a_user_of_its_organisation(world):
    _, secret = make_key(world.users["ipo_bj_admin"], role="viewer")
    response = get(key_client(secret), "/enterprises")
    assert response.status_code == 200
    assert _ids(response) == {world.enterprises["e1"].pk, world.enterprises["e1b"].pk}


def test_revoked_expired_and_unknown_keys_answer_401(world):
    admin = world.users["bank1_admin"]
    key, secret = make_key(admin)
    client = key_client(secret)
    assert get(client, "/me").status_code == 200

    revoke = send(session_client(admin), "post", f"/api-keys/{key.pk}/revoke")
    assert revoke.status_code == 200 and revoke.json()["revoked_at"]
    assert_error(get(client, "/me"), 401, field=None, rule="invalid_api_key")

    expiring, expiring_secret = make_key(admin, name="expiring")
    ApiKey.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert_error(get(key_client(expiring_secret, header="x-api-key"), "/me"), 401, rule="invalid_api_key")

    assert_error(get(key_client("ipk_deadbeef_not-a-real-secret"), "/me"), 401, rule="invalid_api_key")
    assert_error(get(key_client(secret.replace(secret[-4:], "AAAA")), "/me"), 401, rule="invalid_api_key")


def test_a_bad_key_never_falls_back_to_the_session(world):
    client = session_client(world.users["bank1_admin"])
    response = client.get(f"{API}/me", headers={"Authorization": "Bearer ipk_0000_nope"})
    assert_error(response, 401, rule="invalid_api_key")


def test_key_writes_are_audited_with_the_key_and_the_context_is_reset(world):
    key, secret = make_key(world.users["ent1_admin"], role="operator")
    enterprise = world.enterprises["e1"]
    response = send(key_client(secret), "patch", f"/enterprises/{enterprise.pk}", {"employees": 130})
    assert response.status_code == 200, response.content
    event = AuditEvent.objects.filter(action="enterprise.update", object_id=str(enterprise.pk)).latest("id")
    assert event.api_key_id == key.pk
    assert event.actor_id is None
    assert event.actor_name == f"api-key:{key.prefix}"
    assert event.organisation_id == world.orgs["ent1"].pk
    assert event.request_id == response["X-Request-ID"]
    assert api_key_id_var.get() is None

    # A session write afterwards in the same thread is not attributed to the key.
    send(session_client(world.users["ent1_operator"]), "patch", f"/enterprises/{enterprise.pk}", {"employees": 131})
    later = AuditEvent.objects.filter(action="enterprise.update", object_id=str(enterprise.pk)).latest("id")
    assert later.api_key_id is None and later.actor_id == world.users["ent1_operator"].pk


def test_session_writes_need_the_csrf_token(world):
    client = session_client(world.users["bank1_admin"], enforce_csrf=True)
    assert get(client, "/me").status_code == 200  # safe methods need no token
    refused = send(client, "post", "/api-keys", {"name": "ci"})
    assert_error(refused, 403, field=None, rule="csrf")
    assert not ApiKey.objects.filter(name="ci").exists()

    # As a browser does: a page rendering {% csrf_token %} (here the API docs) sets the cookie; send it back.
    assert client.get(f"{API}/docs").status_code == 200
    token = client.cookies["csrftoken"].value
    accepted = send(client, "post", "/api-keys", {"name": "ci"}, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201, accepted.content
    assert_error(send(client, "post", "/api-keys", {"name": "ci2"}, HTTP_X_CSRFTOKEN="x" * 32), 403, rule="csrf")


def test_api_keys_do_not_need_csrf(world):
    _, secret = make_key(world.users["park1_admin"], role="operator")
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {secret}"})
    uscc = make_uscc(region_code="110108", serial=7001)
    response = send(
        client,
        "post",
        "/enterprises",
        {"uscc": uscc, "name": "密钥创建企业", "industry_section": "C", "park_id": world.parks["p1"].pk},
    )
    assert response.status_code == 201, response.content


# ---------------------------------------------------------------------------
# The error shape
# ---------------------------------------------------------------------------


def test_schema_errors_name_the_field_and_rule(world):
    client = session_client(world.users["park1_operator"])
    response = send(client, "post", "/enterprises", {"name": "x", "industry_section": "C", "bogus": 1, "revenue": 1.5})
    assert_error(response, 422, field="uscc", rule="missing")
    assert_error(response, 422, field="bogus", rule="extra_forbidden")
    body = assert_error(response, 422, field="revenue", rule="string_type")
    missing = next(e for e in body["errors"] if e["rule"] == "missing")
    assert missing["message"] == "此字段为必填项。" and missing["message_en"] == "Field required"


def test_malformed_or_missing_bodies_answer_in_the_error_shape(world):
    client = session_client(world.users["park1_operator"])
    response = client.post(f"{API}/enterprises", "{not json", content_type="application/json")
    assert_error(response, 400, field=None, rule="bad_request")
    assert_error(client.post(f"{API}/enterprises", "[]", content_type="application/json"), 422, field=None)
    assert_error(
        client.post(f"{API}/enterprises", "", content_type="application/json"), 422, field=None, rule="missing"
    )


def test_wrong_method_and_bare_root_answer_in_the_error_shape(world):
    client = session_client(world.users["park1_operator"])
    response = client.put(f"{API}/parks/1", "{}", content_type="application/json")
    assert_error(response, 405, rule="method_not_allowed")
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "PATCH"}
    assert_error(Client().get(f"{API}/"), 404, rule="not_found")


def test_request_id_is_echoed(world):
    response = Client().get(f"{API}/me", headers={"X-Request-ID": "trace-123"})
    body = assert_error(response, 401)
    assert body["request_id"] == "trace-123"


def test_integrity_error_answers_409(world, monkeypatch):
    from ipledge.core import services

    def racing(**kwargs):  # type: ignore[no-untyped-def]
        raise IntegrityError("UNIQUE constraint failed: core_apikey.prefix")

    monkeypatch.setattr(services, "api_key_create", racing)
    response = send(session_client(world.users["bank1_admin"]), "post", "/api-keys", {"name": "race"})
    assert_error(response, 409, field=None, rule="conflict")


def test_unexpected_errors_answer_500_in_the_error_shape(world, monkeypatch, settings):
    settings.DEBUG = False
    from ipledge.core import selectors

    def broken(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "organisation_list", broken)
    response = get(session_client(world.users["bank1_admin"]), "/organisations")
    body = assert_error(response, 500, field=None, rule="server_error")
    assert "boom" not in str(body)


# ---------------------------------------------------------------------------
# Regions and organisations
# ---------------------------------------------------------------------------


def test_regions_are_paginated_and_filtered(world):
    client = session_client(world.users["ent1_viewer"])
    response = get(client, "/regions", {"level": "province", "page_size": 10, "page": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 31 and body["page"] == 2 and body["page_size"] == 10 and body["pages"] == 4
    assert len(body["items"]) == 10
    assert all(r["level"] == "province" and r["parent_code"] is None for r in body["items"])

    children = get(client, "/regions", {"parent": "110100"}).json()
    assert {r["code"] for r in children["items"]} >= {"110108", "110105"}
    assert all(r["parent_code"] == "110100" for r in children["items"])

    default = get(client, "/regions").json()
    assert default["page_size"] == 50 and len(default["items"]) == 50

    assert_error(get(client, "/regions", {"page_size": 501}), 422, field="page_size", rule="less_than_equal")
    assert_error(get(client, "/regions", {"parent": "11"}), 422, field="parent", rule="string_pattern_mismatch")
    assert get(client, "/regions", {"page": 999}).json()["items"] == []


def test_organisations_are_scoped(world):
    o = world.orgs
    bank = _ids(get(session_client(world.users["bank1_br_viewer"]), "/organisations"))
    assert bank == {o["bank1_br"].pk, o["bank1_sub"].pk}

    ipo = _ids(get(session_client(world.users["ipo_bj_viewer"]), "/organisations", {"page_size": 500}))
    assert {o["ipo_bj"].pk, o["park1"].pk, o["ent1"].pk, o["bank1"].pk, o["bank1_br"].pk} <= ipo
    assert not ipo & {o["ipo_js"].pk, o["park2"].pk, o["bank2"].pk, o["bank1_br2"].pk}

    filtered = get(session_client(world.users["ipo_bj_viewer"]), "/organisations", {"kind": "bank"}).json()
    assert {item["kind"] for item in filtered["items"]} == {"bank"}


def test_organisation_detail_and_other_organisation_404(world):
    client = session_client(world.users["bank1_viewer"])
    ok = get(client, f"/organisations/{world.orgs['bank1_sub'].pk}")
    assert ok.status_code == 200
    assert ok.json()["bank_tier"] == "tech_sub_branch" and ok.json()["region"]["code"] == "110108"
    assert_error(get(client, f"/organisations/{world.orgs['bank2'].pk}"), 404, field=None, rule="not_found")
    assert_error(get(client, "/organisations/99999"), 404, rule="not_found")
    assert_error(get(client, "/organisations/0"), 422, field="organisation_id")


# ---------------------------------------------------------------------------
# Audit events
# ---------------------------------------------------------------------------


def test_audit_events_for_admins_and_reviewers_within_scope(world):
    e1, e2 = world.enterprises["e1"], world.enterprises["e2"]
    client = session_client(world.users["ipo_bj_reviewer"])
    response = get(client, "/audit-events", {"object_type": "registry.enterprise", "page_size": 500})
    assert response.status_code == 200
    object_ids = {item["object_id"] for item in response.json()["items"]}
    assert str(e1.pk) in object_ids and str(e2.pk) not in object_ids

    one = get(
        client, "/audit-events", {"object_type": "registry.enterprise", "object_id": e1.pk, "action": "enterprise."}
    ).json()
    assert one["count"] == 1 and one["items"][0]["action"] == "enterprise.create"
    today = timezone.localdate().isoformat()
    assert get(client, "/audit-events", {"since": today}).json()["count"] >= 1
    assert get(client, "/audit-events", {"until": "2000-01-01"}).json()["count"] == 0


def test_audit_events_forbidden_for_viewers_and_operators(world):
    for username in ("ipo_bj_viewer", "ipo_bj_operator"):
        assert_error(get(session_client(world.users[username]), "/audit-events"), 403, rule="forbidden")


# ---------------------------------------------------------------------------
# API keys
# ---------------------------------------------------------------------------


def test_admin_creates_lists_and_revokes_keys(world):
    admin = world.users["bank1_admin"]
    client = session_client(admin)
    created = send(client, "post", "/api-keys", {"name": "信易贷对接", "role": "viewer"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith(f"ipk_{body['key']['prefix']}_")
    assert body["key"]["role"] == "viewer" and body["key"]["created_by"] == "bank1_admin"

    listed = get(client, "/api-keys").json()
    assert listed["count"] == 1 and "secret" not in listed["items"][0]
    assert body["secret"] not in created.content.decode().replace(body["secret"], "", 1)

    event = AuditEvent.objects.get(action="api_key.create")
    assert body["secret"] not in str(event.changes)

    assert get(key_client(body["secret"]), "/me").status_code == 200
    revoked = send(client, "post", f"/api-keys/{body['key']['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    again = send(client, "post", f"/api-keys/{body['key']['id']}/revoke")
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


def test_keys_of_other_organisations_answer_404(world):
    key, _ = make_key(world.users["bank2_admin"])
    client = session_client(world.users["bank1_admin"])
    assert_error(send(client, "post", f"/api-keys/{key.pk}/revoke"), 404, rule="not_found")
    assert get(client, "/api-keys").json()["count"] == 0
    assert_error(send(client, "post", "/api-keys/not-a-uuid/revoke"), 422, field="key_id")


def test_only_admins_manage_keys(world):
    client = session_client(world.users["bank1_operator"])
    assert_error(send(client, "post", "/api-keys", {"name": "x"}), 403, rule="forbidden")
    assert_error(get(client, "/api-keys"), 403, rule="forbidden")


def test_a_key_cannot_mint_keys(world):
    _, secret = make_key(world.users["bank1_admin"], role="admin")
    response = send(key_client(secret), "post", "/api-keys", {"name": "child"})
    assert_error(response, 403, rule="session_required")


def test_key_expiry_must_lie_in_the_future(world):
    client = session_client(world.users["bank1_admin"])
    past = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    assert_error(
        send(client, "post", "/api-keys", {"name": "old", "expires_at": past}), 400, field="expires_at", rule="future"
    )
    assert_error(send(client, "post", "/api-keys", {"name": "x", "role": "root"}), 422, field="role", rule="enum")


# ---------------------------------------------------------------------------
# Identifier validation
# ---------------------------------------------------------------------------


def test_validate_uscc(world):
    client = session_client(world.users["ent1_viewer"])
    good = make_uscc(region_code="110108", serial=42)
    ok = get(client, "/validate/uscc", {"value": " " + good.lower() + " "}).json()
    assert ok == {
        "input": " " + good.lower() + " ",
        "valid": True,
        "canonical": good,
        "rule": None,
        "message": None,
        "message_en": None,
    }
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    refused = get(client, "/validate/uscc", {"value": bad}).json()
    assert refused["valid"] is False and refused["rule"] == "checksum"
    assert "校验码" in refused["message"] and "check character" in refused["message_en"]


@pytest.mark.parametrize(
    ("kind", "value", "valid", "canonical_or_rule"),
    [
        ("patent-no", "ZL 2017 1 0601862.3", True, "201710601862.3"),
        ("patent-no", "201710601862.4", False, "checksum"),
        ("trademark-no", "第12345678号", True, "12345678"),
        ("copyright-no", "2021sr0123456", True, "2021SR0123456"),
        ("ic-layout-no", "BS.215500123", True, "BS.215500123"),
        ("ic-layout-no", "XX", False, "format"),
    ],
)
def test_validate_other_identifiers(world, kind, value, valid, canonical_or_rule):
    body = get(session_client(world.users["ent1_viewer"]), f"/validate/{kind}", {"value": value}).json()
    assert body["valid"] is valid
    assert (body["canonical"] if valid else body["rule"]) == canonical_or_rule


def test_validate_refuses_unknown_kinds_and_missing_values(world):
    client = session_client(world.users["ent1_viewer"])
    assert_error(get(client, "/validate/iban", {"value": "x"}), 422, field="kind", rule="enum")
    assert_error(get(client, "/validate/uscc"), 422, field="value", rule="missing")


# ---------------------------------------------------------------------------
# Cross-tenant: every route that names an object answers 404 for another organisation's object
# ---------------------------------------------------------------------------

# (method, path template, username, world attribute, object key, body); the user may do the action in general
# (so the answer is 404, not 403) but the object belongs to someone else.
CROSS_TENANT = [
    ("get", "/organisations/{organisation_id}", "bank1_admin", "orgs", "bank2", None),
    ("patch", "/parks/{park_id}", "park1_operator", "parks", "p2", {"is_key_park": True}),
    ("get", "/enterprises/{enterprise_id}", "ipo_bj_viewer", "enterprises", "e2", None),
    ("patch", "/enterprises/{enterprise_id}", "ent1_operator", "enterprises", "e1b", {"employees": 1}),
    ("get", "/ip-rights/{right_id}", "ent2_viewer", "rights", "r1", None),
    ("patch", "/ip-rights/{right_id}", "ent1_operator", "rights", "r1b", {"claims_count": 1}),
    ("post", "/api-keys/{key_id}/revoke", "bank1_admin", "keys", "bank2", None),
    ("get", "/ip-rights/{right_id}/licences", "ent2_viewer", "rights", "r1", None),
    ("get", "/enterprises/{enterprise_id}/innovation-scores", "ent2_viewer", "enterprises", "e1", None),
    ("post", "/enterprises/{enterprise_id}/innovation-scores", "ent2_operator", "enterprises", "e1", None),
    ("post", "/ip-rights/{right_id}/transfer", "ipo_js_operator", "rights", "r1", {"owners": [{"holder_name": "甲"}]}),
    (
        "post",
        "/ip-rights/{right_id}/licences",
        "ent2_operator",
        "rights",
        "r1",
        {
            "licence_kind": "ordinary",
            "record_no": "X1",
            "licensee_name": "甲",
            "start_on": "2025-01-01",
            "end_on": "2026-01-01",
        },
    ),
]
NO_OBJECT_PATHS = {"/validate/{kind}"}
# Pledge-registration, lending, valuation, compensation, disposal, screening, market and monitoring routes are checked
# user by user
# and object by object in tests/test_endpoint_matrix.py.
MATRIX_PREFIXES = (
    "/pledge-filings",
    "/pledge-registrations",
    "/loans",
    "/collateral",
    "/valuations",
    "/valuation/",
    "/compensation/",
    "/disposal/",
    "/screening/",
    "/market/",
    "/monitoring/",
    "/portal/",
    "/integration/",
)
PUBLIC_OBJECT_ROUTES = {("get", "/parks/{park_id}")}  # the list of parks is public information


def test_cross_tenant_table_covers_every_route_with_an_object_id():
    schema = Client().get(f"{API}/openapi.json").json()
    routes = {
        (method, path.removeprefix(API))
        for path, operations in schema["paths"].items()
        if "{" in path
        and path.removeprefix(API) not in NO_OBJECT_PATHS
        and not path.removeprefix(API).startswith(MATRIX_PREFIXES)
        for method in operations
    }
    assert routes == {(method, path) for method, path, *_ in CROSS_TENANT} | PUBLIC_OBJECT_ROUTES


@pytest.mark.parametrize(("method", "path", "username", "attr", "key", "body"), CROSS_TENANT)
def test_other_organisations_objects_answer_404(world, method, path, username, attr, key, body):
    obj = make_key(world.users[f"{key}_admin"])[0] if attr == "keys" else getattr(world, attr)[key]
    url = re.sub(r"\{\w+\}", str(obj.pk), path)
    client = session_client(world.users[username])
    response = get(client, url) if method == "get" else send(client, method, url, body)
    assert_error(response, 404, field=None, rule="not_found")


def test_unknown_api_paths_answer_404_in_the_error_shape(world):
    assert_error(Client().get(f"{API}/no-such-thing"), 404, rule="not_found")
    assert_error(send(session_client(world.users["bank1_admin"]), "post", "/parks/1/nope", {}), 404)
