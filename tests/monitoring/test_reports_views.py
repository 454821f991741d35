"""Measures and reports pages and API: lists scoped to the caller, create / edit / delete through the services with
errors next to the field (pages) or in the one error shape (API), report generation from the page, the API and the
CLI, the figures page, and downloads that answer 404 outside the caller's region."""

from __future__ import annotations

import io
import json
from typing import Any

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.monitoring.models import GeneratedReport, MeasureEntry
from tests.api_helpers import assert_error, get, key_client, make_key, send, session_client
from tests.monitoring.factories_reports import add_reports
from tests.world import World

pytestmark = pytest.mark.django_db


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content.decode()[:2000])
    return response.json()


def test_measure_pages(world: World) -> None:
    add_reports(world)
    m = world.__dict__["measures"]
    office = session_client(world.user("ipo_js"))
    page = office.get(reverse("monitoring:measures"))
    assert page.status_code == 200
    html = page.content.decode()
    assert m["nj"].title in html and m["p2"].title in html and m["bj"].title not in html
    assert reverse("monitoring:measure_create") in html
    assert office.get(reverse("monitoring:measure_detail", args=[m["bj"].pk])).status_code == 404
    assert office.get(reverse("monitoring:measure_detail", args=[m["nj"].pk])).status_code == 200
    # A bank sees public measures only and may not create.
    bank = session_client(world.user("bank1"))
    assert bank.get(reverse("monitoring:measure_create")).status_code == 404
    assert bank.get(reverse("monitoring:measure_detail", args=[m["p2"].pk])).status_code == 200
    assert bank.get(reverse("monitoring:measure_edit", args=[m["p2"].pk])).status_code == 404

    form = {
        "region": world.orgs["ipo_js"].region_id,
        "category": "policy",
        "title": "江苏省实施意见",
        "issuing_body": "江苏省知识产权局",
        "started_on": "2025-06-01",
        "ended_on": "2025-05-01",
        "status": "ongoing",
        "description": "目标任务",
    }
    bad = office.post(reverse("monitoring:measure_create"), form)
    assert bad.status_code == 200 and "截止日期不能早于实施日期" in bad.content.decode()
    assert not MeasureEntry.objects.filter(title="江苏省实施意见").exists()
    created = office.post(reverse("monitoring:measure_create"), {**form, "ended_on": ""})
    measure = MeasureEntry.objects.get(title="江苏省实施意见")
    assert created.status_code == 302 and created["Location"] == reverse("monitoring:measure_detail", args=[measure.pk])
    edited = office.post(
        reverse("monitoring:measure_edit", args=[measure.pk]), {**form, "ended_on": "", "results": "成效"}
    )
    assert edited.status_code == 302
    measure.refresh_from_db()
    assert measure.results == "成效"
    # A park's measure sits in a county the office's region list does not offer: its own region stays selected.
    county_form = office.get(reverse("monitoring:measure_edit", args=[m["p2"].pk])).content.decode()
    assert f'<option value="{m["p2"].region_id}" selected>' in county_form
    admin = session_client(world.user("ipo_js", Role.ADMIN))
    detail = admin.get(reverse("monitoring:measure_detail", args=[measure.pk])).content.decode()
    assert "data-confirm" in detail and reverse("monitoring:measure_delete", args=[measure.pk]) in detail
    assert office.get(reverse("monitoring:measure_delete", args=[measure.pk])).status_code == 405
    assert (
        session_client(world.user("ipo_bj", Role.ADMIN))
        .post(reverse("monitoring:measure_delete", args=[measure.pk]))
        .status_code
        == 404
    )
    assert admin.post(reverse("monitoring:measure_delete", args=[measure.pk])).status_code == 302
    assert not MeasureEntry.objects.filter(pk=measure.pk).exists()


def test_report_pages_generate_show_figures_and_download(world: World) -> None:
    add_reports(world)
    reports = world.__dict__["reports"]
    office = session_client(world.user("ipo_js"))
    listing = office.get(reverse("monitoring:reports")).content.decode()
    assert reports["js"].title in listing and reports["bj"].title not in listing
    assert reverse("monitoring:report_create") in listing
    assert office.get(reverse("monitoring:report_detail", args=[reports["bj"].pk])).status_code == 404
    assert office.get(reverse("monitoring:report_download", args=[reports["bj"].pk])).status_code == 404

    missing_quarter = office.post(
        reverse("monitoring:report_create"),
        {"kind": "quarterly_summary", "region": world.orgs["ipo_js"].region_id, "year": 2025},
    )
    assert missing_quarter.status_code == 400 and "须选择季度" in missing_quarter.content.decode()
    made = office.post(
        reverse("monitoring:report_create"),
        {"kind": "measures_table", "region": world.orgs["ipo_js"].region_id, "year": 2025},
    )
    report = GeneratedReport.objects.latest("pk")
    assert made.status_code == 302 and made["Location"] == reverse("monitoring:report_detail", args=[report.pk])
    detail = office.get(made["Location"]).content.decode()
    assert "measures.total" in detail and "SELECT COUNT(*)" in detail
    download = office.get(reverse("monitoring:report_download", args=[report.pk]))
    assert download.status_code == 200 and download["Content-Type"] == report.content_type
    assert "attachment" in download["Content-Disposition"]
    assert openpyxl.load_workbook(io.BytesIO(download.content)).sheetnames[0] == "工作措施一览表"
    # Park administrations and banks neither see nor generate reports.
    for key in ("park2", "bank2"):
        client = session_client(world.user(key))
        assert client.get(reverse("monitoring:report_create")).status_code == 404
        assert client.get(reverse("monitoring:report_detail", args=[report.pk])).status_code == 404
        assert report.title not in client.get(reverse("monitoring:reports")).content.decode()


