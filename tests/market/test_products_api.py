"""The products API: the library with filters, a product with its versions, create / edit / new version / submit /
approve (maker-checker, also with an API key) / reject / withdraw, the template import (201 or 400 with row
errors and nothing written), refusals in the one error shape naming the field and the rule, and scoping (another
bank's draft is 404, an enterprise may not create)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from ipledge.core.choices import Role
from ipledge.market.choices import ProductStatus
from ipledge.market.models import Product, ProductVersion
from tests.api_helpers import API, assert_error, get, key_client, make_key, send, session_client
from tests.market.factories_products import GOOD_ROW, draft_product, live_product, open_version, template_csv
from tests.world import World

pytestmark = pytest.mark.django_db


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content.decode())
    return response.json()


def items(response: Any) -> list[dict[str, Any]]:
    return list(ok(response)["items"])


def body(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "API-01",
        "name": "接口贷",
        "collateral_kinds": ["invention", "utility_model"],
        "min_remaining_years": {"invention": 8, "utility_model": 4},
        "pledge_rate_caps": {"invention": "0.25", "utility_model": "0.15"},
        "amount_min": "1000000.00",
        "amount_max": "20000000.00",
        "term_min_months": 6,
        "term_max_months": 24,
        "rate_kind": "lpr_spread",
        "rate_spread_bp": 120,
        "region_codes": ["110000"],
    }
    data.update(changes)
    return data


def terms_body(**changes: Any) -> dict[str, Any]:
    data = body(**changes)
    del data["code"], data["name"]
    if "name" in changes:
        data["name"] = changes["name"]
    return data


def test_create_submit_approve_and_list(world: World) -> None:
    maker = session_client(world.user("bank1"))
    created = ok(send(maker, "post", "/market/products", body()), 201)
    assert created["bank"]["id"] == world.orgs["bank1"].pk and created["status"] == "draft"
    assert created["current"]["collateral_rules"] == [
        "发明专利：剩余有效期≥8年，质押率≤25%",
        "实用新型专利：剩余有效期≥4年，质押率≤15%",
    ]
    assert created["current"]["rate_text"] == "LPR+120BP" and created["current"]["amount_max"] == "20000000.00"
    assert created["current"]["pledge_rate_caps"] == {"invention": "0.25", "utility_model": "0.15"}
    pid, vid = created["id"], created["versions"][0]["id"]
    enterprise = session_client(world.user("ent1"))
    assert items(get(enterprise, "/market/products")) == []
    assert_error(get(enterprise, f"/market/products/{pid}"), 404)

    submitted = ok(send(maker, "post", f"/market/products/{pid}/versions/{vid}/submit"))
    assert submitted["status"] == "pending" and submitted["submitted_by"] == "bank1_operator"
    assert_error(send(maker, "post", f"/market/products/{pid}/versions/{vid}/approve", {}), 403)
    checker = session_client(world.user("bank1", Role.REVIEWER))
    approved = ok(send(checker, "post", f"/market/products/{pid}/versions/{vid}/approve", {"note": "同意"}))
    assert approved["status"] == "approved" and approved["decided_by"] == "bank1_reviewer"

    listed = items(get(enterprise, "/market/products"))
    assert [p["id"] for p in listed] == [pid] and listed[0]["status"] == "live"
    detail = ok(get(enterprise, f"/market/products/{pid}"))
    assert [v["number"] for v in detail["versions"]] == [1]
    assert ok(get(enterprise, f"/market/products/{pid}/versions"))[0]["decision_note"] == "同意"


def test_maker_checker_with_the_same_admin(world: World) -> None:
    admin = session_client(world.user("bank1", Role.ADMIN))
    created = ok(send(admin, "post", "/market/products", body()), 201)
    pid, vid = created["id"], created["versions"][0]["id"]
    ok(send(admin, "post", f"/market/products/{pid}/versions/{vid}/submit"))
    assert_error(
        send(admin, "post", f"/market/products/{pid}/versions/{vid}/approve", {}),
        400,
        field="decided_by",
        rule="maker_is_checker",
    )


def test_api_key_cannot_decide_what_a_key_submitted(world: World) -> None:
    _, operator_secret = make_key(world.user("bank1", Role.ADMIN), role=Role.OPERATOR)
    _, admin_secret = make_key(world.user("bank1", Role.ADMIN), role=Role.ADMIN)
    maker = key_client(operator_secret)
    created = ok(send(maker, "post", "/market/products", body()), 201)
    pid, vid = created["id"], created["versions"][0]["id"]
    assert created["versions"][0]["created_by"] is None
    ok(send(maker, "post", f"/market/products/{pid}/versions/{vid}/submit"))
    assert_error(
        send(key_client(admin_secret), "post", f"/market/products/{pid}/versions/{vid}/approve", {}),
        400,
        rule="maker_is_checker",
    )
    ok(
        send(
            session_client(world.user("bank1", Role.REVIEWER)),
            "post",
            f"/market/products/{pid}/versions/{vid}/approve",
            {},
        )
    )
    assert Product.objects.get(pk=pid).status == ProductStatus.LIVE


def test_validation_errors_name_field_and_rule(world: World) -> None:
    client = session_client(world.user("bank1"))
    response = send(
        client,
        "post",
        "/market/products",
        body(min_remaining_years={"trademark": 2}, region_codes=["999999"], term_min_months=30),
    )
    errors = assert_error(response, 400, field="min_remaining_years", rule="kind_not_accepted")["errors"]
    assert {(e["field"], e["rule"]) for e in errors} == {
        ("min_remaining_years", "kind_not_accepted"),
        ("region_codes", "unknown_region"),
        ("term_max_months", "range"),
    }
    assert_error(send(client, "post", "/market/products", body(rate_kind="floating")), 422, field="rate_kind")
    assert_error(
        send(client, "post", "/market/products", body(collateral_kinds=["patent"])), 400, rule="invalid_choice"
    )
    assert_error(send(client, "post", "/market/products", body(bank_id=10**9)), 400, field="bank_id", rule="not_found")
    ok(send(client, "post", "/market/products", body()), 201)
    assert_error(send(client, "post", "/market/products", body()), 409, field="code", rule="unique")
    assert Product.objects.count() == 1


def test_permissions_and_scoping(world: World) -> None:
    assert_error(send(session_client(world.user("ent1")), "post", "/market/products", body()), 403)
    assert_error(send(session_client(world.user("bank1", Role.REVIEWER)), "post", "/market/products", body()), 403)
    other = session_client(world.user("bank2", Role.ADMIN))
    assert_error(send(other, "post", "/market/products", body(bank_id=world.orgs["bank1"].pk)), 403)
    product = draft_product(world)
    version = open_version(product)
    assert_error(get(other, f"/market/products/{product.pk}"), 404)
    assert_error(get(other, f"/market/products/{product.pk}/versions"), 404)
    assert_error(send(other, "put", f"/market/products/{product.pk}/versions/{version.pk}", terms_body()), 404)
    assert_error(send(other, "post", f"/market/products/{product.pk}/withdraw", {}), 404)
    assert [p["id"] for p in items(get(session_client(world.user("bank1_sub")), "/market/products"))] == []
    assert [p["id"] for p in items(get(session_client(world.user("bank1")), "/market/products"))] == [product.pk]
    mismatched = live_product(world, "bank2", code="X", region_codes=("320000",))
    assert_error(
        send(
            session_client(world.user("bank1")),
            "post",
            f"/market/products/{mismatched.pk}/versions/{version.pk}/submit",
        ),
        404,
    )


def test_update_draft_new_version_reject_and_withdraw(world: World) -> None:
    client = session_client(world.user("bank1"))
    product = draft_product(world)
    version = open_version(product)
    updated = ok(
        send(
            client,
            "put",
            f"/market/products/{product.pk}/versions/{version.pk}",
            terms_body(rate_spread_bp=90, name="新名"),
        )
    )
    assert updated["rate_text"] == "LPR+90BP" and Product.objects.get(pk=product.pk).name == "新名"
    assert_error(
        send(client, "post", f"/market/products/{product.pk}/versions", terms_body()),
        400,
        field="product",
        rule="open_version_exists",
    )
    ok(send(client, "post", f"/market/products/{product.pk}/versions/{version.pk}/submit"))
    checker = session_client(world.user("bank1", Role.REVIEWER))
    assert_error(
        send(checker, "post", f"/market/products/{product.pk}/versions/{version.pk}/reject", {}),
        400,
        field="note",
        rule="required",
    )
    rejected = ok(
        send(checker, "post", f"/market/products/{product.pk}/versions/{version.pk}/reject", {"note": "再议"})
    )
    assert rejected["status"] == "rejected"
    second = ok(send(client, "post", f"/market/products/{product.pk}/versions", terms_body(rate_spread_bp=80)), 201)
    assert second["number"] == 2 and second["status"] == "draft"
    ok(send(client, "post", f"/market/products/{product.pk}/versions/{second['id']}/submit"))
    ok(send(checker, "post", f"/market/products/{product.pk}/versions/{second['id']}/approve", {}))
    withdrawn = ok(send(client, "post", f"/market/products/{product.pk}/withdraw", {"note": "停办"}))
    assert withdrawn["status"] == "withdrawn"
    assert_error(
        send(client, "post", f"/market/products/{product.pk}/withdraw", {}), 400, field="status", rule="invalid_state"
    )
    assert_error(get(session_client(world.user("ent1")), f"/market/products/{product.pk}"), 404)


def test_list_filters(world: World) -> None:
    live_product(world, code="BJ")
    live_product(
        world,
        "bank2",
        code="JS",
        region_codes=(),
        collateral_kinds=("trademark",),
        min_remaining_years={},
        pledge_rate_caps={},
    )
    client = session_client(world.user("ent2"))

    def codes(**params: Any) -> set[str]:
        return {p["code"] for p in items(get(client, "/market/products", params))}

    assert codes() == {"BJ", "JS"}
    assert codes(region="320115") == {"JS"}
    assert codes(kind="invention") == {"BJ"}
    assert codes(amount="500000.00") == set()
    assert codes(amount="5000000.00", term_months=12) == {"BJ", "JS"}
    assert codes(bank_id=world.orgs["bank1"].pk) == {"BJ"}
    assert codes(q="J") == {"BJ", "JS"}
    assert_error(get(client, "/market/products", {"region": "1"}), 422, field="region")


def test_import_good_and_bad_files(world: World) -> None:
    client: Client = session_client(world.user("bank1"))
    bad = {**GOOD_ROW, "产品编号": "IMP-02", "质押率上限（%）": "外观设计专利:20"}
    response = client.post(
        f"{API}/market/products/import",
        {"file": _upload(template_csv([GOOD_ROW, bad]))},
    )
    assert response.status_code == 400, response.content.decode()
    errors = response.json()["errors"]
    assert errors == [
        {
            "row": 3,
            "field": "质押率上限（%）",
            "rule": "kind_not_accepted",
            "message": errors[0]["message"],
            "message_en": errors[0]["message_en"],
        }
    ]
    assert "外观设计专利" in errors[0]["message"]
    assert not Product.objects.exists()
    response = client.post(f"{API}/market/products/import", {"file": _upload(template_csv([GOOD_ROW]))})
    created = ok(response, 201)
    assert created["rows"] == 1 and created["products"][0]["code"] == "IMP-01"
    assert ProductVersion.objects.get().status == "draft"
    enterprise = session_client(world.user("ent1"))
    assert_error(enterprise.post(f"{API}/market/products/import", {"file": _upload(template_csv([GOOD_ROW]))}), 403)


def _upload(content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("products.csv", content, content_type="text/csv")
