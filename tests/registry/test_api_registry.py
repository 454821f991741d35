"""API, registry part: parks, enterprises and IP rights — scoping, writes, references, errors, money."""

from __future__ import annotations

import pytest

from ipledge.core.models import AuditEvent
from ipledge.core.synthetic import make_patent_number, make_uscc
from ipledge.registration.models import PledgeFiling
from ipledge.registry.models import Enterprise, IPRight, Park, ParkMembership
from tests.api_helpers import assert_error, get, key_client, make_key, send, session_client
from tests.world import add_pledges

pytestmark = pytest.mark.django_db


def _ids(response):  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def _bad_check(uscc: str) -> str:
    return uscc[:-1] + ("0" if uscc[-1] != "0" else "1")


# ---------------------------------------------------------------------------
# Parks
# ---------------------------------------------------------------------------


def test_parks_are_public_to_every_organisation(world):
    p1, p2 = world.parks["p1"], world.parks["p2"]
    assert _ids(get(session_client(world.users["ent2_viewer"]), "/parks")) == {p1.pk, p2.pk}
    body = get(session_client(world.users["bank2_viewer"]), f"/parks/{p1.pk}").json()
    assert body["region"] == {"code": "110108", "name": "海淀区"}
    assert body["administering_org"] == {"id": world.orgs["park1"].pk, "name": world.orgs["park1"].name}
    assert body["is_key_park"] is True


def test_park_filters(world):
    client = session_client(world.users["ent1_viewer"])
    assert _ids(get(client, "/parks", {"region": "320000"})) == {world.parks["p2"].pk}
    assert _ids(get(client, "/parks", {"region": "110108"})) == {world.parks["p1"].pk}
    assert _ids(get(client, "/parks", {"q": "江宁"})) == {world.parks["p2"].pk}
    assert _ids(get(client, "/parks", {"level": "provincial"})) == set()
    assert_error(get(client, "/parks/999999"), 404, rule="not_found")


