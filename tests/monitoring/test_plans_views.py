"""Plans pages and API: the IP office drafts, issues and fills the ledger; the owner reports progress with evidence
and downloads it; the ledger xlsx opens; reminders and key parks render; another province answers 404; the API
does the same with its errors naming field and rule."""

from __future__ import annotations

import datetime
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.monitoring.choices import PlanStatus, TaskStatus
from ipledge.monitoring.models import KeyParkDesignation, PlanTask, ProvincialPlan, Reminder
from ipledge.monitoring.services import plans as services
from tests.api_helpers import assert_error, get, send, session_client
from tests.monitoring.factories_plans import DAY, add_plans
from tests.world import PDF_BYTES, World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today():  # type: ignore[no-untyped-def]
    with as_of(DAY):
        yield


def test_ip_office_drafts_issues_and_fills_the_ledger(world: World) -> None:
    client = session_client(world.user("ipo_bj"))
    assert client.get(reverse("monitoring:plans")).status_code == 200
    page = client.get(reverse("monitoring:plan_create"))
    assert page.status_code == 200
    bad = client.post(
        reverse("monitoring:plan_create"), {"region": "", "title": "", "year_from": 2026, "year_to": 2025}
    )
    assert bad.status_code == 200 and bad.context["form"].errors
    created = client.post(
        reverse("monitoring:plan_create"),
        {"region": world.orgs["ipo_bj"].region_id, "title": "北京方案", "year_from": 2026, "year_to": 2028},
    )
    plan = ProvincialPlan.objects.get(title="北京方案")
    assert created.status_code == 302 and created["Location"] == reverse("monitoring:plan_detail", args=[plan.pk])
    issued = client.post(reverse("monitoring:plan_issue", args=[plan.pk]), {"day": "2026-02-27", "version": 1})
    assert issued.status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ISSUED and plan.submission_due_on == datetime.date(2026, 3, 9)
    task_url = reverse("monitoring:task_create", args=[plan.pk])
    assert client.get(task_url).status_code == 200
    added = client.post(
        task_url, {"form": "task", "title": "银企对接", "owner_org": world.orgs["park1"].pk, "due_on": "2026-03-01"}
    )
    assert added.status_code == 302
    task = PlanTask.objects.get(plan=plan)
    detail = client.get(reverse("monitoring:plan_detail", args=[plan.pk]))
    assert detail.status_code == 200 and "task-overdue" in detail.content.decode()
    book = client.get(reverse("monitoring:plan_ledger_xlsx", args=[plan.pk]))
    assert book.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None and sheet["B5"].value == "银企对接" and sheet["J5"].value == "是"
    # Another province's office and a city office below it get 404, a bank may never create.
    assert (
        session_client(world.user("ipo_js")).get(reverse("monitoring:plan_detail", args=[plan.pk])).status_code == 404
    )
    assert session_client(world.user("bank1")).get(reverse("monitoring:plan_create")).status_code == 404
    assert (
        session_client(world.user("park1")).post(
            reverse("monitoring:plan_issue", args=[plan.pk]), {"day": "2026-03-01"}
        )
    ).status_code == 404
    # Submitting: recorded on the page.
    client.post(reverse("monitoring:plan_submit", args=[plan.pk]), {"day": "2026-03-02"})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUBMITTED and task.number == 1


