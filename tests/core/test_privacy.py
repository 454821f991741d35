"""Personal data of enterprises (ipledge.core.privacy): the legal representative's ID number and the contact phone
are validated, shown in full only to the enterprise, its park's admins/operators, a bank doing business with it and
superusers, and masked for everyone else on the page, the edit form, the API and the audit trail."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from stdnum.cn import ric

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent, User
from ipledge.core.privacy import (
    mask_id_number,
    mask_phone,
    normalise_id_number,
    normalise_phone,
    sees_personal_data,
)
from ipledge.registry.models import Enterprise, ParkMembership
from ipledge.registry.services import enterprise_update
from tests.api_helpers import assert_error, get, send, session_client
from tests.world import add_pledges

ID = "11010119900307123" + ric.calc_check_digit("11010119900307123X")
ID_MASK = "110101********" + ID[-4:]
PHONE = "13812345678"
PHONE_MASK = "138****5678"


def test_masks():
    assert mask_id_number("11010119900307123X") == "110101********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("010-12345678") == "010*****5678"
    assert mask_id_number("") == mask_phone("") == ""
    assert mask_id_number("12345") == "*****" and mask_phone("12345") == "*****"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("1101011990030712", "id_number_format"),  # 16 digits
        ("11010119900307123A", "id_number_format"),
        (ID[:-1] + ("0" if ID[-1] != "0" else "1"), "id_number_checksum"),
        ("110101" + "19901307" + "123", "id_number_invalid"),  # month 13 (check digit made valid below)
    ],
)
def test_id_number_validation_names_the_field_and_rule(value, rule):
    if rule == "id_number_invalid":
        value += ric.calc_check_digit(value + "X")
    with pytest.raises(ValidationError) as excinfo:
        normalise_id_number(value)
    assert excinfo.value.error_dict["legal_representative_id_number"][0].code == rule


def test_valid_numbers_are_normalised():
    assert normalise_id_number(f" {ID.lower()} ") == ID
    assert normalise_id_number("") == ""
    assert normalise_phone("138 1234 5678") == PHONE and normalise_phone("+86 13812345678") == PHONE
    assert normalise_phone("010-12345678") == "010-12345678" and normalise_phone("07558888888") == "07558888888"
    for bad in ("12812345678", "1381234567", "010-123", "abc", "8613812345678"):
        with pytest.raises(ValidationError) as excinfo:
            normalise_phone(bad)
        assert excinfo.value.error_dict["contact_phone"][0].code == "phone_format"


def test_seeded_personal_data_is_valid_and_deterministic():
    from ipledge.registry.seeding import seed_personal_data

    seen = set()
    for i in range(3000):
        data = seed_personal_data(i)
        assert normalise_id_number(data["legal_representative_id_number"]) == data["legal_representative_id_number"]
        assert normalise_phone(data["contact_phone"]) == data["contact_phone"]
        assert data["legal_representative"]
        seen.add(data["legal_representative_id_number"])
    assert len(seen) > 2900
    assert seed_personal_data(7) == seed_personal_data(7)


# --------------------------------------------------------------------------------------------------- who sees


@pytest.fixture
def pii(world):
    add_pledges(world)  # e1's patent is pledged to bank1's tech sub-branch, the filing confirmed by e1
    for key in ("e1", "e1b"):
        enterprise_update(
            enterprise=world.enterprises[key],
            data={"legal_representative": "张三", "legal_representative_id_number": ID, "contact_phone": PHONE},
            acting_user=None,
        )
    return world


FULL = [
    ("ent1", Role.VIEWER),  # the enterprise's own users, any role
    ("ent1", Role.ADMIN),
    ("park1", Role.ADMIN),  # its park's administration
    ("park1", Role.OPERATOR),
    ("bank1_sub", Role.VIEWER),  # the pledgee bank (any role) and the offices above it
    ("bank1", Role.OPERATOR),
]
MASKED = [
    ("park1", Role.VIEWER),
    ("park1", Role.REVIEWER),
    ("ipo_bj", Role.OPERATOR),  # the IP office reads the register, but does not need the person
    ("ipo_bj", Role.REVIEWER),
    ("cnipa", Role.VIEWER),
    ("ndrc_bj", Role.VIEWER),
]
HIDDEN = [("bank2", Role.OPERATOR), ("bank1_br2", Role.OPERATOR), ("ent2", Role.ADMIN), ("guarantor", Role.ADMIN)]


@pytest.mark.parametrize(("org", "role"), FULL)
def test_roles_that_see_the_personal_data_in_full(pii, org, role):
    user = pii.user(org, role)
    e1 = pii.enterprises["e1"]
    assert sees_personal_data(user, e1)
    body = get(session_client(user), f"/enterprises/{e1.pk}").json()
    assert (body["legal_representative_id_number"], body["contact_phone"]) == (ID, PHONE)
    assert body["legal_representative"] == "张三" and body["personal_data_masked"] is False
    page = session_client(user).get(reverse("registry:enterprise_detail", args=[e1.pk])).content.decode()
    assert ID in page and PHONE in page  # (the history on the page shows the audit trail's masks)


@pytest.mark.parametrize(("org", "role"), MASKED)
def test_roles_that_see_masks(pii, org, role):
    user = pii.user(org, role)
    e1 = pii.enterprises["e1"]
    assert not sees_personal_data(user, e1)
    body = get(session_client(user), f"/enterprises/{e1.pk}").json()
    assert (body["legal_representative_id_number"], body["contact_phone"]) == (ID_MASK, PHONE_MASK)
    assert body["legal_representative"] == "张三" and body["personal_data_masked"] is True
    listed = get(session_client(user), "/enterprises", {"q": e1.uscc}).json()["items"]
    assert [(i["legal_representative_id_number"], i["contact_phone"]) for i in listed] == [(ID_MASK, PHONE_MASK)]
    page = session_client(user).get(reverse("registry:enterprise_detail", args=[e1.pk])).content.decode()
    assert ID_MASK in page and PHONE_MASK in page and ID not in page and PHONE not in page


@pytest.mark.parametrize(("org", "role"), HIDDEN)
def test_a_bank_without_business_and_others_do_not_reach_the_enterprise(pii, org, role):
    user = pii.user(org, role)
    e1 = pii.enterprises["e1"]
    assert not sees_personal_data(user, e1)
    response = get(session_client(user), f"/enterprises/{e1.pk}")
    assert response.status_code in (403, 404) and ID not in response.content.decode()
    listed = get(session_client(user), "/enterprises", {"q": e1.uscc})
    assert listed.status_code in (200, 403) and ID not in listed.content.decode()


def test_a_bank_sees_in_full_only_where_it_does_business(pii):
    """bank1's tech sub-branch holds e1's pledge; e1b's pledge (to bank1's Nanjing branch) is not confirmed yet."""
    bank = pii.user("bank1_sub", Role.OPERATOR)
    assert sees_personal_data(bank, pii.enterprises["e1"])
    assert not sees_personal_data(bank, pii.enterprises["e1b"])
    assert not sees_personal_data(pii.user("bank1_br2"), pii.enterprises["e1b"])


def test_a_park_sees_in_full_only_its_current_members(pii):
    admin = pii.user("park1", Role.ADMIN)
    membership = ParkMembership.objects.get(enterprise=pii.enterprises["e1b"], park=pii.parks["p1"])
    membership.left_on = timezone.localdate() - datetime.timedelta(days=1)
    membership.save()
    admin = User.objects.get(pk=admin.pk)  # a fresh request
    assert sees_personal_data(admin, pii.enterprises["e1"])
    assert not sees_personal_data(admin, pii.enterprises["e1b"])
    assert not sees_personal_data(pii.user("park2", Role.ADMIN), pii.enterprises["e1"])


def test_superusers_see_everything(pii):
    root = User.objects.create_superuser("root", "root@example.com", "pass-root-1234")
    assert sees_personal_data(root, pii.enterprises["e1"]) and sees_personal_data(root, pii.enterprises["e2"])


# --------------------------------------------------------------------------------------------------- editing


def test_the_edit_form_shows_personal_fields_only_to_those_who_see_them(pii, client):
    e1 = pii.enterprises["e1"]
    url = reverse("registry:enterprise_edit", args=[e1.pk])
    client.force_login(pii.user("park1", Role.OPERATOR))
    form = client.get(url).context["form"]
    assert form["legal_representative_id_number"].value() == ID and form["contact_phone"].value() == PHONE
    # The IP office may edit the enterprise but not see the person: the fields are not on its form, and its save
    # keeps the stored values.
    client.force_login(pii.user("ipo_bj", Role.OPERATOR))
    page = client.get(url)
    assert "legal_representative_id_number" not in page.context["form"].fields
    assert ID not in page.content.decode() and PHONE not in page.content.decode()
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None and k in page.context["form"].fields}
    data.update(name="北京智芯科技有限公司（改）", legal_representative_id_number="", contact_phone="")
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    e1.refresh_from_db()
    assert e1.name.endswith("（改）") and (e1.legal_representative_id_number, e1.contact_phone) == (ID, PHONE)


def test_form_and_api_validation_errors_name_the_field(pii, client):
    e1 = pii.enterprises["e1"]
    client.force_login(pii.user("ent1", Role.ADMIN))
    url = reverse("registry:enterprise_edit", args=[e1.pk])
    form = client.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(legal_representative_id_number=ID[:-1] + "0" if ID[-1] != "0" else ID[:-1] + "1", contact_phone="12345")
    page = client.post(url, data)
    errors = page.context["form"].errors
    assert "校验位" in errors["legal_representative_id_number"][0] and "手机" in errors["contact_phone"][0]
    owner = session_client(pii.user("ent1", Role.ADMIN))
    body = assert_error(
        send(owner, "patch", f"/enterprises/{e1.pk}", {"legal_representative_id_number": "11010119900307123"}),
        400,
        field="legal_representative_id_number",
        rule="id_number_format",
    )
    assert body["errors"][0]["message_en"].startswith("An ID number")
    assert_error(
        send(owner, "patch", f"/enterprises/{e1.pk}", {"contact_phone": "999"}),
        400,
        field="contact_phone",
        rule="phone_format",
    )
    changed = send(owner, "patch", f"/enterprises/{e1.pk}", {"contact_phone": "010-87654321"})
    assert changed.status_code == 200 and changed.json()["contact_phone"] == "010-87654321"


def test_the_api_refuses_personal_changes_from_those_who_see_masks(pii):
    e1 = pii.enterprises["e1"]
    office = session_client(pii.user("ipo_bj", Role.OPERATOR))
    assert_error(
        send(office, "patch", f"/enterprises/{e1.pk}", {"contact_phone": "13900000000"}),
        403,
        field="contact_phone",
        rule="personal_data",
    )
    assert send(office, "patch", f"/enterprises/{e1.pk}", {"employees": 130}).status_code == 200
    e1.refresh_from_db()
    assert e1.contact_phone == PHONE and e1.employees == 130


def test_the_audit_trail_records_personal_data_masked(pii):
    events = AuditEvent.objects.filter(object_type="registry.enterprise", object_id=str(pii.enterprises["e1"].pk))
    fields = [e.changes.get("fields", {}) for e in events]
    recorded = [f["legal_representative_id_number"]["new"] for f in fields if "legal_representative_id_number" in f]
    assert [r for r in recorded if r] == [ID_MASK]  # (the creation recorded the blank)
    assert all(ID not in str(e.changes) and PHONE not in str(e.changes) for e in events)


def test_create_through_the_api_validates_and_masks_for_the_creator(pii):
    from ipledge.core.synthetic import make_uscc

    office = session_client(pii.user("ipo_bj", Role.OPERATOR))
    body = {
        "uscc": make_uscc(region_code="110108", serial=7001),
        "name": "北京测试科技有限公司",
        "industry_section": "I",
        "legal_representative_id_number": ID,
        "contact_phone": PHONE,
    }
    created = send(office, "post", "/enterprises", body)
    assert created.status_code == 201, created.content.decode()
    # The office registered the enterprise, but it is not the enterprise, its park or its bank.
    assert created.json()["contact_phone"] == PHONE_MASK
    stored = Enterprise.objects.get(pk=created.json()["id"])
    assert (stored.legal_representative_id_number, stored.contact_phone) == (ID, PHONE)
    bad = send(
        office,
        "post",
        "/enterprises",
        {**body, "uscc": make_uscc(region_code="110108", serial=7002), "contact_phone": "1"},
    )
    assert_error(bad, 400, field="contact_phone", rule="phone_format")