def test_ip_office_creates_a_park_in_its_jurisdiction(world):
    client = session_client(world.users["ipo_bj_operator"])
    response = send(
        client,
        "post",
        "/parks",
        {
            "name": "北京经济技术开发区",
            "level": "national",
            "kind": "etdz",
            "region_code": "110108",
            "administering_org_id": world.orgs["park1"].pk,
            "nbs_code": "110108",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "etdz" and body["administering_org"]["id"] == world.orgs["park1"].pk
    assert AuditEvent.objects.filter(
        action="park.create", object_id=str(body["id"]), actor=world.users["ipo_bj_operator"]
    ).exists()


def test_park_outside_jurisdiction_is_refused_and_nothing_saved(world):
    client = session_client(world.users["ipo_bj_operator"])
    response = send(
        client,
        "post",
        "/parks",
        {"name": "苏州工业园区", "level": "national", "kind": "other", "region_code": "320115"},
    )
    assert_error(response, 403, field="region_code", rule="out_of_scope")
    assert not Park.objects.filter(name="苏州工业园区").exists()
    assert not AuditEvent.objects.filter(object_repr="苏州工业园区").exists()


def test_park_references_are_resolved_within_scope(world):
    client = session_client(world.users["ipo_bj_operator"])
    payload = {"name": "新园区", "level": "provincial", "kind": "other", "region_code": "110108"}
    # park2's administration is in Jiangsu: invisible to the Beijing office.
    assert_error(
        send(client, "post", "/parks", {**payload, "administering_org_id": world.orgs["park2"].pk}),
        400,
        field="administering_org_id",
        rule="not_found",
    )
    # A bank is not a park administration.
    assert_error(
        send(client, "post", "/parks", {**payload, "administering_org_id": world.orgs["bank1"].pk}),
        400,
        field="administering_org_id",
        rule="not_found",
    )
    assert_error(
        send(client, "post", "/parks", {**payload, "region_code": "999999"}), 400, field="region_code", rule="not_found"
    )


def test_duplicate_park_name_is_a_conflict(world):
    client = session_client(world.users["ipo_js_operator"])
    response = send(
        client,
        "post",
        "/parks",
        {"name": world.parks["p2"].name, "level": "national", "kind": "hitech", "region_code": "320115"},
    )
    assert_error(response, 409, field="name", rule="unique")


def test_park_admins_cannot_create_parks_and_viewers_cannot_change(world):
    payload = {"name": "x", "level": "other", "kind": "other", "region_code": "110108"}
    assert_error(
        send(session_client(world.users["park1_operator"]), "post", "/parks", payload),
        403,
        field=None,
        rule="forbidden",
    )
    assert_error(
        send(
            session_client(world.users["park1_viewer"]),
            "patch",
            f"/parks/{world.parks['p1'].pk}",
            {"is_key_park": False},
        ),
        403,
        rule="forbidden",
    )
    assert_error(send(session_client(world.users["reg_bj_admin"]), "post", "/parks", payload), 403, rule="forbidden")


def test_park_admin_changes_its_own_park_only(world):
    client = session_client(world.users["park1_operator"])
    response = send(client, "patch", f"/parks/{world.parks['p1'].pk}", {"is_key_park": False, "nbs_code": "110108"})
    assert response.status_code == 200, response.content
    assert response.json()["is_key_park"] is False and response.json()["nbs_code"] == "110108"
    assert_error(send(client, "patch", f"/parks/{world.parks['p2'].pk}", {"is_key_park": True}), 404, rule="not_found")
    assert_error(
        send(client, "patch", f"/parks/{world.parks['p1'].pk}", {"name": None}), 400, field="name", rule="null"
    )
    # Handing the park to another administration would take it out of the caller's scope: refused, unsaved.
    own = session_client(world.users["park1_admin"])
    assert_error(
        send(own, "patch", f"/parks/{world.parks['p1'].pk}", {"administering_org_id": None}), 403, rule="out_of_scope"
    )
    assert Park.objects.get(pk=world.parks["p1"].pk).administering_org_id == world.orgs["park1"].pk


# ---------------------------------------------------------------------------
# Enterprises
# ---------------------------------------------------------------------------


def test_enterprise_users_see_only_their_enterprise(world):
    client = session_client(world.users["ent1_operator"])
    assert _ids(get(client, "/enterprises")) == {world.enterprises["e1"].pk}
    assert_error(get(client, f"/enterprises/{world.enterprises['e1b'].pk}"), 404, field=None, rule="not_found")
    assert_error(get(client, f"/enterprises/{world.enterprises['e2'].pk}"), 404, rule="not_found")


def test_ip_office_sees_its_jurisdiction_only(world):
    e = world.enterprises
    assert _ids(get(session_client(world.users["ipo_bj_viewer"]), "/enterprises")) == {e["e1"].pk, e["e1b"].pk}
    assert _ids(get(session_client(world.users["ipo_nj_viewer"]), "/enterprises")) == {e["e2"].pk}
    assert _ids(get(session_client(world.users["cnipa_viewer"]), "/enterprises")) == {
        e["e1"].pk,
        e["e1b"].pk,
        e["e2"].pk,
    }
    assert_error(get(session_client(world.users["ipo_bj_viewer"]), f"/enterprises/{e['e2'].pk}"), 404)


def test_banks_see_only_their_customers(world):
    """A bank reads the enterprises it does business with (here: pledgors of its pledges), nobody else."""
    bank = session_client(world.users["bank1_admin"])
    assert _ids(get(bank, "/enterprises")) == set()
    add_pledges(world)
    pledgors = set(
        PledgeFiling.objects.filter(
            pledgee__tree_path__startswith=world.orgs["bank1"].tree_path, pledgor_confirmed_at__isnull=False
        ).values_list("pledgor_id", flat=True)
    )
    assert pledgors and _ids(get(bank, "/enterprises")) == pledgors
    outsider = next(e for e in world.enterprises.values() if e.pk not in pledgors)
    assert_error(get(bank, f"/enterprises/{outsider.pk}"), 404)
    # Reading is all: a bank never edits an enterprise's registry record.
    customer = next(iter(pledgors))
    assert_error(send(bank, "patch", f"/enterprises/{customer}", {"employees": 1}), 403, rule="forbidden")


def test_enterprise_detail_money_as_strings_and_derived_fields(world):
    body = get(session_client(world.users["park1_viewer"]), f"/enterprises/{world.enterprises['e1'].pk}").json()
    assert body["revenue"] == "35000000.00" and body["total_assets"] == "50000000.00"
    assert body["size_class"] == "medium"
    assert body["registration_region"] == {"code": "110108", "name": "海淀区"}
    assert body["parks"] == [
        {
            "park_id": world.parks["p1"].pk,
            "park_name": world.parks["p1"].name,
            "joined_on": "2022-01-01",
            "left_on": None,
        }
    ]
    assert body["organisation_id"] == world.orgs["ent1"].pk


def test_enterprise_filters(world):
    e = world.enterprises
    client = session_client(world.users["cnipa_viewer"])
    assert _ids(get(client, "/enterprises", {"q": "微纳"})) == {e["e1b"].pk}
    assert _ids(get(client, "/enterprises", {"q": e["e2"].uscc[2:10]})) == {e["e2"].pk}
    assert _ids(get(client, "/enterprises", {"park": world.parks["p1"].pk})) == {e["e1"].pk, e["e1b"].pk}
    assert _ids(get(client, "/enterprises", {"size_class": "medium"})) == {e["e1"].pk, e["e2"].pk}
    assert _ids(get(client, "/enterprises", {"industry_section": "I"})) == {e["e1"].pk}
    assert_error(get(client, "/enterprises", {"industry_section": "Z"}), 422, field="industry_section")
    page = get(client, "/enterprises", {"page_size": 2}).json()
    assert page["count"] == 3 and page["pages"] == 2 and len(page["items"]) == 2
    rest = get(client, "/enterprises", {"page_size": 2, "page": 2}).json()
    assert {i["id"] for i in page["items"]}.isdisjoint({i["id"] for i in rest["items"]})


def test_park_operator_registers_an_enterprise_in_its_park(world):
    uscc = make_uscc(region_code="110108", serial=3001)
    client = session_client(world.users["park1_operator"])
    response = send(
        client,
        "post",
        "/enterprises",
        {
            "uscc": uscc.lower(),
            "name": "北京新芯微电子有限公司",
            "industry_section": "C",
            "employees": 80,
            "revenue": "35000000",
            "total_assets": "1234.5",
            "park_id": world.parks["p1"].pk,
            "joined_on": "2024-03-01",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["uscc"] == uscc
    assert body["revenue"] == "35000000.00" and body["total_assets"] == "1234.50"
    assert body["size_class"] == "small"
    assert body["parks"][0]["park_id"] == world.parks["p1"].pk and body["parks"][0]["joined_on"] == "2024-03-01"
    enterprise = Enterprise.objects.get(uscc=uscc)
    assert enterprise.revenue.fen == 3_500_000_000
    assert AuditEvent.objects.filter(action="enterprise.create", object_id=str(enterprise.pk)).exists()
    assert AuditEvent.objects.filter(action="park_membership.create").count() == 4


def test_enterprise_in_another_park_is_refused(world):
    client = session_client(world.users["park1_operator"])
    uscc = make_uscc(region_code="320115", serial=3002)
    response = send(
        client,
        "post",
        "/enterprises",
        {"uscc": uscc, "name": "x", "industry_section": "C", "park_id": world.parks["p2"].pk},
    )
    assert_error(response, 400, field="park_id", rule="not_found")
    # Without a park, the new enterprise would lie outside the park administration's scope: rolled back.
    response = send(client, "post", "/enterprises", {"uscc": uscc, "name": "x", "industry_section": "C"})
    assert_error(response, 403, rule="out_of_scope")
    assert not Enterprise.objects.filter(uscc=uscc).exists()
    assert not AuditEvent.objects.filter(action="enterprise.create", object_repr="x").exists()


def test_bad_uscc_names_the_field_and_rule(world):
    client = session_client(world.users["park1_operator"])
    bad = _bad_check(make_uscc(region_code="110108", serial=3003))
    response = send(
        client,
        "post",
        "/enterprises",
        {"uscc": bad, "name": "x", "industry_section": "C", "park_id": world.parks["p1"].pk},
    )
    body = assert_error(response, 400, field="uscc", rule="checksum")
    assert "校验码" in body["errors"][0]["message"] and "check character" in body["errors"][0]["message_en"]
    assert_error(
        send(client, "post", "/enterprises", {"uscc": "123", "name": "x", "industry_section": "C"}),
        400,
        field="uscc",
        rule="length",
    )


def test_duplicate_uscc_is_a_conflict(world):
    client = session_client(world.users["park1_operator"])
    response = send(
        client,
        "post",
        "/enterprises",
        {
            "uscc": world.enterprises["e1b"].uscc,
            "name": "重复",
            "industry_section": "C",
            "park_id": world.parks["p1"].pk,
        },
    )
    assert_error(response, 409, field="uscc", rule="unique")


def test_money_must_be_a_decimal_string(world):
    client = session_client(world.users["park1_operator"])
    base = {
        "uscc": make_uscc(region_code="110108", serial=3004),
        "name": "x",
        "industry_section": "C",
        "park_id": world.parks["p1"].pk,
    }
    assert_error(
        send(client, "post", "/enterprises", {**base, "revenue": 1000.5}), 422, field="revenue", rule="string_type"
    )
    assert_error(
        send(client, "post", "/enterprises", {**base, "revenue": "1000.555"}),
        422,
        field="revenue",
        rule="string_pattern_mismatch",
    )
    assert_error(send(client, "post", "/enterprises", {**base, "revenue": "-5"}), 422, field="revenue")


def test_industry_division_is_checked_by_the_service(world):
    client = session_client(world.users["park1_operator"])
    response = send(
        client,
        "post",
        "/enterprises",
        {
            "uscc": make_uscc(region_code="110108", serial=3005),
            "name": "x",
            "industry_section": "I",
            "industry_division": "13",
            "park_id": world.parks["p1"].pk,
        },
    )
    assert_error(response, 400, field="industry_division", rule="industry")


def test_roles_that_cannot_create_enterprises(world):
    payload = {"uscc": make_uscc(region_code="110108", serial=3006), "name": "x", "industry_section": "C"}
    for username in ("park1_viewer", "ent1_admin", "bank1_admin", "reg_bj_admin"):
        assert_error(
            send(session_client(world.users[username]), "post", "/enterprises", payload), 403, rule="forbidden"
        )


def test_enterprise_updates_its_own_record(world):
    e1 = world.enterprises["e1"]
    client = session_client(world.users["ent1_operator"])
    response = send(
        client,
        "patch",
        f"/enterprises/{e1.pk}",
        {"revenue": "500000000.00", "employees": 400, "industry_division": None},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["revenue"] == "500000000.00" and body["employees"] == 400
    assert body["industry_division"] == "" and body["size_class"] is None  # section I needs a division
    event = AuditEvent.objects.filter(action="enterprise.update", object_id=str(e1.pk)).latest("id")
    assert event.changes["fields"]["revenue"] == {"old": "35000000.00", "new": "500000000.00"}

    assert_error(send(client, "patch", f"/enterprises/{world.enterprises['e1b'].pk}", {"employees": 1}), 404)
    assert_error(
        send(client, "patch", f"/enterprises/{e1.pk}", {"uscc": "x"}), 422, field="uscc", rule="extra_forbidden"
    )
    assert_error(
        send(session_client(world.users["ent1_viewer"]), "patch", f"/enterprises/{e1.pk}", {"employees": 1}),
        403,
        rule="forbidden",
    )


def test_patch_to_another_province_enterprise_is_404(world):
    client = session_client(world.users["ipo_bj_operator"])
    assert_error(
        send(client, "patch", f"/enterprises/{world.enterprises['e2'].pk}", {"employees": 1}),
        404,
        field=None,
        rule="not_found",
    )
    assert Enterprise.objects.get(pk=world.enterprises["e2"].pk).employees == 300


# ---------------------------------------------------------------------------
# IP rights
# ---------------------------------------------------------------------------


def test_ip_rights_are_scoped_through_their_owners(world):
    r = world.rights
    assert _ids(get(session_client(world.users["ent1_viewer"]), "/ip-rights")) == {r["r1"].pk}
    assert _ids(get(session_client(world.users["park1_viewer"]), "/ip-rights")) == {r["r1"].pk, r["r1b"].pk}
    assert _ids(get(session_client(world.users["ipo_js_viewer"]), "/ip-rights")) == {r["r2"].pk}
    assert_error(get(session_client(world.users["ent1_viewer"]), f"/ip-rights/{r['r2'].pk}"), 404, rule="not_found")


def test_ip_right_detail_and_shares_as_strings(world):
    body = get(session_client(world.users["ent2_viewer"]), f"/ip-rights/{world.rights['r2'].pk}").json()
    assert body["patent_type"] == "utility_model" and body["term_end"] == "2030-06-30"
    owners = {(o["enterprise_id"], o["holder_name"], o["share"]) for o in body["owners"]}
    assert owners == {(world.enterprises["e2"].pk, "", "60.00"), (None, "南京大学", "40.00")}


def test_ip_right_filters(world):
    r, e = world.rights, world.enterprises
    client = session_client(world.users["cnipa_viewer"])
    assert _ids(get(client, "/ip-rights", {"kind": "trademark"})) == {r["r1b"].pk}
    assert _ids(get(client, "/ip-rights", {"owner": e["e2"].pk})) == {r["r2"].pk}
    assert _ids(get(client, "/ip-rights", {"q": "光谱"})) == {r["r2"].pk}
    assert _ids(get(client, "/ip-rights", {"q": r["r1"].number[:8]})) == {r["r1"].pk}
    assert _ids(get(client, "/ip-rights", {"legal_status": "lapsed"})) == set()
    assert_error(get(client, "/ip-rights", {"kind": "design"}), 422, field="kind", rule="enum")


def test_enterprise_registers_its_own_patent(world):
    number = make_patent_number(year=2022, type_digit=1, serial=3000003)
    client = session_client(world.users["ent1_operator"])
    response = send(
        client,
        "post",
        "/ip-rights",
        {
            "kind": "patent",
            "number": "ZL" + number,
            "title": "一种存算一体芯片",
            "filing_date": "2022-05-10",
            "owners": [
                {"enterprise_id": world.enterprises["e1"].pk, "share": "70"},
                {"holder_name": "清华大学", "share": "30"},
            ],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == number and body["patent_type"] == "invention" and body["term_end"] == "2042-05-09"
    assert {o["share"] for o in body["owners"]} == {"70.00", "30.00"}
    assert AuditEvent.objects.filter(action="ip_right.create", object_id=str(body["id"]), region_code="110108").exists()


def test_ip_right_owner_outside_scope_is_refused(world):
    client = session_client(world.users["ent1_operator"])
    number = make_patent_number(year=2022, type_digit=2, serial=3000004)
    response = send(
        client,
        "post",
        "/ip-rights",
        {
            "kind": "patent",
            "number": number,
            "title": "x",
            "owners": [
                {"enterprise_id": world.enterprises["e1"].pk, "share": "50"},
                {"enterprise_id": world.enterprises["e2"].pk, "share": "50"},
            ],
        },
    )
    assert_error(response, 400, field="owners.1.enterprise_id", rule="not_found")
    # Only outside holders: the right would not be reachable by the caller, so it is refused and not saved.
    response = send(
        client,
        "post",
        "/ip-rights",
        {"kind": "patent", "number": number, "title": "x", "owners": [{"holder_name": "某大学"}]},
    )
    assert_error(response, 403, field="owners", rule="out_of_scope")
    assert not IPRight.objects.filter(number=number).exists()


def test_ip_right_number_and_owner_errors(world):
    client = session_client(world.users["ent1_operator"])
    owner = [{"enterprise_id": world.enterprises["e1"].pk}]
    bad = make_patent_number(year=2022, type_digit=1, serial=3000005)[:-1] + "X"
    body = assert_error(
        send(client, "post", "/ip-rights", {"kind": "patent", "number": bad, "title": "x", "owners": owner}),
        400,
        field="number",
        rule="checksum",
    )
    assert "ZC 0006-2003" in body["errors"][0]["message_en"]
    assert_error(
        send(client, "post", "/ip-rights", {"kind": "trademark", "number": "12AB", "title": "x", "owners": owner}),
        400,
        field="number",
        rule="format",
    )
    both = [{"enterprise_id": world.enterprises["e1"].pk, "holder_name": "y"}]
    body = assert_error(
        send(client, "post", "/ip-rights", {"kind": "trademark", "number": "1234", "title": "x", "owners": both}),
        422,
        field="owners.0",
        rule="owner_holder",
    )
    assert "enterprise_id" in body["errors"][0]["message"]
    assert_error(
        send(client, "post", "/ip-rights", {"kind": "trademark", "number": "1234", "title": "x", "owners": []}),
        422,
        field="owners",
        rule="too_short",
    )
    too_much = [{"enterprise_id": world.enterprises["e1"].pk, "share": "80"}, {"holder_name": "z", "share": "30"}]
    assert_error(
        send(client, "post", "/ip-rights", {"kind": "trademark", "number": "1234", "title": "x", "owners": too_much}),
        400,
        field="owners",
        rule="share_total",
    )
    duplicate = {
        "kind": "trademark",
        "number": "第30123456号",
        "title": "x",
        "owners": [{"enterprise_id": world.enterprises["e1"].pk}],
    }
    assert_error(send(client, "post", "/ip-rights", duplicate), 409, field="number", rule="unique")


def test_ip_right_update(world):
    r1 = world.rights["r1"]
    client = session_client(world.users["ent1_operator"])
    response = send(
        client, "patch", f"/ip-rights/{r1.pk}", {"legal_status": "lapsed", "claims_count": 12, "nice_classes": None}
    )
    assert response.status_code == 200, response.content
    assert response.json()["legal_status"] == "lapsed" and response.json()["claims_count"] == 12
    assert_error(
        send(client, "patch", f"/ip-rights/{r1.pk}", {"number": "201911000001.0"}), 400, field="number", rule="checksum"
    )
    assert_error(send(client, "patch", f"/ip-rights/{r1.pk}", {"title": None}), 400, field="title", rule="null")
    assert_error(send(client, "patch", f"/ip-rights/{world.rights['r2'].pk}", {"claims_count": 1}), 404)
    assert_error(
        send(session_client(world.users["ent1_viewer"]), "patch", f"/ip-rights/{r1.pk}", {"claims_count": 1}),
        403,
        rule="forbidden",
    )


def test_ip_right_write_through_a_key_is_audited_with_the_key(world):
    key, secret = make_key(world.users["park1_admin"], role="operator")
    response = send(key_client(secret), "patch", f"/ip-rights/{world.rights['r1b'].pk}", {"renewal_count": 1})
    assert response.status_code == 200, response.content
    event = AuditEvent.objects.filter(action="ip_right.update").latest("id")
    assert event.api_key_id == key.pk and event.organisation_id == world.orgs["park1"].pk


def test_memberships_are_not_duplicated_by_the_park_filter(world):
    ParkMembership.objects.create(
        park=world.parks["p1"], enterprise=world.enterprises["e1"], joined_on="2020-01-01", left_on="2021-01-01"
    )
    client = session_client(world.users["park1_viewer"])
    body = get(client, "/enterprises", {"park": world.parks["p1"].pk}).json()
    assert body["count"] == 2
    e1 = next(i for i in body["items"] if i["id"] == world.enterprises["e1"].pk)
    assert [m["joined_on"] for m in e1["parks"]] == ["2022-01-01", "2020-01-01"]


def test_a_bank_learns_nothing_by_naming_an_enterprise(world):
    """An unconfirmed filing or a loan application the bank opened by USCC does not make the enterprise readable;
    the pledgor's confirmation or a disbursement does."""
    from ipledge.core.money import Money
    from ipledge.lending.services import loan_apply
    from ipledge.registration.services import filing_create

    bank = session_client(world.users["bank2_admin"])
    e1 = world.enterprises["e1"]
    filing_create(
        pledgor=e1,
        pledgee=world.orgs["bank2"],
        items=[{"ip_right": world.rights["r1"]}],
        acting_user=world.user("bank2"),
    )
    loan_apply(
        borrower=e1,
        bank=world.orgs["bank2"],
        requested_amount=Money("1000000"),
        requested_term_months=12,
        acting_user=world.user("bank2"),
    )
    assert_error(get(bank, f"/enterprises/{e1.pk}"), 404)
    assert e1.pk not in _ids(get(bank, "/enterprises"))