def test_measures_api(world: World) -> None:
    add_reports(world)
    m = world.__dict__["measures"]
    park = session_client(world.user("park2"))
    body = {
        "park_id": world.parks["p2"].pk,
        "category": "guarantee",
        "title": "园区担保",
        "issuing_body": "南京江宁高新区管委会",
        "started_on": "2025-02-01",
        "description": "担保费补贴",
        "is_public": True,
    }
    created = ok(send(park, "post", "/monitoring/measures", body), 201)
    assert created["region"]["code"] == "320115" and created["owner_org"]["id"] == world.orgs["park2"].pk
    assert_error(
        send(park, "post", "/monitoring/measures", {**body, "park_id": world.parks["p1"].pk}),
        400,
        field="park_id",
        rule="not_own_park",
    )
    assert_error(
        send(park, "post", "/monitoring/measures", {**body, "ended_on": "2025-01-01"}),
        400,
        field="ended_on",
        rule="before_start",
    )
    assert_error(
        send(park, "post", "/monitoring/measures", {**body, "region_code": "999999"}),
        400,
        field="region_code",
        rule="not_found",
    )
    assert_error(send(park, "post", "/monitoring/measures", {**body, "extra": 1}), 422)
    assert_error(send(session_client(world.user("bank2")), "post", "/monitoring/measures", body), 403)
    mid = created["id"]
    patched = ok(send(park, "patch", f"/monitoring/measures/{mid}", {"results": "新增担保贷款", "document_no": None}))
    assert patched["results"] == "新增担保贷款" and patched["document_no"] == ""
    assert_error(
        send(park, "patch", f"/monitoring/measures/{mid}", {"title": None}), 400, field="title", rule="required"
    )
    assert_error(
        send(session_client(world.user("park1")), "patch", f"/monitoring/measures/{m['nj'].pk}", {"title": "x"}), 404
    )
    listed = [item["id"] for item in ok(get(session_client(world.user("ipo_bj")), "/monitoring/measures"))["items"]]
    assert set(listed) == {m["bj"].pk, m["p2"].pk, mid}
    only_subsidy = ok(get(session_client(world.user("cnipa")), "/monitoring/measures", {"category": "subsidy"}))[
        "items"
    ]
    assert [item["id"] for item in only_subsidy] == [m["nj"].pk]
    assert_error(get(session_client(world.user("ipo_bj")), f"/monitoring/measures/{m['nj'].pk}"), 404)
    assert_error(send(park, "delete", f"/monitoring/measures/{mid}"), 403)  # an operator has no delete right
    assert (
        send(session_client(world.user("park2", Role.ADMIN)), "delete", f"/monitoring/measures/{mid}").status_code
        == 204
    )
    assert not MeasureEntry.objects.filter(pk=mid).exists()


def test_reports_api_with_a_key(world: World) -> None:
    add_reports(world)
    reports = world.__dict__["reports"]
    _, secret = make_key(world.user("ipo_js", Role.ADMIN))
    client = key_client(secret)
    listed = ok(get(client, "/monitoring/reports"))["items"]
    assert [item["id"] for item in listed] == [reports["js"].pk]
    assert_error(get(client, f"/monitoring/reports/{reports['bj'].pk}"), 404)
    assert_error(
        send(
            client, "post", "/monitoring/reports", {"kind": "quarterly_summary", "region_code": "320000", "year": 2025}
        ),
        400,
        field="quarter",
        rule="required",
    )
    assert_error(
        send(client, "post", "/monitoring/reports", {"kind": "measures_table", "region_code": "110000", "year": 2025}),
        400,
        field="region_code",
        rule="out_of_region",
    )
    created = ok(
        send(client, "post", "/monitoring/reports", {"kind": "measures_table", "region_code": "320100", "year": 2025}),
        201,
    )
    assert created["region"]["code"] == "320100" and created["figure_count"] == len(created["figures"]) > 0
    assert all(f["query"] for f in created["figures"])
    report = GeneratedReport.objects.get(pk=created["id"])
    assert report.created_by is None and report.created_by_org == world.orgs["ipo_js"]  # a key is no user
    detail = ok(get(client, f"/monitoring/reports/{created['id']}"))
    assert detail["figures"] == created["figures"]
    download = get(client, f"/monitoring/reports/{created['id']}/download")
    assert download.status_code == 200 and download.content.startswith(b"PK")
    assert_error(get(client, f"/monitoring/reports/{reports['bj'].pk}/download"), 404)
    assert_error(
        send(
            session_client(world.user("park2")),
            "post",
            "/monitoring/reports",
            {"kind": "measures_table", "region_code": "320000", "year": 2025},
        ),
        403,
    )
    assert_error(get(session_client(world.user("bank1")), "/monitoring/reports"), 403)


def test_cli_report(world: World, tmp_path: Any) -> None:
    out = io.StringIO()
    target = tmp_path / "summary.xlsx"
    call_command(
        "monitoring",
        "report",
        "--kind",
        "measures_table",
        "--region",
        "320000",
        "--year",
        "2025",
        "--out",
        str(target),
        "--json",
        stdout=out,
    )
    result = json.loads(out.getvalue())
    report = GeneratedReport.objects.get(pk=result["id"])
    assert report.region_code == "320000" and report.created_by is None and result["figures"] == len(report.figures)
    assert target.read_bytes().startswith(b"PK") and target.stat().st_size == report.size
