"""Plans services: due-date arithmetic, issue/submit guards, the ledger (create, reorder, owner progress), evidence
upload, reminders (raise, resolve, idempotency, overdue flag), key parks (≥ 3 check, revoke, is_key_park in step)
and scoping across provinces."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent, Region
from ipledge.core.scoping import Action
from ipledge.monitoring import selectors_plans as selectors
from ipledge.monitoring.choices import DesignationStatus, PlanStatus, ReminderKind, TaskStatus
from ipledge.monitoring.models import KeyParkDesignation, PlanTask, ProvincialPlan, Reminder
from ipledge.monitoring.services import plans as services
from ipledge.registry.choices import ParkKind, ParkLevel
from ipledge.registry.services import park_create
from tests.monitoring.factories_plans import DAY, add_plans, make_plan, make_task
from tests.world import PDF_BYTES, World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today():  # type: ignore[no-untyped-def]
    with as_of(DAY):
        yield


def _open(kind: str | None = None) -> set[tuple[str, str]]:
    rows = Reminder.objects.filter(resolved_on__isnull=True)
    if kind:
        rows = rows.filter(kind=kind)
    return set(rows.values_list("kind", "subject_key"))


def test_submission_due_is_ten_days_after_issue(world: World) -> None:
    plan = make_plan(world)
    assert plan.status == PlanStatus.DRAFT and plan.issuing_org == world.orgs["ipo_bj"]
    issued = services.plan_issue(plan=plan, issued_on=datetime.date(2026, 2, 25), acting_user=world.user("ipo_bj"))
    assert issued.status == PlanStatus.ISSUED and issued.version == 2
    assert issued.submission_due_on == datetime.date(2026, 3, 7)  # across the end of February
    assert services.submission_due_on(datetime.date(2024, 2, 20)) == datetime.date(2024, 3, 1)  # leap year
    assert AuditEvent.objects.filter(action="provincial_plan.issue", object_id=str(plan.pk)).exists()


def test_issue_and_submit_guards(world: World) -> None:
    plan = make_plan(world)
    user = world.user("ipo_bj")
    with pytest.raises(ValidationError) as exc:
        services.plan_submit(plan=plan, submitted_on=DAY, acting_user=user)
    assert "status" in exc.value.error_dict
    with pytest.raises(ValidationError) as exc:
        services.plan_issue(plan=plan, issued_on=DAY + datetime.timedelta(days=1), acting_user=user)
    assert exc.value.error_dict["issued_on"][0].code == "future_date"
    services.plan_issue(plan=plan, issued_on=DAY - datetime.timedelta(days=3), acting_user=user)
    with pytest.raises(ValidationError) as exc:
        services.plan_issue(plan=plan, issued_on=DAY, acting_user=user)
    assert exc.value.error_dict["status"][0].code == "not_draft"
    with pytest.raises(ValidationError) as exc:
        services.plan_submit(plan=plan, submitted_on=DAY - datetime.timedelta(days=4), acting_user=user)
    assert exc.value.error_dict["submitted_on"][0].code == "before_issue"
    submitted = services.plan_submit(plan=plan, submitted_on=DAY, acting_user=user)
    assert submitted.status == PlanStatus.SUBMITTED and submitted.submitted_on == DAY


def test_stale_version_is_refused(world: World) -> None:
    plan = make_plan(world)
    services.plan_update(plan=plan, data={"title": "新标题"}, acting_user=world.user("ipo_bj"), expected_version=1)
    with pytest.raises(ValidationError) as exc:
        services.plan_update(plan=plan, data={"title": "旧"}, acting_user=world.user("ipo_bj"), expected_version=1)
    assert exc.value.error_dict["version"][0].code == "stale_version"
    assert ProvincialPlan.objects.get(pk=plan.pk).title == "新标题"


def test_only_the_provinces_ip_office_drafts_and_edits(world: World) -> None:
    js = Region.objects.get(code="320000")
    with pytest.raises(PermissionDenied):
        services.plan_create(region=js, title="x", year_from=2026, year_to=2026, acting_user=world.user("ipo_bj"))
    with pytest.raises(PermissionDenied):
        services.plan_create(region=js, title="x", year_from=2026, year_to=2026, acting_user=world.user("park2"))
    with pytest.raises(ValidationError) as exc:
        services.plan_create(
            region=Region.objects.get(code="320100"),
            title="x",
            year_from=2026,
            year_to=2026,
            acting_user=world.user("ipo_js"),
        )
    assert exc.value.error_dict["region"][0].code == "not_province"
    plan = make_plan(world)
    with pytest.raises(PermissionDenied):
        services.plan_update(plan=plan, data={"title": "x"}, acting_user=world.user("ipo_js"))
    with pytest.raises(PermissionDenied):
        services.plan_update(plan=plan, data={"title": "x"}, acting_user=world.user("ipo_bj", Role.VIEWER))
    # The national office may draft for any province.
    assert services.plan_create(region=js, title="国", year_from=2026, year_to=2026, acting_user=world.user("cnipa"))


def test_task_needs_an_owner_and_numbers_follow(world: World) -> None:
    plan = make_plan(world)
    with pytest.raises(ValidationError) as exc:
        services.task_create(plan=plan, title="无主", due_on=DAY, acting_user=world.user("ipo_bj"))
    assert exc.value.error_dict["owner_org"][0].code == "owner_required"
    first = make_task(world, plan, due=DAY)
    second = make_task(world, plan, owner=None, due=DAY)
    assert (first.number, second.number, second.owner_name) == (1, 2, "市财政局")


def test_reorder_swaps_numbers(world: World) -> None:
    plan = make_plan(world)
    a, b, c = (make_task(world, plan, due=DAY, title=t) for t in "abc")
    services.task_move(task=c, direction=-1, acting_user=world.user("ipo_bj"))
    assert list(PlanTask.objects.filter(plan=plan).order_by("number").values_list("title", flat=True)) == [
        "a",
        "c",
        "b",
    ]
    services.task_move(task=a, direction=-1, acting_user=world.user("ipo_bj"))  # already first: nothing
    assert PlanTask.objects.get(pk=a.pk).number == 1
    with pytest.raises(PermissionDenied):
        services.task_move(task=b, direction=-1, acting_user=world.user("park1"))  # owners do not reorder


def test_owner_updates_own_task_but_not_others(world: World) -> None:
    plan = make_plan(world)
    mine = make_task(world, plan, owner="park1", due=DAY)
    theirs = make_task(world, plan, owner="bank1", due=DAY)
    park1 = world.user("park1")
    done = services.task_report_progress(
        task=mine, report=services.TaskProgress(status=TaskStatus.DONE, progress=40, evidence="报告"), acting_user=park1
    )
    assert (done.status, done.progress, done.completed_on, done.evidence) == (TaskStatus.DONE, 100, DAY, "报告")
    with pytest.raises(PermissionDenied):
        services.task_report_progress(
            task=theirs, report=services.TaskProgress(status=TaskStatus.IN_PROGRESS, progress=10), acting_user=park1
        )
    with pytest.raises(PermissionDenied):
        services.task_update(task=mine, data={"title": "改"}, acting_user=park1)  # owners report, never redefine
    back = services.task_report_progress(
        task=mine, report=services.TaskProgress(status=TaskStatus.IN_PROGRESS, progress=80), acting_user=park1
    )
    assert back.completed_on is None and back.progress == 80
    with pytest.raises(ValidationError) as exc:
        services.task_report_progress(
            task=mine, report=services.TaskProgress(status=TaskStatus.IN_PROGRESS, progress=101), acting_user=park1
        )
    assert exc.value.error_dict["progress"][0].code == "progress_range"
    # The owner reads the plan (through its task) and only its own ledger lines.
    assert ProvincialPlan.objects.restrict(park1, Action.VIEW).filter(pk=plan.pk).exists()
    assert list(selectors.plan_tasks(user=park1, plan=plan)) == [mine]


def test_evidence_file_is_checked_and_stored(world: World) -> None:
    plan = make_plan(world)
    task = make_task(world, plan, owner="park1", due=DAY)
    with pytest.raises(ValidationError) as exc:
        services.task_evidence_attach(task=task, filename="x.exe", content=b"MZ..", acting_user=world.user("park1"))
    assert exc.value.error_dict["file"][0].code == "file_type"
    with pytest.raises(ValidationError) as exc:
        services.task_evidence_attach(
            task=task, filename="x.pdf", content=b"not a pdf", acting_user=world.user("park1")
        )
    assert exc.value.error_dict["file"][0].code == "content_mismatch"
    stored = services.task_evidence_attach(
        task=task, filename="../报告.pdf", content=PDF_BYTES, acting_user=world.user("park1")
    )
    assert stored.evidence_file.endswith(".pdf") and stored.evidence_file_name == "报告.pdf"
    with default_storage.open(services.evidence_path(stored.evidence_file), "rb") as handle:
        assert handle.read() == PDF_BYTES


def test_reminders_raise_resolve_and_are_idempotent(world: World) -> None:
    plan = make_plan(world)
    user = world.user("ipo_bj")
    services.plan_issue(plan=plan, issued_on=datetime.date(2026, 2, 22), acting_user=user)  # due 2026-03-04
    overdue = make_task(world, plan, owner="park1", due=DAY - datetime.timedelta(days=1))
    soon = make_task(world, plan, owner="bank1", due=DAY + datetime.timedelta(days=7))
    make_task(world, plan, owner="bank1", due=DAY + datetime.timedelta(days=8))  # beyond the week: nothing
    draft = make_plan(world, title="草稿方案")
    make_task(world, draft, owner="park1", due=DAY - datetime.timedelta(days=5))  # a draft plan reminds nobody

    counts = services.reminders_run(today=DAY)
    assert _open() == {
        (ReminderKind.PLAN_SUBMISSION_DUE, f"plan:{plan.pk}"),
        (ReminderKind.TASK_OVERDUE, f"task:{overdue.pk}"),
        (ReminderKind.TASK_DUE, f"task:{soon.pk}"),
        (ReminderKind.KEY_PARKS_SHORT, "keyparks:11:2026"),
        (ReminderKind.KEY_PARKS_SHORT, "keyparks:32:2026"),
    }
    assert counts["raised"] == 5
    assert Reminder.objects.get(subject_key=f"task:{overdue.pk}").recipient == world.orgs["park1"]
    assert services.reminders_run(today=DAY) == {"raised": 0, "resolved": 0, "open": 5}  # idempotent

    # Three days later the plan is past due: DUE resolves, OVERDUE opens.
    later = DAY + datetime.timedelta(days=3)
    with as_of(later):
        services.reminders_run(today=later)
    assert (ReminderKind.PLAN_SUBMISSION_OVERDUE, f"plan:{plan.pk}") in _open()
    assert (ReminderKind.PLAN_SUBMISSION_DUE, f"plan:{plan.pk}") not in _open()
    assert Reminder.objects.get(kind=ReminderKind.PLAN_SUBMISSION_DUE).resolved_on == later

    # Causes go away: submitted, the task done.
    with as_of(later):
        services.plan_submit(plan=plan, submitted_on=later, acting_user=user)
        services.task_report_progress(
            task=overdue,
            report=services.TaskProgress(status=TaskStatus.DONE, progress=100),
            acting_user=world.user("park1"),
        )
        services.reminders_run(today=later)
    assert not _open(ReminderKind.PLAN_SUBMISSION_OVERDUE) and not _open(ReminderKind.TASK_OVERDUE)


def test_overdue_flag_in_the_ledger(world: World) -> None:
    plan = make_plan(world)
    late = make_task(world, plan, due=DAY - datetime.timedelta(days=1))
    today = make_task(world, plan, due=DAY)
    done = make_task(world, plan, due=DAY - datetime.timedelta(days=3))
    services.task_report_progress(
        task=done, report=services.TaskProgress(status=TaskStatus.DONE, progress=100), acting_user=world.user("ipo_bj")
    )
    flags = {t.pk: t.is_overdue for t in selectors.plan_tasks(user=world.user("ipo_bj"), plan=plan)}  # type: ignore[attr-defined]
    assert flags == {late.pk: True, today.pk: False, done.pk: False}
    listed = selectors.plan_list(user=world.user("ipo_bj")).get(pk=plan.pk)
    assert (listed.task_count, listed.done_count, listed.overdue_count) == (3, 1, 1)  # type: ignore[attr-defined]


def _park(world: World, name: str, code: str = "110108") -> object:
    return park_create(
        name=name,
        level=ParkLevel.PROVINCIAL,
        kind=ParkKind.HITECH,
        region=Region.objects.get(code=code),
        acting_user=None,
    )


def test_key_park_check_needs_three(world: World) -> None:
    user = world.user("ipo_bj")
    extra = [_park(world, f"北京测试园{i}") for i in range(2)]
    services.designation_create(park=world.parks["p1"], year=2026, acting_user=user)
    services.designation_create(park=extra[0], year=2026, acting_user=user)
    services.reminders_run(today=DAY)
    (check,) = selectors.key_park_check(user=user, year=2026, province="110000")
    assert (check.active, check.missing, check.meets) == (2, 1, False)
    assert (ReminderKind.KEY_PARKS_SHORT, "keyparks:11:2026") in _open()

    third = services.designation_create(park=extra[1], year=2026, acting_user=user)
    (check,) = selectors.key_park_check(user=user, year=2026, province="110000")
    assert (check.active, check.missing, check.meets) == (3, 0, True)
    assert (ReminderKind.KEY_PARKS_SHORT, "keyparks:11:2026") not in _open()  # resolved at once
    assert extra[1].__class__.objects.get(pk=extra[1].pk).is_key_park  # type: ignore[attr-defined]

    with pytest.raises(ValidationError) as exc:
        services.designation_create(park=extra[1], year=2026, acting_user=user)
    assert exc.value.error_dict["year"][0].code == "unique"
    with pytest.raises(ValidationError) as exc:
        services.designation_revoke(designation=third, reason="", acting_user=user)
    assert "reason" in exc.value.error_dict
    revoked = services.designation_revoke(designation=third, reason="整改不到位", acting_user=user)
    assert revoked.status == DesignationStatus.REVOKED and revoked.revoked_on == DAY
    assert not extra[1].__class__.objects.get(pk=extra[1].pk).is_key_park  # type: ignore[attr-defined]
    services.reminders_run(today=DAY)
    assert (ReminderKind.KEY_PARKS_SHORT, "keyparks:11:2026") in _open()


def test_designation_only_by_the_regions_ip_office(world: World) -> None:
    with pytest.raises(PermissionDenied):
        services.designation_create(park=world.parks["p2"], year=2026, acting_user=world.user("ipo_bj"))
    with pytest.raises(PermissionDenied):
        services.designation_create(park=world.parks["p1"], year=2026, acting_user=world.user("park1"))
    made = services.designation_create(park=world.parks["p2"], year=2026, acting_user=world.user("ipo_js"))
    with pytest.raises(PermissionDenied):
        services.designation_revoke(designation=made, reason="x", acting_user=world.user("ipo_bj"))


def test_scoping_across_provinces(world: World) -> None:
    add_plans(world)
    bj, js = ProvincialPlan.objects.get(region__code="110000"), ProvincialPlan.objects.get(region__code="320000")

    def plans(key: str, role: str = Role.OPERATOR) -> set[int]:
        return set(selectors.plan_list(user=world.user(key, role)).values_list("pk", flat=True))

    assert (
        plans("ipo_bj") == {bj.pk} and plans("ipo_js") == {js.pk} and plans("ipo_nj") == set()
    )  # a city office: not the province's plan
    assert plans("reg_bj", Role.VIEWER) == {bj.pk} and plans("cnipa") == {bj.pk, js.pk}
    assert plans("park1") == {bj.pk} and plans("park2") == {js.pk} and plans("bank2") == set()
    reminders = {r.subject_key for r in selectors.open_reminders(world.user("ipo_js"))}
    assert reminders and all(not key.startswith("plan:") and "11:" not in key for key in reminders)
    park1 = {r.recipient_id for r in selectors.open_reminders(world.user("park1"))}
    assert park1 == {world.orgs["park1"].pk}
    assert KeyParkDesignation.objects.restrict(world.user("bank2"), Action.VIEW).count() == 2  # published