def test_owner_reports_progress_with_evidence(world: World) -> None:
    add_plans(world)
    task = PlanTask.objects.get(title="园区银企对接")
    other = PlanTask.objects.get(title="推出专属产品")
    owner = session_client(world.user("park1"))
    page = owner.get(reverse("monitoring:task_edit", args=[task.pk]))
    assert page.status_code == 200 and page.context["form"] is None  # progress only: no task redefinition
    assert owner.get(reverse("monitoring:task_edit", args=[other.pk])).status_code == 404
    response = owner.post(
        reverse("monitoring:task_edit", args=[task.pk]),
        {
            "form": "progress",
            "status": TaskStatus.DONE,
            "progress": 100,
            "evidence": "已举办4场",
            "file": SimpleUploadedFile("纪要.pdf", PDF_BYTES, content_type="application/pdf"),
            "version": task.version,
        },
    )
    assert response.status_code == 302, response.context and response.context["progress_form"].errors
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.evidence_file_name == "纪要.pdf"
    download = owner.get(reverse("monitoring:task_evidence", args=[task.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF_BYTES
    assert "attachment" in download["Content-Disposition"]
    assert (
        session_client(world.user("park2")).get(reverse("monitoring:task_evidence", args=[task.pk])).status_code == 404
    )
    # The task-owner's moving attempt is refused (403), the office's works.
    assert owner.post(reverse("monitoring:task_move", args=[task.pk]), {"direction": "down"}).status_code == 403
    office = session_client(world.user("ipo_bj"))
    assert office.post(reverse("monitoring:task_move", args=[task.pk]), {"direction": "down"}).status_code == 302
    assert PlanTask.objects.get(pk=task.pk).number == 2
    # Reminders page and key parks page.
    reminders = office.get(reverse("monitoring:reminders"))
    assert (
        reminders.status_code == 200
        and "北京市2026年有效的重点/示范园区1个，至少须3个，还差2个" in reminders.content.decode()
    )
    parks = office.get(reverse("monitoring:key_parks") + "?year=2026&province=110000")
    body = parks.content.decode()
    assert parks.status_code == 200 and "还差 2 个" in body
    assert office.get(reverse("monitoring:designation_create")).status_code == 200
    assert owner.get(reverse("monitoring:designation_create")).status_code == 404
    designation = KeyParkDesignation.objects.get(park=world.parks["p1"])
    assert (
        session_client(world.user("ipo_js"))
        .post(reverse("monitoring:designation_revoke", args=[designation.pk]), {"reason": "x"})
        .status_code
        == 404
    )
    office.post(reverse("monitoring:designation_revoke", args=[designation.pk]), {"reason": "撤销测试"})
    assert KeyParkDesignation.objects.get(pk=designation.pk).status == "revoked"


def test_api_plans_tasks_reminders_and_key_parks(world: World) -> None:
    office = session_client(world.user("ipo_js"))
    bad = send(
        office,
        "post",
        "/monitoring/plans",
        {"region_code": "320000", "title": "江苏", "year_from": 2027, "year_to": 2026},
    )
    assert_error(bad, 400, field="year_to")
    wrong = send(
        office, "post", "/monitoring/plans", {"region_code": "110000", "title": "x", "year_from": 2026, "year_to": 2026}
    )
    assert_error(wrong, 403)
    made = send(
        office,
        "post",
        "/monitoring/plans",
        {"region_code": "320000", "title": "江苏", "year_from": 2026, "year_to": 2028},
    )
    assert made.status_code == 201, made.content
    plan_id = made.json()["id"]
    assert made.json()["region_code"] == "320000" and made.json()["tasks"] == []
    issued = send(office, "post", f"/monitoring/plans/{plan_id}/issue", {"day": "2026-02-25"})
    assert issued.status_code == 200 and issued.json()["submission_due_on"] == "2026-03-07"
    assert_error(send(office, "post", f"/monitoring/plans/{plan_id}/issue", {}), 400, field="status", rule="not_draft")
    no_owner = send(office, "post", f"/monitoring/plans/{plan_id}/tasks", {"title": "t", "due_on": "2026-03-05"})
    assert_error(no_owner, 400, field="owner_org_id", rule="owner_required")
    task = send(
        office,
        "post",
        f"/monitoring/plans/{plan_id}/tasks",
        {"title": "园区服务站", "due_on": "2026-03-01", "owner_org_id": world.orgs["park2"].pk},
    )
    assert task.status_code == 201 and task.json()["is_overdue"] is True and task.json()["number"] == 1
    task_id = task.json()["id"]
    park2 = session_client(world.user("park2"))
    assert_error(send(park2, "put", f"/monitoring/tasks/{task_id}", {"title": "改"}), 403)
    progress = send(park2, "post", f"/monitoring/tasks/{task_id}/progress", {"status": "in_progress", "progress": 50})
    assert progress.status_code == 200 and progress.json()["progress"] == 50
    assert_error(
        send(
            park2,
            "post",
            f"/monitoring/tasks/{task_id}/progress",
            {"status": "in_progress", "progress": 50, "version": 1},
        ),
        400,
        field="version",
        rule="stale_version",
    )
    assert get(park2, f"/monitoring/plans/{plan_id}").json()["tasks"][0]["id"] == task_id
    assert_error(get(park2, f"/monitoring/tasks/{task_id}/evidence"), 404)
    upload = park2.post(
        f"/api/v1/monitoring/tasks/{task_id}/evidence",
        {"file": SimpleUploadedFile("照片.png", b"not really a png", content_type="image/png")},
    )
    assert_error(upload, 400, field="file", rule="content_mismatch")
    upload = park2.post(
        f"/api/v1/monitoring/tasks/{task_id}/evidence",
        {"file": SimpleUploadedFile("纪要.pdf", PDF_BYTES, content_type="application/pdf")},
    )
    assert upload.status_code == 200 and upload.json()["evidence_file_name"] == "纪要.pdf"
    fetched = get(park2, f"/monitoring/tasks/{task_id}/evidence")
    assert fetched.status_code == 200 and fetched.content == PDF_BYTES and fetched["Content-Type"] == "application/pdf"
    outsider = session_client(world.user("ipo_bj"))
    assert_error(get(outsider, f"/monitoring/plans/{plan_id}"), 404)
    assert_error(get(outsider, f"/monitoring/tasks/{task_id}"), 404)
    assert get(outsider, "/monitoring/plans").json()["items"] == []
    services.reminders_run(today=DAY)
    listed = get(park2, "/monitoring/reminders").json()
    assert {r["kind"] for r in listed["items"]} == {"task_overdue"}
    assert Reminder.objects.filter(resolved_on__isnull=True).count() >= 3  # plus submission and key parks
    designated = send(office, "post", "/monitoring/designations", {"park_id": world.parks["p2"].pk, "year": 2026})
    assert designated.status_code == 201 and designated.json()["status"] == "active"
    again = send(office, "post", "/monitoring/designations", {"park_id": world.parks["p2"].pk, "year": 2026})
    assert_error(again, 409, field="year", rule="unique")
    assert_error(
        send(outsider, "post", "/monitoring/designations", {"park_id": world.parks["p2"].pk, "year": 2026}), 403
    )
    check = get(office, "/monitoring/key-parks/check", {"year": 2026, "province": "320000"}).json()
    assert [(c["province_code"], c["active"], c["missing"], c["meets"]) for c in check] == [("320000", 1, 2, False)]
    assert check[0]["parks"][0]["park_id"] == world.parks["p2"].pk
    revoked = send(office, "post", f"/monitoring/designations/{designated.json()['id']}/revoke", {"reason": "测试"})
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert len(get(world and session_client(world.user("bank2")), "/monitoring/designations").json()["items"]) == 1
    assert world.user("ipo_js", Role.VIEWER)  # viewers read but never write:
    viewer = session_client(world.user("ipo_js", Role.VIEWER))
    assert_error(send(viewer, "post", f"/monitoring/plans/{plan_id}/submit", {}), 403)


OBJECT_ROUTES = {
    "monitoring:plan_detail": (ProvincialPlan, "view"),
    "monitoring:plan_edit": (ProvincialPlan, "change"),
    "monitoring:plan_ledger_xlsx": (ProvincialPlan, "view"),
    "monitoring:task_create": (ProvincialPlan, "change"),
    "monitoring:task_edit": (PlanTask, "change"),
}
POST_ROUTES = {
    "monitoring:plan_issue": (ProvincialPlan, "change"),
    "monitoring:plan_submit": (ProvincialPlan, "change"),
    "monitoring:task_move": (PlanTask, "change"),
    "monitoring:designation_revoke": (KeyParkDesignation, "change"),
}


def test_routes_answer_by_scope(world: World) -> None:
    """What the endpoint matrix checks, on this area's routes: 200 exactly inside `restrict(user, action)`, else 404;
    posts outside it answer 403/404; create pages 404 for those who may never create; lists stay in scope."""
    add_plans(world)
    failures = []
    for key, role in (
        ("ipo_bj", Role.OPERATOR),
        ("ipo_js", Role.VIEWER),
        ("ipo_nj", Role.OPERATOR),
        ("park1", Role.OPERATOR),
        ("bank1", Role.ADMIN),
        ("reg_bj", Role.VIEWER),
        ("ent1", Role.OPERATOR),
    ):
        user = world.user(key, role)
        client = session_client(user)
        for name, (model, action) in OBJECT_ROUTES.items():
            allowed = set(model.objects.restrict(user, action).values_list("pk", flat=True))  # type: ignore[attr-defined]
            for pk in model.objects.values_list("pk", flat=True):  # type: ignore[attr-defined]
                status = client.get(reverse(name, args=[pk])).status_code
                if status != (200 if pk in allowed else 404):
                    failures.append(f"{key}_{role} {name}({pk}) -> {status}")
        for name, (model, action) in POST_ROUTES.items():
            allowed = set(model.objects.restrict(user, action).values_list("pk", flat=True))  # type: ignore[attr-defined]
            for pk in model.objects.exclude(pk__in=allowed).values_list("pk", flat=True):  # type: ignore[attr-defined]
                status = client.post(reverse(name, args=[pk])).status_code
                if status not in (403, 404):
                    failures.append(f"{key}_{role} POST {name}({pk}) -> {status}")
        for name in ("monitoring:plan_create", "monitoring:designation_create"):
            status = client.get(reverse(name)).status_code
            may = key.startswith("ipo") and role != Role.VIEWER
            if status != (200 if may else 404):
                failures.append(f"{key}_{role} GET {name} -> {status}")
        for name, model in (
            ("monitoring:plans", ProvincialPlan),
            ("monitoring:reminders", Reminder),
            ("monitoring:key_parks", KeyParkDesignation),
        ):
            response = client.get(reverse(name))
            listed = set(response.context["table"].data.data.values_list("pk", flat=True))
            allowed = set(model.objects.restrict(user, "view").values_list("pk", flat=True))  # type: ignore[attr-defined]
            if response.status_code != 200 or not listed <= allowed:
                failures.append(f"{key}_{role} {name} -> {response.status_code} {listed - allowed}")
    assert not failures, "\n".join(failures)
    assert ProvincialPlan.objects.filter(status=PlanStatus.ISSUED).count() == 1  # nothing changed by the refusals
