"""Registry pages: lists (filter, sort, paginate), details with history, create/edit through services, import."""

from __future__ import annotations

import datetime
import sys
import types
from dataclasses import dataclass, field
from decimal import Decimal
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.core.synthetic import make_patent_number, make_uscc
from ipledge.registration.models import PledgeFiling
from ipledge.registry.models import Enterprise, IPRight, IPRightOwner, Park, ParkMembership
from ipledge.registry.services import enterprise_create
from tests.world import add_pledges

pytestmark = pytest.mark.django_db


def login(client, world, org: str, role: str = "operator"):
    user = world.user(org, role)
    client.force_login(user)
    return user


def listed(response, attr: str = "pk") -> list:
    return [getattr(row.record, attr) for row in response.context["table"].paginated_rows]


def enterprise_form(**overrides):
    data = {
        "uscc": make_uscc(region_code="110108", serial=424242),
        "name": "北京新测科技有限公司",
        "industry_section": "C",
        "industry_division": "",
        "established_on": "2018-05-01",
        "employees": "80",
        "revenue": "12345678.90",
        "total_assets": "",
        "joined_on": "2024-03-01",
    }
    data.update(overrides)
    return data


def patent_form(world, **overrides):
    data = {
        "kind": "patent",
        "number": make_patent_number(year=2021, type_digit=1, serial=4242),
        "title": "一种测试方法",
        "legal_status": "valid",
        "filing_date": "2021-03-05",
        "grant_date": "",
        "annual_fee_paid_until": "",
        "main_ipc": "G06F",
        "claims_count": "8",
        "forward_citations": "",
        "backward_citations": "",
        "family_size": "",
        "owner_enterprise": world.enterprises["e1"].uscc,
        "owner_share": "100",
        "co_owner_name": "",
        "co_owner_share": "",
    }
    data.update(overrides)
    return data


# Lists


def test_park_list_filters_and_sorts(client, world):
    login(client, world, "bank1")  # parks are public: any organisation sees the list
    response = client.get(reverse("registry:park_list"))
    assert response.status_code == 200
    assert len(listed(response)) == 2
    assert listed(client.get(reverse("registry:park_list"), {"name": "江宁"})) == [world.parks["p2"].pk]
    assert listed(client.get(reverse("registry:park_list"), {"province": "11"})) == [world.parks["p1"].pk]
    assert listed(client.get(reverse("registry:park_list"), {"is_key_park": "true"})) == [world.parks["p1"].pk]
    assert listed(client.get(reverse("registry:park_list"), {"sort": "-name"}), "name") == sorted(
        [p.name for p in world.parks.values()], reverse=True
    )
    assert "新增" not in client.get(reverse("registry:park_list")).content.decode()


def test_new_buttons_follow_add_permission(client, world):
    login(client, world, "ipo_bj", "operator")
    assert reverse("registry:park_create") in client.get(reverse("registry:park_list")).content.decode()
    login(client, world, "ipo_bj", "viewer")
    assert reverse("registry:park_create") not in client.get(reverse("registry:park_list")).content.decode()
    assert reverse("registry:enterprise_create") not in client.get(reverse("registry:enterprise_list")).content.decode()
    login(client, world, "park1")
    assert reverse("registry:park_create") not in client.get(reverse("registry:park_list")).content.decode()
    assert reverse("registry:enterprise_create") in client.get(reverse("registry:enterprise_list")).content.decode()


def test_enterprise_list_is_scoped_and_filters(client, world):
    login(client, world, "park1")
    e1, e1b = world.enterprises["e1"], world.enterprises["e1b"]
    url = reverse("registry:enterprise_list")
    assert set(listed(client.get(url))) == {e1.pk, e1b.pk}
    assert listed(client.get(url, {"q": "智芯"})) == [e1.pk]
    assert listed(client.get(url, {"q": e1b.uscc[-6:].lower()})) == [e1b.pk]
    assert listed(client.get(url, {"is_high_tech": "true"})) == [e1.pk]
    assert listed(client.get(url, {"is_high_tech": "false"})) == [e1b.pk]
    assert listed(client.get(url, {"size_class": "medium"})) == [e1.pk]
    assert listed(client.get(url, {"industry_section": "C"})) == [e1b.pk]
    assert set(listed(client.get(url, {"park": world.parks["p1"].pk}))) == {e1.pk, e1b.pk}
    assert listed(client.get(url, {"park": world.parks["p2"].pk})) == []
    assert listed(client.get(url, {"sort": "-revenue"})) == [e1.pk, e1b.pk]
    assert listed(client.get(url, {"sort": "revenue"})) == [e1b.pk, e1.pk]
    login(client, world, "park2")
    assert listed(client.get(url)) == [world.enterprises["e2"].pk]


