"""Collateral monitoring: legal-status import, alerts on pledged rights, digest, transfer guard, T4 figures."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from ipledge.core.synthetic import make_patent_number
from ipledge.registration.choices import Channel, Decision, FilingStatus
from ipledge.registration.models import Alert, AlertKind, LegalStatusEvent, PledgeFiling, PledgeRegistration
from ipledge.registration.monitoring import (
    add_months,
    alert_digest,
    alert_list,
    alert_mark_read,
    alerts_scan,
    ip_right_transfer,
    legal_status_import,
    turnaround_figures,
)
from ipledge.registration.services import filing_confirm, filing_create, filing_decide, right_facts
from ipledge.registry.models import IPRight
from ipledge.registry.services import ip_right_update
from tests.world import add_pledges

pytestmark = pytest.mark.django_db

HEADER = "申请号,法律状态代码,法律状态公告日,说明\n"


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(f"{r}\n" for r in rows)).encode("utf-8")


@pytest.fixture
def pledged(world):  # type: ignore[no-untyped-def]
    return add_pledges(world)


def _unregistered_number() -> str:
    """A valid patent number the world's register does not hold."""
    return make_patent_number(year=2018, type_digit=1, serial=1000001)


def _alerts(org, kind: str | None = None):  # type: ignore[no-untyped-def]
    qs = Alert.objects.filter(organisation=org)
    return qs.filter(kind=kind) if kind else qs


# Legal-status import


