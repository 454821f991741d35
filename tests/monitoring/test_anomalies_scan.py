"""Scans over the database: the loader feeds the rules from every app, findings are persisted and reconciled
(refreshed, suppressed by a dismissal, reopened on new evidence, cleared)."""

from __future__ import annotations

import datetime

import pytest

from ipledge.core.choices import Role
from ipledge.core.context import business_date
from ipledge.core.money import Money
from ipledge.lending.models import Loan
from ipledge.monitoring.anomalies import scan_run
from ipledge.monitoring.choices import FindingEventKind, FindingStatus, ScanStatus
from ipledge.monitoring.models import Finding
from ipledge.monitoring.services import findings as services
from ipledge.registration.models import LegalStatusEvent, PledgeRegistration
from ipledge.registry.models import Enterprise, IPRight, LicenceContract
from tests.lending.factories import add_loans
from tests.world import World

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2025, 6, 30)  # the test world's loans are made in early 2025


def _subjects(rule: str) -> set[str]:
    return set(Finding.objects.filter(rule=rule).values_list("subject_id", flat=True))


def _plant_classification(loan: Loan, classification: str = "normal") -> None:
    Loan.objects.filter(pk=loan.pk).update(days_past_due=120, classification=classification)


def test_clean_world_raises_no_anomaly(world: World) -> None:
    add_loans(world)
    scan = scan_run(as_of=AS_OF)
    assert scan.status == ScanStatus.FINISHED and scan.finished_at is not None
    assert {r: c for r, c in scan.counts.items() if c["found"]} == {}
    assert not Finding.objects.exists()


def test_loader_feeds_the_rules_from_every_app(world: World) -> None:
    loans = add_loans(world)
    l1, l2, l3 = loans["l1"], loans["l2"], loans["l3"]
    _plant_classification(l1)
    contract = l3.contract_no or "JK-TEST-1"
    Loan.objects.filter(pk__in=[l2.pk, l3.pk]).update(contract_no=contract)
    Loan.objects.filter(pk=l2.pk).update(principal=Money("2000000"))
    assert l2.first_disbursed_on is not None
    Enterprise.objects.filter(pk=l2.borrower_id).update(
        established_on=l2.first_disbursed_on - datetime.timedelta(days=100), employees=0
    )
    reg1 = PledgeRegistration.objects.get(pk=l1.pledge_registration_id)
    right1 = reg1.pledged_rights.get().ip_right
    LicenceContract.objects.create(
        ip_right=right1,
        licensee_name="某被许可公司",
        licence_kind="ordinary",
        record_no="X2025000001",
        start_on=datetime.date(2025, 3, 1),
        end_on=datetime.date(2027, 3, 1),
        recorded_on=datetime.date(2025, 3, 10),
        pledgee_consent=False,
    )
    reg2 = PledgeRegistration.objects.get(pk=l2.pledge_registration_id)
    right2 = reg2.pledged_rights.get().ip_right
    LegalStatusEvent.objects.create(
        ip_right=right2, code="TR01", event_date=reg2.registered_on + datetime.timedelta(days=30)
    )
    IPRight.objects.filter(pk=right2.pk).update(legal_status="invalidated")
    assert l1.first_disbursed_on is not None
    PledgeRegistration.objects.filter(pk=l1.pledge_registration_id).update(
        registered_on=l1.first_disbursed_on + datetime.timedelta(days=5)
    )

    scan = scan_run(as_of=AS_OF)

    assert _subjects("classification_inconsistent") == {str(l1.pk)}
    assert _subjects("contract_reuse") == {contract}
    assert _subjects("shell_borrower") == {str(l2.pk)}
    transfers = Finding.objects.filter(rule="transfer_without_consent")
    assert sorted(f.evidence["figures"]["event"] for f in transfers) == ["licence", "transfer"]
    assert _subjects("zombie_collateral") == {f"{reg2.pk}:{right2.pk}"}
    assert str(l1.pk) in _subjects("loan_before_registration")
    counts = {rule: c["new"] for rule, c in scan.counts.items() if c["new"]}
    assert counts["classification_inconsistent"] == 1 and scan.counts["year_end_spike"]["found"] == 0
    finding = Finding.objects.get(rule="classification_inconsistent")
    assert finding.status == FindingStatus.OPEN and finding.scan == scan
    assert finding.region_code == l1.region_code and finding.enterprise_id == l1.borrower_id
    assert finding.institution_id == l1.bank_id
    assert list(finding.events.values_list("kind", flat=True)) == [FindingEventKind.RAISED]


