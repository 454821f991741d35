"""The case workflow (核查) of a finding through the services, the pages and the API: assign → investigate → note →
confirm or dismiss → bulletin (通报); its rules; and who sees what."""

from __future__ import annotations

import datetime
import json
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from ipledge.core.audit import AuditEvent
from ipledge.core.choices import Role
from ipledge.core.context import business_date
from ipledge.core.scoping import Action
from ipledge.monitoring.choices import FindingEventKind, FindingStatus
from ipledge.monitoring.models import AnomalyScan, Bulletin, Finding
from ipledge.monitoring.services import findings as services
from tests.api_helpers import assert_error, get, send, session_client
from tests.monitoring.factories_anomalies import add_anomalies, make_finding
from tests.world import World

pytestmark = pytest.mark.django_db


def _code(exc: ValidationError, field: str) -> str:
    return str(exc.error_dict[field][0].code)


def _due(days: int = 10) -> datetime.date:
    return business_date() + datetime.timedelta(days=days)


def test_the_case_from_open_to_bulletin(world: World) -> None:
    finding = make_finding(world, key="case")
    operator, reviewer = world.user("ipo_bj"), world.user("ipo_bj", Role.REVIEWER)
    services.finding_assign(finding=finding, assignee=operator, due_on=_due(), acting_user=operator)
    services.finding_start_investigation(finding=finding, expected_version=2, acting_user=operator)
    services.finding_note(finding=finding, note="约谈银行。", acting_user=operator)
    finding = services.finding_decide(finding=finding, confirm=True, note="属实。", acting_user=reviewer)
    assert (finding.status, finding.version, finding.decided_by, finding.decision_note) == (
        FindingStatus.CONFIRMED,
        5,
        reviewer,
        "属实。",
    )
    with pytest.raises(PermissionDenied):  # the reviewer who confirmed does not also issue the notice
        services.bulletin_issue(findings=[finding], title="通报一", body="正文", acting_user=reviewer)
    bulletin = services.bulletin_issue(findings=[finding], title="通报一", body="正文", acting_user=operator)
    finding.refresh_from_db()
    assert finding.status == FindingStatus.REPORTED and finding.bulletin == bulletin
    assert bulletin.number == f"TB{business_date().year}-0001" and bulletin.region_code == "110000"
    kinds = list(finding.events.values_list("kind", flat=True))
    assert kinds == ["raised", "assigned", "investigating", "note", "confirmed", "reported"]
    audited = set(AuditEvent.objects.filter(object_id=str(finding.pk)).values_list("action", flat=True))
    assert {
        "finding.assigned",
        "finding.investigating",
        "finding.note",
        "finding.confirmed",
        "finding.reported",
    } <= audited
    assert AuditEvent.objects.filter(action="bulletin.issue", object_id=str(bulletin.pk)).exists()


def test_the_rules_of_the_case(world: World) -> None:
    finding = make_finding(world, key="rules")
    operator, reviewer = world.user("ipo_bj"), world.user("ipo_bj", Role.REVIEWER)
    with pytest.raises(ValidationError) as exc:
        services.finding_assign(finding=finding, assignee=world.user("ipo_js"), due_on=_due(), acting_user=operator)
    assert _code(exc.value, "assignee") == "assignee_out_of_region"
    with pytest.raises(ValidationError) as exc:
        services.finding_assign(finding=finding, assignee=world.user("bank1"), due_on=_due(), acting_user=operator)
    assert _code(exc.value, "assignee") == "assignee_out_of_region"
    with pytest.raises(ValidationError) as exc:
        services.finding_assign(finding=finding, assignee=operator, due_on=_due(-1), acting_user=operator)
    assert _code(exc.value, "due_on") == "due_in_past"
    with pytest.raises(ValidationError) as exc:
        services.finding_start_investigation(finding=finding, acting_user=operator)
    assert _code(exc.value, "status") == "invalid_status"
    with pytest.raises(PermissionDenied):  # Jiangsu may not touch a Beijing finding
        services.finding_note(finding=finding, note="x", acting_user=world.user("ipo_js"))
    with pytest.raises(PermissionDenied):  # a bank never works cases
        services.finding_note(finding=finding, note="x", acting_user=world.user("bank1"))
    services.finding_assign(finding=finding, assignee=operator, due_on=_due(), acting_user=operator)
    with pytest.raises(ValidationError) as exc:
        services.finding_note(finding=finding, note="  ", acting_user=operator)
    assert _code(exc.value, "note") == "required"
    with pytest.raises(ValidationError) as exc:
        services.finding_note(finding=finding, note="旧页面", expected_version=1, acting_user=operator)
    assert _code(exc.value, "version") == "stale"
    with pytest.raises(PermissionDenied):  # an operator investigates; a reviewer decides
        services.finding_decide(finding=finding, confirm=True, note="属实", acting_user=operator)
    with pytest.raises(ValidationError) as exc:
        services.finding_decide(finding=finding, confirm=False, note="", acting_user=reviewer)
    assert _code(exc.value, "note") == "required"
    with pytest.raises(ValidationError) as exc:
        services.bulletin_issue(findings=[finding], title="t", body="b", acting_user=operator)
    assert _code(exc.value, "findings") == "not_confirmed"
    finding.refresh_from_db()
    assert finding.status == FindingStatus.ASSIGNED and finding.version == 2 and not Bulletin.objects.exists()


