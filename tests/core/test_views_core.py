"""Core pages: login, dashboards per organisation kind, navigation, audit log, API keys, users, i18n, errors."""

from __future__ import annotations

import json
import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from ipledge.core.models import ApiKey, AuditEvent, User
from ipledge.core.services import api_key_create

pytestmark = pytest.mark.django_db


def login(client, world, org: str, role: str = "operator") -> User:
    user = world.user(org, role)
    client.force_login(user)
    return user


def nav_labels(response) -> list[str]:
    return [str(item.label) for section in response.context["nav"] for item in section.items]


# Login, logout


def test_login_page_renders_in_chinese(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "登录" in html and 'name="username"' in html and "csrfmiddlewaretoken" in html
    assert 'lang="zh-hans"' in html


def test_login_with_password_lands_on_dashboard(client, world):
    response = client.post(reverse("login"), {"username": "park1_operator", "password": "pass-park1"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("dashboard")
    assert "中关村科技园区海淀园管委会" in response.content.decode()


def test_wrong_password_shows_error(client, world):
    response = client.post(reverse("login"), {"username": "park1_operator", "password": "nope"})
    assert response.status_code == 200
    assert "alert-danger" in response.content.decode()


def test_anonymous_at_the_root_lands_on_the_public_portal(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("account"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_logout_is_a_post(client, world):
    login(client, world, "park1")
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


# Dashboards


@pytest.mark.parametrize(
    ("org", "role", "template"),
    [
        ("park1", "operator", "core/dashboard_park.html"),
        ("park1", "viewer", "core/dashboard_park.html"),
        ("ipo_bj", "viewer", "core/dashboard_government.html"),
        ("ipo_nj", "admin", "core/dashboard_government.html"),
        ("reg_bj", "viewer", "core/dashboard_government.html"),
        ("ndrc_bj", "reviewer", "core/dashboard_government.html"),
        ("cnipa", "viewer", "core/dashboard_government.html"),
        ("ent1", "operator", "core/dashboard_enterprise.html"),
        ("bank1", "admin", "core/dashboard_organisation.html"),
        ("bank1_sub", "viewer", "core/dashboard_organisation.html"),
        ("insurer", "operator", "core/dashboard_organisation.html"),
        ("exchange", "viewer", "core/dashboard_organisation.html"),
    ],
)
def test_dashboard_renders_per_organisation_kind(client, world, org, role, template):
    login(client, world, org, role)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert template in [t.name for t in response.templates]
    html = response.content.decode()
    assert world.orgs[org].name in html  # the top bar names the organisation
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


def test_government_dashboard_counts_its_region_only(client, world):
    login(client, world, "ipo_bj", "viewer")
    bj = client.get(reverse("dashboard")).context
    assert bj["park_count"] == 1 and bj["enterprise_count"] == 2 and bj["right_count"] == 2
    assert bj["jurisdiction"] == "北京市"
    assert not bj["national"]
    login(client, world, "ipo_js", "viewer")
    js = client.get(reverse("dashboard")).context
    assert js["park_count"] == 1 and js["enterprise_count"] == 1 and js["right_count"] == 1


def test_national_dashboard_has_china_map_data(client, world):
    login(client, world, "cnipa", "viewer")
    response = client.get(reverse("dashboard"))
    html = response.content.decode()
    assert 'data-chart="china-map"' in html and "vendor/echarts/china.json" in html
    assert "ipledge/dashboard.js" in html and "<script>" not in html  # no inline scripts (strict CSP later)
    payload = json.loads(re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', html)[1])
    provinces = {d["code"]: d["value"] for d in payload["provinces"]["data"]}
    assert provinces == {"110000": 2, "320000": 1}
    assert payload["rights_by_kind"]["values"] == [2, 1, 0, 0]


def test_regulator_dashboard_says_enterprises_are_not_visible(client, world):
    login(client, world, "reg_bj", "viewer")
    response = client.get(reverse("dashboard"))
    assert response.context["can_see_enterprises"] is False
    assert "本机构不查看企业明细" in response.content.decode()


def test_park_dashboard_lists_its_parks_and_expiring_rights(client, world):
    login(client, world, "park1")
    context = client.get(reverse("dashboard")).context
    assert [p.name for p in context["parks"]] == ["中关村科技园区海淀园"]
    assert context["enterprise_count"] == 2
    assert {r["value"]: r["count"] for r in context["sizes"]}["medium"] == 1
    assert {r["value"]: r["count"] for r in context["rights_by_kind"]} == {
        "patent": 1,
        "trademark": 1,
        "copyright": 0,
        "ic_layout": 0,
    }


def test_enterprise_dashboard_shows_profile_rights_and_warnings(client, world):
    from ipledge.registry.models import IPRight

    IPRight.objects.filter(pk=world.rights["r1"].pk).update(legal_status="lapsed")
    login(client, world, "ent1")
    response = client.get(reverse("dashboard"))
    context = response.context
    assert context["profile"] == world.enterprises["e1"]
    assert [r.pk for r in context["rights"]] == [world.rights["r1"].pk]
    assert context["warnings"][0]["level"] == "danger"
    assert "未缴年费终止" in response.content.decode()


def test_bank_dashboard_shows_its_tree_and_coming_modules(client, world):
    login(client, world, "bank1", "admin")
    response = client.get(reverse("dashboard"))
    html = response.content.decode()
    assert "北京银行中关村科技支行" in html and "北京银行南京分行" in html
    assert "江苏银行" not in html
    assert "即将上线的功能" in html and "贷款登记、还款与风险分类" in html
    assert len(response.context["users"]) == 16  # 4 banks of the tree × 4 roles


# Navigation


def test_navigation_follows_role_and_organisation_kind(client, world):
    login(client, world, "park1")
    labels = nav_labels(client.get(reverse("dashboard")))
    assert {"工作台", "园区", "企业", "知识产权", "批量导入"} <= set(labels)
    assert "审计日志" not in labels and "API 密钥" not in labels

    login(client, world, "bank1", "admin")
    labels = nav_labels(client.get(reverse("dashboard")))
    assert {"审计日志", "用户", "API 密钥", "园区"} <= set(labels)
    # A bank reads its customers' registry records (borrowers and pledgors) but imports nothing.
    assert {"企业", "知识产权"} <= set(labels) and "批量导入" not in labels

    login(client, world, "ipo_bj", "viewer")
    labels = nav_labels(client.get(reverse("dashboard")))
    assert "批量导入" not in labels and "审计日志" not in labels

    login(client, world, "ipo_bj", "reviewer")
    assert "审计日志" in nav_labels(client.get(reverse("dashboard")))


def test_active_nav_entry_follows_the_page(client, world):
    login(client, world, "park1")
    response = client.get(reverse("registry:enterprise_detail", args=[world.enterprises["e1"].pk]))
    active = [str(i.label) for s in response.context["nav"] for i in s.items if i.active]
    assert active == ["企业"]


# Audit log


def test_audit_log_visible_to_admin_and_filterable(client, world):
    admin = login(client, world, "park1", "admin")
    client.force_login(world.user("park1"))
    client.post(
        reverse("registry:enterprise_edit", args=[world.enterprises["e1"].pk]),
        {
            "name": "北京智芯科技有限公司",
            "industry_section": "I",
            "industry_division": "65",
            "employees": "121",
            "revenue": "35000000.00",
            "total_assets": "50000000.00",
            "is_high_tech": "on",
        },
    )
    client.force_login(admin)
    response = client.get(reverse("audit_log"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "enterprise.update" in html and "park1_operator" in html
    response = client.get(reverse("audit_log"), {"action": "api_key", "object_type": "", "actor": ""})
    assert "enterprise.update" not in response.content.decode()
    response = client.get(reverse("audit_log"), {"object_type": "registry.enterprise", "actor": "park1_op"})
    assert "enterprise.update" in response.content.decode()


def test_audit_log_is_404_for_viewers_and_other_kinds(client, world):
    for org, role in [("bank1", "viewer"), ("park1", "operator"), ("ipo_bj", "viewer"), ("ent1", "viewer")]:
        login(client, world, org, role)
        assert client.get(reverse("audit_log")).status_code == 404, (org, role)


def test_audit_log_shows_only_own_organisations_events(client, world):
    login(client, world, "bank2", "admin")
    api_key_create(organisation=world.orgs["bank1"], name="b1", role="viewer", acting_user=world.user("bank1", "admin"))
    response = client.get(reverse("audit_log"))
    assert response.status_code == 200
    assert "api_key.create" not in response.content.decode()


# API keys


def test_api_key_created_shown_once_and_revoked(client, world):
    admin = login(client, world, "bank1", "admin")
    response = client.post(reverse("api_keys"), {"name": "信易贷对接", "role": "viewer", "expires_on": ""})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["secret"]
    assert secret.startswith("ipk_") and secret in response.content.decode()
    assert "只显示这一次" in response.content.decode()
    key = ApiKey.objects.get(name="信易贷对接")
    assert key.organisation == world.orgs["bank1"] and key.created_by == admin
    assert secret not in key.key_hash

    listing = client.get(reverse("api_keys")).content.decode()
    assert "信易贷对接" in listing and secret not in listing

    response = client.post(reverse("api_key_revoke", args=[key.pk]), follow=True)
    assert response.status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEvent.objects.filter(action="api_key.revoke", object_id=str(key.pk)).exists()
    assert "已吊销" in response.content.decode()


def test_api_key_form_errors_and_scoping(client, world):
    login(client, world, "bank1", "admin")
    response = client.post(reverse("api_keys"), {"name": "", "role": "viewer", "expires_on": "2000-01-01"})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"name", "expires_on"}
    assert not ApiKey.objects.exists()

    other, _ = api_key_create(
        organisation=world.orgs["bank2"], name="bank2 key", role="viewer", acting_user=world.user("bank2", "admin")
    )
    assert client.post(reverse("api_key_revoke", args=[other.pk])).status_code == 404
    assert "bank2 key" not in client.get(reverse("api_keys")).content.decode()
    login(client, world, "bank1", "operator")
    assert client.get(reverse("api_keys")).status_code == 404


# Users


def test_users_page_lists_the_admins_tree(client, world):
    login(client, world, "bank1", "admin")
    response = client.get(reverse("users"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "bank1_sub_viewer" in html and "bank2_admin" not in html
    login(client, world, "bank1", "reviewer")
    assert client.get(reverse("users")).status_code == 404
    assert client.get(reverse("user_create")).status_code == 404


def test_admin_creates_user_with_generated_password(client, world):
    login(client, world, "park1", "admin")
    response = client.post(
        reverse("user_create"),
        {
            "username": "park1_new",
            "display_name": "张三",
            "email": "",
            "organisation": world.orgs["park1"].pk,
            "role": "operator",
            "password": "",
        },
    )
    assert response.status_code == 200
    password = response.context["password"]
    assert password and password in response.content.decode()
    created = User.objects.get(username="park1_new")
    assert created.check_password(password) and created.organisation == world.orgs["park1"]
    assert AuditEvent.objects.filter(action="user.create", object_id=str(created.pk)).exists()


def test_user_create_refuses_other_organisations_and_duplicates(client, world):
    login(client, world, "park1", "admin")
    response = client.post(
        reverse("user_create"),
        {"username": "x_user", "organisation": world.orgs["park2"].pk, "role": "viewer", "password": ""},
    )
    assert "organisation" in response.context["form"].errors
    response = client.post(
        reverse("user_create"),
        {
            "username": "park1_viewer",
            "organisation": world.orgs["park1"].pk,
            "role": "viewer",
            "password": "a-long-enough-password-42",
        },
    )
    assert "username" in response.context["form"].errors
    assert not User.objects.filter(username="x_user").exists()


# Language, errors


def test_language_switch_to_english_changes_the_nav(client, world):
    login(client, world, "park1")
    assert "工作台" in client.get(reverse("dashboard")).content.decode()
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"}, follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Dashboard" in html and "Enterprises" in html and "IP rights" in html and "Log out" in html
    assert "工作台" not in html
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"}, follow=True)
    assert "工作台" in response.content.decode()


def test_language_switch_works_on_the_login_page(client):
    response = client.post(reverse("set_language_public"), {"language": "en", "next": "/login/"}, follow=True)
    assert response.status_code == 200
    assert "Log in" in response.content.decode()


def test_404_page_is_chinese_and_extends_base(client, world):
    login(client, world, "park1")
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "页面不存在" in html and "bootstrap.min.css" in html and "工作台" in html


def test_500_page_renders_without_request_or_context_processors():
    html = render_to_string("500.html")
    assert "服务器错误" in html and "bootstrap.min.css" in html


def test_403_page_renders():
    assert "无权访问" in render_to_string("403.html")