def test_enterprise_list_paginates_25_per_page(client, world):
    for i in range(30):
        enterprise_create(
            uscc=make_uscc(region_code="110108", serial=9000 + i),
            name=f"分页测试企业{i:02d}",
            industry_section="M",
            employees=10,
            park=world.parks["p1"],
            joined_on=datetime.date(2023, 1, 1),
            acting_user=None,
        )
    login(client, world, "park1")
    url = reverse("registry:enterprise_list")
    first = client.get(url)
    assert len(listed(first)) == 25
    assert first.context["table"].paginator.count == 32
    second = client.get(url, {"page": 2})
    assert len(listed(second)) == 7
    assert "共 32 条" in first.content.decode()
    filtered = client.get(url, {"q": "分页测试", "page": 2})
    assert len(listed(filtered)) == 5


def test_enterprise_list_is_404_for_kinds_that_cannot_see_enterprises(client, world):
    login(client, world, "valuer", "admin")
    assert client.get(reverse("registry:enterprise_list")).status_code == 404
    assert client.get(reverse("registry:ipright_list")).status_code == 404


def test_bank_lists_only_its_customers(client, world):
    login(client, world, "bank1", "admin")
    assert listed(client.get(reverse("registry:enterprise_list"))) == []
    add_pledges(world)
    pledgors = set(
        PledgeFiling.objects.filter(
            pledgee__tree_path__startswith=world.orgs["bank1"].tree_path, pledgor_confirmed_at__isnull=False
        ).values_list("pledgor_id", flat=True)
    )
    assert pledgors and set(listed(client.get(reverse("registry:enterprise_list")))) == pledgors


def test_ipright_list_filters(client, world):
    login(client, world, "cnipa", "viewer")
    url = reverse("registry:ipright_list")
    r1, r1b, r2 = (world.rights[k].pk for k in ("r1", "r1b", "r2"))
    assert set(listed(client.get(url))) == {r1, r1b, r2}
    assert listed(client.get(url, {"kind": "trademark"})) == [r1b]
    assert set(listed(client.get(url, {"patent_type": "invention"}))) == {r1}
    assert listed(client.get(url, {"q": "光谱"})) == [r2]
    assert listed(client.get(url, {"q": world.rights["r1"].number[:8]})) == [r1]
    assert listed(client.get(url, {"owner": "南京大学"})) == [r2]
    assert listed(client.get(url, {"owner": "微纳传感"})) == [r1b]
    assert listed(client.get(url, {"term_end_before": "2031-01-01"})) == [r1b, r2] or set(
        listed(client.get(url, {"term_end_before": "2031-01-01"}))
    ) == {r1b, r2}
    assert listed(client.get(url, {"enterprise": world.enterprises["e1"].pk})) == [r1]
    IPRight.objects.filter(pk=r2).update(legal_status="lapsed")
    assert listed(client.get(url, {"legal_status": "lapsed"})) == [r2]
    html = client.get(url).content.decode()
    assert "南京大学（40%）" in html


# Details and 404 outside the scope