def test_lapse_event_on_pledged_patent_lapses_it_and_alerts_bank_and_enterprise(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    r1 = w.rights["r1"]
    day = timezone.localdate()
    content = _csv(f"ZL{r1.number},CF01,{day.isoformat()},未缴年费专利权终止")
    result = legal_status_import(filename="cf01.csv", content=content, acting_user=w.user("ipo_bj"))
    assert result.ok, result.errors
    assert (result.rows, result.applied, result.unchanged) == (1, 1, 0)
    r1.refresh_from_db()
    assert r1.legal_status == "lapsed"
    event = LegalStatusEvent.objects.get(ip_right=r1)
    assert (event.code, event.event_date, event.source_file) == ("CF01", day, "cf01.csv")
    bank_alert = _alerts(w.orgs["bank1_sub"], AlertKind.LAPSED).get()
    assert bank_alert.due_on == day and bank_alert.severity == "critical"
    assert bank_alert.registration == w.filings["f1"].created_registration
    assert r1.number in bank_alert.message
    assert _alerts(w.orgs["ent1"], AlertKind.LAPSED).count() == 1
    assert result.alerts == 2
    # The change went through the audited register update.
    assert AuditEvent.objects.filter(action="ip_right.update", object_id=str(r1.pk), actor=w.user("ipo_bj")).exists()
    assert AuditEvent.objects.filter(action="registration.legal_status_import").count() == 1


def test_reimport_changes_nothing(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    r1 = w.rights["r1"]
    content = _csv(f"{r1.number},PP01,2026-01-05,", f"{r1.number},CF01,2026-02-01,")
    first = legal_status_import(filename="a.csv", content=content, acting_user=w.user("ipo_bj"))
    assert first.applied == 2
    counts = (LegalStatusEvent.objects.count(), Alert.objects.count())
    updates = AuditEvent.objects.filter(action="ip_right.update").count()
    again = legal_status_import(filename="a.csv", content=content, acting_user=w.user("ipo_bj"))
    assert again.ok and (again.applied, again.unchanged, again.alerts) == (0, 2, 0)
    assert (LegalStatusEvent.objects.count(), Alert.objects.count()) == counts
    assert AuditEvent.objects.filter(action="ip_right.update").count() == updates


def test_bad_file_writes_nothing_and_names_each_rule(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    r1 = w.rights["r1"]
    content = _csv(
        f"{r1.number},CF01,2026-02-01,",  # fine on its own
        "201910000011.3,CF01,2026-02-01,",  # bad check digit
        f"{_unregistered_number()},CF01,2026-02-01,",  # well-formed number, not on the register
        f"{r1.number},ZZ99,2026-02-01,",  # unknown code
        f"{r1.number},PP01,2026-02-30,",  # no such date
    )
    before = AuditEvent.objects.count()
    result = legal_status_import(filename="bad.csv", content=content, acting_user=w.user("ipo_bj"))
    assert not result.ok
    rules = {(e.row, e.rule) for e in result.errors}
    assert (3, "checksum") in rules
    assert (5, "unknown_code") in rules
    assert (6, "date") in rules
    assert (4, "unknown_right") in rules
    assert not LegalStatusEvent.objects.exists()
    assert not Alert.objects.exists()
    assert AuditEvent.objects.count() == before
    r1.refresh_from_db()
    assert r1.legal_status == "valid"


def test_unknown_right_is_a_row_error(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    r1 = w.rights["r1"]
    other = _unregistered_number()
    result = legal_status_import(
        filename="u.csv",
        content=_csv(f"{r1.number},CF01,2026-02-01,", f"{other},CF01,2026-02-01,"),
        acting_user=w.user("ipo_bj"),
    )
    assert [(e.row, e.column, e.rule) for e in result.errors] == [(3, "申请号", "unknown_right")]
    assert not LegalStatusEvent.objects.exists()


def test_only_ip_offices_import(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    content = _csv(f"{w.rights['r1'].number},CF01,2026-02-01,")
    for user in (w.user("bank1_sub"), w.user("ent1"), w.user("park1", Role.ADMIN), w.user("ipo_bj", Role.VIEWER)):
        with pytest.raises(PermissionDenied):
            legal_status_import(filename="x.csv", content=content, acting_user=user)
    assert not LegalStatusEvent.objects.exists()


def test_xlsx_with_english_headers_and_flag_events(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    r1 = w.rights["r1"]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["patent_number", "code", "event_date", "description"])
    registered_on = w.filings["f1"].created_registration.registered_on
    before = registered_on - datetime.timedelta(days=30)
    sheet.append([r1.number, "TR01", before, "出质前的转移"])  # before the pledge: no alert
    sheet.append([r1.number, "IP01", registered_on, "无效宣告请求"])
    sheet.append([r1.number, "PD01", registered_on + datetime.timedelta(days=9), "解除保全"])
    sheet.append([r1.number, "PP01", registered_on + datetime.timedelta(days=3), "法院保全"])
    sheet.append([r1.number, "TR01", registered_on + datetime.timedelta(days=9), "转移"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = legal_status_import(filename="events.xlsx", content=buffer.getvalue(), acting_user=w.user("ipo_bj"))
    assert result.ok and result.applied == 5, result.errors
    r1.refresh_from_db()
    # PP01 then PD01 applied in date order: preservation lifted; the invalidation request still pending.
    assert (r1.preserved, r1.invalidation_pending, r1.legal_status) == (False, True, "valid")
    facts = right_facts(r1)
    assert facts.invalidation_pending and not facts.preserved
    # The transfer recorded after registration raises an alert for the bank.
    kinds = set(_alerts(w.orgs["bank1_sub"]).values_list("kind", flat=True))
    assert {AlertKind.TRANSFERRED, AlertKind.INVALIDATION_PENDING} <= kinds
    assert AlertKind.PRESERVED not in kinds
    transferred = _alerts(w.orgs["bank1_sub"], AlertKind.TRANSFERRED).get()
    assert transferred.due_on == registered_on + datetime.timedelta(days=9)


def test_preservation_reaches_the_examination_facts(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    r2 = w.rights["r2"]
    legal_status_import(filename="p.csv", content=_csv(f"{r2.number},PP01,2026-01-03,"), acting_user=w.user("cnipa"))
    r2.refresh_from_db()
    assert r2.preserved and right_facts(r2).preserved


# Alerts


def test_alerts_scan_is_idempotent(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    today = timezone.localdate()
    ip_right_update(
        right=w.rights["r1"], data={"annual_fee_paid_until": today + datetime.timedelta(days=20)}, acting_user=None
    )
    first = alerts_scan(today=today)
    assert first == 2  # fee_due for the bank and the enterprise
    assert alerts_scan(today=today) == 0
    assert alerts_scan(today=today + datetime.timedelta(days=1)) == 0  # same due date: same alert
    assert Alert.objects.count() == 2


def test_fee_due_and_grace_period_alerts_by_date(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    bank = w.orgs["bank1_sub"]
    paid_until = datetime.date(2026, 3, 31)
    ip_right_update(right=w.rights["r1"], data={"annual_fee_paid_until": paid_until}, acting_user=None)
    alerts_scan(today=datetime.date(2026, 1, 15))  # 75 days before: nothing yet
    assert not _alerts(bank).exists()
    alerts_scan(today=datetime.date(2026, 2, 1))  # 58 days before
    due = _alerts(bank, AlertKind.FEE_DUE).get()
    assert due.due_on == paid_until and due.created_on == datetime.date(2026, 2, 1)
    assert _alerts(w.orgs["ent1"], AlertKind.FEE_DUE).exists()
    alerts_scan(today=datetime.date(2026, 4, 1))  # one day past: grace period until 30 Sep
    grace = _alerts(bank, AlertKind.FEE_GRACE).get()
    assert grace.due_on == datetime.date(2026, 9, 30) and grace.severity == "critical"
    alerts_scan(today=datetime.date(2026, 10, 1))  # grace period over: no new grace alert
    assert _alerts(bank, AlertKind.FEE_GRACE).count() == 1


def test_term_before_maturity_alert(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    r1 = w.rights["r1"]
    registration = w.filings["f1"].created_registration
    assert r1.term_end == datetime.date(2039, 3, 4)  # 20 years from the filing date
    alerts_scan(today=timezone.localdate())
    assert not Alert.objects.filter(kind=AlertKind.TERM_BEFORE_MATURITY).exists()
    PledgeRegistration.objects.filter(pk=registration.pk).update(performance_end=datetime.date(2040, 6, 30))
    alerts_scan(today=timezone.localdate())
    alert = _alerts(w.orgs["bank1_sub"], AlertKind.TERM_BEFORE_MATURITY).get()
    assert alert.due_on == r1.term_end and "2040-06-30" in alert.message


def test_trademark_renewal_window() -> None:
    from ipledge.registration.monitoring import _findings

    registration = PledgeRegistration(
        registered_on=datetime.date(2025, 1, 1), performance_end=datetime.date(2026, 6, 1)
    )
    mark = IPRight(pk=1, kind="trademark", number="30123456", title="微纳", term_end=datetime.date(2030, 2, 13))
    kinds = lambda today: {f.kind for f in _findings(mark, registration, {}, today)}  # noqa: E731
    assert AlertKind.TRADEMARK_RENEWAL not in kinds(datetime.date(2029, 2, 12))
    assert AlertKind.TRADEMARK_RENEWAL in kinds(datetime.date(2029, 2, 13))
    assert AlertKind.TRADEMARK_RENEWAL not in kinds(datetime.date(2030, 2, 14))


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(datetime.date(2026, 8, 31), 6) == datetime.date(2027, 2, 28)
    assert add_months(datetime.date(2027, 8, 31), 6) == datetime.date(2028, 2, 29)
    assert add_months(datetime.date(2026, 3, 31), 6) == datetime.date(2026, 9, 30)


def test_no_alerts_for_rights_no_longer_pledged(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    ip_right_update(right=w.rights["r1"], data={"legal_status": "lapsed"}, acting_user=None)
    w.filings["f1"].created_registration.pledged_rights.update(is_active=False)
    assert alerts_scan(today=timezone.localdate()) == 0


def test_alert_list_isolation_and_mark_read(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    legal_status_import(
        filename="cf.csv", content=_csv(f"{w.rights['r1'].number},CF01,2026-02-01,"), acting_user=w.user("ipo_bj")
    )
    mine = set(Alert.objects.filter(organisation=w.orgs["bank1_sub"]).values_list("pk", flat=True))
    assert mine
    assert not set(alert_list(user=w.user("bank2", Role.ADMIN)).values_list("pk", flat=True))
    assert set(alert_list(user=w.user("bank1_sub", Role.VIEWER)).values_list("pk", flat=True)) == mine
    assert mine <= set(alert_list(user=w.user("bank1")).values_list("pk", flat=True))  # head office sees below
    assert not set(alert_list(user=w.user("bank1_br2")).values_list("pk", flat=True))  # sibling branch does not
    ent_alerts = list(alert_list(user=w.user("ent1")))
    assert ent_alerts and all(a.organisation == w.orgs["ent1"] for a in ent_alerts)
    assert not alert_list(user=w.user("ent2")).exists()
    alert = Alert.objects.get(pk=min(mine))
    with pytest.raises(PermissionDenied):
        alert_mark_read(alert=alert, acting_user=w.user("bank2", Role.ADMIN))
    alert_mark_read(alert=alert, acting_user=w.user("bank1_sub"))
    alert.refresh_from_db()
    assert alert.read_at is not None and alert.read_by == w.user("bank1_sub")
    assert AuditEvent.objects.filter(action="alert.mark_read", object_id=str(alert.pk)).count() == 1
    assert list(alert_list(user=w.user("bank1_sub")))[-1].pk == alert.pk  # read alerts sink to the bottom


def test_daily_digest_lists_unread_alerts(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    r1 = w.rights["r1"]
    legal_status_import(filename="cf.csv", content=_csv(f"{r1.number},CF01,2026-02-01,"), acting_user=w.user("ipo_bj"))
    day = timezone.localdate()
    text = alert_digest(organisation=w.orgs["bank1_sub"], day=day)
    assert "知识产权质押监测日报" in text and r1.number in text and "权利终止" in text and "未读提醒1条" in text
    for alert in Alert.objects.filter(organisation=w.orgs["bank1_sub"]):
        alert_mark_read(alert=alert, acting_user=w.user("bank1_sub"))
    assert alert_digest(organisation=w.orgs["bank1_sub"], day=day) == ""
    assert alert_digest(organisation=w.orgs["bank2"], day=day) == ""


def test_commands(pledged, tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    path = tmp_path / "events.csv"
    path.write_bytes(_csv(f"{w.rights['r1'].number},CF01,2026-02-01,"))
    out = io.StringIO()
    call_command("import_legal_status", "--user", "ipo_bj_operator", str(path), stdout=out)
    assert "applied 1" in out.getvalue()
    out = io.StringIO()
    call_command("scan_pledge_alerts", "--date", timezone.localdate().isoformat(), "--digest", stdout=out)
    printed = out.getvalue()
    assert "0 alerts created" in printed  # the import raised them already
    assert w.orgs["bank1_sub"].name in printed and w.orgs["ent1"].name in printed


# Transfer guard


def test_transfer_of_pledged_right_needs_pledgee_consent(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    r1 = w.rights["r1"]
    new_owners = [{"enterprise": w.enterprises["e1b"], "share": Decimal(100)}]
    with pytest.raises(ValidationError) as info:
        ip_right_transfer(right=r1, new_owners=new_owners, acting_user=w.user("ipo_bj"))
    assert info.value.error_dict["right"][0].code == "pledged_without_consent"
    assert list(r1.owners.values_list("enterprise", flat=True)) == [w.enterprises["e1"].pk]
    with pytest.raises(PermissionDenied):
        ip_right_transfer(right=r1, new_owners=new_owners, acting_user=w.user("bank1_sub"), pledgee_consent=True)
    ip_right_transfer(right=r1, new_owners=new_owners, acting_user=w.user("ipo_bj"), pledgee_consent=True)
    assert list(r1.owners.values_list("enterprise", flat=True)) == [w.enterprises["e1b"].pk]
    event = AuditEvent.objects.get(action="ip_right.transfer", object_id=str(r1.pk))
    assert event.changes["extra"]["pledgee_consent"] is True


def test_transfer_of_unpledged_right(world) -> None:  # type: ignore[no-untyped-def]
    r2 = world.rights["r2"]
    with pytest.raises(ValidationError) as info:
        ip_right_transfer(right=r2, new_owners=[], acting_user=world.user("ipo_js"))
    assert info.value.error_dict["owners"][0].code == "required"
    with pytest.raises(PermissionDenied):  # Beijing's office does not reach a Jiangsu right
        ip_right_transfer(right=r2, new_owners=[{"holder_name": "南京大学"}], acting_user=world.user("ipo_bj"))
    ip_right_transfer(
        right=r2, new_owners=[{"holder_name": "南京大学", "share": Decimal(100)}], acting_user=world.user("ipo_js")
    )
    assert list(r2.owners.values_list("holder_name", flat=True)) == ["南京大学"]


# T4 figures


def test_turnaround_figures(pledged) -> None:  # type: ignore[no-untyped-def]
    w = pledged
    today = timezone.localdate()
    f1 = w.filings["f1"]  # Beijing, online, registered
    refused = filing_create(
        pledgor=w.enterprises["e1"],
        pledgee=w.orgs["bank1"],
        items=[{"ip_right": w.rights["r1"]}],
        acting_user=w.user("bank1"),
        channel=Channel.WINDOW,
    )
    filing_confirm(filing=refused, acting_user=w.user("ent1"))
    filing_decide(filing=refused, decision=Decision.REFUSE, note="已出质", acting_user=w.user("ipo_bj", Role.REVIEWER))
    old = filing_create(
        pledgor=w.enterprises["e1"],
        pledgee=w.orgs["bank1"],
        items=[{"ip_right": w.rights["r1"]}],
        acting_user=w.user("bank1"),
    )
    filing_confirm(filing=old, acting_user=w.user("ent1"))
    filing_confirm(filing=w.filings["f2"], acting_user=w.user("ent2"))  # Jiangsu, online, awaiting examination
    # Decisions made on the same day count 0 working days; give them realistic turnarounds.
    PledgeFiling.objects.filter(pk=f1.pk).update(turnaround_working_days=3)
    PledgeFiling.objects.filter(pk=refused.pk).update(turnaround_working_days=6)
    PledgeFiling.objects.filter(pk=old.pk).update(submitted_on=today - datetime.timedelta(days=400))

    rows = turnaround_figures(user=w.user("cnipa", Role.VIEWER), date_from=today, date_to=today)
    by_code = {r.region_code: r for r in rows}
    assert set(by_code) == {"11", "32", ""}
    bj, js, total = by_code["11"], by_code["32"], by_code[""]
    assert (bj.region_name, bj.filings, bj.registered) == ("北京市", 2, 1)
    assert bj.median_working_days == Decimal("4.5")
    assert bj.online_share == Decimal("0.5000")
    assert (js.filings, js.registered, js.median_working_days, js.online_share) == (1, 0, None, Decimal(1))
    assert (total.filings, total.registered, total.median_working_days) == (3, 1, Decimal("4.5"))
    assert total.online_share == Decimal("0.6667")

    beijing_only = turnaround_figures(user=w.user("ipo_bj"), date_from=today, date_to=today)
    assert [r.region_code for r in beijing_only] == ["11", ""]
    assert beijing_only[-1].filings == 2
    assert turnaround_figures(user=w.user("ent2"), date_from=today, date_to=today)[-1].filings == 1
    assert PledgeFiling.objects.get(pk=f1.pk).status == FilingStatus.REGISTERED
