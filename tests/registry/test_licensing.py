"""Recorded licence contracts (许可合同备案): the licence block while pledged, licence-revenue filing items,
the licence panel and form, and the licence API."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from ipledge.core.models import AuditEvent
from ipledge.registration.services import filing_create
from ipledge.registry.licensing import current_licence_exists, licence_list, licence_record
from ipledge.registry.models import LicenceContract
from tests.api_helpers import assert_error, get, send, session_client
from tests.world import add_pledges

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def record(world: Any, right_key: str = "r2", user: Any = None, **overrides: Any) -> LicenceContract:
    data: dict[str, Any] = {
        "right": world.rights[right_key],
        "licensee_name": "苏州某光电有限公司",
        "licence_kind": "ordinary",
        "record_no": "2024990000123",
        "start_on": TODAY - datetime.timedelta(days=30),
        "end_on": TODAY + datetime.timedelta(days=365),
        "acting_user": user or world.user("ent2"),
    }
    data.update(overrides)
    return licence_record(**data)


def rules(exc: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in exc.error_dict.items()}  # type: ignore[misc]


# Service


def test_record_licence_on_unpledged_right_is_audited(world) -> None:  # type: ignore[no-untyped-def]
    licence = record(world, royalty_terms="每年销售额的3%")
    assert licence.recorded_on == TODAY and licence.licence_kind == "ordinary" and not licence.pledgee_consent
    event = AuditEvent.objects.get(action="licence_contract.record", object_id=str(licence.pk))
    assert event.actor == world.user("ent2")
    assert event.region_code == world.enterprises["e2"].region_code
    assert event.changes["fields"]["record_no"]["new"] == "2024990000123"
    assert event.changes["extra"]["pledge"] is None


def test_licence_of_pledged_right_refused_without_consent(world) -> None:  # type: ignore[no-untyped-def]
    add_pledges(world)  # r1 is pledged to bank1's tech sub-branch
    with pytest.raises(ValidationError) as exc:
        record(world, "r1", user=world.user("ent1"))
    assert rules(exc.value) == {"right": ["pledged_without_consent"]}
    assert "质权人" in str(exc.value)
    assert not LicenceContract.objects.exists()
    assert not AuditEvent.objects.filter(action="licence_contract.record").exists()


def test_licence_of_pledged_right_allowed_with_consent(world) -> None:  # type: ignore[no-untyped-def]
    add_pledges(world)
    licence = record(world, "r1", user=world.user("ent1"), pledgee_consent=True)
    assert licence.pledgee_consent
    event = AuditEvent.objects.get(action="licence_contract.record", object_id=str(licence.pk))
    assert (
        event.changes["extra"]["pledge"] == world.rights["r1"].pledges.get(is_active=True).registration.registration_no
    )


def test_open_licence_of_pledged_patent_needs_consent(world) -> None:  # type: ignore[no-untyped-def]
    add_pledges(world)
    with pytest.raises(ValidationError) as exc:
        record(world, "r1", user=world.user("ent1"), licence_kind="open", licensee_name="")
    assert rules(exc.value) == {"right": ["pledged_without_consent"]}
    licence = record(world, "r1", user=world.user("ent1"), licence_kind="open", licensee_name="", pledgee_consent=True)
    assert licence.licensee_name  # an open licence has no named licensee


def test_open_licence_only_for_patents(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as exc:
        record(world, "r1b", user=world.user("ipo_bj"), licence_kind="open")
    assert rules(exc.value) == {"licence_kind": ["open_licence_patent_only"]}


def test_bad_input_names_field_and_rule(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as exc:
        record(world, end_on=TODAY - datetime.timedelta(days=60))
    assert rules(exc.value) == {"end_on": ["end_before_start"]}
    with pytest.raises(ValidationError) as exc:
        record(world, licence_kind="perpetual")
    assert rules(exc.value) == {"licence_kind": ["invalid_choice"]}
    record(world)
    with pytest.raises(ValidationError) as exc:
        record(world, "r1", user=world.user("ent1"))
    assert rules(exc.value) == {"record_no": ["unique"]}


@pytest.mark.parametrize("org", ["bank2", "ent1", "ipo_bj", "park1"])
def test_only_users_who_may_change_the_right_record(world, org: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        record(world, "r2", user=world.user(org))
    assert not LicenceContract.objects.exists()


def test_viewer_may_not_record(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        record(world, "r2", user=world.user("ent2", "viewer"))


def test_licence_list_is_scoped(world) -> None:  # type: ignore[no-untyped-def]
    licence = record(world)
    assert list(licence_list(user=world.user("ent2"))) == [licence]
    assert list(licence_list(user=world.user("ipo_js", "viewer"), right=world.rights["r2"])) == [licence]
    assert not licence_list(user=world.user("ent1")).exists()
    assert not licence_list(user=world.user("bank2")).exists()
    assert not licence_list(user=world.user("ent2"), right=world.rights["r1"]).exists()


def test_current_licence_exists_checks_right_and_period(world) -> None:  # type: ignore[no-untyped-def]
    record(world)
    right = world.rights["r2"]
    assert current_licence_exists(right=right, record_no=" 2024990000123 ", on=TODAY)
    assert not current_licence_exists(right=right, record_no="", on=TODAY)
    assert not current_licence_exists(right=world.rights["r1"], record_no="2024990000123", on=TODAY)
    assert not current_licence_exists(right=right, record_no="2024990000123", on=TODAY + datetime.timedelta(days=400))


# Licence-revenue filing items


def file_licence_revenue(world: Any, ref: str) -> Any:
    return filing_create(
        pledgor=world.enterprises["e2"],
        pledgee=world.orgs["bank2"],
        items=[{"ip_right": world.rights["r2"], "licence_revenue": True, "licence_contract_ref": ref}],
        acting_user=world.user("bank2"),
    )


def test_licence_revenue_item_refused_without_recorded_licence(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as exc:
        file_licence_revenue(world, "2024990000123")
    assert rules(exc.value) == {"items": ["licence_contract_not_recorded"]}
    with pytest.raises(ValidationError) as exc:
        file_licence_revenue(world, "")
    assert rules(exc.value) == {"items": ["licence_contract_not_recorded"]}


def test_licence_revenue_item_refused_for_another_rights_licence(world) -> None:  # type: ignore[no-untyped-def]
    record(world, "r1", user=world.user("ent1"), record_no="2024990000777")
    with pytest.raises(ValidationError) as exc:
        file_licence_revenue(world, "2024990000777")
    assert rules(exc.value) == {"items": ["licence_contract_not_recorded"]}


def test_licence_revenue_item_refused_for_expired_licence(world) -> None:  # type: ignore[no-untyped-def]
    record(world, start_on=TODAY - datetime.timedelta(days=400), end_on=TODAY - datetime.timedelta(days=1))
    with pytest.raises(ValidationError) as exc:
        file_licence_revenue(world, "2024990000123")
    assert rules(exc.value) == {"items": ["licence_contract_not_recorded"]}


def test_licence_revenue_item_accepted_with_recorded_licence(world) -> None:  # type: ignore[no-untyped-def]
    record(world)
    filing = file_licence_revenue(world, "2024990000123")  # the bank cannot see the licence, but it exists
    item = filing.items.get()
    assert item.licence_revenue and item.licence_contract_ref == "2024990000123"


# UI


def licence_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "licensee_name": "苏州某光电有限公司",
        "licence_kind": "exclusive",
        "record_no": "2024990000321",
        "start_on": str(TODAY),
        "end_on": str(TODAY + datetime.timedelta(days=730)),
        "royalty_terms": "入门费10万元，另按销售额2%提成",
    }
    data.update(overrides)
    return data


def test_licence_panel_and_form_happy_path(client, world) -> None:  # type: ignore[no-untyped-def]
    right = world.rights["r2"]
    client.force_login(world.user("ent2"))
    detail = client.get(reverse("registry:ipright_detail", args=[right.pk]))
    assert detail.status_code == 200
    assert "许可合同" in detail.content.decode()
    assert reverse("registry:licence_create", args=[right.pk]) in detail.content.decode()
    url = reverse("registry:licence_create", args=[right.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, licence_form())
    assert response.status_code == 302 and response.url == reverse("registry:ipright_detail", args=[right.pk])
    licence = LicenceContract.objects.get()
    assert (licence.ip_right, licence.licence_kind, licence.record_no) == (right, "exclusive", "2024990000321")
    assert AuditEvent.objects.filter(action="licence_contract.record", object_id=str(licence.pk)).exists()
    page = client.get(reverse("registry:ipright_detail", args=[right.pk])).content.decode()
    assert "2024990000321" in page and "苏州某光电有限公司" in page


def test_licence_form_shows_pledge_rule_on_the_field(client, world) -> None:  # type: ignore[no-untyped-def]
    add_pledges(world)
    right = world.rights["r1"]
    client.force_login(world.user("ent1"))
    response = client.post(reverse("registry:licence_create", args=[right.pk]), licence_form())
    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error("pledgee_consent", "pledged_without_consent")
    assert not LicenceContract.objects.exists()
    ok = client.post(reverse("registry:licence_create", args=[right.pk]), licence_form(pledgee_consent="on"))
    assert ok.status_code == 302 and LicenceContract.objects.get().pledgee_consent


def test_licence_form_other_organisation_404(client, world) -> None:  # type: ignore[no-untyped-def]
    right = world.rights["r2"]
    client.force_login(world.user("ent1"))
    url = reverse("registry:licence_create", args=[right.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, licence_form()).status_code == 404
    assert not LicenceContract.objects.exists()


def test_licence_form_hidden_from_viewer(client, world) -> None:  # type: ignore[no-untyped-def]
    right = world.rights["r2"]
    record(world)
    client.force_login(world.user("ipo_js", "viewer"))
    page = client.get(reverse("registry:ipright_detail", args=[right.pk])).content.decode()
    assert "2024990000123" in page
    assert reverse("registry:licence_create", args=[right.pk]) not in page
    assert client.get(reverse("registry:licence_create", args=[right.pk])).status_code == 404


# API


def licence_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "licensee_name": "苏州某光电有限公司",
        "licence_kind": "sole",
        "record_no": "2024990000555",
        "start_on": str(TODAY),
        "end_on": str(TODAY + datetime.timedelta(days=365)),
        "royalty_terms": "一次性支付50万元",
    }
    body.update(overrides)
    return body


def test_api_record_and_list_licences(world) -> None:  # type: ignore[no-untyped-def]
    right = world.rights["r2"]
    client = session_client(world.user("ent2"))
    created = send(client, "post", f"/ip-rights/{right.pk}/licences", licence_body())
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["record_no"] == "2024990000555" and body["licence_kind"] == "sole" and body["ip_right_id"] == right.pk
    assert body["recorded_on"] == str(TODAY) and body["pledgee_consent"] is False
    assert AuditEvent.objects.filter(action="licence_contract.record", object_id=str(body["id"])).exists()
    listed = get(client, f"/ip-rights/{right.pk}/licences")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["items"]] == [body["id"]]


def test_api_pledged_right_refused_with_rule(world) -> None:  # type: ignore[no-untyped-def]
    add_pledges(world)
    right = world.rights["r1"]
    client = session_client(world.user("ent1"))
    assert_error(
        send(client, "post", f"/ip-rights/{right.pk}/licences", licence_body()),
        400,
        field="right",
        rule="pledged_without_consent",
    )
    ok = send(client, "post", f"/ip-rights/{right.pk}/licences", licence_body(pledgee_consent=True))
    assert ok.status_code == 201, ok.content


def test_api_other_organisation_404(world) -> None:  # type: ignore[no-untyped-def]
    right = world.rights["r2"]
    record(world)
    client = session_client(world.user("ent1"))
    assert_error(get(client, f"/ip-rights/{right.pk}/licences"), 404, field=None, rule="not_found")
    assert_error(
        send(client, "post", f"/ip-rights/{right.pk}/licences", licence_body()), 404, field=None, rule="not_found"
    )
    assert LicenceContract.objects.count() == 1


def test_api_viewer_may_list_not_record(world) -> None:  # type: ignore[no-untyped-def]
    right = world.rights["r2"]
    record(world)
    client = session_client(world.user("ipo_js", "viewer"))
    assert get(client, f"/ip-rights/{right.pk}/licences").status_code == 200
    assert_error(send(client, "post", f"/ip-rights/{right.pk}/licences", licence_body()), 403, rule="forbidden")
    assert LicenceContract.objects.count() == 1