def test_details_show_labels_derived_fields_and_owners(client, world):
    login(client, world, "park1")
    e1 = world.enterprises["e1"]
    html = client.get(reverse("registry:enterprise_detail", args=[e1.pk])).content.decode()
    assert "北京市海淀区" in html  # registration region full name
    assert "中型" in html and "software_it_services" in html  # size class with its reason
    assert "35,000,000.00" in html  # money with two decimals
    assert "中关村科技园区海淀园" in html and "2022-01-01" in html  # membership
    assert world.rights["r1"].number in html

    login(client, world, "ipo_js", "viewer")
    html = client.get(reverse("registry:ipright_detail", args=[world.rights["r2"].pk])).content.decode()
    assert "南京光谱材料有限公司" in html and "南京大学" in html and ">60<" in html and ">40<" in html
    assert "2030-06-30" in html  # utility model: ten years from the filing date
    assert "实用新型" in html

    html = client.get(reverse("registry:park_detail", args=[world.parks["p2"].pk])).content.decode()
    assert "江苏省南京市江宁区" in html and "南京江宁高新区管委会" in html


@pytest.mark.parametrize("name", ["enterprise_detail", "enterprise_edit"])
def test_other_park_gets_404_on_enterprise(client, world, name):
    login(client, world, "park2")
    assert client.get(reverse(f"registry:{name}", args=[world.enterprises["e1"].pk])).status_code == 404
    assert client.get(reverse(f"registry:{name}", args=[999999])).status_code == 404


@pytest.mark.parametrize("name", ["ipright_detail", "ipright_edit"])
def test_other_park_gets_404_on_ip_right(client, world, name):
    login(client, world, "park2")
    assert client.get(reverse(f"registry:{name}", args=[world.rights["r1"].pk])).status_code == 404
    response = client.post(reverse(f"registry:{name}", args=[world.rights["r1"].pk]), {"title": "x"})
    assert response.status_code == 404
    assert IPRight.objects.get(pk=world.rights["r1"].pk).title == "一种低功耗图像传感芯片"


def test_park_edit_is_404_for_another_parks_administration(client, world):
    login(client, world, "park2")
    assert client.get(reverse("registry:park_detail", args=[world.parks["p1"].pk])).status_code == 200
    assert client.get(reverse("registry:park_edit", args=[world.parks["p1"].pk])).status_code == 404


def test_enterprise_user_reaches_only_its_own_enterprise(client, world):
    login(client, world, "ent1")
    assert client.get(reverse("registry:enterprise_detail", args=[world.enterprises["e1"].pk])).status_code == 200
    assert client.get(reverse("registry:enterprise_detail", args=[world.enterprises["e1b"].pk])).status_code == 404


@pytest.mark.parametrize(
    ("org", "role", "url_name"),
    [
        ("park1", "viewer", "enterprise_create"),
        ("park1", "viewer", "ipright_create"),
        ("park1", "reviewer", "ipright_create"),
        ("park1", "operator", "park_create"),
        ("ipo_bj", "viewer", "park_create"),
        ("ipo_bj", "viewer", "enterprise_create"),
        ("reg_bj", "admin", "enterprise_create"),
        ("ndrc_bj", "admin", "park_create"),
        ("ent1", "operator", "enterprise_create"),
        ("ent1", "viewer", "ipright_create"),
        ("bank1", "operator", "ipright_create"),
        ("bank1", "admin", "import"),
        ("park1", "viewer", "import"),
    ],
)
def test_create_pages_are_404_without_add_permission(client, world, org, role, url_name):
    login(client, world, org, role)
    assert client.get(reverse(f"registry:{url_name}")).status_code == 404


def test_viewer_cannot_reach_edit_pages(client, world):
    login(client, world, "park1", "viewer")
    assert client.get(reverse("registry:enterprise_edit", args=[world.enterprises["e1"].pk])).status_code == 404
    assert client.get(reverse("registry:park_edit", args=[world.parks["p1"].pk])).status_code == 404


# Create and edit through the services


def test_park_admin_creates_enterprise_through_the_form(client, world):
    operator = login(client, world, "park1")
    response = client.get(reverse("registry:enterprise_create"))
    assert list(response.context["form"].fields["park"].queryset) == [world.parks["p1"]]
    response = client.post(reverse("registry:enterprise_create"), enterprise_form(park=world.parks["p1"].pk))
    enterprise = Enterprise.objects.get(name="北京新测科技有限公司")
    assert response.status_code == 302
    assert response["Location"] == reverse("registry:enterprise_detail", args=[enterprise.pk])
    assert enterprise.revenue == Money("12345678.90")
    assert enterprise.region_code == "110108" and enterprise.size_class == "small"
    assert ParkMembership.objects.filter(
        enterprise=enterprise, park=world.parks["p1"], joined_on=datetime.date(2024, 3, 1)
    ).exists()
    event = AuditEvent.objects.get(action="enterprise.create", object_id=str(enterprise.pk))
    assert event.actor == operator and event.organisation == world.orgs["park1"]
    html = client.get(response["Location"]).content.decode()
    assert "12,345,678.90" in html and "enterprise.create" in html


