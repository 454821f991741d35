"""The one-stop park service centre (一站式服务中心, S2) and the park staff's service queue."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from ipledge.core.audit import AuditEvent
from ipledge.core.choices import Role
from ipledge.core.context import business_date
from ipledge.core.models import Region
from ipledge.portal.choices import PolicyKind, PolicyStatus, ServiceRequestKind, ServiceRequestStatus
from ipledge.portal.models import Policy, ServiceRequest
from ipledge.portal.services import service_requests as services
from ipledge.registry.models import ParkMembership
from tests.market.factories_events import demand, event, live_product, match

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def submit(w: Any, who: str = "ent1", park: str = "p1", **kw: Any) -> ServiceRequest:
    return services.service_request_create(
        actor=w.user(who),
        park=w.parks[park],
        kind=kw.pop("kind", ServiceRequestKind.FINANCING),
        subject=kw.pop("subject", "融资对接"),
        detail=kw.pop("detail", "请推荐银行"),
    )


def test_create_requires_current_membership(world) -> None:  # type: ignore[no-untyped-def]
    r = submit(world)
    assert r.reference.startswith("FW") and r.status == ServiceRequestStatus.SUBMITTED
    assert r.enterprise == world.enterprises["e1"] and r.region_code == world.parks["p1"].region.code
    assert AuditEvent.objects.filter(action="service_request.create", object_id=str(r.pk)).exists()
    with pytest.raises(ValidationError) as exc:
        submit(world, "ent1", "p2")
    assert exc.value.error_dict["park"][0].code == "not_member"
    ParkMembership.objects.filter(enterprise=world.enterprises["e1"]).update(left_on=datetime.date(2025, 1, 1))
    with pytest.raises(ValidationError) as exc:
        submit(world)
    assert exc.value.error_dict["park"][0].code == "not_member"
    with pytest.raises(PermissionDenied):
        submit(world, "park1")


def test_queue_transitions_and_version(world) -> None:  # type: ignore[no-untyped-def]
    staff = world.user("park1")
    r = submit(world)
    accepted = services.service_request_accept(actor=staff, request=r, expected_version=1)
    assert accepted.status == ServiceRequestStatus.ACCEPTED and accepted.accepted_at is not None
    with pytest.raises(ValidationError) as exc:
        services.service_request_complete(actor=staff, request=accepted, response="done", expected_version=1)
    assert exc.value.error_dict["version"][0].code == "stale"
    done = services.service_request_complete(actor=staff, request=accepted, response="已办结", expected_version=2)
    assert done.status == ServiceRequestStatus.COMPLETED and done.closed_at is not None
    with pytest.raises(ValidationError) as exc:
        services.service_request_accept(actor=staff, request=done)
    assert exc.value.error_dict["status"][0].code == "invalid_status"
    other = submit(world, subject="另一事项")
    with pytest.raises(ValidationError) as exc:
        services.service_request_reject(actor=staff, request=other, response=" ")
    assert exc.value.error_dict["response"][0].code == "required"
    # park2's staff cannot act on park1's queue; nor can the enterprise itself.
    for who in ("park2", "ent1", "ipo_bj"):
        with pytest.raises(PermissionDenied):
            services.service_request_accept(actor=world.user(who), request=other)


def test_queue_pages(world) -> None:  # type: ignore[no-untyped-def]
    r = submit(world)
    other = client_for(world.user("park2"))
    assert other.post(reverse("portal:service_request_accept", args=[r.pk]), {"version": 1}).status_code == 404
    assert other.post(reverse("portal:service_request_reject", args=[r.pk]), {"response": "x"}).status_code == 404
    r.refresh_from_db()
    assert r.status == ServiceRequestStatus.SUBMITTED
    assert r.reference not in other.get(reverse("portal:service_queue")).content.decode()
    staff = client_for(world.user("park1"))
    page = staff.get(reverse("portal:service_queue"), {"status": "submitted", "kind": "financing"})
    assert page.status_code == 200 and r.reference in page.content.decode()
    assert r.reference not in staff.get(reverse("portal:service_queue"), {"kind": "valuation"}).content.decode()
    staff.post(reverse("portal:service_request_accept", args=[r.pk]), {"version": 1})
    r.refresh_from_db()
    assert r.status == ServiceRequestStatus.ACCEPTED
    response = staff.post(reverse("portal:service_request_reject", args=[r.pk]), {"version": 2}, follow=True)
    assert "办理意见" in response.content.decode()
    r.refresh_from_db()
    assert r.status == ServiceRequestStatus.ACCEPTED
    staff.post(reverse("portal:service_request_complete", args=[r.pk]), {"version": 2, "response": "已推荐"})
    r.refresh_from_db()
    assert r.status == ServiceRequestStatus.COMPLETED and r.response == "已推荐"
    assert client_for(world.user("bank1")).get(reverse("portal:service_queue")).status_code == 404


def test_centre_shows_sections_with_real_data(world) -> None:  # type: ignore[no-untyped-def]
    e1 = world.enterprises["e1"]
    d = demand(e1)
    product = live_product(world.orgs["bank1_sub"], name="科创智权贷")
    m = match(d, product, score=88)
    m.annual_rate = "3.450"
    m.save()
    ev = event(world, title="海淀园银企对接会")
    Policy.objects.create(
        title="海淀园知识产权质押贴息办法",
        issuing_body="海淀园管委会",
        kind=PolicyKind.INTEREST_DISCOUNT,
        region=Region.objects.get(code="110000"),
        region_code="110000",
        issued_on=datetime.date(2025, 1, 1),
        effective_from=datetime.date(2025, 1, 1),
        body="贴息。",
        status=PolicyStatus.PUBLISHED,
        owner_org=world.orgs["park1"],
    )
    submit(world, subject="我的服务事项")
    url = reverse("portal:service_centre", args=[world.parks["p1"].pk])
    page = client_for(world.user("ent1")).get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("valuation:list") in html
    assert reverse("market:demand_create") in html
    assert product.name in html and "3.450" in html
    assert d.reference in html  # the status list and the match
    assert ev.title in html
    assert "海淀园知识产权质押贴息办法" in html
    assert "我的服务事项" in html
    assert "service-request-form" in html
    # Submitting through the page.
    client_for(world.user("ent1")).post(url, {"kind": "policy", "subject": "页面提交", "detail": ""})
    assert ServiceRequest.objects.filter(subject="页面提交", park=world.parks["p1"]).exists()
    # The API gives the same summary.
    api = client_for(world.user("ent1")).get(f"/api/v1/portal/parks/{world.parks['p1'].pk}/service-centre").json()
    assert api["role"] == "enterprise" and api["matches"][0]["product_name"] == product.name
    assert ev.pk in [e["id"] for e in api["events"]]
    assert {i["type"] for i in api["status"]} >= {"demand", "service_request"}


def test_centre_access(world) -> None:  # type: ignore[no-untyped-def]
    p1 = reverse("portal:service_centre", args=[world.parks["p1"].pk])
    assert client_for(world.user("ent2")).get(p1).status_code == 404  # not a member
    assert client_for(world.user("bank1")).get(p1).status_code == 404
    assert client_for(world.user("park2")).get(p1).status_code == 404
    assert client_for(world.user("ipo_js")).get(p1).status_code == 404  # another region
    staff = client_for(world.user("park1")).get(p1)
    assert staff.status_code == 200 and reverse("portal:service_queue") in staff.content.decode()
    assert "service-request-form" not in staff.content.decode()
    gov = client_for(world.user("ipo_bj", Role.VIEWER)).get(p1)
    assert gov.status_code == 200 and "service-centre-counts" in gov.content.decode()
    api = client_for(world.user("ent2")).get(f"/api/v1/portal/parks/{world.parks['p1'].pk}/service-centre")
    assert api.status_code == 404
    # My centre: the enterprise's park, or an explanation.
    mine = client_for(world.user("ent1")).get(reverse("portal:my_service_centre"))
    assert mine.status_code == 302 and mine["Location"] == p1
    ParkMembership.objects.filter(enterprise=world.enterprises["e1"]).update(left_on=business_date())
    none = client_for(world.user("ent1")).get(reverse("portal:my_service_centre"))
    assert none.status_code == 200 and "service-centre-none" in none.content.decode()
    assert client_for(world.user("ent1")).get(p1).status_code == 404


def test_api_service_requests(world) -> None:  # type: ignore[no-untyped-def]
    ent = client_for(world.user("ent1"))
    refused = ent.post(
        "/api/v1/portal/service-requests",
        {"park_id": world.parks["p2"].pk, "kind": "financing", "subject": "x"},
        content_type="application/json",
    )
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "park_id"
    created = ent.post(
        "/api/v1/portal/service-requests",
        {"park_id": world.parks["p1"].pk, "kind": "financing", "subject": "API 事项", "detail": "说明"},
        content_type="application/json",
    )
    assert created.status_code == 201
    rid = created.json()["id"]
    other = client_for(world.user("park2")).post(
        f"/api/v1/portal/service-requests/{rid}/accept", {}, content_type="application/json"
    )
    assert other.status_code == 404
    staff = client_for(world.user("park1"))
    accepted = staff.post(
        f"/api/v1/portal/service-requests/{rid}/accept", {"version": 1}, content_type="application/json"
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    no_reason = staff.post(f"/api/v1/portal/service-requests/{rid}/reject", {}, content_type="application/json")
    assert no_reason.status_code == 400 and no_reason.json()["errors"][0]["field"] == "response"
    done = staff.post(
        f"/api/v1/portal/service-requests/{rid}/complete",
        {"response": "已办结", "version": 2},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert [i["id"] for i in staff.get("/api/v1/portal/service-requests", {"status": "completed"}).json()["items"]] == [
        rid
    ]
    assert client_for(world.user("park2")).get("/api/v1/portal/service-requests").json()["items"] == []