def test_who_sees_findings(world: World) -> None:
    add_anomalies(world)
    titles = {
        who: set(Finding.objects.restrict(world.user(who), Action.VIEW).values_list("subject_id", flat=True))
        for who in ("cnipa", "ipo_bj", "reg_bj", "ipo_js", "ipo_nj", "bank1", "park1", "ent1", "valuer")
    }
    beijing = {"bj-open", "bj-reported"}
    assert titles["cnipa"] == beijing | {"js-open"}
    assert titles["ipo_bj"] == titles["reg_bj"] == beijing
    assert titles["ipo_js"] == titles["ipo_nj"] == {"js-open"}
    assert titles["bank1"] == titles["park1"] == titles["ent1"] == titles["valuer"] == set()
    assert Bulletin.objects.restrict(world.user("ipo_js"), Action.VIEW).count() == 0
    assert Bulletin.objects.restrict(world.user("reg_bj"), Action.VIEW).count() == 1


def test_pages_scope_and_the_case_through_the_ui(world: World) -> None:
    add_anomalies(world)
    bj = Finding.objects.get(subject_id="bj-open")
    js = Finding.objects.get(subject_id="js-open")
    operator = session_client(world.user("ipo_bj"))
    page = operator.get(reverse("monitoring:findings"), {"status": "open"})
    assert page.status_code == 200
    assert bj.title in page.content.decode() and js.title not in page.content.decode()
    assert operator.get(reverse("monitoring:finding_detail", args=[js.pk])).status_code == 404
    for name in ("monitoring:scans", "monitoring:bulletins"):
        assert operator.get(reverse(name)).status_code == 200
    bulletin = Bulletin.objects.get()
    assert "经核查" in operator.get(reverse("monitoring:bulletin_detail", args=[bulletin.pk])).content.decode()
    assert session_client(world.user("bank1")).get(reverse("monitoring:findings")).status_code == 404

    detail = operator.get(reverse("monitoring:finding_detail", args=[bj.pk])).content.decode()
    assert "finding-assign" in detail and "finding-decide" not in detail
    response = operator.post(
        reverse("monitoring:finding_assign", args=[bj.pk]),
        {"assignee": world.user("ipo_bj").pk, "due_on": _due().isoformat(), "version": 1},
    )
    assert response.status_code == 302
    operator.post(reverse("monitoring:finding_start", args=[bj.pk]), {"version": 2})
    operator.post(reverse("monitoring:finding_note", args=[bj.pk]), {"note": "已电话核实", "version": 3})
    reviewer = session_client(world.user("ipo_bj", Role.REVIEWER))
    reviewer.post(reverse("monitoring:finding_decide", args=[bj.pk]), {"decision": "dismiss", "note": "", "version": 4})
    bj.refresh_from_db()
    assert bj.status == FindingStatus.INVESTIGATING  # no note: refused
    reviewer.post(
        reverse("monitoring:finding_decide", args=[bj.pk]), {"decision": "confirm", "note": "属实", "version": 4}
    )
    bj.refresh_from_db()
    assert bj.status == FindingStatus.CONFIRMED and bj.version == 5
    form = operator.get(reverse("monitoring:bulletin_create"))
    assert form.status_code == 200 and bj.title in form.content.decode()
    assert reviewer.get(reverse("monitoring:bulletin_create")).status_code == 404
    response = operator.post(
        reverse("monitoring:bulletin_create"),
        {"title": "第二期通报", "body": "正文", "issued_on": business_date().isoformat(), "findings": [bj.pk]},
    )
    assert response.status_code == 302
    bj.refresh_from_db()
    assert bj.status == FindingStatus.REPORTED and bj.bulletin is not None and bj.bulletin.title == "第二期通报"

    scans = AnomalyScan.objects.count()
    assert operator.post(reverse("monitoring:scans"), {"as_of": business_date().isoformat()}).status_code == 302
    assert AnomalyScan.objects.count() == scans + 1
    assert 'data-rule="classification_inconsistent"' in operator.get(reverse("monitoring:scans")).content.decode()
    assert session_client(world.user("reg_bj")).post(reverse("monitoring:scans"), {}).status_code == 404


