"""Policy library API: search, detail, applicable, create/edit/publish/withdraw with permissions and versions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from ipledge.portal.choices import PolicyStatus
from ipledge.portal.models import Policy
from tests.portal.factories_policies import make_policy

pytestmark = pytest.mark.django_db

API = "/api/v1/portal/policies"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _send(client: Client, url: str, body: dict[str, Any], method: str = "post") -> Any:
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def _body(**extra: Any) -> dict[str, Any]:
    return {
        "title": "江苏省知识产权质押融资保险费补助办法",
        "kind": "insurance",
        "document_number": "苏知发〔2026〕3号",
        "region_code": "320000",
        "issued_on": "2026-03-01",
        "effective_from": "2026-03-01",
        "summary": "保险费补助。",
        "body": "对购买知识产权质押融资保证保险的企业给予保险费补助。",
        "size_classes": ["small"],
        "industry_sections": ["C", "I"],
    } | extra


def test_api_requires_auth(world) -> None:  # type: ignore[no-untyped-def]
    assert Client().get(API).status_code in (401, 403)


def test_search_and_detail(world) -> None:  # type: ignore[no-untyped-def]
    hit = make_policy(world, title="风险补偿办法", body="风险补偿资金池。")
    make_policy(world, title="专利转化计划", body="专利转让。")
    draft = make_policy(world, title="草稿", publish=False)
    bank = client_for(world.user("bank1"))
    items = bank.get(API, {"q": "风险补偿"}).json()["items"]
    assert [i["id"] for i in items] == [hit.pk]
    assert draft.pk not in {i["id"] for i in bank.get(API).json()["items"]}
    assert bank.get(f"{API}/{draft.pk}").status_code == 404
    detail = bank.get(f"{API}/{hit.pk}").json()
    assert detail["body"] == "风险补偿资金池。" and detail["region_code"] == "110000"
    assert client_for(world.user("ipo_bj")).get(f"{API}/{draft.pk}").status_code == 200


def test_applicable(world) -> None:  # type: ignore[no-untyped-def]
    bj = make_policy(world)
    js = make_policy(world, "ipo_js")
    client = client_for(world.user("ent1"))
    got = client.get(f"{API}/applicable", {"region_code": "110108", "size_class": "small", "industry_section": "C"})
    assert got.status_code == 200
    ids = {i["id"] for i in got.json()}
    assert bj.pk in ids and js.pk not in ids
    assert all(i["reasons"] for i in got.json())
    by_park = client.get(f"{API}/applicable", {"park_id": world.parks["p2"].pk}).json()
    assert {i["id"] for i in by_park} == {js.pk}
    assert client.get(f"{API}/applicable").status_code == 400


def test_create_edit_publish_withdraw(world) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.user("ipo_js"))
    created = _send(client, API, _body())
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["status"] == PolicyStatus.DRAFT and data["version"] == 1
    pk = data["id"]
    patched = _send(client, f"{API}/{pk}", {"version": 1, "body": "新的正文：担保费补助。"}, "patch")
    assert patched.status_code == 200 and patched.json()["version"] == 2
    stale = _send(client, f"{API}/{pk}", {"version": 1, "title": "x"}, "patch")
    assert stale.status_code == 400
    assert "stale" in json.dumps(stale.json())
    published = _send(client, f"{API}/{pk}/publish", {"version": 2})
    assert published.status_code == 200 and published.json()["status"] == PolicyStatus.PUBLISHED
    withdrawn = _send(client, f"{API}/{pk}/withdraw", {"reason": "修订"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == PolicyStatus.WITHDRAWN


def test_write_permissions(world) -> None:  # type: ignore[no-untyped-def]
    assert _send(client_for(world.user("bank1")), API, _body()).status_code == 403
    outside = _send(client_for(world.user("ipo_js")), API, _body(region_code="110000"))
    assert outside.status_code == 400 and "region_code" in json.dumps(outside.json())
    bj = make_policy(world)
    js = client_for(world.user("ipo_js"))
    assert _send(js, f"{API}/{bj.pk}", {"title": "改"}, "patch").status_code == 404
    assert _send(js, f"{API}/{bj.pk}/withdraw", {}).status_code == 404
    assert Policy.objects.get(pk=bj.pk).title != "改"


def test_bad_codes_are_422_or_400(world) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.user("ipo_js"))
    response = _send(client, API, _body(industry_sections=["Z"]))
    assert response.status_code in (400, 422)
    assert not Policy.objects.exists()