def test_park_admin_must_choose_its_park(client, world):
    login(client, world, "park1")
    response = client.post(reverse("registry:enterprise_create"), enterprise_form(park=""))
    assert "park" in response.context["form"].errors
    response = client.post(reverse("registry:enterprise_create"), enterprise_form(park=world.parks["p2"].pk))
    assert "park" in response.context["form"].errors
    assert not Enterprise.objects.filter(name="北京新测科技有限公司").exists()


def test_bad_uscc_shows_the_rule_next_to_the_field(client, world):
    login(client, world, "park1")
    good = make_uscc(region_code="110108", serial=424242)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = client.post(reverse("registry:enterprise_create"), enterprise_form(uscc=bad, park=world.parks["p1"].pk))
    assert response.status_code == 200
    errors = response.context["form"].errors["uscc"]
    assert errors == ["统一社会信用代码校验码错误（GB 32100-2015）"]
    html = response.content.decode()
    assert f'value="{bad}"' in html and 'data-field="uscc"' in html and "is-invalid" in html
    assert not Enterprise.objects.filter(uscc=bad).exists()


def test_division_not_in_section_is_a_field_error(client, world):
    login(client, world, "park1")
    response = client.post(
        reverse("registry:enterprise_create"),
        enterprise_form(industry_section="I", industry_division="99", park=world.parks["p1"].pk),
    )
    assert "industry_division" in response.context["form"].errors


def test_duplicate_uscc_is_refused(client, world):
    login(client, world, "park1")
    response = client.post(
        reverse("registry:enterprise_create"),
        enterprise_form(uscc=world.enterprises["e1"].uscc, park=world.parks["p1"].pk),
    )
    assert "uscc" in response.context["form"].errors
    assert Enterprise.objects.count() == 3


def test_out_of_scope_creation_is_rolled_back(client, world):
    # A Beijing IP office registering a Jiangsu enterprise outside any park would lose sight of it: refuse.
    login(client, world, "ipo_bj")
    response = client.post(
        reverse("registry:enterprise_create"),
        enterprise_form(uscc=make_uscc(region_code="320115", serial=5555), park=""),
    )
    assert response.status_code == 200
    assert "权限范围" in response.content.decode()
    assert not Enterprise.objects.filter(name="北京新测科技有限公司").exists()
    assert not AuditEvent.objects.filter(action="enterprise.create", actor=world.user("ipo_bj")).exists()


def test_park_admin_creates_ip_right_with_co_owner(client, world):
    operator = login(client, world, "park1")
    response = client.post(
        reverse("registry:ipright_create"),
        patent_form(world, owner_share="70", co_owner_name="清华大学", co_owner_share="30"),
    )
    right = IPRight.objects.get(title="一种测试方法")
    assert response.status_code == 302
    assert response["Location"] == reverse("registry:ipright_detail", args=[right.pk])
    assert right.patent_type == "invention" and right.term_end == datetime.date(2041, 3, 4)
    owners = {(o.enterprise_id, o.holder_name): o.share for o in IPRightOwner.objects.filter(right=right)}
    assert owners == {(world.enterprises["e1"].pk, ""): Decimal("70.00"), (None, "清华大学"): Decimal("30.00")}
    assert AuditEvent.objects.get(action="ip_right.create", object_id=str(right.pk)).actor == operator


def test_wrong_patent_check_digit_is_shown_on_the_number_field(client, world):
    login(client, world, "park1")
    good = make_patent_number(year=2021, type_digit=1, serial=4242)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = client.post(reverse("registry:ipright_create"), patent_form(world, number=bad))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["number"] == ["校验位不符（ZC 0006-2003 模11校验）"]
    html = response.content.decode()
    assert f'value="{bad}"' in html  # the typed value is kept
    assert '<div class="invalid-feedback d-block" data-field="number">校验位不符（ZC 0006-2003 模11校验）</div>' in html
    assert not IPRight.objects.filter(title="一种测试方法").exists()
    assert not AuditEvent.objects.filter(action="ip_right.create", actor=world.user("park1")).exists()