def _items(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return list(response.json()["items"])


def test_api(world: World) -> None:
    add_anomalies(world)
    bj = Finding.objects.get(subject_id="bj-open")
    js = Finding.objects.get(subject_id="js-open")
    operator = session_client(world.user("ipo_bj"))
    listed = _items(get(operator, "/monitoring/findings", {"status": "open"}))
    assert [f["id"] for f in listed] == [bj.pk]
    assert get(operator, f"/monitoring/findings/{bj.pk}").json()["rule_label"] == "风险分类不一致"
    assert_error(get(operator, f"/monitoring/findings/{js.pk}"), 404)
    assert_error(get(session_client(world.user("bank1")), "/monitoring/findings"), 403)

    assert_error(
        send(
            operator,
            "post",
            f"/monitoring/findings/{bj.pk}/assign",
            {"assignee_id": world.user("ipo_js").pk, "due_on": _due().isoformat()},
        ),
        400,
        field="assignee_id",
        rule="assignee_out_of_region",
    )
    body = send(
        operator,
        "post",
        f"/monitoring/findings/{bj.pk}/assign",
        {"assignee_id": world.user("ipo_bj").pk, "due_on": _due().isoformat(), "version": 1},
    ).json()
    assert body["status"] == "assigned" and body["version"] == 2
    assert send(operator, "post", f"/monitoring/findings/{bj.pk}/start", {}).json()["status"] == "investigating"
    assert_error(
        send(operator, "post", f"/monitoring/findings/{bj.pk}/notes", {"note": "x", "version": 1}),
        400,
        field="version",
        rule="stale",
    )
    assert send(operator, "post", f"/monitoring/findings/{bj.pk}/notes", {"note": "核实中"}).status_code == 200
    assert_error(
        send(operator, "post", f"/monitoring/findings/{bj.pk}/decide", {"decision": "confirm", "note": "x"}), 403
    )
    reviewer = session_client(world.user("ipo_bj", Role.REVIEWER))
    assert (
        send(reviewer, "post", f"/monitoring/findings/{bj.pk}/decide", {"decision": "confirm", "note": "属实"}).json()[
            "status"
        ]
        == "confirmed"
    )
    events = get(operator, f"/monitoring/findings/{bj.pk}/events").json()
    assert [e["kind"] for e in events] == ["raised", "assigned", "investigating", "note", "confirmed"]

    created = send(
        operator, "post", "/monitoring/bulletins", {"title": "API通报", "body": "正文", "finding_ids": [bj.pk]}
    )
    assert created.status_code == 201, created.content
    assert created.json()["finding_ids"] == [bj.pk]
    assert_error(
        send(operator, "post", "/monitoring/bulletins", {"title": "t", "body": "b", "finding_ids": [js.pk]}),
        400,
        field="finding_ids",
    )
    assert len(_items(get(reviewer, "/monitoring/bulletins"))) == 2
    assert get(reviewer, f"/monitoring/bulletins/{created.json()['id']}").status_code == 200
    assert_error(get(session_client(world.user("ipo_js")), f"/monitoring/bulletins/{created.json()['id']}"), 404)

    scan = send(operator, "post", "/monitoring/scans", {"rules": ["classification_inconsistent"]})
    assert scan.status_code == 201, scan.content
    assert scan.json()["rules"] == ["classification_inconsistent"] and scan.json()["status"] == "finished"
    assert_error(send(session_client(world.user("reg_bj")), "post", "/monitoring/scans", {}), 403)
    assert len(_items(get(session_client(world.user("reg_bj")), "/monitoring/scans"))) >= 2


def test_cli_scan_json(world: World) -> None:
    out = StringIO()
    call_command("monitoring", "scan", "--date", "2025-06-30", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert body["as_of"] == "2025-06-30" and body["status"] == "finished"
    assert set(body["totals"]) == {"found", "new", "suppressed", "cleared"}
    assert AnomalyScan.objects.get(pk=body["scan"]).started_by is None
    assert FindingEventKind.RAISED  # the enum the CLI counts come from
    client = Client()
    assert client.get(reverse("monitoring:findings")).status_code in (302, 404)