def test_dismissal_is_remembered_until_the_evidence_changes(world: World) -> None:
    loans = add_loans(world)
    _plant_classification(loans["l1"])
    scan_run(as_of=AS_OF)
    finding = Finding.objects.get(rule="classification_inconsistent")
    operator, reviewer = world.user("ipo_bj"), world.user("ipo_bj", Role.REVIEWER)
    services.finding_assign(
        finding=finding,
        assignee=operator,
        due_on=business_date() + datetime.timedelta(days=5),
        acting_user=operator,
    )
    services.finding_decide(
        finding=finding, confirm=False, note="银行已提交重组材料，分类待下月调整。", acting_user=reviewer
    )

    Loan.objects.filter(pk=loans["l1"].pk).update(days_past_due=150)  # drifts by itself: same evidence
    again = scan_run(as_of=AS_OF + datetime.timedelta(days=30))
    assert again.counts["classification_inconsistent"] == {"found": 1, "new": 0, "suppressed": 1, "cleared": 0}
    assert Finding.objects.filter(rule="classification_inconsistent").count() == 1

    _plant_classification(loans["l1"], "special_mention")  # new evidence: the class changed, still performing
    changed = scan_run(as_of=AS_OF + datetime.timedelta(days=60))
    assert changed.counts["classification_inconsistent"]["new"] == 1
    reopened = Finding.objects.get(rule="classification_inconsistent", status=FindingStatus.OPEN)
    assert reopened.pk != finding.pk and reopened.fingerprint == finding.fingerprint
    kinds = list(reopened.events.values_list("kind", "note"))
    assert [k for k, _ in kinds] == [FindingEventKind.RAISED, FindingEventKind.REOPENED]
    assert f"#{finding.pk}" in kinds[1][1]
    finding.refresh_from_db()
    assert finding.status == FindingStatus.DISMISSED


def test_found_again_refreshes_and_gone_clears_unless_someone_works_on_it(world: World) -> None:
    loans = add_loans(world)
    _plant_classification(loans["l1"])
    _plant_classification(loans["l2"])
    scan_run(as_of=AS_OF)
    later = AS_OF + datetime.timedelta(days=1)
    second = scan_run(as_of=later)
    assert second.counts["classification_inconsistent"] == {"found": 2, "new": 0, "suppressed": 0, "cleared": 0}
    bj = Finding.objects.get(rule="classification_inconsistent", subject_id=str(loans["l1"].pk))
    js = Finding.objects.get(rule="classification_inconsistent", subject_id=str(loans["l2"].pk))
    assert bj.first_seen_on == AS_OF and bj.last_seen_on == later
    operator = world.user("ipo_js")
    services.finding_assign(
        finding=js, assignee=operator, due_on=business_date() + datetime.timedelta(days=5), acting_user=operator
    )

    Loan.objects.filter(pk__in=[loans["l1"].pk, loans["l2"].pk]).update(classification="substandard")
    third = scan_run(as_of=later + datetime.timedelta(days=1))
    assert third.counts["classification_inconsistent"]["cleared"] == 1
    bj.refresh_from_db()
    js.refresh_from_db()
    assert bj.status == FindingStatus.CLEARED and bj.version == 2
    assert bj.events.last().kind == FindingEventKind.CLEARED  # type: ignore[union-attr]
    assert js.status == FindingStatus.ASSIGNED  # an official closes a case in hand by a decision


def test_a_reported_finding_is_not_raised_again_on_the_same_evidence(world: World) -> None:
    loans = add_loans(world)
    _plant_classification(loans["l1"])
    scan_run(as_of=AS_OF)
    finding = Finding.objects.get(rule="classification_inconsistent")
    operator, reviewer = world.user("ipo_bj"), world.user("ipo_bj", Role.REVIEWER)
    services.finding_assign(finding=finding, assignee=operator, due_on=business_date(), acting_user=operator)
    services.finding_decide(finding=finding, confirm=True, note="属实", acting_user=reviewer)
    services.bulletin_issue(findings=[finding], title="通报", body="正文", acting_user=operator)
    again = scan_run(as_of=AS_OF + datetime.timedelta(days=1))
    assert again.counts["classification_inconsistent"] == {"found": 1, "new": 0, "suppressed": 1, "cleared": 0}
    assert Finding.objects.filter(rule="classification_inconsistent").count() == 1