def test_owner_shares_over_100_are_refused(client, world):
    login(client, world, "park1")
    response = client.post(
        reverse("registry:ipright_create"),
        patent_form(world, owner_share="80", co_owner_name="清华大学", co_owner_share="30"),
    )
    assert "100%" in str(response.context["form"].errors["owner_share"])
    assert not IPRight.objects.filter(title="一种测试方法").exists()


def test_owner_outside_the_users_reach_is_refused(client, world):
    login(client, world, "ent1")
    form = client.get(reverse("registry:ipright_create")).context["form"]
    assert list(form.fields["owner_enterprise"].queryset) == [world.enterprises["e1"]]
    response = client.post(
        reverse("registry:ipright_create"), patent_form(world, owner_enterprise=world.enterprises["e1b"].uscc)
    )
    assert "owner_enterprise" in response.context["form"].errors
    response = client.post(reverse("registry:ipright_create"), patent_form(world))
    assert response.status_code == 302  # its own enterprise is fine


def test_kind_selector_swaps_the_kind_fields(client, world):
    login(client, world, "park1")
    response = client.get(
        reverse("registry:ipright_kind_fields"), {"kind": "trademark"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'name="nice_classes"' in html and 'name="main_ipc"' not in html and 'id="kind-fields"' in html
    page = client.get(reverse("registry:ipright_create"), {"kind": "copyright"}).content.decode()
    assert 'name="work_kind"' in page and 'name="nice_classes"' not in page
    assert 'hx-get="' + reverse("registry:ipright_kind_fields") + '"' in page
    login(client, world, "park1", "viewer")
    assert client.get(reverse("registry:ipright_kind_fields"), {"kind": "patent"}).status_code == 404


def test_trademark_created_with_nice_classes(client, world):
    login(client, world, "park1")
    response = client.post(
        reverse("registry:ipright_create"),
        {
            "kind": "trademark",
            "number": "第40123456号",
            "title": "智芯",
            "legal_status": "valid",
            "filing_date": "",
            "grant_date": "2021-01-07",
            "valid_from": "2021-01-07",
            "term_end": "2031-01-06",
            "nice_classes": "9，42",
            "renewal_count": "0",
            "owner_enterprise": world.enterprises["e1"].uscc,
            "owner_share": "100",
        },
    )
    assert response.status_code == 302
    right = IPRight.objects.get(number="40123456")
    assert right.nice_classes == [9, 42] and right.kind == "trademark"


def test_history_panel_shows_an_update(client, world):
    login(client, world, "park1")
    e1 = world.enterprises["e1"]
    response = client.get(reverse("registry:enterprise_edit", args=[e1.pk]))
    assert response.context["form"]["revenue"].value() == Decimal("35000000.00")
    response = client.post(
        reverse("registry:enterprise_edit", args=[e1.pk]),
        {
            "name": "北京智芯科技有限公司",
            "industry_section": "I",
            "industry_division": "65",
            "employees": "8",
            "revenue": "35000000.00",
            "total_assets": "50000000.00",
            "is_high_tech": "on",
        },
    )
    assert response.status_code == 302
    e1.refresh_from_db()
    assert e1.employees == 8 and e1.size_class == "micro"
    response = client.get(reverse("registry:enterprise_detail", args=[e1.pk]))
    entry = response.context["history"][0]
    assert entry["event"].action == "enterprise.update" and not entry["created"]
    rows = {r.label: (r.old, r.new) for r in entry["rows"]}
    assert rows["从业人员"] == ("120", "8") and rows["企业规模"] == ("中型", "微型")
    html = response.content.decode()
    assert "enterprise.update" in html and "park1_operator" in html


def test_ip_right_edit_changes_title_and_validates_number(client, world):
    login(client, world, "park1")
    r1 = world.rights["r1"]
    data = {
        "number": r1.number,
        "title": "一种低功耗图像传感芯片（改）",
        "legal_status": "valid",
        "filing_date": "2019-03-05",
        "grant_date": "2021-06-08",
        "annual_fee_paid_until": "2026-03-04",
        "main_ipc": "H01L27/146",
        "claims_count": "10",
        "forward_citations": "",
        "backward_citations": "",
        "family_size": "",
    }
    response = client.post(
        reverse("registry:ipright_edit", args=[r1.pk]),
        {**data, "number": r1.number[:-1] + "0" if r1.number[-1] != "0" else "1"},
    )
    assert "number" in response.context["form"].errors
    response = client.post(reverse("registry:ipright_edit", args=[r1.pk]), data)
    assert response.status_code == 302
    r1.refresh_from_db()
    assert r1.title.endswith("（改）") and r1.annual_fee_paid_until == datetime.date(2026, 3, 4)
    history = client.get(reverse("registry:ipright_detail", args=[r1.pk])).context["history"]
    assert history[0]["event"].action == "ip_right.update"


def test_ip_office_creates_park_in_its_jurisdiction_only(client, world):
    operator = login(client, world, "ipo_bj")
    form = client.get(reverse("registry:park_create")).context["form"]
    codes = {r.code for r in form.fields["region"].queryset}
    assert "110108" in codes and "320115" not in codes
    from ipledge.core.models import Region

    nanjing = Region.objects.get(code="320115")
    haidian = Region.objects.get(code="110108")
    data = {
        "name": "中关村软件园",
        "level": "provincial",
        "kind": "other",
        "region": nanjing.pk,
        "administering_org": "",
        "nbs_code": "",
    }
    response = client.post(reverse("registry:park_create"), data)
    assert "region" in response.context["form"].errors
    response = client.post(
        reverse("registry:park_create"), {**data, "region": haidian.pk, "administering_org": world.orgs["park1"].pk}
    )
    park = Park.objects.get(name="中关村软件园")
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="park.create", object_id=str(park.pk)).actor == operator


def test_park_admin_edits_its_park_but_not_where_it_is(client, world):
    login(client, world, "park1")
    p1 = world.parks["p1"]
    form = client.get(reverse("registry:park_edit", args=[p1.pk])).context["form"]
    assert form.fields["region"].disabled and form.fields["administering_org"].disabled
    from ipledge.core.models import Region

    response = client.post(
        reverse("registry:park_edit", args=[p1.pk]),
        {
            "name": p1.name,
            "level": "national",
            "kind": "hitech",
            "is_key_park": "on",
            "nbs_code": "110108",
            "region": Region.objects.get(code="320115").pk,
            "administering_org": world.orgs["park2"].pk,
        },
    )
    assert response.status_code == 302
    p1.refresh_from_db()
    assert p1.nbs_code == "110108" and p1.region.code == "110108" and p1.administering_org == world.orgs["park1"]


# Import


@dataclass
class FakeRowError:
    row: int
    column: str
    value: str
    rule: str
    message: str


@dataclass
class FakeResult:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def fake_importing(result: FakeResult) -> types.ModuleType:
    module = types.ModuleType("ipledge.registry.importing")
    module.import_registry_file = mock.Mock(return_value=result)  # type: ignore[attr-defined]
    module.errors_workbook = mock.Mock(return_value=b"PK-errors-workbook")  # type: ignore[attr-defined]
    module.template_workbook = mock.Mock(return_value=b"PK-template")  # type: ignore[attr-defined]
    return module


def upload(name: str = "enterprises.xlsx", content: bytes = b"PK\x03\x04data") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_import_success_shows_counts(client, world):
    user = login(client, world, "park1")
    module = fake_importing(FakeResult(kind="enterprises", rows=5, created=3, updated=1, unchanged=1))
    with mock.patch.dict(sys.modules, {"ipledge.registry.importing": module}):
        response = client.post(
            reverse("registry:import"), {"kind": "enterprises", "park": world.parks["p1"].pk, "file": upload()}
        )
    assert response.status_code == 200
    kwargs = module.import_registry_file.call_args.kwargs
    assert kwargs["kind"] == "enterprises" and kwargs["filename"] == "enterprises.xlsx"
    assert kwargs["content"] == b"PK\x03\x04data" and kwargs["acting_user"] == user
    assert kwargs["park"] == world.parks["p1"]
    html = response.content.decode()
    assert "导入完成" in html and ">3<" in html


def test_import_errors_listed_and_downloadable(client, world):
    login(client, world, "park1")
    errors = [
        FakeRowError(
            row=i + 2, column="统一社会信用代码", value=f"BAD{i}", rule="checksum", message="统一社会信用代码校验码错误"
        )
        for i in range(120)
    ]
    module = fake_importing(FakeResult(kind="ip_rights", rows=120, errors=errors))
    with mock.patch.dict(sys.modules, {"ipledge.registry.importing": module}):
        response = client.post(reverse("registry:import"), {"kind": "ip_rights", "file": upload("r.csv", b"a,b\n")})
        assert module.import_registry_file.call_args.kwargs["park"] is None
        assert len(response.context["errors"]) == 100
        html = response.content.decode()
        assert "BAD0" in html and "BAD99" in html and "BAD100" not in html and "checksum" in html
        assert "发现 120 处错误" in html
        token = response.context["error_token"]
        download = client.get(reverse("registry:import_errors", args=[token]))
        assert download.status_code == 200 and download.content == b"PK-errors-workbook"
        assert "spreadsheetml" in download["Content-Type"]
        assert client.get(reverse("registry:import_errors", args=["wrong-token"])).status_code == 404
        template = client.get(reverse("registry:import_template", args=["enterprises"]))
        assert template.content == b"PK-template"


def test_import_form_checks_extension_and_park(client, world):
    login(client, world, "park1")
    module = fake_importing(FakeResult(kind="enterprises"))
    with mock.patch.dict(sys.modules, {"ipledge.registry.importing": module}):
        response = client.post(
            reverse("registry:import"),
            {"kind": "enterprises", "park": world.parks["p1"].pk, "file": upload("data.txt")},
        )
        assert "file" in response.context["form"].errors
        response = client.post(reverse("registry:import"), {"kind": "enterprises", "file": upload()})
        assert "park" in response.context["form"].errors
        response = client.post(
            reverse("registry:import"), {"kind": "enterprises", "park": world.parks["p2"].pk, "file": upload()}
        )
        assert "park" in response.context["form"].errors
    module.import_registry_file.assert_not_called()


def test_enterprise_user_imports_only_ip_rights(client, world):
    login(client, world, "ent1")
    form = client.get(reverse("registry:import")).context["form"]
    assert [value for value, _ in form.fields["kind"].choices] == ["ip_rights"]
    assert client.get(reverse("registry:import_template", args=["enterprises"])).status_code == 404


def test_import_with_the_real_importer(client, world):
    """End to end with `ipledge.registry.importing`: a bad row blocks the whole file; a good file is written."""
    login(client, world, "park1")
    good = make_uscc(region_code="110108", serial=8080)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    header = "统一社会信用代码,企业名称,行业门类\n"
    csv_bad = (header + f"{good},导入测试甲,C\n{bad},导入测试乙,C\n").encode()
    response = client.post(
        reverse("registry:import"),
        {"kind": "enterprises", "park": world.parks["p1"].pk, "file": upload("e.csv", csv_bad)},
    )
    assert response.status_code == 200
    assert response.context["result"].ok is False
    assert bad in response.content.decode()
    assert not Enterprise.objects.filter(name__startswith="导入测试").exists()
    download = client.get(reverse("registry:import_errors", args=[response.context["error_token"]]))
    assert download.content[:2] == b"PK"

    response = client.post(
        reverse("registry:import"),
        {
            "kind": "enterprises",
            "park": world.parks["p1"].pk,
            "file": upload("e.csv", (header + f"{good},导入测试甲,C\n").encode()),
        },
    )
    assert response.context["result"].ok and response.context["result"].created == 1
    assert Enterprise.objects.get(uscc=good).parks.get() == world.parks["p1"]
    template = client.get(reverse("registry:import_template", args=["ip_rights"]))
    assert template.status_code == 200 and template.content[:2] == b"PK"
